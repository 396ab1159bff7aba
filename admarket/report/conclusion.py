"""The report's conclusion: the plan's hypotheses tested at the settings of the runs.

Each hypothesis is tested against an explicit rule stated beside its verdict ("holds" /
"does not hold" / "not testable"; C's stability can only be "no significant decline found
(not evidence of stability)", since with no equivalence margin the test cannot confirm it).
Trends are of goal attainment *to date* (``daily_goal_attainment``: pacing is a running
average, and an overspend zeroes the budget component for the rest of the flight):

- A's take is 15–25%, B's about 5%, C's about 2% (within ±1 percentage point): the whole
  interval of the take rate must lie in the range;
- B falls behind C over time (the plan's "B degrades", tested on the gap): the trend of B's
  goal attainment to date *minus C's on the same seed* is negative (C shares B's market and
  memory loss but recovers from its ledger, so the gap isolates what B's lost memory
  costs; each scenario's own curve also moves as campaigns start and end, so B's own trend
  is reported beside it, not tested);
- and faster after day 15: that trend over days 16–30 minus its trend over days 1–15 is
  negative;
- C stays stable: the trend of C's goal attainment to date minus A's (whose agents forget
  nothing) is not significantly negative — which only says no decline was found.

Trends are least-squares slopes per seed, averaged across seeds with a t interval.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from admarket.report.data import ReportData
from admarket.report.stats import CI, mean_ci
from admarket.report.summary import _c_reason, _on_day, pd_isna
from admarket.report.wording import EMERGENT, INPUT, pct, pp
from admarket.report.wording import has as have

HOLDS, FAILS, UNTESTABLE = "holds", "does not hold", "not testable"
# "C stays stable" passes whenever no decline is significant, which 2–3 seeds nearly always
# give: the verdict says what was found, not "holds" (there is no equivalence margin)
NO_DECLINE = "no significant decline found (not evidence of stability)"
SPLIT_DAY = 15  # the plan: "degradation accelerates after day 15"


@dataclass
class Hypothesis:
    """One of the plan's hypotheses, its verdict at these settings, and the evidence."""

    key: str
    claim: str
    verdict: str
    evidence: str
    rule: str
    label: str
    values: dict[str, CI] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form."""
        vals = {k: v.to_dict() for k, v in self.values.items()}
        return {
            "key": self.key,
            "claim": self.claim,
            "verdict": self.verdict,
            "evidence": self.evidence,
            "rule": self.rule,
            "label": self.label,
            "values": vals,
        }


def _take_range(d: ReportData, s: str, lo: float, hi: float, claim: str, key: str) -> Hypothesis:
    ci = d.ci(s, "take_rate").clipped()
    fee = {
        "A": "exchange_fee + dsp_fee + adtech_fee + sell_adtech_fee + unknown_delta",
        "B": "agent_fee",
        "C": "ledger_agent_fee + protocol_fee + ledger cost",  # C's own fee, not B's
    }[s]
    eps = 0.0005  # half a display unit (0.05 pp): 14.99% reads as 15.0%
    if ci.n < 2 or math.isnan(ci.lo):
        verdict = UNTESTABLE if ci.n == 0 else (HOLDS if lo - eps <= ci.mean <= hi + eps else FAILS)
    else:
        verdict = HOLDS if ci.lo >= lo - eps and ci.hi <= hi + eps else FAILS
    return Hypothesis(
        key,
        claim,
        verdict,
        f"{s}'s take rate is {pct(ci)}, set by {fee}.",
        f"the take rate's whole interval lies within {lo:.0%}–{hi:.0%}",
        INPUT,
        {"take_rate": ci},
    )


def _daily(d: ReportData, s: str) -> dict[int, dict[int, float]]:
    """``{seed: {simulation_day: goal attainment to date}}`` of one scenario."""
    g = d.daily[d.daily["scenario"] == s]
    out: dict[int, dict[int, float]] = {}
    for seed, day, v in zip(
        g["seed"], g["simulation_day"], g["daily_goal_attainment"], strict=True
    ):
        if not pd_isna(v):
            out.setdefault(int(seed), {})[int(day)] = float(v)
    return out


def gap_trend(d: ReportData, a: str, b: str, days: range) -> CI:
    """Mean across seeds of the least-squares slope (per day) of ``a − b`` goal attainment
    to date over ``days`` (0-based simulation days)."""
    return mean_ci(_daily_slopes(d, a, b, days).values())


def _slope(ci: CI) -> str:
    return ci.fmt("+.4f", unit=" a day", diff=True)


def _trend_verdict(ci: CI, want_negative: bool) -> str:
    if ci.n < 2 or math.isnan(ci.lo):
        return UNTESTABLE
    if want_negative:
        return HOLDS if ci.hi < 0 else FAILS
    return NO_DECLINE if ci.lo >= 0 or ci.spans_zero else FAILS


def conclusion(d: ReportData) -> list[Hypothesis]:
    """The plan's hypotheses, each with its verdict at these settings and its evidence."""
    out: list[Hypothesis] = []
    if have(d, "A"):
        out.append(_take_range(d, "A", 0.15, 0.25, "A's intermediaries take 15–25%", "A_take"))
    if have(d, "B"):
        out.append(_take_range(d, "B", 0.04, 0.06, "B's take is about 5%", "B_take"))
    if have(d, "C"):
        out.append(_take_range(d, "C", 0.01, 0.03, "C's take is about 2%", "C_take"))
    n_days = int(d.daily["simulation_day"].max()) + 1 if not d.daily.empty else 0
    if have(d, "B", "C") and n_days >= 3:
        whole = gap_trend(d, "B", "C", range(n_days))
        verdict = _trend_verdict(whole, True)
        out.append(
            Hypothesis(
                "B_degrades",
                "B falls behind C over time (the plan: B's performance degrades)",
                verdict,
                f"The trend of B's goal attainment to date minus C's is {_slope(whole)} over "
                f"days 1–{n_days}; {_own_trends(d, n_days, whole)}{_rot_note(d)}",
                "the trend of B − C goal attainment to date is negative (interval below zero); "
                "B's own trend is not tested",
                EMERGENT,
                {"trend": whole},
            )
        )
        if n_days >= SPLIT_DAY + 5:
            early = gap_trend(d, "B", "C", range(SPLIT_DAY))
            late = gap_trend(d, "B", "C", range(SPLIT_DAY, n_days))
            e = _daily_slopes(d, "B", "C", range(SPLIT_DAY))
            la = _daily_slopes(d, "B", "C", range(SPLIT_DAY, n_days))
            accel = mean_ci(la[k] - e[k] for k in la if k in e)
            out.append(
                Hypothesis(
                    "B_faster_after_15",
                    f"B falls behind C faster after day {SPLIT_DAY}",
                    _trend_verdict(accel, True),
                    f"The trend of B − C is {_slope(early)} over days 1–{SPLIT_DAY} and "
                    f"{_slope(late)} over days {SPLIT_DAY + 1}–{n_days}; the change of trend "
                    f"is {_slope(accel)}.",
                    "the later trend minus the earlier one is negative (interval below zero)",
                    EMERGENT,
                    {"early": early, "late": late, "change": accel},
                )
            )
        else:
            out.append(
                Hypothesis(
                    "B_faster_after_15",
                    f"B falls behind C faster after day {SPLIT_DAY}",
                    UNTESTABLE,
                    f"The run lasts {n_days} days; the test needs at least {SPLIT_DAY + 5}.",
                    "the later trend minus the earlier one is negative",
                    EMERGENT,
                )
            )
    if have(d, "C") and n_days >= 3:
        base = "A" if have(d, "A") else None
        trend = gap_trend(d, "C", base, range(n_days)) if base else _own_trend(d, "C", n_days)
        vs = "minus A's (whose agents forget nothing)" if base else "(its own curve)"
        out.append(
            Hypothesis(
                "C_stable",
                "C's performance stays stable",
                _trend_verdict(trend, False),
                f"The trend of C's goal attainment to date {vs} is {_slope(trend)} over days "
                f"1–{n_days}.",
                "no significant decline: the trend's interval is not wholly below zero (with "
                "no equivalence margin, passing it shows no decline was found, not stability)",
                _c_reason(d)[1],  # by construction only at a perfect ledger
                {"trend": trend},
            )
        )
    return out


def _own_trends(d: ReportData, n_days: int, gap: CI) -> str:
    """B's and C's own trends beside their gap's: the gap can widen with B flat and C rising
    (the test is on the gap because each curve also moves as campaigns start and end)."""
    b, c = _own_trend(d, "B", n_days), _own_trend(d, "C", n_days)
    text = f"on their own, B's trend is {_slope(b)} and C's {_slope(c)}"
    # said only when the gap widens while B's own decline is not significant
    behind = gap.n >= 2 and not math.isnan(gap.hi) and gap.hi < 0
    if behind and b.n >= 2 and not math.isnan(b.hi) and b.hi >= 0:
        text += ": B falls behind C rather than falling itself"
    return text + "; "


def _daily_slopes(d: ReportData, a: str, b: str, days: range) -> dict[int, float]:
    """``{seed: slope per day}`` of ``a − b`` goal attainment to date over ``days``."""
    da, db = _daily(d, a), _daily(d, b)
    out = {}
    for seed in sorted(set(da) & set(db)):
        xs = [k for k in days if k in da[seed] and k in db[seed]]
        if len(xs) >= 3:
            y = [da[seed][k] - db[seed][k] for k in xs]
            out[seed] = float(np.polyfit(np.asarray(xs, float), np.asarray(y), 1)[0])
    return out


def _own_trend(d: ReportData, s: str, n_days: int) -> CI:
    slopes = []
    for days in _daily(d, s).values():
        xs = sorted(days)
        if len(xs) >= 3:
            slopes.append(float(np.polyfit(xs, [days[k] for k in xs], 1)[0]))
    return mean_ci(slopes)


def _rot_note(d: ReportData) -> str:
    first, last = int(d.daily["simulation_day"].min()), int(d.daily["simulation_day"].max())
    w0, w1 = _on_day(d, "B", first), _on_day(d, "B", last)
    ch = mean_ci(w1[k] - w0[k] for k in w1 if k in w0)
    return (
        f"meanwhile the share of B's claims that were wrong changed by {pp(ch)} from day "
        f"{first + 1} to day {last + 1}."
    )

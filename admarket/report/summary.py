"""The report's executive summary and conclusion, computed from the store like the findings.

The executive summary states the study's contrasts — take rate, fee savings per $100K of
spend, goal attainment, context rot, decisions on wrong facts, disputes, ledger cost
against exchange fees — one sentence each, with its number, its 95% interval and its label
(input restated / emergent outcome / follows from an assumption).

The conclusion tests the plan's hypotheses at the settings of the runs, each against an
explicit rule stated beside its verdict ("holds" / "does not hold" / "not testable"):

- A's take is 15–25%, B's about 5%, C's about 2% (within ±1 percentage point): the whole
  interval of the take rate must lie in the range;
- B degrades over time: the trend of B's daily goal attainment *minus C's on the same seed*
  is negative (C shares B's market and memory loss but recovers from its ledger, so the
  gap isolates what B's lost memory costs; each scenario's own curve also moves as
  campaigns start and end);
- and faster after day 15: that trend over days 16–30 minus its trend over days 1–15 is
  negative;
- C stays stable: the trend of C's daily goal attainment minus A's (whose agents forget
  nothing) is not significantly negative.

Trends are least-squares slopes per seed, averaged across seeds with a t interval.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from admarket.report.data import ReportData, has
from admarket.report.drivers import LEDGER_FAULTS, perfect_ledger
from admarket.report.findings_fees import SET_BY_FEES, savings, savings_amount
from admarket.report.stats import CI, mean_ci
from admarket.report.wording import (
    ASSUMED,
    EMERGENT,
    INPUT,
    count,
    mille,
    money,
    money_diff,
    pct,
    pp,
    score,
    score_diff,
    times,
)
from admarket.report.wording import has as have

HOLDS, FAILS, UNTESTABLE = "holds", "does not hold", "not testable"
SPLIT_DAY = 15  # the plan: "degradation accelerates after day 15"


@dataclass
class Point:
    """One line of the executive summary: a sentence, its label and the numbers in it."""

    key: str
    text: str
    label: str
    values: dict[str, CI] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form."""
        vals = {k: v.to_dict() for k, v in self.values.items()}
        return {"key": self.key, "text": self.text, "label": self.label, "values": vals}


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


# --- executive summary ----------------------------------------------------------------------
def executive_summary(d: ReportData) -> list[Point]:
    """The contrasts the study exists for, one sentence each (those the store allows)."""
    out: list[Point] = []
    sc = d.scenarios
    if not sc:
        return out
    take = {s: d.ci(s, "take_rate").clipped() for s in sc}
    text = "Take rate: " + ", ".join(f"{s} {pct(v)}" for s, v in take.items())
    if have(d, "A", "C"):
        take["A_minus_C"] = d.diff("A", "C", "take_rate")
        text += f" of gross spend (A − C = {pp(take['A_minus_C'])})"
    out.append(Point("take_rate", text + ".", INPUT, take))
    if have(d, "A") and len(sc) > 1:
        vals: dict[str, CI] = {}
        parts = []
        for s in [x for x in ("C", "B") if x in sc]:
            per, red = savings(d, s)
            vals[f"{s}_savings_per_100k"], vals[f"{s}_fee_reduction"] = per, red
            parts.append(f"from A to {s}, {savings_amount(per)} (a fee reduction of {pct(red)})")
        # an input restated: no interval dresses it up as an estimate (savings_note)
        text = f"Fee savings per $100K of spend, {SET_BY_FEES}: " + "; ".join(parts)
        text += " — fees only."
        out.append(Point("savings_per_100k", text, INPUT, vals))
    goal = {s: d.ci(s, "mean_goal_attainment").clipped() for s in sc}
    text = "Goal attainment (0–1): " + ", ".join(f"{s} {score(v)}" for s, v in goal.items())
    if have(d, "B", "C"):
        goal["B_minus_C"] = d.diff("B", "C", "mean_goal_attainment")
        text += f"; B − C = {score_diff(goal['B_minus_C'])}"
    kpi = ", ".join(f"{s} {pct(d.ci(s, 'hit_kpi'))}" for s in sc)
    out.append(Point("goal_attainment", f"{text}. Primary-KPI hit rate: {kpi}.", EMERGENT, goal))
    out += _rot_points(d)
    out += _wrong_fact_points(d)
    disp = [s for s in ("B", "C") if s in sc]
    if disp:
        vals = {}
        parts = []
        for s in disp:
            vals[f"{s}_disputes"] = n = d.ci(s, "disputes").clipped(0.0, math.inf)
            vals[f"{s}_written_off"] = w = d.ci(s, "written_off").clipped(0.0, math.inf)
            parts.append(f"{s} {count(n, 1)} ({money(w, True)} written off)")
        text = "Billing disputes per run: " + ", ".join(parts)
        if len(disp) == 2:
            vals["B_minus_C_written_off"] = wd = d.diff("B", "C", "written_off")
            text += f"; written off, B − C = {money_diff(wd)}"
        # what is written off is not only disputes: bills cut to counted impressions too
        text += (
            "; written off counts bills cut to the impressions both sides counted and invoices "
            "below the agreed price as well as unsettled disputes (see the glossary)"
        )
        out.append(Point("disputes", text + ".", EMERGENT, vals))
    if have(d, "C"):
        led = d.ci("C", "ledger_cost_per_mille")
        vals = {"C_ledger_per_mille": led}
        text = f"C's ledger cost {mille(led)}"
        if have(d, "A"):
            exch = d.ci("A", "exchange_fee_per_mille")
            a, c = (
                d.per_seed("A", "exchange_fee_per_mille"),
                d.per_seed("C", "ledger_cost_per_mille"),
            )
            vals["A_exchange_per_mille"] = exch
            vals["ratio"] = ratio = mean_ci(a[k] / c[k] for k in a if c.get(k))
            text += f" against A's exchange fees of {mille(exch)}: {times(ratio)} cheaper"
            if "agent_fee_per_mille" in d.summaries.columns:
                # the ledger is not all C pays: its own agent fee is most of its take
                fee = d.ci("C", "agent_fee_per_mille")
                f = d.per_seed("C", "agent_fee_per_mille")
                vals["C_agent_fee_per_mille"] = fee
                vals["ratio_to_take"] = whole = mean_ci(
                    a[k] / (c[k] + f[k]) for k in a if k in c and k in f and c[k] + f[k]
                )
                text += (
                    f"; with its agent fee of {mille(fee)}, C's whole take is still "
                    f"{times(whole)} smaller than A's fees"
                )
        text += " (a cost model with batching, not a measured chain)."
        out.append(Point("ledger_vs_fees", text, ASSUMED, vals))
    return out


def _rot_points(d: ReportData) -> list[Point]:
    if d.daily.empty or not have(d, "B"):
        return []
    first, last = int(d.daily["simulation_day"].min()), int(d.daily["simulation_day"].max())
    out = []
    for s in [x for x in ("B", "C") if x in d.scenarios]:
        w0, w1 = _on_day(d, s, first), _on_day(d, s, last)
        vals = {
            f"{s}_wrong_first": mean_ci(w0.values()).clipped(),
            f"{s}_wrong_last": mean_ci(w1.values()).clipped(),
            f"{s}_wrong_change": mean_ci(w1[k] - w0[k] for k in w1 if k in w0),
        }
        a, b, ch = vals.values()
        text = (
            f"Context rot in {s}: the share of claims that were wrong went from {pct(a)} on "
            f"day {first + 1} to {pct(b)} on day {last + 1} ({pp(ch)})"
        )
        if s == "C":
            reason, why = _c_reason(d)
            out.append(Point("context_rot_C", text + reason, why, vals))
        else:
            out.append(Point("context_rot_B", text + ".", EMERGENT, vals))
    return out


def _c_reason(d: ReportData) -> tuple[str, str]:
    """Why C's wrong facts are what they are, and the label that follows: at a perfect ledger
    (every read answered, every write kept, entries readable within the hour) checking each
    recall against it leaves nothing wrong by construction; with its faults, what is left is
    an outcome of them."""
    faults = {k: d.param(k, ["C"]) for k in LEDGER_FAULTS}
    if d.param("verify_recalls", ["C"]) is not True:
        return ".", EMERGENT
    if perfect_ledger(faults):
        return (
            ", because C's agents check every recalled fact against a ledger whose every read "
            "is answered and every write kept (verify_recalls=true, no ledger faults).",
            ASSUMED,
        )
    shown = ", ".join(f"{k}={v}" for k, v in faults.items())
    return (
        ": C's agents check every recalled fact against the ledger (verify_recalls=true), and "
        f"what is left comes from the ledger's faults ({shown}; see 'What drives C').",
        EMERGENT,
    )


def _wrong_fact_points(d: ReportData) -> list[Point]:
    out = []
    for s in [x for x in d.scenarios if has(x, "volatile_memory")]:
        dec, cl = d.ci(s, "wrong_decision_share").clipped(), d.ci(s, "wrong_claim_share").clipped()
        vals = {f"{s}_wrong_decisions": dec, f"{s}_wrong_claims": cl}
        text = (
            f"Decisions on wrong facts in {s}: {pct(dec)} of decisions used a wrong fact "
            f"({pct(cl)} of the claims they relied on were wrong)"
        )
        if s == "C":
            reason, why = _c_reason(d)
            out.append(Point("wrong_facts_C", text + reason, why, vals))
        else:
            if have(d, "C"):
                vals["B_minus_C"] = diff = d.diff("B", "C", "wrong_decision_share")
                text += f"; B − C = {pp(diff)}"
            out.append(Point(f"wrong_facts_{s}", text + ".", EMERGENT, vals))
    return out


def _on_day(d: ReportData, s: str, day: int, col: str = "wrong_claim_share") -> dict[int, float]:
    g = d.daily[(d.daily["scenario"] == s) & (d.daily["simulation_day"] == day)]
    return {int(k): float(v) for k, v in zip(g["seed"], g[col], strict=True) if not pd_isna(v)}


def pd_isna(x: Any) -> bool:
    """NaN-safe check for floats (None counts as missing)."""
    return x is None or (isinstance(x, float) and math.isnan(x))


# --- conclusion ----------------------------------------------------------------------------
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
    """``{seed: {simulation_day: daily goal attainment}}`` of one scenario."""
    g = d.daily[d.daily["scenario"] == s]
    out: dict[int, dict[int, float]] = {}
    for seed, day, v in zip(
        g["seed"], g["simulation_day"], g["daily_goal_attainment"], strict=True
    ):
        if not pd_isna(v):
            out.setdefault(int(seed), {})[int(day)] = float(v)
    return out


def gap_trend(d: ReportData, a: str, b: str, days: range) -> CI:
    """Mean across seeds of the least-squares slope (per day) of ``a − b`` daily goal
    attainment over ``days`` (0-based simulation days)."""
    return mean_ci(_daily_slopes(d, a, b, days).values())


def _slope(ci: CI) -> str:
    return ci.fmt("+.4f", unit=" a day", diff=True)


def _trend_verdict(ci: CI, want_negative: bool) -> str:
    if ci.n < 2 or math.isnan(ci.lo):
        return UNTESTABLE
    if want_negative:
        return HOLDS if ci.hi < 0 else FAILS
    return HOLDS if ci.lo >= 0 or ci.spans_zero else FAILS  # "no significant decline"


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
                "B's performance degrades over time",
                verdict,
                f"The trend of B's daily goal attainment minus C's is {_slope(whole)} over days "
                f"1–{n_days}; {_own_trends(d, n_days, whole)}{_rot_note(d)}",
                "the trend of B − C daily goal attainment is negative (interval below zero)",
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
                    f"B degrades faster after day {SPLIT_DAY}",
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
                    f"B degrades faster after day {SPLIT_DAY}",
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
                f"The trend of C's daily goal attainment {vs} is {_slope(trend)} over days "
                f"1–{n_days}.",
                "no significant decline: the trend's interval is not wholly below zero",
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
    """``{seed: slope per day}`` of ``a − b`` daily goal attainment over ``days``."""
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

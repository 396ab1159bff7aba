"""The report's executive summary, computed from the store like the findings.

The executive summary states the study's contrasts — take rate, fee savings per $100K of
spend, goal attainment, context rot, decisions on wrong facts, disputes, ledger cost
against exchange fees — one sentence each, with its number, its 95% interval and its label
(input restated / emergent outcome / follows from an assumption). The conclusion, which
tests the plan's hypotheses, is in :mod:`admarket.report.conclusion`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from admarket.report.data import ReportData, has
from admarket.report.drivers import LEDGER_FAULTS, perfect_ledger
from admarket.report.savings import (
    SET_BY_FEES,
    reduction_text,
    savings_amount,
    savings_values,
    sides_text,
)
from admarket.report.stats import CI, mean_ci
from admarket.report.wording import (
    ASSUMED,
    EMERGENT,
    INPUT,
    count,
    day_claims,
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


@dataclass
class Point:
    """One line of the executive summary: a sentence, its label and the numbers in it."""

    key: str
    text: str
    label: str
    values: dict[str, Any] = field(default_factory=dict)  # CIs, and a flag where one says more

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form (CIs as dicts)."""
        vals = {k: v.to_dict() if isinstance(v, CI) else v for k, v in self.values.items()}
        return {"key": self.key, "text": self.text, "label": self.label, "values": vals}


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
        vals: dict[str, Any] = {}
        parts = []
        for s in [x for x in ("C", "B") if x in sc]:
            vals |= savings_values(d, s)
            per, red = vals[f"{s}_savings_per_100k"], vals[f"{s}_fee_reduction"]
            parts.append(
                f"from A to {s}, {savings_amount(per)} (a fee reduction of "
                f"{reduction_text(red, s)}; {sides_text(d, s)})"
            )
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
        vals: dict[str, Any] = {
            f"{s}_wrong_first": mean_ci(w0.values()).clipped(),
            f"{s}_wrong_last": mean_ci(w1.values()).clipped(),
            f"{s}_wrong_change": mean_ci(w1[k] - w0[k] for k in w1 if k in w0),
        }
        a, b, ch = vals.values()
        # each day's share rests on that day's claims only: how many is said beside it
        n0, n1 = (_claims_said(d, s, k) for k in (first, last))
        text = (
            f"Context rot in {s}: the share of claims that were wrong went from {pct(a)} on "
            f"day {first + 1}{n0} to {pct(b)} on day {last + 1}{n1} ({pp(ch)})"
        )
        vals[f"{s}_claims_first"], vals[f"{s}_claims_last"] = (
            _claims(d, s, k) for k in (first, last)
        )
        if s == "C":
            reason, why = _c_reason(d)
            out.append(Point("context_rot_C", text + reason, why, vals))
        else:
            out.append(Point("context_rot_B", text + ".", EMERGENT, vals))
    return out


def _claims_said(d: ReportData, s: str, day: int) -> str:
    said = day_claims(d, s, day)
    return f" ({said})" if said else ""


def _claims(d: ReportData, s: str, day: int) -> dict[str, Any] | None:
    """The claims one day's share rests on, for report.json: per seed, and their mean, least
    and most; None when the store does not say."""
    g = d.daily[(d.daily["scenario"] == s) & (d.daily["simulation_day"] == day)]
    if g.empty or "claims" not in g.columns or g["claims"].isna().any():
        return None
    n = {int(k): int(v) for k, v in zip(g["seed"], g["claims"], strict=True)}
    return {
        "per_seed": n,
        "mean_per_seed": sum(n.values()) / len(n),
        "min": min(n.values()),
        "max": max(n.values()),
    }


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
        ": C's agents check recalled facts against the ledger (verify_recalls=true) where it is "
        "not behind what they hold, and "
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

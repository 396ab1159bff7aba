"""Findings about outcomes of memory and trading: goal attainment, decisions on wrong facts,
detection of fabrications, and context rot over the run.

Templates consult :func:`admarket.report.data.has` so that no sentence describes a
mechanism a scenario lacks (B has no ledger to check a recall against; A's agents read the
exchange's exact database and forget nothing).
"""

from __future__ import annotations

import math
from typing import Any

from admarket.money import plural
from admarket.report.data import ReportData, has
from admarket.report.findings_fees import FEE_PARAMS, PRICING_NOTE, PRICING_PARAMS
from admarket.report.stats import CI, mean_ci, paired_diff
from admarket.report.wording import (
    ASSUMED,
    EMERGENT,
    Finding,
    count,
    judged,
    live_campaigns,
    money,
    params,
    pct,
    pp,
    score,
    score_diff,
)
from admarket.report.wording import has as have

MEMORY_PARAMS = ("decay_rate", "memory_capacity", "restart_rate", "restart_growth")
HALLU_PARAMS = ("hallucination_rate", "verify_recalls", "audit_tolerance")


def goal_attainment(d: ReportData) -> Finding | None:
    """Campaign goal attainment, B against C (and A), paired by seed."""
    if not d.scenarios:
        return None
    vals: dict[str, Any] = {s: d.ci(s, "mean_goal_attainment").clipped() for s in d.scenarios}
    quotes = []
    for s in d.scenarios:
        vals[f"{s}_hit_imp"] = d.ci(s, "hit_imp").clipped()
        vals[f"{s}_hit_kpi"] = d.ci(s, "hit_kpi").clipped()
        vals[f"{s}_fill_rate"] = d.ci(s, "fill_rate").clipped()
    text = "Goal attainment (mean campaign score, 0–1) — " + "; ".join(
        f"{s}: {score(vals[s])} ({pct(vals[f'{s}_hit_imp'])} of campaigns hit their impression "
        f"goal, {pct(vals[f'{s}_hit_kpi'])} their primary KPI; fill rate "
        f"{pct(vals[f'{s}_fill_rate'])})"
        for s in d.scenarios
    )
    for a, b in (("B", "C"), ("C", "A"), ("B", "A")):
        if have(d, a, b):
            diff = d.diff(a, b, "mean_goal_attainment")
            vals[f"{a}_minus_{b}"] = diff
            sentence = f"{a} − {b} = {score_diff(diff)}"
            text += ". " + judged(diff, sentence, f"higher in {a}", f"lower in {a}")
            quotes.append(f"Goal attainment, {sentence}.")
    quotes = [f"Scenario {s} goal attainment: {score(vals[s])}." for s in d.scenarios] + quotes
    caveats = [
        "The score is one number for five criteria (delivery, CPM, budget adherence, "
        "flight, primary KPI); the shares of campaigns hitting each goal say which moved."
    ]
    if have(d, "A"):
        text += ". " + PRICING_NOTE.rstrip(".")
        caveats.append(PRICING_NOTE)
    dep = params(d, [*MEMORY_PARAMS, *HALLU_PARAMS, "max_deals_per_campaign", "days"])
    if have(d, "A"):
        dep |= params(d, [*PRICING_PARAMS, *FEE_PARAMS])
    head = "Goal attainment " + ", ".join(f"{s} {vals[s].mean:.3f}" for s in d.scenarios)
    return Finding(
        "goal_attainment",
        "Campaign goal achievement",
        EMERGENT,
        text + ".",
        dep,
        vals,
        headline=head,
        quotes=quotes,
        caveats=caveats,
    )


def _why_zero(d: ReportData, s: str) -> str:
    """Why a scenario's share of wrong facts is what it is, by mechanism."""
    if has(s, "central_database"):
        return (
            f"{s}'s agents read the exchange's exact database and hold no memory of their own, "
            "so its figure is zero by construction"
        )
    if has(s, "ledger"):
        if d.param("verify_recalls") is True:
            return (
                f"{s}'s figure rests on its ledger assumptions (see 'What drives C'): agents "
                "check recalled values against what was written to the ledger "
                "(verify_recalls), which is only as right, complete and readable as its "
                "authors and its faults allow"
            )
        return f"{s} does not check recalls against its ledger here (verify_recalls=false)"
    return ""


PG_NOTE = (
    "Undelivered PG impressions occur without any memory loss too (the no-rot preset leaves "
    "them), so they are not a measure of what lost or fabricated facts cost"
)


def wrong_facts(d: ReportData) -> Finding | None:
    """Share of decisions that used at least one wrong fact (and of claims that were wrong)."""
    if not have(d, "B") and not have(d, "C"):
        return None
    scen = d.scenarios
    vals: dict[str, Any] = {}
    for s in scen:
        vals[s] = d.ci(s, "wrong_decision_share").clipped()
        vals[f"{s}_claims"] = d.ci(s, "wrong_claim_share").clipped()
    text = (
        "Decisions that used a wrong fact (share of decisions at least one of whose claims "
        "the ground-truth audit graded wrong) — "
        + "; ".join(
            f"{s}: {pct(vals[s])} ({pct(vals[f'{s}_claims'])} of claims were wrong)" for s in scen
        )
    )
    quotes = [
        f"In {s}, {pct(vals[s])} of decisions used a wrong fact; {pct(vals[f'{s}_claims'])} "
        "of the facts relied on were wrong."
        for s in scen
        if has(s, "volatile_memory")
    ]
    if have(d, "B", "C"):
        diff = d.diff("B", "C", "wrong_decision_share")
        vals["B_minus_C"] = diff
        text += ". " + judged(diff, f"B − C = {pp(diff)}", "higher in B", "lower in B")
        quotes.append(f"Decisions that used a wrong fact, B − C: {pp(diff)}.")
    costs = []
    for s in scen:
        if "overspend_usd" not in d.summaries.columns or not has(s, "volatile_memory"):
            continue
        over = d.ci(s, "overspend_usd").clipped(0.0, math.inf)
        short = d.ci(s, "pg_shortfall_impressions").clipped(0.0, math.inf)
        vals[f"{s}_overspend"], vals[f"{s}_pg_shortfall"] = over, short
        costs.append(
            f"{s}: {money(over, True)} spent beyond budgets and {count(short)} guaranteed "
            "(PG) impressions undelivered when their deals closed"
        )
    if costs:
        # not "what rot cost": PG deals go undelivered with every memory mechanism off too
        # (the no-rot preset), and this report has no no-rot run to measure rot's share
        text += (
            ". Budgets and guaranteed deals (per run) — "
            + "; ".join(costs)
            + f" (write-offs: see disputes). {PG_NOTE}"
        )
    why = [w for s in scen if (w := _why_zero(d, s))]
    if why:
        text += ". " + ". ".join(w[0].upper() + w[1:] for w in why)
    dep = params(d, [*HALLU_PARAMS, *MEMORY_PARAMS])
    b = "B" if have(d, "B") else scen[-1]
    return Finding(
        "wrong_facts",
        "Decisions that used a wrong fact",
        EMERGENT,
        text + ".",
        dep,
        vals,
        headline=f"{pct(vals[b]).split(' [')[0]} of {b}'s decisions used a wrong fact",
        quotes=quotes,
        caveats=[
            "Two different shares: decisions that used at least one wrong fact, and facts "
            "(claims) that were wrong. A decision relies on several facts, so the first is the "
            "larger. Do not call either 'the hallucination rate'.",
            "A fact counts as wrong when it is more than audit_tolerance "
            f"({d.param('audit_tolerance')}) from the truth.",
            *[w[0].upper() + w[1:] + "." for s in scen if s != "B" and (w := _why_zero(d, s))],
        ],
    )


def detection(d: ReportData) -> Finding | None:
    """Share of injected fabrications detected (graded wrong after the fact or caught in-run)."""
    inj = d.injected[d.injected["injected"] > 0]
    if inj.empty:
        return None
    vals: dict[str, Any] = {}
    parts, quotes = [], []
    for s in d.scenarios:
        g = inj[inj["scenario"] == s]
        if g.empty:
            continue
        detected = mean_ci(g["detected"] / g["injected"]).clipped()
        caught = mean_ci(g["caught"] / g["injected"]).clipped()
        # precision against the injections: of everything flagged, the injected share (the
        # rest are genuine errors too — facts lost and wrongly reconstructed — not noise)
        precision = mean_ci(g["detected"] / g["flagged"].clip(lower=1)).clipped()
        n = mean_ci(g["injected"]).clipped(0.0, math.inf)
        vals[f"{s}_detected"], vals[f"{s}_caught"], vals[f"{s}_injected"] = detected, caught, n
        vals[f"{s}_precision"] = precision
        target = "at or above" if detected.mean >= 0.9 else "below"
        part = (
            f"{s}: {count(n)} fabricated recalls per run, {pct(detected)} detected ({target} the "
            "design's 90% target; by construction, see below)"
        )
        if has(s, "ledger") and d.param("verify_recalls") is True:
            part += (
                f"; {pct(caught)} were caught before use by a check against the ledger (set by "
                f"ledger_read_failure = {d.param('ledger_read_failure', [s])}: about every "
                "answered query catches one, unless the ledger is behind on that fact — "
                f"sealing every {d.param('ledger_flush_hours', [s])} hours, "
                f"ledger_write_failure = {d.param('ledger_write_failure', [s])}), the rest "
                "detected only by the post-hoc audit"
            )
            quotes.append(f"In {s}, {pct(caught)} of fabricated recalls were caught before use.")
        elif has(s, "ledger"):
            part += (
                "; C does not check recalls against its ledger here, so none is caught before use"
            )
        else:
            part += (
                f"; {s} has no ledger to check a recall against, so nothing is caught before use "
                "(0% by construction) — every detection is the post-hoc audit's"
            )
        part += f"; of all flagged claims, {pct(precision)} were injected fabrications"
        parts.append(part)
        quotes.append(f"In {s}, {pct(detected)} of fabricated recalls were detected.")
    text = (
        "Detection of injected fabrications — " + "; ".join(parts) + ". Flagged claims "
        "that were not injected are real errors as well: facts an agent lost and "
        "reconstructed wrongly, which the audit grades against ground truth. The audit's "
        "recall is set by the injection sizes (at least 10%) against the audit tolerance, so "
        "it is near 100% by construction. Nor is the share caught before use (fabrications "
        "stopped before an agent acted on them) a finding: with its recalls checked, C "
        "catches one whenever its ledger query is answered and the ledger is not behind on "
        "that fact (its latest write sealed, not lost), so its share is about 1 − "
        "ledger_read_failure at hourly sealing and few lost writes, less with later sealing "
        "(ledger_flush_hours) or more lost writes (ledger_write_failure) — inputs all — and "
        "B, with no ledger, catches none by construction."
    )
    if any(v.mean < 1 for k, v in vals.items() if k.endswith("_detected")):
        text += (
            " Fabrications that land within the audit tolerance of the true value are graded "
            "correct and count as undetected."
        )
    dep = params(d, [*HALLU_PARAMS, "price_deflation_min", "price_deflation_max"])
    dep |= params(d, ["inventory_inflation_min", "inventory_inflation_max"])
    dep |= params(
        d, ["ledger_read_failure", "ledger_flush_hours", "ledger_write_failure", "verify_recalls"]
    )
    cs = [s for s in d.scenarios if f"{s}_caught" in vals and has(s, "ledger")]
    head = (
        f"{pct(vals[f'{cs[0]}_caught']).split(' [')[0]} of {cs[0]}'s fabricated recalls were "
        "stopped before use, as ledger_read_failure sets it"
        if cs
        else "Fabricated recalls were found only after the fact"
    )
    return Finding(
        "detection",
        "Detecting fabricated claims",
        ASSUMED,  # the audit's recall and the catch share are both set by inputs
        text,
        dep,
        vals,
        headline=head,
        quotes=quotes,
        caveats=[
            "Detection by the audit is near 100% by construction (injections of at least 10% "
            "against a 0.5% tolerance).",
            "The share caught before use is set by ledger_read_failure (about 1 − it in C at "
            "hourly sealing and few lost writes; less with later sealing or more lost writes) "
            "and is 0% in B by construction: quote it as those inputs' consequence, not as a "
            "measured advantage of C.",
        ],
    )


def day_values(d: ReportData, scenario: str, day: int, col: str) -> dict[int, float]:
    """``{seed: value}`` of a daily_metrics column on one (0-based) simulation day."""
    g = d.daily[(d.daily["scenario"] == scenario) & (d.daily["simulation_day"] == day)]
    return {int(k): float(v) for k, v in zip(g["seed"], g[col], strict=True)}


def _live(d: ReportData, day: int) -> str:
    """`` (n = … live campaigns …)`` behind B's goal attainment to date on ``day``."""
    n = live_campaigns(d, "B", day)
    return f" ({n})" if n else ""


def context_rot(d: ReportData) -> Finding | None:
    """First-day vs last-day goal attainment in B, and B's gap to C on those days."""
    if not have(d, "B") or d.daily.empty:
        return None
    first, last = int(d.daily["simulation_day"].min()), int(d.daily["simulation_day"].max())
    col = "daily_goal_attainment"
    b0, b1 = day_values(d, "B", first, col), day_values(d, "B", last, col)
    change = paired_diff(b1, b0)
    vals: dict[str, Any] = {
        "B_first": mean_ci(b0.values()).clipped(),
        "B_last": mean_ci(b1.values()).clipped(),
        "B_change": change,
    }
    text = judged(
        change,
        f"Scenario B's goal attainment to date was {score(vals['B_first'])} on day {first + 1}"
        f"{_live(d, first)} and {score(vals['B_last'])} on day {last + 1}{_live(d, last)}: a "
        f"change of {score_diff(change)}",
        "it improved",
        "it degraded",
    )
    quotes = []
    if have(d, "C"):
        c0, c1 = day_values(d, "C", first, col), day_values(d, "C", last, col)
        gap0, gap1 = paired_diff(b0, c0), paired_diff(b1, c1)
        widen = paired_diff(
            {k: b1[k] - c1[k] for k in b1 if k in c1}, {k: b0[k] - c0[k] for k in b0 if k in c0}
        )
        vals |= {"gap_first": gap0, "gap_last": gap1, "gap_change": widen}
        text += ". " + judged(
            widen,
            f"Against C on the same seeds, B − C was {score_diff(gap0)} on day {first + 1} "
            f"and {score_diff(gap1)} on day {last + 1}; the gap's change over the run is "
            f"{score_diff(widen)}",
            "B gained on C",
            "B fell behind C",
        )
        quotes.append(f"B − C goal attainment to date on day {last + 1}: {score_diff(gap1)}.")
    rot: dict[str, tuple[CI, CI, CI]] = {}
    for s in ("B", "C"):
        if not have(d, s):
            continue
        w0 = day_values(d, s, first, "wrong_claim_share")
        w1 = day_values(d, s, last, "wrong_claim_share")
        rot[s] = (
            mean_ci(w0.values()).clipped(),
            mean_ci(w1.values()).clipped(),
            paired_diff(w1, w0),
        )
        vals[f"{s}_wrong_first"], vals[f"{s}_wrong_last"], vals[f"{s}_wrong_change"] = rot[s]
    if rot:
        text += ". The rot itself — the share of claims that were wrong that day — " + "; ".join(
            judged(
                ch,
                f"{s}: {pct(a)} on day {first + 1}, {pct(b)} on day {last + 1}, a change of "
                f"{pp(ch)}",
                "it rose",
                "it fell",
            )
            for s, (a, b, ch) in rot.items()
        )
        quotes = [
            f"In {s}, the share of claims that were wrong went from {pct(a)} on day {first + 1} "
            f"to {pct(b)} on day {last + 1} ({pp(ch)})."
            for s, (a, b, ch) in rot.items()
        ] + quotes
    dep = params(d, [*MEMORY_PARAMS, "hallucination_rate", "days"])
    head = "Context rot in B"
    if "B" in rot:
        ch = rot["B"][2]
        verb = "climbed" if ch.lo > 0 else "fell" if ch.hi < 0 else "went"
        head = (
            f"B's wrong facts {verb} from {rot['B'][0].mean:.1%} to {rot['B'][1].mean:.1%} "
            f"of claims over {plural(last - first + 1, 'day')}"
        )
    return Finding(
        "context_rot",
        "Context rot over the run",
        EMERGENT,
        text + ".",
        dep,
        vals,
        headline=head,
        quotes=quotes,
        caveats=[
            "Goal attainment to date moves for every scenario as campaigns start and end; "
            "compare B with C on the same seed (the gap), not B's curve alone.",
            "It is a score to date, not the day's own performance: pacing is a running "
            "average and an overspend zeroes the budget component for the rest of the flight.",
            f"Days are counted from 1 (day 1 … day {last + 1}); the plan's SQL counts from 0.",
        ],
    )

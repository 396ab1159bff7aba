"""The report's findings, computed from a store's numbers — none is written in advance.

Each finding states numbers with 95% intervals across seeds (paired by seed where two
scenarios are compared: they share demand and supply), lists the parameter values it
depends on (read from the runs' configs), and is labelled either an *input restated* (a fee
rate coming back out of the books) or an *emergent outcome* (something the mechanics
produced). Direction words ("higher", "lower", "no significant difference") come from the
intervals via ``report_stats.direction``. A finding whose scenarios are missing from the
store is skipped.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from admarket.report.data import ReportData
from admarket.report.stats import CI, direction, mean_ci, paired_diff

INPUT = "input restated"
# How prices form differs between the paths, and that difference feeds every A-vs-direct gap.
_PRICING_PARAMS = ("max_cpm_markup_min", "max_cpm_markup_max", "seller_reach")
_PRICING_NOTE = (
    " Prices form differently on the two paths: in A, buyers bid up to their max CPM in "
    "second-price auctions against each other; in B and C, sellers quote tier- and "
    "volume-discounted rate-card prices and negotiate one to one. The A-vs-direct gap mixes "
    "that difference in price formation with the fees (inputs) and memory loss."
)
EMERGENT = "emergent outcome"

_FEE_PARAMS = ("exchange_fee", "dsp_fee", "adtech_fee", "sell_adtech_fee", "unknown_delta")
_MEMORY_PARAMS = ("decay_rate", "memory_capacity", "restart_rate", "restart_growth")
_HALLU_PARAMS = ("hallucination_rate", "verify_recalls", "audit_tolerance")


@dataclass
class Finding:
    """One computed finding: text with numbers, its label, and the parameters behind it."""

    key: str
    title: str
    label: str
    text: str
    depends_on: dict[str, Any]
    values: dict[str, Any] = field(default_factory=dict)  # the CIs quoted, for tests/JSON

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form (CIs as dicts)."""
        vals = {k: v.to_dict() if isinstance(v, CI) else v for k, v in self.values.items()}
        return {
            "key": self.key,
            "title": self.title,
            "label": self.label,
            "text": self.text,
            "depends_on": self.depends_on,
            "values": vals,
        }


def _params(d: ReportData, names: tuple[str, ...] | list[str]) -> dict[str, Any]:
    return {n: d.param(n) for n in names}


def _pct(ci: CI) -> str:
    """A share in percent; its interval cannot leave [0%, 100%]."""
    return ci.clipped().fmt(".1f", 100, "%")


def _money(ci: CI) -> str:
    return ci.fmt(",.0f", pre="$")


def _has(d: ReportData, *scenarios: str) -> bool:
    return all(s in d.scenarios for s in scenarios)


def take_rate(d: ReportData) -> Finding | None:
    """Intermediary take by scenario: the configured fee stack applied to spend."""
    if not d.scenarios:
        return None
    vals = {s: d.ci(s, "take_rate") for s in d.scenarios}
    parts = [f"{s}: {_pct(v)}" for s, v in vals.items()]
    text = (
        "Intermediary take as a share of gross spend — "
        + "; ".join(parts)
        + ". These rates are the configured fee stack (A: exchange + DSP + ad-tech + "
        "unknown delta; B and C: agent fee, plus protocol fee and ledger cost in C) coming "
        "back out of the books, not a discovery of the model."
    )
    dep = _params(d, [*_FEE_PARAMS, "agent_fee", "ledger_agent_fee", "protocol_fee"])
    return Finding("take_rate", "Fee extraction by scenario", INPUT, text, dep, vals)


def net_to_publishers(d: ReportData) -> Finding | None:
    """Publishers' receipts in C (and B) against A, paired by seed."""
    if not _has(d, "A") or len(d.scenarios) < 2:
        return None
    vals: dict[str, Any] = {s: d.ci(s, "net_to_publishers") for s in d.scenarios}
    parts = []
    for s in [x for x in ("C", "B") if x in d.scenarios]:
        diff = d.diff(s, "A", "net_to_publishers")
        base = d.per_seed("A", "net_to_publishers")
        mine = d.per_seed(s, "net_to_publishers")
        rel = mean_ci(v / base[k] - 1 for k, v in mine.items() if base.get(k))
        vals[f"{s}_minus_A"], vals[f"{s}_vs_A_rel"] = diff, rel
        parts.append(
            f"{s} − A = {_money(diff)} ({rel.fmt('.1f', 100, '%')} of A): {direction(diff)} in {s}"
        )
    text = (
        "Net revenue reaching publishers over the run — "
        + "; ".join(f"{s}: {_money(vals[s])}" for s in d.scenarios)
        + ". Paired by seed, "
        + "; ".join(parts)
        + ". The gap mixes the fee difference (an input) with how much inventory each "
        "trading path actually bought and delivered (emergent)." + _PRICING_NOTE
    )
    dep = _params(
        d, [*_FEE_PARAMS, "agent_fee", "ledger_agent_fee", "protocol_fee", *_MEMORY_PARAMS]
    )
    dep |= _params(d, _PRICING_PARAMS)
    dep |= _params(d, ["hallucination_rate", "days"])
    return Finding(
        "net_to_publishers", "Net to publishers vs the exchange", EMERGENT, text, dep, vals
    )


def goal_attainment(d: ReportData) -> Finding | None:
    """Campaign goal attainment, B against C (and A), paired by seed."""
    if not d.scenarios:
        return None
    vals: dict[str, Any] = {s: d.ci(s, "mean_goal_attainment") for s in d.scenarios}
    hit = {s: d.ci(s, "hit_imp") for s in d.scenarios}
    text = "Mean campaign goal-attainment score — " + "; ".join(
        f"{s}: {vals[s].fmt('.3f')} ({_pct(hit[s])} of campaigns hit their impression goal)"
        for s in d.scenarios
    )
    for a, b in (("B", "C"), ("C", "A"), ("B", "A")):
        if _has(d, a, b):
            diff = d.diff(a, b, "mean_goal_attainment")
            vals[f"{a}_minus_{b}"] = diff
            text += f". {a} − {b} = {diff.fmt('+.3f')}: {direction(diff)} in {a}"
    if _has(d, "A"):
        text += "." + _PRICING_NOTE.rstrip(".")
    dep = _params(d, [*_MEMORY_PARAMS, *_HALLU_PARAMS, "max_deals_per_campaign", "days"])
    if _has(d, "A"):
        dep |= _params(d, [*_PRICING_PARAMS, *_FEE_PARAMS])
    return Finding("goal_attainment", "Campaign goal achievement", EMERGENT, text + ".", dep, vals)


def hallucinated_decisions(d: ReportData) -> Finding | None:
    """Share of decisions that relied on at least one wrong fact, B against C."""
    if not _has(d, "B") and not _has(d, "C"):
        return None
    scen = [s for s in d.scenarios if s in ("A", "B", "C")]
    vals: dict[str, Any] = {s: d.ci(s, "hallucination_rate") for s in scen}
    text = (
        "Share of decisions that acted on at least one fact the ground-truth audit graded "
        "wrong — " + "; ".join(f"{s}: {_pct(vals[s])}" for s in scen)
    )
    if _has(d, "B", "C"):
        diff = d.diff("B", "C", "hallucination_rate")
        vals["B_minus_C"] = diff
        text += f". B − C = {diff.fmt('+.1f', 100, ' pp')}: {direction(diff)} in B"
    costs = []
    for s in scen:
        if "overspend_usd" not in d.summaries.columns or s == "A":
            continue
        # amounts that cannot be negative keep their intervals at or above zero
        over = d.ci(s, "overspend_usd").clipped(0.0, math.inf)
        short = d.ci(s, "pg_shortfall_impressions").clipped(0.0, math.inf)
        vals[f"{s}_overspend"], vals[f"{s}_pg_shortfall"] = over, short
        costs.append(
            f"{s}: {_money(over)} spent beyond budgets and {short.fmt(',.0f')} "
            "guaranteed impressions never delivered"
        )
    if costs:
        text += (
            ". What acting on lost or fabricated facts cost (per run) — "
            + "; ".join(costs)
            + " (write-offs: see disputes)"
        )
    if _has(d, "C"):
        text += (
            ". C's figure follows from its assumptions: the ledger records exactly what "
            "happened, reading it back is never corrupted, and (verify_recalls) every recalled "
            "value is checked against it before use — run with verify_recalls=false to see C "
            "without the check"
        )
    dep = _params(d, [*_HALLU_PARAMS, *_MEMORY_PARAMS])
    return Finding(
        "hallucinated_decisions", "Decisions on fabricated data", EMERGENT, text + ".", dep, vals
    )


def detection(d: ReportData) -> Finding | None:
    """Share of injected fabrications detected (graded wrong after the fact or caught in-run)."""
    inj = d.injected[d.injected["injected"] > 0]
    if inj.empty:
        return None
    vals: dict[str, Any] = {}
    parts = []
    for s in d.scenarios:
        g = inj[inj["scenario"] == s]
        if g.empty:
            continue
        detected = mean_ci(g["detected"] / g["injected"])
        caught = mean_ci(g["caught"] / g["injected"])
        # precision against the injections: of everything flagged, the injected share (the
        # rest are genuine errors too — facts lost and wrongly reconstructed — not noise)
        precision = mean_ci(g["detected"] / g["flagged"].clip(lower=1))
        n = mean_ci(g["injected"])
        vals[f"{s}_detected"], vals[f"{s}_caught"], vals[f"{s}_injected"] = detected, caught, n
        vals[f"{s}_precision"] = precision
        target = "at or above" if detected.mean >= 0.9 else "below"
        parts.append(
            f"{s}: {n.fmt(',.0f')} fabricated recalls per run, recall {_pct(detected)} "
            f"({target} the design's 90% target); {_pct(caught)} were caught in-run by a "
            "ledger check before use, the rest of those detected only by the post-hoc audit; "
            f"precision against the injections {_pct(precision)} of all flagged claims"
        )
    text = (
        "Detection of injected fabrications — " + "; ".join(parts) + ". Flagged claims "
        "that were not injected are real errors as well: facts an agent lost and "
        "reconstructed wrongly, which the audit grades against ground truth. The audit's "
        "recall is set by the injection sizes (at least 10%) against the audit tolerance, so "
        "it is near 100% by construction; the outcome that differs by scenario is the "
        "in-run catch rate — fabrications stopped before an agent acted on them."
    )
    if any(v.mean < 1 for k, v in vals.items() if k.endswith("_detected")):
        text += (
            " Fabrications that land within the audit tolerance of the true value are graded "
            "correct and count as undetected."
        )
    dep = _params(d, [*_HALLU_PARAMS, "price_deflation_min", "price_deflation_max"])
    dep |= _params(d, ["inventory_inflation_min", "inventory_inflation_max"])
    return Finding("detection", "Detecting fabricated claims", EMERGENT, text, dep, vals)


def _day_values(d: ReportData, scenario: str, day: int) -> dict[int, float]:
    g = d.daily[(d.daily["scenario"] == scenario) & (d.daily["simulation_day"] == day)]
    return {int(k): float(v) for k, v in zip(g["seed"], g["daily_goal_attainment"], strict=True)}


def context_rot(d: ReportData) -> Finding | None:
    """First-day vs last-day goal attainment in B, and B's gap to C on those days."""
    if not _has(d, "B") or d.daily.empty:
        return None
    first, last = int(d.daily["simulation_day"].min()), int(d.daily["simulation_day"].max())
    b0, b1 = _day_values(d, "B", first), _day_values(d, "B", last)
    change = paired_diff(b1, b0)
    vals: dict[str, Any] = {
        "B_first": mean_ci(b0.values()),
        "B_last": mean_ci(b1.values()),
        "B_change": change,
    }
    text = (
        f"Scenario B's daily goal attainment was {vals['B_first'].fmt('.3f')} on day "
        f"{first + 1} and {vals['B_last'].fmt('.3f')} on day {last + 1}: a change of "
        f"{change.fmt('+.3f')} ({direction(change, 'improved', 'degraded')})"
    )
    if _has(d, "C"):
        c0, c1 = _day_values(d, "C", first), _day_values(d, "C", last)
        gap0 = paired_diff(b0, c0)
        gap1 = paired_diff(b1, c1)
        widen = paired_diff(
            {k: b1[k] - c1[k] for k in b1 if k in c1}, {k: b0[k] - c0[k] for k in b0 if k in c0}
        )
        vals |= {"gap_first": gap0, "gap_last": gap1, "gap_change": widen}
        text += (
            f". Against C on the same seeds, B − C was {gap0.fmt('+.3f')} on day {first + 1} "
            f"and {gap1.fmt('+.3f')} on day {last + 1}; the gap's change over the run is "
            f"{widen.fmt('+.3f')} ({direction(widen, 'B gained on C', 'B fell behind C')})"
        )
    rot = {}
    for s in ("B", "C"):
        if not _has(d, s):
            continue
        g = d.daily[d.daily["scenario"] == s]
        w0 = dict(
            zip(
                g[g["simulation_day"] == first]["seed"],
                g[g["simulation_day"] == first]["wrong_fact_share"],
                strict=True,
            )
        )
        w1 = dict(
            zip(
                g[g["simulation_day"] == last]["seed"],
                g[g["simulation_day"] == last]["wrong_fact_share"],
                strict=True,
            )
        )
        rot[s] = (
            mean_ci(w0.values()).clipped(),
            mean_ci(w1.values()).clipped(),
            paired_diff(w1, w0),
        )
        vals[f"{s}_wrong_first"], vals[f"{s}_wrong_last"], vals[f"{s}_wrong_change"] = rot[s]
    if rot:
        text += ". The rot itself — the share of facts acted on that day that were wrong — " + (
            "; ".join(
                f"{s}: {a.fmt('.1f', 100, '%')} on day {first + 1}, "
                f"{b.fmt('.1f', 100, '%')} on day {last + 1} "
                f"({ch.fmt('+.1f', 100, ' pp')}, {direction(ch, 'rose', 'fell')})"
                for s, (a, b, ch) in rot.items()
            )
        )
    dep = _params(d, [*_MEMORY_PARAMS, "hallucination_rate", "days"])
    return Finding("context_rot", "Context rot over the run", EMERGENT, text + ".", dep, vals)


def ledger_cost(d: ReportData) -> Finding | None:
    """C's ledger cost per 1,000 impressions against A's exchange fees per 1,000."""
    if not _has(d, "C"):
        return None
    led = d.ci("C", "ledger_cost_per_mille")
    vals: dict[str, Any] = {"C_ledger_per_mille": led}
    text = (
        f"C's ledger (Sui gas + Walrus storage) cost {led.fmt('.3g', pre='$')} per 1,000 "
        "impressions"
    )
    if _has(d, "A"):
        exch = d.ci("A", "exchange_fee_per_mille")
        a, c = d.per_seed("A", "exchange_fee_per_mille"), d.per_seed("C", "ledger_cost_per_mille")
        ratio = mean_ci(a[k] / c[k] for k in a if c.get(k))
        vals |= {"A_exchange_per_mille": exch, "ratio": ratio}
        text += (
            f", against A's intermediary fees of {exch.fmt(',.3f', pre='$')} per 1,000: the "
            f"exchange stack costs {ratio.fmt('.3g', unit='×')} the ledger"
        )
    unb = d.ci("C", "ledger_unbatched_cost_per_mille")
    bat = d.ci("C", "ledger_batched_cost_per_mille")
    vals |= {"unbatched_per_mille": unb, "batched_per_mille": bat}
    text += (
        f". Batching effect (cost model, delivery records of "
        f"{d.ci('C', 'ledger_record_bytes').fmt(',.0f', unit=' bytes')}): one record per "
        f"impression would cost {unb.fmt('.3g', pre='$')} per 1,000; batched "
        f"{d.param('impressions_per_record')} impressions per record and "
        f"{d.param('records_per_blob')} records per blob it is {bat.fmt('.3g', pre='$')}."
    )
    text += (
        " Per 1,000 impressions this cost is set almost entirely by the cost model and the "
        "batching parameters (delivery records per impression and per blob); the run adds "
        "only how many negotiation and settlement entries it wrote."
    )
    dep = _params(
        d,
        [
            "sui_price_usd",
            "wal_price_usd",
            "records_per_blob",
            "impressions_per_record",
            "ledger_record_bytes",
            *_FEE_PARAMS,
        ],
    )
    return Finding(
        "ledger_cost", "Ledger cost vs exchange fee (cost model)", INPUT, text, dep, vals
    )


def disputes(d: ReportData) -> Finding | None:
    """Billing disputes and write-offs in B and C."""
    scen = [s for s in ("B", "C") if s in d.scenarios]
    if not scen:
        return None
    vals: dict[str, Any] = {}
    parts = []
    for s in scen:
        vals[f"{s}_disputes"] = n = d.ci(s, "disputes").clipped(0.0, math.inf)
        vals[f"{s}_written_off"] = w = d.ci(s, "written_off").clipped(0.0, math.inf)
        part = f"{s}: {n.fmt(',.1f')} disputes per run, {_money(w)} of delivered value unpaid"
        if "overpaid" in d.summaries.columns:
            vals[f"{s}_overpaid"] = o = d.ci(s, "overpaid").clipped(0.0, math.inf)
            vals[f"{s}_net"] = net = d.ci(s, "net_misbilling")
            part += (
                f", {_money(o)} paid beyond the agreed value (net shortfall to sellers "
                f"{_money(net)})"
            )
        parts.append(part)
    text = "Billing reconciliation — " + "; ".join(parts)
    if len(scen) == 2:
        diff = d.diff("B", "C", "written_off")
        vals["B_minus_C_written_off"] = diff
        text += f". Written off, B − C = {_money(diff)}: {direction(diff)} in B"
    dep = _params(d, ["recon_auto_accept", "recon_split", "dispute_recovery", *_HALLU_PARAMS])
    dep |= _params(d, _MEMORY_PARAMS)
    return Finding("disputes", "Disputes and write-offs", EMERGENT, text + ".", dep, vals)


FINDERS = (
    take_rate,
    net_to_publishers,
    goal_attainment,
    hallucinated_decisions,
    detection,
    context_rot,
    ledger_cost,
    disputes,
)


def compute_findings(d: ReportData) -> list[Finding]:
    """Every finding the store's scenarios allow, in report order."""
    return [f for f in (fn(d) for fn in FINDERS) if f is not None]

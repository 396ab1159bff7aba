"""Findings about money: fees and take rates, fee savings, publishers' receipts, the ledger's
cost against the exchange's fees, and billing disputes.

Each finder reads a :class:`ReportData` and returns a :class:`Finding` (or None when the
store lacks the scenarios it compares). Numbers come with 95% intervals across seeds,
paired by seed when two scenarios are compared; nothing is written in advance.
"""

from __future__ import annotations

import math
from typing import Any

from admarket.config import EXCHANGE_FEES
from admarket.money import usd_auto
from admarket.report.data import ReportData
from admarket.report.glossary import WRITTEN_OFF_SOURCES
from admarket.report.stats import mean_ci
from admarket.report.wording import (
    ASSUMED,
    EMERGENT,
    INPUT,
    Finding,
    count,
    has,
    judged,
    mille,
    money,
    money_diff,
    params,
    pct,
    pp,
    rel,
    times,
)

FEE_PARAMS = EXCHANGE_FEES
DIRECT_FEES = ("agent_fee", "ledger_agent_fee", "protocol_fee")
PRICING_PARAMS = ("max_cpm_markup_min", "max_cpm_markup_max", "seller_reach")
PRICING_NOTE = (
    "Prices form differently on the two paths: in A, buyers bid up to their max CPM in "
    "second-price auctions against each other; in B and C, sellers quote tier- and "
    "volume-discounted rate-card prices and negotiate one to one. The A-vs-direct gap mixes "
    "that difference in price formation with the fees (inputs) and memory loss."
)
_LEDGER_PARAMS: tuple[str, ...] = (
    "sui_price_usd",
    "wal_price_usd",
    "records_per_blob",
    "impressions_per_record",
)
_LEDGER_PARAMS += ("ledger_record_bytes",)


def take_rate(d: ReportData) -> Finding | None:
    """Intermediary take by scenario: the configured fee stack applied to spend."""
    if not d.scenarios:
        return None
    vals: dict[str, Any] = {s: d.ci(s, "take_rate").clipped() for s in d.scenarios}
    parts = "; ".join(f"{s}: {pct(v)}" for s, v in vals.items())
    text = (
        f"Take rate (intermediary take as a share of gross spend) — {parts}. These rates are "
        "the configured fee stack (A: exchange + DSP + buy-side ad tech + sell-side ad tech + "
        "unknown delta; B and C: "
        "agent fee, plus protocol fee and ledger cost in C) coming back out of the books, not "
        "a discovery of the model."
    )
    quotes = [f"Scenario {s} take rate: {pct(v)} of gross spend." for s, v in vals.items()]
    if has(d, "A", "C"):
        vals["A_minus_C"] = diff = d.diff("A", "C", "take_rate")
        quotes.append(f"A − C take rate: {pp(diff)}.")
    head = "Intermediaries keep " + ", ".join(
        f"{pct(v)} in {s}" for s, v in vals.items() if len(s) == 1
    )
    dep = params(d, [*FEE_PARAMS, *DIRECT_FEES])
    return Finding(
        "take_rate",
        "Fee extraction by scenario",
        INPUT,
        text,
        dep,
        vals,
        headline=head + " — as configured",
        quotes=quotes,
        caveats=[
            "A take rate here is an input: change exchange_fee or agent_fee and it changes "
            "one for one. Quote it as the assumption it is, not as a measurement.",
        ],
    )


def net_to_publishers(d: ReportData) -> Finding | None:
    """Publishers' receipts in C (and B) against A, paired by seed."""
    if not has(d, "A") or len(d.scenarios) < 2:
        return None
    vals: dict[str, Any] = {s: d.ci(s, "net_to_publishers") for s in d.scenarios}
    parts, quotes = [], []
    for s in [x for x in ("C", "B") if x in d.scenarios]:
        diff = d.diff(s, "A", "net_to_publishers")
        base = d.per_seed("A", "net_to_publishers")
        mine = d.per_seed(s, "net_to_publishers")
        r = mean_ci(v / base[k] - 1 for k, v in mine.items() if base.get(k))
        vals[f"{s}_minus_A"], vals[f"{s}_vs_A_rel"] = diff, r
        sentence = (
            judged(diff, f"{s} − A = {money_diff(diff)}", f"higher in {s}", f"lower in {s}")
            + f"; relative to A, {rel(r)}"
        )
        parts.append(sentence)
        quotes.append(f"Net to publishers, {sentence}.")
    text = (
        "Net revenue reaching publishers over the run — "
        + "; ".join(f"{s}: {money(vals[s])}" for s in d.scenarios)
        + ". Paired by seed, "
        + "; ".join(parts)
        + ". The gap mixes the fee difference (an input) with how much inventory each "
        "trading path actually bought and delivered (emergent). " + PRICING_NOTE
    )
    dep = params(d, [*FEE_PARAMS, *DIRECT_FEES, "decay_rate", "memory_capacity"])
    dep |= params(d, ["restart_rate", "restart_growth", *PRICING_PARAMS])
    dep |= params(d, ["hallucination_rate", "days"])
    return Finding(
        "net_to_publishers",
        "Net to publishers vs the exchange",
        EMERGENT,
        text,
        dep,
        vals,
        headline=_net_headline(d, vals),
        quotes=quotes,
        caveats=[PRICING_NOTE],
    )


def _net_headline(d: ReportData, vals: dict[str, Any]) -> str:
    s = "C" if "C_vs_A_rel" in vals else "B"
    r = vals[f"{s}_vs_A_rel"]
    sig = "not significant" if r.spans_zero else "significant"
    return f"Publishers net {r.mean:+.1%} in {s} against the exchange ({sig} across seeds)"


_LEDGER_AMOUNTS = (
    "ledger_cost_sui",
    "ledger_cost_wal",
    "ledger_cost_sui_usd",
    "ledger_cost_wal_usd",
    "ledger_cost_usd",
)


def ledger_cost(d: ReportData) -> Finding | None:
    """C's ledger cost per 1,000 impressions against A's exchange fees per 1,000."""
    if not has(d, "C"):
        return None
    led = d.ci("C", "ledger_cost_per_mille")
    vals: dict[str, Any] = {"C_ledger_per_mille": led}
    text = f"C's ledger (Sui gas + Walrus storage) cost {mille(led)}"
    quotes = [f"C's ledger cost {mille(led)}."]
    head = f"The ledger costs {mille(led)}"
    if has(d, "A"):
        exch = d.ci("A", "exchange_fee_per_mille")
        a, c = d.per_seed("A", "exchange_fee_per_mille"), d.per_seed("C", "ledger_cost_per_mille")
        ratio = mean_ci(a[k] / c[k] for k in a if c.get(k))
        vals |= {"A_exchange_per_mille": exch, "ratio": ratio}
        text += (
            f", against A's intermediary fees of {mille(exch)}: per 1,000 impressions the "
            f"ledger is {times(ratio)} cheaper than the exchange's fees"
        )
        quotes.append(f"A's exchange fees cost {mille(exch)}.")
        quotes.append(f"Per 1,000 impressions the ledger is {times(ratio)} cheaper.")
        if ratio.mean >= 1:
            head += f", {times(ratio).split(' [')[0]} less than the exchange's fees"
        else:
            head += ", more than the exchange's fees"
    # amounts of tokens and dollars are never negative: their intervals stop at 0
    nonneg = {k: d.ci("C", k).clipped(0.0, math.inf) for k in _LEDGER_AMOUNTS}
    sui, wal = nonneg["ledger_cost_sui"], nonneg["ledger_cost_wal"]
    sui_usd, wal_usd = nonneg["ledger_cost_sui_usd"], nonneg["ledger_cost_wal_usd"]
    total = nonneg["ledger_cost_usd"]
    vals |= {"ledger_usd": total, "sui": sui, "wal": wal, "sui_usd": sui_usd, "wal_usd": wal_usd}
    text += f". Per run it cost {money(total)}"
    if sui.n and not math.isnan(sui.mean):
        text += (
            f": Sui gas {sui.fmt(',.4f', unit=' SUI')} ({money(sui_usd)}) and Walrus storage "
            f"{wal.fmt(',.4f', unit=' WAL')} ({money(wal_usd)})"
        )
    unb = d.ci("C", "ledger_unbatched_cost_per_mille")
    bat = d.ci("C", "ledger_batched_cost_per_mille")
    vals |= {"unbatched_per_mille": unb, "batched_per_mille": bat}
    text += (
        f". Batching (cost model, delivery records of {d.param('ledger_record_bytes')} bytes): "
        f"one record per impression would cost {mille(unb)}; batched "
        f"{d.param('impressions_per_record'):,} impressions per record and "
        f"{d.param('records_per_blob'):,} records per blob it is {mille(bat)}."
        " Per 1,000 impressions this cost is set almost entirely by the cost model and the "
        "batching parameters; the run adds only how many negotiation and settlement entries "
        "it wrote."
    )
    quotes.append(f"Without batching (one record per impression) it would cost {mille(unb)}.")
    dep = params(d, [*_LEDGER_PARAMS, *FEE_PARAMS])
    return Finding(
        "ledger_cost",
        "Ledger cost vs exchange fee (cost model)",
        ASSUMED,
        text,
        dep,
        vals,
        headline=head,
        quotes=quotes,
        caveats=[
            "The ledger cost comes from a cost model (token prices, gas and storage prices, "
            "batching), not from transactions on a real chain.",
            f"Batching carries most of it: unbatched, the ledger would cost {mille(unb)}.",
            "The exchange's fee is an input (exchange_fee), so the ratio compares an "
            "assumption with an assumption.",
        ],
    )


def disputes(d: ReportData) -> Finding | None:
    """Billing disputes and write-offs in B and C (A's exchange settles every lot itself)."""
    scen = [s for s in ("B", "C") if s in d.scenarios]
    if not scen:
        return None
    vals: dict[str, Any] = {}
    parts, quotes = [], []
    for s in scen:
        vals[f"{s}_disputes"] = n = d.ci(s, "disputes").clipped(0.0, math.inf)
        vals[f"{s}_written_off"] = w = d.ci(s, "written_off").clipped(0.0, math.inf)
        part = f"{s}: {count(n, 1)} disputes per run, {money(w, True)} of delivered value unpaid"
        if "overpaid" in d.summaries.columns:
            vals[f"{s}_overpaid"] = o = d.ci(s, "overpaid").clipped(0.0, math.inf)
            vals[f"{s}_net"] = net = d.ci(s, "net_misbilling")
            part += (
                f", {money(o, True)} paid beyond the agreed value (net shortfall to sellers "
                f"{money_diff(net, signed=False, zero_note=False)})"
            )
        parts.append(part)
        quotes.append(f"Scenario {part}.")
    text = "Billing reconciliation — " + "; ".join(parts)
    if "C" in scen:
        text += ". In C a dispute is settled against the terms both sides co-signed on the ledger"
    if "B" in scen:
        text += "; B has no shared record, so a dispute it cannot settle is partly written off"
    text += f". Written off counts more than disputes: {WRITTEN_OFF_SOURCES}"
    head = "; ".join(
        f"{s} {vals[f'{s}_disputes'].mean:,.0f} disputes and "
        f"{usd_auto(vals[f'{s}_written_off'].mean)} written off per run"
        for s in scen
    )
    if len(scen) == 2:
        diff = d.diff("B", "C", "written_off")
        vals["B_minus_C_written_off"] = diff
        sentence = f"Written off, B − C = {money_diff(diff)}"
        text += ". " + judged(diff, sentence, "more in B", "less in B")
        quotes.append(sentence + ".")
    dep = params(d, ["recon_auto_accept", "recon_split", "dispute_recovery", "hallucination_rate"])
    dep |= params(d, ["verify_recalls", "audit_tolerance", "decay_rate", "memory_capacity"])
    dep |= params(d, ["restart_rate", "restart_growth", "count_discrepancy", "count_tolerance"])
    return Finding(
        "disputes",
        "Disputes and write-offs",
        EMERGENT,
        text + ".",
        dep,
        vals,
        headline="Billing: " + head,
        quotes=quotes,
        caveats=[
            "A dispute is a deal-day whose bill went to dispute, not a whole deal.",
            f"The dispute band (recon_split = {d.param('recon_split')}) and the share of a "
            f"disputed amount B eventually pays (dispute_recovery = "
            f"{d.param('dispute_recovery')}) are assumptions.",
            "Amounts are per run. C's result follows from its agents checking recalled facts "
            "against the ledger before billing (verify_recalls); it is C's outcome at these "
            "settings, not a guarantee.",
        ],
    )

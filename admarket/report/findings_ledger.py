"""What drives C: its wrong facts and disputes beside its ledger's faults, labelled
"follows from the assumptions" at a perfect ledger and "emergent outcome" otherwise (see
also :mod:`.drivers` for the sweep that shows C's figures as functions of each fault)."""

from __future__ import annotations

import math
from typing import Any

from admarket.report.data import ReportData
from admarket.report.drivers import perfect_ledger
from admarket.report.findings_memory import MEMORY_PARAMS
from admarket.report.wording import ASSUMED, EMERGENT, Finding, has, params, pct

_LEDGER_PARAMS = ("ledger_read_failure", "ledger_write_failure", "ledger_flush_hours")
_COUNT_PARAMS = ("count_discrepancy", "count_tolerance")


def ledger_drivers(d: ReportData) -> Finding | None:
    """C's wrong facts and disputes beside its ledger's faults, with the label they earn: at
    a perfect ledger C's zeros follow from the assumptions, otherwise they are outcomes."""
    if not has(d, "C") or "ledger_facts_wrong" not in d.summaries.columns:
        return None
    keys: tuple[str, ...] = (
        "wrong_fact_share",
        "disputes",
        "ledger_facts_wrong",
        "cosign_failures",
    )
    keys += ("ledger_writes_lost", "ledger_reads_failed", "count_disputes")
    vals: dict[str, Any] = {k: d.ci("C", k).clipped(0.0, math.inf) for k in keys}
    p = {k: d.param(k, ["C"]) for k in _LEDGER_PARAMS}
    perfect = perfect_ledger(p)
    zero = vals["wrong_fact_share"].mean == 0 and vals["disputes"].mean == 0
    text = (
        f"C's agents acted on wrong facts in {pct(vals['wrong_fact_share'])} of the facts they "
        f"used, with {vals['disputes'].fmt(',.1f')} billing disputes per run. Its ledger, "
        "written by the agents from what they held: "
        f"{vals['ledger_facts_wrong'].fmt(',.1f')} facts on it differed from the truth at "
        f"the end, {vals['cosign_failures'].fmt(',.1f')} co-signs failed (the parties' views "
        "differed; separately, on "
        f"{vals['count_disputes'].fmt(',.1f')} deal-days the buyer's impression count fell "
        f"more than count_tolerance ({d.param('count_tolerance', ['C'])}) below the "
        "publisher's, and the bill was the buyer's count ÷ (1 − count_tolerance) rather than "
        "the publisher's count; smaller gaps, on nearly every deal-day, bill the publisher's "
        "count), "
        f"{vals['ledger_writes_lost'].fmt(',.1f')} entries were never written and "
        f"{vals['ledger_reads_failed'].fmt(',.1f')} queries went unanswered per run"
    )
    if perfect and zero:
        text += (
            ". With no read or write failures and entries readable within the hour, these "
            "zeros follow from the assumptions: what agents wrote was right and always "
            "readable, and they checked every recall against it"
        )
    else:
        text += (
            ". These are outcomes of the ledger's assumed faults "
            + ", ".join(f"{k}={v}" for k, v in p.items())
            + "; a sweep (`admarket sweep --one-at-a-time --scenarios b,c --grid "
            "ledger_read_failure=...`) shows C's figures as functions of each"
        )
    dep = params(d, [*_LEDGER_PARAMS, *_COUNT_PARAMS, "verify_recalls", *MEMORY_PARAMS])
    label = ASSUMED if perfect and zero else EMERGENT
    share, disputes = vals["wrong_fact_share"], vals["disputes"]
    quotes = [
        f"C's agents acted on wrong facts in {pct(share)} of the facts they used.",
        f"C had {disputes.fmt(',.1f')} billing disputes per run.",
    ]
    head = f"C acted on wrong facts in {pct(share).split(' [')[0]} of the facts it used"
    return Finding(
        "ledger_drivers",
        "What drives C",
        label,
        text + ".",
        dep,
        vals,
        headline=head,
        quotes=quotes,
        caveats=[
            "C's figures rest on its ledger assumptions (read and write failures, flush "
            "interval): at a perfect ledger its zeros follow from the assumptions.",
            "The ledger holds what agents wrote, not the truth: a wrong belief goes onto it.",
        ],
    )

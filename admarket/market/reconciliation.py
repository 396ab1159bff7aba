"""Billing reconciliation between a buyer's and a seller's records of one deal.

Counts first. The publisher's ad server and the buyer's verification count the day's
impressions independently, and the buyer's count is lower by a discrepancy
(``count_discrepancy``). Within ``count_tolerance`` of the publisher's count (the IAB's
recommended 10%) the publisher's count is billed; beyond it the buyer pays for the largest
count its own would have tolerated (its count ÷ (1 − tolerance)) and the publisher absorbs
the rest — the rule is continuous at the tolerance (:func:`billable_lots`; an assumption:
"publishers simply have to accept losses due to discrepancies", AdOps Insider).

Then prices. The seller invoices the billable lots at the price *it remembers*; the buyer
checks the invoice against the price *it remembers*. If the two memories agree
(or the invoice is lower — the buyer simply pays it), the invoice is paid. Otherwise the
gap, as a share of the invoice, decides:

* gap ≤ ``recon_auto_accept`` (default 2%): within usual measurement noise — pay it;
* gap ≤ ``recon_split`` (default 10%): the parties split the difference;
* larger: a **dispute**. With a ledger (scenario C) the recorded terms settle it at the
  agreed value. Without one (scenario B) nobody can prove the terms: the buyer pays what
  it believes it owes plus ``dispute_recovery`` (default 50%) of the disputed amount, and
  the rest is written off.

Defaults follow common media-reconciliation practice (IAB/4A's terms tolerate small
delivery discrepancies and escalate larger ones); they are parameters, not findings.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

OUTCOMES = (
    "agreed",
    "underbilled",
    "auto_accepted",
    "split",
    "dispute_ledger",
    "dispute_unresolved",
)


@dataclass(frozen=True)
class Settlement:
    """What was paid for one deal-day and how the gap was resolved."""

    paid: int  # cents
    outcome: str
    gap: float  # (invoice − expected) / invoice, 0 when agreed
    disputed: int  # cents in dispute (0 unless a dispute)
    unresolved: int  # cents of the seller's claim never paid (B disputes)


def buyer_count(lots: int, discrepancy: float, u: float) -> int:
    """The buyer's verification count of ``lots`` served: lower by ``discrepancy`` × ``u``
    (``u`` a uniform draw in (0, 1)), rounded to whole lots."""
    return lots - round(lots * discrepancy * u)


def billable_lots(seller_lots: int, buyer_lots: int, tolerance: float) -> int:
    """Lots billed by the count rule: the publisher's count when the buyer's is within
    ``tolerance`` of it, else the buyer's count grossed up by the tolerance (never above the
    publisher's count)."""
    if buyer_lots >= seller_lots:
        return seller_lots
    grossed = buyer_lots / (1.0 - tolerance) if tolerance < 1 else math.inf
    return min(seller_lots, math.ceil(grossed - 1e-9))


def reconcile(
    invoice: int,
    expected: int,
    recorded: Callable[[], int | None],
    *,
    auto_accept: float,
    split: float,
    recovery: float,
) -> Settlement:
    """Settle one invoice. ``recorded`` looks up the value the shared record (C's ledger)
    gives for the delivery — None when there is no such record (B) or the query gets no
    answer, and then a dispute can only be partly recovered. It is called only for a
    dispute: looking up the record is the dispute's own query."""
    if invoice == expected:
        return Settlement(invoice, "agreed", 0.0, 0, 0)
    if invoice < expected:
        return Settlement(invoice, "underbilled", (invoice - expected) / max(invoice, 1), 0, 0)
    gap = (invoice - expected) / invoice
    if gap <= auto_accept:
        return Settlement(invoice, "auto_accepted", gap, 0, 0)
    if gap <= split:
        return Settlement((invoice + expected) // 2, "split", gap, 0, 0)
    disputed = invoice - expected
    on_record = recorded()
    if on_record is not None:
        return Settlement(on_record, "dispute_ledger", gap, disputed, 0)
    paid = expected + round(recovery * disputed)
    return Settlement(paid, "dispute_unresolved", gap, disputed, invoice - paid)

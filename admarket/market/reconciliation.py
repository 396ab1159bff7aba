"""Billing reconciliation between a buyer's and a seller's records of one deal.

Each day the seller invoices what its ad server delivered at the price *it remembers*;
the buyer checks the invoice against the price *it remembers*. If the two memories agree
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


def reconcile(
    invoice: int,
    expected: int,
    recorded: int | None,
    *,
    auto_accept: float,
    split: float,
    recovery: float,
) -> Settlement:
    """Settle one invoice. ``recorded`` is the value the shared record (C's ledger) gives
    for the delivery — None when there is no such record (B), and then a dispute can only
    be partly recovered."""
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
    if recorded is not None:
        return Settlement(recorded, "dispute_ledger", gap, disputed, 0)
    paid = expected + round(recovery * disputed)
    return Settlement(paid, "dispute_unresolved", gap, disputed, invoice - paid)

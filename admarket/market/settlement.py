"""The evening settlement of direct deals (scenarios B and C).

Each evening, for every deal that delivered today, the publisher's ad server and the
buyer's verification have each counted the day's impressions (the buyer's count is lower
by a keyed discrepancy); the count rule picks the billable lots; the seller invoices them
at the price it *remembers*; the buyer checks the invoice against the price *it* remembers;
the two are reconciled (:mod:`admarket.market.reconciliation`) and the buyer pays. Then
both parties update their own books — delivery per deal, spend per campaign, delivery
history per counterpart — by recalling each running total and adding the day's report,
so a total that was lost and wrongly reconstructed stays wrong.

What they write to shared records (C's ledger; B has none) is what they hold: each seller
its ad server's counts and the delivery totals it now believes, each buyer its
verification counts and the spend and history it now believes, and per (seller, buyer)
pair the invoice, which both must co-sign — when their views of it differ, the co-sign
fails visibly and the settled invoice is signed after reconciliation.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING

import numpy as np

from admarket.market.accounting import cents_of, split_fees
from admarket.market.reconciliation import billable_lots, buyer_count, reconcile
from admarket.streams import COUNT, keyed_uniform

if TYPE_CHECKING:  # pragma: no cover
    from admarket.model.market_model import MarketModel


@dataclass(frozen=True)
class DealDay:
    """One deal's settled day: both counts, both views of the invoice, what was paid."""

    deal: int
    campaign: int
    product: int
    lots: int  # the publisher's ad-server count (what was served)
    buyer_lots: int  # the buyer's verification count
    billed: int  # lots billed by the count rule
    invoice: int  # cents: the seller's invoice of its own count at its price
    expected: int  # cents: the billable lots at the buyer's price
    paid: int  # cents
    agreed: int  # cents: the served lots at the agreed price (the value delivered)
    outcome: str
    seller_total: float  # deal's delivery total the seller now holds


def settle_day(m: MarketModel) -> None:
    """Invoice, reconcile and pay today's deliveries; update both parties' books; write
    what each party holds to the shared records."""
    b = m.book
    today = b.day_delivered[: b.n].copy()
    paid_by_campaign: dict[int, int] = defaultdict(int)
    by_pair: dict[tuple[int, int], list[DealDay]] = defaultdict(list)
    rows: dict[str, list] = defaultdict(list)
    for d in np.nonzero(today > 0)[0].tolist():
        dd = _settle_deal(m, d)
        by_pair[int(b.seller[d]), int(b.buyer[d])].append(dd)
        m.records.add_delivery_records(dd.lots * m.config.lot_size)
        paid_by_campaign[dd.campaign] += dd.paid
        m.accounts.delivered[dd.campaign] += dd.lots
        for k, v in (
            ("campaign", dd.campaign),
            ("buyer", int(b.buyer[d])),
            ("seller", int(b.seller[d])),
            ("product", dd.product),
            ("deal", d),
            ("lots", dd.lots),
            ("cpm", b.price[d]),
            ("gross", dd.paid),
            ("value", dd.agreed),
        ):
            rows[k].append(v)
    if rows:  # the day's deliveries per (campaign, product) in one addition, not per deal
        m.accounts.delivered_pc.add(rows["campaign"], rows["product"], rows["lots"])
    books = _update_spend(m, paid_by_campaign)
    _update_history(m, today, books)
    _write_records(m, by_pair, books)
    _record_transactions(m, rows)


def _counts(m: MarketModel, d: int) -> tuple[int, int, int]:
    """Deal ``d``'s lots today by the publisher's ad server and by the buyer's verification,
    and the lots billed by the count rule. The discrepancy draw is keyed to (seed, deal,
    day): B and C see the same dice."""
    cfg = m.config
    lots = int(m.book.day_delivered[d])
    if cfg.count_discrepancy <= 0:
        return lots, lots, lots
    u = keyed_uniform(cfg.seed, COUNT, d, m.day)
    counted = buyer_count(lots, cfg.count_discrepancy, u)
    return lots, counted, billable_lots(lots, counted, cfg.count_tolerance)


def _settle_deal(m: MarketModel, d: int) -> DealDay:
    """Count, invoice and reconcile deal ``d``'s delivery today; both parties add it to
    their books."""
    b, cfg, acc, t = m.book, m.config, m.accounts, m.t
    lot = cfg.lot_size
    c, p = int(b.campaign[d]), int(b.product[d])
    buyer, seller = m.buyers[int(b.buyer[d])], m.sellers[int(b.seller[d])]
    lots, counted, billed = _counts(m, d)
    s_dec = m.claims.new_decision(seller.name, "invoice", t)
    s_price = seller.invoice_price(d, p, s_dec)
    invoice = cents_of(s_price, billed, lot)
    b_dec = m.claims.new_decision(buyer.name, "pay_invoice", t)
    expected = cents_of(buyer.deal_fact(d, c, "price", "price", b_dec), billed, lot)
    agreed = cents_of(b.price[d], lots, lot)
    records = m.records

    def on_record() -> int | None:
        # The shared record of the agreed price (C's ledger), looked up by a dispute's own
        # query. It is keyed apart from the buyer's check of its recalled price (same
        # reader, fact and hour): keyed alike, the check's failure (which let a wrong price
        # through and so made the dispute) failed this query too, and a dispute caused by
        # an unanswered check could never be settled against the ledger.
        if not records.reachable(buyer.name, f"dispute:{d}:price", t):
            return None
        price = records.value(f"deal:{d}:price")
        return None if price is None else cents_of(price, billed, lot)

    st = reconcile(
        invoice,
        expected,
        on_record,
        auto_accept=cfg.recon_auto_accept,
        split=cfg.recon_split,
        recovery=cfg.dispute_recovery,
    )
    record = {
        "step": t,
        "deal": d,
        "campaign": c,
        "buyer": buyer.name,
        "seller": seller.name,
        "seller_lots": lots,
        "buyer_lots": counted,
        "billed_lots": billed,
        "invoice": invoice / 100,
        "expected": expected / 100,
        "agreed": agreed / 100,
        "paid": st.paid / 100,
        "outcome": st.outcome,
        "gap": st.gap,
        "disputed": st.disputed / 100,
        "unresolved": st.unresolved / 100,
    }
    m.settlements.append(record)
    if st.disputed:
        m.events.emit(t, "dispute", **{k: v for k, v in record.items() if k != "step"})
    if billed < lots:
        m.events.count("count_dispute")
    if st.paid < agreed:
        acc.write_off += agreed - st.paid
    else:
        acc.overpaid += st.paid - agreed
    total = _add_delivery(m, d, c, p, lots, b_dec, s_dec)
    b.day_delivered[d] = 0  # settled: ground truth now counts it as delivered
    own = cents_of(s_price, lots, lot)
    return DealDay(
        d, c, p, lots, counted, billed, own, expected, st.paid, agreed, st.outcome, total
    )


def _add_delivery(m: MarketModel, d: int, c: int, p: int, lots: int, b_dec: int, s_dec: int):
    """Both parties add the publisher's count (the invoice reports it) to the deal's delivery
    total they recall; returns the seller's new total."""
    buyer, seller = m.buyers[int(m.book.buyer[d])], m.sellers[int(m.book.seller[d])]
    buyer.update(
        f"deal:{d}:delivered",
        "delivery",
        b_dec,
        lots,
        lambda: buyer.reconstruct_deal(d, c, "delivered", b_dec),
        "deal",
        c,
    )
    return seller.update(
        f"deal:{d}:delivered",
        "delivery",
        s_dec,
        lots,
        lambda: seller.reconstruct_deal(d, p, "delivered", s_dec),
        "deal",
        p,
    )


def _update_spend(m: MarketModel, paid_by_campaign: dict[int, int]) -> dict[int, dict]:
    """Each buyer adds what it paid today to the spend it recalls, per campaign; returns
    the totals each buyer now holds (money to the cent, as a ledger records it)."""
    t, acc, mk = m.t, m.accounts, m.market
    facts: dict[int, dict[str, float]] = defaultdict(dict)
    for c, paid in sorted(paid_by_campaign.items()):
        buyer = m.buyers[int(mk.campaign_buyer[c])]
        dec = m.claims.new_decision(buyer.name, "record_spend", t)
        held = buyer.update(
            f"campaign:{c}:spent",
            "spend",
            dec,
            paid / 100,
            partial(buyer.reconstruct_spent, c, dec),
        )
        acc.spent[c] += paid
        facts[buyer.index][f"campaign:{c}:spent"] = round(held, 2)
    return facts


def _update_history(m: MarketModel, today: np.ndarray, facts: dict[int, dict]) -> None:
    """Each buyer adds today's paced and actual delivery to its history with each seller
    (the totals it now holds go into ``facts``)."""
    b, acc, t = m.book, m.accounts, m.t
    n = b.n
    n_s = m.config.n_sellers
    pair = b.buyer[:n] * n_s + b.seller[:n]
    size = m.config.n_buyers * n_s
    expected = np.bincount(pair, weights=b.day_expected[:n], minlength=size)
    delivered = np.bincount(pair, weights=today, minlength=size)
    for k in np.nonzero(expected > 0)[0].tolist():
        buyer, s = m.buyers[k // n_s], k % n_s
        dec = m.claims.new_decision(buyer.name, "record_history", t)
        for attr, delta, arr in (
            ("expected", expected[k], acc.hist_expected),
            ("delivered", delivered[k], acc.hist_delivered),
        ):
            key = f"hist:{buyer.index}:{s}:{attr}"
            facts[buyer.index][key] = buyer.update(key, "delivery", dec, float(delta), _zero)
            arr[buyer.index, s] += delta
    b.day_expected[:n] = 0.0


def _zero() -> float:
    return 0.0  # no memory of any delivery from this seller


def _write_records(
    m: MarketModel, by_pair: dict[tuple[int, int], list[DealDay]], books: dict[int, dict]
) -> None:
    """What each party holds goes to the shared records (C keeps it; B's records drop it):
    per seller its counts and delivery totals, per pair the co-signed invoice, per buyer its
    verification counts and books."""
    t, rec = m.t, m.records
    if not rec.keeps_writes:
        return  # B: nothing is kept, so nothing is built (a day's payloads at scale)
    by_seller: dict[int, list[DealDay]] = defaultdict(list)
    by_buyer: dict[int, list[DealDay]] = defaultdict(list)
    for (s, bi), lines in sorted(by_pair.items()):
        by_seller[s] += lines
        by_buyer[bi] += lines
    for s, lines in sorted(by_seller.items()):
        payload = {
            "seller": m.sellers[s].name,
            "counts": {str(x.deal): x.lots for x in lines},
            "facts": {f"deal:{x.deal}:delivered": x.seller_total for x in lines},
        }
        rec.write("delivery", payload, m.sellers[s].name, t)
    for (s, bi), lines in sorted(by_pair.items()):
        _cosign_invoice(m, m.sellers[s].name, m.buyers[bi].name, lines)
    for bi in sorted(set(by_buyer) | set(books)):
        payload = {
            "buyer": m.buyers[bi].name,
            "counts": {str(x.deal): x.buyer_lots for x in by_buyer.get(bi, ())},
            "facts": books.get(bi, {}),
        }
        rec.write("settlement", payload, m.buyers[bi].name, t)


def _cosign_invoice(m: MarketModel, seller: str, buyer: str, lines: list[DealDay]) -> None:
    """The day's invoice of one (seller, buyer) pair: co-signed as both hold it, or — when
    their views differ — a recorded failed co-sign, then the settled invoice co-signed."""
    views = {
        seller: {str(x.deal): [x.lots, x.invoice] for x in lines},
        buyer: {str(x.deal): [x.billed, x.expected] for x in lines},
    }
    settled = {
        "seller": seller,
        "buyer": buyer,
        "day": m.day,
        "lines": {
            str(x.deal): {
                "lots": x.lots,
                "buyer_lots": x.buyer_lots,
                "billed": x.billed,
                "paid": x.paid / 100,
                "outcome": x.outcome,
            }
            for x in lines
        },
    }
    if not m.records.cosign("invoice", settled, views, m.t):
        m.records.cosign("invoice", settled, {seller: True, buyer: True}, m.t)


def _record_transactions(m: MarketModel, rows: dict[str, list]) -> None:
    """Today's settlements as transaction rows, fees split from what was paid."""
    if not rows:
        return
    arr = {k: np.asarray(v) for k, v in rows.items()}
    fees, net = split_fees(arr["gross"], m.fee_rates)
    m.accounts.record(
        step=m.t,
        kind="settlement",
        campaign=arr["campaign"],
        buyer=arr["buyer"],
        seller=arr["seller"],
        product=arr["product"],
        deal=arr["deal"],
        lots=arr["lots"],
        cpm=arr["cpm"],
        gross=arr["gross"],
        fees=fees,
        net=net,
        value=arr["value"],
        lot_size=m.config.lot_size,
    )
    m.add_flow(arr["buyer"], arr["seller"], arr["gross"], net)


def bill_ledger_cost(m: MarketModel, cost: int) -> None:
    """Bill ``cost`` cents of ledger cost to sellers, pro rata to their revenue so far
    (floored at 0) plus 1."""
    n_s = m.config.n_sellers
    # revenue so far, never below 0 (a seller billed before it sold anything is in the red),
    # plus 1 so nobody pays a zero share and the weights never sum to 0
    weights = np.maximum(m.accounts.seller_revenue, 0).astype(float) + 1.0
    share = np.floor(cost * weights / weights.sum()).astype(np.int64)
    share[int(np.argmax(weights))] += cost - int(share.sum())
    zero = np.zeros(n_s, dtype=np.int64)
    m.accounts.record(
        step=m.t,
        kind="ledger_fee",
        campaign=np.full(n_s, -1),
        buyer=np.full(n_s, -1),
        seller=np.arange(n_s),
        product=np.full(n_s, -1),
        deal=np.full(n_s, -1),
        lots=zero,
        cpm=np.zeros(n_s),
        gross=zero,
        fees={"ledger_fee": share},
        net=-share,
        value=zero,
        lot_size=m.config.lot_size,
    )

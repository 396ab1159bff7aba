"""The evening settlement of direct deals (scenarios B and C).

Each evening, for every deal that delivered today, the seller invoices what its ad server
delivered at the price it *remembers*; the buyer checks the invoice against the price *it*
remembers; the two are reconciled (:mod:`admarket.market.reconciliation`) and the buyer pays.
Then both parties update their own books — delivery per deal, spend per campaign, delivery
history per counterpart — by recalling each running total and adding the day's exact
report, so a total that was lost and wrongly reconstructed stays wrong. In C the day's
deliveries (one batch per seller) and payments (one batch per buyer) go on the ledger.
"""

from __future__ import annotations

from collections import defaultdict
from functools import partial
from typing import TYPE_CHECKING

import numpy as np

from admarket.market.accounting import cents, split_fees
from admarket.market.reconciliation import reconcile

if TYPE_CHECKING:  # pragma: no cover
    from admarket.model.market_model import MarketModel


def settle_day(m: MarketModel) -> None:
    """Invoice, reconcile and pay today's deliveries; update both parties' books."""
    b = m.book
    today = b.day_delivered[: b.n].copy()
    paid_by_campaign: dict[int, int] = defaultdict(int)
    delivered_by_seller: dict[int, dict[str, float]] = defaultdict(dict)
    rows: dict[str, list] = defaultdict(list)
    for d in np.nonzero(today > 0)[0].tolist():
        c, p, lots, paid, agreed = _settle_deal(m, d)
        delivered_by_seller[int(b.seller[d])][f"deal:{d}:delivered"] = float(b.delivered[d])
        m.records.add_delivery_records(lots * m.config.lot_size)
        paid_by_campaign[c] += paid
        m.accounts.delivered[c] += lots
        m.accounts.delivered_pc[c, p] += lots
        for k, v in (
            ("campaign", c),
            ("buyer", int(b.buyer[d])),
            ("seller", int(b.seller[d])),
            ("product", p),
            ("deal", d),
            ("lots", lots),
            ("cpm", b.price[d]),
            ("gross", paid),
            ("value", agreed),
        ):
            rows[k].append(v)
    ledger_facts = _update_spend(m, paid_by_campaign)
    _update_history(m, today, ledger_facts)
    _write_ledger(m, delivered_by_seller, ledger_facts)
    _record_transactions(m, rows)


def _settle_deal(m: MarketModel, d: int) -> tuple[int, int, int, int, int]:
    """Invoice and reconcile deal ``d``'s delivery today; both parties add it to their books.

    Returns (campaign, product, lots, paid cents, agreed cents).
    """
    b, cfg, acc, t = m.book, m.config, m.accounts, m.t
    lot = cfg.lot_size
    c, p = int(b.campaign[d]), int(b.product[d])
    buyer, seller = m.buyers[int(b.buyer[d])], m.sellers[int(b.seller[d])]
    lots = int(b.day_delivered[d])
    s_dec = m.claims.new_decision(seller.name, "invoice", t)
    invoice = int(cents(seller.invoice_price(d, p, s_dec), lots, lot))
    b_dec = m.claims.new_decision(buyer.name, "pay_invoice", t)
    expected = int(cents(buyer.deal_fact(d, c, "price", "price", b_dec), lots, lot))
    agreed = int(cents(b.price[d], lots, lot))
    # the shared record of the agreed price: C's ledger; B has none
    on_record = m.records.value(f"deal:{d}:price")
    st = reconcile(
        invoice,
        expected,
        None if on_record is None else int(cents(on_record, lots, lot)),
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
    if st.paid < agreed:
        acc.write_off += agreed - st.paid
    else:
        acc.overpaid += st.paid - agreed
    # both parties add today's exact delivery report to the total they recall
    buyer.update(
        f"deal:{d}:delivered",
        "delivery",
        b_dec,
        lots,
        lambda: buyer.reconstruct_deal(d, c, "delivered", b_dec),
        "deal",
        c,
    )
    seller.update(
        f"deal:{d}:delivered",
        "delivery",
        s_dec,
        lots,
        lambda: seller.reconstruct_deal(d, p, "delivered", s_dec),
        "deal",
        p,
    )
    b.day_delivered[d] = 0  # settled: ground truth now counts it as delivered
    return c, p, lots, st.paid, agreed


def _update_spend(m: MarketModel, paid_by_campaign: dict[int, int]) -> dict[int, dict]:
    """Each buyer adds what it paid today to the spend it recalls, per campaign."""
    t, acc, mk = m.t, m.accounts, m.market
    facts: dict[int, dict[str, float]] = defaultdict(dict)
    for c, paid in sorted(paid_by_campaign.items()):
        buyer = m.buyers[int(mk.campaign_buyer[c])]
        dec = m.claims.new_decision(buyer.name, "record_spend", t)
        buyer.update(
            f"campaign:{c}:spent",
            "spend",
            dec,
            paid / 100,
            partial(buyer.reconstruct_spent, c, dec),
        )
        acc.spent[c] += paid
        facts[buyer.index][f"campaign:{c}:spent"] = acc.spent[c] / 100
    return facts


def _update_history(m: MarketModel, today: np.ndarray, facts: dict[int, dict]) -> None:
    """Each buyer adds today's paced and actual delivery to its history with each seller."""
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
            buyer.update(key, "delivery", dec, float(delta), _zero)
            arr[buyer.index, s] += delta
            facts[buyer.index][key] = float(arr[buyer.index, s])
    b.day_expected[:n] = 0.0


def _zero() -> float:
    return 0.0  # no memory of any delivery from this seller


def _write_ledger(
    m: MarketModel, delivered_by_seller: dict[int, dict], facts_by_buyer: dict[int, dict]
) -> None:
    """One delivery batch per seller and one settlement batch per buyer, today (C keeps
    them; without a ledger the records drop them)."""
    for s, facts in sorted(delivered_by_seller.items()):
        m.records.write("delivery", {"facts": facts}, m.sellers[s].name, m.t)
    for bi, facts in sorted(facts_by_buyer.items()):
        m.records.write("settlement", {"facts": facts}, m.buyers[bi].name, m.t)


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
    """Bill ``cost`` cents of ledger cost to sellers, pro rata to their revenue so far."""
    n_s = m.config.n_sellers
    weights = m.accounts.seller_revenue.astype(float) + 1.0  # nobody pays a zero share
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

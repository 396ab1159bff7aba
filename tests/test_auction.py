"""Second-price auctions with floors, fee splits and the pricing waterfall."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from admarket.accounting import cents, split_fees
from admarket.auction import SecondPriceAuction
from admarket.pricing import GLOBAL_FLOOR_CPM, deal_terms, quote_price, volume_discount

A = SecondPriceAuction()


def clear(bids, demand, floor=1.0, supply=100, product=None):
    bids = np.asarray(bids, float)
    product = np.zeros(len(bids), int) if product is None else np.asarray(product)
    floors = np.atleast_1d(np.asarray(floor, float))
    supplies = np.atleast_1d(np.asarray(supply, np.int64))
    return A.clear(product, bids, np.asarray(demand, np.int64), floors, supplies)


def test_winner_pays_the_second_price():
    r = clear([10.0, 7.0, 5.0], [5, 5, 5], supply=5)
    assert r.entry.tolist() == [0] and r.lots.tolist() == [5] and r.price.tolist() == [7.0]


def test_single_bidder_pays_the_floor():
    r = clear([10.0], [3], floor=4.0)
    assert r.price.tolist() == [4.0] and r.lots.tolist() == [3]


def test_bids_below_floor_are_not_admitted_and_do_not_set_the_price():
    r = clear([10.0, 3.0], [5, 5], floor=4.0, supply=10)
    assert r.entry.tolist() == [0] and r.price.tolist() == [4.0]


def test_lots_go_down_the_bid_ladder_each_paying_the_next_bid():
    r = clear([10.0, 8.0, 6.0], [4, 4, 4], floor=2.0, supply=10)
    got = dict(
        zip(r.entry.tolist(), zip(r.lots.tolist(), r.price.tolist(), strict=True), strict=True)
    )
    assert got == {0: (4, 8.0), 1: (4, 6.0), 2: (2, 2.0)}


def test_products_clear_independently():
    r = clear([9.0, 5.0, 9.0], [1, 1, 1], floor=[1.0, 3.0], supply=[1, 1], product=[0, 0, 1])
    assert sorted(zip(r.entry.tolist(), r.price.tolist(), strict=True)) == [(0, 5.0), (2, 3.0)]


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(1, 40), st.integers(0, 6), st.integers(0, 1)), min_size=1, max_size=12
    ),
    st.integers(0, 20),
    st.integers(0, 20),
)
def test_vectorised_clearing_equals_lot_by_lot_second_price(entries, supply0, supply1):
    """Clearing in closed form matches auctioning lots one at a time, per product."""
    bids = np.array([e[0] / 4 for e in entries])
    demand = np.array([e[1] for e in entries])
    product = np.array([e[2] for e in entries])
    floors, supply = np.array([2.0, 3.0]), np.array([supply0, supply1])
    r = A.clear(product, bids, demand, floors, supply, tiebreak=np.arange(len(bids)) / 100)
    got = {int(e): (int(n), float(p)) for e, n, p in zip(r.entry, r.lots, r.price, strict=True)}
    want: dict[int, tuple[int, float]] = {}
    for p in (0, 1):
        left = {
            i: int(demand[i])
            for i in range(len(bids))
            if product[i] == p and bids[i] >= floors[p] and demand[i] > 0
        }
        for _ in range(int(supply[p])):
            live = sorted(left, key=lambda i: (-bids[i], i))
            live = [i for i in live if left[i] > 0]
            if not live:
                break
            w = live[0]
            price = max(floors[p], bids[live[1]]) if len(live) > 1 else floors[p]
            n, _ = want.get(w, (0, price))
            want[w] = (n + 1, price)
            left[w] -= 1
    assert got == want


def test_fees_are_shares_of_gross_and_money_is_conserved_to_the_cent():
    gross = cents(np.array([12.345, 7.0]), np.array([3, 1]), 1000)
    assert gross.tolist() == [3704, 700]
    fees, net = split_fees(gross, {"exchange_fee": 0.15, "dsp_fee": 0.08})
    assert (net + fees["exchange_fee"] + fees["dsp_fee"] == gross).all()
    assert fees["exchange_fee"].tolist() == [556, 105]


def test_price_waterfall_by_tier_and_volume():
    assert quote_price(20.0, "public", 100_000) == 20.0
    assert quote_price(20.0, "seat", 100_000) == 19.0
    assert quote_price(20.0, "agency", 100_000) == 18.0
    assert quote_price(20.0, "agency", 10_000_000) == 16.2  # 10% tier, then 10% volume
    assert quote_price(20.0, "seat", 50_000_000) == 19.0  # seats get no volume discount
    assert quote_price(1.05, "advertiser", 60_000_000) == GLOBAL_FLOOR_CPM
    assert volume_discount(4_999_999) == 0.0 and volume_discount(20_000_000) == 0.15


def test_deal_types_carry_their_floors():
    assert deal_terms("PG", 10.0, 9.0) == (10.8, 10.8)  # PG floor = 1.2 × floor
    assert deal_terms("PD", 10.0, 7.0) == (10.0, 7.0)
    assert deal_terms("PA", 10.0, 7.0) == (8.5, 7.0)

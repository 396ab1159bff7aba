"""Second-price auctions with floors, fee splits and the pricing waterfall."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from admarket.market.accounting import cents, cents_of, split_fees
from admarket.market.auction import SecondPriceAuction
from admarket.market.pricing import GLOBAL_FLOOR_CPM, deal_terms, quote_price, volume_discount

A = SecondPriceAuction()


def clear(bids, lots=None, floor=1.0):
    bids = np.asarray(bids, float)
    lots = np.zeros(len(bids), int) if lots is None else np.asarray(lots)
    floors = np.broadcast_to(np.asarray(floor, float), bids.shape)
    r = A.clear(lots, bids, floors, tiebreak=np.arange(len(bids)) / 100)
    return dict(zip(r.winner.tolist(), r.price.tolist(), strict=True))


def test_winner_pays_the_second_price():
    assert clear([7.0, 10.0, 5.0]) == {1: 7.0}


def test_single_bidder_pays_the_floor():
    assert clear([10.0], floor=4.0) == {0: 4.0}


def test_bids_below_floor_are_not_admitted_and_do_not_set_the_price():
    assert clear([10.0, 3.0], floor=4.0) == {0: 4.0}
    assert clear([3.0, 2.0], floor=4.0) == {}


def test_each_lot_is_its_own_auction():
    # lot 0: 9 beats 5; lot 1: a lone bid of 9 pays its floor of 3
    assert clear([9.0, 5.0, 9.0], lots=[0, 0, 1], floor=[1.0, 1.0, 3.0]) == {0: 5.0, 2: 3.0}


@settings(max_examples=80, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 40), st.integers(0, 5)), min_size=1, max_size=25))
def test_vectorised_clearing_equals_a_loop_over_lots(bids):
    """Clearing all lots at once matches running each lot's auction on its own."""
    price = np.array([b[0] / 4 for b in bids])
    lot = np.array([b[1] for b in bids])
    floor = 2.0 + lot / 4  # each lot its own floor
    r = A.clear(lot, price, floor, tiebreak=np.arange(len(bids)) / 100)
    got = dict(zip(r.winner.tolist(), r.price.tolist(), strict=True))
    want = {}
    for k in set(lot.tolist()):
        live = sorted(
            (i for i in range(len(bids)) if lot[i] == k and price[i] >= floor[i]),
            key=lambda i: (-price[i], i),
        )
        if live:
            want[live[0]] = max(floor[live[0]], price[live[1]]) if len(live) > 1 else floor[live[0]]
    assert got == want


# (bid, lot, tie-break) triples on a coarse grid, so exact ties in bid and tie-break are common
TIED_BIDS = st.lists(
    st.tuples(st.integers(1, 12), st.integers(0, 6), st.integers(0, 3)), min_size=1, max_size=40
)


def _tied(bids):
    """Bid CPMs, lots, tie-breaks and floors (each lot its own) of TIED_BIDS triples."""
    price, lot = np.array([b[0] / 4 for b in bids]), np.array([b[1] for b in bids])
    return price, lot, np.array([b[2] / 4 for b in bids]), 1.0 + lot / 4


@settings(max_examples=80, deadline=None)
@given(TIED_BIDS)
def test_clearing_equals_sorting_by_lot_bid_and_tiebreak(bids):
    """Ties in bid and in tie-break (exact): the winner is the first of each lot's bids sorted
    by (bid descending, tie-break, arrival), as a three-key lexsort orders them."""
    price, lot, tb, floor = _tied(bids)
    r = A.clear(lot, price, floor, tiebreak=tb)
    ok = np.nonzero(price >= floor)[0]
    order = ok[np.lexsort((tb[ok], -price[ok], lot[ok]))]
    want_w, want_p = [], []
    for k in sorted(set(lot[order].tolist())):
        rows = order[lot[order] == k]
        second = max(floor[rows[0]], price[rows[1]]) if rows.size > 1 else floor[rows[0]]
        want_w.append(int(rows[0]))
        want_p.append(second)
    assert r.winner.tolist() == want_w and r.price.tolist() == want_p


@settings(max_examples=80, deadline=None)
@given(TIED_BIDS)
def test_clearing_does_not_depend_on_how_lots_are_numbered(bids):
    """Small lot numbers go straight to per-lot slots; large, negative or float ids are
    ranked first: the same auctions either way, winners in lot order."""
    price, lot, tb, floor = _tied(bids)
    r = A.clear(lot, price, floor, tiebreak=tb)
    for renamed in (lot * 10**12 - 7, lot - 3, lot / 2):
        s = A.clear(renamed, price, floor, tiebreak=tb)
        assert s.winner.tolist() == r.winner.tolist() and s.price.tolist() == r.price.tolist()


def test_fees_are_shares_of_gross_and_money_is_conserved_to_the_cent():
    gross = cents(np.array([12.345, 7.0]), np.array([3, 1]), 1000)
    assert gross.tolist() == [3704, 700]
    fees, net = split_fees(gross, {"exchange_fee": 0.15, "dsp_fee": 0.08})
    assert (net + fees["exchange_fee"] + fees["dsp_fee"] == gross).all()
    assert fees["exchange_fee"].tolist() == [556, 105]


@settings(max_examples=300, deadline=None)
@given(
    st.floats(0, 500, allow_nan=False).map(lambda x: round(x, 2)) | st.floats(0, 500),
    st.integers(0, 10**6),
    st.sampled_from([1, 10, 1000]),
)
def test_scalar_cents_equal_the_vectorised_cents(cpm, lots, lot_size):
    # cents_of (per-deal settlement) must give exactly what cents gives, halves included
    assert cents_of(cpm, lots, lot_size) == int(cents(cpm, lots, lot_size))
    assert cents_of(np.float64(cpm), np.int64(lots), lot_size) == int(cents(cpm, lots, lot_size))
    assert cents_of(12.345, 3, 1000) == 3704 and cents_of(0.005, 1, 1000) == 0


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
    assert deal_terms("PD", 10.0, 7.0) == (10.0, 10.0)  # PD: a fixed price, no bargaining
    assert deal_terms("PA", 10.0, 7.0) == (8.5, 8.5)  # PA: the auction's reserve, 85% of quote
    assert deal_terms("PA", 10.0, 9.0) == (9.0, 9.0)  # … never below the seller's floor

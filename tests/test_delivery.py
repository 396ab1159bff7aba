"""Ad-server delivery of booked deals: priority, capacity and pacing."""

from __future__ import annotations

import numpy as np

from admarket.market.deals import PA, PD, PG, DealBook

W = np.full(10, 0.1)  # ten equal hours
CUM = np.concatenate([[0.0], np.cumsum(W)])


def book(deals):
    b = DealBook(W, CUM, capacity=2)  # tiny capacity also exercises growth
    for i, (dtype, price, volume) in enumerate(deals):
        b.book(
            campaign=i,
            buyer=0,
            seller=0,
            product=0,
            dtype=dtype,
            price=price,
            volume=volume,
            start=0,
            end=10,
            step=0,
        )
    return b


def test_guaranteed_deals_are_served_first_then_preferred_then_auction_by_price():
    b = book([(PA, 9.0, 100), (PD, 5.0, 100), (PG, 4.0, 100), (PA, 12.0, 100)])
    ids, lots = b.deliver(0, np.array([25]))
    got = dict(zip(ids.tolist(), lots.tolist(), strict=True))
    assert got == {2: 10, 1: 10, 3: 5}  # each wants its paced 10; PA at 12 beats PA at 9


def test_never_delivers_more_than_supply_or_volume():
    b = book([(PG, 5.0, 30), (PG, 5.0, 30)])
    total = 0
    for t in range(10):
        _, lots = b.deliver(t, np.array([4]))
        assert lots.sum() <= 4
        total += lots.sum()
    assert (b.field("delivered") <= b.field("volume")).all()
    assert total == 40  # capacity-bound: an overbooked product leaves deals short


def test_pacing_spreads_volume_and_catches_up():
    b = book([(PG, 5.0, 50)])
    b.deliver(0, np.array([0]))  # nothing available in hour 0
    _, lots = b.deliver(1, np.array([100]))
    assert lots.tolist() == [6]  # the 50 still owed, spread over the 9 hours left
    for t in range(2, 10):
        b.deliver(t, np.array([100]))
    assert b.field("delivered").tolist() == [50]


def test_paused_deals_do_not_deliver():
    b = book([(PG, 5.0, 50)])
    b.paused[0] = True
    ids, _ = b.deliver(0, np.array([100]))
    assert ids.size == 0

"""Booked direct deals (scenarios B and C) and their hourly delivery.

The deal book is the *true* state of every deal: the terms both parties agreed, what was
delivered, whether the buyer paused it. Agents never read it; they act on what they
remember (``memory``) or, in C, on the ledger. Publishers' ad servers read it to deliver:
each hour, each product's avails go to its live deals in priority order — programmatic
guaranteed first, then preferred deals, then private auctions by price — each deal asking
for its paced share of what remains (catching up if behind). Deals beyond the product's
real capacity (an overbooked seller) are the ones left short.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from admarket.market.allocation import fill_in_order

PG, PD, PA = 0, 1, 2

_INT_FIELDS = (
    "campaign",
    "buyer",
    "seller",
    "product",
    "dtype",
    "volume",
    "start",
    "end",
    "delivered",
    "day_delivered",
    "booked_step",
)
_FLOAT_FIELDS = ("price", "day_expected", "expected")


def owed_per_day(volume: Any, end: Any, t: int, steps_per_day: int) -> Any:
    """Lots per day still owed on ``volume`` lots due by step ``end``, seen at step ``t``.

    Works on scalars and arrays alike; a deal due within the hour counts as due within one
    step (never a division by zero or a negative rate)."""
    return volume / np.maximum((end - t) / steps_per_day, 1.0 / steps_per_day)


class DealBook:
    """Growable columnar store of deals with a vectorised delivery kernel."""

    # one column per deal attribute (the first ``n`` entries are live)
    campaign: np.ndarray
    buyer: np.ndarray
    seller: np.ndarray
    product: np.ndarray
    dtype: np.ndarray
    volume: np.ndarray
    start: np.ndarray
    end: np.ndarray
    delivered: np.ndarray
    day_delivered: np.ndarray
    booked_step: np.ndarray
    price: np.ndarray
    day_expected: np.ndarray
    expected: np.ndarray
    paused: np.ndarray

    def __init__(self, hour_weight: np.ndarray, cum_weight: np.ndarray, capacity: int = 256):
        self.n = 0
        self._cap = capacity
        for f in _INT_FIELDS:
            setattr(self, f, np.zeros(capacity, dtype=np.int64))
        for f in _FLOAT_FIELDS:
            setattr(self, f, np.zeros(capacity))
        self.paused = np.zeros(capacity, dtype=bool)
        self.hour_weight = hour_weight
        self.cum_weight = cum_weight

    def _grow(self) -> None:
        self._cap *= 2
        for f in (*_INT_FIELDS, *_FLOAT_FIELDS, "paused"):
            old = getattr(self, f)
            new = np.zeros(self._cap, dtype=old.dtype)
            new[: self.n] = old[: self.n]
            setattr(self, f, new)

    def book(
        self,
        *,
        campaign: int,
        buyer: int,
        seller: int,
        product: int,
        dtype: int,
        price: float,
        volume: int,
        start: int,
        end: int,
        step: int,
    ) -> int:
        """Record a booked deal and return its id (the seller mints it)."""
        if self.n == self._cap:
            self._grow()
        i = self.n
        self.campaign[i], self.buyer[i], self.seller[i] = campaign, buyer, seller
        self.product[i], self.dtype[i], self.price[i] = product, dtype, price
        self.volume[i], self.start[i], self.end[i], self.booked_step[i] = volume, start, end, step
        self.n += 1
        return i

    def live(self, t: int) -> np.ndarray:
        """Ids of deals that can deliver at step ``t``."""
        n = self.n
        return np.nonzero(
            ~self.paused[:n]
            & (self.start[:n] <= t)
            & (t < self.end[:n])
            & (self.delivered[:n] < self.volume[:n])
        )[0]

    def deliver(self, t: int, supply: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Serve step ``t`` from ``supply`` (lots per product); returns (deal ids, lots)."""
        ids = self.live(t)
        # expected (paced) delivery accrues for every deal in its window, live or not
        n = self.n
        window = (self.start[:n] <= t) & (t < self.end[:n])
        span = self.cum_weight[self.end[:n]] - self.cum_weight[self.start[:n]]
        share = np.where(window, self.hour_weight[t] / np.maximum(span, 1e-12), 0.0)
        inc = self.volume[:n] * share
        self.expected[:n] += inc
        self.day_expected[:n] += inc
        if ids.size == 0:
            return ids, ids
        remaining = self.volume[ids] - self.delivered[ids]
        rem_w = self.cum_weight[self.end[ids]] - self.cum_weight[t]
        # ceil of the paced share; the epsilon keeps float noise (10.000000001) from adding a lot
        want = np.ceil(remaining * self.hour_weight[t] / np.maximum(rem_w, 1e-12) - 1e-9).astype(
            np.int64
        )
        want = np.minimum(want, remaining)
        order = np.lexsort((ids, -self.price[ids], self.dtype[ids], self.product[ids]))
        ids, want = ids[order], want[order]
        got = fill_in_order(self.product[ids], want, supply)
        self.delivered[ids] += got
        self.day_delivered[ids] += got
        served = got > 0
        return ids[served], got[served]

    def active_count(self, t: int) -> int:
        """Deals whose window contains step ``t`` and that are not finished or paused."""
        return int(self.live(t).size)

    def field(self, name: str) -> np.ndarray:
        """A view of one column, trimmed to the booked deals."""
        return getattr(self, name)[: self.n]

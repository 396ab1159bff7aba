"""Second-price auctions with floors, one per lot, cleared for a whole hour at once (A).

Each hour every product's avails are sold lot by lot, each lot in its own sealed-bid
second-price auction: the highest bid at or above the floor wins and pays the larger of the
floor and the second-highest bid on that lot. Which campaigns bid on which lot is decided
by the exchange's pacing (see :mod:`admarket.agents.exchange`); this kernel only clears.
Every lot's top bid, tie-break and runner-up are found by scattering the hour's bids into
per-lot slots (``np.maximum.at`` and friends): no per-lot Python loop and no sort.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Clearing:
    """Result of clearing one batch of auctions: one row per lot sold."""

    winner: np.ndarray  # index of the winning bid in the caller's arrays
    price: np.ndarray  # clearing CPM: max(floor, second-highest bid on the lot)


def _dense_lots(lot: np.ndarray) -> tuple[np.ndarray, int]:
    """Lot ids as slots 0..n-1 in lot order: the ids themselves when they are small
    non-negative integers (an hour's lot numbers), else their ranks among the distinct ids."""
    if lot.dtype.kind in "iu" and int(lot.min()) >= 0 and int(lot.max()) < 4 * lot.size + 1024:
        return lot.astype(np.intp, copy=False), int(lot.max()) + 1
    ids, slot = np.unique(lot, return_inverse=True)
    return slot.astype(np.intp, copy=False), ids.size


class SecondPriceAuction:
    """Sealed-bid second-price auctions with floors, vectorised across lots."""

    def clear(
        self,
        lot: np.ndarray,
        bid: np.ndarray,
        floor: np.ndarray,
        tiebreak: np.ndarray | None = None,
    ) -> Clearing:
        """Clear every lot that received bids.

        ``lot`` names the lot each bid is for, ``bid`` its CPM and ``floor`` the floor of
        that lot (per bid); ``tiebreak`` orders equal bids (random, so no bidder is
        favoured): the lowest tie-break among the top bids wins, and on an exact tie of both
        the first such bid. Bids below the floor are not admitted and do not set prices.
        Winners come one per lot, in lot order.
        """
        ok = bid >= floor
        if not ok.any():
            return Clearing(np.zeros(0, dtype=np.int64), np.zeros(0))
        slot, n_slots = _dense_lots(lot)
        b = np.where(ok, bid, -np.inf)  # a bid not admitted can neither win nor set a price
        top = np.full(n_slots, -np.inf)
        np.maximum.at(top, slot, b)
        best = ok & (b == top[slot])
        tb = np.where(best, tiebreak if tiebreak is not None else 0.0, np.inf)
        low = np.full(n_slots, np.inf)
        np.minimum.at(low, slot, tb)
        best &= tb == low[slot]
        first = np.flatnonzero(best)
        win_of = np.full(n_slots, lot.size, dtype=np.intp)
        np.minimum.at(win_of, slot[first], first)
        sold = np.flatnonzero(win_of < lot.size)
        win = win_of[sold]
        b[win] = -np.inf  # the runner-up: the best of the rest
        second = np.full(n_slots, -np.inf)
        np.maximum.at(second, slot, b)
        n_bids = np.bincount(slot[ok], minlength=n_slots)[sold]
        f = floor[win]
        return Clearing(win.astype(np.int64), np.where(n_bids >= 2, np.maximum(second[sold], f), f))

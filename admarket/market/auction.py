"""Second-price auctions with floors, one per lot, cleared for a whole hour at once (A).

Each hour every product's avails are sold lot by lot, each lot in its own sealed-bid
second-price auction: the highest bid at or above the floor wins and pays the larger of the
floor and the second-highest bid on that lot. Which campaigns bid on which lot is decided
by the exchange's pacing (see :mod:`admarket.agents.exchange`); this kernel only clears.
Sorting all of the hour's bids by lot, then reducing each lot's run of bids, clears every
auction with no per-lot Python loop.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def _stable_order(keys: np.ndarray) -> np.ndarray:
    """``np.argsort(keys, kind="stable")`` for integer keys, 3× faster: sorting the values
    ``key × n + position`` (unique, so any sort order is the stable one) lets numpy's
    vectorised quicksort replace the stable argsort's indirect merge sort."""
    n = keys.size
    limit = (np.iinfo(np.int64).max - n) // max(n, 1)
    if n == 0 or keys.dtype.kind not in "iu" or max(-int(keys.min()), int(keys.max())) >= limit:
        return np.argsort(keys, kind="stable")  # not integers, or key × n would overflow
    composite = keys.astype(np.int64) * n
    composite += np.arange(n, dtype=np.int64)
    composite.sort()
    return composite % n


@dataclass(frozen=True)
class Clearing:
    """Result of clearing one batch of auctions: one row per lot sold."""

    winner: np.ndarray  # index of the winning bid in the caller's arrays
    price: np.ndarray  # clearing CPM: max(floor, second-highest bid on the lot)


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
        favoured). Bids below the floor are not admitted and do not set prices.
        """
        ok = np.nonzero(bid >= floor)[0]
        if ok.size == 0:
            return Clearing(np.zeros(0, dtype=np.int64), np.zeros(0))
        # One sort, by lot (stable: equal keys keep their order); then per lot the top bid,
        # the lowest tie-break among bids equal to it (the first such bid on an exact tie)
        # and the best of the rest — what sorting by (lot, −bid, tie-break) and taking each
        # lot's first two rows gives, 3× faster than that three-key lexsort.
        ok = ok[_stable_order(lot[ok])]
        lt, b = lot[ok], bid[ok]
        tb = tiebreak[ok] if tiebreak is not None else np.zeros(ok.size)
        first = np.empty(lt.size, dtype=bool)
        first[0] = True
        np.not_equal(lt[1:], lt[:-1], out=first[1:])
        start = np.flatnonzero(first)
        group = np.cumsum(first) - 1
        at_top = b == np.maximum.reduceat(b, start)[group]
        tb_top = np.where(at_top, tb, np.inf)
        best = np.flatnonzero(at_top & (tb_top == np.minimum.reduceat(tb_top, start)[group]))
        keep = np.ones(best.size, dtype=bool)
        np.not_equal(group[best[1:]], group[best[:-1]], out=keep[1:])
        win = best[keep]  # one per lot, in lot order
        rest = b.copy()
        rest[win] = -np.inf
        second = np.maximum.reduceat(rest, start)
        f = floor[ok[win]]
        n_bids = np.diff(np.append(start, lt.size))
        return Clearing(ok[win], np.where(n_bids >= 2, np.maximum(second, f), f))

"""Second-price auctions with floors, one per lot, cleared for a whole hour at once (A).

Each hour every product's avails are sold lot by lot, each lot in its own sealed-bid
second-price auction: the highest bid at or above the floor wins and pays the larger of the
floor and the second-highest bid on that lot. Which campaigns bid on which lot is decided
by the exchange's pacing (see :mod:`admarket.agents.exchange`); this kernel only clears.
Sorting all of the hour's bids by lot, then bid, clears every auction with no per-lot
Python loop.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


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
        lt, b, f = lot[ok], bid[ok], floor[ok]
        tb = tiebreak[ok] if tiebreak is not None else np.zeros(ok.size)
        order = np.lexsort((tb, -b, lt))  # by lot, then bid descending, then tie-break
        lt, b, f, ok = lt[order], b[order], f[order], ok[order]
        first = np.empty(lt.size, dtype=bool)
        first[0] = True
        np.not_equal(lt[1:], lt[:-1], out=first[1:])
        has_second = np.zeros(lt.size, dtype=bool)
        has_second[:-1] = first[:-1] & ~first[1:]  # the lot's next bid is its runner-up
        second = np.zeros(lt.size)
        second[:-1] = b[1:]
        price = np.where(has_second, np.maximum(second, f), f)
        return Clearing(ok[first], price[first])

"""Second-price auctions with floors, cleared for many lots at once (scenario A).

Each hour, each product's avails are sold lot by lot in second-price auctions. Bidders are
(campaign, product) entries with a per-lot bid (CPM) and a demand (lots they will buy this
hour, from their pacing budget). With truthful bids, selling the lots one after another
gives a closed form that numpy can clear for every product at once: the highest bidder
wins lots until its demand is met, paying the next-highest remaining bid (or the floor);
then the next bidder wins, paying the bid below it; and so on until supply runs out.
Every lot is therefore a genuine second-price auction among the bidders still in the
market, without a per-lot Python loop.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from admarket.allocation import fill_in_order


@dataclass(frozen=True)
class Clearing:
    """Result of clearing one batch of auctions: one row per winning entry."""

    entry: np.ndarray  # index into the caller's entry arrays
    lots: np.ndarray  # lots won
    price: np.ndarray  # clearing CPM (second price, at least the floor)


class SecondPriceAuction:
    """Sequential second-price auctions with floors over lots, vectorised across products."""

    def clear(
        self,
        product: np.ndarray,
        bid: np.ndarray,
        demand: np.ndarray,
        floor: np.ndarray,
        supply: np.ndarray,
        tiebreak: np.ndarray | None = None,
    ) -> Clearing:
        """Clear all products' lots this hour.

        ``product``, ``bid``, ``demand`` (and optional random ``tiebreak``) describe the bid
        entries; ``floor`` and ``supply`` are indexed by product. Bids below the floor are
        not admitted. A winner pays the highest bid below its own among admitted entries of
        the same product, or the floor when it is the last admitted bidder.
        """
        ok = (bid >= floor[product]) & (demand > 0)
        idx = np.nonzero(ok)[0]
        if idx.size == 0:
            empty = np.zeros(0, dtype=np.int64)
            return Clearing(empty, empty, np.zeros(0))
        p, b, d = product[idx], bid[idx], demand[idx]
        tb = tiebreak[idx] if tiebreak is not None else np.zeros(idx.size)
        order = np.lexsort((tb, -b, p))  # by product, then bid descending, then tie-break
        p, b, d, idx = p[order], b[order], d[order], idx[order]
        won = fill_in_order(p, d, supply)
        # Runner-up: the next entry in the same product group, else the floor.
        f = floor[p]
        price = f.copy()
        same_next = p[1:] == p[:-1]
        price[:-1] = np.where(same_next, np.maximum(b[1:], f[:-1]), f[:-1])
        win = won > 0
        return Clearing(idx[win], won[win].astype(np.int64), price[win])

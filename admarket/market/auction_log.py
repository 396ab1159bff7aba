"""A sample of scenario A's lot auctions, written out one by one for the event log.

The exchange clears hundreds of thousands of lot auctions a run, so it books them in
aggregate (one transaction row per campaign, product and hour). To let a reader follow the
exchange transaction by transaction — who bid what, the floor, who won, the second price
it paid and the fee the exchange kept — a share ``auction_log_rate`` of the cleared lots is
written out in full. Which lots are drawn from a random stream of its own
(:data:`admarket.streams.AUCTION_LOG`), so logging more or fewer auctions changes no other
number of the run.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from admarket.market.accounting import cents, split_fees
from admarket.market.auction import Clearing


def sample_lot_auctions(
    rng: np.random.Generator,
    rate: float,
    *,
    lot: np.ndarray,
    bid: np.ndarray,
    floor: np.ndarray,
    campaign: np.ndarray,
    product: np.ndarray,
    clearing: Clearing,
    lot_size: int,
    fee_rates: dict[str, float],
    seller_of_product: np.ndarray,
    buyer_of_campaign: np.ndarray,
) -> list[dict[str, Any]]:
    """Event fields of the sampled lot auctions of one hour (an empty list at rate 0).

    ``lot``, ``bid``, ``floor``, ``campaign`` and ``product`` describe every bid of the hour
    (one entry per bid, as given to :meth:`SecondPriceAuction.clear`); ``clearing`` is its
    result. One uniform draw per cleared lot decides whether that lot is logged.
    """
    n = clearing.winner.size
    if rate <= 0 or n == 0:
        return []
    picked = np.nonzero(rng.random(n) < rate)[0]
    if picked.size == 0:
        return []
    # the bids on the picked lots only (one pass over the hour's bids, no sort of them all),
    # grouped by lot, each lot's bids in arrival order
    on_picked = np.flatnonzero(np.isin(lot, lot[clearing.winner[picked]]))
    on_picked = on_picked[np.argsort(lot[on_picked], kind="stable")]
    sorted_lots = lot[on_picked]
    # what every picked lot needs, found for all of them at once (per lot, numpy's cost on
    # one-element arrays was most of the loop); elementwise, so the same values
    wins = clearing.winner[picked]
    firsts = np.searchsorted(sorted_lots, lot[wins], "left")
    ends = np.searchsorted(sorted_lots, lot[wins], "right")
    gross = cents(clearing.price[picked], np.ones(picked.size), lot_size)
    fees, net = split_fees(gross, fee_rates)
    out = []
    for j, k in enumerate(picked.tolist()):
        w = int(wins[j])
        bids = on_picked[firsts[j] : ends[j]]
        bids = bids[np.argsort(-bid[bids], kind="stable")]
        price = float(clearing.price[k])
        bid_cpm = bid[bids]
        admitted = bid_cpm >= floor[w]
        runner_up = bid_cpm[admitted][1:2]
        rule = "second price" if runner_up.size and runner_up[0] >= floor[w] else "floor"
        c, p = int(campaign[w]), int(product[w])
        bidders = campaign[bids]
        out.append(
            {
                "product": p,
                "seller": int(seller_of_product[p]),
                "floor_cpm": round(float(floor[w]), 4),
                "bids": [
                    {"campaign": b, "buyer": by, "bid_cpm": round(v, 4), "admitted": ok}
                    for b, by, v, ok in zip(
                        bidders.tolist(),
                        buyer_of_campaign[bidders].tolist(),
                        bid_cpm.tolist(),
                        admitted.tolist(),
                        strict=True,
                    )
                ],
                "winner_campaign": c,
                "winner_buyer": int(buyer_of_campaign[c]),
                "clearing_cpm": round(price, 4),
                "price_rule": rule,
                "impressions": int(lot_size),
                "buyer_spend": int(gross[j]) / 100,
                "fees": {name: int(v[j]) / 100 for name, v in fees.items()},
                "seller_revenue": int(net[j]) / 100,
            }
        )
    return out

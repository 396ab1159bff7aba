"""The exchange (scenario A only): buyers' bids meet sellers' avails, for a fee.

Each hour the exchange runs second-price auctions with the sellers' floors over every
product's lots. Campaigns bid up to their max CPM, scaled by how well the product's
audience matches theirs, for as many lots as their pacing budget allows this hour (spread
over the products they can buy). The exchange deducts its fee stack (exchange/SSP, and for
calibrated presets DSP, ad tech and the unknown delta) from the buyer's gross spend and
forwards the rest to the seller. Its database of spend and delivery is exact: buyers in A
read it rather than remember.
"""

from __future__ import annotations

import numpy as np
from mesa import Agent

from admarket.accounting import cents, split_fees
from admarket.auction import SecondPriceAuction
from admarket.streams import AUCTION, stream


class ExchangeAgent(Agent):
    """The ad exchange with its fee stack and its central database."""

    kind = "exchange"

    def __init__(self, model):
        super().__init__(model)
        self.name = "exchange-0"
        mk, cfg = model.market, model.config
        self.auction = SecondPriceAuction()
        self._tiebreak_rng = stream(cfg.seed, AUCTION)
        self.fee_rates = {
            "exchange_fee": cfg.exchange_fee,
            "dsp_fee": cfg.dsp_fee,
            "adtech_fee": cfg.adtech_fee,
            "unknown_delta": cfg.unknown_delta,
        }
        # every (campaign, product) pair that could trade: channel and audience match
        self.pair_c, self.pair_p = np.nonzero(mk.eligible)
        self.pair_bid = mk.max_cpm[self.pair_c] * (
            0.7 + 0.3 * mk.coverage[self.pair_c, self.pair_p]
        )
        lot = cfg.lot_size
        self.budget_cents = np.rint(mk.budget * 100).astype(np.int64)
        # cents per lot at a campaign's highest bid, rounded up: demand never overspends
        max_bid = np.zeros(mk.n_campaigns)
        np.maximum.at(max_bid, self.pair_c, self.pair_bid)
        self.lot_cost_cap = np.ceil(max_bid * 100 * lot / 1000).astype(np.int64)
        self.cleared_lots = 0

    def clear_hour(self) -> None:
        """Pace every live campaign, clear this hour's auctions and settle them."""
        m, mk, cfg = self.model, self.model.market, self.model.config
        t, acc = m.t, m.accounts
        live = (
            (mk.start_step <= t)
            & (t < mk.end_step)
            & ~m.campaign_stopped
            & (acc.spent < self.budget_cents)
        )
        if not live.any():
            return
        # Pacing: spend up to the budget share of the flight's traffic through this hour.
        span = mk.cum_weight[mk.end_step] - mk.cum_weight[mk.start_step]
        frac = np.clip((mk.cum_weight[t + 1] - mk.cum_weight[mk.start_step]) / span, 0, 1)
        allowance = np.minimum(
            np.floor(self.budget_cents * frac) - acc.spent, self.budget_cents - acc.spent
        )
        lots_c = np.where(
            live & (self.lot_cost_cap > 0),
            np.maximum(allowance, 0) // np.maximum(self.lot_cost_cap, 1),
            0,
        )
        lots_c = lots_c.astype(np.int64)
        sel = lots_c[self.pair_c] > 0
        pc, pp, bid = self.pair_c[sel], self.pair_p[sel], self.pair_bid[sel]
        if pc.size == 0:
            return
        supply = mk.hourly_avails[:, t]
        # spread each campaign's lots over its products in proportion to their supply
        w = supply[pp].astype(float)
        tot = np.bincount(pc, weights=w, minlength=mk.n_campaigns)
        demand = np.floor(lots_c[pc] * w / np.maximum(tot[pc], 1)).astype(np.int64)
        # the lots lost to rounding go to each campaign's largest-supply product
        short = lots_c - np.bincount(pc, weights=demand, minlength=mk.n_campaigns).astype(np.int64)
        order = np.lexsort((-w, pc))
        first = order[np.r_[True, pc[order][1:] != pc[order][:-1]]]
        demand[first] += short[pc[first]]
        res = self.auction.clear(
            pp, bid, demand, mk.floor_cpm, supply, tiebreak=self._tiebreak_rng.random(pc.size)
        )
        if res.entry.size == 0:
            return
        c, p, lots, price = pc[res.entry], pp[res.entry], res.lots, res.price
        gross = cents(price, lots, cfg.lot_size)
        fees, net = split_fees(gross, self.fee_rates)
        s = mk.product_seller[p]
        np.add.at(acc.spent, c, gross)
        np.add.at(acc.delivered, c, lots)
        np.add.at(acc.delivered_pc, (c, p), lots)
        acc.record(
            step=t,
            kind="auction",
            campaign=c,
            buyer=mk.campaign_buyer[c],
            seller=s,
            product=p,
            deal=np.full(c.size, -1),
            lots=lots,
            cpm=price,
            gross=gross,
            fees=fees,
            net=net,
            value=gross,
            lot_size=cfg.lot_size,
        )
        self.cleared_lots += int(lots.sum())
        m.add_flow(mk.campaign_buyer[c], s, gross, net)
        m.events.count("auction_wins", int(c.size))

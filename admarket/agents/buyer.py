"""Buyer agents: advertisers (or their agencies) running campaigns.

A buyer owns campaigns (budget, flight, primary KPI, target and max CPM, channels,
audience). In scenario A it leaves pacing and bidding to the exchange path and only checks
each morning, from the exchange's records, whether a campaign has spent its budget or met
its goal. In B and C it trades directly: each morning, per campaign, it recalls what it has
spent and committed, and while budget is left uncommitted it discovers
sellers on the market graph, asks for quotes, ranks them (60% price, 20% deal type, 20%
expected fill), negotiates with the best and books deals until the need, the budget or its
deal slots run out. It pauses every deal it knows of once it believes the budget is spent.
"""

from __future__ import annotations

import math
from functools import partial

from admarket.agents.policy import NegotiationContext
from admarket.agents.trader import TraderAgent
from admarket.config import TIERS
from admarket.market.deals import PA
from admarket.market.pricing import (
    DEAL_TYPE_SCORE,
    DEAL_TYPES,
    PA_COMPARE_MARKUP,
    TIER_TERMS,
    deal_terms,
)


class BuyerAgent(TraderAgent):
    """An advertiser's buying agent."""

    kind = "buyer"

    def __init__(self, model, index: int):
        super().__init__(model, index)
        mk = model.market
        self.tier = TIERS[int(mk.buyer_tier[index])]
        self.campaigns = [int(c) for c in (mk.campaign_buyer == index).nonzero()[0]]

    # --- the morning plan -------------------------------------------------------------
    def plan_day(self) -> None:
        """Review every live campaign; in B/C book new deals where a campaign needs them."""
        m, mk = self.model, self.model.market
        t = m.t
        for c in self.campaigns:
            if not (mk.start_step[c] <= t < mk.end_step[c]) or m.campaign_stopped[c]:
                continue
            dec = m.claims.new_decision(self.name, "plan", t)
            spent = self.recall(
                f"campaign:{c}:spent",
                "spend",
                dec,
                partial(self.reconstruct_spent, c, dec),
            )
            if spent >= mk.budget[c] - 0.005:
                self._stop(c, "budget spent")
            elif m.agents_hold_state:
                self._plan_direct(c, dec, spent)

    def _plan_direct(self, c: int, dec: int, spent: float) -> None:
        m, mk, cfg = self.model, self.model.market, self.model.config
        t, lot = m.t, cfg.lot_size
        committed_value = 0.0
        live = 0
        for d in self.known_deals(c):
            end = self.deal_fact(d, c, "end", "terms", dec)
            if end <= t:
                continue
            volume = self.deal_fact(d, c, "volume", "volume", dec)
            done = self.deal_fact(d, c, "delivered", "delivery", dec)
            if done >= volume:
                continue
            price = self.deal_fact(d, c, "price", "price", dec)
            committed_value += (volume - done) * price * lot / 1000.0
            live += 1
        # Buyers aim to deliver their budget over the flight (the impression target is a
        # KPI, not a stop): what is left to place is what the uncommitted budget buys at
        # the target CPM.
        headroom = mk.budget[c] - spent - committed_value
        need = math.floor(headroom / (mk.target_cpm[c] * lot / 1000.0))
        slots = cfg.max_deals_per_campaign - live
        if need * lot < cfg.min_deal_impressions or slots <= 0:
            return
        self._seek_deals(c, dec, need, headroom, slots)

    def _seek_deals(self, c: int, dec: int, need: int, headroom: float, slots: int) -> None:
        m, mk, cfg = self.model, self.model.market, self.model.config
        t, lot = m.t, cfg.lot_size
        products = m.candidate_products(c)
        if not products:
            return
        days = (mk.end_step[c] - t) / cfg.steps_per_day
        options = []
        for p in products:
            seller = m.sellers[int(mk.product_seller[p])]
            quote = seller.quote(self.tier, p, need * lot)
            for dtype, name in enumerate(DEAL_TYPES):
                ask, floor = deal_terms(name, quote, float(mk.floor_cpm[p]))
                if floor > mk.max_cpm[c]:
                    continue  # the seller cannot go low enough for this campaign
                eff = ask * PA_COMPARE_MARKUP if dtype == PA else ask
                options.append((p, seller, dtype, ask, floor, eff))
        if not options:
            return
        best = min(o[5] for o in options)
        fills = {o[1].index: 0.0 for o in options}
        for s in fills:
            fills[s] = self._expected_fill(s, dec)
        scored = sorted(
            options,
            key=lambda o: (
                -(
                    0.6 * best / o[5]
                    + 0.2 * DEAL_TYPE_SCORE[DEAL_TYPES[o[2]]] / 100
                    + 0.2 * fills[o[1].index]
                ),
                o[0],
                o[2],
            ),
        )
        tried: set[int] = set()
        terms = TIER_TERMS[self.tier]
        for p, seller, dtype, ask, floor, _ in scored:
            if slots <= 0 or need * lot < cfg.min_deal_impressions or headroom <= 0:
                break
            if p in tried:
                continue
            tried.add(p)
            avails = seller.offer_avails(p, days, need)
            if avails * lot < cfg.min_deal_impressions:
                continue
            target, max_cpm = float(mk.target_cpm[c]), float(mk.max_cpm[c])
            ctx = NegotiationContext(c, p, DEAL_TYPES[dtype], ask, floor, target, max_cpm, terms)
            outcome = self.policy.negotiate(self, seller, ctx)  # rules: market.negotiation
            m.log_negotiation(self, seller, c, p, DEAL_TYPES[dtype], ask, outcome)
            if not outcome.agreed:
                continue
            per_lot = outcome.price * lot / 1000.0
            volume = min(need, avails, int(headroom // per_lot))
            if volume * lot < cfg.min_deal_impressions:
                continue
            end = int(mk.end_step[c])
            d = seller.book(self, c, p, dtype, outcome.price, volume, t, end)
            for attr, value in (
                ("price", outcome.price),
                ("volume", volume),
                ("delivered", 0.0),
                ("start", t),
                ("end", end),
            ):
                self.remember(f"deal:{d}:{attr}", float(value), "deal", c)
            need -= volume
            headroom -= volume * per_lot
            slots -= 1

    # --- what the buyer knows -----------------------------------------------------------
    def listed_deals(self, c: int) -> list[int] | None:
        """Deals of campaign ``c`` as the shared records list them (C), or None (B)."""
        return self.model.records.deals_of_campaign(c)

    def reconstruct_deal(self, d: int, c: int, attr: str, dec: int) -> float:
        """Best guess from what is still held: the brief's numbers, or on-pace delivery."""
        mk, lot = self.model.market, self.model.config.lot_size
        if attr == "price":
            return float(mk.target_cpm[c])  # "I must have got about my target"
        if attr == "end":
            return float(mk.end_step[c])
        if attr == "start":
            return float(mk.start_step[c])
        if attr == "volume":
            return float(
                mk.target_impressions[c] // lot // self.model.config.max_deals_per_campaign
            )
        start = self.deal_fact(d, c, "start", "terms", dec)
        end = self.deal_fact(d, c, "end", "terms", dec)
        volume = self.deal_fact(d, c, "volume", "volume", dec)
        elapsed = min(1.0, max(0.0, (self.model.t - start) / max(1.0, end - start)))
        return float(math.floor(volume * elapsed))

    def reconstruct_spent(self, c: int, dec: int) -> float:
        lot = self.model.config.lot_size
        return sum(
            self.deal_fact(d, c, "delivered", "delivery", dec)
            * self.deal_fact(d, c, "price", "price", dec)
            * lot
            / 1000.0
            for d in self.known_deals(c)
        )

    def _expected_fill(self, s: int, dec: int) -> float:
        """Share of paced delivery seller ``s`` has actually delivered to this buyer."""
        b = self.index
        keys = (f"hist:{b}:{s}:expected", f"hist:{b}:{s}:delivered")
        exp, got = (self.recall(k, "delivery", dec, lambda: 0.0) for k in keys)
        prior = self.model.config.expected_fill

        def ratio(e: float, g: float) -> float:
            return min(1.0, g / e) if e > 0 else prior

        def from_ledger() -> float:
            e, g = (self.model.records.value(k) for k in keys)
            return ratio(e or 0.0, g or 0.0)

        return self.believe(dec, "history", f"fill:{b}:{s}", ratio(exp, got), from_ledger)

    def _stop(self, c: int, reason: str) -> None:
        """Stop campaign ``c``: pause every deal the buyer still knows of."""
        m = self.model
        m.campaign_stopped[c] = True
        known = self.known_deals(c) if m.agents_hold_state else []
        for d in known:
            m.book.paused[d] = True
        m.events.emit(
            m.t,
            "campaign_stopped",
            agent=self.name,
            campaign=c,
            reason=reason,
            deals_paused=len(known),
        )

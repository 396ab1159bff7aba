"""Buyer agents: advertisers (or their agencies) running campaigns.

A buyer owns campaigns (budget, flight, primary KPI, target and max CPM, channels,
audience). In scenario A it leaves pacing and bidding to the exchange path and only checks
each morning, from the exchange's records, whether a campaign has spent its budget or met
its goal. In B and C it trades directly: each morning, per campaign, it recalls what it has
spent, delivered and committed, and while budget is left uncommitted it discovers sellers
on the market graph, asks for quotes, ranks them (60% price, 20% deal type, 20% expected
fill) and works down the list: it negotiates a guaranteed deal (PG) where the seller has
avails, takes a preferred deal (PD) at the seller's fixed price if that is within its
limit, or bids in the seller's private auction (PA) if invited — until the need, the
budget or its deal slots run out. It pauses every deal it knows of once it believes the
budget is spent.

What it will pay comes from the campaign's economics (:meth:`BuyerAgent.reservation`): the
price at which the budget left still buys the impressions still needed, raised toward the
max CPM as the flight runs out. A buyer that misremembers its spend or its deals
misjudges both, and pays for it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, NamedTuple

from admarket.agents.policy import NegotiationContext
from admarket.agents.trader import TraderAgent
from admarket.config import TIERS
from admarket.market.deals import PA, PD, PG
from admarket.market.negotiation import BuyerStance
from admarket.market.pricing import (
    DEAL_TYPE_SCORE,
    DEAL_TYPES,
    PA_COMPARE_MARKUP,
    TIER_TERMS,
)

if TYPE_CHECKING:  # pragma: no cover
    from admarket.agents.seller import SellerAgent


@dataclass
class _Need:
    """What a campaign still has to place this morning (updated as deals are made)."""

    lots: int  # lots the budget left would buy at the target CPM
    headroom: float  # USD of budget not spent or committed
    slots: int  # deals it may still open
    short: float  # lots still missing from the impression goal (delivered + committed)
    dec: int  # the morning's decision the claims are filed under


class _Option(NamedTuple):
    """One (product, deal type) a seller offers, with its asking price and floor."""

    product: int
    seller: SellerAgent
    dtype: int
    ask: float
    floor: float
    score: float


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
        committed_value = committed = delivered = 0.0
        live = 0
        for d in self.known_deals(c):
            end = self.deal_fact(d, c, "end", "terms", dec)
            volume = self.deal_fact(d, c, "volume", "volume", dec)
            done = self.deal_fact(d, c, "delivered", "delivery", dec)
            delivered += min(done, volume)
            if end <= t or done >= volume:
                continue
            price = self.deal_fact(d, c, "price", "price", dec)
            committed_value += (volume - done) * price * lot / 1000.0
            committed += volume - done
            live += 1
        # Buyers aim to deliver their budget over the flight (the impression target is a
        # KPI, not a stop): what is left to place is what the uncommitted budget buys at
        # the target CPM.
        headroom = mk.budget[c] - spent - committed_value
        lots = math.floor(headroom / (mk.target_cpm[c] * lot / 1000.0))
        slots = cfg.max_deals_per_campaign - live
        if lots * lot < cfg.min_deal_impressions or slots <= 0:
            return
        short = mk.target_impressions[c] / lot - delivered - committed
        self._seek_deals(c, _Need(lots, headroom, slots, short, dec))

    def reservation(self, c: int, need: _Need) -> float:
        """The most campaign ``c`` can pay per 1,000 impressions now.

        While its impression goal is short, the price at which the budget left buys the
        impressions still needed, raised toward the max CPM in proportion to the flight
        elapsed (pacing pressure: late in the flight, delivering matters more than price);
        once the goal is covered, the target CPM. Never above the max CPM.
        """
        mk, lot, t = self.model.market, self.model.config.lot_size, self.model.t
        cap, target = float(mk.max_cpm[c]), float(mk.target_cpm[c])
        if need.short * lot < 1.0:
            return min(cap, target)
        afford = max(0.0, need.headroom) / (need.short * lot / 1000.0)
        start, end = int(mk.start_step[c]), int(mk.end_step[c])
        elapsed = min(1.0, max(0.0, (t - start) / max(1, end - start)))
        return min(cap, afford + elapsed * max(0.0, cap - afford))

    def _stance(self, c: int, need: _Need) -> BuyerStance:
        cfg, mk = self.model.config, self.model.market
        return BuyerStance(
            float(mk.target_cpm[c]), self.reservation(c, need), cfg.buyer_rounds, cfg.buyer_rule
        )

    def _options(self, c: int, need: _Need, stance: BuyerStance) -> list[_Option]:
        """Every deal the buyer's graph neighbours offer campaign ``c``, best first.

        Options even the seller's largest concession (its tier's public total cap) cannot
        bring within the buyer's limit are left out, as are private auctions the buyer is
        not invited to or whose floor is above its limit.
        """
        m, lot = self.model, self.model.config.lot_size
        raw = []
        limit, impressions = stance.limit, need.lots * lot
        for p in m.candidate_products(c):
            seller = m.sellers[m.seller_of[p]]
            tier = seller.tier_for(self)
            (pg, pg_fl), (pd, pd_fl), (pa, pa_fl) = seller.deal_offers(p, tier, impressions)
            if not pg * (1 - TIER_TERMS[tier].total_cap) > limit:
                raw.append((p, seller, PG, pg, pg_fl, pg))
            if not pd > limit:
                raw.append((p, seller, PD, pd, pd_fl, pd))
            if not (pa_fl > limit or not seller.invites(tier)):
                raw.append((p, seller, PA, pa, pa_fl, pa * PA_COMPARE_MARKUP))
        if not raw:
            return []
        best = min(o[5] for o in raw)
        fills: dict[int, float] = {}
        for o in raw:  # in option order, so the claims are filed deterministically
            if o[1].index not in fills:
                fills[o[1].index] = self._expected_fill(o[1].index, need.dec)
        out = [
            _Option(
                p,
                s,
                dt,
                ask,
                fl,
                0.6 * best / eff
                + 0.2 * DEAL_TYPE_SCORE[DEAL_TYPES[dt]] / 100
                + 0.2 * fills[s.index],
            )
            for p, s, dt, ask, fl, eff in raw
        ]
        return sorted(out, key=lambda o: (-o.score, o.product, o.dtype))

    def _seek_deals(self, c: int, need: _Need) -> None:
        """Work down the ranked options: one deal (or one private-auction bid) per product."""
        cfg, lot = self.model.config, self.model.config.lot_size
        done: set[int] = set()
        # the stance is a function of what is short and the headroom (this campaign, now):
        # built again only when a placed deal has changed them
        stance, basis = self._stance(c, need), (need.short, need.headroom)
        for o in self._options(c, need, stance):
            if need.slots <= 0 or need.lots * lot < cfg.min_deal_impressions or need.headroom <= 0:
                break
            if o.product in done:
                continue
            if (need.short, need.headroom) != basis:
                stance, basis = self._stance(c, need), (need.short, need.headroom)
            placed = (self._negotiate_pg, self._take_pd, self._bid_pa)[o.dtype](c, o, need, stance)
            if placed:
                done.add(o.product)
                need.slots -= 1

    def _days_left(self, c: int) -> float:
        return (self.model.market.end_step[c] - self.model.t) / self.model.config.steps_per_day

    def _volume(self, c: int, need: _Need, avails: int, price: float) -> int:
        """Lots to book at ``price``: no more than needed, offered or affordable — keeping
        back a cent per day of the deal for the rounding of its daily invoices."""
        per_lot = price * self.model.config.lot_size / 1000.0
        reserve = 0.01 * math.ceil(self._days_left(c))
        return int(max(0, min(need.lots, avails, (need.headroom - reserve) // per_lot)))

    def _book(self, c: int, o: _Option, need: _Need, price: float, avails: int) -> bool:
        """Book a PG or PD deal at ``price`` for as much as the need, avails and budget allow."""
        m, mk, lot = self.model, self.model.market, self.model.config.lot_size
        volume = self._volume(c, need, avails, price)
        if volume * lot < m.config.min_deal_impressions:
            return False
        end = int(mk.end_step[c])
        d = o.seller.book(self, c, o.product, o.dtype, price, volume, m.t, end)
        self.remember_deal(d, c, price, volume, m.t, end)
        need.lots -= volume
        need.headroom -= volume * price * lot / 1000.0
        need.short -= volume
        return True

    def _negotiate_pg(self, c: int, o: _Option, need: _Need, stance: BuyerStance) -> bool:
        avails = o.seller.offer_avails(o.product, self._days_left(c), need.lots)
        if avails * self.model.config.lot_size < self.model.config.min_deal_impressions:
            return False
        terms = TIER_TERMS[o.seller.tier_for(self)]
        ctx = NegotiationContext(c, o.product, "PG", o.ask, o.floor, stance, terms)
        outcome = self.policy.negotiate(self, o.seller, ctx)  # rules: market.negotiation
        self.model.negotiations.bargain(
            self, o.seller, c, o.product, o.ask, o.floor, stance, outcome
        )
        return outcome.agreed and self._book(c, o, need, outcome.price, avails)

    def _take_pd(self, c: int, o: _Option, need: _Need, stance: BuyerStance) -> bool:
        """A preferred deal: the seller's fixed price, taken as it is if within the limit."""
        if not stance.accepts(o.ask):
            return False
        avails = o.seller.open_avails(o.product, self._days_left(c))
        lot, least = self.model.config.lot_size, self.model.config.min_deal_impressions
        if self._volume(c, need, avails, o.ask) * lot < least:
            return False
        self.model.negotiations.fixed_price(self, o.seller, c, o.product, o.ask, stance)
        return self._book(c, o, need, o.ask, avails)

    def _bid_pa(self, c: int, o: _Option, need: _Need, stance: BuyerStance) -> bool:
        """A sealed bid at the buyer's limit (truthful in a second-price auction); the budget
        it could cost is held back until the seller clears the auction."""
        lot = self.model.config.lot_size
        bid = round(stance.limit, 2)
        if bid < o.floor:
            return False
        volume = self._volume(c, need, o.seller.open_avails(o.product, self._days_left(c)), bid)
        if volume * lot < self.model.config.min_deal_impressions:
            return False
        o.seller.bid_private_auction(self, c, o.product, bid, volume)
        need.lots -= volume
        need.headroom -= volume * bid * lot / 1000.0
        need.short -= volume
        return True

    def remember_deal(
        self, d: int, c: int, price: float, volume: int, start: int, end: int
    ) -> None:
        """Hold a booked deal's terms in memory (filed under its campaign)."""
        for attr, value in (
            ("price", price),
            ("volume", volume),
            ("delivered", 0.0),
            ("start", start),
            ("end", end),
        ):
            self.remember(f"deal:{d}:{attr}", float(value), "deal", c)

    def agreed_terms(
        self, price: float, volume: int, start: int, end: int, dtype: int
    ) -> dict[str, float]:
        """The deal terms as this buyer holds them at booking (what it co-signs): the same
        fields the seller signs, so a co-sign fails only when the two views really differ."""
        return {
            "price": price,
            "volume": float(volume),
            "delivered": 0.0,
            "start": float(start),
            "end": float(end),
            "dtype": float(dtype),
        }

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

        def from_ledger() -> float | None:
            records, t = self.model.records, self.model.t
            if not records.reachable(self.name, f"fill:{b}:{s}", t):
                return None  # no answer: the buyer goes by what it holds
            if any(records.behind(k) for k in keys):
                return None  # the ledger is behind its books: nothing to check against
            e, g = (records.value(k) for k in keys)
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

"""Seller agents: publishers selling inventory per channel (display, video, CTV, native).

A seller prices quotes by the buyer's identity tier and volume, sets its floor from what it
believes it has sold, the time left and the buyer's tier (:func:`~admarket.market.pricing.
seller_floor`), offers guaranteed (PG) avails up to what it believes is still uncommitted,
sells preferred deals (PD) at a fixed price and runs private auctions (PA) among the buyers
it invites, mints deal ids on booking and invoices what its ad server delivered at the price
it remembers. Only PG deals reserve inventory. Its view of what is committed is rebuilt
each morning from the deals it remembers (B) or from the ledger (C): a seller that forgot a
commitment oversells — the deals beyond its real capacity under-deliver — and, believing
its product emptier than it is, prices it too low. In scenario A it sells through the
exchange and takes no decisions here.
"""

from __future__ import annotations

import math

from admarket.agents.trader import TraderAgent
from admarket.config import TIERS
from admarket.market.deals import PA, PG, owed_per_day
from admarket.market.pricing import (
    DEAL_TYPES,
    PA_MIN_TIER,
    TIER_TERMS,
    deal_terms,
    quote_price,
    seller_floor,
    volume_discount,
)


class SellerAgent(TraderAgent):
    """A publisher's selling agent."""

    kind = "seller"
    stream_offset = 1_000_000

    def __init__(self, model, index: int):
        super().__init__(model, index)
        mk = model.market
        self.products = [int(p) for p in (mk.product_seller == index).nonzero()[0]]
        self.committed_rate = dict.fromkeys(self.products, 0.0)  # believed lots/day owed
        # the same, per the ledger (C); None when the seller's query got no answer
        self.ledger_rate: dict[int, float | None] = dict.fromkeys(self.products, 0.0)
        self.pa_bids: dict[int, list[tuple[float, int, int, int]]] = {}  # p → (bid, c, b, lots)
        self.distrusted: set[str] = set()  # buyers that left a dispute of ours unpaid
        self._settlements_seen = 0
        # (product, tier, volume discount) -> (step, committed rate, deal_offers' answer)
        self._offers: dict[tuple[int, str, float], tuple[int, float, tuple]] = {}

    # --- the morning inventory view ------------------------------------------------------
    def refresh_inventory_view(self) -> None:
        """Recompute, per product, the daily volume the seller believes it still owes, and
        note buyers that left one of its invoices unpaid in an unresolved dispute."""
        m = self.model
        if m.config.trust_cap:
            self.distrusted.update(m.unpaid_disputes(self._settlements_seen).get(self.name, ()))
        self._settlements_seen = len(m.settlements)
        for p in self.products:
            dec = m.claims.new_decision(self.name, "inventory_view", m.t)
            self.committed_rate[p] = self._committed_rate(p, dec)
            if m.verify_with_ledger:
                self.ledger_rate[p] = self._ledger_committed_rate(p)

    def _committed_rate(self, p: int, dec: int) -> float:
        m, spd = self.model, self.model.config.steps_per_day
        rate = 0.0
        for d in self.known_deals(p):
            end = self.deal_fact(d, p, "end", "terms", dec)
            if end <= m.t or self.deal_fact(d, p, "dtype", "terms", dec) != PG:
                continue  # over, or unreserved (PD, PA)
            volume = self.deal_fact(d, p, "volume", "volume", dec)
            done = self.deal_fact(d, p, "delivered", "delivery", dec)
            if done < volume:
                rate += owed_per_day(volume - done, end, m.t, spd)
        return rate

    def listed_deals(self, p: int) -> list[int] | None:
        """Deals on product ``p`` as the shared records list them (C), or None (B)."""
        return self.model.records.deals_of_product(p)

    def reconstruct_deal(self, d: int, p: int, attr: str, dec: int) -> float:
        """Best guess from what is still held, when a deal fact is lost (B)."""
        m, spd = self.model, self.model.config.steps_per_day
        if attr == "price":
            return float(m.market.base_cpm[p])  # the rate card: what it would have asked
        if attr == "end":
            return float(m.t + spd)  # "it must be ending about now"
        if attr == "start":
            return float(max(0, m.t - spd))
        if attr == "volume":  # no record of what is still owed beyond what was delivered
            return self.deal_fact(d, p, "delivered", "delivery", dec)
        return 0.0  # delivered: no record of delivery; dtype: "it must have been guaranteed"

    # --- selling -------------------------------------------------------------------------------
    def quote(self, tier: str, p: int, impressions: int) -> float:
        """Tier- and volume-priced CPM for product ``p`` (the rate card, not memory)."""
        return quote_price(float(self.model.market.base_cpm[p]), tier, impressions)

    def floor_for(self, p: int, tier: str) -> float:
        """This seller's floor on ``p`` for a buyer of ``tier`` now: from its believed
        sell-through, the share of the selling period gone and the tier."""
        m, cfg = self.model, self.model.config
        cap = float(m.market.daily_avails[p]) * cfg.sellable_share
        return seller_floor(
            float(m.market.floor_cpm[p]),
            tier,
            self.committed_rate[p] / cap,
            m.t / cfg.steps,
            fill_sensitivity=cfg.floor_fill_sensitivity,
            late_discount=cfg.floor_late_discount,
        )

    def deal_offers(
        self, p: int, tier: str, impressions: int
    ) -> tuple[tuple[float, float], tuple[float, float], tuple[float, float]]:
        """(asking price, floor) of a PG, a PD and a PA deal on ``p`` for a buyer of ``tier``
        asking for ``impressions``: :func:`deal_terms` of :meth:`quote` and
        :meth:`floor_for`, in :data:`DEAL_TYPES` order.

        The answer is a function of the product, the tier, the volume discount, the step
        and the rate the seller believes committed on ``p``, so it is kept and given again
        while those are unchanged: every campaign on the market asks each morning.
        """
        vd = volume_discount(impressions) if TIER_TERMS[tier].volume_discounts else 0.0
        t, rate = self.model.t, self.committed_rate[p]
        kept = self._offers.get((p, tier, vd))
        if kept is not None and kept[0] == t and kept[1] == rate:
            return kept[2]
        quote, floor = self.quote(tier, p, impressions), self.floor_for(p, tier)
        pg, pd, pa = (deal_terms(name, quote, floor) for name in DEAL_TYPES)
        self._offers[p, tier, vd] = (t, rate, (pg, pd, pa))
        return pg, pd, pa

    def tier_for(self, buyer) -> str:
        """The identity tier this seller grants ``buyer``: its own, capped by trust (IAB
        seller agent: effective tier = min(claimed tier, trust cap)). A buyer that left one
        of the seller's invoices unpaid in an unresolved dispute is treated as unknown:
        public prices, the fewest negotiation rounds, no private-auction invitation."""
        return "public" if buyer.name in self.distrusted else buyer.tier

    def invites(self, tier: str) -> bool:
        """Whether a buyer of ``tier`` is invited to this seller's private auctions."""
        return TIERS.index(tier) >= PA_MIN_TIER

    def open_avails(self, p: int, days: float) -> int:
        """Lots an unreserved deal (PD, PA) may take over ``days``: the product's sellable
        capacity, whatever is committed (it is served only from what guaranteed deals leave)."""
        cap = float(self.model.market.daily_avails[p]) * self.model.config.sellable_share
        return math.floor(cap * days)

    def offer_avails(self, p: int, days: float, requested: int) -> int:
        """Lots the seller offers over ``days``: at most what it believes is uncommitted."""
        m, cfg = self.model, self.model.config
        dec = m.claims.new_decision(self.name, "offer", m.t)
        cap = float(m.market.daily_avails[p]) * cfg.sellable_share

        def avail(rate: float) -> float:
            return float(math.floor(max(0.0, cap - rate) * days))

        def from_ledger() -> float | None:
            rate = self.ledger_rate[p]
            return None if rate is None else avail(rate)

        believed = self.believe(
            dec, "inventory", f"avail:{p}:{days}", avail(self.committed_rate[p]), from_ledger
        )
        return int(min(requested, believed))

    def _ledger_committed_rate(self, p: int) -> float | None:
        """Daily volume owed on ``p`` computed from ledger records alone (C); None when the
        seller's query of the ledger gets no answer, or the ledger is behind what it holds
        (a live booking or a delivery count of ``p`` not readable yet)."""
        m, spd = self.model, self.model.config.steps_per_day
        if not m.records.reachable(self.name, f"product:{p}:owed", m.t):
            return None
        rate, value, t, behind = 0.0, m.records.value, m.t, m.records.behind
        for d in self.memory.ids("deal", p):
            end = self.memory.peek(f"deal:{d}:end")
            if (end is None or end > t) and behind(f"deal:{d}:volume"):
                return None  # a live booking it holds is not readable: the ledger is behind
        for d in m.records.deals_of_product(p) or ():
            # reads have no side effects, so a deal that is over is skipped after one read:
            # at scale most deals ever booked on a product are over
            end = value(f"deal:{d}:end")
            if end is None or end <= t:
                continue
            if behind(f"deal:{d}:delivered"):
                return None  # the ledger is behind its books: nothing to check against
            volume = value(f"deal:{d}:volume")
            done = value(f"deal:{d}:delivered") or 0.0
            if volume is None or done >= volume:
                continue
            if value(f"deal:{d}:dtype") != PG:
                continue  # unreserved
            rate += owed_per_day(volume - done, end, m.t, spd)
        return rate

    def book(
        self, buyer, c: int, p: int, dtype: int, price: float, volume: int, start: int, end: int
    ) -> int:
        """Commit inventory to a deal, mint its id and remember (and record) its terms."""
        m = self.model
        d = m.book_deal(
            campaign=c,
            buyer=buyer.index,
            seller=self.index,
            product=p,
            dtype=dtype,
            price=price,
            volume=volume,
            start=start,
            end=end,
            step=m.t,
        )
        if dtype == PG:  # only guaranteed deals reserve inventory
            rate = owed_per_day(volume, end, m.t, m.config.steps_per_day)
            self.committed_rate[p] += rate
            if self.ledger_rate[p] is not None:
                self.ledger_rate[p] += rate
        terms = {
            "price": price,
            "volume": float(volume),
            "delivered": 0.0,
            "start": float(start),
            "end": float(end),
            "dtype": float(dtype),
        }
        for attr, value in terms.items():
            self.remember(f"deal:{d}:{attr}", value, "deal", p)
        # deal terms are a two-party fact: both sign them as each holds them
        booking = {
            "deal": d,
            "campaign": c,
            "product": p,
            "buyer": buyer.name,
            "seller": self.name,
            "type": DEAL_TYPES[dtype],
            "facts": {f"deal:{d}:{k}": v for k, v in terms.items()},
        }
        views = {self.name: terms, buyer.name: buyer.agreed_terms(price, volume, start, end, dtype)}
        m.records.cosign("booking", booking, views, m.t)
        m.events.emit(
            m.t,
            "deal",
            deal=d,
            buyer=buyer.name,
            seller=self.name,
            campaign=c,
            product=p,
            type=DEAL_TYPES[dtype],
            price=price,
            impressions=volume * m.config.lot_size,
        )
        return d

    # --- private auctions ------------------------------------------------------------------
    def bid_private_auction(self, buyer, c: int, p: int, bid: float, lots: int) -> None:
        """Take an invited buyer's sealed bid for campaign ``c`` on ``p`` (cleared later)."""
        self.pa_bids.setdefault(p, []).append((bid, c, buyer.index, lots))

    def clear_private_auctions(self) -> None:
        """Clear today's private auctions, product by product: the highest bid wins a PA deal
        at the larger of its floor and the runner-up's bid (second price); the rest lose."""
        m, mk = self.model, self.model.market
        for p in sorted(self.pa_bids):
            bids = sorted(self.pa_bids[p], key=lambda b: (-b[0], b[1]))
            top, c, bi, lots = bids[0]
            buyer = m.buyers[bi]
            tier = self.tier_for(buyer)
            quote = self.quote(tier, p, lots * m.config.lot_size)
            _, floor = deal_terms("PA", quote, self.floor_for(p, tier))
            price = round(max(floor, bids[1][0] if len(bids) > 1 else 0.0), 2)
            if top < price:
                price = 0.0  # nobody met the reserve: no winner
            else:
                end = int(mk.end_step[c])
                d = self.book(buyer, c, p, PA, price, lots, m.t, end)
                buyer.remember_deal(d, c, price, lots, m.t, end)
            for rank, (bid, bc, bb, _) in enumerate(bids):
                paid = price if rank == 0 else 0.0
                m.negotiations.auction_bid(m.buyers[bb], self, bc, p, floor, bid, paid)
        self.pa_bids.clear()

    def invoice_price(self, d: int, p: int, dec: int) -> float:
        """The price the seller bills deal ``d`` at: the one it remembers."""
        return self.deal_fact(d, p, "price", "price", dec)

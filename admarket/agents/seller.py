"""Seller agents: publishers selling inventory per channel (display, video, CTV, native).

A seller prices quotes by the buyer's identity tier and volume, offers avails up to what it
believes is still uncommitted, negotiates within its per-tier concession caps, mints deal
ids on booking and invoices what its ad server delivered at the price it remembers. Its
view of what is committed is rebuilt each morning from the deals it remembers (B) or from
the ledger (C): a seller that forgot a commitment oversells, and the deals beyond its
real capacity under-deliver. In scenario A it sells through the exchange and takes no
decisions here.
"""

from __future__ import annotations

import math

from admarket.agents.trader import TraderAgent
from admarket.market.deals import owed_per_day
from admarket.market.pricing import DEAL_TYPES, quote_price


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

    # --- the morning inventory view ------------------------------------------------------
    def refresh_inventory_view(self) -> None:
        """Recompute, per product, the daily volume the seller believes it still owes."""
        m = self.model
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
            if end <= m.t:
                continue
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
        return 0.0  # delivered: no record of delivery

    # --- selling -------------------------------------------------------------------------------
    def quote(self, tier: str, p: int, impressions: int) -> float:
        """Tier- and volume-priced CPM for product ``p`` (the rate card, not memory)."""
        return quote_price(float(self.model.market.base_cpm[p]), tier, impressions)

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
        seller's query of the ledger gets no answer."""
        m, spd = self.model, self.model.config.steps_per_day
        if not m.records.reachable(self.name, f"product:{p}:owed", m.t):
            return None
        rate = 0.0
        for d in m.records.deals_of_product(p) or ():
            end = m.records.value(f"deal:{d}:end")
            volume = m.records.value(f"deal:{d}:volume")
            done = m.records.value(f"deal:{d}:delivered")
            done = done or 0.0
            if end is None or volume is None or end <= m.t or done >= volume:
                continue
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
        views = {self.name: terms, buyer.name: buyer.agreed_terms(price, volume, start, end)}
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

    def invoice_price(self, d: int, p: int, dec: int) -> float:
        """The price the seller bills deal ``d`` at: the one it remembers."""
        return self.deal_fact(d, p, "price", "price", dec)

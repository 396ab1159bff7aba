"""The record of every negotiation a run holds: events, ledger entries and the store's
``negotiations`` table.

One row per negotiation (B, C): a PG bargain round by round, a PD taken at the seller's
fixed price (one round), or one bid in a seller's private auction (one row per bidder).
Columns: when, who, which campaign and product, the deal type and the buyer's rule, the
seller's ask and floor, the buyer's target, limit and opening offer, the rounds it took,
how it ended (``OUTCOMES``) and the agreed price. From it come the agreement rate, the
rounds distribution, walk-aways and rejections, and the deal-type mix of what was agreed.
Each message also goes to the event log and, where it is a ledger entry kind, to the
design's records (C's ledger).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from admarket.ledger.chain import ENTRY_KINDS
from admarket.market.negotiation import BuyerStance, Outcome

if TYPE_CHECKING:  # pragma: no cover
    from admarket.model.market_model import MarketModel

# How a negotiation ended: the four endings of a bargain (see market.negotiation) plus a
# private-auction bid that lost to a higher one.
OUTCOMES = ("agreed", "walk_away", "rejected_by_buyer", "rejected_by_seller", "outbid")
COLUMNS = (
    "step",
    "buyer",
    "seller",
    "campaign",
    "product",
    "deal_type",
    "rule",
    "ask",
    "floor",
    "target",
    "limit",
    "opening",
    "rounds",
    "outcome",
    "price",
)
# negotiation message → event / ledger entry kind (walk-aways and rejections are not
# ledger entry kinds: nothing was agreed, the event log still has them)
_MESSAGE_KIND = {
    "propose": "proposal",
    "bid": "proposal",
    "counter": "counter",
    "final_offer": "counter",
    "accept": "accept",
    "reject": "reject",
    "walk_away": "walk_away",
}


class NegotiationLog:
    """Every negotiation of one model, logged as it ends."""

    def __init__(self, model: MarketModel) -> None:
        self.model = model
        self.rows: list[tuple[Any, ...]] = []

    def __len__(self) -> int:
        return len(self.rows)

    # --- logging ---------------------------------------------------------------------------
    def bargain(
        self,
        buyer,
        seller,
        campaign: int,
        product: int,
        ask: float,
        floor: float,
        stance: BuyerStance,
        outcome: Outcome,
    ) -> None:
        """A PG negotiation: the seller's quote and every message, then its close."""
        base = {"campaign": campaign, "product": product, "type": "PG"}
        messages = [("quote", seller.name, {**base, "price": ask})]
        for mv in outcome.moves:
            author = buyer.name if mv.actor == "buyer" else seller.name
            payload = {**base, "action": mv.action, "price": mv.price}
            messages.append((_MESSAGE_KIND[mv.action], author, payload))
        self._messages(messages)
        self._close(buyer, seller, base, stance, outcome.moves[0].price, ask, floor, outcome)

    def fixed_price(
        self, buyer, seller, campaign: int, product: int, price: float, stance: BuyerStance
    ) -> None:
        """A preferred deal taken at the seller's fixed price (one round, agreed)."""
        base = {"campaign": campaign, "product": product, "type": "PD"}
        accept = {**base, "action": "accept", "price": price}
        self._messages(
            [("quote", seller.name, {**base, "price": price}), ("accept", buyer.name, accept)]
        )
        self._close(buyer, seller, base, stance, price, price, price, Outcome(True, price, 1, ()))

    def auction_bid(
        self, buyer, seller, campaign: int, product: int, floor: float, bid: float, price: float
    ) -> None:
        """One bid in a seller's private auction; it won if it was the top bid and covered
        the clearing ``price`` (0 when the auction found no winner)."""
        base = {"campaign": campaign, "product": product, "type": "PA"}
        won = price > 0 and bid >= price
        self._messages([("proposal", buyer.name, {**base, "action": "bid", "price": bid})])
        if won:
            accept = {**base, "action": "accept", "price": price}
            self._messages([("accept", seller.name, accept)])
            out = Outcome(True, price, 1, ())
        else:
            out = Outcome(False, 0.0, 1, (), "outbid" if bid >= floor else "rejected_by_seller")
        rule = self.model.config.buyer_rule
        stance = BuyerStance(float(self.model.market.target_cpm[campaign]), bid, 1, rule)
        self._close(buyer, seller, base, stance, bid, floor, floor, out)

    def _messages(self, messages: list[tuple[str, str, dict[str, Any]]]) -> None:
        m = self.model
        for kind, author, payload in messages:
            m.events.emit(m.t, kind, agent=author, **payload)
            if kind in ENTRY_KINDS:
                m.records.write(kind, payload, author, m.t)

    def _close(self, buyer, seller, base, stance, opening, ask, floor, outcome: Outcome) -> None:
        m = self.model
        m.events.emit(
            m.t,
            "negotiation",
            buyer=buyer.name,
            seller=seller.name,
            **base,
            agreed=outcome.agreed,
            price=outcome.price,
            rounds=outcome.rounds,
            outcome=outcome.end,
        )
        row = {
            "step": m.t,
            "buyer": buyer.name,
            "seller": seller.name,
            "campaign": base["campaign"],
            "product": base["product"],
            "deal_type": base["type"],
            "rule": stance.rule,
            "ask": ask,
            "floor": floor,
            "target": stance.target,
            "limit": stance.limit,
            "opening": opening,
            "rounds": outcome.rounds,
            "outcome": outcome.end,
            "price": outcome.price,
        }
        self.rows.append(tuple(row[c] for c in COLUMNS))

    # --- results ---------------------------------------------------------------------------
    def frame(self, steps_per_day: int) -> pd.DataFrame:
        """Every negotiation as a DataFrame (with ``day`` and ``agreed``)."""
        df = pd.DataFrame(self.rows, columns=list(COLUMNS))
        df.insert(1, "day", (df["step"] // steps_per_day).astype("int64"))
        df["agreed"] = df["outcome"] == "agreed"
        return df

    def stats(self) -> dict[str, float]:
        """Headline numbers: counts by ending and deal type, agreement rate and rounds."""
        n = len(self.rows)
        out: dict[str, float] = {"negotiations": n}
        outcome = np.array([r[COLUMNS.index("outcome")] for r in self.rows], dtype=object)
        dtype = np.array([r[COLUMNS.index("deal_type")] for r in self.rows], dtype=object)
        rounds = np.array([r[COLUMNS.index("rounds")] for r in self.rows], dtype=float)
        for o in OUTCOMES:
            out[f"negotiations_{o}"] = int((outcome == o).sum())
        agreed = outcome == "agreed"
        out["agreement_rate"] = float(agreed.mean()) if n else np.nan
        pg = dtype == "PG"
        out["mean_rounds_pg"] = float(rounds[pg].mean()) if pg.any() else np.nan
        out["multi_round_share_pg"] = float((rounds[pg] > 1).mean()) if pg.any() else np.nan
        for t in ("PG", "PD", "PA"):
            out[f"deals_{t.lower()}"] = int((agreed & (dtype == t)).sum())
        return out

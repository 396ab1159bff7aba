"""Price negotiation between a buyer agent and a seller agent, round by round to a deadline.

The seller follows the IAB reference seller: it accepts an offer at or above its ask or its
own last price; otherwise it concedes toward the buyer by a share of the gap, capped per
round and in total, never below its floor, and turns its counter into a final offer on its
last round (or when its caps are nearly used up). An offer still below its floor on its last
round is rejected.

The buyer negotiates from its :class:`BuyerStance`: a target CPM and a *reservation price*
(the most this campaign can pay now, from its economics: see ``BuyerAgent``) and a deadline
in rounds. Two rules (``buyer_rule``):

* ``iab`` — the IAB reference buyer's threshold strategy: open at the target, raise by an
  even step each round toward the reservation price, accept as soon as the seller's price is
  at or below it, walk away when the seller stops moving or the deadline passes;
* ``plan`` — the plan's buyer (Gap 3): accept a price within 10% of the target, counter
  (raising toward that limit) within 20%, reject anything more than 20% above the target.

An :class:`Outcome` says how it ended: ``agreed``, ``walk_away`` (the buyer left: the
seller's last word was above its limit, or time ran out), ``rejected_by_buyer`` (plan rule:
too far above target) or ``rejected_by_seller`` (below the floor on the seller's last round).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from admarket.market.pricing import TierTerms

ENDINGS = ("agreed", "walk_away", "rejected_by_buyer", "rejected_by_seller")
PLAN_ACCEPT = 1.10  # plan, Gap 3: accept if within 10% of target CPM
PLAN_COUNTER = 1.20  # counter if within 20%; reject above


@dataclass(frozen=True)
class Move:
    """One message of a negotiation."""

    actor: str  # "buyer" or "seller"
    action: str  # propose, counter, final_offer, accept, reject, walk_away
    price: float


@dataclass(frozen=True)
class Outcome:
    """How a negotiation ended."""

    agreed: bool
    price: float  # agreed CPM (0 when no deal)
    rounds: int  # seller replies
    moves: tuple[Move, ...]
    end: str = "agreed"  # one of ENDINGS


@dataclass(frozen=True)
class BuyerStance:
    """What a buyer brings to one negotiation: its target, its reservation price (the most
    it can pay now), its deadline in rounds and its rule (``iab`` or ``plan``)."""

    target: float
    reservation: float
    rounds: int = 5
    rule: str = "iab"

    @cached_property  # frozen fields, so it cannot go stale; read per option while ranking
    def limit(self) -> float:
        """The highest price this buyer will accept (and the most it will offer)."""
        if self.rule == "plan":
            return round(PLAN_ACCEPT * self.target, 2)
        return round(self.reservation, 2)

    def accepts(self, price: float) -> bool:
        """Whether the buyer takes the seller's ``price``."""
        return price <= self.limit + 1e-9

    def rejects(self, price: float) -> bool:
        """Whether the buyer refuses to go on at the seller's ``price`` (plan rule only)."""
        return self.rule == "plan" and price > PLAN_COUNTER * self.target + 1e-9


def seller_reply(
    ask: float,
    floor: float,
    last_price: float,
    offer: float,
    round_no: int,
    conceded: float,
    terms: TierTerms,
) -> tuple[Move, float]:
    """The seller's answer to ``offer`` in round ``round_no`` (1-based).

    Returns the move and the total concession so far (share of ``ask``). Rules in order:
    accept at or above the ask or the seller's last price; reject non-positive offers, offers
    after its rounds, and offers still below the floor on its last round; counter at the
    floor below it; otherwise concede toward the buyer within the caps, turning it into a
    final offer on the last round or when the caps are nearly used up.
    """
    if offer >= ask or offer >= last_price:
        return Move("seller", "accept", offer), conceded
    last_round = round_no == terms.max_rounds
    if offer <= 0 or round_no > terms.max_rounds or (last_round and offer < floor):
        return Move("seller", "reject", last_price), conceded
    if offer < floor:
        return Move("seller", "counter", round(floor, 2)), conceded + (last_price - floor) / ask
    gap = last_price - offer
    remaining_cap = max(0.0, terms.total_cap - conceded) * ask
    step = min(terms.buyer_share * gap, terms.round_cap * ask, remaining_cap)
    price = max(floor, last_price - step)
    conceded_now = conceded + (last_price - price) / ask
    if last_round or (remaining_cap > 0 and step >= 0.8 * remaining_cap):
        final = round(max(floor, ask * (1 - terms.total_cap), price), 2)
        return Move("seller", "final_offer", final), conceded_now
    return Move("seller", "counter", round(price, 2)), conceded_now


def negotiate(ask: float, floor: float, buyer: BuyerStance, terms: TierTerms) -> Outcome:
    """Run a negotiation to its end and return the outcome with the full transcript."""
    limit = buyer.limit
    offer = round(min(buyer.target, limit, ask), 2)
    step = max(0.01, (limit - offer) / max(1, buyer.rounds))
    moves = [Move("buyer", "propose", offer)]
    last_price, conceded = ask, 0.0
    deadline = min(terms.max_rounds, buyer.rounds)
    for round_no in range(1, deadline + 1):
        reply, conceded = seller_reply(ask, floor, last_price, offer, round_no, conceded, terms)
        moves.append(reply)
        if reply.action == "accept":
            return Outcome(True, round(offer, 2), round_no, tuple(moves))
        if reply.action == "reject":
            return Outcome(False, 0.0, round_no, tuple(moves), "rejected_by_seller")
        price = reply.price
        if buyer.accepts(price):
            moves.append(Move("buyer", "accept", price))
            return Outcome(True, round(price, 2), round_no, tuple(moves))
        if buyer.rejects(price):
            moves.append(Move("buyer", "reject", offer))
            return Outcome(False, 0.0, round_no, tuple(moves), "rejected_by_buyer")
        stopped = reply.action == "final_offer" or price >= last_price
        if stopped or round_no == deadline:
            moves.append(Move("buyer", "walk_away", offer))
            return Outcome(False, 0.0, round_no, tuple(moves), "walk_away")
        last_price = price
        offer = round(min(limit, offer + step), 2)
        moves.append(Move("buyer", "propose", offer))
    raise AssertionError("unreachable: the loop returns by its deadline")  # pragma: no cover

"""Price negotiation between a buyer agent and a seller agent (IAB reference behaviour).

The seller concedes toward the buyer by a share of the gap, capped per round and in
total, never below its floor; the buyer follows a threshold strategy: open at its target
CPM, raise by a step each round, never above its max CPM, accept as soon as the seller's
price is within its max, walk away when rounds run out or the seller stops moving.
"""

from __future__ import annotations

from dataclasses import dataclass

from admarket.market.pricing import TierTerms


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
    rounds: int
    moves: tuple[Move, ...]


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
    accept at or above the ask or the seller's last price; reject non-positive offers or
    when rounds are exhausted; counter at the floor below it; otherwise concede toward the
    buyer within the caps, turning it into a final offer on the last round or when the
    caps are nearly used up.
    """
    if offer >= ask or offer >= last_price:
        return Move("seller", "accept", offer), conceded
    if offer <= 0 or round_no > terms.max_rounds:
        return Move("seller", "reject", last_price), conceded
    last_round = round_no == terms.max_rounds
    if offer < floor:
        action = "final_offer" if last_round else "counter"
        return Move("seller", action, round(floor, 2)), conceded + (last_price - floor) / ask
    gap = last_price - offer
    remaining_cap = max(0.0, terms.total_cap - conceded) * ask
    step = min(terms.buyer_share * gap, terms.round_cap * ask, remaining_cap)
    price = max(floor, last_price - step)
    conceded_now = conceded + (last_price - price) / ask
    if last_round or (remaining_cap > 0 and step >= 0.8 * remaining_cap):
        final = round(max(floor, ask * (1 - terms.total_cap), price), 2)
        return Move("seller", "final_offer", final), conceded_now
    return Move("seller", "counter", round(price, 2)), conceded_now


def negotiate(
    ask: float,
    floor: float,
    target: float,
    max_price: float,
    terms: TierTerms,
    buyer_rounds: int = 5,
) -> Outcome:
    """Run a negotiation to its end and return the outcome with the full transcript."""
    offer = round(min(target, ask), 2)
    step = max(0.01, (max_price - offer) / max(1, buyer_rounds))
    moves = [Move("buyer", "propose", offer)]
    last_price, conceded = ask, 0.0
    for round_no in range(1, terms.max_rounds + 1):
        reply, conceded = seller_reply(ask, floor, last_price, offer, round_no, conceded, terms)
        moves.append(reply)
        if reply.action == "accept":
            return Outcome(True, round(offer, 2), round_no, tuple(moves))
        if reply.action == "reject":
            break
        seller_price = reply.price
        if seller_price <= max_price:
            moves.append(Move("buyer", "accept", seller_price))
            return Outcome(True, round(seller_price, 2), round_no, tuple(moves))
        stopped = reply.action == "final_offer" or seller_price >= last_price
        if stopped or round_no >= buyer_rounds:
            moves.append(Move("buyer", "walk_away", offer))
            break
        last_price = seller_price
        offer = round(min(max_price, offer + step), 2)
        moves.append(Move("buyer", "propose", offer))
    return Outcome(False, 0.0, len([m for m in moves if m.actor == "seller"]), tuple(moves))

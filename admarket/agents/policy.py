"""Decision policies: who answers an agent's recalls and makes its negotiation moves.

Every buyer and seller agent has a ``policy``. The default, :data:`RULES`, is the model's
rule-based agent: a :class:`~admarket.agents.trader.TraderAgent` recalls facts from its
:class:`~admarket.memory.context.ContextMemory` and negotiates by the IAB concession rules
of :mod:`admarket.market.negotiation` — exactly the code paths the model always had (the
policy only says "use them"). A language-model policy (:mod:`admarket.llm.policy`) answers
the same questions from a model's transcript instead.

The seam is small on purpose. A policy with ``answers_recalls`` set is asked, in place of
the rule-based memory, for: the value of a fact an agent recalls (:meth:`recall_value`), a
belief it derives (:meth:`believe_value`), the deals it can list (:meth:`known_deals`); it
is told each fact the agent learns (:meth:`note`) and loses its context on a restart or by
decay (:meth:`restart`, :meth:`forget`). In a negotiation each side's policy makes that
side's moves (:meth:`buyer_move`, :meth:`seller_move`); when both sides are rule-based the
negotiation is :func:`admarket.market.negotiation.negotiate` itself, bit for bit.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from admarket.market.negotiation import BuyerStance, Move, Outcome, negotiate, seller_reply
from admarket.market.pricing import TierTerms

if TYPE_CHECKING:  # pragma: no cover
    from admarket.agents.buyer import BuyerAgent
    from admarket.agents.seller import SellerAgent
    from admarket.agents.trader import TraderAgent

BUYER_ROUNDS = 5  # rounds a rule-based buyer raises its offer before walking away


@dataclass(frozen=True)
class NegotiationContext:
    """What a negotiation is about: the deal on the table and both sides' limits.

    ``ask`` and ``floor`` are the seller's (its quote and its lowest price for this deal
    type); ``stance`` is the buyer's (its target, reservation price, deadline and rule).
    Each side's policy sees only its own limits in what it is told.
    """

    campaign: int
    product: int
    deal_type: str
    ask: float
    floor: float
    stance: BuyerStance
    terms: TierTerms

    @property
    def target(self) -> float:
        """The buyer's target CPM."""
        return float(self.stance.target)

    @property
    def max_price(self) -> float:
        """The most the buyer will pay (its stance's limit)."""
        return float(self.stance.limit)

    @property
    def buyer_rounds(self) -> int:
        """The buyer's deadline, in rounds."""
        return self.stance.rounds

    @property
    def deadline(self) -> int:
        """The last round: the tier's limit on rounds or the buyer's deadline, whichever first."""
        return min(self.terms.max_rounds, self.stance.rounds)

    @property
    def opening(self) -> float:
        """The buyer's opening offer: its target, or its limit or the ask if lower."""
        return round(min(self.target, self.max_price, self.ask), 2)


class DecisionPolicy:
    """How an agent decides on facts; the base is the rule-based agent (see module doc)."""

    name = "rules"
    answers_recalls = False  # True: recalls, beliefs and notes go to the policy

    # --- facts (asked only when ``answers_recalls``) ---------------------------------------
    def recall_value(
        self,
        agent: TraderAgent,
        key: str,
        claim_type: str,
        decision: int,
        reconstruct: Callable[[], float],
        group: str,
        tag: int,
    ) -> float:
        """The value ``agent`` acts on for fact ``key``, filed as a claim of ``decision``."""
        raise NotImplementedError

    def believe_value(
        self,
        agent: TraderAgent,
        decision: int,
        claim_type: str,
        key: str,
        value: float,
        ledger_value: Callable[[], float | None] | None,
    ) -> float:
        """A belief ``agent`` derives (``value`` is the rule-based derivation), filed."""
        raise NotImplementedError

    def note(self, agent: TraderAgent, key: str, value: float, group: str, tag: int) -> None:
        """``agent`` learned (or wrote down) fact ``key`` = ``value``."""
        raise NotImplementedError

    def known_deals(self, agent: TraderAgent, tag: int) -> list[int]:
        """Deals ``agent`` can list under ``tag`` from what it holds itself."""
        raise NotImplementedError

    # --- losing context (every policy; the rules agent's memory is handled by the agent) --
    def forget(self, agent: TraderAgent, day: int) -> list[str]:
        """The day's decay of whatever context the policy keeps; what was lost."""
        return []

    def restart(self, agent: TraderAgent) -> int:
        """A process restart: the policy's context is wiped; how many facts it held."""
        return 0

    def held(self) -> int:
        """Facts the policy's own context holds (beyond the agent's memory)."""
        return 0

    # --- negotiation -------------------------------------------------------------------------
    def negotiate(self, buyer: BuyerAgent, seller: SellerAgent, ctx: NegotiationContext) -> Outcome:
        """Negotiate ``ctx`` between ``buyer`` (this policy's agent) and ``seller``."""
        return negotiate_between(buyer, seller, ctx)

    def buyer_move(
        self,
        buyer: BuyerAgent,
        ctx: NegotiationContext,
        reply: Move,
        round_no: int,
        offer: float,
        last_price: float,
        history: list[Move],
    ) -> Move:
        """The buyer's answer to the seller's ``reply`` (rules: the stance's threshold
        strategy, as :func:`~admarket.market.negotiation.negotiate`); ``history`` is every
        move so far."""
        price, stance = reply.price, ctx.stance
        if stance.accepts(price):
            return Move("buyer", "accept", price)
        if stance.rejects(price):
            return Move("buyer", "reject", offer)
        stopped = reply.action == "final_offer" or price >= last_price
        if stopped or round_no >= ctx.deadline:
            return Move("buyer", "walk_away", offer)
        step = max(0.01, (ctx.max_price - ctx.opening) / max(1, ctx.buyer_rounds))
        return Move("buyer", "propose", round(min(ctx.max_price, offer + step), 2))

    def seller_move(
        self,
        seller: SellerAgent,
        ctx: NegotiationContext,
        offer: float,
        round_no: int,
        last_price: float,
        conceded: float,
        history: list[Move],
    ) -> tuple[Move, float]:
        """The seller's answer to ``offer`` and its total concession (rules: the IAB caps)."""
        return seller_reply(ctx.ask, ctx.floor, last_price, offer, round_no, conceded, ctx.terms)

    def heard_negotiation(
        self,
        agent: TraderAgent,
        counterpart: TraderAgent,
        ctx: NegotiationContext,
        outcome: Outcome,
    ) -> None:
        """``agent`` took part in a negotiation that ended with ``outcome`` (rules: no-op)."""


class RulesPolicy(DecisionPolicy):
    """The rule-based agent: memory, reconstruction and concession rules (the default)."""


RULES = RulesPolicy()


def negotiate_between(buyer: BuyerAgent, seller: SellerAgent, ctx: NegotiationContext) -> Outcome:
    """Run a negotiation to its end, each side's moves made by its own policy.

    Between two rule-based agents this is :func:`~admarket.market.negotiation.negotiate`
    (bit for bit). Otherwise the same protocol runs move by move: the buyer opens, the
    seller accepts, counters, makes a final offer or rejects; the buyer accepts, raises or
    walks away; at most ``terms.max_rounds`` seller replies.
    """
    if not buyer.policy.answers_recalls and not seller.policy.answers_recalls:
        return negotiate(ctx.ask, ctx.floor, ctx.stance, ctx.terms)
    return negotiate_by_moves(buyer, seller, ctx)


def negotiate_by_moves(buyer: BuyerAgent, seller: SellerAgent, ctx: NegotiationContext) -> Outcome:
    """The negotiation protocol move by move, asking each side's policy for its move."""
    bp, sp = buyer.policy, seller.policy
    offer = ctx.opening
    moves = [Move("buyer", "propose", offer)]
    last_price, conceded = ctx.ask, 0.0
    outcome = None
    for round_no in range(1, ctx.deadline + 1):
        reply, conceded = sp.seller_move(seller, ctx, offer, round_no, last_price, conceded, moves)
        moves.append(reply)
        if reply.action == "accept":
            outcome = Outcome(True, round(offer, 2), round_no, tuple(moves))
            break
        if reply.action == "reject":
            outcome = Outcome(False, 0.0, round_no, tuple(moves), "rejected_by_seller")
            break
        move = bp.buyer_move(buyer, ctx, reply, round_no, offer, last_price, moves)
        moves.append(move)
        if move.action == "accept":
            outcome = Outcome(True, round(reply.price, 2), round_no, tuple(moves))
            break
        if move.action in ("walk_away", "reject"):
            why = "walk_away" if move.action == "walk_away" else "rejected_by_buyer"
            outcome = Outcome(False, 0.0, round_no, tuple(moves), why)
            break
        last_price, offer = reply.price, move.price
    if outcome is None:
        n_seller = len([m for m in moves if m.actor == "seller"])
        outcome = Outcome(False, 0.0, n_seller, tuple(moves), "walk_away")
    bp.heard_negotiation(buyer, seller, ctx, outcome)
    sp.heard_negotiation(seller, buyer, ctx, outcome)
    return outcome

"""The language-model policy: an agent whose facts and moves come from a model's answers.

An agent with an :class:`LLMPolicy` keeps no :class:`~admarket.memory.context.ContextMemory`
of its own; its memory is its :class:`~admarket.llm.transcript.Transcript`. What it learns
(:meth:`note`: booked terms, the running totals it keeps after each delivery report and
payment) and the negotiations it takes part in are written to it.

* **Recalls.** At the start of each decision phase (morning, evening) the agent is asked
  to state its *books* — every fact it holds, keyed like the auditor's facts — from its
  transcript (:meth:`books_question`; all language-model agents of a phase are asked
  concurrently by the :class:`~admarket.llm.roster.PolicyRoster`). Every number it states
  is graded against ground truth as a statement; a fact it states about a deal it was
  never told of is a fabrication. During the phase each recall is answered from the
  stated books (source ``llm``, or ``llm_ledger`` when the model looked the fact up with
  its ``ledger_lookup`` tool in C) and filed as a claim of the decision that relied on it.
  A fact the model did not state is lost: as a rule-based agent does, the agent reads the
  ledger (C) or reconstructs it (B), and writes the result down.
* **Beliefs.** "How many lots of product 12 can I still sell?" is asked of the model
  (:meth:`believe_value`, task ``avails``); other derived beliefs (a seller's fill rate)
  are computed, as the rule-based agent does, from the facts the model stated.
* **Negotiation.** Each of the agent's moves is asked of the model (tasks ``buyer_move``,
  ``seller_move``); prices are offers, not facts, so they are not graded against truth,
  but a move past the agent's own limit (a buyer above its max CPM, a seller below its
  floor) is counted as a violation.

The hallucination injector and the daily decay, restarts and context window stay on as
stressors: an injection corrupts a stated number when the agent acts on it, exactly as it
corrupts a rule-based agent's recall.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable
from typing import TYPE_CHECKING

from admarket.agents.policy import DecisionPolicy, NegotiationContext
from admarket.errors import ConfigError
from admarket.llm.conversation import Answer, Question
from admarket.llm.prompts import (
    LEDGER_TOOL,
    avails_question,
    books_question,
    buyer_move_question,
    negotiation_line,
    seller_move_question,
    system_prompt,
)
from admarket.llm.transcript import Transcript, estimate_tokens
from admarket.market.negotiation import Move, Outcome

if TYPE_CHECKING:  # pragma: no cover
    from admarket.agents.buyer import BuyerAgent
    from admarket.agents.seller import SellerAgent
    from admarket.agents.trader import TraderAgent
    from admarket.llm.roster import PolicyRoster

# a deal fact's attribute → the claim type the auditor files it under
DEAL_ATTRS = {
    "price": "price",
    "volume": "volume",
    "delivered": "delivery",
    "start": "terms",
    "end": "terms",
    "campaign": "terms",
    "product": "terms",
}
_KEY = re.compile(r"(deal|campaign|hist):(\d+):(?:(\d+):)?([a-z]+)")
_RESERVE = 32  # tokens kept free for the chat template around the messages


def claim_type_of(key: str) -> str:
    """The claim type of a fact key (``deal:17:price`` → ``price``)."""
    entity, _, attr = key.split(":", 2)
    if entity == "deal":
        return DEAL_ATTRS.get(attr, "terms")
    if entity == "campaign":
        return "spend"
    if entity == "hist":
        return "delivery"
    return "inventory"


class LLMPolicy(DecisionPolicy):
    """A language-model agent (see the module docstring)."""

    name = "llm"
    answers_recalls = True

    def __init__(self, agent: TraderAgent, roster: PolicyRoster):
        cfg = agent.model.config
        self.roster = roster
        self.transcript = Transcript(cfg.steps_per_day, cfg.decay_rate, agent.memory.salt)
        self.books: dict[str, tuple[float, str]] = {}  # key → (value, source) this phase
        self.told: dict[int, int] = {}  # deal → step it was booked (-1: heard of otherwise)
        self.tag_attr = "campaign" if agent.kind == "buyer" else "product"
        self.counts: Counter[str] = Counter()
        self._label = ""  # overrides the label of the next note (a recovered fact)

    # --- the transcript -------------------------------------------------------------------
    def note(self, agent: TraderAgent, key: str, value: float, group: str, tag: int) -> None:
        """Write what ``agent`` learned into its transcript (and this phase's books)."""
        t = agent.model.t
        label = self._label
        if group == "deal":
            d, attr = int(key.split(":")[1]), key.rsplit(":", 1)[1]
            new = d not in self.told
            if new:  # a booking writes its terms price first; anything else is a later report
                self.told[d] = t if attr == "price" and not label else -1
            if not label and self.told[d] == t:
                label = "booking"
            elif not label:
                label = "delivery report" if attr == "delivered" else "deal terms"
            if new:
                self._write(t, label, f"deal:{d}:{self.tag_attr}", tag)
        elif not label:
            spend = key.startswith("campaign:")
            label = "payments (spend to date)" if spend else "delivery history"
        self._write(t, label, key, value)

    def _write(self, t: int, label: str, key: str, value: float) -> None:
        self.transcript.add_fact(t, label, key, value)
        self.books[key] = (float(value), "memory")

    def heard_negotiation(
        self,
        agent: TraderAgent,
        counterpart: TraderAgent,
        ctx: NegotiationContext,
        outcome: Outcome,
    ) -> None:
        """A finished negotiation, as a line of the transcript."""
        text = negotiation_line(agent, counterpart, ctx, outcome)
        self.transcript.add(agent.model.t, "negotiation", text)

    def forget(self, agent: TraderAgent, day: int) -> list[str]:
        """The day's decay of transcript lines; the facts they held."""
        lost = self.transcript.decay(day)
        agent.memory.stats.lost_decay += len(lost)
        return lost

    def restart(self, agent: TraderAgent) -> int:
        """A restart wipes the transcript (and this phase's books): from now on a deal the
        agent was told of before is one it cannot know, unless it hears of it again."""
        n = self.transcript.wipe()
        agent.memory.stats.lost_restart += n
        self.books.clear()
        self.told.clear()
        return n

    def held(self) -> int:
        """Facts written in the transcript lines still held."""
        return self.transcript.n_facts

    # --- questions --------------------------------------------------------------------------
    def question(self, agent: TraderAgent, task: str, text: str, tools: bool) -> Question:
        """``text`` put to ``agent``'s model with its transcript, cut to its window."""
        m, cfg = agent.model, agent.model.config
        system = system_prompt(agent)
        fixed = estimate_tokens(system) + estimate_tokens(text) + _RESERVE
        if fixed > cfg.llm_context_tokens:
            raise ConfigError(
                "llm_context_tokens",
                cfg.llm_context_tokens,
                f"at least {fixed}: {agent.name}'s system prompt and {task} question alone "
                "take that many",
            )
        dropped = self.transcript.fit(cfg.llm_context_tokens - fixed)
        if dropped:
            agent.memory.stats.lost_pressure += dropped
            agent.lost_today += dropped
        body = self.transcript.render() or "(empty: you remember nothing)"
        user = f"Transcript (oldest first):\n{body}\n\n{text}"
        ledger = tools and m.records.name == "ledger"
        return Question(
            agent=agent.name,
            task=task,
            step=m.t,
            system=system,
            user=user,
            tools=[LEDGER_TOOL] if ledger else None,
            lookup=self._lookup(agent) if ledger else None,
        )

    @staticmethod
    def _lookup(agent: TraderAgent) -> Callable[[list[str]], dict[str, float | None]]:
        records = agent.model.records

        def lookup(keys: list[str]) -> dict[str, float | None]:
            return {k: records.value(k) if _KEY.fullmatch(k) else None for k in keys}

        return lookup

    def listed(self, agent: TraderAgent) -> dict[int, int]:
        """Deals the shared records list for ``agent`` (C): deal → campaign or product."""
        tags = agent.campaigns if agent.kind == "buyer" else agent.products
        out: dict[int, int] = {}
        for tag in tags:
            for d in agent.listed_deals(tag) or ():
                out[d] = tag
        return out

    def books_question(self, agent: TraderAgent) -> Question | None:
        """The question that opens a phase: state your books (None: nothing to state)."""
        listed = self.listed(agent)
        self.books = {}
        if not self.transcript.lines and not listed:
            return None
        return self.question(agent, "books", books_question(agent, listed), tools=True)

    def take_books(self, agent: TraderAgent, ans: Answer, phase: str) -> None:
        """Keep the facts the model stated as this phase's books; grade each statement."""
        listed = self.listed(agent)
        facts = ans.value["facts"]
        for key in sorted(facts):
            value = float(facts[key])
            verdict = self._check_key(agent, key, listed)
            self.counts["statements"] += 1
            if verdict == "rejected":
                self.counts["rejected_keys"] += 1
                continue
            looked = key in ans.looked_up
            self.roster.grade(agent, phase, key, value, verdict == "fabricated", looked)
            if verdict == "ok":
                self.books[key] = (value, "llm_ledger" if looked else "llm")

    def _check_key(self, agent: TraderAgent, key: str, listed: dict[int, int]) -> str:
        """``ok``, ``fabricated`` (a deal the agent never heard of) or ``rejected`` (not a
        fact this agent could hold)."""
        match = _KEY.fullmatch(key)
        if match is None:
            return "rejected"
        entity, ident, sub, attr = match.groups()
        i = int(ident)
        if entity == "campaign":
            ok = agent.kind == "buyer" and sub is None and attr == "spent" and i in agent.campaigns
            return "ok" if ok else "rejected"
        if entity == "hist":
            ok = (
                agent.kind == "buyer"
                and i == agent.index
                and sub is not None
                and int(sub) < agent.model.config.n_sellers
                and attr in ("expected", "delivered")
            )
            return "ok" if ok else "rejected"
        other_tag = "product" if self.tag_attr == "campaign" else "campaign"
        if sub is not None or attr not in DEAL_ATTRS or attr == other_tag:
            return "rejected"
        return "ok" if i in self.told or i in listed else "fabricated"

    # --- facts -----------------------------------------------------------------------------
    def known_deals(self, agent: TraderAgent, tag: int) -> list[int]:
        """Deals whose campaign (buyer) or product (seller) the model stated as ``tag``."""
        prefix, suffix = "deal:", f":{self.tag_attr}"
        return sorted(
            int(k[len(prefix) : -len(suffix)])
            for k, (v, _) in self.books.items()
            if k.startswith(prefix) and k.endswith(suffix) and v == tag
        )

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
        """The stated value of ``key``; if the model did not state it, the ledger's (C) or a
        reconstruction (B), which the agent then writes down."""
        held = self.books.get(key)
        if held is not None:
            return self._file(agent, decision, claim_type, key, held[0], held[1], None)
        m = agent.model
        value, source = m.records.value(key), m.records.name
        if value is None:
            value, source = reconstruct(), "reconstructed"
        self._label = "read back from the ledger" if source == "ledger" else "my best guess"
        try:
            agent.remember(key, value, group, tag)
        finally:
            self._label = ""
        m.events.count("recovery")
        return self._file(agent, decision, claim_type, key, value, source, value)

    def believe_value(
        self,
        agent: TraderAgent,
        decision: int,
        claim_type: str,
        key: str,
        value: float,
        ledger_value: Callable[[], float | None] | None,
    ) -> float:
        """Avails are asked of the model; other beliefs are derived from stated facts."""
        if claim_type != "inventory" or not key.startswith("avail:"):
            return self._file(agent, decision, claim_type, key, value, "derived", None)
        _, product, days = key.split(":", 2)
        text = avails_question(agent, int(product), float(days))
        ans = self.roster.ask(agent, self.question(agent, "avails", text, tools=True))
        lots = float(math.floor(ans.value["lots"]))
        self.counts["statements"] += 1
        self.roster.grade(agent, "avails", key, lots, False, False)
        return self._file(agent, decision, claim_type, key, lots, "llm", None)

    def _file(
        self,
        agent: TraderAgent,
        decision: int,
        claim_type: str,
        key: str,
        value: float,
        source: str,
        recovered: float | None,
    ) -> float:
        """File the value acted on as a claim; the injector may corrupt it first."""
        m = agent.model
        injected = ""
        if source not in ("ledger", "llm_ledger"):
            inj = agent.injector.maybe_corrupt(claim_type, value, key, m.t)
            if inj is not None:
                value, injected = inj.value, inj.kind
        m.claims.record(
            decision, claim_type, key, value, source, injected=injected, recovered_value=recovered
        )
        if injected:
            agent.log_fabrication(key, injected, value, decision)
        return value

    # --- negotiation -----------------------------------------------------------------------
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
        """The model's answer to the seller's ``reply``."""
        seller = buyer.model.sellers[int(buyer.model.market.product_seller[ctx.product])]
        text = buyer_move_question(buyer, seller.name, ctx, reply, round_no, offer, history)
        ans = self.roster.ask(buyer, self.question(buyer, "buyer_move", text, tools=False))
        action, price = ans.value["action"], round(float(ans.value["price"]), 2)
        if action == "accept":
            price = reply.price
        elif action == "walk_away":
            price = offer
        self.counts["moves"] += 1
        if action in ("accept", "propose") and price > ctx.max_price + 0.005:
            self.counts["violations"] += 1
        return Move("buyer", action, price)

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
        """The model's answer to the buyer's ``offer``."""
        buyer = seller.model.buyers[int(seller.model.market.campaign_buyer[ctx.campaign])]
        text = seller_move_question(seller, buyer.name, ctx, offer, round_no, last_price, history)
        ans = self.roster.ask(seller, self.question(seller, "seller_move", text, tools=False))
        action, price = ans.value["action"], round(float(ans.value["price"]), 2)
        if action == "accept":
            price = offer
        elif action == "reject":
            price = last_price
        self.counts["moves"] += 1
        if action != "reject" and price < ctx.floor - 0.005:
            self.counts["violations"] += 1
        return Move("seller", action, price), max(conceded, (ctx.ask - price) / ctx.ask)

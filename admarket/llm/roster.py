"""Which agents decide with a language model, and what a run's language-model agents share.

A :class:`PolicyRoster` is made for every model. It gives each buyer and seller its
policy: the rule-based default, or — for the roles switched on by ``llm_buyers`` /
``llm_sellers``, on ``llm_agents`` agents of each such role sampled by seed (0 = all) —
an :class:`~admarket.llm.policy.LLMPolicy`. Language-model agents trade directly, so only
designs whose agents hold state (B, C) get them; in A every agent reads the exchange's
database as before. A run can mix both policies on the same market and compare them.

For the language-model agents of a run it also: opens each decision phase by asking them
all for their books, concurrently (:meth:`before_phase`); puts every other question to
the session and accounts for its tokens and dollars (:meth:`ask`); grades every number a
model states against ground truth (:meth:`grade`); and stops the run at a day's close
when the budget would be exceeded (:meth:`stop_after`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from admarket.agents.policy import RULES
from admarket.errors import ConfigError
from admarket.llm.conversation import Answer, Question
from admarket.llm.cost import CostLedger
from admarket.llm.policy import LLMPolicy, claim_type_of
from admarket.streams import keyed_uniform

if TYPE_CHECKING:  # pragma: no cover
    from admarket.agents.trader import TraderAgent
    from admarket.llm.session import LLMSession
    from admarket.model.market_model import MarketModel

STOPPED_AT_BUDGET = "stopped at budget"


@dataclass(frozen=True)
class Statement:
    """One number a model stated, graded against ground truth."""

    step: int
    day: int
    agent_id: str
    task: str  # books (morning or evening) or avails
    phase: str
    fact_key: str
    claim_type: str
    stated: float
    actual: float
    wrong: bool
    fabricated: bool  # about a deal the agent was never told of
    looked_up: bool  # the model read the fact with ledger_lookup first


def sample(agents: list[TraderAgent], k: int, seed: int, role: str) -> list[TraderAgent]:
    """``k`` of ``agents`` (all when ``k`` is 0 or more than there are), chosen by seed."""
    if k <= 0 or k >= len(agents):
        return list(agents)
    ranked = sorted(agents, key=lambda a: keyed_uniform(seed, "llm-policy", role, a.index))
    return sorted(ranked[:k], key=lambda a: a.index)


class PolicyRoster:
    """The policies of one model's agents (see the module docstring)."""

    def __init__(self, model: MarketModel, session: LLMSession | None = None):
        cfg = model.config
        self.model = model
        self.session = session
        self.llm: list[TraderAgent] = []
        self.costs = CostLedger(cfg.llm_prompt_usd_per_mtok, cfg.llm_completion_usd_per_mtok)
        self.statements: list[Statement] = []
        self.stopped = ""  # why the run stopped early ("" while it has not)
        self.stopped_day: int | None = None
        roles = (
            ("buyer", cfg.llm_buyers, model.buyers),
            ("seller", cfg.llm_sellers, model.sellers),
        )
        if not model.agents_hold_state or not (cfg.llm_buyers or cfg.llm_sellers):
            return
        if session is None:
            name = "llm_buyers" if cfg.llm_buyers else "llm_sellers"
            raise ConfigError(
                name,
                True,
                "language-model agents need an endpoint: `admarket run --policy ... "
                "--llm-base-url URL --llm-model NAME` (or --llm-replay FILE), or "
                "MarketModel(..., llm=LLMSession(...)); compare, sweep and the explorer run "
                "rule-based agents only",
            )
        for role, on, agents in roles:
            if on:
                for a in sample(agents, cfg.llm_agents, cfg.seed, role):
                    a.policy = LLMPolicy(a, self)
                    self.llm.append(a)

    @property
    def active(self) -> bool:
        """Whether any agent of this model decides with a language model."""
        return bool(self.llm)

    def policy_of(self, agent: TraderAgent) -> str:
        """``llm`` or ``rules``."""
        return agent.policy.name if agent.policy is not RULES else "rules"

    # --- questions ------------------------------------------------------------------------
    def before_phase(self, phase: str) -> None:
        """Open a decision phase: every language-model agent states its books (concurrently;
        taken in agent order)."""
        if not self.llm:
            return
        asked: list[tuple[TraderAgent, Question]] = []
        for a in self.llm:
            q = a.policy.books_question(a)  # type: ignore[attr-defined]
            if q is not None:
                asked.append((a, q))
        if not asked:
            return
        assert self.session is not None
        answers = self.session.ask_many([q for _, q in asked], self.model.config.steps_per_day)
        for (a, _), ans in zip(asked, answers, strict=True):
            self._account(a, "books", ans)
            a.policy.take_books(a, ans, phase)  # type: ignore[attr-defined]

    def ask(self, agent: TraderAgent, question: Question) -> Answer:
        """Put one question to ``agent``'s model now and account for it."""
        assert self.session is not None
        ans = self.session.ask(question, self.model.config.steps_per_day)
        self._account(agent, question.task, ans)
        return ans

    def _account(self, agent: TraderAgent, task: str, ans: Answer) -> None:
        m = self.model
        self.costs.add(m.t, m.day, agent.name, task, ans)
        agent.policy.counts["questions"] += 1  # type: ignore[attr-defined]
        agent.policy.counts["lookups"] += ans.lookups  # type: ignore[attr-defined]

    def grade(
        self,
        agent: TraderAgent,
        phase: str,
        key: str,
        stated: float,
        fabricated: bool,
        looked_up: bool,
    ) -> None:
        """Grade one stated number against ground truth (the auditor's verdict)."""
        m = self.model
        if fabricated:
            actual, wrong = math.nan, True
        else:
            actual, wrong = m.claims.grade(key, stated)
        counts = agent.policy.counts  # type: ignore[attr-defined]
        counts["wrong"] += wrong
        counts["fabricated"] += fabricated
        task = "avails" if phase == "avails" else "books"
        kind = claim_type_of(key)
        row = (m.t, m.day, agent.name, task, phase, key, kind, stated, actual, wrong)
        self.statements.append(Statement(*row, fabricated, looked_up))

    # --- the budget -------------------------------------------------------------------------
    def stop_after(self, t: int) -> bool:
        """At a day's close: whether the next day could take LLM spend past this run's share
        of ``--llm-budget-usd`` (then the run stops here, cleanly, and says so)."""
        spd = self.model.config.steps_per_day
        last = t >= self.model.config.steps - 1  # the run is over anyway
        if not self.llm or self.session is None or t % spd != spd - 1 or last:
            return False
        if not self.costs.over_budget(self.session.budget_per_run):
            return False
        self.stopped, self.stopped_day = STOPPED_AT_BUDGET, t // spd
        return True

"""What buyer and seller agents share: a volatile memory and the act of recalling a fact.

Agents decide on what they *believe*. Every fact an agent acts on goes through
:meth:`TraderAgent.recall`, which is where the three scenarios part ways:

* A: the exchange's database answers (exact) — the buyer holds no state of its own;
* B: the agent's memory answers if it still holds the fact; otherwise the agent
  reconstructs a value from what it still holds (which may be wrong);
* C: like B, but a lost fact is read back from the ledger, and (``verify_recalls``) a
  recalled value is checked against the ledger before the agent acts on it, unless the
  ledger is behind on that fact (its latest write not sealed, or lost). The ledger holds
  what agents wrote, which may be wrong or stale, and a query of it may get no answer:
  then the agent falls back on its own memory, as in B.

In B and C a recall from volatile memory may also be corrupted by the hallucination
injector. Every recall is filed as a claim with the auditor, which grades it against
ground truth the agent cannot see.

All of the above is the rule-based agent, the default ``policy``
(:mod:`admarket.agents.policy`). An agent given a language-model policy
(:mod:`admarket.llm`) answers recalls, derived beliefs and deal lists from a model instead,
and keeps what it learns in the model's transcript rather than in ``memory``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from mesa import Agent

from admarket.agents.policy import RULES, DecisionPolicy
from admarket.memory.context import ContextMemory
from admarket.memory.hallucination import HallucinationInjector
from admarket.streams import RESTART, stream

if TYPE_CHECKING:  # pragma: no cover
    from admarket.model.market_model import MarketModel


class TraderAgent(Agent):
    """Base of buyer and seller agents: memory, its loss mechanisms, and recall."""

    kind = "trader"
    stream_offset = 0  # sellers use a different block of stream indices from buyers

    def __init__(self, model: MarketModel, index: int):
        super().__init__(model)
        self.index = index
        cfg = model.config
        self.name = f"{self.kind}-{index}"
        salt = f"{cfg.seed}:{self.stream_offset + index}"
        self.memory = ContextMemory(cfg.memory_capacity, cfg.decay_rate, salt)
        self._restart_rng = stream(cfg.seed, RESTART, self.stream_offset + index)
        self.injector = HallucinationInjector(cfg, salt)
        self.restarted_today = False
        self.lost_today = 0
        self.policy: DecisionPolicy = RULES  # the model may give it a language-model policy

    # --- memory loss --------------------------------------------------------------------
    def lose_memory(self, day: int) -> None:
        """Apply a day of decay and maybe a restart (no-op in A: no agent-held state)."""
        m = self.model
        self.restarted_today, self.lost_today = False, 0
        if not m.agents_hold_state:
            return
        cfg = m.config
        lost = self.memory.decay(day) + self.policy.forget(self, day)
        # one restart draw per agent per day, taken whatever happens: B and C agree on it
        p_restart = min(1.0, cfg.restart_rate + cfg.restart_growth * day)
        restart = self._restart_rng.random() < p_restart
        self.lost_today = len(lost)
        if lost:
            m.events.emit(
                m.t, "context_loss", agent=self.name, cause="decay", n=len(lost), keys=lost[:5]
            )
        if restart:
            n = self.memory.wipe() + self.policy.restart(self)
            self.restarted_today = True
            self.lost_today += n
            m.events.emit(m.t, "restart", agent=self.name, facts_lost=n)

    def remember(self, key: str, value: float, group: str = "", tag: int = -1) -> None:
        """Store a fact in volatile memory (context pressure may push older ones out)."""
        if not self.model.agents_hold_state:
            return
        if self.policy.answers_recalls:  # e.g. a language-model agent: into its transcript
            self.policy.note(self, key, value, group, tag)
            return
        pushed = self.memory.store(key, value, group, tag, self.model.day)
        if pushed:
            self.lost_today += len(pushed)

    # --- the deals an agent knows of ----------------------------------------------------------
    def listed_deals(self, tag: int) -> list[int] | None:
        """Deals filed under ``tag`` in shared records (None: no shared list)."""
        raise NotImplementedError

    def reconstruct_deal(self, d: int, tag: int, attr: str, dec: int) -> float:
        """A best guess at deal ``d``'s ``attr`` when the fact is lost and not on record."""
        raise NotImplementedError

    def known_deals(self, tag: int) -> list[int]:
        """Deals this agent can list under ``tag`` (a buyer's campaign, a seller's product):
        those it holds in memory, and those shared records list where there are some and
        the query gets an answer."""
        m = self.model
        listed = None
        if m.records.reachable(self.name, f"{self.kind}:{tag}:deals", m.t):
            listed = self.listed_deals(tag)
        if listed is None and self.policy.answers_recalls:
            return self.policy.known_deals(self, tag)
        held = self.memory.ids("deal", tag)
        if listed is None:
            return held
        # the ledger lists sealed bookings; a deal the agent still holds may be booked since
        # (unsealed) or its booking lost: the agent knows it either way
        return sorted({*listed, *held}) if held else listed

    def deal_fact(self, d: int, tag: int, attr: str, claim_type: str, dec: int) -> float:
        """The value of deal ``d``'s ``attr`` this agent acts on (filed as a claim)."""
        return self.recall(
            f"deal:{d}:{attr}",
            claim_type,
            dec,
            lambda: self.reconstruct_deal(d, tag, attr, dec),
            "deal",
            tag,
        )

    # --- recall ---------------------------------------------------------------------------
    def recall(
        self,
        key: str,
        claim_type: str,
        decision: int,
        reconstruct: Callable[[], float],
        group: str = "",
        tag: int = -1,
    ) -> float:
        """The value this agent acts on for ``key``; files it as a claim."""
        m = self.model
        if self.policy.answers_recalls:  # e.g. a language-model agent (admarket.llm)
            return self.policy.recall_value(
                self, key, claim_type, decision, reconstruct, group, tag
            )
        if not m.agents_hold_state:  # A: read the exchange's database
            records = m.records
            value = records.value(key)
            value = reconstruct() if value is None else value
            m.claims.record(decision, claim_type, key, value, records.name)
            return value
        held = self.memory.get(key)
        recovered = None
        if held is not None:
            value, source = held, "memory"
        else:
            records = m.records
            value = records.read(self.name, key, m.t)
            source = records.name
            if value is None:
                value, source = reconstruct(), "reconstructed"
            # a recovery is of a fact once held and lost; a fact never held (a campaign's
            # spend before its first invoice) is learned, not recovered
            if self.memory.forgot(key):
                recovered = value
                m.events.count("recovery")
            self.remember(key, value, group, tag)
        return self._act_on(decision, claim_type, key, value, source, recovered)

    def believe(
        self,
        decision: int,
        claim_type: str,
        key: str,
        value: float,
        ledger_value: Callable[[], float | None] | None = None,
    ) -> float:
        """A derived belief (e.g. avails computed from commitments); filed as a claim.

        Derived beliefs are produced by the agent's reasoning, so they can be corrupted
        too; in C the agent recomputes them from ledger-verified inputs (``ledger_value``,
        which returns None when the ledger does not answer: then nothing is checked).
        """
        if not self.model.agents_hold_state:
            self.model.claims.record(decision, claim_type, key, value, "derived")
            return value
        if self.policy.answers_recalls:
            return self.policy.believe_value(self, decision, claim_type, key, value, ledger_value)
        return self._act_on(decision, claim_type, key, value, "derived", None, ledger_value)

    def _act_on(
        self,
        decision: int,
        claim_type: str,
        key: str,
        value: float,
        source: str,
        recovered: float | None,
        ledger_value: Callable[[], float | None] | None = None,
    ) -> float:
        m = self.model
        injected = ""
        if source != "ledger" and claim_type in self.injector.corrupts:
            inj = self.injector.maybe_corrupt(claim_type, value, key, m.t)
            if inj is not None:
                value, injected = inj.value, inj.kind
        caught = False
        # checked only against a ledger not behind what the agent holds: an older value
        # there (the latest write of the fact unsealed or lost) would overwrite a newer one
        if m.verify_with_ledger and source != "ledger" and not m.records.behind(key):
            read = m.records.read
            lv = ledger_value() if ledger_value is not None else read(self.name, key, m.t)
            if lv is not None and m.claims.is_wrong(value, lv):
                caught, value = True, lv
                if source != "derived":
                    self.remember(key, lv)
        m.claims.record(
            decision,
            claim_type,
            key,
            value,
            source,
            injected=injected,
            caught=caught,
            recovered_value=recovered,
        )
        if injected and not caught:
            self.log_fabrication(key, injected, value, decision)
        return value

    def log_fabrication(self, key: str, kind: str, value: float, decision: int) -> None:
        """Log that this agent acts on a fabricated value of ``key`` (an event, not a grade:
        the auditor grades every claim against ground truth)."""
        m = self.model
        m.events.emit(
            m.t,
            "hallucination",
            agent=self.name,
            key=key,
            fabrication=kind,
            claimed=value,
            decision=m.claims.decision_type[decision],
        )

    def update(
        self,
        key: str,
        claim_type: str,
        decision: int,
        delta: float,
        reconstruct: Callable[[], float],
        group: str = "",
        tag: int = -1,
    ) -> float:
        """Recall a running total, add ``delta`` (a fresh, exact report) and store it."""
        if not self.model.agents_hold_state:
            return 0.0
        value = self.recall(key, claim_type, decision, reconstruct, group, tag) + delta
        self.remember(key, value, group, tag)
        return value

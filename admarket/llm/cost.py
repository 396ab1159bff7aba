"""Tokens and dollars: what each question cost, per agent, per day and per run.

Every answered question becomes one :class:`CallRecord`: the requests it took (tool calls
and corrections included), prompt and completion tokens as the endpoint reported them
(estimated at 4 characters a token when it reports none), ledger lookups, and its price at
the configured USD per million prompt and completion tokens. A :class:`CostLedger` keeps
them in the order they were applied (deterministic) and answers totals by agent and day;
its :meth:`CostLedger.over_budget` is the ``--llm-budget-usd`` stop rule.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict, dataclass

import pandas as pd

from admarket.llm.conversation import Answer


@dataclass(frozen=True)
class CallRecord:
    """One question put to one agent's model and what it cost."""

    step: int
    day: int
    agent_id: str
    task: str
    requests: int
    prompt_tokens: int
    completion_tokens: int
    estimated_tokens: bool
    lookups: int
    keys_looked_up: int
    retries: int
    usd: float


class CostLedger:
    """Every question's cost, at ``prompt_usd`` and ``completion_usd`` per million tokens."""

    def __init__(self, prompt_usd: float, completion_usd: float):
        self.prompt_usd = prompt_usd
        self.completion_usd = completion_usd
        self.records: list[CallRecord] = []
        self.usd = 0.0
        self.prompt_tokens = 0
        self.completion_tokens = 0
        self.by_day: dict[int, float] = defaultdict(float)

    def price(self, prompt_tokens: int, completion_tokens: int) -> float:
        """USD for the given tokens."""
        return (prompt_tokens * self.prompt_usd + completion_tokens * self.completion_usd) / 1e6

    def add(self, step: int, day: int, agent: str, task: str, ans: Answer) -> CallRecord:
        """Account for one answered question."""
        p, c = ans.prompt_tokens, ans.completion_tokens
        rec = CallRecord(
            step=step,
            day=day,
            agent_id=agent,
            task=task,
            requests=len(ans.exchanges),
            prompt_tokens=p,
            completion_tokens=c,
            estimated_tokens=any(e.estimated for e in ans.exchanges),
            lookups=ans.lookups,
            keys_looked_up=len(ans.looked_up),
            retries=ans.retries,
            usd=self.price(p, c),
        )
        self.records.append(rec)
        self.usd += rec.usd
        self.prompt_tokens += p
        self.completion_tokens += c
        self.by_day[day] += rec.usd
        return rec

    def over_budget(self, budget: float | None) -> bool:
        """Whether the next day could take spend past ``budget``: spend so far plus the
        costliest day so far exceeds it (so a run stops *before* it overspends, as long as
        no day costs more than every day before it)."""
        if budget is None:
            return False
        worst = max(self.by_day.values(), default=0.0)
        return self.usd + worst > budget or self.usd >= budget

    def frame(self) -> pd.DataFrame:
        """One row per question (the store's ``llm_calls``)."""
        cols = list(CallRecord.__dataclass_fields__)
        return pd.DataFrame([asdict(r) for r in self.records], columns=cols)

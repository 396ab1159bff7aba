"""The run store's tables of language-model agents (written only by runs that have some).

* ``llm_runs`` — one row per run: model and request settings, status (``complete`` or
  ``stopped at budget``, with the day), budget, and totals of questions, requests, tokens,
  dollars, ledger lookups, statements and wrong statements;
* ``llm_agents`` — one row per trading agent with its ``policy`` (``llm`` or ``rules``), so
  ``agent_decisions`` can be split by policy; for language-model agents their questions,
  tokens, dollars, lookups, negotiation moves and limit violations, statements, and the
  lines and facts their transcript lost to the context window, decay and restarts;
* ``llm_calls`` — one row per question (:class:`~admarket.llm.cost.CallRecord`): the
  tokens and dollars per agent and per day are sums over it;
* ``llm_statements`` — every number a model stated, graded against ground truth.

Nothing here depends on wall-clock time, so a replayed run writes identical tables.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from admarket.llm.recording import settings_dict
from admarket.llm.roster import Statement

if TYPE_CHECKING:  # pragma: no cover
    from admarket.model.market_model import MarketModel

LLM_TABLES = ("llm_runs", "llm_agents", "llm_calls", "llm_statements")
_STATEMENT_COLS = list(Statement.__dataclass_fields__)


def _agent_row(m: MarketModel, a: Any) -> dict[str, Any]:
    row: dict[str, Any] = {"agent_id": a.name, "agent_type": a.kind, "policy": "rules"}
    if not getattr(a.policy, "answers_recalls", False):
        return row
    c, st = a.policy.counts, a.policy.transcript.stats
    calls = [r for r in m.policies.costs.records if r.agent_id == a.name]
    row.update(
        policy=a.policy.name,
        questions=int(c["questions"]),
        prompt_tokens=sum(r.prompt_tokens for r in calls),
        completion_tokens=sum(r.completion_tokens for r in calls),
        usd=sum(r.usd for r in calls),
        lookups=int(c["lookups"]),
        statements=int(c["statements"]),
        wrong_statements=int(c["wrong"]),
        fabricated=int(c["fabricated"]),
        rejected_keys=int(c["rejected_keys"]),
        moves=int(c["moves"]),
        violations=int(c["violations"]),
        lines_held=len(a.policy.transcript),
        lines_dropped=st.lines_dropped,
        facts_dropped=st.facts_dropped,
        lines_decayed=st.lines_decayed,
        facts_decayed=st.facts_decayed,
        lines_wiped=st.lines_wiped,
        facts_wiped=st.facts_wiped,
    )
    return row


def llm_frames(m: MarketModel) -> dict[str, pd.DataFrame]:
    """The ``llm_*`` tables of a finished model; empty for a run of rule-based agents only."""
    roster = m.policies
    if not roster.active or roster.session is None:
        return {}
    cfg, costs, session = m.config, roster.costs, roster.session
    statements = pd.DataFrame([asdict(s) for s in roster.statements], columns=_STATEMENT_COLS)
    calls = costs.frame()
    run = {
        **settings_dict(session.settings),
        "status": roster.stopped or "complete",
        "stopped_day": np.nan if roster.stopped_day is None else roster.stopped_day,
        "days_run": m.steps // cfg.steps_per_day,
        "days": cfg.days,
        "budget_usd": np.nan if session.budget_per_run is None else session.budget_per_run,
        "llm_agents": len(roster.llm),
        "prompt_usd_per_mtok": cfg.llm_prompt_usd_per_mtok,
        "completion_usd_per_mtok": cfg.llm_completion_usd_per_mtok,
        "questions": len(calls),
        "requests": int(calls["requests"].sum()),
        "prompt_tokens": costs.prompt_tokens,
        "completion_tokens": costs.completion_tokens,
        "usd": costs.usd,
        "lookups": int(calls["lookups"].sum()),
        "statements": len(statements),
        "wrong_statements": int(statements["wrong"].sum()),
    }
    run["seed_request"] = run.pop("seed")  # the request's seed, not the run's
    agents = pd.DataFrame([_agent_row(m, a) for a in (*m.buyers, *m.sellers)])
    return {
        "llm_runs": pd.DataFrame([run]),
        "llm_agents": agents,
        "llm_calls": calls,
        "llm_statements": statements,
    }

"""What the DataCollector records each step (model) and per agent type.

Every reporter reads a running counter, so collecting each hour stays cheap at scale.
Reporters are named module-level functions (not lambdas) so that a model, DataCollector
included, can be pickled into a checkpoint.
"""

from __future__ import annotations

import math

from admarket.agents import BuyerAgent, SellerAgent


def gross_spend(m) -> float:
    """Cumulative buyer spend, USD."""
    return m.accounts.gross / 100


def net_to_publishers(m) -> float:
    """Cumulative seller revenue net of every fee and ledger cost, USD."""
    return m.accounts.net_to_publishers / 100


def intermediary_take(m) -> float:
    """Cumulative fees and ledger costs, USD."""
    return m.accounts.take / 100


def take_rate(m) -> float:
    """Intermediary take as a share of gross spend."""
    g = m.accounts.gross
    return m.accounts.take / g if g else 0.0


def impressions(m) -> int:
    """Impressions delivered so far."""
    return m.design.delivered_lots() * m.config.lot_size


def fill_rate(m) -> float:
    """Delivered impressions as a share of all avails offered so far."""
    offered = m.offered_lots()
    return impressions(m) / (offered * m.config.lot_size) if offered else 0.0


def active_deals(m) -> int:
    """Direct deals delivering now."""
    return m.book.active_count(m.t)


def goal_attainment(m) -> float:
    """Mean goal attainment of live campaigns at the last day's close."""
    return m.daily[-1]["daily_goal_attainment"] if m.daily else 0.0


def facts_held(m) -> int:
    """Facts held in every agent's memory."""
    return m.memory_totals()["held"]


def facts_lost(m) -> int:
    """Facts lost so far, by every mechanism."""
    return m.memory_totals()["lost"]


def restarts(m) -> int:
    """Agent restarts so far."""
    return m.memory_totals()["restarts"]


def recoveries(m) -> int:
    """Lost facts an agent needed and recovered (read back or reconstructed)."""
    return m.claims.n_recovered


def recovery_fidelity(m) -> float:
    """Share of recovered facts that matched the truth (NaN while nothing was recovered)."""
    n = m.claims.n_recovered
    return m.claims.n_recovered_ok / n if n else math.nan


def hallucinated_decisions(m) -> int:
    """Decisions that relied on at least one wrong fact."""
    return len(m.claims.bad_decisions)


def injected_acted_on(m) -> int:
    """Injected fabrications an agent acted on."""
    return m.claims.n_injected_acted


def caught_by_ledger(m) -> int:
    """Recalled values the ledger check corrected before the agent acted (C)."""
    return m.claims.n_caught


def disputes(m) -> int:
    """Billing disputes so far."""
    return m.events.counts["dispute"]


def written_off(m) -> float:
    """Delivered value never paid, USD."""
    return m.accounts.write_off / 100


def ledger_entries(m) -> int:
    """Ledger entries written (C)."""
    return m.records.n_entries


def ledger_cost_usd(m) -> float:
    """Cost of the sealed ledger and delivery-record blobs, USD (C)."""
    return m.records.total_usd


MODEL_REPORTERS = {
    f.__name__: f
    for f in (
        gross_spend,
        net_to_publishers,
        intermediary_take,
        take_rate,
        impressions,
        fill_rate,
        active_deals,
        goal_attainment,
        facts_held,
        facts_lost,
        restarts,
        recoveries,
        recovery_fidelity,
        hallucinated_decisions,
        injected_acted_on,
        caught_by_ledger,
        disputes,
        written_off,
        ledger_entries,
        ledger_cost_usd,
    )
}


def buyer_spend(a) -> float:
    """A buyer's spend over all its campaigns, USD."""
    return a.model.accounts.spent[a.campaigns].sum() / 100


def seller_revenue(a) -> float:
    """A seller's net revenue, USD."""
    return a.model.accounts.seller_revenue[a.index] / 100


def agent_facts_lost(a) -> int:
    """Facts this agent has lost."""
    return a.memory.stats.lost


def agent_restarts(a) -> int:
    """Times this agent restarted."""
    return a.memory.stats.restarts


def agent_facts_held(a) -> int:
    """Facts this agent holds now (a language-model agent's are in its transcript)."""
    return len(a.memory) + a.policy.held()


AGENT_REPORTERS = {
    BuyerAgent: {
        "spend": buyer_spend,
        "facts_held": agent_facts_held,
        "facts_lost": agent_facts_lost,
        "restarts": agent_restarts,
    },
    SellerAgent: {
        "revenue": seller_revenue,
        "facts_held": agent_facts_held,
        "facts_lost": agent_facts_lost,
        "restarts": agent_restarts,
    },
}

"""What the DataCollector records each step (model) and per agent type.

Every reporter reads a running counter, so collecting each hour stays cheap at scale.
"""

from __future__ import annotations

from admarket.agents import BuyerAgent, SellerAgent


def _take_rate(m) -> float:
    g = m.accounts.gross
    return m.accounts.take / g if g else 0.0


def _impressions(m) -> int:
    if m.exchange is not None:
        return int(m.accounts.delivered.sum()) * m.config.lot_size
    return int(m.book.delivered[: m.book.n].sum()) * m.config.lot_size


def _fill_rate(m) -> float:
    offered = int(m.market.hourly_avails[:, : m.t + 1].sum()) if m.steps else 0
    return _impressions(m) / (offered * m.config.lot_size) if offered else 0.0


MODEL_REPORTERS = {
    "gross_spend": lambda m: m.accounts.gross / 100,
    "net_to_publishers": lambda m: m.accounts.net_to_publishers / 100,
    "intermediary_take": lambda m: m.accounts.take / 100,
    "take_rate": _take_rate,
    "impressions": _impressions,
    "fill_rate": _fill_rate,
    "active_deals": lambda m: m.book.active_count(m.t),
    "goal_attainment": lambda m: m.daily[-1]["daily_goal_attainment"] if m.daily else 0.0,
    "facts_held": lambda m: m.memory_totals()["held"],
    "facts_lost": lambda m: m.memory_totals()["lost"],
    "restarts": lambda m: m.memory_totals()["restarts"],
    "recoveries": lambda m: m.claims.n_recovered,
    "recovery_fidelity": lambda m: (
        m.claims.n_recovered_ok / m.claims.n_recovered if m.claims.n_recovered else 1.0
    ),
    "hallucinated_decisions": lambda m: len(m.claims.bad_decisions),
    "injected_acted_on": lambda m: m.claims.n_injected_acted,
    "caught_by_ledger": lambda m: m.claims.n_caught,
    "disputes": lambda m: m.events.counts["dispute"],
    "written_off": lambda m: m.accounts.write_off / 100,
    "ledger_entries": lambda m: m.ledger.n_entries if m.ledger is not None else 0,
    "ledger_cost_usd": lambda m: m.ledger.total_usd if m.ledger is not None else 0.0,
}

AGENT_REPORTERS = {
    BuyerAgent: {
        "spend": lambda a: a.model.accounts.spent[a.campaigns].sum() / 100,
        "facts_held": lambda a: len(a.memory),
        "facts_lost": lambda a: a.memory.stats.lost,
        "restarts": lambda a: a.memory.stats.restarts,
    },
    SellerAgent: {
        "revenue": lambda a: a.model.accounts.seller_revenue[a.index] / 100,
        "facts_held": lambda a: len(a.memory),
        "facts_lost": lambda a: a.memory.stats.lost,
        "restarts": lambda a: a.memory.stats.restarts,
    },
}

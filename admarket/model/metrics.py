"""What a run reports: the plan's daily metrics row and the run's headline summary.

``daily_row`` is called at each day's close and becomes the store's ``daily_metrics``
table (the plan's context-rot query); ``summary`` gives the numbers of the CLI's table and
the report. Both read the model's running counters; neither changes the model.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from admarket.config import EXCHANGE_FEES
from admarket.market.deals import PG
from admarket.market.kpis import COMPONENTS, attainment, flight_progress, kpi_achieved

if TYPE_CHECKING:  # pragma: no cover
    from admarket.model.market_model import MarketModel


@dataclass(frozen=True)
class DayStart:
    """Running totals at the start of a day, so a day's row can report what changed."""

    lost: int = 0
    restarts: int = 0
    recovered: int = 0
    recovered_ok: int = 0
    claims: int = 0
    wrong: int = 0


def _true(truth: Any, key: str) -> float:
    """The true value of ``key`` (NaN: no such fact, nothing to grade)."""
    value = truth.read(key)
    return float("nan") if value is None else float(value)


def daily_row(m: MarketModel, day: int, prev: DayStart) -> tuple[dict[str, Any], DayStart]:
    """The day's row of the ``daily_metrics`` table (attainment, rot, recovery, claims) and
    the running totals the next day's row starts from."""
    mk, acc, cfg = m.market, m.accounts, m.config
    prog = flight_progress(mk, m.t)
    active = (mk.start_step <= m.t) & (m.t < mk.end_step)
    # the row reads active campaigns only: the rest are not measured (a large A's daily
    # draws over every pair that ever traded were a quarter of its run)
    ach = kpi_achieved(mk, acc.delivered_pc, cfg.lot_size, campaigns=active)
    att = attainment(
        mk,
        acc.spent / 100,
        acc.delivered,
        ach,
        cfg.lot_size,
        m.pacing.score(),
        progress=np.maximum(prog, 1e-9),
    )
    score = att.score
    mem = m.memory_totals()
    cl = m.claims
    now = DayStart(
        lost=mem["lost"],
        restarts=mem["restarts"],
        recovered=cl.n_recovered,
        recovered_ok=cl.n_recovered_ok,
        claims=len(cl),
        wrong=cl.n_wrong,
    )
    rec = now.recovered - prev.recovered
    row = {
        "simulation_day": day,
        "active_campaigns": int(active.sum()),
        # a score *to date*, not the day's own performance (the report calls it "goal
        # attainment to date"): spend and delivery are cumulative, pacing is a running
        # average, and an overspend zeroes the budget component for the rest of the flight
        "daily_goal_attainment": float(score[active].mean()) if active.any() else np.nan,
        **{
            f"attainment_{k}": float(getattr(att, k)[active].mean()) if active.any() else np.nan
            for k in COMPONENTS
        },
        "overspent_campaigns": int((att.budget[active] == 0).sum()),
        "facts_held": mem["held"],
        "facts_lost": now.lost - prev.lost,
        "agent_restart_events": now.restarts - prev.restarts,
        "context_losses": now.lost - prev.lost,
        "recoveries": rec,
        "state_recovery_accuracy": (now.recovered_ok - prev.recovered_ok) / rec if rec else np.nan,
        "claims": now.claims - prev.claims,
        "hallucinated_claims": now.wrong - prev.wrong,
        "gross_spend": acc.gross / 100,
        "intermediary_take": acc.take / 100,
        "net_to_publishers": acc.net_to_publishers / 100,
        "impressions": m.design.delivered_lots() * cfg.lot_size,
    }
    return row, now


def summary(m: MarketModel) -> dict[str, Any]:
    """Headline numbers of the run (the CLI's table, the store's ``summaries``)."""
    acc = m.accounts
    out = m.campaign_outcomes()
    gross = acc.gross / 100
    take = acc.take / 100
    cl = m.claims
    n_dec = len(cl.decision_agent)
    log = m.settlements
    disputes = sum(1 for o in log.column("outcome") if o.startswith("dispute"))
    imps = int(out["actual_impressions"].sum())
    overspend = float((out["spend"] - out["budget"]).clip(lower=0).sum())
    b, n = m.book, m.book.n
    # guaranteed deals whose window has closed, not paused by their own buyer
    ended_pg = (b.dtype[:n] == PG) & (b.end[:n] <= m.t + 1) & ~b.paused[:n]
    pg_short = int(((b.volume[:n] - b.delivered[:n]) * ended_pg).sum()) * m.config.lot_size
    ledger_usd = acc.fees["ledger_fee"] / 100
    facts = m.records.facts()
    truth = m.ground_truth
    wrong_facts = sum(1 for k, v in facts.items() if cl.is_wrong(v, _true(truth, k)))
    rec = m.records
    return {
        "scenario": m.scenario_id,
        "gross_spend": gross,
        "net_to_publishers": acc.net_to_publishers / 100,
        "intermediary_take": take,
        "take_rate": take / gross if gross else 0.0,
        "impressions": imps,
        **_goal_stats(out),
        **m.negotiations.stats(),
        "decisions": n_dec,
        "hallucinated_decisions": len(cl.bad_decisions),
        "hallucination_rate": len(cl.bad_decisions) / n_dec if n_dec else 0.0,
        "claims": len(cl),
        "wrong_claims": cl.n_wrong,
        "wrong_fact_share": cl.n_wrong / len(cl) if len(cl) else 0.0,
        "injected": cl.n_injected,
        "injected_acted_on": cl.n_injected_acted,
        "caught_by_ledger": cl.n_caught,
        "recoveries": cl.n_recovered,
        "recovery_fidelity": cl.n_recovered_ok / cl.n_recovered if cl.n_recovered else np.nan,
        "facts_lost": m.memory_totals()["lost"],
        "restarts": m.memory_totals()["restarts"],
        "disputes": disputes,
        "count_disputes": sum(
            b < s for b, s in zip(log.column("billed_lots"), log.column("seller_lots"), strict=True)
        ),
        "written_off": acc.write_off / 100,
        "overpaid": acc.overpaid / 100,
        "net_misbilling": (acc.write_off - acc.overpaid) / 100,
        "overspend_usd": overspend,
        "pg_shortfall_impressions": pg_short,
        "ledger_entries": rec.n_entries,
        "ledger_facts": len(facts),
        "ledger_facts_wrong": wrong_facts,
        "cosign_failures": rec.cosign_failures,
        "ledger_reads_failed": rec.reads_failed,
        "ledger_writes_lost": rec.writes_failed,
        "delivery_records": m.records.delivery_records,
        "ledger_cost_usd": ledger_usd,
        "ledger_cost_per_mille": ledger_usd / imps * 1000 if imps else 0.0,
        "exchange_fee_per_mille": sum(acc.fees[f] for f in EXCHANGE_FEES) / 100 / imps * 1000
        if imps
        else 0.0,
    }


def _goal_stats(out: Any) -> dict[str, Any]:
    """Campaign goals in a run: goals hit, at risk, attainment by component, outcomes."""
    return {
        "campaigns": len(out),
        "hit_impression_goal": int(out["hit_impression_goal"].sum()),
        "hit_cpm_goal": int(out["hit_cpm_goal"].sum()),
        "hit_kpi_goal": int(out["hit_kpi_goal"].sum()),
        "hit_budget_goal": int(out["hit_budget_goal"].sum()),
        "overspent_campaigns": int(out["overspent"].sum()),
        "at_risk_campaigns": int(out["at_risk"].sum()),
        "at_risk_share": float(out["at_risk"].mean()) if len(out) else 0.0,
        "mean_goal_attainment": float(out["goal_attainment_score"].mean()),
        **{f"mean_{k}_score": float(out[f"{k}_score"].mean()) for k in COMPONENTS},
        "clicks": float(out["clicks"].sum()),
        "conversions": float(out["conversions"].sum()),
        "viewable_impressions": float(out["viewable_impressions"].sum()),
    }

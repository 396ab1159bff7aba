"""What a report reads from a store: per-run headline numbers and the per-seed series behind
every table, chart and finding, loaded once with SQL (``ReportData``).

Everything the report prints is computed here or in ``report_findings`` from these frames,
so a number in the report can always be traced to (and tested against) a query on the store.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from admarket.outputs.store import QUERY_NAMES, open_store, query_sql
from admarket.report.stats import CI, mean_ci, paired_diff

SCENARIO_ORDER = ("A", "B", "C")


# What each scenario has, so no sentence describes a mechanism a scenario lacks.
MECHANISMS: dict[str, frozenset[str]] = {
    "A": frozenset({"exchange", "central_database"}),
    "B": frozenset({"volatile_memory", "reconciliation"}),
    "C": frozenset({"volatile_memory", "reconciliation", "ledger"}),
}


def has(scenario: str, mechanism: str) -> bool:
    """Whether ``scenario`` has ``mechanism`` (exchange, central_database, volatile_memory,
    reconciliation, ledger)."""
    return mechanism in MECHANISMS.get(scenario, frozenset())


@dataclass
class ReportData:
    """The frames a report is built from (one row per run, or per run × category)."""

    runs: pd.DataFrame
    summaries: pd.DataFrame
    daily: pd.DataFrame
    claims: pd.DataFrame  # scenario, seed, agent_type, claim_type, n, wrong
    injected: pd.DataFrame  # scenario, seed, injected, graded_wrong, caught, detected,
    # flagged (claims graded wrong or caught, injected or not), caught_all
    settlements: pd.DataFrame  # scenario, seed, outcome, n, unresolved
    plan_queries: dict[str, pd.DataFrame] = field(default_factory=dict)
    configs: dict[str, dict[str, Any]] = field(default_factory=dict)  # scenario -> config
    _per_seed: dict[tuple[str, str], dict[int, float]] = field(
        default_factory=dict, repr=False, compare=False
    )

    @property
    def scenarios(self) -> list[str]:
        """Scenarios present, in A, B, C order."""
        have = set(self.summaries["scenario"])
        return [s for s in SCENARIO_ORDER if s in have]

    @property
    def seeds(self) -> list[int]:
        """Seeds present (sorted)."""
        return sorted(int(s) for s in self.summaries["seed"].unique())

    def per_seed(self, scenario: str, column: str) -> dict[int, float]:
        """``{seed: value}`` of one summaries column for one scenario."""
        key = (scenario, column)
        if key not in self._per_seed:
            s = self.summaries[self.summaries["scenario"] == scenario]
            self._per_seed[key] = {
                int(k): float(v) for k, v in zip(s["seed"], s[column], strict=True)
            }
        return dict(self._per_seed[key])

    def ci(self, scenario: str, column: str) -> CI:
        """Mean and 95% interval across seeds of one summaries column."""
        return mean_ci(self.per_seed(scenario, column).values())

    def diff(self, a: str, b: str, column: str) -> CI:
        """Paired (same seed) difference ``a − b`` of one summaries column."""
        return paired_diff(self.per_seed(a, column), self.per_seed(b, column))

    def param(self, name: str, scenarios: list[str] | None = None) -> Any:
        """A config value; a sorted list if it differs between the runs' configs."""
        vals = {
            json.dumps(cfg.get(name))
            for s, cfg in self.configs.items()
            if scenarios is None or s in scenarios
        }
        out = [json.loads(v) for v in sorted(vals)]
        return out[0] if len(out) == 1 else out


def _df(con, sql: str) -> pd.DataFrame:
    return con.execute(sql).df()


def _add_measures(con, summaries: pd.DataFrame) -> None:
    """The glossary's measures, also for stores written before they were summary columns."""
    s = summaries
    if "wrong_decision_share" not in s.columns:
        s["wrong_decision_share"] = s["decisions"].where(s["decisions"] > 0)
        s["wrong_decision_share"] = s["hallucinated_decisions"] / s["wrong_decision_share"]
    if "wrong_claim_share" not in s.columns:
        s["wrong_claim_share"] = s["wrong_claims"] / s["claims"].where(s["claims"] > 0)
    if "fill_rate" not in s.columns:  # the DataCollector's last value of each run
        last = _df(
            con,
            "SELECT run_id, arg_max(fill_rate, step) AS fill_rate FROM step_metrics GROUP BY 1",
        )
        s["fill_rate"] = s["run_id"].map(dict(zip(last["run_id"], last["fill_rate"], strict=True)))
    for col in ("ledger_cost_sui", "ledger_cost_wal", "ledger_cost_sui_usd", "ledger_cost_wal_usd"):
        if col not in s.columns:
            s[col] = math.nan


def load(db_path: str | Path) -> ReportData:
    """Read everything a report needs from the DuckDB store at ``db_path``."""
    con = open_store(db_path)
    try:
        d = read(con)
        d.plan_queries = read_plan_queries(con)
    finally:
        con.close()
    return d


def read(con: duckdb.DuckDBPyConnection) -> ReportData:
    """The report's frames from an open store, all but the plan's queries (which the charts
    do not need: :func:`read_plan_queries` adds them while the charts are drawn)."""
    runs = _df(con, "SELECT * FROM runs ORDER BY run_id")
    summaries = _df(
        con,
        """
        SELECT s.*, c.n_campaigns, c.hit_imp, c.hit_cpm, c.overspent_n, c.hit_kpi
        FROM summaries s JOIN (
            SELECT run_id, COUNT(*) AS n_campaigns,
                   AVG(hit_impression_goal::INT) AS hit_imp,
                   AVG(hit_cpm_goal::INT) AS hit_cpm, AVG(overspent::INT) AS overspent_n,
                   AVG(hit_kpi_goal::INT) AS hit_kpi
            FROM campaigns GROUP BY run_id) c USING (run_id)
        ORDER BY run_id""",
    )
    summaries["publisher_share"] = summaries["net_to_publishers"] / summaries["gross_spend"].where(
        summaries["gross_spend"] > 0
    )
    _add_measures(con, summaries)
    daily = _df(
        con,
        "SELECT scenario, seed, simulation_day, daily_goal_attainment, active_campaigns, "
        "context_losses, "
        "agent_restart_events, state_recovery_accuracy, "
        "claims, hallucinated_claims / NULLIF(claims, 0) AS wrong_claim_share "
        "FROM daily_metrics "
        "ORDER BY scenario, seed, simulation_day",
    )
    claims = _df(
        con,
        "SELECT scenario, seed, agent_type, claim_type, COUNT(*) AS n, "
        "SUM((NOT decision_basis_verified)::INT) AS wrong FROM agent_decisions "
        "GROUP BY ALL ORDER BY ALL",
    )
    injected = _df(
        con,
        "SELECT r.scenario, r.seed, "
        "COALESCE(SUM(d.injected::INT), 0) AS injected, "
        "COALESCE(SUM((d.injected AND d.is_hallucination)::INT), 0) AS graded_wrong, "
        "COALESCE(SUM((d.injected AND d.caught_in_run)::INT), 0) AS caught, "
        "COALESCE(SUM((d.injected AND (d.is_hallucination OR d.caught_in_run))::INT), 0) "
        "AS detected, "
        "COALESCE(SUM((d.is_hallucination OR d.caught_in_run)::INT), 0) AS flagged, "
        "COALESCE(SUM(d.caught_in_run::INT), 0) AS caught_all "
        "FROM runs r LEFT JOIN agent_decisions d ON d.run_id = r.run_id "
        "GROUP BY ALL ORDER BY ALL",
    )
    settlements = _df(
        con,
        "SELECT scenario, seed, outcome, COUNT(*) AS n, SUM(unresolved::DOUBLE) AS unresolved "
        "FROM settlements GROUP BY ALL ORDER BY ALL",
    )
    configs: dict[str, dict[str, Any]] = {}
    for r in runs.itertuples(index=False):
        configs.setdefault(r.scenario, json.loads(r.config))
    return ReportData(runs, summaries, daily, claims, injected, settlements, {}, configs)


def read_plan_queries(con: duckdb.DuckDBPyConnection) -> dict[str, pd.DataFrame]:
    """The plan's four queries (``outputs/queries/*.sql``), pooled over the store's runs."""
    return {name: _df(con, query_sql(name)) for name in QUERY_NAMES}

"""The run store: finished runs as tables in one embedded DuckDB file per output directory.

A store holds many runs (scenarios × seeds × sweep points) side by side; every table carries
``run_id``, ``scenario`` and ``seed`` (except ``ground_truth``, see below), and ``runs`` keeps
each run's full config, seed and package version — and, for C, the ledger's entry count and
head hash: the anchor ``verify-ledger --store`` checks a ledger file against. Each run's
tables are built by :mod:`.run_tables`. Column names follow the plan's four SQL queries
(``admarket/outputs/queries/*.sql``), so they run with little or no change:

- ``transactions``: ``buyer_spend``, ``seller_revenue`` … (``MarketModel.transactions``)
- ``campaigns``: ``actual_impressions``, ``target_impressions``, ``actual_cpm``, ``target_cpm``,
  ``goal_attainment_score`` (``MarketModel.campaign_outcomes``)
- ``daily_metrics``: ``simulation_day``, ``daily_goal_attainment``, ``agent_restart_events``,
  ``state_recovery_accuracy``; ``goal_attainment_score`` repeats ``daily_goal_attainment``
  because the plan's context-rot query averages that name.
- ``agent_decisions`` (one row per fact a decision relied on, from ``claim_audit``) with
  ``agent_type``, ``decision_basis_verified`` (= the fact was true) and ``claimed_fact_id``,
  joined to ``ground_truth(fact_id, actual_value …)``. ``ground_truth`` has no ``scenario``
  or ``agent_type`` column on purpose: the plan's hallucination query names both unqualified
  after the join, which would be ambiguous.
- ``negotiations`` (B, C): one row per negotiation — a PG bargain, a PD taken at its fixed
  price, or a bid in a private auction — with the rounds it took and how it ended
  (``MarketModel.negotiations_frame``).
- ``ledger`` (C's hash-chained entries, payload and signatures as JSON text),
  ``ledger_blobs``, ``events`` (the model's event log; fields beyond step/day/kind in a
  JSON column), ``event_counts``,
  ``settlements`` (B/C reconciliation per deal-day), ``summaries`` (``MarketModel.summary``
  per run) and ``step_metrics`` (the DataCollector's per-hour model variables).

Atomicity is :mod:`admarket.outputs.publish`'s: a result is built beside the output folder
and swapped in whole, its ``COMPLETE`` marker (:mod:`.manifest`) written last; readers
refuse a folder without a valid marker. Reads are sandboxed (:data:`READ_CONFIG`).
"""

from __future__ import annotations

from collections.abc import Mapping
from importlib import resources
from pathlib import Path

import duckdb
import pandas as pd

from admarket.errors import StoreError, UsageError
from admarket.outputs import QUERY_NAMES
from admarket.outputs.manifest import (  # noqa: F401
    COMPLETE_MARKER,
    RECORDED_IN,
    STORE_NAME,
    check_complete,
    foreign_entries,
    record_version,
    show_entries,
)

TABLES = (
    "runs",
    "summaries",
    "transactions",
    "campaigns",
    "daily_metrics",
    "agent_decisions",
    "ground_truth",
    "settlements",
    "negotiations",
    "ledger",
    "ledger_blobs",
    "events",
    "event_counts",
    "step_metrics",
)


# --- writing -------------------------------------------------------------------------------
def write_tables(db_path: str | Path, tables: Mapping[str, pd.DataFrame]) -> None:
    """Create a DuckDB file holding ``tables`` (each frame becomes one table)."""
    con = duckdb.connect(str(db_path))
    try:
        for name, df in tables.items():
            con.register("_frame", df)
            con.execute(f'CREATE OR REPLACE TABLE "{name}" AS SELECT * FROM _frame')
            con.unregister("_frame")
        if RECORDED_IN in tables:  # a result's store: the version of its marker-to-be
            record_version(con)
    finally:
        con.close()


# --- reading -------------------------------------------------------------------------------
def require_complete(run_dir: str | Path) -> Path:
    """The store file of a complete output directory, or IncompleteRunError (exit code 2);
    a result that also holds files admarket did not write is a UsageError (exit code 2), as
    ``admarket report`` refuses it and ``admarket status`` calls it damaged, so every reader
    of a store (``query`` here and in the CLI, ``verify-ledger --store``) agrees on what a
    result is."""
    d = Path(run_dir)
    check_complete(d)  # (an incomplete result is said to be incomplete first)
    foreign = foreign_entries(d)
    if foreign:
        raise UsageError(
            f"{run_dir}: an admarket result that also holds files admarket did not write "
            f"({show_entries(foreign)}); move them out to read it"
        )
    return d / STORE_NAME


# DuckDB settings of every read of a store: the file only (no other file, no network, no
# extension installs, settings locked so SQL cannot undo this), and one thread, so that a
# SUM or AVG over floating-point columns adds in the table's (run) order and gives the
# same last digit every time (with several threads the order, and so the rounding, varies).
READ_CONFIG = {
    "enable_external_access": False,
    "autoinstall_known_extensions": False,
    "autoload_known_extensions": False,
    "threads": 1,
    "lock_configuration": True,
}


def open_store(db_path: str | Path) -> duckdb.DuckDBPyConnection:
    """A sandboxed, read-only connection to the store file ``db_path``.

    A file that is not a readable DuckDB store (truncated, corrupt, another program's) is a
    StoreError: one line, exit code 2.
    """
    try:
        return duckdb.connect(str(db_path), read_only=True, config=dict(READ_CONFIG))
    except duckdb.Error as exc:
        text = str(exc).strip().splitlines()
        raise StoreError(
            f"{db_path}: the store cannot be opened ({text[0] if text else type(exc).__name__})"
        ) from None


def connect(run_dir: str | Path) -> duckdb.DuckDBPyConnection:
    """Sandboxed read-only connection to a complete output directory's store."""
    return open_store(require_complete(run_dir))


def db_tables(db_path: str | Path) -> set[str]:
    """Names of the tables in the store file ``db_path`` (StoreError if unreadable)."""
    con = open_store(db_path)
    try:
        return {r[0] for r in con.execute("SHOW TABLES").fetchall()}
    except duckdb.Error as exc:
        raise StoreError(f"{db_path}: the store cannot be read ({first_line(exc)})") from None
    finally:
        con.close()


def first_line(exc: BaseException) -> str:
    """The first line of an error's message (its type's name if it has none)."""
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def query_sql(name: str) -> str:
    """Text of one of the plan's bundled queries (see ``QUERY_NAMES``)."""
    if name not in QUERY_NAMES:
        raise UsageError(f"unknown query {name!r}; choose one of {', '.join(QUERY_NAMES)}")
    return resources.files("admarket.outputs").joinpath("queries", f"{name}.sql").read_text()


def query(run_dir: str | Path, sql: str) -> pd.DataFrame:
    """Run SQL against a complete store, sandboxed, and return the result as a DataFrame.

    The store is opened read-only with external access disabled and the configuration
    locked: SQL can read the store's tables and nothing else (no files, no network, no
    extensions, no writes). Any refusal or SQL error is a one-line UsageError.
    """
    con = connect(run_dir)
    try:
        result = con.execute(sql)
        if result is None or result.description is None:  # "", ";", a comment alone
            raise UsageError("query failed: the SQL holds no statement that returns rows")
        return result.df()
    except duckdb.Error as exc:
        raise UsageError(f"query failed: {first_line(exc)}") from exc
    finally:
        con.close()

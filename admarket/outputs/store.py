"""The run store: finished runs as tables in one embedded DuckDB file per output directory.

A store holds many runs (scenarios × seeds × sweep points) side by side; every table carries
``run_id``, ``scenario`` and ``seed`` (except ``ground_truth``, see below), and ``runs`` keeps
each run's full config, seed and package version — and, for C, the ledger's entry count and
head hash: the anchor ``verify-ledger --store`` checks a ledger file against. Column names
follow the plan's four SQL queries (``admarket/queries/*.sql``), so they run with little or no
change:

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

import datetime as _dt
import json
from collections.abc import Iterable, Mapping
from importlib import metadata, resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb
import numpy as np
import pandas as pd

from admarket.errors import StoreError, UsageError
from admarket.llm.tables import LLM_TABLES, llm_frames
from admarket.outputs import QUERY_NAMES
from admarket.outputs.manifest import COMPLETE_MARKER, STORE_NAME, check_complete  # noqa: F401
from admarket.outputs.measures import full_summary
from admarket.version import __version__

if TYPE_CHECKING:  # pragma: no cover
    from admarket.model import MarketModel

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
_ID_COLS = ["run_id", "scenario", "seed"]


# --- building the tables of one run -------------------------------------------------------
def run_id_for(scenario: str, seed: int, point: int | None = None) -> str:
    """A run id that sorts by (point, seed, scenario) and is stable across processes."""
    head = f"p{point:04d}-" if point is not None else ""
    return f"{head}s{seed:06d}-{scenario}"


def _jsonable(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


# One encoder for every call: json.dumps with options builds a new one each time, which was
# a third of writing a large run's event log (tens of millions of lines).
_ENCODER = json.JSONEncoder(default=_jsonable, sort_keys=True, separators=(",", ":"))


def to_json(value: Any) -> str:
    """Compact, key-sorted JSON that also accepts numpy scalars (used for every JSON column)."""
    return _ENCODER.encode(value)


def _plain(df: pd.DataFrame) -> pd.DataFrame:
    """Categoricals and object columns as plain strings, so DuckDB sees VARCHAR, not ENUM."""
    for col in df.columns:
        dt = df[col].dtype
        if isinstance(dt, pd.CategoricalDtype) or dt is np.dtype(object):
            df[col] = df[col].astype("string")
    return df


def _with_ids(df: pd.DataFrame, run_id: str, scenario: str, seed: int) -> pd.DataFrame:
    # a shallow copy: the columns below are inserted, dropped or replaced, never written
    # into, so the caller's frame is untouched without copying every value (A's
    # transactions at 500 x 200 are ~3 GB)
    df = df.copy(deep=False)
    for col in _ID_COLS:
        if col in df.columns:
            df = df.drop(columns=col)
    df.insert(0, "seed", seed)
    df.insert(0, "scenario", scenario)
    df.insert(0, "run_id", run_id)
    return _plain(df)


# Column types of the tables a run may leave empty (A has no settlements and no ledger, a
# short run may have no events): an empty frame still gets these types, so a store of any
# scenario subset has the same schema and every query on it runs.
_SCHEMAS: dict[str, dict[str, str]] = {
    "settlements": {
        "step": "int64",
        "day": "int64",
        "deal": "int64",
        "campaign": "int64",
        "buyer": "string",
        "seller": "string",
        "seller_lots": "int64",
        "buyer_lots": "int64",
        "billed_lots": "int64",
        "invoice": "float64",
        "expected": "float64",
        "agreed": "float64",
        "paid": "float64",
        "outcome": "string",
        "gap": "float64",
        "disputed": "float64",
        "unresolved": "float64",
    },
    "ledger": {
        "entry_id": "int64",
        "blob_id": "int64",
        "kind": "string",
        "author": "string",
        "step": "int64",
        "day": "int64",
        "payload": "string",
        "prev_hash": "string",
        "signatures": "string",
        "hash": "string",
    },
    "ledger_blobs": {
        "blob_id": "int64",
        "n_entries": "int64",
        "payload_bytes": "int64",
        "encoded_bytes": "int64",
        "cost_sui": "float64",
        "cost_wal": "float64",
        "cost_usd": "float64",
        "last_hash": "string",
    },
    "events": {
        "seq": "int64",
        "step": "int64",
        "day": "int64",
        "kind": "string",
        "fields": "string",
    },
    "event_counts": {"kind": "string", "n": "int64"},
}


def _typed(name: str, rows: list[dict[str, Any]]) -> pd.DataFrame:
    """A frame of table ``name`` from ``rows`` with its declared columns (typed if empty)."""
    schema = _SCHEMAS[name]
    if not rows:
        return pd.DataFrame({c: pd.Series(dtype=t) for c, t in schema.items()})
    return pd.DataFrame(rows, columns=list(schema))


def _ledger_frames(m: MarketModel) -> tuple[pd.DataFrame, pd.DataFrame]:
    entries, blobs = [], []
    if m.ledger is not None:
        spd = m.config.steps_per_day
        entries = [
            {
                "entry_id": e.entry_id,
                "blob_id": e.blob_id,
                "kind": e.kind,
                "author": e.author,
                "step": e.step,
                "day": e.step // spd,
                "payload": to_json(e.payload),
                "prev_hash": e.prev_hash,
                "signatures": to_json(e.signatures),
                "hash": e.hash,
            }
            for e in m.ledger.entries
        ]
        blobs = [
            {
                "blob_id": b.blob_id,
                "n_entries": b.n_entries,
                "payload_bytes": b.payload_bytes,
                "encoded_bytes": b.cost.encoded_bytes,
                "cost_sui": b.cost.sui,
                "cost_wal": b.cost.wal,
                "cost_usd": b.cost.usd,
                "last_hash": b.last_hash,
            }
            for b in m.ledger.blobs
        ]
    return _typed("ledger", entries), _typed("ledger_blobs", blobs)


def _ledger_costs(m: MarketModel, summary: dict[str, Any]) -> dict[str, float]:
    """C's measured ledger cost beside the cost model's unbatched and batched counterfactuals."""
    out = {
        "ledger_record_bytes": np.nan,
        "ledger_unbatched_cost_per_mille": np.nan,
        "ledger_batched_cost_per_mille": np.nan,
    }
    if m.ledger is None or not m.ledger.blobs or not summary["impressions"]:
        return out
    # the counterfactuals are for C's delivery records, the bulk of its ledger cost
    cfg, cost = m.config, m.ledger.cost_model
    record_bytes = cfg.ledger_record_bytes
    out["ledger_record_bytes"] = float(record_bytes)
    out["ledger_unbatched_cost_per_mille"] = cost.per_impression_record_cost_per_mille(record_bytes)
    out["ledger_batched_cost_per_mille"] = cost.batched_cost_per_mille(
        record_bytes, cfg.impressions_per_record, cfg.records_per_blob
    )
    return out


def _header_frames(m: MarketModel, point: int | None) -> dict[str, pd.DataFrame]:
    """The one-row ``runs`` and ``summaries`` frames of a finished model."""
    cfg = m.config
    summary = full_summary(m)  # the model's summary plus the glossary's derived measures
    tx = m.transactions()
    imps = summary["impressions"]
    agent_fees = float(tx["agent_fee"].sum() + tx["protocol_fee"].sum())
    srow: dict[str, Any] = {k: v for k, v in summary.items() if k != "scenario"}
    srow.update(
        days=cfg.days,
        point=point,
        agent_fee_per_mille=agent_fees / imps * 1000 if imps else 0.0,
        **_ledger_costs(m, summary),
    )
    run = {
        "point": point,
        "config": to_json(cfg.to_dict()),
        "package_version": __version__,
        "mesa_version": metadata.version("mesa"),
        "created_at": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        # Only whole, finished runs are ever written (see ``publish``), so this is
        # "complete" — or "stopped at budget" for a run of language-model agents that
        # stopped cleanly at its --llm-budget-usd; the COMPLETE marker is what readers check.
        "status": m.policies.stopped or "complete",
        # C's ledger anchor, kept outside the ledger file (`verify-ledger --store DIR`)
        "ledger_entries": m.ledger.n_entries if m.ledger is not None else None,
        "ledger_head_hash": m.ledger.head_hash if m.ledger is not None else None,
    }
    runs = pd.DataFrame([run]).astype({"ledger_entries": "Int64", "ledger_head_hash": "string"})
    return {"runs": runs, "summaries": pd.DataFrame([srow])}


def run_summary_tables(
    m: MarketModel, run_id: str | None = None, point: int | None = None
) -> dict[str, pd.DataFrame]:
    """Just the ``runs`` and ``summaries`` rows of one finished model (for sweeps)."""
    ids = (run_id or run_id_for(m.scenario_id, int(m.config.seed), point), m.scenario_id)
    return {k: _with_ids(v, *ids, int(m.config.seed)) for k, v in _header_frames(m, point).items()}


def run_tables(
    m: MarketModel, run_id: str | None = None, point: int | None = None
) -> dict[str, pd.DataFrame]:
    """Every store table for one finished model, keyed by table name (no I/O)."""
    cfg, scen = m.config, m.scenario_id
    seed = int(cfg.seed)
    run_id = run_id or run_id_for(scen, seed, point)
    audit = m.claim_audit()
    fact_id = run_id + ":" + audit["claim_id"].astype("int64").astype(str)
    ledger, blobs = _ledger_frames(m)
    frames = {
        **_header_frames(m, point),
        "transactions": m.transactions(),
        "campaigns": m.campaign_outcomes(),
        "daily_metrics": _daily_frame(m),
        "agent_decisions": _decision_frame(audit, fact_id, cfg.steps_per_day),
        "settlements": _typed(
            "settlements", [{**r, "day": r["step"] // cfg.steps_per_day} for r in m.settlements]
        ),
        "negotiations": m.negotiations_frame(),
        "ledger": ledger,
        "ledger_blobs": blobs,
        **_event_frames(m),
        "step_metrics": m.datacollector.get_model_vars_dataframe().reset_index(names="step"),
        **llm_frames(m),  # llm_* tables, only for runs with language-model agents
    }
    out = {name: _with_ids(df, run_id, scen, seed) for name, df in frames.items()}
    out["ground_truth"] = _plain(
        pd.DataFrame(
            {
                "fact_id": fact_id,
                "run_id": run_id,
                "seed": seed,
                "step": audit["step"],
                "fact_key": audit["fact_key"],
                "actual_value": audit["actual_value"],
            }
        )
    )
    return out


def _daily_frame(m: MarketModel) -> pd.DataFrame:
    """``daily_metrics``: the model's daily rows plus the plan's column names."""
    daily = m.daily_metrics()
    daily["goal_attainment_score"] = daily["daily_goal_attainment"]
    daily["wrong_claim_share"] = daily["hallucinated_claims"] / daily["claims"].where(
        daily["claims"] > 0
    )
    return daily


def _decision_frame(audit: pd.DataFrame, fact_id: pd.Series, spd: int) -> pd.DataFrame:
    """``agent_decisions``: one row per fact a decision relied on, graded."""
    return pd.DataFrame(
        {
            "decision_id": audit["decision_id"],
            "claim_id": audit["claim_id"],
            "step": audit["step"],
            "day": audit["step"] // spd,
            "agent_id": audit["agent_id"],
            "agent_type": audit["agent_type"],
            "decision_type": audit["decision_type"],
            "claim_type": audit["claim_type"],
            "claimed_fact_id": fact_id,
            "fact_key": audit["fact_key"],
            "claimed_value": audit["claimed_value"],
            "source": audit["source"],
            "decision_basis_verified": ~audit["is_hallucination"].astype(bool),
            "is_hallucination": audit["is_hallucination"].astype(bool),
            "injected": audit["injected"].astype(bool),
            "injection_kind": audit["injection_kind"],
            "caught_in_run": audit["caught_in_run"].astype(bool),
            "recovered": audit["recovered"].astype(bool),
            "recovered_ok": audit["recovered_ok"].astype(bool),
        }
    )


def _event_frames(m: MarketModel) -> dict[str, pd.DataFrame]:
    """``events`` (fields beyond step/day/kind as JSON) and ``event_counts``."""
    events = [
        {
            "seq": i,
            "step": r["step"],
            "day": r["day"],
            "kind": r["kind"],
            "fields": to_json({k: v for k, v in r.items() if k not in ("step", "day", "kind")}),
        }
        for i, r in enumerate(m.events.records)
    ]
    counts = [{"kind": k, "n": n} for k, n in sorted(m.events.counts.items())]
    return {"events": _typed("events", events), "event_counts": _typed("event_counts", counts)}


def concat_tables(per_run: Iterable[Mapping[str, pd.DataFrame]]) -> dict[str, pd.DataFrame]:
    """Stack many runs' tables into one frame per table (in the given run order)."""
    runs = list(per_run)
    out = {}
    for name in (*TABLES, *LLM_TABLES):
        parts = [r[name] for r in runs if name in r]
        nonempty = [p for p in parts if len(p)]
        out[name] = pd.concat(nonempty or parts[:1], ignore_index=True) if parts else None
    return {k: v for k, v in out.items() if v is not None}


# --- writing -------------------------------------------------------------------------------
def write_tables(db_path: str | Path, tables: Mapping[str, pd.DataFrame]) -> None:
    """Create a DuckDB file holding ``tables`` (each frame becomes one table)."""
    con = duckdb.connect(str(db_path))
    try:
        for name, df in tables.items():
            con.register("_frame", df)
            con.execute(f'CREATE OR REPLACE TABLE "{name}" AS SELECT * FROM _frame')
            con.unregister("_frame")
    finally:
        con.close()


# --- reading -------------------------------------------------------------------------------
def require_complete(run_dir: str | Path) -> Path:
    """The store file of a complete output directory, or IncompleteRunError (exit code 2)."""
    d = Path(run_dir)
    check_complete(d)
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
        raise StoreError(f"{db_path}: the store cannot be read ({_first_line(exc)})") from None
    finally:
        con.close()


def _first_line(exc: BaseException) -> str:
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
        return con.execute(sql).df()
    except duckdb.Error as exc:
        raise UsageError(f"query failed: {_first_line(exc)}") from exc
    finally:
        con.close()

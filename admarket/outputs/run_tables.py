"""A finished run's store tables, built in memory from the model (no I/O): every table of
:data:`~admarket.outputs.store.TABLES` as a DataFrame with the run's ids, typed as the
store keeps them (:func:`run_tables`; :func:`run_summary_tables` for sweeps that keep only
the header rows).
"""

from __future__ import annotations

import datetime as _dt
import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from importlib import metadata
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np
import pandas as pd

from admarket.llm.tables import LLM_TABLES, llm_frames
from admarket.market.accounting import TRANSACTION_COLUMNS
from admarket.outputs.chunked import ChunkedTable, stacked_column
from admarket.outputs.claim_tables import (
    chunked_claims,
    decision_table,
    truth_table,
)
from admarket.outputs.measures import full_summary
from admarket.outputs.run_ids import ID_COLUMNS, run_id_for, with_ids
from admarket.outputs.store import TABLES
from admarket.version import __version__

if TYPE_CHECKING:  # pragma: no cover
    from admarket.ledger.entry import LedgerEntry
    from admarket.model import MarketModel


def _jsonable(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    if isinstance(value, Mapping):  # e.g. a ledger entry's Signatures
        return dict(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


# One encoder for every call: json.dumps with options builds a new one each time, which was
# a third of writing a large run's event log (tens of millions of lines).
_ENCODER = json.JSONEncoder(default=_jsonable, sort_keys=True, separators=(",", ":"))


def to_json(value: Any) -> str:
    """Compact, key-sorted JSON that also accepts numpy scalars, sets, tuples and any
    mapping (used for every JSON column)."""
    return _ENCODER.encode(value)


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


def _entry_rows(entries: Iterable[LedgerEntry], spd: int) -> list[dict[str, Any]]:
    """The ``ledger`` table's rows of ``entries`` (payload and signatures as JSON)."""
    return [
        {
            "entry_id": e.entry_id,
            "blob_id": e.blob_id,
            "kind": e.kind,
            "author": e.author,
            "step": e.step,
            "day": e.step // spd,
            "payload": e.payload_text,  # canonical JSON: what to_json gives of the payload
            "prev_hash": e.prev_hash,
            "signatures": to_json(e.signatures),
            "hash": e.hash,
        }
        for e in entries
    ]


def _blobs_frame(m: MarketModel) -> pd.DataFrame:
    """``ledger_blobs``: C's sealed blobs and their cost (empty for A and B)."""
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
        for b in (m.ledger.blobs if m.ledger is not None else ())
    ]
    return _typed("ledger_blobs", blobs)


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
    imps = summary["impressions"]
    # the transactions table's two columns' sums, without building it (20 M rows in a large A)
    agent_fees = m.accounts.column_total("agent_fee") + m.accounts.column_total("protocol_fee")
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
    return {k: with_ids(v, *ids, int(m.config.seed)) for k, v in _header_frames(m, point).items()}


def run_tables(
    m: MarketModel,
    run_id: str | None = None,
    point: int | None = None,
    chunk_rows: int | None = None,
) -> dict[str, Any]:
    """Every store table for one finished model, keyed by table name (no I/O): DataFrames,
    and with ``chunk_rows`` the transactions as a :class:`ChunkedTable` of frames of about
    that many rows (for a spooling worker, or the store in this process, that writes it a
    chunk at a time), and so are the claims (``agent_decisions``, ``ground_truth``) when
    there are more than ``chunk_rows`` of them (in chunks of
    :func:`~admarket.outputs.claim_tables.claim_chunk_rows`) and the ``ledger``, ``events``
    and ``settlements`` when there are more than a chunk of them
    (:func:`record_chunk_rows`)."""
    cfg, scen = m.config, m.scenario_id
    seed = int(cfg.seed)
    run_id = run_id or run_id_for(scen, seed, point)
    # claims that fit in one chunk are built whole, once for both tables; more go a chunk
    # at a time (C's at 500 x 200: millions of rows, ~1 GB as frames)
    chunk_claims = chunk_rows is not None and len(m.claims) > chunk_rows
    audit = None if chunk_claims else m.claims.frame()
    ids = (run_id, scen, seed)
    frames = {
        **_header_frames(m, point),
        "transactions": m.transactions() if chunk_rows is None else None,
        "campaigns": m.campaign_outcomes(),
        "daily_metrics": _daily_frame(m),
        "settlements": _settlement_records(m),
        "negotiations": m.negotiations_frame(),
        "ledger": _ledger_records(m),
        "ledger_blobs": _blobs_frame(m),
        "events": _event_records(m),
        "event_counts": _typed(
            "event_counts", [{"kind": k, "n": n} for k, n in sorted(m.events.counts.items())]
        ),
        "step_metrics": m.datacollector.get_model_vars_dataframe().reset_index(names="step"),
        **llm_frames(m),  # llm_* tables, only for runs with language-model agents
    }
    out: dict[str, Any] = {}
    for name, table in frames.items():
        if isinstance(table, _Records):
            out[name] = _records_table(name, *table, ids, chunk_rows)
        elif table is not None:
            out[name] = with_ids(table, *ids)
    if chunk_rows is not None:
        out["transactions"] = _chunked_transactions(m, ids, chunk_rows)
    if audit is None:
        assert chunk_rows is not None
        out["agent_decisions"], out["ground_truth"] = chunked_claims(m, ids, chunk_rows)
    else:
        out["agent_decisions"] = decisions = decision_table(audit, ids, cfg.steps_per_day)
        out["ground_truth"] = truth_table(audit, ids, decisions["claimed_fact_id"])
    return out


def _chunked_transactions(
    m: MarketModel, ids: tuple[str, str, int], chunk_rows: int
) -> ChunkedTable:
    """The ``transactions`` table as chunks of whole hours' rows (the model not kept)."""
    acc, spd = m.accounts, m.config.steps_per_day

    def chunks() -> Iterator[pd.DataFrame]:
        for df in acc.transaction_chunks(spd, chunk_rows):
            yield with_ids(df, *ids)

    def whole() -> pd.DataFrame:
        return with_ids(acc.transactions(spd), *ids)

    def column(name: str) -> np.ndarray:
        if name in ID_COLUMNS:  # as with_ids gives them: the seed int64, the texts objects
            value = dict(zip(ID_COLUMNS, ids, strict=True))[name]
            return np.full(acc.n_rows, value, dtype=np.int64 if name == "seed" else object)
        return acc.transaction_column(name, spd)

    n_columns = len(ID_COLUMNS) + len(TRANSACTION_COLUMNS)
    return ChunkedTable(acc.n_rows, n_columns, chunks, whole, column, acc.steps_ascend)


# Rows of a records table (``ledger``, ``events``, ``settlements``: built from the model's
# record logs) in a chunk, as a share of ``chunk_rows`` (a transaction's row, ~330
# bytes as a frame). A ledger row is ~1 KB as a frame (its payload's JSON), an event's or a
# settlement's ~350 bytes, but building a frame from records takes several times the frame
# (C's 114 k settlements at 500 x 200: +51 MiB while built): chunks of 40k-60k rows.
RECORD_CHUNK_SHARE = {"ledger": 6, "events": 4, "settlements": 4}


def record_chunk_rows(name: str, chunk_rows: int) -> int:
    """Rows in a chunk of records table ``name`` for ``chunk_rows`` rows of transactions."""
    return max(1, chunk_rows // RECORD_CHUNK_SHARE[name])


def _records_table(
    name: str,
    n: int,
    rows: Callable[[int, int], list[dict[str, Any]]],
    steps: Iterable[int],
    ids: tuple[str, str, int],
    chunk_rows: int | None,
) -> pd.DataFrame | ChunkedTable:
    """Records table ``name`` of ``n`` records, ``rows(start, stop)`` giving records
    ``start:stop``'s rows: a frame, or with ``chunk_rows`` and more than a chunk of records,
    a :class:`ChunkedTable` of :func:`record_chunk_rows` records a chunk (C's ledger, events
    and settlements at 500 × 200 are ~300 MB as frames: built while the model was held they
    were its worker's peak). ``rows`` must not hold the model: only its record logs, which
    the model held anyway."""

    def frame(start: int, stop: int) -> pd.DataFrame:
        df = _typed(name, rows(start, stop))
        df.index = pd.RangeIndex(start, stop)  # labelled as in the whole frame
        return with_ids(df, *ids)

    per_chunk = None if chunk_rows is None else record_chunk_rows(name, chunk_rows)
    if per_chunk is None or n <= per_chunk:
        return frame(0, n)

    def chunks() -> Iterator[pd.DataFrame]:
        for start in range(0, n, per_chunk):
            yield frame(start, min(n, start + per_chunk))

    at = np.fromiter(steps, dtype=np.int64, count=n)
    n_columns = len(ID_COLUMNS) + len(_SCHEMAS[name])
    ascend = bool((np.diff(at) >= 0).all())
    return ChunkedTable(n, n_columns, chunks, lambda: frame(0, n), stacked_column(chunks), ascend)


def _daily_frame(m: MarketModel) -> pd.DataFrame:
    """``daily_metrics``: the model's daily rows plus the plan's column names."""
    daily = m.daily_metrics()
    daily["goal_attainment_score"] = daily["daily_goal_attainment"]
    daily["wrong_claim_share"] = daily["hallucinated_claims"] / daily["claims"].where(
        daily["claims"] > 0
    )
    return daily


class _Records(NamedTuple):
    """A records table's source (see :func:`_records_table`): how many records, their rows
    by slice, and their steps."""

    n: int
    rows: Callable[[int, int], list[dict[str, Any]]]
    steps: Iterable[int]


def _event_records(m: MarketModel) -> _Records:
    """``events``: fields beyond step/day/kind as JSON."""
    records = m.events.records

    def rows(start: int, stop: int) -> list[dict[str, Any]]:
        return [
            {
                "seq": i,
                "step": r["step"],
                "day": r["day"],
                "kind": r["kind"],
                "fields": to_json({k: v for k, v in r.items() if k not in _EVENT_HEAD}),
            }
            for i, r in enumerate(records[start:stop], start)
        ]

    return _Records(len(records), rows, records.steps())


_EVENT_HEAD = ("step", "day", "kind")


def _settlement_records(m: MarketModel) -> _Records:
    """``settlements``: one row per settled deal-day (B and C)."""
    records, spd = m.settlements, m.config.steps_per_day

    def rows(start: int, stop: int) -> list[dict[str, Any]]:
        return [{**r, "day": r["step"] // spd} for r in records[start:stop]]

    return _Records(len(records), rows, records.column("step"))


def _ledger_records(m: MarketModel) -> _Records:
    """``ledger``: C's entries (payload and signatures as JSON; none for A and B)."""
    entries = m.ledger.entries if m.ledger is not None else ()
    spd = m.config.steps_per_day

    def rows(start: int, stop: int) -> list[dict[str, Any]]:
        return _entry_rows(entries[start:stop], spd)

    return _Records(len(entries), rows, (e.step for e in entries))


def concat_tables(per_run: Iterable[Mapping[str, pd.DataFrame]]) -> dict[str, pd.DataFrame]:
    """Stack many runs' tables into one frame per table (in the given run order)."""
    runs = list(per_run)
    out = {}
    for name in (*TABLES, *LLM_TABLES):
        parts = [r[name] for r in runs if name in r]
        nonempty = [p for p in parts if len(p)]
        out[name] = pd.concat(nonempty or parts[:1], ignore_index=True) if parts else None
    return {k: v for k, v in out.items() if v is not None}

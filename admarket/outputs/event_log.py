"""The event log of one run (``RUN_ID.events.jsonl``): one JSON line per event, in time order.

It merges the model's own events (deals, negotiations, context losses, restarts,
hallucinations, disputes, campaign stops) with events read off the books: each auction
clearing, each delivery settled, each fee charged, each ledger write and each recovery of a
lost fact. Events of one step keep that order (model events, then transactions — each
followed by its fee line — then ledger writes, then recoveries), and each kind keeps its
rows' order within a step.

The log is streamed: each kind's rows are put in step order (a stable sort by step, a no-op
for tables recorded in time order) and the kinds are merged step by step, a chunk of rows
at a time, the transaction lines of one step as one block of text. A large market's log
has tens of millions of lines (scenario A: two per transaction row); building every line's
dict before sorting them all held gigabytes.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np
import pandas as pd

from admarket.market.accounting import FEE_COLUMNS, TRADE_COLUMNS
from admarket.outputs.chunked import Table, frames_in_step_order, rows_where
from admarket.outputs.moments import events
from admarket.outputs.run_tables import to_json

CHUNK_ROWS = 50_000  # rows turned into Python values at a time
# what an auction or settlement row's line is called (any other kind has only a fee line)
_LINE_KIND = {"auction": "auction", "settlement": "delivery"}
_LEDGER_FIELDS = ("entry_id", "blob_id", "kind", "author", "hash")
_RECOVERY_FIELDS = ("agent_id", "fact_key", "source", "recovered_ok")


def event_lines(tables: Mapping[str, pd.DataFrame]) -> Iterator[str]:
    """One JSON line per event of the run, in time order (model events, books, ledger)."""
    for block in event_blocks(tables):
        yield from block[:-1].split("\n")  # JSON text holds no raw newline


def event_blocks(tables: Mapping[str, pd.DataFrame]) -> Iterator[str]:
    """The event log's text in blocks of whole lines, each ending in a newline: what
    :func:`event_lines` gives, joined. The transaction rows of one step come as one block,
    so a log of tens of millions of lines is merged and written a step at a time."""
    run = tables["runs"].iloc[0]
    ids = {"run_id": str(run["run_id"]), "scenario": str(run["scenario"])}
    model_events = sorted(events(tables), key=lambda e: int(e["step"]))  # stable
    sources = [
        _as_lines(((int(e["step"]), e) for e in model_events), ids),
        _transaction_lines(tables.get("transactions"), ids),
        _as_lines(_ledger_events(tables.get("ledger")), ids),
        _as_lines(_recovery_events(tables.get("agent_decisions")), ids),
    ]
    # each item is one step's lines of one source; ties on step go to the earlier source
    # (heapq.merge is stable): the order described above
    for _, block in heapq.merge(*sources, key=lambda item: item[0]):
        yield block


def _as_lines(
    rows: Iterator[tuple[int, dict[str, Any]]], ids: dict[str, str]
) -> Iterator[tuple[int, str]]:
    for step, r in rows:
        yield step, to_json({**ids, **r}) + "\n"


def _chunks(df: pd.DataFrame, columns: tuple[str, ...]) -> Iterator[dict[str, np.ndarray]]:
    """``df``'s ``step``, ``day`` and ``columns`` in step order (a stable sort), as arrays
    of at most :data:`CHUNK_ROWS` rows."""
    steps = df["step"].to_numpy()
    order = None if (np.diff(steps) >= 0).all() else np.argsort(steps, kind="stable")
    arrays = {c: df[c].to_numpy() for c in ("step", "day", *columns)}
    for start in range(0, len(df), CHUNK_ROWS):
        rows: slice | np.ndarray = slice(start, start + CHUNK_ROWS)
        if order is not None:
            rows = order[rows]
        yield {c: a[rows] for c, a in arrays.items()}


def _rows(df: pd.DataFrame, columns: tuple[str, ...]) -> Iterator[tuple[int, dict[str, Any]]]:
    """``(step, {column: value})`` for each row of ``df`` in step order (stable), values as
    Python scalars (as ``DataFrame.to_dict("records")`` gives them)."""
    names = ("step", "day", *columns)
    for chunk in _chunks(df, columns):
        for values in zip(*(chunk[c].tolist() for c in names), strict=True):
            yield int(values[0]), dict(zip(names, values, strict=True))


def _json_texts(values: np.ndarray) -> np.ndarray:
    """Each value's JSON text as :func:`to_json` writes it: integers and finite floats are
    their ``repr`` (what the encoder writes for them), anything else goes through it."""
    if values.dtype.kind in "iu":
        texts = list(map(int.__repr__, values.tolist()))
    elif values.dtype.kind == "f" and np.isfinite(values).all():
        money = _cents_texts(values)
        if money is not None:
            return money
        texts = list(map(float.__repr__, values.tolist()))
    else:
        texts = list(map(to_json, values.tolist()))
    return _objects(texts)


def _objects(texts: list[str]) -> np.ndarray:
    out = np.empty(len(texts), dtype=object)
    out[:] = texts
    return out


# ".0", ".01", …, ".1", …, ".99": the decimals repr gives a whole number of cents
_CENT_TAILS = _objects([".0" if r == 0 else f".{r:02d}".rstrip("0") for r in range(100)])


def _cents_texts(values: np.ndarray) -> np.ndarray | None:
    """``repr`` of each value, when every one is a whole number of cents (money columns are
    cents / 100), else None. Such a value's shortest round-tripping decimal is its cents
    written out, trailing zero dropped: below 10^12 a double's spacing is under a
    thousandth of a cent, so no other number of two decimals or fewer reads back as it
    (tests/test_event_log.py checks it against repr). Negative values and -0.0 are left to
    repr, as are the rest."""
    if values.dtype != np.float64 or not len(values):  # a float32's repr is another text
        return None
    if np.signbit(values).any() or values.max() >= 1e12:
        return None
    cents = np.rint(values * 100.0)
    if not (cents / 100.0 == values).all():  # not exactly a number of cents
        return None
    whole, part = np.divmod(cents.astype(np.int64), 100)
    return _objects(list(map(int.__repr__, whole.tolist()))) + _CENT_TAILS[part]


def _template(fields: Mapping[str, str | None]) -> tuple[str, list[str]]:
    """A ``%`` format of a JSON object with these keys in the encoder's (sorted) order:
    a field given as JSON text is written into it, a field given as None is a ``%s`` slot;
    returns the format and the slots' keys in order."""
    parts, slots = [], []
    for key in sorted(fields):
        text = fields[key]
        if text is None:
            slots.append(key)
        parts.append(f"{to_json(key)}:{'%s' if text is None else text.replace('%', '%%')}")
    return "{" + ",".join(parts) + "}", slots


class _Texts(dict):
    """Each column's JSON texts (:func:`_json_texts`), made when a line first needs them: a
    fee column that no row of the chunk charged is never written."""

    def __init__(self, chunk: Mapping[str, np.ndarray]):
        super().__init__()
        self._chunk = chunk

    def __missing__(self, column: str) -> np.ndarray:
        texts = self[column] = _json_texts(self._chunk[column])
        return texts


def _fill(fmt: str, slots: list[str], texts: Mapping[str, np.ndarray], rows: np.ndarray) -> list:
    """``fmt`` filled from the ``rows`` of each slot's text column."""
    return list(map(fmt.__mod__, zip(*(texts[k][rows] for k in slots), strict=True)))


def _step_blocks(steps: np.ndarray, main: np.ndarray, fee: np.ndarray) -> Iterator[tuple[int, str]]:
    """Rows' lines (each row's main line, then its fee line; None: no such line) as one
    newline-ended block per run of rows of one step (``steps`` ascending)."""
    lines = np.stack([main, fee], axis=1).ravel()  # row 0's two lines, row 1's, …
    at = np.repeat(steps, 2)
    kept = np.flatnonzero(lines != None)  # noqa: E711 - elementwise, on objects
    lines, at = lines[kept].tolist(), at[kept]
    cuts = [0, *(np.flatnonzero(at[1:] != at[:-1]) + 1).tolist(), len(lines)]
    for a, b in itertools.pairwise(cuts):
        if b > a:
            yield int(at[a]), "\n".join(lines[a:b]) + "\n"


def _transaction_lines(tx: Table | None, ids: dict[str, str]) -> Iterator[tuple[int, str]]:
    """Each transaction row as an auction clearing or a settled delivery, each followed by
    the fees charged on it (a ledger-cost row gives only its fee line). A chunked table
    whose rows are in step order is read a chunk at a time.

    Most of a large run's lines, so they are written from per-column JSON texts into
    per-shape templates (equal to encoding each line's dict: tests/test_event_log.py)."""
    if tx is None or not len(tx):
        return
    # (a step's rows split over two chunks give two blocks of that step, one after the
    # other: the merge keeps them in order, as it does blocks split by _chunks)
    for frame in frames_in_step_order(tx):
        yield from _frame_lines(frame, ids)


def _frame_lines(tx: pd.DataFrame, ids: dict[str, str]) -> Iterator[tuple[int, str]]:
    """:func:`_transaction_lines` of a whole table, or of one chunk of one."""
    if tx.empty:
        return
    if any(tx[c].dtype.kind not in "iuf" for c in FEE_COLUMNS):
        yield from _as_lines(_transaction_events(tx), ids)  # not plain numbers: the sure way
        return
    const: dict[str, str | None] = {k: to_json(v) for k, v in ids.items()}
    head = ("step", "day", "campaign", "seller", "deal")
    for chunk in _chunks(tx, ("kind", *TRADE_COLUMNS, *FEE_COLUMNS)):
        n = len(chunk["step"])
        kinds = chunk["kind"].astype(object)
        texts = _Texts(chunk)
        main = np.full(n, None, dtype=object)
        fee = np.full(n, None, dtype=object)
        charged = [chunk[c] != 0 for c in FEE_COLUMNS]  # NaN counts, as truthiness does
        for kind in dict.fromkeys(kinds.tolist()):
            of_kind = kinds == kind
            label = _LINE_KIND.get(kind)
            if label is not None:
                fmt, slots = _template({**const, "kind": to_json(label)} | _free(TRADE_COLUMNS))
                rows = np.flatnonzero(of_kind)
                main[rows] = _fill(fmt, slots, texts, rows)
            mask = sum(((b & of_kind).astype(np.int64) << j for j, b in enumerate(charged)))
            for m in np.unique(mask[of_kind & (mask > 0)]):
                names = [c for j, c in enumerate(FEE_COLUMNS) if m >> j & 1]
                shape: dict[str, str | None] = {
                    **const,
                    "kind": to_json("fee"),
                    "on": to_json(kind),
                }
                fmt, slots = _template(shape | _free((*head, *names)))
                rows = np.flatnonzero(mask == m)
                fee[rows] = _fill(fmt, slots, texts, rows)
        yield from _step_blocks(chunk["step"], main, fee)


def _free(keys: tuple[str, ...]) -> dict[str, str | None]:
    return dict.fromkeys(("step", "day", *keys))


def _transaction_events(tx: pd.DataFrame) -> Iterator[tuple[int, dict[str, Any]]]:
    """:func:`_transaction_lines`' events as dicts (for columns that are not plain numbers)."""
    for step, t in _rows(tx, ("kind", *TRADE_COLUMNS, *FEE_COLUMNS)):
        kind = _LINE_KIND.get(t["kind"], "fee")
        head = {"step": t["step"], "day": t["day"], "kind": kind}
        if kind != "fee":
            yield step, head | {c: t[c] for c in TRADE_COLUMNS}
        fees = {c: t[c] for c in FEE_COLUMNS if t[c]}
        if fees:
            fee = {"step": t["step"], "day": t["day"], "kind": "fee", "on": t["kind"]}
            fee |= {"campaign": t["campaign"], "seller": t["seller"], "deal": t["deal"], **fees}
            yield step, fee


def _ledger_events(ledger: Table | None) -> Iterator[tuple[int, dict[str, Any]]]:
    """Each ledger entry as a write by its author (a chunk at a time if it comes chunked
    in step order, as C's entries are)."""
    if ledger is None or not len(ledger):
        return
    for frame in frames_in_step_order(ledger):
        for step, e in _rows(frame, _LEDGER_FIELDS):
            yield (
                step,
                {
                    "step": e["step"],
                    "day": e["day"],
                    "kind": "ledger_write",
                    "entry_id": e["entry_id"],
                    "blob_id": e["blob_id"],
                    "entry_kind": e["kind"],
                    "author": e["author"],
                    "hash": e["hash"],
                },
            )


def _recovery_events(dec: Table | None) -> Iterator[tuple[int, dict[str, Any]]]:
    """Each claim that came from recovering a lost fact, and whether it was accurate (the
    claims read a chunk at a time if they come chunked)."""
    if dec is None or not len(dec):
        return
    for step, c in _rows(rows_where(dec, lambda frame: frame["recovered"]), _RECOVERY_FIELDS):
        yield (
            step,
            {
                "step": c["step"],
                "day": c["day"],
                "kind": "recovery",
                "agent": c["agent_id"],
                "fact_key": c["fact_key"],
                "source": c["source"],
                "accurate": c["recovered_ok"],
            },
        )

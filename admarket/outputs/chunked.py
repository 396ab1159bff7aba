"""A large table handed over as frames to write one after the other, never held whole."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd


@dataclass(frozen=True, eq=False)
class ChunkedTable:
    """A run's large table as frames to write one after the other, never held whole (A's
    transactions, B's and C's claims in ``agent_decisions`` and ``ground_truth``, C's
    ledger, events and settlements: :func:`~admarket.outputs.run_tables.run_tables` with
    ``chunk_rows``).

    :func:`~admarket.outputs.store_writer.spool_tables` (a worker's spool file) and
    :class:`~admarket.outputs.store_writer.StoreWriter` (the store, for a run in this
    process) write it chunk by chunk, the event log reads it chunk by chunk, and A's
    narrative a column at a time (:func:`column_of`, :func:`rows_of_kind`; the events and
    settlements it builds whole, in ``write_logs``, once the model is let go); whatever else
    must hold the table (a run sent to the parent) builds it with :meth:`whole`
    (:func:`held_whole`). The frames, stacked, are
    :meth:`whole`: the same rows in the same order with the same dtypes."""

    rows: int
    n_columns: int
    chunks: Callable[[], Iterator[pd.DataFrame]]
    whole: Callable[[], pd.DataFrame]
    # one column as the whole table's ``[name].to_numpy()`` gives it, built alone
    column: Callable[[str], np.ndarray]
    steps_ascend: bool  # rows in step order (the event log then reads it chunk by chunk)

    def __len__(self) -> int:
        return self.rows

    @property
    def size(self) -> int:
        """Cells (rows × columns), as ``DataFrame.size``."""
        return self.rows * self.n_columns


def held_whole(tables: Mapping[str, Any], below: int | None = None) -> dict[str, Any]:
    """``tables`` with every :class:`ChunkedTable` built whole (a DataFrame); with
    ``below``, only those of fewer cells (a small one is cheaper whole, built once for
    everything that reads it, than chunked and built again for each reader)."""
    return {
        k: v.whole() if isinstance(v, ChunkedTable) and (below is None or v.size < below) else v
        for k, v in tables.items()
    }


type Table = pd.DataFrame | ChunkedTable  # a run's large table, whole or chunked


def stacked_column(chunks: Callable[[], Iterator[pd.DataFrame]]) -> Callable[[str], np.ndarray]:
    """A :attr:`ChunkedTable.column` that reads every chunk for the one column: for tables
    whose columns cannot be built alone (their chunks come from records)."""

    def column(name: str) -> np.ndarray:
        return np.concatenate([frame[name].to_numpy() for frame in chunks()])

    return column


def frames_in_step_order(table: Table) -> Iterator[pd.DataFrame]:
    """``table``'s rows as frames that, one after the other, are in step order if the
    rows of each are sorted by step: a whole table as itself, a chunked one a chunk at a
    time if its rows ascend by step, else built whole."""
    if not isinstance(table, ChunkedTable):
        yield table
    elif table.steps_ascend:
        yield from table.chunks()
    else:
        yield table.whole()


def column_of(table: Table, name: str) -> np.ndarray:
    """Column ``name`` of a table, whole or chunked, as ``DataFrame[name].to_numpy()``."""
    return table.column(name) if isinstance(table, ChunkedTable) else table[name].to_numpy()


def rows_of_kind(table: Table, kind: str) -> pd.DataFrame:
    """The rows of a transactions table whose ``kind`` is ``kind``, with the whole table's
    row labels, whether it is whole or chunked (chunked: one chunk held at a time)."""
    return rows_where(table, lambda frame: frame["kind"] == kind)


def rows_where(table: Table, keep: Callable[[pd.DataFrame], Any]) -> pd.DataFrame:
    """The rows of ``table`` (whole or chunked) for which ``keep(frame)`` (a boolean mask of
    a frame's rows) is true, in order, with the whole table's row labels; a chunked table is
    read one chunk at a time, so only the rows kept are ever held together."""
    if not isinstance(table, ChunkedTable):
        return table[keep(table)]
    parts, at = [], 0
    for frame in table.chunks():
        frame.index = pd.RangeIndex(at, at + len(frame))
        at += len(frame)
        parts.append(frame[keep(frame)])
    return pd.concat(parts) if len(parts) > 1 else parts[0]

"""Writing a store run by run: a study's tables go to disk as its runs finish.

``compare`` hands each finished run to a :class:`StoreWriter` instead of holding every
run's tables until the end, so the memory of a study does not grow with its seeds; the
store it leaves is the one :func:`~admarket.outputs.store.write_tables` would write from
all runs at once.

A run's large tables need not pass through the parent at all: the worker that ran it
leaves them in a DuckDB file of its own (:func:`spool_tables`, a :class:`SpooledTable` in
place of each), which the writer copies into the store inside DuckDB and deletes. A 500 ×
200 run of A holds a 19 M-row transactions table (3.8 GB as a DataFrame): sent whole, the
worker held it twice while pickling it and the parent twice more while unpickling and
stacking it. Spooled, it is written a chunk of about :data:`CHUNK_ROWS` rows at a time (a
:class:`~admarket.outputs.chunked.ChunkedTable`; the run's logs read it so too), so the
worker never holds it whole. The run's other tables from :data:`SPOOL_COMPANION_CELLS` up go
into the same file, so the worker never pickles them either.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd

from admarket.llm.tables import LLM_TABLES
from admarket.outputs.chunked import ChunkedTable, held_whole
from admarket.outputs.manifest import RECORDED_IN, record_version
from admarket.outputs.store import TABLES

# DuckDB's buffer cache while a study streams into its store (or a worker into its spool
# file): it keeps written blocks cached up to 80% of RAM by default, which would make the
# writer grow with the study after all. With 128 MB (256 MB before) and CHUNK_ROWS 250 k
# (1 M before) a 500 × 200 compare worker of A peaked at 873 MB, not 1,244 MB; the main
# job's tail (no chunked table at plan scale, only this cache) was inconclusive: two
# interleaved batches moved it either way on a noisy machine
WRITER_CACHE = "128MB"
# A worker's spool file is written once and never read in the worker: its cache is only a
# write buffer, and one thread is enough (a pool's other workers have the other cores; on
# pandas frames DuckDB's parallel scan cost more CPU than it saved). With 64 MB and one
# thread (128 MB and every core before) and the claims' smaller chunks, `run_task` at
# 500 x 200 peaked at A 889 -> 842, B 874 -> 759, C 1,328 -> 1,213 MiB (C's worker then
# peaked sending its result: see SPOOL_COMPANION_CELLS); writing A's 200 x 100
# transactions took 6.3-6.9 -> 5.6-6.1 s CPU
SPOOL_CONFIG: dict[str, str | bool | int | float | list[str]] = {
    "memory_limit": "64MB",
    "threads": 1,
}

# The tables a spooled run still sends as frames: the caller reads them (a run's scenario
# and seed, its summary row) and they are one row each.
SENT_WHOLE = ("runs", "summaries")
# A table is spooled from this many cells (rows × columns) up: at plan scale none is (A's
# transactions are 1.2 M cells), so the main job's runs travel as before; from 100 × 50 up,
# A's transactions and B's and C's claims are.
SPOOL_CELLS = 4_000_000
# A table written chunk by chunk goes in frames of about this many rows (A's transactions,
# ~80 MB; B's and C's claims a quarter as many, ~40 MB: claim_tables.claim_chunk_rows), so
# its writer never holds the whole table (A's is 4 GB at 500 × 200).
CHUNK_ROWS = 250_000
# Once a run has a table to spool, its other tables of this many cells or more go into the
# same file: sent to the parent they were pickled beside themselves at the end of the task
# (C at 500 x 200: ~170 MB of ledger, settlements and events), which was the worker's peak
# once its claims went in smaller chunks; smaller tables are not worth a table in the file.
SPOOL_COMPANION_CELLS = 100_000


@dataclass(frozen=True)
class SpooledTable:
    """A run's table left by its worker in a DuckDB file (see :func:`spool_tables`)."""

    path: str
    name: str
    cells: int  # rows × columns, as DataFrame.size
    columns: tuple[tuple[str, str], ...] = ()  # (name, DuckDB type) in the file


@dataclass(frozen=True)
class StoredTable:
    """A run's table read from the store of a published result (a compare extended with
    ``--resume``, :mod:`admarket.outputs.result_runs`): the run's rows there, each column
    cast to the type it had when the run was written (in its worker's spool file, or as
    DuckDB read its frame). The store is only read."""

    path: str
    name: str
    run_id: str
    columns: tuple[tuple[str, str], ...]  # (name, DuckDB type), in the run's own order
    cells: int

    def select(self, alias: str) -> str:
        """The query that reads the run's rows from the store attached as ``alias``."""
        cols = ", ".join(f"CAST({_ident(c)} AS {t}) AS {_ident(c)}" for c, t in self.columns)
        run = self.run_id.replace("'", "''")
        return f"(SELECT {cols} FROM {alias}.{_ident(self.name)} WHERE run_id = '{run}')"


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def spool_tables(
    tables: Mapping[str, object],
    path: str | Path,
    min_cells: int = SPOOL_CELLS,
    companion_cells: int | None = None,
) -> dict[str, object]:
    """Write every table of ``tables`` holding at least ``min_cells`` cells (and a row; not
    :data:`SENT_WHOLE`) into a new DuckDB file at ``path``, and with them every other such
    table of at least ``companion_cells`` (default :data:`SPOOL_COMPANION_CELLS`, read now:
    a test may lower it); returns ``tables`` with each of those replaced by its
    :class:`SpooledTable` (and any :class:`ChunkedTable` not spooled built whole). A
    ChunkedTable is written a chunk at a time. The file is created only when something is
    spooled, and never in a folder that is gone (a study that failed removed it)."""
    candidates = {
        name: df
        for name, df in tables.items()
        if isinstance(df, pd.DataFrame | ChunkedTable)
        and name in (*TABLES, *LLM_TABLES)
        and name not in SENT_WHOLE
        and len(df)
    }
    if not any(df.size >= min_cells for df in candidates.values()):
        return held_whole(tables)
    floor = min(min_cells, SPOOL_COMPANION_CELLS if companion_cells is None else companion_cells)
    big = [name for name, df in candidates.items() if df.size >= floor]
    out = dict(tables)
    # written under a name of its own, then renamed: a run tried again after its worker was
    # lost (Dask reruns it) finds no half-written file, and two tries never write one file
    path = Path(path)
    part = path.with_name(f".{path.name}.{os.getpid()}.part")
    con = duckdb.connect(str(part), config=SPOOL_CONFIG)
    try:
        for name in big:
            df = out[name]
            assert isinstance(df, pd.DataFrame | ChunkedTable)
            frames = df.chunks() if isinstance(df, ChunkedTable) else iter((df,))
            # the first chunk makes the table, its types those of every chunk
            add = f'CREATE TABLE "{name}" AS SELECT * FROM _frame'
            for frame in frames:
                con.register("_frame", frame)
                con.execute(add)
                con.unregister("_frame")
                add = f'INSERT INTO "{name}" SELECT * FROM _frame'
            columns = con.execute(f'SELECT column_name, column_type FROM (DESCRIBE "{name}")')
            described = tuple((str(c), str(t)) for c, t in columns.fetchall())
            out[name] = SpooledTable(str(path), name, int(df.size), described)
        con.close()
        os.replace(part, path)
    finally:
        con.close()
        part.unlink(missing_ok=True)
    return held_whole(out)


_INTEGER_TYPES = frozenset(
    {"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT"}
    | {"UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT", "UHUGEINT"}
)


def written_in_chunks(part: object, cells: int | None = None) -> bool:
    """Whether ``part`` is a :class:`ChunkedTable` large enough to be written a chunk at a
    time: ``cells`` cells or more (default :data:`SPOOL_CELLS`, read now: a test may lower
    it); a smaller one is built whole, once, for everything that reads it."""
    threshold = SPOOL_CELLS if cells is None else cells
    return isinstance(part, ChunkedTable) and part.size >= threshold


def _cells(part: object) -> int:
    if isinstance(part, SpooledTable | StoredTable):
        return part.cells
    return part.size if isinstance(part, pd.DataFrame | ChunkedTable) else 0


class StoreWriter:
    """A new store that takes runs' tables as the runs finish, and writes them in run order.

    Runs are numbered 0, 1, 2 … and may arrive in any order (a pool's runs finish as they
    finish). A run waits until every earlier run has arrived; runs in order are gathered and
    written together once they hold ``flush_cells`` table cells (rows × columns: about 8
    bytes each, more for text) or ``flush_runs`` runs, and at :meth:`finish`. Each table's
    frames are stacked by pandas first, so the store is the same as one ``concat_tables`` +
    ``write_tables`` of every run, whatever order the runs finished in and however they
    were gathered; a later chunk whose column types differ (an integer column meeting a
    float one) widens the table's column to the type DuckDB gives their union, as pandas
    would (an integer column that some runs lack becomes DOUBLE, as pandas' NaN makes it).
    A :class:`SpooledTable` goes in between the frames of the runs before and after it,
    copied inside DuckDB from its file, which is then deleted (a run's tables, spooled or
    not, make the same store). So does a :class:`ChunkedTable` of at least
    ``chunked_cells`` cells (a run in this process: ``run --out``, a one-process
    ``compare``), written a chunk at a time and never held whole; a smaller one is built
    whole and stacked with the frames around it, as before. The writer holds at most one
    chunk plus the runs waiting for an earlier one, and DuckDB's cache is capped
    (:data:`WRITER_CACHE`), so a study's memory does not grow with its runs.

    The price: appending chunk by chunk costs DuckDB more than one write of everything —
    at plan scale, 30 runs' tables took 8.0 s CPU in 4 M-cell chunks against 3.3 s in one
    write (1 M-cell chunks: 11 s) — but it is paid while the runs are still running, not in
    the serial tail after the last one. Staging the chunks (DuckDB tables or Parquet files)
    and copying them once at the end was tried and costs as much.
    """

    def __init__(
        self,
        db_path: str | Path,
        flush_cells: int = 4_000_000,
        flush_runs: int = 64,
        chunked_cells: int | None = None,
    ) -> None:
        self.con = duckdb.connect(str(db_path), config={"memory_limit": WRITER_CACHE})
        self.flush_cells = flush_cells
        # read now, not at import: a test may lower it (default: what a worker spools)
        self.chunked_cells = SPOOL_CELLS if chunked_cells is None else chunked_cells
        self.flush_runs = flush_runs
        self._waiting: dict[int, Mapping[str, object]] = {}
        self._next = 0  # the index of the next run to gather
        self._gathered: list[Mapping[str, object]] = []
        self._gathered_cells = 0
        self._created: set[str] = set()
        self._types: dict[str, dict[str, str]] = {}  # each created table's column types
        self._first_empty: dict[str, pd.DataFrame] = {}  # a table no run has filled yet
        self._stored: str | None = None  # the earlier store attached (StoredTable)

    def add(self, index: int, tables: Mapping[str, object]) -> None:
        """Take run ``index``'s tables: DataFrames, :class:`SpooledTable` files (copied in
        and deleted when the run is written), :class:`StoredTable` s (read from an earlier
        result's store) or :class:`ChunkedTable` s (written a chunk at a time). Names
        outside :data:`TABLES` and LLM_TABLES are ignored, as
        :func:`~admarket.outputs.run_tables.concat_tables` does."""
        if index < self._next or index in self._waiting:
            raise ValueError(f"run {index} was added twice")
        self._waiting[index] = tables
        chunked = False
        while self._next in self._waiting:
            run = self._waiting.pop(self._next)
            self._next += 1
            self._gathered.append(run)
            self._gathered_cells += sum(_cells(part) for part in run.values())
            chunked = chunked or any(self._chunked(part) for part in run.values())
        # a run with a chunked table is written at once: its books are not held meanwhile
        full = self._gathered_cells >= self.flush_cells or len(self._gathered) >= self.flush_runs
        if chunked or full:
            self._flush()

    def _chunked(self, part: object) -> bool:
        """Whether ``part`` is written a chunk at a time (a ChunkedTable not small)."""
        return written_in_chunks(part, self.chunked_cells)

    def _flush(self) -> None:
        spooled: set[str] = set()
        for name in (*TABLES, *LLM_TABLES):
            # a small ChunkedTable is built whole: stacked with the frames around it, and
            # (empty) its frame stands for the table's columns like any other
            parts = [self._small_whole(r[name]) for r in self._gathered if name in r]
            frames: list[pd.DataFrame] = []  # consecutive frames go in as one
            for part in parts:
                if isinstance(part, SpooledTable):
                    self._append_frames(name, frames)
                    frames = []
                    self._append_spooled(part)
                    spooled.add(part.path)
                elif isinstance(part, StoredTable):  # read from an earlier result's store
                    self._append_frames(name, frames)
                    frames = []
                    self._append_stored(part)
                elif isinstance(part, ChunkedTable):  # a chunk at a time, never held whole
                    self._append_frames(name, frames)
                    frames = []
                    for chunk in part.chunks():
                        self._append_frames(name, [chunk])
                elif not isinstance(part, pd.DataFrame):  # never dropped silently
                    raise TypeError(f"internal error: table {name} of a run is {part!r}")
                elif len(part):
                    frames.append(part)
            self._append_frames(name, frames)
            first = parts[0] if parts else None
            if isinstance(first, pd.DataFrame) and name not in self._created:
                self._first_empty.setdefault(name, first)  # empty in every run so far
        self._gathered, self._gathered_cells = [], 0
        for path in sorted(spooled):
            os.unlink(path)

    def _small_whole(self, part: object) -> object:
        if isinstance(part, ChunkedTable) and not self._chunked(part):
            return part.whole()
        return part

    def _append_frames(self, name: str, frames: list[pd.DataFrame]) -> None:
        if not frames:
            return
        # (one frame as it is: its index is not written, so stacking it would only copy it)
        self.con.register("_frame", frames[0] if len(frames) == 1 else pd.concat(frames))
        try:
            self._append(name, "_frame")
        finally:
            self.con.unregister("_frame")

    def _append_spooled(self, part: SpooledTable) -> None:
        path = part.path.replace("'", "''")
        self.con.execute(f"ATTACH '{path}' AS _spool (READ_ONLY)")
        try:
            self._append(part.name, f'_spool."{part.name}"')
        finally:
            self.con.execute("DETACH _spool")

    def _append_stored(self, part: StoredTable) -> None:
        # the earlier store stays attached until the last run is in: attaching it costs
        # ~17 ms, and a reused run reads a dozen tables from it
        if self._stored != part.path:
            self._detach_stored()
            path = part.path.replace("'", "''")
            self.con.execute(f"ATTACH '{path}' AS _stored (READ_ONLY)")
            self._stored = part.path
        self._append(part.name, part.select("_stored"))

    def _detach_stored(self) -> None:
        if self._stored is not None:
            self.con.execute("DETACH _stored")
            self._stored = None

    def _append(self, name: str, source: str) -> None:
        """Add the rows of relation ``source`` to table ``name`` (created if need be)."""
        if name not in self._created:
            self.con.execute(f'CREATE TABLE "{name}" AS SELECT * FROM {source}')
            self._created.add(name)
            self._first_empty.pop(name, None)
            self._types[name] = self._describe(f'"{name}"')
            return
        self._widen(name, source)
        self.con.execute(f'INSERT INTO "{name}" BY NAME SELECT * FROM {source}')

    def _describe(self, what: str) -> dict[str, str]:
        """``{column: DuckDB type}`` of ``what`` (a quoted table name or a query)."""
        sql = f"SELECT column_name, column_type FROM (DESCRIBE {what})"
        return dict(self.con.execute(sql).fetchall())

    def _widen(self, name: str, source: str) -> None:
        """Give table ``name`` the columns and types of its union with ``source``."""
        have, incoming = self._types[name], self._describe(f"SELECT * FROM {source}")
        if incoming == have:  # the usual case, one query: their union is the table as it is
            return
        union = self.con.execute(
            f'SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM "{name}" '
            f"UNION ALL BY NAME SELECT * FROM {source})"
        ).fetchall()
        for col, typ in union:
            # a column that the rows written so far, or the new ones, lack is NULL in them:
            # pandas stacking every run at once makes such an integer column float (NaN), so
            # the store's type must not depend on which chunk each run came in
            if typ in _INTEGER_TYPES and (col not in have or col not in incoming):
                typ = "DOUBLE"
            if col not in have:
                self.con.execute(f'ALTER TABLE "{name}" ADD COLUMN "{col}" {typ}')
            elif have[col] != typ:
                self.con.execute(f'ALTER TABLE "{name}" ALTER COLUMN "{col}" TYPE {typ}')
        self._types[name] = self._describe(f'"{name}"')

    def flush(self) -> None:
        """Write the runs gathered so far now, not when their chunk is full, and leave the
        checkpoint of what follows to :meth:`close` (``compare`` calls this when its workers
        run out of runs: the last runs' write is then quick, and their checkpoint — 0.1-0.3 s
        of CPU at plan scale with 10 seeds, see :meth:`complete` — overlaps the report's charts
        instead of coming before them). Only the last runs wait in the write-ahead log, so
        the writer's memory stays bounded."""
        if self._gathered:
            self._flush()
        self.con.execute("SET checkpoint_threshold = '1TB'")

    def complete(self) -> None:
        """Write what is gathered and create the tables no run filled, leaving the store open
        (:attr:`connection`) for reading with one thread (as
        :func:`~admarket.outputs.store.open_store` reads); :meth:`close` it after."""
        if self._waiting:
            missing = sorted(set(range(self._next, max(self._waiting))) - set(self._waiting))
            raise ValueError(f"runs {missing} never arrived; the store would have gaps")
        self._flush()
        for name, df in list(self._first_empty.items()):
            self._append_frames(name, [df])
        self._first_empty.clear()
        self._detach_stored()
        if RECORDED_IN in self._created:  # a result's store: the version of its marker-to-be
            record_version(self.con)
        # read as open_store reads: one thread, so sums add in run order, to the last digit
        self.con.execute("SET threads = 1")
        # The checkpoint on close would also merge the under-filled row groups the study's
        # earlier checkpoints left (DuckDB's vacuum), rewriting and recompressing most of
        # the claims tables: at plan scale, 10 seeds, 0.9-1.1 s of the serial tail for one
        # last run's rows, against 0.1-0.3 s without. The rows, their order and every query's
        # answer are the same; the store keeps a few more, smaller row groups.
        self.con.execute("SET max_vacuum_tasks = 0")

    @property
    def connection(self) -> duckdb.DuckDBPyConnection:
        """The open store (read it only once :meth:`complete` has returned)."""
        return self.con

    def finish(self) -> None:
        """Write what is gathered, create the tables no run filled, and close the file."""
        try:
            self.complete()
        finally:
            self.close()

    def close(self) -> None:
        """Close the file (what was not written by :meth:`finish` is lost)."""
        self._waiting.clear()
        self._gathered = []
        self.con.close()

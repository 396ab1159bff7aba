"""Writing a store run by run: a study's tables go to disk as its runs finish.

``compare`` hands each finished run to a :class:`StoreWriter` instead of holding every
run's tables until the end, so the memory of a study does not grow with its seeds; the
store it leaves is the one :func:`~admarket.outputs.store.write_tables` would write from
all runs at once.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import duckdb
import pandas as pd

from admarket.llm.tables import LLM_TABLES
from admarket.outputs.store import TABLES

# DuckDB's buffer cache while a study streams into its store: it keeps written blocks cached up
# to 80% of RAM by default, which would make the parent grow with the study after all
WRITER_CACHE = "256MB"


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
    would. The writer holds at most one chunk plus the runs waiting for an earlier one, and
    DuckDB's cache is capped (:data:`WRITER_CACHE`), so a study's memory does not grow with
    its runs.

    The price: appending chunk by chunk costs DuckDB more than one write of everything —
    at plan scale, 30 runs' tables took 8.0 s CPU in 4 M-cell chunks against 3.3 s in one
    write (1 M-cell chunks: 11 s) — but it is paid while the runs are still running, not in
    the serial tail after the last one. Staging the chunks (DuckDB tables or Parquet files)
    and copying them once at the end was tried and costs as much.
    """

    def __init__(
        self, db_path: str | Path, flush_cells: int = 4_000_000, flush_runs: int = 64
    ) -> None:
        self.con = duckdb.connect(str(db_path), config={"memory_limit": WRITER_CACHE})
        self.flush_cells = flush_cells
        self.flush_runs = flush_runs
        self._waiting: dict[int, Mapping[str, pd.DataFrame]] = {}
        self._next = 0  # the index of the next run to gather
        self._gathered: list[Mapping[str, pd.DataFrame]] = []
        self._gathered_cells = 0
        self._created: set[str] = set()
        self._first_empty: dict[str, pd.DataFrame] = {}  # a table no run has filled yet

    def add(self, index: int, tables: Mapping[str, pd.DataFrame]) -> None:
        """Take run ``index``'s tables (names outside :data:`TABLES` and LLM_TABLES are
        ignored, as :func:`concat_tables` does)."""
        if index < self._next or index in self._waiting:
            raise ValueError(f"run {index} was added twice")
        self._waiting[index] = tables
        while self._next in self._waiting:
            run = self._waiting.pop(self._next)
            self._next += 1
            self._gathered.append(run)
            self._gathered_cells += sum(df.size for df in run.values())
        if self._gathered_cells >= self.flush_cells or len(self._gathered) >= self.flush_runs:
            self._flush()

    def _flush(self) -> None:
        for name in (*TABLES, *LLM_TABLES):
            parts = [r[name] for r in self._gathered if name in r]
            nonempty = [p for p in parts if len(p)]
            if nonempty:
                self._append(name, pd.concat(nonempty, ignore_index=True))
            elif parts and name not in self._created and name not in self._first_empty:
                self._first_empty[name] = parts[0]
        self._gathered, self._gathered_cells = [], 0

    def _append(self, name: str, df: pd.DataFrame) -> None:
        self.con.register("_frame", df)
        try:
            if name not in self._created:
                self.con.execute(f'CREATE TABLE "{name}" AS SELECT * FROM _frame')
                self._created.add(name)
                self._first_empty.pop(name, None)
                return
            self._widen(name)
            self.con.execute(f'INSERT INTO "{name}" BY NAME SELECT * FROM _frame')
        finally:
            self.con.unregister("_frame")

    def _widen(self, name: str) -> None:
        """Give table ``name`` the columns and types of its union with ``_frame``."""
        have = dict(
            self.con.execute(f'SELECT column_name, column_type FROM (DESCRIBE "{name}")').fetchall()
        )
        union = self.con.execute(
            f'SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM "{name}" '
            "UNION ALL BY NAME SELECT * FROM _frame)"
        ).fetchall()
        for col, typ in union:
            if col not in have:
                self.con.execute(f'ALTER TABLE "{name}" ADD COLUMN "{col}" {typ}')
            elif have[col] != typ:
                self.con.execute(f'ALTER TABLE "{name}" ALTER COLUMN "{col}" TYPE {typ}')

    def flush(self) -> None:
        """Write the runs gathered so far now, not when their chunk is full, and leave the
        checkpoint of what follows to :meth:`close` (``compare`` calls this when its workers
        run out of runs: the last runs' write is then quick, and the checkpoint — about a
        second of CPU at plan scale, however little was added — can overlap the report's
        charts instead of coming before them). Only the last runs wait in the write-ahead
        log, so the writer's memory stays bounded."""
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
            self._append(name, df)
        self._first_empty.clear()
        # read as open_store reads: one thread, so sums add in run order, to the last digit
        self.con.execute("SET threads = 1")

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

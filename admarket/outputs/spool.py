"""What a worker writes of its own run into the result folder being built.

``compare`` with worker processes (a pool's or a Dask cluster's) and ``--out`` gives each
run a :class:`Spool`: the worker writes the run's event and narrative logs itself (when the
run is one that gets logs) and leaves its large tables in a DuckDB file
(:func:`~admarket.outputs.store_writer.spool_tables`) in the build folder, so that what goes
back to the parent is a few small tables and file names, whatever the size of the market;
a run's transactions table is written, and read by its logs, a chunk (or a column) at a
time, never held whole. The parent copies the spooled tables into the store and
deletes them; the logs are already where they belong. A worker that does not see the build
folder at the same path (another machine without a shared disk) sends its tables instead.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import duckdb

from admarket.outputs.chunked import held_whole
from admarket.outputs.narrative import write_logs
from admarket.outputs.store_writer import CHUNK_ROWS, SPOOL_CELLS, spool_tables

# Set in a run's tables when its worker has written its logs (the writer ignores the key).
LOGS_WRITTEN = "logs_written"
SPOOL_DIR = ".spool"  # inside the build folder; removed, empty, before the result is marked
LOGS_DIR = "logs"  # the result's event and narrative logs


@dataclass(frozen=True)
class Spool:
    """Where a worker leaves a run's large tables and logs (folders of the build folder)."""

    folder: str  # the spooled tables' DuckDB files
    logs_dir: str  # the event and narrative logs
    verbosity: str | None  # the narrative's detail for a run that gets logs; None: no logs
    min_cells: int = SPOOL_CELLS
    chunk_rows: int = CHUNK_ROWS  # rows of a chunk of a table spooled chunk by chunk

    def take(self, tables: Mapping[str, object], run: int) -> dict[str, object]:
        """Write run number ``run``'s logs (if it gets them) and spool its large tables;
        returns what is left to send (see :func:`spool_tables`), every
        :class:`~admarket.outputs.chunked.ChunkedTable` in it built whole.

        A worker that does not see the result being built, or cannot write there, sends
        everything instead, and the parent writes the logs: a worker on another machine
        without the disk (or with it read-only, or as another user), or one still finishing
        a run after the study failed and removed the folder (which nothing may make again).
        What it wrote before failing is complete or removed: logs and spool files are
        written aside and renamed (a complete log is written again, the same, by the
        parent)."""
        for folder in (self.folder, *([self.logs_dir] if self.verbosity is not None else [])):
            if not Path(folder).is_dir():
                return held_whole(tables)
        out = dict(tables)
        try:
            if self.verbosity is not None:  # (the logs read a chunked table as it is)
                write_logs(out, Path(self.logs_dir), self.verbosity)
                out[LOGS_WRITTEN] = True
            return spool_tables(out, Path(self.folder) / f"run-{run:06d}.duckdb", self.min_cells)
        except (OSError, duckdb.IOException):  # DuckDB's own error for a file it cannot write
            out.pop(LOGS_WRITTEN, None)
            return held_whole(out)

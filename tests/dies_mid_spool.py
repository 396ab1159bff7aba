"""A Dask worker preload for tests: the first worker to spool a run dies half-way through
its spool file (one table of several written), as a worker the machine kills would.

Loaded through ``distributed.worker.preload``; the marker file named by
``ADMARKET_TEST_DIE_MARKER`` makes it happen once per study, on whichever worker gets there
first.
"""

from __future__ import annotations

import os
from pathlib import Path

import duckdb


class _DyingConnection:
    """A DuckDB connection whose second CREATE TABLE exits the process (the first time)."""

    def __init__(self, con: duckdb.DuckDBPyConnection, marker: Path):
        self._con, self._marker, self._created = con, marker, 0

    def execute(self, sql: str, *args: object) -> object:
        if sql.startswith("CREATE TABLE"):
            self._created += 1
            if self._created == 2 and self._first_to_die():
                os._exit(1)
        return self._con.execute(sql, *args)

    def _first_to_die(self) -> bool:
        """Whether this is the study's first death (the marker created exclusively)."""
        try:
            fd = os.open(self._marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            return False
        os.write(fd, f"worker {os.getpid()} died writing a spool file".encode())
        os.close(fd)
        return True

    def __getattr__(self, name: str) -> object:
        return getattr(self._con, name)


class _DyingDuckDB:
    """The duckdb module as the spool writer sees it, with :class:`_DyingConnection`s."""

    def __init__(self, marker: Path):
        self._marker = marker

    def connect(self, *args: object, **kwargs: object) -> _DyingConnection:
        return _DyingConnection(duckdb.connect(*args, **kwargs), self._marker)

    def __getattr__(self, name: str) -> object:
        return getattr(duckdb, name)


def dask_setup(worker: object) -> None:
    """In each worker: the spool writer's DuckDB connections die on their second table."""
    import admarket.outputs.store_writer as sw

    sw.duckdb = _DyingDuckDB(Path(os.environ["ADMARKET_TEST_DIE_MARKER"]))  # type: ignore[assignment]

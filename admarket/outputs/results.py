"""What ``run``, ``compare`` and ``resume`` publish: runs' tables streamed into a store as
they finish, their event and narrative logs, and the report, built and swapped in as one
result folder by :func:`~admarket.outputs.publish.publish`.

This is the one module that puts a run's outputs together; the store only stores, the
report only reads the store.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Executor
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from admarket.outputs import store_writer
from admarket.outputs.chunked import held_whole
from admarket.outputs.manifest import STORE_NAME
from admarket.outputs.narrative import write_logs
from admarket.outputs.publish import publish
from admarket.outputs.run_tables import run_tables
from admarket.outputs.spool import LOGS_DIR, LOGS_WRITTEN, SPOOL_DIR
from admarket.outputs.store_writer import SpooledTable, StoredTable, StoreWriter
from admarket.report import write_report

if TYPE_CHECKING:  # pragma: no cover
    from admarket.model import MarketModel


def write_results(
    per_run: list[dict[str, pd.DataFrame]],
    out_dir: str | Path,
    *,
    verbosity: str = "key",
    log_runs: str = "first",
    kind: str = "compare",
    attachments: Mapping[str, str] | None = None,
) -> Path:
    """Publish runs' tables, logs and report as one result folder; returns its path.

    ``log_runs``: which runs get an event log and a narrative (``first`` seed of each
    scenario, ``all``, or ``none``); the store always holds every run's events.
    ``attachments``: more files of the result (name → text), e.g. the LLM recording.
    """
    first_seed = min(int(r["runs"]["seed"].iloc[0]) for r in per_run) if per_run else None
    return stream_results(
        enumerate(per_run),
        out_dir,
        first_seed=first_seed,
        verbosity=verbosity,
        log_runs=log_runs,
        kind=kind,
        attachments=attachments,
    )


def stream_results(
    runs: Iterable[tuple[int, Mapping[str, Any]]]
    | Callable[[Path], Iterable[tuple[int, Mapping[str, Any]]]],
    out_dir: str | Path,
    *,
    first_seed: int | None,
    verbosity: str = "key",
    log_runs: str = "first",
    kind: str = "compare",
    attachments: Mapping[str, str] | None = None,
    executor: Executor | None = None,
    write_after: int | None = None,
    extra_meta: Callable[[], Mapping[str, Any]] | None = None,
) -> Path:
    """Publish runs as they finish: ``runs`` yields (run index, tables) in any order.

    ``runs`` may instead be a function of the build folder, called once it exists, that
    returns them: its workers may then write into it (:mod:`.spool`) — runs whose tables
    say :data:`~admarket.outputs.spool.LOGS_WRITTEN` have their logs written already, and
    tables may be :class:`~admarket.outputs.store_writer.SpooledTable` files in its
    ``.spool`` folder. A run from this process may hand its large tables (A's
    transactions, B's and C's claims) as :class:`~admarket.outputs.chunked.ChunkedTable` s:
    from :data:`~admarket.outputs.store_writer.SPOOL_CELLS` up the store and the logs read
    one a chunk at a time; a smaller one is built whole here, once, for both.

    Each run's tables go to the store (:class:`StoreWriter`) and its logs to disk as it
    arrives, and nothing of it is kept but its ``runs`` row, so memory does not grow with
    the number of runs; the store lays the runs out in index order, so the result is the
    same whatever order they finished in. ``first_seed``: the seed whose runs get logs
    when ``log_runs`` is ``first``. If ``runs`` raises (a worker lost, an interrupt),
    nothing is published.

    What follows the last run is kept short: ``write_after`` runs in (``compare``: when its
    workers start running out of runs) the runs gathered so far are written at once; the
    report is read from the open store before it is closed, and its charts are drawn on
    ``executor``'s workers (idle by then) while the rest of the report is written.
    ``extra_meta``, called once every run is in, gives more of the result's marker
    (``compare``: what its journal needs to know the result).
    """
    meta: dict[str, Any] = {"kind": kind}

    def build(tmp: Path) -> None:
        if callable(runs):  # its workers write into the build folder: make their folders
            (tmp / SPOOL_DIR).mkdir()
            if log_runs != "none":
                (tmp / LOGS_DIR).mkdir()
        arriving = runs(tmp) if callable(runs) else runs
        writer = StoreWriter(tmp / STORE_NAME)
        heads = {}
        try:
            for i, r in arriving:
                # a run stored here: its small chunked tables built once, for store and logs
                r = held_whole(r, below=store_writer.SPOOL_CELLS)
                writer.add(i, r)
                seed = int(r["runs"]["seed"].iloc[0])
                if logged(log_runs, seed, first_seed) and not r.get(LOGS_WRITTEN):
                    if any(isinstance(t, SpooledTable | StoredTable) for t in r.values()):
                        raise RuntimeError(f"internal error: run {i} was spooled without its logs")
                    write_logs(r, tmp / LOGS_DIR, verbosity)
                heads[i] = (str(r["runs"]["scenario"].iloc[0]), seed)
                del r  # not held while the next run arrives (or runs, in this process)
                if len(heads) == write_after:
                    writer.flush()
        except BaseException:
            writer.close()
            close = getattr(arriving, "close", None)
            if close is not None:  # a generator of runs: stop its workers now, not at GC
                close()
            raise
        meta.update(extra_meta() if extra_meta is not None else {})
        meta["runs"] = len(heads)
        meta["scenarios"] = sorted({sc for sc, _ in heads.values()})
        meta["seeds"] = sorted({seed for _, seed in heads.values()})
        try:
            writer.complete()
            _remove_work_folders(tmp)
            write_report(
                tmp / STORE_NAME,
                tmp,
                store=writer.connection,
                executor=executor,
                on_read=writer.close,  # its checkpoint overlaps the charts
            )
        finally:
            writer.close()
        for name, text in (attachments or {}).items():
            (tmp / name).write_text(text, encoding="utf-8")

    return publish(out_dir, build, meta)


def logged(log_runs: str, seed: int, first_seed: int | None) -> bool:
    """Whether a run of ``seed`` gets an event log and a narrative (``log_runs``: ``first``
    seed of each scenario, ``all``, or ``none``)."""
    return log_runs == "all" or (log_runs == "first" and seed == first_seed)


def _remove_work_folders(tmp: Path) -> None:
    """Remove the spool folder, and a logs folder no run wrote into.

    Called once the store is complete, so every spool file an arriving run named has been
    copied in and deleted (the writer does both or raises): anything still in the spool
    folder is a Dask try's that was taken for lost — half-written (``*.part``, with DuckDB's
    write-ahead log ``*.part.wal`` and spill folder ``*.part.tmp``), or complete after its
    rerun was copied in or sent its tables. A run is a function of its config and seed, so
    its rows are in the store either way. Half-written logs (``*.part``) it left go too.
    A lost try on a remote worker may still be running (a pool's workers and a LocalCluster
    are gone by now): after this it finds the spool folder gone and spools nothing, and a
    log it writes again has the same bytes — though one cut short by the result's
    publication could leave a stray ``.part`` file in its logs (a race left unhandled: rare,
    and the file is not in the result's marker)."""
    spool, logs = tmp / SPOOL_DIR, tmp / LOGS_DIR
    if spool.is_dir():
        shutil.rmtree(spool)
    for part in logs.glob(".*.part"):
        part.unlink()
    if logs.is_dir() and not any(logs.iterdir()):
        logs.rmdir()


def write_run(
    models: list[MarketModel],
    out_dir: str | Path,
    verbosity: str = "key",
    attachments: Mapping[str, str] | None = None,
) -> Path:
    """Publish finished models (one seed, ``admarket run --out``) with logs and report.

    Each model's tables are built when the store takes them, so only one run's tables are
    held at a time, and A's transactions and B's and C's claims (gigabytes in a large run)
    never whole: the store and the logs read them a chunk at a time."""
    return stream_results(
        ((i, run_tables(m, chunk_rows=store_writer.CHUNK_ROWS)) for i, m in enumerate(models)),
        out_dir,
        first_seed=None,  # every run gets logs
        verbosity=verbosity,
        log_runs="all",
        kind="run",
        attachments=attachments,
    )

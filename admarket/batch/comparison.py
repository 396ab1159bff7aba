"""Compare scenarios across seeds: A, B and C on each seed, in parallel, into one store.

Every seed runs all scenarios on the same market (common random numbers); runs go through
the ``batch_run``-compatible runner's tasks, and each finished run goes straight on to the
result folder being built (``outputs.results.stream_results``), which is swapped in whole
once the store, logs and report are complete. Workers that see that folder (local ones, or
a cluster's on a shared disk) write their runs' logs and large tables into it themselves
(``outputs.spool``), so a large market's tables never pass through this process. The
worker processes outlive the runs: as they run out of runs they warm up for drawing, then
draw the report's charts. Each finished run is also kept beside the result folder until it
is published (``outputs.compare_journal``), so a stopped compare resumes with ``resume``
and runs only the rest.
"""

from __future__ import annotations

import contextlib
import math
import sys
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pandas as pd

from admarket.batch.cluster import Cluster, runs_at_once_here
from admarket.batch.pool import iter_results, worker_pool
from admarket.batch.tasks import Task, make_tasks
from admarket.config import ConfigError, MarketConfig, check_scenarios
from admarket.config.sizing import check_memory
from admarket.errors import UsageError
from admarket.outputs import VERBOSITY, store_writer
from admarket.outputs.compare_journal import META_DIGEST, META_KEYS, CompareJournal, short_keys
from admarket.outputs.kept_run import KeptTables
from admarket.outputs.publish import reserve
from admarket.outputs.result_runs import PublishedRuns, ResultRuns
from admarket.outputs.results import logged, stream_results
from admarket.outputs.spool import LOGS_DIR, LOGS_WRITTEN, SPOOL_DIR, Spool
from admarket.report.drawing import warm_up

LOGS = ("first", "all", "none")


# Seeds a study may ask for: 100,000 is 300,000 runs of A, B and C (days of CPU at plan
# scale), far past any study this machine or a cluster would finish; the bound makes a typo
# (an extra digit or three) a one-line error instead of gigabytes of run list
MAX_SEEDS = 100_000


def seed_list(n_seeds: int, seed_start: int) -> list[int]:
    """``n_seeds`` consecutive seeds from ``seed_start`` (a ConfigError if n is not in
    1..MAX_SEEDS)."""
    if isinstance(n_seeds, bool) or not isinstance(n_seeds, int) or not 1 <= n_seeds <= MAX_SEEDS:
        raise ConfigError("seeds", n_seeds, f"an integer from 1 to {MAX_SEEDS:,}")
    if isinstance(seed_start, bool) or not isinstance(seed_start, int) or seed_start < 0:
        raise ConfigError("seed-start", seed_start, "an integer >= 0")
    return list(range(seed_start, seed_start + n_seeds))


def compare(
    cfg: MarketConfig,
    seeds: list[int],
    scenarios: list[str] | tuple[str, ...] = ("A", "B", "C"),
    *,
    processes: int = 1,
    progress: bool = False,
    out: str | Path | None = None,
    verbosity: str = "key",
    logs: str = "first",
    cluster: Cluster | None = None,
    resume: bool = False,
    journal: bool = True,
) -> pd.DataFrame:
    """Run every scenario on every seed; returns one summary row per run (seed, scenario order).

    With ``out``, publishes the store, event/narrative logs (``logs``: first seed, all,
    none) and the report there as one result (``outputs.publish``): the folder is checked
    and locked before the first run, and replaced only once the new result is complete.
    A market too large for this machine's memory is refused before anything runs. With
    ``cluster`` (:mod:`.cluster`) the runs go to a Dask cluster instead of ``processes``
    local processes; the results are identical.

    With ``out`` and ``journal``, each finished run is also kept beside the folder
    (:mod:`admarket.outputs.compare_journal`) until the result is published; ``resume``
    reuses the runs a stopped compare kept, so only the rest run (needs ``out``; the
    returned frame's ``attrs["reused_runs"]`` says how many were reused). ``journal`` False
    keeps none (a stopped compare starts again), and leaves any journal there as it is.
    """
    if resume and out is None:
        raise UsageError("--resume needs --out DIR: a compare's finished runs are kept beside it")
    if resume and not journal:
        raise UsageError("--resume reuses the runs a compare kept; --no-journal keeps none")
    scenarios = check_scenarios(scenarios)
    if verbosity not in VERBOSITY:
        raise ConfigError("verbosity", verbosity, f"one of {', '.join(VERBOSITY)}")
    if logs not in LOGS:
        raise ConfigError("logs", logs, f"one of {', '.join(LOGS)}")
    seeds = list(seeds)
    if not seeds:
        raise ConfigError("seeds", seeds, "at least one seed")
    if len(set(seeds)) < len(seeds):  # a seed twice would be the same runs twice
        raise ConfigError("seeds", seeds, "distinct seeds")
    # without a result to publish only the summary rows are wanted: the runs' tables are
    # not built (a large run's are gigabytes)
    collect = "tables" if out is not None else "summary"
    tasks = make_tasks({"design": scenarios, "config": cfg}, seeds, collect=collect)
    if at_once := runs_at_once_here(cluster, processes, len(tasks)):
        # with a result to publish, each run also builds its store tables, and the store
        # and its logs read the largest a chunk at a time: in a worker (outputs.spool) as in
        # this process
        check_memory(cfg, at_once, writing=at_once if out is not None else 0, scenarios=scenarios)
    summaries: dict[int, pd.DataFrame] = {}
    first_seed = min(seeds)  # whose runs get logs with logs="first"
    local = 1 if cluster is not None else processes
    workers = min(max(1, local), len(tasks))
    log_levels = [_log_level(t, verbosity, logs, first_seed) for t in tasks]

    with (
        reserve(out) if out is not None else contextlib.nullcontext() as dest,
        worker_pool(local, len(tasks)) as pool,  # kept for the report's charts
    ):
        kept = CompareJournal(dest, resume, tasks, log_levels) if dest and journal else None
        # a resume also reuses the runs the compare published there kept (more seeds)
        published = (
            PublishedRuns(dest, kept.keys, set(kept.reused))
            if kept is not None and dest is not None and resume
            else None
        )
        # task index -> where its run comes from: the journal, else the published result
        reused: dict[int, Any] = dict(published.reused) if published is not None else {}
        reused |= kept.reused if kept is not None else {}
        if kept is not None and resume:
            assert published is not None
            note = kept.resume_note(len(tasks), len(published.reused), published.why)
            print(note, file=sys.stderr, flush=True)
        todo = [i for i in range(len(tasks)) if i not in reused]
        result_runs: ResultRuns | None = None  # the runs the result keeps, once it is built

        def finished(build: Path | None = None) -> Iterator[tuple[int, dict[str, Any]]]:
            nonlocal result_runs
            # each run's tables go straight on to the store; only its summary row stays here
            waiting = sorted(reused, reverse=True)  # kept runs, the next to store last
            arrived: set[int] = set()
            todo_next = 0  # todo[todo_next]: the first run still to arrive

            def replay(below: float) -> Iterator[tuple[int, dict[str, Any]]]:
                # the kept runs the store can take now: those before the first run still to
                # arrive (a later one would wait, held, in the store's writer)
                while waiting and waiting[-1] < below and kept is not None and build:
                    i = waiting.pop()
                    source = kept if i in kept.reused else published
                    assert source is not None
                    tables = source.replayed(i, build)
                    keep_in_result(i, source.kept_tables(i), tables if source is kept else None)
                    summaries[i] = tables["summaries"]
                    yield i, tables
                    del tables

            def keep_in_result(i: int, kept_tables: KeptTables, tables: dict | None) -> None:
                assert result_runs is not None and kept is not None
                kw = tasks[i].kwargs
                head = {"scenario": str(kw["design"]), "seed": int(kw["rng"])}
                if tables is not None and log_levels[i] and not tables.get(LOGS_WRITTEN):
                    tables = None  # this process writes its logs from them: kept whole
                result_runs.keep(i, kept.keys[i], head, kept_tables, tables)

            if kept is not None and build is not None:
                result_runs = ResultRuns(build)

            warm = warm_up if out is not None else None
            # worker processes write their runs' logs and large tables into the result
            # themselves when they see it (a pool's and a LocalCluster's do; a remote
            # scheduler's where the disk is shared), else send them (outputs.spool); a run
            # kept in the journal is spooled here too, so that what is kept is a file
            workers_apart = pool is not None or cluster is not None or kept is not None
            rest = [tasks[i] for i in todo]
            if workers_apart:
                rest = _spooled(rest, build, verbosity, logs, first_seed)
            elif build is not None:  # run here: the store takes the largest table in chunks
                rest = _chunked(rest)
            runs = iter_results(
                rest,
                processes,
                progress,
                cluster=cluster,
                executor=pool,
                warm=warm,
                done=len(reused),
            )
            for j, r in runs:
                i = todo[j]
                summaries[i] = r["tables"]["summaries"]
                tables = r.pop("tables")
                del r  # not held while the next run runs (in this process: its books)
                if kept is not None and build is not None:
                    keep_in_result(i, kept.add(i, tables, build), tables)
                yield i, tables
                del tables
                arrived.add(i)
                while todo_next < len(todo) and todo[todo_next] in arrived:
                    todo_next += 1
                yield from replay(todo[todo_next] if todo_next < len(todo) else math.inf)
            yield from replay(math.inf)

        try:
            if out is None:
                for _ in finished():
                    pass
            else:
                stream_results(
                    finished,  # given the build folder, for the workers' logs and large tables
                    out,
                    first_seed=first_seed,
                    verbosity=verbosity,
                    log_runs=logs,
                    kind="compare",
                    executor=pool,
                    write_after=len(tasks) - workers + 1 if workers > 1 else None,
                    extra_meta=lambda: _result_meta(kept, result_runs),
                )
        except BaseException:
            if kept is not None:
                kept.stopped(len(tasks))
            raise
        finally:
            if kept is not None:
                kept.close()
        if kept is not None:  # published: its runs are not needed (a kill before this line
            kept.published()  # leaves the journal the result names: finished later)
    summary = pd.concat([summaries[i] for i in sorted(summaries)], ignore_index=True)
    summary.attrs["reused_runs"] = len(reused)
    return summary


def _result_meta(kept: CompareJournal | None, result_runs: ResultRuns | None) -> dict[str, Any]:
    """What a compare's result marker says of its runs (once they are all in): their keys and
    the journal's digest (:mod:`~admarket.outputs.compare_journal`); the runs it keeps for a
    later ``--resume`` are indexed."""
    return {
        META_KEYS: short_keys(kept.keys) if kept is not None else [],
        META_DIGEST: kept.digest() if kept is not None else None,
        **(result_runs.seal() if result_runs is not None else {}),
    }


def _chunked(tasks: list[Task]) -> list[Task]:
    """``tasks`` run in this process for a result: each hands its largest table to the store
    and the logs in chunks of :data:`~admarket.outputs.store_writer.CHUNK_ROWS` rows."""
    return [replace(t, chunk_rows=store_writer.CHUNK_ROWS) for t in tasks]


def _log_level(task: Task, verbosity: str, logs: str, first_seed: int) -> str | None:
    """The verbosity of ``task``'s narrative log (None: the run gets no logs)."""
    return verbosity if logged(logs, int(task.kwargs["rng"]), first_seed) else None


def _spooled(
    tasks: list[Task], build: Path | None, verbosity: str, logs: str, first_seed: int
) -> list[Task]:
    """``tasks`` with a :class:`Spool` in the build folder of the result (none without one):
    workers that see it then write their runs' logs (those :func:`logged` picks, as the
    result's writer would) and large tables there themselves."""
    if build is None:
        return tasks
    return [
        replace(
            t,
            spool=Spool(
                str(build / SPOOL_DIR),
                str(build / LOGS_DIR),
                _log_level(t, verbosity, logs, first_seed),
                store_writer.SPOOL_CELLS,  # read now: a test may lower them
                store_writer.CHUNK_ROWS,
            ),
        )
        for t in tasks
    ]

"""A Mesa-``batch_run``-compatible runner that returns whole runs, in parallel processes.

``mesa.batch_run(MarketModel, parameters, rng=[seeds], number_processes=n)`` works with our
model (it passes ``rng`` as the seed), but it returns only DataCollector rows, while the store
needs each run's transactions, campaigns, claims, ledger and events; and its pool hangs for
ever when a worker is killed (the out-of-memory killer does that). So ``batch_run`` here
takes the same arguments and lays out runs the same way (for each rng value, every
combination of parameters), but each worker returns the run's store tables
(``collect="tables"``) or its summary row (``collect="summary"``), results are put back in
run order, and the runs go to a ``concurrent.futures.ProcessPoolExecutor``, which notices a
worker that died: the batch stops with :class:`~admarket.errors.WorkerLostError`.

Workers start with a "spawn" context (not set globally): they start clean — no inherited
threads from DuckDB or tqdm, same behaviour on Linux, macOS and Windows — ignore Ctrl-C
(the parent stops them), on Linux die with the parent, and end without tearing down their
interpreter (a worker that held a run's tables took about a second to do that). A caller
that has more work for the workers once the runs are done (``compare`` draws the report's
charts on them) owns the pool (:func:`worker_pool`) and passes it in. Since every run is fully
determined by its config and seed, results are identical whatever the number of processes.
Callers of the parallel path need an ``if __name__ == "__main__"`` guard (the ``admarket``
CLI entry point is one). The tasks themselves — what one run is, what runs it, Mesa's run
layout — are :mod:`.tasks`' (``Task``, ``run_task`` and ``make_tasks`` can still be
imported from here).
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import FIRST_COMPLETED, Executor, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from admarket.batch.cluster import Cluster, describe_task, iter_on_cluster, runs_bar
from admarket.batch.tasks import Task, make_tasks, run_task
from admarket.config import MarketConfig
from admarket.errors import WorkerLostError
from admarket.model import MarketModel
from admarket.money import plural


def default_processes() -> int:
    """Processes to use by default: the CPUs this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


_PR_SET_PDEATHSIG = 1


def _exit_now() -> None:
    """A worker's last act: leave at once. By the time atexit runs, multiprocessing has
    flushed its queues and the parent has every result; what would follow is the teardown of
    every module and object of a process that ran models (about a second per worker, in the
    parent's ``shutdown``), and nothing of it is needed."""
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    os._exit(0)


# Signals held back while the workers are started (see _new_pool).
_HELD = (signal.SIGINT, signal.SIGTERM)


def _worker_init(parent: int) -> None:
    """In each worker: leave Ctrl-C to the parent, die with it (Linux), exit quickly."""
    atexit.register(_exit_now)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # the parent died before the line above took effect
        os._exit(1)


# Seconds a terminated worker has to exit before it is killed: a worker that ignores SIGTERM
# (a library that installs its own handler, a stuck native call) would otherwise keep the
# executor's shutdown, and the user's Ctrl-C, waiting for as long as its task runs.
STOP_GRACE_S = 5.0


def _stop_workers(ex: Executor) -> None:
    """Terminate the executor's workers now (an interrupt must not wait for their runs),
    killing any still alive after :data:`STOP_GRACE_S`."""
    procs = list((getattr(ex, "_processes", None) or {}).values())
    for p in procs:
        with contextlib.suppress(Exception):
            p.terminate()
    deadline = time.monotonic() + STOP_GRACE_S  # one grace period for all, not one each
    for p in procs:
        with contextlib.suppress(Exception):
            p.join(max(0.0, deadline - time.monotonic()))
            if p.is_alive():
                p.kill()
    # A worker stopped half-way through sending its result (a run's tables: megabytes)
    # leaves half a message in the result pipe, and the executor's thread, reading it, waits
    # for the rest for ever: this process holds the pipe's write end too, so no end of file
    # comes, and the shutdown below hung (SIGTERM during a compare, now and then). With no
    # worker left to write, close that end: the read then ends, the executor takes the pool
    # for broken, and shuts down.
    writer = getattr(getattr(ex, "_result_queue", None), "_writer", None)
    if writer is not None:
        with contextlib.suppress(Exception):
            writer.close()
    ex.shutdown(wait=True, cancel_futures=True)


def _started() -> None:
    """A task that does nothing: submitting it starts a worker."""


def _new_pool(workers: int) -> ProcessPoolExecutor:
    """An executor with its ``workers`` processes already started.

    The executor starts a "spawn" worker on each submission, handing it its start-up data
    through a pipe. Ctrl-C or SIGTERM arriving half-way through that stopped the parent
    mid-hand-over, and the worker printed an ``EOFError`` traceback under the one-line
    message. So every worker is started here, at once, with both signals held back (noted,
    not acted on): one that arrived meanwhile is raised again once the workers are whole,
    for the handler the caller had, and the interrupt then stops them cleanly. (Only the
    main thread can hold signals back; elsewhere the workers start as before.)
    """
    ex = ProcessPoolExecutor(
        max_workers=workers,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_worker_init,
        initargs=(os.getpid(),),
    )
    if threading.current_thread() is not threading.main_thread():
        return ex
    arrived: list[int] = []

    def hold(signum: int, _frame: object) -> None:
        arrived.append(signum)

    # a handler installed outside Python reads as None and cannot be put back: left alone
    held = [s for s in _HELD if signal.getsignal(s) is not None]
    try:
        handlers = {s: signal.signal(s, hold) for s in held}
        try:
            for _ in range(workers):  # none is idle yet, so each submission starts one
                ex.submit(_started)
        finally:
            for s, handler in handlers.items():
                signal.signal(s, handler)
        for signum in dict.fromkeys(arrived):
            signal.raise_signal(signum)  # the caller's handler takes it now (it may raise)
    except BaseException:
        _stop_workers(ex)
        raise
    return ex


def runs_in_workers(processes: int, n_tasks: int) -> bool:
    """Whether ``n_tasks`` runs on ``processes`` processes go to worker processes (else they
    run in this one)."""
    return processes > 1 and n_tasks > 1


@contextlib.contextmanager
def worker_pool(processes: int, n_tasks: int) -> Iterator[ProcessPoolExecutor | None]:
    """The worker processes for ``n_tasks`` runs on ``processes`` processes, kept for as long
    as the ``with`` block lasts (None when the runs go in this process: ``processes`` ≤ 1
    or a single run). Pass it to :func:`iter_results` and on to whatever else should run on
    the workers once the runs are done. Leaving the block with an exception (an interrupt, a
    lost worker) terminates the workers at once; otherwise it waits for them to exit.
    """
    if not runs_in_workers(processes, n_tasks):
        yield None
        return
    ex = _new_pool(min(processes, n_tasks))
    try:
        yield ex
    except BaseException:
        _stop_workers(ex)
        raise
    ex.shutdown(wait=True)


def run_tasks(
    tasks: list[Task],
    processes: int = 1,
    progress: bool = True,
    fn: Callable[[Task], dict] = run_task,
    cluster: Cluster | None = None,
) -> list[dict]:
    """Run ``tasks`` on ``processes`` worker processes; results in task order.

    A worker that dies (killed, out of memory) stops the whole batch with a one-line
    :class:`WorkerLostError`, the other workers terminated; so does an interrupt. ``fn``
    (a module-level function, so workers can import it) runs each task. With ``cluster``
    the runs go to a Dask cluster instead (:mod:`.cluster`; ``processes`` is ignored).
    """
    return in_task_order(dict(iter_results(tasks, processes, progress, fn, cluster)), len(tasks))


def in_task_order(results: Mapping[int, dict], n_tasks: int) -> list[dict]:
    """The results of tasks ``0 .. n_tasks - 1`` in order; a WorkerLostError naming any
    that has none (every run or an error: a study is never silently short)."""
    missing = [i + 1 for i in range(n_tasks) if i not in results]
    if missing:
        raise WorkerLostError(f"runs {missing} of {n_tasks} returned no result")
    return [results[i] for i in range(n_tasks)]


def iter_results(
    tasks: list[Task],
    processes: int = 1,
    progress: bool = True,
    fn: Callable[[Task], dict] = run_task,
    cluster: Cluster | None = None,
    *,
    executor: Executor | None = None,
    warm: Callable[[], object] | None = None,
    done: int = 0,
) -> Iterator[tuple[int, dict]]:
    """Run ``tasks`` like :func:`run_tasks`, yielding (task index, result) as each finishes.
    ``done``: runs of the study already done (a resumed study's reused runs), shown as done
    on the progress bar.

    A caller that stores each result as it comes and drops it (``compare`` does) holds at
    most the results that finished while it was storing one, not the whole study. With
    ``executor`` (from :func:`worker_pool`; the caller owns it) the runs go to its workers
    and ``warm`` (a module-level function, if given) is sent to each worker that has no run
    left to do, so that what comes after the runs finds the workers ready.
    """

    if cluster is not None:
        yield from iter_on_cluster(tasks, fn, cluster, progress, done)
        return
    with runs_bar(len(tasks), done, progress) as bar:
        if executor is not None:
            workers = min(max(1, processes), len(tasks))
            yield from _iter_pool(executor, workers, tasks, fn, bar, warm)
            return
        if processes <= 1 or len(tasks) <= 1:
            for i, t in enumerate(tasks):
                r = fn(t)
                bar.update()
                yield i, r
            return
        with worker_pool(processes, len(tasks)) as ex:
            assert ex is not None
            yield from _iter_pool(ex, min(processes, len(tasks)), tasks, fn, bar, None)


def _iter_pool(
    ex: Executor,
    workers: int,
    tasks: list[Task],
    fn: Callable[[Task], dict],
    bar: Any,
    warm: Callable[[], object] | None,
) -> Iterator[tuple[int, dict]]:
    """The runs on ``ex``'s ``workers`` processes, as they finish (see :func:`iter_results`)."""
    done_runs, warmed = 0, 0
    try:
        pending: dict[Future, int] = {ex.submit(fn, t): i for i, t in enumerate(tasks)}
        while pending:
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for fut in done:
                i = pending.pop(fut)
                try:
                    r = fut.result()
                except MemoryError:
                    raise WorkerLostError(
                        f"{describe_task(tasks[i], i, len(tasks))} ran out of memory in its worker "
                        "process; nothing was published — try fewer --processes or a "
                        "smaller market"
                    ) from None
                del fut
                bar.update()
                done_runs += 1
                # every run was handed out up front, so fewer runs left than workers means
                # idle workers: warm them now, while the last runs finish
                while warm is not None and warmed < workers - len(pending):
                    ex.submit(warm)
                    warmed += 1
                yield i, r
    except BrokenProcessPool:
        _stop_workers(ex)
        raise WorkerLostError(
            "a worker process died before its run finished "
            f"({len(tasks) - done_runs} of {plural(len(tasks), 'run')} unfinished): killed, or out "
            "of memory? Nothing was published; try fewer --processes or a smaller market"
        ) from None
    except BaseException:
        _stop_workers(ex)
        raise


def batch_run(
    model_cls: type[MarketModel] = MarketModel,
    parameters: Mapping[str, Any | Iterable[Any]] | None = None,
    number_processes: int | None = 1,
    iterations: int | None = None,
    data_collection_period: int = -1,
    max_steps: int | None = None,
    display_progress: bool = True,
    rng: Iterable[int] | int | None = None,
    *,
    collect: str = "tables",
    cluster: Cluster | None = None,
) -> list[dict[str, Any]]:
    """``mesa.batch_run``'s signature and run layout for ``MarketModel``, returning whole runs.

    Each result dict has Mesa's ``RunId``, ``iteration``, ``Step`` and parameter keys, the
    run's summary numbers, and ``"tables"``: the run's store tables (or just its ``runs``
    and ``summaries`` rows with ``collect="summary"``). Runs go to the end of the configured
    flight unless ``max_steps`` stops them earlier; only end-of-run data is collected
    (``data_collection_period`` must be -1). ``number_processes=None`` uses every CPU. A
    worker that dies raises :class:`~admarket.errors.WorkerLostError`. With ``cluster``
    (:class:`~admarket.batch.cluster.Cluster`) the runs go to a Dask cluster instead.
    """
    if model_cls is not MarketModel:
        raise ValueError("admarket's batch_run runs MarketModel; use mesa.batch_run otherwise")
    if data_collection_period != -1:
        raise ValueError("only end-of-run collection (data_collection_period=-1) is supported")
    if iterations is not None:
        if rng is not None:
            raise ValueError("pass either iterations or rng, not both")
        rng = [None] * iterations  # type: ignore[list-item]
    parameters = dict(parameters or {})
    cfg = parameters.get("config")
    if cfg is not None and not isinstance(cfg, MarketConfig):
        raise TypeError("parameters['config'] must be one MarketConfig")
    tasks = make_tasks(parameters, rng, collect=collect, max_steps=max_steps)
    procs = default_processes() if number_processes is None else number_processes
    return run_tasks(tasks, procs, display_progress, cluster=cluster)

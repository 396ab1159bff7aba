"""Studies beyond one machine: runs go to a ``dask.distributed`` cluster instead of local
processes.

``--scheduler ADDRESS`` sends a study's runs to an existing Dask scheduler (its workers may
be on many machines); ``--cluster local:N`` starts a ``LocalCluster`` of N single-threaded
worker processes on this machine. Each (config, scenario, seed) run is one task; since a
run is fully determined by its config and seed, results are identical to a local run to the
last digit, whichever worker ran it.

A worker that dies mid-run (killed, out of memory, its machine gone) is noticed by the
scheduler, which runs its task again elsewhere; a task that keeps killing workers ends in
Dask's ``KilledWorker``, raised here as :class:`~admarket.errors.WorkerLostError` naming the
run and seed — a run is never dropped silently. A run that raises is not retried (it would
raise again: runs are deterministic). Workers must run the same admarket (and Mesa, numpy,
scipy, pandas, Python) versions as this process: checked before any run is sent.

``distributed`` is imported only here, lazily, and only when a cluster is asked for: it is
the optional ``cluster`` extra (``pip install 'admarket[cluster]'``).
"""

from __future__ import annotations

import contextlib
import logging
import math
import re
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import CancelledError
from dataclasses import dataclass
from typing import Any

from admarket.errors import ConfigError, UsageError, WorkerLostError
from admarket.money import plural
from admarket.version import __version__, result_versions

CONNECT_TIMEOUT_S = 10  # to reach a remote scheduler
WORKER_WAIT_S = 30  # for a remote scheduler's first worker
# A study whose cluster has had no worker this long (every worker died and none came back: a
# LocalCluster's nanny can give up restarting one on an overloaded machine) stops with an
# error instead of waiting for ever; checked every POLL_S while no run completes.
NO_WORKERS_S = 120.0
POLL_S = 5.0
_LOCAL = re.compile(r"local:(\d+)")
_ADDRESS = re.compile(
    r"(?:(?:tcp|tls|ws|wss|ucx)://)?(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+):(?P<port>\d{1,5})"
)


@dataclass(frozen=True)
class Cluster:
    """Where a study's runs go: an existing scheduler's ``address``, or a LocalCluster of
    ``local_workers`` worker processes on this machine (exactly one of the two)."""

    address: str | None = None
    local_workers: int | None = None

    def __post_init__(self) -> None:
        if (self.address is None) == (self.local_workers is None):
            raise ValueError("Cluster needs exactly one of address and local_workers")
        if self.local_workers is not None and self.local_workers < 1:
            raise ConfigError("--cluster", f"local:{self.local_workers}", "local:N with N >= 1")

    @property
    def remote(self) -> bool:
        """Whether the runs happen elsewhere (an existing scheduler's workers)."""
        return self.address is not None

    def describe(self) -> str:
        """``"a LocalCluster of 4 workers"`` or ``"the Dask scheduler at tcp://h:8786"``."""
        if self.local_workers is None:  # (exactly one of the two is set)
            return f"the Dask scheduler at {self.address}"
        return f"a LocalCluster of {plural(self.local_workers, 'worker')}"


def parse_cluster(scheduler: str | None, cluster: str | None) -> Cluster | None:
    """``--scheduler ADDRESS`` / ``--cluster local:N`` → a :class:`Cluster`, or None for a
    local run; both given is a UsageError, a malformed value a ConfigError saying what is
    allowed."""
    if scheduler is not None and cluster is not None:
        raise UsageError(
            "give --scheduler ADDRESS (an existing Dask scheduler) or --cluster local:N "
            "(workers on this machine), not both"
        )
    if cluster is not None:
        m = _LOCAL.fullmatch(cluster.strip())
        if m is None or int(m.group(1)) < 1:
            raise ConfigError(
                "--cluster",
                cluster,
                "local:N with N a whole number >= 1, e.g. local:4 (for other machines' "
                "workers use --scheduler tcp://HOST:8786)",
            )
        return Cluster(local_workers=int(m.group(1)))
    if scheduler is not None:
        # a port is required (Dask has no default a client could assume) and must be one
        found = _ADDRESS.fullmatch(scheduler.strip())
        if not found or not 1 <= int(found["port"]) <= 65535:
            raise ConfigError(
                "--scheduler",
                scheduler,
                "a Dask scheduler address with its port (1-65535), e.g. tcp://10.0.0.5:8786 "
                "(tcp, tls, ws, wss or ucx); for workers on this machine use --cluster local:N",
            )
        return Cluster(address=scheduler.strip())
    return None


def _import_distributed() -> Any:
    try:
        import distributed
    except ImportError:
        raise UsageError(
            "--scheduler and --cluster need the `distributed` package: "
            "pip install 'admarket[cluster]'"
        ) from None
    return distributed


def _scheduler_saturation(dask_scheduler: Any) -> float:
    """On the scheduler: its ``distributed.scheduler.worker-saturation``."""
    return float(dask_scheduler.WORKER_SATURATION)


def runs_per_worker(nthreads: Sequence[int], saturation: float) -> float:
    """The most queued runs a scheduler with this ``worker-saturation`` hands one of workers
    with these thread counts at once (Dask's own rule: ``ceil(saturation × threads)``, at
    least 1); infinite when queuing is off (``inf``: every run is handed out at once)."""
    if not math.isfinite(saturation):
        return math.inf
    return max((max(math.ceil(saturation * n), 1) for n in nthreads), default=1)


def _blame_may_be_shared(client: Any, nthreads_seen: Sequence[int]) -> bool:
    """Whether a worker may have held more than one run when it died: Dask then blames each
    of them (``KilledWorker`` counts every run the dead worker held, running or waiting),
    so the run named may not be the one that killed it. Unknown counts as may."""
    try:
        saturation = client.run_on_scheduler(_scheduler_saturation)
        nthreads = [*nthreads_seen, *client.nthreads().values()]
    except Exception:
        return True
    return runs_per_worker(nthreads, saturation) > 1


def _submit(client: Any, fn: Callable[[Any], dict], tasks: Sequence[Any]) -> list[Any]:
    """Send the runs to the scheduler in study order, each marked as a data producer so the
    scheduler queues it and hands a worker a run only when it has a free slot.

    Without the mark Dask queues a task only while its group holds more than twice as many
    tasks as the cluster has threads, judged whenever it is (re)scheduled
    (dask/distributed#7274): the first runs of a study (each run is sent on its own, so the
    group is still small; with 2 workers runs 1-4 went out at once, two a worker), every run
    of a small study, and runs rescheduled after a worker died can go straight to workers,
    several to one. Dask blames every run a dying worker holds, so under load an innocent run
    that twice shared a worker with the culprit was reported as the one killing every worker.
    """
    from dask._task_spec import DataNode, Task  # the task spec distributed itself uses

    study = uuid.uuid4().hex  # unique task keys, readable on a dashboard
    futures = []
    for i, task in enumerate(tasks):
        key = f"admarket-run-{i + 1}-{study}"
        graph = {key: Task(key, fn, DataNode(None, task), _data_producer=True)}
        # one graph a run, as Client.submit sends them: equal priorities, so the scheduler
        # hands them out in the order sent
        futures += client.get(graph, [key], sync=False, fifo_timeout="100ms")
    return futures


def _check_workers(client: Any, cluster: Cluster) -> None:
    """Refuse a cluster without workers, or whose workers run other versions than this."""
    if cluster.remote:
        try:
            client.wait_for_workers(1, timeout=WORKER_WAIT_S)
        except TimeoutError:
            raise UsageError(
                f"{cluster.describe()} has no workers (waited {WORKER_WAIT_S} s); start "
                f"some with `dask worker {cluster.address} --nthreads 1`"
            ) from None
    here = result_versions()
    try:
        theirs = client.run(result_versions)
    except Exception as exc:  # e.g. admarket is not installed on a worker
        raise UsageError(
            f"the workers of {cluster.describe()} cannot run admarket ({type(exc).__name__}: "
            f"{exc}); install admarket {__version__} on every worker"
        ) from None
    for worker, versions in sorted(theirs.items()):
        if versions != here:
            diff = ", ".join(
                f"{k} {versions.get(k)} (here {v})" for k, v in here.items() if versions.get(k) != v
            )
            raise UsageError(
                f"worker {worker} of {cluster.describe()} runs {diff}: every worker needs the "
                "same versions as this machine, or results would differ"
            )


def describe_task(task: Any, i: int, n: int) -> str:
    """``"run 3 of 12 (scenario B, seed 43)"``: a task's place and what it runs."""
    kwargs = getattr(task, "kwargs", None) or {}
    parts = []
    if getattr(task, "point", None) is not None:
        parts.append(f"grid point {task.point}")
    if "design" in kwargs:
        parts.append(f"scenario {kwargs['design']}")
    if "rng" in kwargs:
        parts.append(f"seed {kwargs['rng']}")
    return f"run {i + 1} of {n}" + (f" ({', '.join(parts)})" if parts else "")


@contextlib.contextmanager
def _client(cluster: Cluster) -> Iterator[Any]:
    """A connected Client (and its LocalCluster), closed on exit whatever happens."""
    distributed = _import_distributed()
    with contextlib.ExitStack() as stack:
        if cluster.remote:
            try:
                client = distributed.Client(cluster.address, timeout=CONNECT_TIMEOUT_S)
            except (OSError, TimeoutError, ValueError) as exc:
                raise UsageError(
                    f"cannot reach {cluster.describe()} ({exc}); start one with `dask "
                    "scheduler` and check the address and port"
                ) from None
        else:
            import dask

            # one run at a time per worker (runs are queued on the scheduler, see _submit): a
            # worker that dies takes only the run it was running with it, so KilledWorker
            # names the run that killed it
            stack.enter_context(dask.config.set({"distributed.scheduler.worker-saturation": 1.0}))
            lc = distributed.LocalCluster(
                n_workers=cluster.local_workers,
                threads_per_worker=1,
                processes=True,
                dashboard_address=":0",  # any free port: 8787 may be another study's
                silence_logs=logging.ERROR,
            )
            stack.callback(lc.close)
            client = distributed.Client(lc)
        stack.callback(client.close)
        yield client


def runs_bar(n: int, done: int, progress: bool) -> Any:
    """The progress bar of a study's ``n`` runs to run, after ``done`` already done (a
    resumed study's reused runs: shown as done), on stderr; silent without ``progress``."""
    from tqdm import tqdm

    return tqdm(
        total=n + done, initial=done, unit="run", desc="runs", disable=not progress, file=sys.stderr
    )


def iter_on_cluster(
    tasks: Sequence[Any],
    fn: Callable[[Any], dict],
    cluster: Cluster,
    progress: bool = True,
    done: int = 0,
) -> Iterator[tuple[int, dict]]:
    """Run ``fn(task)`` for every task on ``cluster``; yields ``(task index, result)`` as
    runs complete (in completion order). ``done``: runs of the study already done (a
    resumed study's reused runs), shown as done on the progress bar.

    ``fn`` must be importable on the workers (a module-level function). A task whose runs
    keep killing workers raises :class:`WorkerLostError` naming the run; a run that raises
    re-raises here. On any exit — done, error, Ctrl-C — unfinished runs are cancelled and
    the client (and a LocalCluster) closed.
    """

    if not tasks:
        return
    distributed = _import_distributed()
    with _client(cluster) as client:
        _check_workers(client, cluster)
        nthreads = list(client.nthreads().values())
        futures = {fut: i for i, fut in enumerate(_submit(client, fn, tasks))}
        bar = runs_bar(len(tasks), done, progress)
        try:
            for fut in _completed(distributed, client, futures, cluster):
                i = futures.pop(fut)
                try:
                    result = fut.result()
                except distributed.scheduler.KilledWorker:
                    raise WorkerLostError(
                        f"{describe_task(tasks[i], i, len(tasks))} killed every worker that "
                        f"ran it on {cluster.describe()} (out of memory?); nothing was "
                        "published"
                        + (
                            " (its workers take more than one run at once, so this run "
                            "may only have been on a worker that another run killed)"
                            if _blame_may_be_shared(client, nthreads)
                            else ""
                        )
                    ) from None
                except CancelledError:
                    raise WorkerLostError(
                        f"{describe_task(tasks[i], i, len(tasks))} was lost: the connection "
                        f"to {cluster.describe()} broke; nothing was published"
                    ) from None
                fut.release()
                bar.update()
                yield i, result
        finally:
            bar.close()
            if futures:
                with contextlib.suppress(Exception):
                    client.cancel(list(futures), force=True)


def _completed(
    distributed: Any, client: Any, futures: dict[Any, int], cluster: Cluster
) -> Iterator[Any]:
    """``futures`` as they complete, those completing together failed ones first, then in
    study order (a finished run's result can be lost with a worker a failing run killed, and
    waiting for its rerun would leave the failure unread); a :class:`WorkerLostError` once
    the cluster has had no worker for :data:`NO_WORKERS_S`."""
    runs = distributed.as_completed(futures)  # one queue for the study, however many runs
    idle_since: float | None = None
    checked = time.monotonic()
    while not runs.is_empty():
        done = runs.next_batch(block=False)
        if done:
            idle_since = None
            yield from sorted(done, key=lambda f: (f.status != "error", futures[f]))
            continue
        time.sleep(0.1)  # as Dask's own as_completed iterator waits
        now = time.monotonic()
        if now - checked < POLL_S:
            continue
        checked = now
        if _has_workers(client):
            idle_since = None
        elif idle_since is None:
            idle_since = now
        elif now - idle_since >= NO_WORKERS_S:
            raise WorkerLostError(
                f"{cluster.describe()} has had no worker for {NO_WORKERS_S:.0f} s with "
                f"{plural(runs.count(), 'run')} left (its workers died and none came back); "
                "nothing was published"
            )


def _has_workers(client: Any) -> bool:
    """Whether the cluster has a worker now (True when the scheduler cannot say: a broken
    connection is reported by the runs' futures, not here)."""
    try:
        return bool(client.nthreads())
    except Exception:
        return True


def runs_at_once_here(cluster: Cluster | None, processes: int, runs: int) -> int:
    """How many runs will be in memory on this machine at once (for ``check_memory``):
    ``processes`` locally, the N workers of ``local:N``, none with a remote scheduler
    (its workers' memory is theirs)."""
    if cluster is None:
        return min(max(1, processes), runs)
    if cluster.local_workers is not None:
        return min(cluster.local_workers, runs)
    return 0

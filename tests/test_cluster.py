"""Studies on a Dask cluster: identical to local runs to the last digit, lost workers retried
or reported, bad options refused. Every test uses a LocalCluster on this machine."""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import logging
import os
import re
import sys
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from admarket import build_config
from admarket.batch import cluster as cluster_module
from admarket.batch import compare, sweep
from admarket.batch.cluster import Cluster, parse_cluster, runs_at_once_here, runs_per_worker
from admarket.batch.pool import Task, make_tasks, run_task, run_tasks
from admarket.cli import main
from admarket.errors import ConfigError, UsageError, WorkerLostError
from admarket.outputs import results
from admarket.outputs.result_runs import RUNS_DIR
from admarket.outputs.store import COMPLETE_MARKER, query
from admarket.version import __version__
from tests.study_stops import stopping_after

distributed = pytest.importorskip("distributed")

SMALL = {"n_buyers": 3, "n_sellers": 3, "campaigns_per_buyer": 4, "days": 2}
CLI_SMALL = ["--buyers", "3", "--sellers", "3", "--campaigns-per-buyer", "4", "--days", "2"]


@contextlib.contextmanager
def _local_scheduler(workers: int, threads: int, **config: float) -> Iterator[Cluster]:
    """A LocalCluster of worker processes under these ``distributed.scheduler`` settings,
    reached by its address (so the tests go through the remote-scheduler path)."""
    import dask

    settings = {f"distributed.scheduler.{k.replace('_', '-')}": v for k, v in config.items()}
    with (
        dask.config.set(settings),
        distributed.LocalCluster(
            n_workers=workers,
            threads_per_worker=threads,
            processes=True,
            dashboard_address=":0",
            silence_logs=logging.CRITICAL,
        ) as lc,
    ):
        yield Cluster(address=lc.scheduler_address)


@pytest.fixture(scope="module")
def scheduler():
    """A LocalCluster of 2 workers shared by this module's tests. A worker that dies is
    restarted; a task that kills two workers is a KilledWorker (allowed-failures 1)."""
    with _local_scheduler(2, 1, allowed_failures=1, worker_saturation=1.0) as cluster:
        yield cluster


def _tables(out: Path) -> dict[str, pd.DataFrame]:
    """Every table of a store (the runs table's created_at is wall-clock: left out)."""
    names = query(out, "SHOW TABLES")["name"]
    return {
        t: query(out, f"SELECT * {'EXCLUDE (created_at)' if t == 'runs' else ''} FROM {t}")
        for t in names
    }


def _same_stores(a: Path, b: Path, at_least: int) -> None:
    ta, tb = _tables(a), _tables(b)
    assert set(ta) == set(tb) and len(ta) >= at_least
    for name in ta:
        pd.testing.assert_frame_equal(ta[name], tb[name], check_exact=True, obj=name)


def test_compare_on_a_cluster_is_identical_to_the_local_run(scheduler, tmp_path, spooled_parts):
    """The scheduler's workers run on this machine, so they see the result being built, as
    workers on a shared disk would: they write their runs' large tables into it."""
    cfg = build_config(**SMALL)
    local = compare(cfg, [3, 4], processes=1, out=tmp_path / "local", journal=False)
    assert spooled_parts == []  # one process keeping no journal: nothing spooled
    dask_ = compare(cfg, [3, 4], cluster=scheduler, out=tmp_path / "dask")
    assert len({p.path for p in spooled_parts}) == 6  # every run's tables came through files
    pd.testing.assert_frame_equal(local, dask_, check_exact=True)
    assert list(dask_["run_id"]) == [f"s{s:06d}-{x}" for s in (3, 4) for x in "ABC"]
    _same_stores(tmp_path / "local", tmp_path / "dask", at_least=13)
    for name in ("report.json", *(f"logs/{p.name}" for p in (tmp_path / "local/logs").iterdir())):
        assert (tmp_path / "dask" / name).read_bytes() == (tmp_path / "local" / name).read_bytes()
    assert len(list((tmp_path / "dask/logs").iterdir())) == 6  # the first seed's, as locally


def test_a_localclusters_workers_spool_their_runs_and_the_result_is_the_same(
    tmp_path, spooled_parts
):
    """A LocalCluster's workers see this machine's disk: like a pool's, they write their
    runs' logs and large tables into the result being built (every table spooled here)."""
    cfg = build_config(**SMALL)
    local = compare(cfg, [3], processes=1, out=tmp_path / "local", logs="all", journal=False)
    assert spooled_parts == []  # one process keeping no journal: nothing spooled
    dask_ = compare(cfg, [3], cluster=Cluster(local_workers=2), out=tmp_path / "dask", logs="all")
    assert len({p.path for p in spooled_parts}) == 3  # every run's tables came through files
    pd.testing.assert_frame_equal(local, dask_, check_exact=True)
    _same_results(tmp_path / "local", tmp_path / "dask")


def test_workers_that_do_not_see_the_result_send_their_runs_and_the_result_is_the_same(
    scheduler, tmp_path, monkeypatch, spooled_parts
):
    """Workers on machines without the disk: their spools point at folders they do not
    see, so every run sends its tables and the parent writes every log."""
    import admarket.batch.comparison as comparison

    real = comparison._spooled

    def unseen(tasks, build, *args):
        spooled = real(tasks, build, *args)
        elsewhere = build / "not-on-this-machine" if build is not None else None
        return [
            dataclasses.replace(
                t,
                spool=dataclasses.replace(
                    t.spool, folder=str(elsewhere / "spool"), logs_dir=str(elsewhere / "logs")
                ),
            )
            if t.spool is not None
            else t
            for t in spooled
        ]

    cfg = build_config(**SMALL)
    local = compare(cfg, [3], processes=1, out=tmp_path / "local", logs="all", journal=False)
    monkeypatch.setattr(comparison, "_spooled", unseen)
    dask_ = compare(cfg, [3], cluster=scheduler, out=tmp_path / "dask", logs="all")
    assert spooled_parts == []  # nothing came through a spool file
    pd.testing.assert_frame_equal(local, dask_, check_exact=True)
    _same_results(tmp_path / "local", tmp_path / "dask")


def _same_results(local: Path, other: Path) -> None:
    """The same store, the same logs to the byte, and the same files: no spool folder and
    no half-written file left in ``other``."""
    _same_stores(local, other, at_least=13)
    logs = sorted(p.name for p in (local / "logs").iterdir())
    assert len(logs) == 6
    for name in logs:
        assert (other / "logs" / name).read_bytes() == (local / "logs" / name).read_bytes(), name
    # (a compare that keeps a journal keeps its runs in the result: a reference may not)
    names = [{p.name for p in folder.iterdir()} - {RUNS_DIR} for folder in (other, local)]
    assert names[0] == names[1]


def test_a_worker_lost_half_way_through_a_spool_file_is_retried_and_the_result_is_identical(
    tmp_path, spooled_parts, monkeypatch
):
    """The first worker to spool a run dies with one table of several written into its spool
    file (``dies_mid_spool``, preloaded into every worker): Dask runs the run again on a
    restarted worker, and the half-written file and its write-ahead log are not published."""
    import dask

    cfg = build_config(**SMALL)
    local = compare(cfg, [3], processes=1, out=tmp_path / "local", logs="all", journal=False)
    marker = tmp_path / "died"
    monkeypatch.setenv("ADMARKET_TEST_DIE_MARKER", str(marker))
    preload = str(Path(__file__).with_name("dies_mid_spool.py"))
    left: list[str] = []  # what the lost try left in the spool folder when it was cleaned up
    clean = results._remove_work_folders

    def noting(tmp: Path, *args) -> None:
        left.extend(sorted(p.name for p in (tmp / ".spool").iterdir()))
        clean(tmp, *args)

    monkeypatch.setattr(results, "_remove_work_folders", noting)
    with dask.config.set({"distributed.worker.preload": [preload]}):
        dask_ = compare(
            cfg, [3], cluster=Cluster(local_workers=2), out=tmp_path / "dask", logs="all"
        )
    assert marker.read_text().endswith("died writing a spool file")  # a worker did die
    # the lost try left its half-written file behind (with DuckDB's log of it), and only that
    assert any(n.endswith(".part") for n in left) and all(".part" in n for n in left), left
    assert len({p.path for p in spooled_parts}) == 3  # every run still came through a file
    pd.testing.assert_frame_equal(local, dask_, check_exact=True)
    _same_results(tmp_path / "local", tmp_path / "dask")


def test_sweep_on_a_cluster_is_identical_to_the_local_run(scheduler, tmp_path):
    cfg = build_config(**SMALL)
    grid = {"exchange_fee": [0.0, 0.2], "decay_rate": [0.0, 0.1]}
    local = sweep(cfg, grid, [1, 2], out=tmp_path / "local")
    dask_ = sweep(cfg, grid, [1, 2], cluster=scheduler, out=tmp_path / "dask")
    assert len(dask_) == 4 * 3 * 2
    pd.testing.assert_frame_equal(local, dask_, check_exact=True)
    _same_stores(tmp_path / "local", tmp_path / "dask", at_least=3)


def test_a_sweep_stopped_here_resumes_on_a_cluster_identically(scheduler, tmp_path, monkeypatch):
    """The journal of a sweep stopped on local processes serves a resume on the cluster:
    only the rest go to the workers, and the result equals the uninterrupted local one."""
    import admarket.batch.grid as grid_module

    cfg, grid = build_config(**SMALL), {"exchange_fee": [0.0, 0.2]}
    whole = sweep(cfg, grid, [1, 2], out=tmp_path / "whole")
    run_all, sent = grid_module.iter_results, []
    monkeypatch.setattr(grid_module, "iter_results", stopping_after(run_all, 3, []))
    with pytest.raises(KeyboardInterrupt):
        sweep(cfg, grid, [1, 2], out=tmp_path / "s")

    def counted(tasks, *args, **kwargs):
        sent.append(kwargs.get("cluster"))
        sent.append(len(tasks))
        yield from run_all(tasks, *args, **kwargs)

    monkeypatch.setattr(grid_module, "iter_results", counted)
    resumed = sweep(cfg, grid, [1, 2], cluster=scheduler, out=tmp_path / "s", resume=True)
    assert sent == [scheduler, 2 * 2 * 3 - 3]
    pd.testing.assert_frame_equal(whole, resumed, check_exact=True)
    _same_stores(tmp_path / "whole", tmp_path / "s", at_least=3)


def test_a_compare_stopped_here_resumes_on_a_cluster_identically(scheduler, tmp_path, monkeypatch):
    """The journal of a compare stopped on local processes serves a resume on the cluster:
    only the rest go to the workers (spooling into the result, as the kept runs' files are
    linked into it), and the result equals the uninterrupted local one."""
    import admarket.batch.comparison as comparison

    cfg = build_config(**SMALL)
    whole = compare(cfg, [3], processes=2, out=tmp_path / "whole", logs="all")
    run_all, sent = comparison.iter_results, []
    monkeypatch.setattr(comparison, "iter_results", stopping_after(run_all, 1, []))
    with pytest.raises(KeyboardInterrupt):
        compare(cfg, [3], processes=2, out=tmp_path / "c", logs="all")
    monkeypatch.setattr(comparison, "iter_results", stopping_after(run_all, 10**6, sent))
    resumed = compare(cfg, [3], cluster=scheduler, out=tmp_path / "c", logs="all", resume=True)
    assert sent == [3 - 1] and resumed.attrs["reused_runs"] == 1
    pd.testing.assert_frame_equal(whole, resumed, check_exact=True)
    _same_results(tmp_path / "whole", tmp_path / "c")


def test_cli_cluster_local_writes_a_complete_identical_result(tmp_path, capsys):
    args = ["sweep", *CLI_SMALL, "--grid", "exchange_fee=0.1,0.2", "--seeds", "2"]
    args += ["--scenarios", "a,b", "--no-progress"]
    assert main([*args, "--cluster", "local:2", "--out", str(tmp_path / "dask")]) == 0
    assert "8 runs on a LocalCluster of 2 workers" in capsys.readouterr().out
    assert main([*args, "--processes", "1", "--out", str(tmp_path / "local")]) == 0
    assert (tmp_path / "dask" / COMPLETE_MARKER).is_file()
    _same_stores(tmp_path / "local", tmp_path / "dask", at_least=3)
    assert (tmp_path / "dask" / "sweep.csv").read_bytes() == (
        tmp_path / "local" / "sweep.csv"
    ).read_bytes()


def test_cli_compare_on_a_scheduler_address(scheduler, tmp_path, capsys):
    out = tmp_path / "out"
    argv = ["compare", *CLI_SMALL, "--seeds", "1", "--scenarios", "a", "--no-progress"]
    assert main([*argv, "--scheduler", scheduler.address, "--out", str(out)]) == 0
    assert f"on the Dask scheduler at {scheduler.address}" in capsys.readouterr().out
    assert (out / COMPLETE_MARKER).is_file()
    assert len(query(out, "FROM summaries")) == 1


@pytest.mark.parametrize(
    ("extra", "fragment"),
    [
        (["--cluster", "local:0"], "invalid --cluster = 'local:0': local:N with N a whole"),
        (["--cluster", "local"], "invalid --cluster = 'local': local:N"),
        (["--cluster", "4"], "e.g. local:4"),
        (["--cluster", "local:2", "--scheduler", "tcp://h:8786"], "not allowed with"),
        (["--cluster", "local:2", "--processes", "2"], "--processes applies to local runs"),
        (["--scheduler", "not an address"], "a Dask scheduler address with its port"),
        # no port: Dask has no default a client could assume (it raised a traceback)
        (["--scheduler", "tcp://127.0.0.1"], "invalid --scheduler = 'tcp://127.0.0.1'"),
        (["--scheduler", "tcp://localhost"], "with its port (1-65535)"),
        (["--scheduler", "tcp://127.0.0.1:99999"], "with its port (1-65535)"),
        (["--scheduler", "tcp://127.0.0.1:0"], "with its port (1-65535)"),
    ],
)
def test_bad_cluster_options_exit_2_with_one_line(tmp_path, capsys, extra, fragment):
    out = tmp_path / "out"
    try:
        code = main(["compare", *CLI_SMALL, "--no-progress", *extra, "--out", str(out)])
    except SystemExit as exc:  # argparse's own errors (mutually exclusive options)
        code = exc.code
    assert code == 2
    err = capsys.readouterr().err.strip()
    assert fragment in err and "\n" not in err
    assert not out.exists()


def test_parse_cluster():
    assert parse_cluster(None, None) is None
    assert parse_cluster(None, "local:3") == Cluster(local_workers=3)
    assert parse_cluster("tcp://10.0.0.5:8786", None) == Cluster(address="tcp://10.0.0.5:8786")
    assert parse_cluster("[::1]:8786", None).remote
    with pytest.raises(UsageError, match="not both"):
        parse_cluster("tcp://h:1", "local:2")
    with pytest.raises(ConfigError, match="--cluster"):
        parse_cluster(None, "local:-1")


def test_memory_check_counts_local_workers_not_a_remote_schedulers():
    assert runs_at_once_here(None, 4, 3) == 3
    assert runs_at_once_here(Cluster(local_workers=8), 1, 96) == 8
    assert runs_at_once_here(Cluster(address="tcp://h:8786"), 1, 96) == 0


def _dies_once(marker: str, task: Task) -> dict:
    """In a worker: the second run kills its worker process the first time it is tried."""
    if task.run_id == 1 and not os.path.exists(marker):
        Path(marker).write_text("died once")
        os._exit(1)
    return run_task(task)


def _always_dies(task: Task) -> dict:
    """In a worker: the second run kills every worker process that tries it."""
    if task.run_id == 1:
        os._exit(1)
    return run_task(task)


def _summaries(results: list[dict]) -> pd.DataFrame:
    return pd.concat([r["tables"]["summaries"] for r in results], ignore_index=True)


def test_a_lost_worker_is_retried_and_the_result_is_complete_and_identical(scheduler, tmp_path):
    tasks = make_tasks({"design": ["A", "B"], "config": build_config(**SMALL)}, [1, 2])
    marker = tmp_path / "died"
    fn = functools.partial(_dies_once, str(marker))
    got = run_tasks(tasks, progress=False, fn=fn, cluster=scheduler)
    assert marker.is_file()  # a worker did die
    want = run_tasks(tasks, 1, progress=False)
    assert [r["RunId"] for r in got] == [0, 1, 2, 3]
    pd.testing.assert_frame_equal(_summaries(got), _summaries(want), check_exact=True)


def _killed_every(tasks: list[Task], cluster: Cluster) -> str:
    with pytest.raises(WorkerLostError, match="killed every worker") as info:
        run_tasks(tasks, progress=False, fn=_always_dies, cluster=cluster)
    return str(info.value)


def test_a_run_that_keeps_killing_workers_is_reported_by_name(scheduler):
    # every run is queued on the scheduler and each single-threaded worker is handed one at a
    # time (worker-saturation 1.0), so only the run that killed a worker is blamed for it
    # (when Dask handed out runs 1-4 at once, two a worker, run 4 was sometimes named)
    tasks = make_tasks({"design": ["A", "B"], "config": build_config(**SMALL)}, [1, 2, 3])
    msg = _killed_every(tasks, scheduler)
    assert msg.startswith("run 2 of 6 (scenario B, seed 1) killed every worker")
    assert "may only" not in msg


def test_in_a_small_study_too_the_killed_run_is_named_exactly(scheduler):
    # as many runs as workers: each is still handed to a worker only when it has a free slot
    tasks = make_tasks({"design": ["A", "B"], "config": build_config(**SMALL)}, [1])
    msg = _killed_every(tasks, scheduler)
    assert msg.startswith("run 2 of 2 (scenario B, seed 1) killed every worker")
    assert "may only" not in msg


def test_when_a_worker_takes_two_runs_at_once_the_blame_carries_the_caveat():
    # one worker with 2 threads runs both runs side by side: Dask blames both when it dies
    tasks = make_tasks({"design": ["A", "B"], "config": build_config(**SMALL)}, [1])
    with _local_scheduler(1, 2, allowed_failures=0) as cluster:
        msg = _killed_every(tasks, cluster)
    assert re.match(r"run [12] of 2 \(scenario [AB], seed 1\) killed every", msg)
    assert "may only have been on a worker that another run killed" in msg


def test_runs_per_worker_follows_dasks_worker_saturation():
    assert runs_per_worker([1, 1], 1.0) == 1
    assert runs_per_worker([1, 1], 1.1) == 2  # Dask's default saturation: 2 a 1-thread worker
    assert runs_per_worker([1, 4], 1.0) == 4
    assert runs_per_worker([1], 0.5) == 1
    assert runs_per_worker([1], float("inf")) == float("inf")


def test_workers_of_another_admarket_version_are_refused(scheduler, monkeypatch):
    monkeypatch.setattr("admarket.version.__version__", "9.9.9")  # here, not on the workers
    tasks = make_tasks({"design": ["A"], "config": build_config(**SMALL)}, [1])
    theirs = re.escape(f"runs admarket {__version__} (here 9.9.9)")
    with pytest.raises(UsageError, match=theirs):
        run_tasks(tasks, progress=False, cluster=scheduler)


def test_without_distributed_the_error_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)  # import fails as if not installed
    tasks = make_tasks({"design": ["A"], "config": build_config(**SMALL)}, [1])
    with pytest.raises(UsageError, match=re.escape("pip install 'admarket[cluster]'")):
        run_tasks(tasks, progress=False, cluster=Cluster(local_workers=1))


class _NoWorkersLeft:
    """Stands in for distributed and its client: no run ever completes, no worker is left."""

    def __init__(self, futures) -> None:
        self.left = len(futures)
        self.polls = 0

    def as_completed(self, futures):
        return self

    def is_empty(self) -> bool:
        return False

    def count(self) -> int:
        return self.left

    def next_batch(self, block: bool) -> list:
        self.polls += 1
        return []

    def nthreads(self) -> dict:
        return {}


def test_a_study_whose_workers_are_all_gone_stops_instead_of_waiting_for_ever(monkeypatch):
    monkeypatch.setattr(cluster_module, "NO_WORKERS_S", 0.0)
    monkeypatch.setattr(cluster_module, "POLL_S", 0.0)
    futures = {"run-1": 0, "run-2": 1}
    fake = _NoWorkersLeft(futures)
    with pytest.raises(WorkerLostError, match=r"no worker for 0 s with 2 runs left"):
        list(cluster_module._completed(fake, fake, futures, Cluster(local_workers=2)))
    assert fake.polls == 2  # the first empty poll starts the clock, the next one stops


@dataclasses.dataclass(frozen=True)
class _Done:
    name: str
    status: str


class _AllDone:
    """Stands in for distributed: every run completes at once."""

    def as_completed(self, futures):
        self.left = list(futures)
        return self

    def is_empty(self) -> bool:
        return not self.left

    def next_batch(self, block: bool) -> list:
        done, self.left = self.left, []
        return done


def test_runs_that_complete_together_come_failed_first_then_in_study_order():
    """A finished run's result may be lost with the worker a failing run killed: the failure
    is read before anything waits on that result's rerun."""
    ok1, ok2, bad = _Done("a", "finished"), _Done("b", "finished"), _Done("c", "error")
    futures = {ok1: 0, bad: 2, ok2: 1}
    got = list(cluster_module._completed(_AllDone(), None, futures, Cluster(local_workers=2)))
    assert got == [bad, ok1, ok2]

"""Fault injection: kill, terminate, race and starve admarket, then check the output folder.

Each test runs the real command in a subprocess (small markets, 2 days) and strikes at a
known moment: during the simulation (worker processes are running), during publishing (the
build folder beside the output exists), with a second writer, a killed worker, a full disk.
After each: nothing that was complete is lost, and nothing incomplete looks complete.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from admarket.batch.pool import Task, make_tasks, run_tasks
from admarket.config import build_config
from admarket.errors import IncompleteRunError, WorkerLostError
from admarket.outputs.manifest import COMPLETE_MARKER, check_complete
from admarket.outputs.store import query

ROOT = Path(__file__).resolve().parents[1]
SMALL = ["--buyers", "2", "--sellers", "2", "--campaigns-per-buyer", "3", "--days", "2"]
QUIET = ["--no-progress"]


def _env() -> dict[str, str]:
    path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)
    return {**os.environ, "PYTHONPATH": path, "MPLBACKEND": "Agg"}


def _start(*args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "admarket", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(),
    )


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "admarket", *args], capture_output=True, text=True, env=_env()
    )


def _children(pid: int) -> list[int]:
    """Worker processes of ``pid`` (spawned by multiprocessing; not its resource tracker)."""
    out = []
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            ppid = int((d / "stat").read_text().rsplit(")", 1)[1].split()[1])
            cmd = (d / "cmdline").read_bytes()
        except (OSError, IndexError, ValueError):
            continue
        if ppid == pid and b"spawn_main" in cmd:
            out.append(int(d.name))
    return out


def _until(cond, proc: subprocess.Popen, what: str):
    """Poll ``cond()`` until it is truthy; fail if ``proc`` ends first (no time limit)."""
    while True:
        got = cond()
        if got:
            return got
        if proc.poll() is not None:
            _, err = proc.communicate()
            pytest.fail(f"the command ended (exit {proc.returncode}) before {what}: {err}")
        time.sleep(0.002)


def _gone(pids: list[int]) -> None:
    """Wait until none of ``pids`` is alive (zombies count as gone)."""
    for pid in pids:
        while True:
            try:
                state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
            except OSError:
                break
            if state == "Z":
                break
            time.sleep(0.01)


def _build_dirs(out: Path) -> list[Path]:
    return [p for p in out.parent.iterdir() if p.name.startswith(f".{out.name}.tmp-")]


def _snapshot(folder: Path) -> dict[str, bytes]:
    files = (p for p in folder.rglob("*") if p.is_file())
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in files}


def _assert_valid(folder: Path) -> None:
    """A complete result: marker lists every file with its size, the store answers SQL."""
    manifest = check_complete(folder)
    assert set(manifest["files"]) == set(_snapshot(folder)) - {COMPLETE_MARKER}
    assert len(query(folder, "SELECT * FROM runs")) == manifest["runs"]


def _unkept(err: str) -> str:
    """``err`` without the line saying how many runs a stopped compare kept."""
    return "".join(line for line in err.splitlines(True) if " runs are kept in " not in line)


def _one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    return lines[0]


@pytest.fixture(scope="module")
def previous(tmp_path_factory) -> Path:
    """A complete compare result (1 seed) to strike at, copied fresh by each test."""
    out = tmp_path_factory.mktemp("prev") / "result"
    r = _run("compare", *SMALL, *QUIET, "--seeds", "1", "--processes", "1", "--out", str(out))
    assert r.returncode == 0, r.stderr
    return out


@pytest.fixture
def result(previous, tmp_path) -> tuple[Path, dict[str, bytes]]:
    out = tmp_path / "result"
    shutil.copytree(previous, out)
    return out, _snapshot(out)


def _compare(out: Path, *extra: str) -> subprocess.Popen:
    return _start("compare", *SMALL, *QUIET, "--seeds", "4", "--processes", "2", *extra,
                  "--out", str(out))  # fmt: skip


# --- during the simulation -------------------------------------------------------------------
@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM])
def test_signal_during_simulation_keeps_the_previous_result(sig, result):
    out, before = result
    proc = _compare(out)
    workers = _until(lambda: _children(proc.pid), proc, "workers started")
    proc.send_signal(sig)
    _, err = proc.communicate()
    _gone(workers)  # workers do not outlive the parent (terminated, or PDEATHSIG)
    assert proc.returncode == (-9 if sig == signal.SIGKILL else 143)
    if sig == signal.SIGTERM:
        assert "terminated" in _one_line(_unkept(err))
    assert _snapshot(out) == before
    _assert_valid(out)
    # runs stream into a build folder beside the result: SIGTERM removes it on the way out;
    # after SIGKILL it is left unmarked (never taken for a result) for the next writer
    left = _build_dirs(out)
    if sig == signal.SIGTERM:
        assert not left
    assert all(not (d / COMPLETE_MARKER).exists() for d in left)
    # the next run is not blocked by anything the dead one left
    r = _run("run", *SMALL, *QUIET, "--scenarios", "b", "--out", str(out))
    assert r.returncode == 0, r.stderr
    _assert_valid(out)
    # (and the journal of the compare's runs that finished, if any had: for --resume)
    assert sorted(p.name for p in out.parent.iterdir()) in (
        ["result"],
        [".result.compare-journal", "result"],
    )


class _Stop(Exception):
    pass


def test_workers_start_whole_with_interrupts_held(monkeypatch):
    """A SIGTERM (or Ctrl-C) that arrives while worker processes are being started is taken
    once every worker has started, not half-way through handing one its start-up data
    (which left the worker printing an EOFError traceback under the one-line message);
    the workers started are then stopped, and the signals are no longer held."""
    from concurrent.futures import ProcessPoolExecutor

    from admarket.batch import pool

    workers, stopped_at = [], []
    spawn = ProcessPoolExecutor._spawn_process

    def spawn_and_signal(self):
        if workers:
            os.kill(os.getpid(), signal.SIGTERM)  # arrives as the second worker starts
        spawn(self)
        workers.append(next(reversed(self._processes.values())))

    def stop(signum, frame):
        stopped_at.append(len(workers))
        raise _Stop

    monkeypatch.setattr(ProcessPoolExecutor, "_spawn_process", spawn_and_signal)
    previous = signal.signal(signal.SIGTERM, stop)
    try:
        with pytest.raises(_Stop):
            pool._new_pool(2)
        assert signal.getsignal(signal.SIGTERM) is stop  # the caller's handler is back
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert stopped_at == [2]  # taken once both workers had started, and once
    assert len(workers) == 2 and not any(w.is_alive() for w in workers)  # then stopped


# --- during publishing -----------------------------------------------------------------------
@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM])
def test_signal_during_publishing_keeps_a_complete_result(sig, result):
    out, before = result
    proc = _start("run", *SMALL, *QUIET, "--out", str(out))
    _until(lambda: _build_dirs(out), proc, "publishing started")
    proc.send_signal(sig)
    _, err = proc.communicate()
    if proc.returncode == 0:  # pragma: no cover - the swap won the race: the new result
        _assert_valid(out)
    else:
        assert proc.returncode == (-9 if sig == signal.SIGKILL else 143), err
        assert _snapshot(out) == before  # byte for byte the previous result
        _assert_valid(out)
    left = _build_dirs(out)
    if sig == signal.SIGTERM:
        assert not left  # cleaned up on the way out
    for d in left:  # a killed build is hidden beside the result; marked only if whole
        if (d / COMPLETE_MARKER).exists():
            _assert_valid(d)
        else:
            with pytest.raises(IncompleteRunError):
                check_complete(d)
    r = _run("run", *SMALL, *QUIET, "--scenarios", "a", "--out", str(out))
    assert r.returncode == 0, r.stderr
    assert not _build_dirs(out)  # the next run removed what the dead one left
    _assert_valid(out)


# --- two writers ------------------------------------------------------------------------------
def test_two_writers_one_is_refused_and_the_result_is_consistent(tmp_path):
    out = tmp_path / "shared"
    first = _start("compare", *SMALL, *QUIET, "--seeds", "3", "--processes", "1",
                   "--exchange-fee", "0.1", "--out", str(out))  # fmt: skip
    _until(lambda: (tmp_path / ".shared.lock").exists(), first, "the first took the lock")
    second = _run("run", *SMALL, *QUIET, "--exchange-fee", "0.4", "--out", str(out))
    _, err1 = first.communicate()
    codes = sorted([first.returncode, second.returncode])
    assert codes == [0, 2], (err1, second.stderr)
    loser = second.stderr if second.returncode == 2 else err1
    assert "is being written by another admarket process" in _one_line(loser)
    fee = 0.1 if first.returncode == 0 else 0.4
    _assert_valid(out)
    configs = query(out, "SELECT DISTINCT config FROM runs")["config"]
    assert {json.loads(c)["exchange_fee"] for c in configs} == {fee}
    report = json.loads((out / "report.json").read_text())
    a = [s for s in report["summaries"] if s["scenario"] == "A"]
    assert a and all(s["take_rate"] == pytest.approx(fee, abs=1e-3) for s in a)
    assert not (tmp_path / ".shared.lock").exists()


# --- a worker dies ---------------------------------------------------------------------------
def test_killed_worker_stops_compare_with_one_line_and_publishes_nothing(tmp_path):
    out = tmp_path / "new"
    proc = _compare(out)
    victim = _until(lambda: _children(proc.pid), proc, "workers started")[0]
    os.kill(victim, signal.SIGKILL)  # what the out-of-memory killer does
    _, err = proc.communicate()
    assert proc.returncode == 1
    assert "a worker process died" in _one_line(_unkept(err))
    # no result, no build folder, no lock file (the runs that finished, if any had, kept)
    assert [p.name for p in tmp_path.iterdir()] in ([], [".new.compare-journal"])


def test_killed_worker_stops_sweep_and_keeps_the_previous_result(result):
    out, before = result
    proc = _start("sweep", *SMALL, *QUIET, "--grid", "exchange_fee=0.1,0.2,0.3", "--seeds", "2",
                  "--processes", "2", "--out", str(out))  # fmt: skip
    victim = _until(lambda: _children(proc.pid), proc, "workers started")[0]
    os.kill(victim, signal.SIGKILL)
    _, err = proc.communicate()
    assert proc.returncode == 1 and "worker process died" in _one_line(err)
    assert _snapshot(out) == before


def _die(task: Task) -> dict:  # runs in a worker: the second run's process is killed
    if task.run_id == 1:
        os.kill(os.getpid(), signal.SIGKILL)
    return {"run": task.run_id}


def _half_sent(marker: str) -> None:  # in a worker: half a result in the pipe, then hangs
    import gc
    import struct
    from multiprocessing.queues import SimpleQueue

    (results,) = [q for q in gc.get_objects() if type(q) is SimpleQueue]
    os.write(results._writer.fileno(), struct.pack("!i", 1 << 20) + b"part of a result")
    Path(marker).touch()
    time.sleep(3600)


def test_stopping_workers_does_not_hang_on_a_result_sent_half_way(tmp_path):
    """A worker stopped while sending its result leaves half a message in the result pipe:
    stopping the pool (SIGTERM, Ctrl-C) still ends instead of waiting for the rest."""
    import threading

    from admarket.batch.pool import _new_pool, _stop_workers

    ex = _new_pool(2)
    marker = tmp_path / "sent"
    ex.submit(_half_sent, str(marker))
    deadline = time.monotonic() + 120
    while not marker.exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert marker.exists(), "the worker never sent its half result"
    time.sleep(0.5)  # the executor's thread is reading the half message by now
    stopper = threading.Thread(target=_stop_workers, args=(ex,), daemon=True)
    stopper.start()
    stopper.join(60)  # (it hung for ever before the fix; it takes well under a second)
    hung = stopper.is_alive()
    if hung:  # let the executor go (as the fix does), or the test session would hang too
        ex._result_queue._writer.close()
        stopper.join(60)
    assert not hung


def test_run_tasks_raises_worker_lost_instead_of_hanging():
    tasks = make_tasks({"design": ["A", "B", "C"]}, [1, 2])
    assert run_tasks(tasks[:1], 2, progress=False, fn=_die) == [{"run": 0}]
    with pytest.raises(WorkerLostError, match="worker process died"):
        run_tasks(tasks, 2, progress=False, fn=_die)


# --- a full disk -----------------------------------------------------------------------------
@pytest.fixture
def small_disk(tmp_path):
    """A 64 MiB tmpfs (needs root; skipped otherwise)."""
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a small tmpfs needs root")
    disk = tmp_path / "disk"
    disk.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64m", "tmpfs", str(disk)],
                       capture_output=True, text=True)  # fmt: skip
    if r.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {r.stderr.strip()}")
    yield disk
    subprocess.run(["umount", "-l", str(disk)], check=False)


def _fill(disk: Path, leave: int) -> Path:
    st = os.statvfs(disk)
    filler = disk / "filler"
    with open(filler, "wb") as fh:
        fh.truncate(0)
        fh.write(b"\0" * max(0, st.f_bavail * st.f_frsize - leave))
    return filler


def test_full_disk_is_one_line_and_keeps_the_previous_result(small_disk, previous):
    out = small_disk / "result"
    shutil.copytree(previous, out)
    before = _snapshot(out)
    filler = _fill(small_disk, leave=256 * 1024)
    r = _run("run", *SMALL, *QUIET, "--out", str(out))
    assert r.returncode == 2, r.stderr
    line = _one_line(r.stderr)
    assert "No space left on device" in line or "writing the result failed" in line, line
    assert _snapshot(out) == before
    _assert_valid(out)
    assert sorted(p.name for p in small_disk.iterdir()) == ["filler", "result"]
    # into a new folder: nothing at all
    r = _run("run", *SMALL, *QUIET, "--out", str(small_disk / "new"))
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert sorted(p.name for p in small_disk.iterdir()) == ["filler", "result"]
    filler.unlink()
    r = _run("run", *SMALL, *QUIET, "--out", str(out))
    assert r.returncode == 0, r.stderr
    _assert_valid(out)


# --- a store of scenario A alone ---------------------------------------------------------------
def test_a_only_store_publishes_reports_and_answers_queries(tmp_path):
    out = tmp_path / "a"
    r = _run("run", *SMALL, *QUIET, "--scenarios", "a", "--out", str(out))
    assert r.returncode == 0, r.stderr
    _assert_valid(out)
    assert len(query(out, "SELECT * FROM settlements")) == 0
    assert len(query(out, "SELECT * FROM ledger")) == 0
    r = _run("report", str(out))
    assert r.returncode == 0, r.stderr
    _assert_valid(out)
    r = _run("query", str(out), "--name", "fee_extraction", "--csv")
    assert r.returncode == 0 and r.stdout.splitlines()[1].startswith("A,"), r.stderr


def test_nothing_incomplete_looks_complete_after_a_crash_mid_build(tmp_path):
    """In-process: an exception in the middle of building leaves no result or build folder
    (only the finished run, kept beside it for ``--resume``)."""
    from admarket.batch.comparison import compare

    cfg = build_config(n_buyers=2, n_sellers=2, campaigns_per_buyer=3, days=2)
    import admarket.outputs.results as results

    original = results.StoreWriter.add

    def crash(*a, **k):
        original(*a, **k)
        raise MemoryError("simulated")

    results.StoreWriter.add = crash
    try:
        with pytest.raises(MemoryError):
            compare(cfg, [1], ["A"], out=tmp_path / "x")
    finally:
        results.StoreWriter.add = original
    assert [p.name for p in tmp_path.iterdir()] == [".x.compare-journal"]


def _out_of_memory(task: Task) -> dict:
    raise MemoryError


def test_a_run_out_of_memory_in_a_worker_names_its_scenario_and_seed():
    """A worker's MemoryError names the run by what it runs (on a resume, its place is among
    the runs left, so the place alone would not say which)."""
    from admarket.batch.pool import iter_results

    tasks = make_tasks({"design": ["A", "B"], "config": build_config(days=1)}, [7])
    named = r"run [12] of 2 \(scenario [AB], seed 7\) ran out of memory in its worker"
    with pytest.raises(WorkerLostError, match=named):
        list(iter_results(tasks, processes=2, progress=False, fn=_out_of_memory))

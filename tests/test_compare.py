"""compare: deterministic whatever the process count, batch_run compatible, and atomic."""

from __future__ import annotations

import contextlib
import os
import signal
import tempfile
import threading
import time
from pathlib import Path

import pandas as pd
import pytest

from admarket import MarketModel, build_config
from admarket.batch import batch_run, compare, seed_list
from admarket.batch.comparison import MAX_SEEDS, _spooled
from admarket.batch.pool import iter_results, make_tasks, run_task, worker_pool
from admarket.cli import main
from admarket.config import ConfigError
from admarket.errors import ChartError, WorkerLostError
from admarket.outputs.compare_journal import journal_folder, read_index
from admarket.outputs.store import COMPLETE_MARKER, query
from admarket.report import drawing

drawing_draw_chart = drawing.draw_chart  # the real one, for _broken_chart in a worker

SMALL = {"n_buyers": 3, "n_sellers": 3, "campaigns_per_buyer": 4, "days": 2}
CMP_ARGS = ["--buyers", "3", "--sellers", "3", "--campaigns-per-buyer", "4", "--days", "2"]


def _tables(out) -> dict[str, pd.DataFrame]:
    """Every table of the store, in stored order (created_at is wall-clock, so left out)."""
    names = query(out, "SHOW TABLES")["name"]
    return {
        t: query(out, f"SELECT * {'EXCLUDE (created_at)' if t == 'runs' else ''} FROM {t}")
        for t in names
    }


def _assert_same_store(got_dir: Path, ref_dir: Path) -> None:
    """Both results' stores hold the same tables, column types and rows, to the last digit."""
    got, ref = _tables(got_dir), _tables(ref_dir)
    assert set(got) == set(ref)
    for name, frame in ref.items():
        described = query(got_dir, f"DESCRIBE {name}")
        assert described.equals(query(ref_dir, f"DESCRIBE {name}")), name
        pd.testing.assert_frame_equal(got[name], frame, obj=name, check_exact=True)


def _assert_same_logs(got_dir: Path, ref_dir: Path, n: int) -> None:
    """Both results hold the same ``n`` log files, byte for byte."""
    logs = sorted(p.name for p in (ref_dir / "logs").iterdir())
    assert len(logs) == n and logs == sorted(p.name for p in (got_dir / "logs").iterdir())
    for name in logs:
        assert (got_dir / "logs" / name).read_bytes() == (ref_dir / "logs" / name).read_bytes()


def test_compare_is_identical_to_the_last_digit_with_one_or_two_processes(tmp_path):
    cfg = build_config(**SMALL)
    one = compare(cfg, [3, 4], processes=1, out=tmp_path / "p1")
    two = compare(cfg, [3, 4], processes=2, out=tmp_path / "p2")
    pd.testing.assert_frame_equal(one, two, check_exact=True)
    # with nothing to publish, the workers send summaries only: the same rows
    pd.testing.assert_frame_equal(compare(cfg, [3, 4], processes=2), one, check_exact=True)
    assert list(one["run_id"]) == [f"s{s:06d}-{x}" for s in (3, 4) for x in "ABC"]
    t1, t2 = _tables(tmp_path / "p1"), _tables(tmp_path / "p2")
    assert set(t1) == set(t2) and len(t1) >= 13
    for name in t1:
        pd.testing.assert_frame_equal(t1[name], t2[name], check_exact=True, obj=name)
    # the report's every number, as text: identical bytes
    assert (tmp_path / "p1" / "report.json").read_bytes() == (
        tmp_path / "p2" / "report.json"
    ).read_bytes()
    # charts drawn here (one process) and on the worker processes (two): identical bytes
    charts = sorted(p.name for p in (tmp_path / "p1" / "charts").iterdir())
    assert len(charts) == 6
    assert charts == sorted(p.name for p in (tmp_path / "p2" / "charts").iterdir())
    for name in charts:
        assert (tmp_path / "p1" / "charts" / name).read_bytes() == (
            tmp_path / "p2" / "charts" / name
        ).read_bytes(), name


def test_runs_whose_workers_spool_their_tables_and_write_their_logs_publish_the_same(
    tmp_path, spooled_parts
):
    """Local workers write their runs' logs and leave large tables in DuckDB files of the
    build folder (outputs.spool); with every table spooled, the result is the one whose
    runs sent everything to the parent (one process): same tables and types, same logs to
    the byte, and nothing of the spool is left."""
    cfg = build_config(**SMALL)
    copied = spooled_parts
    # one process keeping no journal: nothing spooled, even from one cell up (a journal's
    # runs are spooled wherever they run: tests/test_compare_journal.py)
    compare(cfg, [3, 4], processes=1, out=tmp_path / "here", journal=False)
    assert copied == []
    compare(cfg, [3, 4], processes=2, out=tmp_path / "spooled", logs="all")
    compare(cfg, [3, 4], processes=1, out=tmp_path / "here_all", logs="all", journal=False)
    assert {p.name for p in copied} >= {"transactions", "agent_decisions", "events"}
    assert len({p.path for p in copied}) == 6  # every run spooled
    _assert_same_store(tmp_path / "spooled", tmp_path / "here")
    _assert_same_logs(tmp_path / "spooled", tmp_path / "here_all", 12)
    assert not list((tmp_path / "spooled").rglob("*.spool*"))
    assert not list((tmp_path / "spooled").rglob("run-*.duckdb"))
    assert not list((tmp_path / "spooled").rglob("*.part"))  # written aside, then renamed
    # runs without logs (every seed but the first) write A's transactions chunk by chunk
    # (100-row chunks: the fixture lowers CHUNK_ROWS, and the workers' Spools carry it)
    compare(cfg, [3, 4], processes=2, out=tmp_path / "quiet")
    _assert_same_store(tmp_path / "quiet", tmp_path / "here")
    tasks = make_tasks({"design": ["A"], "config": cfg}, [3])
    assert [t.spool.chunk_rows for t in _spooled(tasks, tmp_path, "key", "none", 3)] == [100]


def test_a_one_process_compare_stores_a_runs_large_table_a_chunk_at_a_time(
    tmp_path, monkeypatch, whole_builds, whole_claim_builds
):
    """Runs in this process hand the store, and their logs, A's transactions and every
    run's claims a chunk at a time once they are large (here from one cell up, in 100-row
    chunks), never building them whole: the result is the one whole tables make, to the
    last digit and byte. (Without a journal: a kept run is spooled to a file instead, as a
    worker's is, so that the journal can keep the file.)"""
    import admarket.outputs.store_writer as sw
    from admarket.market.accounting import Accounts

    chunks = []
    real = Accounts.transaction_chunks
    monkeypatch.setattr(
        Accounts, "transaction_chunks", lambda self, *a: (chunks.append(1), real(self, *a))[1]
    )
    cfg = build_config(**SMALL)
    compare(cfg, [3, 4], processes=1, out=tmp_path / "whole", logs="all", journal=False)
    # small tables: built whole once each, for the store and the logs, as before
    assert len(whole_builds) == len(whole_claim_builds) == 6 and chunks == []
    whole_builds.clear()
    whole_claim_builds.clear()
    monkeypatch.setattr(sw, "SPOOL_CELLS", 1)
    monkeypatch.setattr(sw, "CHUNK_ROWS", 100)
    compare(cfg, [3, 4], processes=1, out=tmp_path / "chunked", logs="all", journal=False)
    assert whole_builds == []
    assert len(_tables(tmp_path / "whole")["transactions"]) > 100
    # claims that fit in one chunk are built whole (once); B's and C's take several
    per_run = _tables(tmp_path / "whole")["agent_decisions"].groupby("run_id").size()
    assert len(whole_claim_builds) == (per_run <= 100).sum() and (per_run > 100).sum() >= 4
    _assert_same_store(tmp_path / "chunked", tmp_path / "whole")
    _assert_same_logs(tmp_path / "chunked", tmp_path / "whole", 12)
    report = (tmp_path / "chunked" / "report.json").read_bytes()
    assert report == (tmp_path / "whole" / "report.json").read_bytes()


@pytest.mark.parametrize("logs", ["none", "all"])
@pytest.mark.parametrize("chunked", [False, True])
def test_a_one_process_compare_holds_no_earlier_run_while_the_next_runs(
    tmp_path, monkeypatch, logs, chunked
):
    """Each run's tables (in this process, its books behind the chunked transactions) are
    let go once stored: none is alive when the next model is built, whether its
    transactions were built whole or written a chunk at a time (from one cell up)."""
    import gc
    import weakref

    import admarket.outputs.store_writer as sw

    if chunked:
        monkeypatch.setattr(sw, "SPOOL_CELLS", 1)
        monkeypatch.setattr(sw, "CHUNK_ROWS", 100)

    books: list = []
    alive: list[int] = []
    real = MarketModel.__init__

    def init(self, *a, **k):
        gc.collect()
        alive.append(sum(ref() is not None for ref in books))
        real(self, *a, **k)
        books.append(weakref.ref(self.accounts))

    monkeypatch.setattr(MarketModel, "__init__", init)
    compare(build_config(**SMALL), [3, 4], processes=1, out=tmp_path / "r", logs=logs)
    assert alive == [0] * 6


def test_seeds_are_common_random_numbers_and_distinct():
    cfg = build_config(**SMALL)
    res = batch_run(
        MarketModel,
        {"design": ["A", "B"], "config": cfg},
        rng=[1, 2],
        display_progress=False,
        collect="summary",
    )
    assert [(r["scenario"], r["seed"]) for r in res] == [("A", 1), ("B", 1), ("A", 2), ("B", 2)]
    b1 = MarketModel("B", cfg.replace(seed=1)).run().summary()
    assert res[1]["gross_spend"] == pytest.approx(b1["gross_spend"])
    assert res[0]["gross_spend"] != res[2]["gross_spend"]


def test_matches_mesa_batch_run():
    from mesa import batch_run as mesa_batch_run

    cfg = build_config(**SMALL)
    ours = batch_run(
        MarketModel,
        {"design": "C", "config": cfg},
        rng=[5],
        display_progress=False,
        collect="summary",
    )
    theirs = mesa_batch_run(
        MarketModel,
        {"design": "C", "config": cfg},
        rng=[5],
        number_processes=1,
        display_progress=False,
        max_steps=10_000,
    )
    assert theirs[0]["gross_spend"] == pytest.approx(ours[0]["gross_spend"])
    assert theirs[0]["Step"] == ours[0]["Step"] == cfg.steps


def test_interrupted_compare_keeps_the_previous_result(tmp_path, monkeypatch, capsys):
    out = tmp_path / "run"
    assert main(["compare", *CMP_ARGS, "--seeds", "1", "--no-progress", "--out", str(out)]) == 0
    assert (out / COMPLETE_MARKER).is_file()
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}

    import admarket.outputs.results

    def boom(*a, **k):
        raise KeyboardInterrupt  # as if Ctrl-C arrived while the report was being written

    monkeypatch.setattr(admarket.outputs.results, "write_report", boom)
    code = main(["compare", *CMP_ARGS, "--seeds", "2", "--no-progress", "--out", str(out)])
    assert code == 130
    assert "compare: 6 of 6 runs are kept" in capsys.readouterr().err
    # the earlier complete result is untouched and still readable; no build folder is left,
    # only the journal of the runs that finished
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [".run.compare-journal", "run"]
    monkeypatch.undo()
    capsys.readouterr()
    assert main(["query", str(out), "--sql", "SELECT COUNT(DISTINCT seed) AS n FROM runs"]) == 0
    assert capsys.readouterr().out.split() == ["n", "1"]


def test_failure_mid_write_publishes_nothing(tmp_path, monkeypatch):
    import admarket.outputs.results

    def fail(*a, **k):
        raise RuntimeError("disk full")

    monkeypatch.setattr(admarket.outputs.results.StoreWriter, "complete", fail)
    with pytest.raises(RuntimeError):
        compare(build_config(**SMALL), [1], ["B"], out=tmp_path / "x")
    assert not (tmp_path / "x").exists()
    # no build folder, no lock file: only the finished run, kept for --resume
    assert list(tmp_path.iterdir()) == [journal_folder(tmp_path / "x")]


def test_bad_options_fail_before_running(tmp_path, capsys):
    with pytest.raises(ConfigError):
        seed_list(0, 1)
    with pytest.raises(ConfigError, match="seeds"):
        compare(build_config(**SMALL), [])
    assert main(["compare", "--seeds", "0", "--out", str(tmp_path / "a")]) == 2
    # a typo's extra digits: refused at once, before a run list of that size is built
    assert main(["compare", "--seeds", "100000000", "--out", str(tmp_path / "a")]) == 2
    assert "from 1 to 100,000" in capsys.readouterr().err
    assert main(["sweep", "--grid", "decay_rate=0.1", "--seeds", "100001"]) == 2
    with pytest.raises(SystemExit):
        main(["compare", "--help"])
    assert f"1 to {MAX_SEEDS:,}" in " ".join(capsys.readouterr().out.split())
    assert main(["compare", "--set", "decay_rate=2", "--out", str(tmp_path / "b")]) == 2
    assert main(["compare", "--processes", "0", "--out", str(tmp_path / "c")]) == 2
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


def _compare(n_seeds: int, out) -> str:
    """Code that runs a tiny compare of ``n_seeds`` into ``out``."""
    return (
        "from admarket import build_config; from admarket.batch import compare; "
        "compare(build_config(n_buyers=2, n_sellers=2, campaigns_per_buyer=2, days=2), "
        f"list(range({n_seeds})), out={str(out)!r}, logs='none')"
    )


def test_a_compare_of_100_seeds_peaks_no_higher_than_one_of_10(tmp_path, peak_kib):
    """Each finished run goes straight into the store: the parent holds no study's worth of
    tables (before, 100 seeds peaked 115 MiB above 10 at this scale; now ~20 MiB, the
    writer's chunk and DuckDB's capped cache)."""
    ten = peak_kib(_compare(10, tmp_path / "ten"))
    hundred = peak_kib(_compare(100, tmp_path / "hundred"))
    assert hundred - ten < 64 * 1024, (ten, hundred)
    assert query(tmp_path / "hundred", "SELECT COUNT(*) AS n FROM runs")["n"].iloc[0] == 300


# --- the report's charts, drawn on the study's worker processes ---------------------------------
def _broken_chart(index: int, data: bytes, out) -> str:  # runs in a worker: one chart fails
    if index == 2:
        raise ValueError("no such colour 'mauve'")
    return drawing_draw_chart(index, data, out)


def _killed_drawing(index: int, data: bytes, out) -> str:  # the out-of-memory killer strikes
    os.kill(os.getpid(), signal.SIGKILL)
    return ""


def test_a_chart_failing_in_a_worker_is_one_line_and_publishes_nothing(
    tmp_path, monkeypatch, capsys
):
    monkeypatch.setattr(drawing, "draw_chart", _broken_chart)
    out = tmp_path / "c"
    args = ["compare", *CMP_ARGS, "--seeds", "1", "--processes", "2", "--no-progress"]
    assert main([*args, "--out", str(out)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        f"compare: 3 of 3 runs are kept in {journal_folder(out)}; run the same command with "
        "--resume to run only the rest",
        "admarket: error: the report chart 'Daily goal attainment over the run (context-rot "
        "impact)' could not be drawn in a worker process (ValueError: no such colour "
        "'mauve'); nothing was published",
    ]
    # no result, no build folder, no lock file: the runs, kept for --resume
    assert list(tmp_path.iterdir()) == [journal_folder(out)]


def test_a_chart_failing_here_is_a_chart_error_too(tmp_path, monkeypatch):
    def broken(d, out):
        raise KeyError("scenario")

    charts = list(drawing.CHARTS)
    charts[4] = (broken, charts[4][1])
    monkeypatch.setattr(drawing, "CHARTS", tuple(charts))
    with pytest.raises(ChartError, match=r"Ledger cost .* could not be drawn \(KeyError"):
        compare(build_config(**SMALL), [1], out=tmp_path / "x", processes=1)
    assert list(tmp_path.iterdir()) == [journal_folder(tmp_path / "x")]  # the runs kept


def test_a_worker_killed_while_drawing_charts_stops_compare_and_publishes_nothing(
    tmp_path, monkeypatch
):
    monkeypatch.setattr(drawing, "draw_chart", _killed_drawing)
    with pytest.raises(WorkerLostError, match="died while drawing the report's charts"):
        compare(build_config(**SMALL), [1], out=tmp_path / "x", processes=2)
    assert list(tmp_path.iterdir()) == [journal_folder(tmp_path / "x")]  # the runs kept


def _spooled_then_killed(task):  # in a worker: run 1 is killed once its files are written
    r = run_task(task)
    if task.run_id == 1:
        os.kill(os.getpid(), signal.SIGKILL)
    return r


def test_a_worker_killed_after_spooling_its_run_leaves_nothing_behind(tmp_path, monkeypatch):
    import admarket.batch.comparison as comparison
    import admarket.outputs.store_writer as sw

    monkeypatch.setattr(sw, "SPOOL_CELLS", 1)
    real = comparison.iter_results
    monkeypatch.setattr(
        comparison,
        "iter_results",
        lambda tasks, *a, **k: real(tasks, *a, fn=_spooled_then_killed, **k),
    )
    with pytest.raises(WorkerLostError, match="died before its run finished"):
        compare(build_config(**SMALL), [1, 2], out=tmp_path / "x", processes=2, logs="all")
    # no result, no build folder with spool or logs: at most the runs that finished, kept
    journal = journal_folder(tmp_path / "x")
    assert [p for p in tmp_path.iterdir() if p != journal] == []
    if journal.exists():
        kept = {e["dir"] for e in read_index(journal / "journal.jsonl")[1]}
        assert kept and {p.name for p in journal.iterdir()} == {"journal.jsonl", *kept}


def _mark_warm() -> None:  # runs in a worker: leaves one file per warm-up
    folder = Path(os.environ["ADMARKET_TEST_WARM"])
    tempfile.mkstemp(prefix=f"{os.getpid()}-", dir=folder)


def test_workers_out_of_runs_are_warmed_once_each_and_the_pool_outlives_the_runs(
    tmp_path, monkeypatch
):
    monkeypatch.setenv("ADMARKET_TEST_WARM", str(tmp_path))  # before the workers start
    tasks = make_tasks({"design": ["A", "B", "C"], "config": build_config(**SMALL)}, [1])
    with worker_pool(2, len(tasks)) as pool:
        assert pool is not None
        got = dict(iter_results(tasks, 2, False, executor=pool, warm=_mark_warm))
        assert sorted(got) == [0, 1, 2]
        # the runs are done, the workers still take work
        assert pool.submit(os.getpid).result() != os.getpid()
    assert len(list(tmp_path.iterdir())) == 2  # one warm-up per worker, done before it left
    with worker_pool(1, len(tasks)) as none:
        assert none is None  # one process: the runs go in this one


def _deaf_to_sigterm(folder: str) -> None:  # runs in a worker: ignores SIGTERM, then works on
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    tempfile.mkstemp(prefix=f"{os.getpid()}-", dir=folder)
    time.sleep(600)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}").exists() and "Z" not in _proc_state(pid)


def _proc_state(pid: int) -> str:
    with contextlib.suppress(OSError):
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    return "Z"


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")
def test_an_interrupt_stops_a_worker_that_ignores_sigterm(tmp_path):
    """Leaving the pool on an interrupt terminates the workers, and kills one that ignores
    SIGTERM after a grace period, instead of waiting for its task (ten minutes here). The
    block runs in a thread so that, were the kill missing, the test fails instead of hanging."""
    outcome: list[BaseException] = []

    def interrupted_study() -> None:
        try:
            with worker_pool(2, 2) as pool:
                pool.submit(_deaf_to_sigterm, str(tmp_path))
                while not list(tmp_path.iterdir()):  # the worker has started its task
                    time.sleep(0.05)
                raise KeyboardInterrupt
        except BaseException as e:  # the thread reports what ended it
            outcome.append(e)

    study = threading.Thread(target=interrupted_study, daemon=True)
    study.start()
    study.join(timeout=240)  # a hang guard, far beyond the grace period: not a speed limit
    pid = int(next(tmp_path.iterdir()).name.split("-")[0])
    if study.is_alive():  # the fix is missing: free the thread before failing
        os.kill(pid, signal.SIGKILL)
        pytest.fail("leaving the pool waited for a worker that ignores SIGTERM")
    assert [type(e) for e in outcome] == [KeyboardInterrupt]
    assert not _alive(pid)

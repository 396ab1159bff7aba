"""A stopped sweep resumes: its finished runs are journalled beside --out and not run again,
and the resumed result equals an uninterrupted sweep's (but for when each run was made)."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

import admarket.batch.grid as grid_module
from admarket import build_config
from admarket.batch import sweep
from admarket.batch.pool import make_tasks, run_task
from admarket.cli import main
from admarket.errors import UsageError
from admarket.outputs import run_identity
from admarket.outputs.inventory import scan
from admarket.outputs.store import query
from admarket.outputs.sweep_journal import (
    SweepJournal,
    _frame,
    _frame_json,
    journal_path,
    read_journal,
)
from tests.study_stops import stopping_after

SMALL = {"n_buyers": 3, "n_sellers": 3, "campaigns_per_buyer": 3, "days": 2}
GRID = {"exchange_fee": [0.1, 0.2]}
SEEDS = [1, 2]
N_RUNS = len(GRID["exchange_fee"]) * len(SEEDS) * 3
STORED = ("sweep", "break_even", "drivers", "runs")
RUN_ALL = grid_module.iter_results


def _stopping_after(n: int, ran: list[int]):
    return stopping_after(RUN_ALL, n, ran)


def _stop(out: Path, monkeypatch, after: int, grid=GRID, seeds=SEEDS, resume: bool = False) -> Path:
    """Run the sweep into ``out`` and stop it (as Ctrl-C) after ``after`` runs finished;
    returns its journal's path."""
    before = (out / "COMPLETE").read_bytes() if (out / "COMPLETE").exists() else None
    monkeypatch.setattr(grid_module, "iter_results", _stopping_after(after, []))
    with pytest.raises(KeyboardInterrupt):
        sweep(build_config(**SMALL), grid, seeds, out=out, resume=resume)
    # nothing published: no result, or the one there before
    assert ((out / "COMPLETE").read_bytes() if out.exists() else None) == before
    return journal_path(out)


def _finish(out: Path, monkeypatch, resume: bool = True, grid=GRID, seeds=SEEDS) -> list[int]:
    """Run the sweep into ``out`` to its end; returns how many runs it handed out to run."""
    ran: list[int] = []
    monkeypatch.setattr(grid_module, "iter_results", _stopping_after(10**6, ran))
    sweep(build_config(**SMALL), grid, seeds, out=out, resume=resume)
    return ran


def _edit_header(path: Path, field: str, value: str) -> None:
    """Make a journal look written by other code (``field`` of its code identity)."""
    lines = path.read_text().splitlines()
    header = json.loads(lines[0])
    header["code"][field] = value
    path.write_text("\n".join([json.dumps(header), *lines[1:]]) + "\n")


def _stored(out: Path) -> dict[str, pd.DataFrame]:
    """Every table of a sweep's store in stored order (``created_at``: when a run was made)."""
    names = query(out, "SHOW TABLES")["name"]
    return {
        t: query(out, f"SELECT * {'EXCLUDE (created_at)' if t == 'runs' else ''} FROM {t}")
        for t in names
    }


def _kept_runs(out: Path) -> list:
    """A published sweep's kept runs (sweep-runs.jsonl), ``created_at`` left out."""
    entries = read_journal(out / "sweep-runs.jsonl")[1]
    for e in entries:
        runs = e["tables"]["runs"]
        del runs["values"][runs["columns"].index("created_at")]
    return entries


def _assert_same_result(a: Path, b: Path) -> None:
    for name in ("sweep.csv", "break_even.csv", "sweep.md"):
        assert (a / name).read_bytes() == (b / name).read_bytes(), name
    assert _kept_runs(a) == _kept_runs(b)
    ta, tb = _stored(a), _stored(b)
    assert set(ta) == set(tb) and set(STORED) <= set(ta)
    for t in ta:
        pd.testing.assert_frame_equal(ta[t], tb[t], check_exact=True, obj=t)


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("whole") / "s"
    sweep(build_config(**SMALL), GRID, SEEDS, out=out)
    assert not journal_path(out).exists()  # published: the journal is gone
    return out


def test_a_stopped_sweep_resumes_and_runs_only_the_rest(tmp_path, monkeypatch, uninterrupted):
    out = tmp_path / "s"
    path = _stop(out, monkeypatch, 5)
    assert len(path.read_text().splitlines()) == 1 + 5  # the header and the five runs
    assert _finish(out, monkeypatch) == [N_RUNS - 5]  # the journal's runs not run again
    assert not path.exists()
    _assert_same_result(out, uninterrupted)


def test_a_resumed_sweeps_progress_counts_its_reused_runs_as_done(tmp_path, monkeypatch, capsys):
    out = tmp_path / "s"
    _stop(out, monkeypatch, 5)
    capsys.readouterr()
    monkeypatch.setattr(grid_module, "iter_results", RUN_ALL)
    sweep(build_config(**SMALL), GRID, SEEDS, out=out, resume=True, progress=True)
    bar = capsys.readouterr().err
    assert f"5/{N_RUNS} [" in bar and f"{N_RUNS}/{N_RUNS} [" in bar


def test_without_resume_a_journal_with_runs_is_refused_not_thrown_away(tmp_path, monkeypatch):
    out = tmp_path / "s"
    path = _stop(out, monkeypatch, 3)
    kept = path.read_bytes()
    with pytest.raises(UsageError, match=r"3 finished run.*--resume"):
        _finish(out, monkeypatch, resume=False)
    assert path.read_bytes() == kept
    path.unlink()  # as the message says: delete it to start afresh
    assert _finish(out, monkeypatch, resume=False) == [N_RUNS]


def test_a_resumed_sweep_may_add_seeds_and_values(tmp_path, monkeypatch):
    """Runs are matched by what they are (scenario, seed, config), not by their place: a
    resumed sweep with another grid value and another seed reuses the runs both share, at
    their new points, and equals that wider sweep run whole."""
    out = tmp_path / "s"
    _stop(out, monkeypatch, 2, grid={"exchange_fee": [0.2]}, seeds=[2])
    wider = {"exchange_fee": [0.1, 0.2]}
    ran = _finish(out, monkeypatch, grid=wider, seeds=[1, 2])
    assert ran == [2 * 2 * 3 - 2]  # fee 0.2, seed 2: two of its scenarios reused
    whole = tmp_path / "whole"
    sweep(build_config(**SMALL), wider, [1, 2], out=whole)
    _assert_same_result(out, whole)


def test_a_line_cut_short_by_a_kill_is_dropped(tmp_path, monkeypatch, uninterrupted):
    out = tmp_path / "s"
    path = _stop(out, monkeypatch, 4)
    with open(path, "a") as f:
        f.write('{"run": "0123", "tables": {"runs"')  # a SIGKILL mid-write
    assert _finish(out, monkeypatch) == [N_RUNS - 4]
    _assert_same_result(out, uninterrupted)


def test_a_journal_of_other_code_is_refused_naming_what_differs(tmp_path, monkeypatch):
    """Runs made by other code cannot be reused, and are not thrown away unasked either: the
    sweep is refused, with or without --resume, naming what differs; the journal stays."""
    out = tmp_path / "s"
    path = _stop(out, monkeypatch, 3)
    _edit_header(path, "numpy", "0.0")  # made with another numpy
    kept = path.read_bytes()
    for resume in (True, False):
        with pytest.raises(UsageError, match=r"3 finished run.*numpy .* here, 0\.0 in the"):
            _finish(out, monkeypatch, resume=resume)
        assert path.read_bytes() == kept
    _edit_header(path, "source", "0" * 64)  # and by an edited admarket
    with pytest.raises(UsageError, match="source files differ"):
        _finish(out, monkeypatch)
    path.unlink()
    assert _finish(out, monkeypatch) == [N_RUNS]


def test_a_damaged_journal_or_a_foreign_file_is_refused_and_left_alone(tmp_path, monkeypatch):
    out = tmp_path / "s"
    path = _stop(out, monkeypatch, 3)
    lines = path.read_text().splitlines()
    lines[2] = "not json"
    damaged = "\n".join(lines) + "\n"
    path.write_text(damaged)
    with pytest.raises(UsageError, match="line 3 is not a journalled run"):
        sweep(build_config(**SMALL), GRID, SEEDS, out=out, resume=True)
    assert path.read_text() == damaged
    path.write_text("my notes\n")
    for resume in (False, True):
        with pytest.raises(UsageError, match="not an admarket sweep journal"):
            sweep(build_config(**SMALL), GRID, SEEDS, out=out, resume=resume)
        assert path.read_text() == "my notes\n"


def test_resume_needs_an_output_folder(capsys):
    with pytest.raises(UsageError, match="--resume needs --out"):
        sweep(build_config(**SMALL), GRID, SEEDS, resume=True)
    assert main(["sweep", "--grid", "exchange_fee=0.1", "--resume", "--no-progress"]) == 2
    assert "--resume" in capsys.readouterr().err


def _read_back(df: pd.DataFrame) -> pd.DataFrame:
    data = json.loads(json.dumps(_frame_json(df), allow_nan=True))
    return _frame(data["columns"], data["dtypes"], [data["values"]])


def test_journalled_rows_read_back_exactly():
    """Every dtype a sweep keeps (int64, float64 with NaN, str, string, Int64 with NA) reads
    back equal, value for value and dtype for dtype."""
    cfg = build_config(**{**SMALL, "days": 1})
    for task in make_tasks({"design": ["A", "B", "C"], "config": cfg}, [7], collect="summary"):
        for name, df in run_task(task)["tables"].items():
            back = _read_back(df)
            pd.testing.assert_frame_equal(back, df, check_exact=True, obj=name)
    odd = pd.DataFrame({"x": [np.nan], "n": [None], "f": [0.1 + 0.2], "s": ["é"]}).astype(
        {"n": "Int64", "s": "string"}
    )
    pd.testing.assert_frame_equal(_read_back(odd), odd, check_exact=True)


# a column of a journalled row: its dtype and a strategy for its values (None: missing)
_COLUMNS = {
    "int64": st.integers(-(2**63), 2**63 - 1),
    "float64": st.floats(allow_nan=True, allow_infinity=True, width=64),
    "str": st.text(max_size=8),
    "string": st.text(max_size=8) | st.none(),
    "Int64": st.integers(-(2**63), 2**63 - 1) | st.none(),
    "bool": st.booleans(),
}


@st.composite
def _rows(draw):
    """A few rows of a frame with columns of every dtype a journal keeps, in any order."""
    dtypes = draw(st.lists(st.sampled_from(sorted(_COLUMNS)), min_size=1, max_size=6))
    n = draw(st.integers(1, 4))
    rows = [[draw(_COLUMNS[d]) for d in dtypes] for _ in range(n)]
    return [f"c{i}" for i in range(len(dtypes))], dtypes, rows


@given(_rows())
@example((["c0"], ["Int64"], [[2**53 + 1], [None]]))  # inferred, this went through float64
@example((["c0", "c1"], ["float64", "int64"], [[-0.0, 2**63 - 1]]))
def test_any_rows_read_back_exactly_one_by_one_and_together(data):
    """Each row written alone reads back equal, value for value and dtype for dtype — alone
    and batched with others (as ``take`` rebuilds the runs it reuses): big ints past 2**53,
    NaN, infinities, -0.0, any text, missing values. (A NaN's sign bit is not kept: JSON
    has one NaN, and no reader of a result tells them apart.)"""
    columns, dtypes, rows = data
    frames = [_frame(columns, dtypes, [r]) for r in rows]
    written = [json.loads(json.dumps(_frame_json(f), allow_nan=True)) for f in frames]
    together = _frame(columns, dtypes, [w["values"] for w in written])
    for j, (f, w) in enumerate(zip(frames, written, strict=True)):
        alone = _frame(w["columns"], w["dtypes"], [w["values"]])
        pd.testing.assert_frame_equal(alone, f, check_exact=True)
        cut = together.iloc[j : j + 1].reset_index(drop=True)
        pd.testing.assert_frame_equal(cut, f, check_exact=True)
        for c in columns:  # -0.0 == 0.0, so compare the sign of numbers too
            if f[c].dtype == "float64":
                v = f[c].to_numpy()
                sign = np.signbit(v[~np.isnan(v)])
                for back in (cut, alone):
                    b = back[c].to_numpy()
                    assert np.array_equal(np.signbit(b[~np.isnan(b)]), sign)


def test_a_journal_is_kept_on_disk_run_by_run(tmp_path):
    """Each run is in the file when ``add`` returns: a reader opening it sees the run."""
    cfg = build_config(**{**SMALL, "days": 1})
    tasks = make_tasks({"design": ["A"], "config": cfg}, [1, 2], collect="summary", point=0)
    j = SweepJournal(tmp_path / "s", resume=False)
    j.add(tasks[0], run_task(tasks[0]))
    reader = SweepJournal(tmp_path / "s", resume=True)  # reads what is on disk now
    assert reader.held == 1 and set(reader.take(tasks)) == {0} and reader.reused == 1
    reader.close()
    j.close()


def test_the_command_resumes_after_sigterm(tmp_path):
    """End to end: SIGTERM a sweep once a run is journalled (exit 143, it says how to
    resume), then ``--resume`` finishes it; the result equals an uninterrupted sweep's."""
    base = [sys.executable, "-m", "admarket", "sweep", "--buyers", "4", "--sellers", "3"]
    base += ["--days", "12", "--grid", "exchange_fee=0.1,0.2", "--seeds", "3"]
    base += ["--processes", "1", "--no-progress"]
    out = tmp_path / "s"
    proc = subprocess.Popen([*base, "--out", str(out)], stderr=subprocess.PIPE, text=True)
    path = journal_path(out)
    while proc.poll() is None and (not path.exists() or len(path.read_text().splitlines()) < 2):
        time.sleep(0.02)
    assert proc.poll() is None, "the sweep ended before it could be stopped"
    os.kill(proc.pid, signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 143 and "--resume" in err and not out.exists()
    again = subprocess.run([*base, "--out", str(out)], capture_output=True, text=True)
    assert again.returncode == 2 and "add --resume" in again.stderr  # runs not thrown away
    done = subprocess.run([*base, "--out", str(out), "--resume"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    reused = re.search(r"resuming with (\d+) of 18 runs", done.stderr)
    assert reused and int(reused[1]) >= 1 and not path.exists()
    assert f"(and {reused[1]} reused)" in done.stdout
    whole = tmp_path / "whole"
    subprocess.run([*base, "--out", str(whole)], check=True, capture_output=True)
    _assert_same_result(out, whole)


def test_status_lists_a_stopped_sweep_and_how_to_finish_it(tmp_path, monkeypatch, capsys):
    path = _stop(tmp_path / "s", monkeypatch, 4)
    capsys.readouterr()
    assert main(["status", str(tmp_path)]) == 0
    printed = capsys.readouterr().out
    assert "journal" in printed and "4 finished runs kept" in printed and "--resume" in printed
    _edit_header(path, "mesa", "0.0")
    assert main(["status", str(tmp_path)]) == 0
    assert "cannot be reused" in capsys.readouterr().out
    path.write_text(path.read_text() + "garbage\n")
    assert main(["status", str(tmp_path)]) == 0
    assert "unreadable" in capsys.readouterr().out


def test_a_sweep_stopped_before_its_first_run_leaves_no_journal(tmp_path, monkeypatch):
    assert not _stop(tmp_path / "s", monkeypatch, 0).exists()


def test_a_sweep_that_failed_to_publish_resumes_without_running(tmp_path, monkeypatch, capsys):
    """Every run finished but the result could not be written (a full disk, say): all of
    them are kept, and the resumed sweep only publishes."""
    out = tmp_path / "s"

    def full_disk(*args, **kwargs):
        raise OSError(28, "No space left on device")

    with monkeypatch.context() as m:
        m.setattr(grid_module, "_write", full_disk)
        with pytest.raises(OSError):
            sweep(build_config(**SMALL), GRID, SEEDS, out=out)
    assert f"{N_RUNS} of {N_RUNS} runs are kept" in capsys.readouterr().err
    assert _finish(out, monkeypatch) == []
    assert (out / "sweep.csv").is_file() and not journal_path(out).exists()


def test_a_one_at_a_time_sweep_resumes_identically(tmp_path, monkeypatch):
    """One-at-a-time sweeps run the shared base point once for several rows: resumed, each
    row still gets its point."""
    grid = {"exchange_fee": [0.15, 0.2], "decay_rate": [0.02, 0.1]}  # base: 0.15, 0.02

    def one_at_a_time(out, resume, after=None):
        monkeypatch.setattr(grid_module, "iter_results", _stopping_after(after or 10**6, []))
        return sweep(build_config(**SMALL), grid, [1], out=out, resume=resume, one_at_a_time=True)

    with pytest.raises(KeyboardInterrupt):
        one_at_a_time(tmp_path / "s", False, after=4)
    resumed = one_at_a_time(tmp_path / "s", True)
    whole = one_at_a_time(tmp_path / "whole", False)
    assert resumed.attrs["reused_runs"] == 4 and resumed.attrs["runs"] == 3 * 3
    pd.testing.assert_frame_equal(resumed, whole, check_exact=True)
    _assert_same_result(tmp_path / "s", tmp_path / "whole")


def test_a_sweep_stopped_just_after_publishing_leaves_no_journal(tmp_path, monkeypatch, capsys):
    """Stopped between publishing and deleting its journal, the sweep does not claim to
    keep runs for a resume; a journal left by a kill there is older than the result and
    is removed by the next sweep into the folder instead of refusing it."""
    out = tmp_path / "s"
    real_published = SweepJournal.published

    def interrupted(self, used):
        raise KeyboardInterrupt

    monkeypatch.setattr(SweepJournal, "published", interrupted)
    with pytest.raises(KeyboardInterrupt):
        sweep(build_config(**SMALL), GRID, SEEDS, out=out)
    assert (out / "sweep.csv").is_file() and not journal_path(out).exists()
    assert "kept" not in capsys.readouterr().err

    monkeypatch.setattr(SweepJournal, "stopped", lambda self, total: None)  # as if SIGKILLed
    with pytest.raises(KeyboardInterrupt):
        sweep(build_config(**SMALL), GRID, SEEDS, out=out)
    assert journal_path(out).exists()
    monkeypatch.setattr(SweepJournal, "published", real_published)
    assert _finish(out, monkeypatch, resume=False) == [N_RUNS]
    assert not journal_path(out).exists()


def test_the_base_configs_own_seed_does_not_stop_reuse(tmp_path, monkeypatch):
    """A run's seed replaces its config's: sweeps from base configs with other seeds share
    runs of the same seeds."""
    out = tmp_path / "s"
    _stop(out, monkeypatch, 3)  # base config seed: the default
    ran: list[int] = []
    monkeypatch.setattr(grid_module, "iter_results", _stopping_after(10**6, ran))
    sweep(build_config(**SMALL, seed=999), GRID, SEEDS, out=out, resume=True)
    assert ran == [N_RUNS - 3]


def test_a_journal_outlives_a_run_published_into_the_folder_after_it(tmp_path, monkeypatch):
    """Only a complete *sweep* newer than the journal makes it a leftover: a run published
    into the folder meanwhile leaves the stopped sweep's runs to resume."""
    out = tmp_path / "s"
    _stop(out, monkeypatch, 3)
    args = ["run", "--scenarios", "a", "--days", "1", "--buyers", "1", "--sellers", "1"]
    assert main([*args, "--no-progress", "--out", str(out)]) == 0
    assert _finish(out, monkeypatch) == [N_RUNS - 3]


def test_a_finished_sweep_extends_with_more_seeds_reusing_its_runs(
    tmp_path, monkeypatch, uninterrupted, capsys
):
    """A published sweep keeps its runs (sweep-runs.jsonl, listed in COMPLETE): --resume
    with more seeds runs only the new ones, and equals the wider sweep run whole."""
    out = tmp_path / "s"
    assert _finish(out, monkeypatch, resume=False, seeds=[1]) == [N_RUNS // 2]
    assert "sweep-runs.jsonl" in (out / "COMPLETE").read_text()
    assert not _stop(out, monkeypatch, 0, resume=True).exists()  # no new run: no journal
    assert f"{N_RUNS // 2} of {N_RUNS} are in the sweep published in" in capsys.readouterr().err
    assert _finish(out, monkeypatch, seeds=SEEDS) == [N_RUNS // 2]  # only seed 2's
    assert f"resuming with {N_RUNS // 2} of {N_RUNS} runs" in capsys.readouterr().err
    _assert_same_result(out, uninterrupted)


def test_a_published_sweep_is_reused_only_unchanged_by_the_same_code_and_when_asked(
    tmp_path, monkeypatch, capsys
):
    out = tmp_path / "s"
    _finish(out, monkeypatch, resume=False)
    assert _finish(out, monkeypatch, resume=False) == [N_RUNS]  # not asked: all run again
    kept = out / "sweep-runs.jsonl"
    text = kept.read_text()
    i = re.search(r"\d\.\d{6}", text).end() - 1  # a digit of some figure
    kept.write_text(text[:i] + ("2" if text[i] != "2" else "3") + text[i + 1 :])  # same size
    capsys.readouterr()
    assert _finish(out, monkeypatch) == [N_RUNS]
    assert "has changed since it was published" in capsys.readouterr().err

    real = run_identity.code_identity()
    monkeypatch.setattr(run_identity, "code_identity", lambda: {**real, "numpy": "0.0"})
    assert _finish(out, monkeypatch) == [N_RUNS]  # published by "other" code now
    assert "made by other code (numpy 0.0 here" in capsys.readouterr().err


def test_a_journal_of_new_runs_survives_a_newer_published_marker(tmp_path, monkeypatch):
    """Whether a journal is a leftover is decided by its runs (all kept in the published
    sweep), not by timestamps: a result copied with a later clock does not make a stopped
    extension's new runs look stale."""
    out = tmp_path / "s"
    _finish(out, monkeypatch, resume=False, seeds=[1])
    path = _stop(out, monkeypatch, 2, seeds=SEEDS, resume=True)  # two of seed 2's runs
    future = time.time() + 3600
    os.utime(out / "COMPLETE", (future, future))
    assert _finish(out, monkeypatch, seeds=SEEDS) == [N_RUNS // 2 - 2]
    assert not path.exists()


def test_a_journal_of_other_code_is_no_leftover_of_a_published_sweep(tmp_path, monkeypatch):
    """Runs of the same configs published by this code do not make another code's journal
    a leftover: it is still refused, naming what differs, and left as it is."""
    out = tmp_path / "s"
    path = _stop(out, monkeypatch, 3)
    _edit_header(path, "numpy", "0.0")
    kept = path.read_bytes()
    path.rename(tmp_path / "aside")
    _finish(out, monkeypatch, resume=False)  # this code publishes every run of the sweep
    (tmp_path / "aside").rename(path)
    with pytest.raises(UsageError, match="numpy"):
        _finish(out, monkeypatch)
    assert path.read_bytes() == kept


def test_a_resume_using_fewer_runs_keeps_the_others(tmp_path, monkeypatch, capsys, uninterrupted):
    """Runs of the journal that a resumed sweep does not use are not thrown away when it
    publishes (as a compare's): they stay kept, it says so, and a later resume uses them."""
    out = tmp_path / "s"
    path = _stop(out, monkeypatch, N_RUNS - 1)
    assert sum(_finish(out, monkeypatch, seeds=[1])) == 0  # seed 1's: all kept
    assert "still keeps" in capsys.readouterr().err
    runs = [json.loads(line)["tables"]["runs"] for line in path.read_text().splitlines()[1:]]
    assert {r["values"][r["columns"].index("seed")] for r in runs} == {2}
    assert _finish(out, monkeypatch) == [1]  # seed 2's from the journal, seed 1's the result's
    assert not path.exists()
    _assert_same_result(out, uninterrupted)


def test_status_tells_a_leftover_from_a_stopped_sweep(tmp_path, monkeypatch):
    out = tmp_path / "s"
    monkeypatch.setattr(SweepJournal, "published", lambda self, used: None)  # the kill
    _finish(out, monkeypatch, resume=False)
    (item,) = [i for i in scan(tmp_path) if i.kind == "journal"]
    assert item.status.startswith(f"left by the sweep published in {out}")

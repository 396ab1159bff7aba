"""A stopped compare keeps its finished runs beside its folder and ``--resume`` runs only
the rest; the resumed result equals an uninterrupted compare's (outputs.compare_journal)."""

from __future__ import annotations

import gzip
import json
import os
import pickle
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from admarket import build_config
from admarket.batch import comparison as comparison_module
from admarket.batch.comparison import compare
from admarket.cli import main
from admarket.config import ConfigError
from admarket.errors import UsageError
from admarket.outputs import run_identity
from admarket.outputs.compare_journal import (
    INDEX,
    CompareJournal,
    journal_folder,
    read_index,
)
from admarket.outputs.inventory import scan
from admarket.outputs.kept_run import TABLES_FILE
from admarket.outputs.store import query
from admarket.outputs.store_writer import SpooledTable
from tests.study_stops import stopping_after

SMALL = {"n_buyers": 3, "n_sellers": 3, "campaigns_per_buyer": 3, "days": 2}
SEEDS = [1, 2, 3]
N_RUNS = len(SEEDS) * 3
RUN_ALL = comparison_module.iter_results
ROOT = Path(__file__).resolve().parents[1]


def _stopping_after(n: int, ran: list[int]):
    return stopping_after(RUN_ALL, n, ran)


def _stop(out: Path, monkeypatch, after: int, resume: bool = False, **kw) -> Path:
    """Run the compare into ``out`` and stop it (as Ctrl-C) after ``after`` runs finished;
    returns its journal's folder."""
    before = (out / "COMPLETE").read_bytes() if (out / "COMPLETE").exists() else None
    monkeypatch.setattr(comparison_module, "iter_results", _stopping_after(after, []))
    with pytest.raises(KeyboardInterrupt):
        compare(build_config(**SMALL), kw.pop("seeds", SEEDS), out=out, resume=resume, **kw)
    # nothing published: no result, or the one there before
    assert ((out / "COMPLETE").read_bytes() if out.exists() else None) == before
    return journal_folder(out)


def _finish(out: Path, monkeypatch, resume: bool = True, **kw) -> tuple[list[int], pd.DataFrame]:
    """Run the compare into ``out`` to its end; returns how many runs it handed out to run,
    and its summary rows."""
    ran: list[int] = []
    monkeypatch.setattr(comparison_module, "iter_results", _stopping_after(10**6, ran))
    summ = compare(build_config(**SMALL), kw.pop("seeds", SEEDS), out=out, resume=resume, **kw)
    return ran, summ


def _stored(out: Path) -> dict[str, pd.DataFrame]:
    """Every table of a result's store in stored order (``created_at``: when a run was made)."""
    names = query(out, "SHOW TABLES")["name"]
    return {
        t: query(out, f"SELECT * {'EXCLUDE (created_at)' if t == 'runs' else ''} FROM {t}")
        for t in names
    }


def _files(out: Path) -> dict[str, bytes]:
    """The result's logs and report, by name (the store is compared table by table; when
    the report was generated left out)."""
    return {
        p.relative_to(out).as_posix(): re.sub(rb"\d{4}-\d\d-\d\dT[\d:.+]+", b"T", p.read_bytes())
        for p in sorted(out.rglob("*"))
        if p.is_file() and (p.parent.name == "logs" or p.name.startswith("report."))
    }


def _assert_same_result(a: Path, b: Path) -> None:
    fa, fb = _files(a), _files(b)
    assert set(fa) == set(fb) and any(n.startswith("logs/") for n in fa)
    for name in fa:
        assert fa[name] == fb[name], name
    ta, tb = _stored(a), _stored(b)
    assert set(ta) == set(tb)
    for t in ta:
        pd.testing.assert_frame_equal(ta[t], tb[t], check_exact=True, obj=t)


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("whole") / "c"
    compare(build_config(**SMALL), SEEDS, out=out, logs="all")
    assert not journal_folder(out).exists()  # published: the journal is gone
    return out


@pytest.mark.parametrize("processes", [1, 2])
def test_a_stopped_compare_resumes_and_runs_only_the_rest(
    tmp_path, monkeypatch, capsys, uninterrupted, processes
):
    out = tmp_path / "c"
    folder = _stop(out, monkeypatch, 4, processes=processes, logs="all")
    assert "4 of 9 runs are kept" in capsys.readouterr().err
    assert len(read_index(folder / INDEX)[1]) == 4
    ran, summ = _finish(out, monkeypatch, processes=processes, logs="all")
    assert ran == [N_RUNS - 4]  # the journal's runs not run again
    assert summ.attrs["reused_runs"] == 4 and len(summ) == N_RUNS
    assert "resuming with 4 of 9 runs" in capsys.readouterr().err
    assert not folder.exists()
    _assert_same_result(out, uninterrupted)


def test_a_resumed_compares_progress_counts_its_reused_runs_as_done(tmp_path, monkeypatch, capsys):
    out = tmp_path / "c"
    _stop(out, monkeypatch, 4)
    capsys.readouterr()
    _finish(out, monkeypatch, progress=True)
    bar = capsys.readouterr().err
    assert "4/9 [" in bar and "9/9 [" in bar and "/5 [" not in bar


def test_large_tables_are_kept_as_their_workers_spooled_them(tmp_path, monkeypatch, uninterrupted):
    """A run whose large tables its worker spooled keeps the DuckDB file (linked) and its
    logs; the resumed result is the same."""
    from admarket.outputs import store_writer

    monkeypatch.setattr(store_writer, "SPOOL_CELLS", 2_000)  # spool even these small tables
    out = tmp_path / "c"
    folder = _stop(out, monkeypatch, 3, processes=2, logs="all")
    kept = [p for p in folder.iterdir() if p.name.startswith("run-")]
    assert len(kept) == 3 and all(any(p.glob("*.duckdb")) for p in kept)
    assert all(any(p.glob("*.narrative.md")) for p in kept)
    tables = pickle.loads(gzip.decompress((kept[0] / TABLES_FILE).read_bytes()))["tables"]
    assert any(isinstance(t, SpooledTable) for t in tables.values())
    assert _finish(out, monkeypatch, processes=2, logs="all")[0] == [N_RUNS - 3]
    _assert_same_result(out, uninterrupted)


def test_without_resume_a_journal_with_runs_is_refused_not_thrown_away(tmp_path, monkeypatch):
    out = tmp_path / "c"
    folder = _stop(out, monkeypatch, 2)
    index = (folder / INDEX).read_bytes()
    with pytest.raises(UsageError, match=r"2 finished run.*--resume"):
        _finish(out, monkeypatch, resume=False)
    assert (folder / INDEX).read_bytes() == index
    with pytest.raises(UsageError, match="needs --out"):
        compare(build_config(**SMALL), SEEDS, resume=True)


def test_a_journal_of_other_code_or_damaged_is_refused(tmp_path, monkeypatch):
    out = tmp_path / "c"
    folder = _stop(out, monkeypatch, 2)
    real = run_identity.code_identity()
    monkeypatch.setattr(run_identity, "code_identity", lambda: {**real, "numpy": "0.0"})
    with pytest.raises(UsageError, match=r"other code \(numpy 0.0 here"):
        _finish(out, monkeypatch)
    monkeypatch.setattr(run_identity, "code_identity", lambda: real)
    run = next(p for p in folder.iterdir() if any(p.glob("*.events.jsonl")))  # seed 1's A
    data = (run / TABLES_FILE).read_bytes()
    (run / TABLES_FILE).write_bytes(data[:-1] + bytes([data[-1] ^ 1]))
    with pytest.raises(UsageError, match=f"{run.name} is damaged"):
        _finish(out, monkeypatch)
    (run / TABLES_FILE).write_bytes(data)
    log = next(run.glob("*.events.jsonl"))  # a kept log edited, its size the same
    text = log.read_bytes()
    log.write_bytes(text[:-2] + bytes([text[-2] ^ 1]) + text[-1:])
    with pytest.raises(UsageError, match=f"{run.name} is damaged .*events.jsonl has changed"):
        _finish(out, monkeypatch)
    log.write_bytes(text)  # mended: resumes
    assert _finish(out, monkeypatch)[0] == [N_RUNS - 2]


def test_a_run_whose_logs_differ_is_run_again(tmp_path, monkeypatch, capsys):
    """A kept run is reused only where it gets the same logs: first seed, all, or none."""
    out = tmp_path / "c"
    _stop(out, monkeypatch, 6, logs="first")  # seeds 1 and 2: only seed 1's have logs
    ran, _ = _finish(out, monkeypatch, logs="all")
    assert ran == [N_RUNS - 3]  # seed 2's runs have no logs: run again
    err = capsys.readouterr().err
    assert "the journal's other 3 runs" in err and "still keeps 3 runs" in err
    assert len(list((out / "logs").glob("*.narrative.md"))) == N_RUNS
    assert len(read_index(journal_folder(out) / INDEX)[1]) == 3  # not asked to go: kept


def test_a_half_written_run_and_a_cut_line_are_dropped(tmp_path, monkeypatch, uninterrupted):
    out = tmp_path / "c"
    folder = _stop(out, monkeypatch, 3, logs="all")
    (folder / ".run-0123.999.part").mkdir()  # a kill while keeping a run
    (folder / "run-unlisted").mkdir()  # a kill after keeping it, before its line
    with open(folder / INDEX, "a") as f:
        f.write('{"run": "cut sh')  # a kill mid-line
    assert _finish(out, monkeypatch, logs="all")[0] == [N_RUNS - 3]
    _assert_same_result(out, uninterrupted)


def test_a_leftover_journal_of_the_published_compare_is_finished(tmp_path, monkeypatch):
    """A kill between publishing and deleting the runs it used leaves the journal the result
    names (its index's SHA-256 in COMPLETE): the next compare into the folder deletes those
    runs, resumed or not, even with other code by then; runs it did not use stay."""
    out = tmp_path / "c"
    _stop(out, monkeypatch, 6, seeds=[1, 2, 3])  # seeds 1 and 2 kept
    monkeypatch.setattr(CompareJournal, "published", lambda self: None)  # the kill
    _finish(out, monkeypatch, seeds=[1])
    monkeypatch.undo()
    folder = journal_folder(out)
    assert len(read_index(folder / INDEX)[1]) == 6
    real = run_identity.code_identity()
    monkeypatch.setattr(run_identity, "code_identity", lambda: {**real, "numpy": "0.0"})
    with pytest.raises(UsageError, match="other code"):  # seed 2's runs: other code's now
        _finish(out, monkeypatch, resume=False)
    assert [e["seed"] for e in read_index(folder / INDEX)[1]] == [2, 2, 2]  # seed 1's gone
    monkeypatch.setattr(run_identity, "code_identity", lambda: real)
    assert _finish(out, monkeypatch, seeds=[1, 2])[0] == [0]  # seed 1's: the result's
    assert not folder.exists()


def test_a_journal_is_no_leftover_of_an_older_result_with_the_same_runs(tmp_path, monkeypatch):
    """A compare stopped after keeping exactly the runs of the result already in the folder
    is a stopped compare, not that result's leftover: its runs are kept and reused."""
    out = tmp_path / "c"
    _finish(out, monkeypatch, resume=False, seeds=[1, 2])
    folder = _stop(out, monkeypatch, 6)  # seeds 1 and 2 again, of three
    assert len(read_index(folder / INDEX)[1]) == 6
    assert _finish(out, monkeypatch)[0] == [3]


def test_a_resume_using_fewer_runs_keeps_the_others(tmp_path, monkeypatch, uninterrupted):
    out = tmp_path / "c"
    _stop(out, monkeypatch, 6, logs="all")
    assert _finish(out, monkeypatch, seeds=[1], logs="all")[0] == [0]
    assert len(read_index(journal_folder(out) / INDEX)[1]) == 3  # seed 2's
    # seed 2's from the journal, seed 1's from the published result (gone from the journal)
    assert _finish(out, monkeypatch, logs="all")[0] == [3]
    _assert_same_result(out, uninterrupted)


def test_kept_runs_are_stored_as_the_store_can_take_them(tmp_path, monkeypatch):
    """A kept run is fed to the store once every run before it is in, not all at once up
    front: in one process no run ever waits in the store's writer."""
    from admarket.outputs.store_writer import StoreWriter

    out = tmp_path / "c"
    _stop(out, monkeypatch, 4, seeds=[2, 3], logs="all")  # kept: seed 2's and seed 3's A
    waiting: list[int] = []
    real = StoreWriter.add

    def add(self, index, tables):
        real(self, index, tables)
        waiting.append(len(self._waiting))

    monkeypatch.setattr(StoreWriter, "add", add)
    assert _finish(out, monkeypatch, logs="all")[0] == [5]  # seed 1's, seed 3's B and C
    assert waiting == [0] * N_RUNS


def test_duplicate_seeds_are_refused(tmp_path):
    with pytest.raises(ConfigError, match="distinct seeds"):
        compare(build_config(**SMALL), [1, 1, 2], out=tmp_path / "c")


def test_what_a_kill_left_while_deleting_a_journal_goes(tmp_path, monkeypatch):
    out = tmp_path / "c"
    gone = tmp_path / ".c.compare-journal.gone-123"
    gone.mkdir()
    (gone / "run-x").mkdir()  # its index already deleted
    _finish(out, monkeypatch, resume=False)
    assert not gone.exists()


def test_a_journal_of_other_code_is_no_leftover_of_a_published_compare(tmp_path, monkeypatch):
    """Runs of the same configs published by this code do not make another code's journal
    a leftover: it is refused, naming what differs, and left as it is."""
    out = tmp_path / "c"
    folder = _stop(out, monkeypatch, 3)
    saved = tmp_path / "saved"
    os.rename(folder, saved)
    _finish(out, monkeypatch, resume=False)
    os.rename(saved, folder)
    lines = (folder / INDEX).read_text().splitlines()
    header = json.loads(lines[0])
    header["code"]["numpy"] = "0.0"
    (folder / INDEX).write_text("\n".join([json.dumps(header), *lines[1:]]) + "\n")
    with pytest.raises(UsageError, match=r"other code \(numpy .* here, 0.0 in the journal"):
        _finish(out, monkeypatch, resume=False)
    assert folder.exists()


def test_what_a_kill_left_while_making_the_journal_goes_and_a_foreign_folder_stays(
    tmp_path, monkeypatch
):
    out = tmp_path / "c"
    folder = journal_folder(out)
    folder.mkdir()
    (folder / f".{INDEX}.123.part").write_text("{")  # killed writing the header
    assert _finish(out, monkeypatch, resume=False)[0] == [N_RUNS]
    assert not folder.exists()
    folder.mkdir()
    (folder / "notes.txt").write_text("mine")
    with pytest.raises(UsageError, match="not an admarket compare journal"):
        _finish(out, monkeypatch, resume=False)
    assert (folder / "notes.txt").read_text() == "mine"


def test_no_journal_keeps_nothing_and_cannot_resume(tmp_path, monkeypatch, capsys):
    out = tmp_path / "c"
    _stop(out, monkeypatch, 3, journal=False)
    assert not journal_folder(out).exists() and "kept" not in capsys.readouterr().err
    with pytest.raises(UsageError, match="--no-journal keeps none"):
        _finish(out, monkeypatch, journal=False)


def test_status_lists_a_stopped_compare(tmp_path, monkeypatch):
    out = tmp_path / "c"
    folder = _stop(out, monkeypatch, 2)
    (item,) = [i for i in scan(tmp_path) if i.kind == "journal"]
    assert item.path == str(folder)
    assert "a stopped compare into" in item.status and "2 finished runs" in item.status
    assert item.seeds == [1] and item.scenarios == ["A", "B"]
    lines = (folder / INDEX).read_text().splitlines()
    entry = json.loads(lines[1])
    entry["files"] = None  # valid JSON, not a kept run: unreadable, not a traceback
    (folder / INDEX).write_text("\n".join([lines[0], json.dumps(entry), *lines[2:]]) + "\n")
    (item,) = [i for i in scan(tmp_path) if i.kind == "journal"]
    assert item.status.startswith("unreadable — line 2 is not a journalled run")


def test_status_verify_reads_a_stopped_compares_kept_runs_as_resume_would(tmp_path, monkeypatch):
    """A kept run changed on disk: plain status lists the journal as resumable (it reads
    no run), --verify calls it damaged, as --resume would refuse it (it said resumable)."""
    out = tmp_path / "c"
    folder = _stop(out, monkeypatch, 2)
    (item,) = [i for i in scan(tmp_path, verify=True) if i.kind == "journal"]
    assert "run the same compare command with --resume" in item.status
    entry = json.loads((folder / INDEX).read_text().splitlines()[1])
    tables = folder / entry["dir"] / "tables.pickle.gz"
    data = bytearray(tables.read_bytes())
    data[len(data) // 2] ^= 1
    tables.write_bytes(bytes(data))
    (item,) = [i for i in scan(tmp_path) if i.kind == "journal"]
    assert "--resume" in item.status and not item.status.startswith("damaged")
    (item,) = [i for i in scan(tmp_path, verify=True) if i.kind == "journal"]
    assert item.status.startswith(f"damaged — a stopped compare into {out}: its kept run ")
    assert "its tables have changed since they were kept" in item.status
    with pytest.raises(UsageError, match="is damaged"):
        _finish(out, monkeypatch)


def test_the_cli_resumes_a_compare_stopped_by_sigterm(tmp_path):
    """End to end: SIGTERM mid-compare (exit 143, runs kept), a plain rerun refused, then
    ``--resume`` publishes the result an uninterrupted compare publishes."""
    args = ["compare", "--no-progress", "--buyers", "3", "--sellers", "3"]
    args += ["--campaigns-per-buyer", "3", "--days", "12", "--seeds", "3", "--seed-start", "1"]
    args += ["--processes", "1", "--logs", "all"]
    out = tmp_path / "c"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "admarket", *args, "--out", str(out)],
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    index = journal_folder(out) / INDEX
    while proc.poll() is None and (not index.exists() or len(index.read_text().splitlines()) < 3):
        time.sleep(0.02)
    assert proc.poll() is None, "the compare ended before it could be stopped"
    proc.send_signal(signal.SIGTERM)
    err = proc.communicate(timeout=120)[1]
    assert proc.returncode == 143, err
    assert "runs are kept in" in err and "--resume" in err and not out.exists()
    assert main([*args, "--out", str(out)]) == 2  # refused: the kept runs are not thrown away
    assert main([*args, "--out", str(out), "--resume"]) == 0
    assert not journal_folder(out).exists()
    assert main([*args, "--out", str(tmp_path / "whole")]) == 0
    _assert_same_result(out, tmp_path / "whole")
    meta = json.loads((out / "COMPLETE").read_text())
    assert len(meta["run_keys"]) == N_RUNS


def test_status_tells_a_leftover_from_a_stopped_compare(tmp_path, monkeypatch):
    out = tmp_path / "c"
    _stop(out, monkeypatch, 2, seeds=[1])
    monkeypatch.setattr(CompareJournal, "published", lambda self: None)  # the kill
    _finish(out, monkeypatch, seeds=[1])
    (item,) = [i for i in scan(tmp_path) if i.kind == "journal"]
    assert item.status.startswith(f"left by the compare published in {out}")

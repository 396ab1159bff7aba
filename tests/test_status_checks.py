"""``admarket status`` tells what ``query`` and ``report`` would refuse (a result whose files
do not match its marker, or that holds files admarket did not write) as damaged, and a
study or run still being written (its output lock held) as running, not stopped
(outputs.inventory)."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import duckdb
import pytest

import admarket.batch.grid as grid_module
from admarket import build_config
from admarket.batch import comparison as comparison_module
from admarket.batch import sweep
from admarket.batch.comparison import compare
from admarket.cli import main
from admarket.errors import OutputBusyError, UsageError
from admarket.outputs import output_lock
from admarket.outputs.inventory import Item, scan
from admarket.outputs.output_lock import OutputLock, holder
from admarket.outputs.publish import reserve
from admarket.outputs.store import query
from tests.study_stops import stopping_after

TINY = ["--days", "1", "--buyers", "1", "--sellers", "1", "--no-progress"]
SMALL = {"n_buyers": 1, "n_sellers": 1, "days": 1}
SEEDS = [1, 2]  # 6 runs of a compare


@pytest.fixture(scope="module")
def result(tmp_path_factory) -> Path:
    """A tiny complete run, copied by the tests that damage it."""
    out = tmp_path_factory.mktemp("whole") / "d1"
    assert main(["run", *TINY, "--out", str(out)]) == 0
    return out


def _status(capsys, folder: Path) -> tuple[str, list[dict]]:
    """``admarket status`` of ``folder``: its text and its ``--json`` items."""
    capsys.readouterr()
    assert main(["status", str(folder)]) == 0
    text = capsys.readouterr().out
    assert main(["status", str(folder), "--json"]) == 0
    return text, json.loads(capsys.readouterr().out)


def _narrative(d: Path) -> None:
    next((d / "logs").glob("*-A.narrative.md")).unlink()


def _append_to_store(d: Path) -> None:
    with open(d / "admarket.duckdb", "ab") as fh:
        fh.write(b"\0")


def _truncate_store(d: Path) -> None:
    (d / "admarket.duckdb").write_bytes((d / "admarket.duckdb").read_bytes()[:50_000])


DAMAGES = {
    "narrative log gone": (_narrative, "but logs/s000042-A.narrative.md is missing"),
    "store grown": (_append_to_store, "admarket.duckdb has changed since the result was written"),
    "store cut": (_truncate_store, "admarket.duckdb has changed since the result was written"),
    "store gone": (lambda d: (d / "admarket.duckdb").unlink(), "admarket.duckdb is missing"),
    "a user's file": (
        lambda d: (d / "extra.txt").touch(),
        "holds files admarket did not write (extra.txt)",
    ),
    "a user's folder": (
        lambda d: (d / "mine").mkdir(),
        "holds files admarket did not write (mine/)",
    ),
    "marker not admarket's": (
        lambda d: (d / "COMPLETE").write_text("[1]\n"),
        "its COMPLETE marker is not admarket's",
    ),
    "marker of another format": (
        lambda d: (d / "COMPLETE").write_text('{"kind": "run", "seeds": ["x"]}'),
        "its COMPLETE marker is not admarket's",
    ),
}


@pytest.mark.parametrize("case", list(DAMAGES))
def test_status_says_damaged_what_query_or_report_refuses(result, tmp_path, capsys, case):
    damage, why = DAMAGES[case]
    d = tmp_path / "d1e"
    shutil.copytree(result, d)
    damage(d)
    text, data = _status(capsys, d)
    (item,) = data
    assert item["complete"] is False
    assert item["status"].startswith("damaged — ") and why in item["status"]
    assert f"status:    {item['status']}\n" in text and "0 complete" in text
    assert "\n" not in item["status"]  # one line
    # the same result, as query and report see it: refused
    refused = [
        main(["query", str(d), "--name", "fee_extraction"]),
        main(["report", str(d), "--format", "md"]),
    ]
    assert refused == [2, 2]  # by both: the three commands agree


@pytest.mark.parametrize("case", ["a user's file", "a user's folder"])
def test_every_reader_of_a_store_refuses_a_result_holding_files_admarket_did_not_write(
    result, tmp_path, capsys, case
):
    d = tmp_path / "d1e"
    shutil.copytree(result, d)
    DAMAGES[case][0](d)
    which = DAMAGES[case][1].split("(")[1]
    ledger = tmp_path / "ledger.jsonl"
    ledger.write_text("")  # (the store is refused before the ledger is read)
    capsys.readouterr()
    for args in (
        ["query", str(d), "--name", "fee_extraction"],
        ["verify-ledger", str(ledger), "--store", str(d)],
    ):
        assert main(args) == 2
        out, err = capsys.readouterr()
        assert not out and len(err.strip().splitlines()) == 1
        assert "files admarket did not write" in err and which in err
    with pytest.raises(UsageError, match="files admarket did not write"):
        query(d, "SELECT count(*) FROM runs")  # the Python API, as the CLI


def _cut_store(d: Path) -> Path:
    _truncate_store(d)
    return d


def _lose_store(d: Path) -> Path:
    (d / "admarket.duckdb").unlink()
    return d


def _store_runs(d: Path, sql: str) -> Path:
    con = duckdb.connect(str(d / "admarket.duckdb"))
    try:
        con.execute(sql)
    finally:
        con.close()
    return d


def _empty_runs(d: Path) -> Path:
    return _store_runs(d, "DELETE FROM runs")


def _config_not_an_object(d: Path) -> Path:
    return _store_runs(d, "UPDATE runs SET config = '[1, 2]'")


def _bad_checkpoint(d: Path) -> Path:
    shutil.rmtree(d)
    d.mkdir()
    (d / "x.ckpt").write_bytes(b"not a checkpoint\n")
    return d / "x.ckpt"


def _bad_journal(d: Path) -> Path:
    journal = d.parent / f".{d.name}.sweep-journal.jsonl"
    journal.write_text("not a journal\n")
    shutil.rmtree(d)
    return journal


@pytest.mark.parametrize(
    "spoil, why",
    [
        (_cut_store, "its store cannot be read"),
        (_lose_store, "no admarket.duckdb"),
        (_empty_runs, "its store holds no runs"),
        (_config_not_an_object, "a run's config in its store is not a JSON object"),
        (_bad_checkpoint, "the checkpoint cannot be read"),
        (_bad_journal, "the journal cannot be read"),
    ],
)
def test_a_config_that_cannot_be_read_is_not_called_defaults(result, tmp_path, capsys, spoil, why):
    d = tmp_path / "where" / "d1"
    shutil.copytree(result, d)
    path = spoil(d)
    text, data = _status(capsys, tmp_path / "where")
    (item,) = data
    assert item["path"] == str(path) and item["config_error"] == why and not item["config"]
    assert f"  config:    unknown ({why})\n" in text + "\n" and "defaults" not in text


def test_an_intact_result_is_complete_and_a_lost_report_is_rebuilt(result, tmp_path, capsys):
    d = tmp_path / "d1"
    shutil.copytree(result, d)
    text, (item,) = _status(capsys, d)
    assert item["complete"] is True and item["status"] == "complete"
    assert "days=1" in text and "1 complete" in text
    (d / "report.md").unlink()  # query refuses it; report writes it anew
    (item,) = scan(d)
    assert not item.complete
    assert item.status == (
        f"damaged — marked complete but report.md is missing; `admarket report {d}` writes "
        "the report anew"
    )
    assert main(["report", str(d)]) == 0
    (item,) = scan(d)
    assert item.complete and item.status == "complete"


def _scan_while_running(seen: list[list[Item]], folder: Path, at: int):
    """An ``iter_results`` that scans ``folder`` once the study has handed ``at`` results on
    (as ``admarket status`` would, from another terminal), then goes on."""

    def wrap(run_all):
        def fake(tasks, *args, **kwargs):
            for k, item in enumerate(run_all(tasks, *args, **kwargs)):
                if k == at:
                    seen.append(scan(folder))
                yield item

        return fake

    return wrap


@pytest.mark.parametrize("study", ["compare", "sweep"])
def test_a_running_study_is_running_not_stopped(tmp_path, monkeypatch, study):
    module = comparison_module if study == "compare" else grid_module
    out = tmp_path / "s"
    seen: list[list[Item]] = []
    monkeypatch.setattr(
        module, "iter_results", _scan_while_running(seen, tmp_path, 3)(module.iter_results)
    )

    def run() -> None:
        if study == "compare":
            compare(build_config(**SMALL), SEEDS, out=out)
        else:
            sweep(build_config(**SMALL), {"exchange_fee": [0.1, 0.2]}, SEEDS, out=out)

    run()  # the scan made while it ran disturbed nothing: it published
    (items,) = seen
    (journal,) = [i for i in items if i.kind == "journal"]
    assert not journal.complete
    assert journal.status.startswith(f"running — a {study} into {out} is still running (pid ")
    assert f"pid {os.getpid()}, since " in journal.status
    assert "3 runs finished so far" in journal.status and "--resume to run" not in journal.status
    assert [Path(i.path) for i in items] == [Path(journal.path)]  # no second item for the lock
    (done,) = scan(tmp_path)
    assert done.path == str(out) and done.complete

    # stopped (Ctrl-C): the lock is released, the journal is a stopped study's again
    shutil.rmtree(out)
    monkeypatch.setattr(module, "iter_results", stopping_after(module.iter_results, 2, []))
    with pytest.raises(KeyboardInterrupt):
        run()
    (item,) = scan(tmp_path)
    assert item.status.startswith(f"a stopped {study} into {out}: 2 finished runs kept")


def test_a_run_into_a_new_folder_is_running_and_its_lock_is_left_alone(tmp_path, capsys):
    out = tmp_path / "r"
    with reserve(out):  # as `admarket run --out r` holds it from start to publish
        text, data = _status(capsys, tmp_path)
        (item,) = data
        assert item["path"] == str(out) and item["kind"] == "unknown" and not item["complete"]
        assert item["status"].startswith("running — an admarket process is writing a result")
        assert f"(pid {os.getpid()}, since " in item["status"] and "0 complete" in text
        assert holder(out).startswith(f"pid {os.getpid()}, since ")
        # still held: a second writer (its own descriptor, as another process has) is refused
        with pytest.raises(OutputBusyError, match=f"pid {os.getpid()}"):
            OutputLock(out).acquire()
    assert holder(out) is None and scan(tmp_path) == []


def test_a_result_being_replaced_stays_complete_and_says_so(result, tmp_path):
    d = tmp_path / "d1"
    shutil.copytree(result, d)
    with reserve(d):
        (item,) = scan(tmp_path)
        assert item.complete and item.status.startswith("complete (an admarket process is ")
        assert f"pid {os.getpid()}" in item.status
    (item,) = scan(tmp_path)
    assert item.status == "complete"


def test_a_lock_a_killed_writer_left_is_not_running(tmp_path):
    out = tmp_path / "r"
    lock = tmp_path / ".r.lock"
    lock.write_text("pid 999999999, since 2020-01-01T00:00:00\n")  # no one holds it
    assert holder(out) is None and scan(tmp_path) == []
    assert lock.read_text() == "pid 999999999, since 2020-01-01T00:00:00\n"  # untouched


def test_reading_the_lock_never_blocks_nor_creates_it(tmp_path):
    out = tmp_path / "r"
    assert holder(out) is None and not (tmp_path / ".r.lock").exists()
    os.mkfifo(tmp_path / ".r.lock")  # opening a FIFO to read would wait for a writer
    assert holder(out) is None and scan(tmp_path) == []
    (tmp_path / ".r.lock").unlink()
    (tmp_path / ".r.lock").symlink_to(tmp_path / "elsewhere")
    assert holder(out) is None and not (tmp_path / "elsewhere").exists()


def test_without_proc_locks_the_recorded_pid_tells(tmp_path, monkeypatch):
    monkeypatch.setattr(output_lock, "PROC_LOCKS", str(tmp_path / "no-such-file"))
    out = tmp_path / "r"
    with reserve(out):
        assert holder(out).startswith(f"pid {os.getpid()}, ")
    (tmp_path / ".r.lock").write_text("pid 999999999, since 2020-01-01T00:00:00\n")
    assert holder(out) is None


def test_proc_locks_lines_are_read_by_inode_and_device(tmp_path, monkeypatch):
    out = tmp_path / "r"
    lock = tmp_path / ".r.lock"
    lock.write_text("pid 4242, since 2020-01-01T00:00:00\n")
    st = os.stat(lock)
    dev = f"{os.major(st.st_dev):02x}:{os.minor(st.st_dev):02x}"
    fake = tmp_path / "locks"
    monkeypatch.setattr(output_lock, "PROC_LOCKS", str(fake))

    def held(*lines: str) -> str | None:
        fake.write_text("".join(f"{n + 1}: {line}\n" for n, line in enumerate(lines)))
        return holder(out)

    assert held(f"POSIX  ADVISORY  WRITE 4242 {dev}:{st.st_ino} 0 EOF") is None
    assert held(f"-> FLOCK  ADVISORY  WRITE 77 {dev}:{st.st_ino} 0 EOF") is None  # a waiter
    assert held(f"FLOCK  ADVISORY  WRITE 77 {dev}:{st.st_ino + 1} 0 EOF") is None
    assert held(f"FLOCK  ADVISORY  WRITE 77 ff:ff:{st.st_ino} 0 EOF") is None  # other device
    assert held("FLOCK  ADVISORY  WRITE garbage", "") is None
    assert held(f"FLOCK  ADVISORY  WRITE 77 {dev}:{st.st_ino} 0 EOF") == (
        "pid 4242, since 2020-01-01T00:00:00"
    )
    # a layered filesystem may show another device: the inode and the recorded pid tell
    assert held(f"FLOCK  ADVISORY  WRITE 4242 ff:ff:{st.st_ino} 0 EOF") is not None


def test_a_compare_before_its_first_run_finished_is_running_not_unreadable(tmp_path, capsys):
    """Its journal folder exists, holding nothing yet: that is a study starting, not damage."""
    out = tmp_path / "x"
    (tmp_path / ".x.compare-journal").mkdir()
    with reserve(out):
        (item,) = scan(tmp_path)
        assert item.status.startswith("running — a compare into ")
        assert item.config_error == "its journal holds no finished run yet"
        assert main(["status", str(tmp_path)]) == 0
        text = capsys.readouterr().out
        assert "config:    unknown (its journal holds no finished run yet)" in text
        assert "cannot be read" not in text

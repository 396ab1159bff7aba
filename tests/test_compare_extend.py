"""A published compare keeps its runs, so ``compare --resume`` with more seeds into the same
folder runs only the new ones; the extended result equals a compare of all its seeds run at
once (outputs.result_runs)."""

from __future__ import annotations

import gzip
import json
import pickle
import shutil
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from admarket import build_config
from admarket.batch import comparison as comparison_module
from admarket.batch.comparison import compare
from admarket.cli import main
from admarket.errors import UsageError
from admarket.outputs import run_identity
from admarket.outputs.compare_journal import journal_folder
from admarket.outputs.inventory import scan
from admarket.outputs.result_runs import (
    INDEX,
    RUNS_DIR,
    FrameInStore,
    _duckdb_types,
    _slim,
)
from admarket.outputs.run_ids import with_ids
from admarket.outputs.store_writer import SpooledTable, StoredTable, StoreWriter, spool_tables
from tests.test_compare_journal import (
    N_RUNS,
    SEEDS,
    SMALL,
    _assert_same_result,
    _finish,
    _stop,
)


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory) -> Path:
    """A compare of all the seeds at once: what an extended one must equal."""
    out = tmp_path_factory.mktemp("whole") / "c"
    compare(build_config(**SMALL), SEEDS, out=out, logs="all")
    return out


def _publish(out, seeds, **kw) -> None:
    compare(build_config(**SMALL), seeds, out=out, **kw)


def _kept(out) -> list[dict]:
    return [json.loads(line) for line in (out / RUNS_DIR / INDEX).read_text().splitlines()[1:]]


@pytest.mark.parametrize("processes", [1, 2])
def test_a_published_compare_extended_with_more_seeds_runs_only_the_new_ones(
    tmp_path, monkeypatch, capsys, uninterrupted, processes
):
    out = tmp_path / "c"
    _publish(out, [1, 2], logs="all", processes=processes)
    assert [(k["seed"], k["scenario"]) for k in _kept(out)] == [
        (s, sc) for s in (1, 2) for sc in "ABC"
    ]
    ran, summ = _finish(out, monkeypatch, processes=processes, logs="all")
    assert ran == [3] and summ.attrs["reused_runs"] == 6
    assert "resuming with 6 of 9 runs: 6 of the compare published in" in capsys.readouterr().err
    _assert_same_result(out, uninterrupted)
    assert len(_kept(out)) == N_RUNS  # the extended result keeps all its runs in turn
    kept = pickle.loads(gzip.decompress((out / RUNS_DIR / _kept(out)[0]["file"]).read_bytes()))
    assert isinstance(kept["tables"]["transactions"], FrameInStore)  # its rows: in the store
    assert not journal_folder(out).exists()


def test_seeds_added_in_front_and_spooled_tables_read_back_from_the_store(
    tmp_path, monkeypatch, uninterrupted
):
    """Runs whose large tables their workers spooled are not kept twice: the result keeps
    their header tables and the columns of the rest, read back from its store as they
    were (here every table but the header ones is spooled)."""
    from admarket.outputs import store_writer

    monkeypatch.setattr(store_writer, "SPOOL_CELLS", 2_000)  # spool even these small tables
    out = tmp_path / "c"
    _publish(out, [2, 3], logs="all", processes=2)
    assert not list((out / RUNS_DIR).glob("*.duckdb"))
    kept = pickle.loads(gzip.decompress((out / RUNS_DIR / _kept(out)[0]["file"]).read_bytes()))
    spooled = [t for t in kept["tables"].values() if isinstance(t, SpooledTable)]
    assert spooled and all(t.columns for t in spooled)
    assert _finish(out, monkeypatch, processes=2, logs="all")[0] == [3]  # seed 1's
    _assert_same_result(out, uninterrupted)


def test_runs_whose_logs_this_process_wrote_are_kept_whole(tmp_path, monkeypatch, uninterrupted):
    """Workers that do not see the result (remote, without the shared disk) send their runs
    whole and this process writes their logs: the result keeps their tables whole, so the
    logs can be written again from them."""
    import dataclasses

    from admarket.batch import comparison

    real = comparison._spooled

    def unseen(tasks, build, *args):
        elsewhere = build / "not-on-this-machine"
        return [
            dataclasses.replace(
                t,
                spool=dataclasses.replace(t.spool, folder=str(elsewhere), logs_dir=str(elsewhere)),
            )
            for t in real(tasks, build, *args)
        ]

    monkeypatch.setattr(comparison, "_spooled", unseen)
    out = tmp_path / "c"
    _publish(out, [1, 2], logs="all", processes=2)
    monkeypatch.undo()
    kept = pickle.loads(gzip.decompress((out / RUNS_DIR / _kept(out)[0]["file"]).read_bytes()))
    assert isinstance(kept["tables"]["transactions"], pd.DataFrame)
    assert _finish(out, monkeypatch, logs="all")[0] == [3]
    _assert_same_result(out, uninterrupted)


def test_an_extension_stopped_midway_resumes_from_both(tmp_path, monkeypatch, uninterrupted):
    out = tmp_path / "c"
    _publish(out, [1], logs="all")
    _stop(out, monkeypatch, 2, resume=True, logs="all")  # seed 2's A and B kept
    ran, summ = _finish(out, monkeypatch, logs="all")
    assert ran == [N_RUNS - 3 - 2] and summ.attrs["reused_runs"] == 5
    _assert_same_result(out, uninterrupted)


def test_runs_not_made_alike_are_run_again_and_say_why(tmp_path, monkeypatch, capsys):
    out = tmp_path / "c"
    _publish(out, [1, 2], logs="none")
    assert _finish(out, monkeypatch, logs="all")[0] == [N_RUNS]  # logs differ
    err = capsys.readouterr().err
    assert f"none of the 6 runs the compare in {out} keeps is in this one" in err
    assert "no journal of an earlier compare" not in err
    real = run_identity.code_identity()
    monkeypatch.setattr(run_identity, "code_identity", lambda: {**real, "numpy": "0.0"})
    assert _finish(out, monkeypatch, logs="all")[0] == [N_RUNS]
    assert "made by other code (numpy 0.0 here" in capsys.readouterr().err
    monkeypatch.setattr(run_identity, "code_identity", lambda: real)
    _publish(out, [1, 2], journal=False)
    assert not (out / RUNS_DIR).exists()
    assert _finish(out, monkeypatch)[0] == [N_RUNS]
    assert "keeps no runs (published with --no-journal" in capsys.readouterr().err


def _flip_last_byte_but_one(path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[:-2] + bytes([data[-2] ^ 1]) + data[-1:])  # the same size


def _edit_store(out, sql: str) -> None:
    con = duckdb.connect(str(out / "admarket.duckdb"))
    try:
        con.execute(sql)
        con.execute("CHECKPOINT")
    finally:
        con.close()


DAMAGE = {
    "a kept file, its size the same": (
        lambda out: _flip_last_byte_but_one(out / RUNS_DIR / _kept(out)[0]["file"]),
        "a kept run's file has changed",
    ),
    "a kept log, its size the same": (
        lambda out: _flip_last_byte_but_one(next((out / "logs").glob("*.events.jsonl"))),
        r"events\.jsonl: a kept run's file has changed",
    ),
    "a kept file gone": (
        lambda out: (out / RUNS_DIR / _kept(out)[0]["file"]).unlink(),
        r"marked complete but kept-runs/.* is missing",
    ),
    "the index's last newline": (
        lambda out: _flip_last_byte_but_one(out / RUNS_DIR / INDEX),
        "it has changed since the compare was published",
    ),
    "rows deleted from the store": (
        lambda out: _edit_store(out, "DELETE FROM events WHERE run_id = 's000001-B'"),
        "its content has changed since the compare was published",
    ),
    "a row changed in place in the store": (
        lambda out: _edit_store(out, "UPDATE summaries SET net_to_publishers = 0"),
        "its content has changed since the compare was published",
    ),
    "the store's checksum gone from the marker": (
        lambda out: _store_sum_dropped(out),
        "marker lists no checksum for it",
    ),
    # published before checksums: the store's rows are counted
    "rows deleted from a store without a checksum": (
        lambda out: _unsummed(
            out, lambda: _edit_store(out, "DELETE FROM events WHERE run_id = 's000001-B'")
        ),
        "its table events holds 0 rows of run s000001-B, which had",
    ),
    "a table dropped from a store without a checksum": (
        lambda out: _unsummed(out, lambda: _edit_store(out, "DROP TABLE events")),
        "cannot be read .*events",
    ),
}


def _unsummed(out: Path, then) -> None:
    """Take the checksums out of the result's marker (as published before they were kept),
    then ``then()``."""
    marker = json.loads((out / "COMPLETE").read_text())
    del marker["sha256"]
    marker["manifest_version"] = 1
    (out / "COMPLETE").write_text(json.dumps(marker))
    then()


def _store_sum_dropped(out: Path) -> None:
    marker = json.loads((out / "COMPLETE").read_text())
    del marker["sha256"]["admarket.duckdb"]
    (out / "COMPLETE").write_text(json.dumps(marker))


@pytest.mark.parametrize("damage", DAMAGE)
def test_a_result_whose_kept_runs_changed_is_refused_nothing_touched(
    tmp_path, monkeypatch, published_two, damage
):
    """Every way a kept run can differ from what was published is refused before anything
    runs, naming what changed, and the result is left as it was."""
    out = tmp_path / "c"
    shutil.copytree(published_two, out)
    spoil, said = DAMAGE[damage]
    spoil(out)
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    monkeypatch.setattr(comparison_module, "iter_results", _nothing_may_run)
    with pytest.raises(UsageError, match=said + ".*run the compare without --resume"):
        compare(build_config(**SMALL), SEEDS, out=out, logs="all", resume=True)
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before


def _nothing_may_run(*args, **kwargs):
    raise AssertionError("a run was started")


def test_a_store_held_open_elsewhere_is_refused_before_anything_runs(
    tmp_path, monkeypatch, published_two
):
    out = tmp_path / "c"
    shutil.copytree(published_two, out)
    holder = duckdb.connect(str(out / "admarket.duckdb"))  # read-write: locks the file
    try:
        monkeypatch.setattr(comparison_module, "iter_results", _nothing_may_run)
        with pytest.raises(UsageError, match=r"admarket\.duckdb cannot be read"):
            compare(build_config(**SMALL), SEEDS, out=out, logs="all", resume=True)
    finally:
        holder.close()


def test_an_edited_report_does_not_stop_reuse(tmp_path, monkeypatch, published_two):
    out = tmp_path / "c"
    shutil.copytree(published_two, out)
    with open(out / "report.md", "a", encoding="utf-8") as f:
        f.write("\nmy notes\n")  # admarket report may rebuild it: not a kept run's
    assert _finish(out, monkeypatch, logs="all")[0] == [3]


@pytest.fixture(scope="module")
def published_two(tmp_path_factory) -> Path:
    """A compare of seeds 1 and 2 with logs, to copy and damage."""
    out = tmp_path_factory.mktemp("two") / "c"
    _publish(out, [1, 2], logs="all")
    return out


def test_the_cli_extends_a_compare_after_its_report_is_rebuilt(tmp_path, capsys, uninterrupted):
    args = ["compare", "--no-progress", "--buyers", "3", "--sellers", "3", "--campaigns-per-buyer"]
    args += ["3", "--days", "2", "--seed-start", "1", "--logs", "all", "--out", str(tmp_path / "c")]
    assert main([*args, "--seeds", "2"]) == 0
    assert main(["report", str(tmp_path / "c")]) == 0  # carries the kept runs over
    assert main([*args, "--seeds", "3", "--resume"]) == 0
    said = capsys.readouterr()
    assert "resuming with 6 of 9 runs" in said.err and "3 runs (and 6 reused)" in said.out
    _assert_same_result(tmp_path / "c", uninterrupted)


@pytest.mark.parametrize("spool", [True, False])
@pytest.mark.parametrize(
    ("order", "from_store"), [((0, 1, 2), (0, 1)), ((0, 1, 2), (1,)), ((3, 2, 1), (2, 1))]
)
def test_a_run_read_back_from_the_store_is_the_run_that_was_written(
    tmp_path, order, from_store, spool
):
    """A store's column types and order are the union of its runs' (a column some runs lack
    is DOUBLE, NULL in theirs): a run read back from it is cast to the types and columns its
    worker's spool file (or its frame) had, so a store of runs read back, in any order and
    among new ones, equals one written from the runs themselves."""
    frames = [
        pd.DataFrame({"x": [1, 2], "late": [7, 8]}),
        pd.DataFrame({"x": [3], "c": [5], "b": [True], "s": ["a"]}),
        pd.DataFrame({"x": [4], "late": [9], "w": [1.5]}),
        pd.DataFrame({"x": [5], "s": ["b"]}),
    ]
    runs = [{"events": with_ids(df, f"s{i}-A", "A", i)} for i, df in enumerate(frames)]

    def write(name: str, parts: list[dict]) -> pd.DataFrame:
        w = StoreWriter(tmp_path / name, flush_cells=1)
        for i, r in enumerate(parts):
            w.add(i, r)
        w.finish()
        con = duckdb.connect(str(tmp_path / name), read_only=True)
        try:
            described = con.execute("DESCRIBE events").fetchall()
            return pd.DataFrame(described).assign(rows=str(con.execute("FROM events").df()))
        finally:
            con.close()

    def made(tag: str, which) -> list[dict]:
        if not spool:
            return [runs[i] for i in which]
        return [spool_tables(runs[i], tmp_path / f"{tag}{i}.duckdb", 1) for i in which]

    first = made("a", (0, 1, 2))
    kept = [_slim(r) for r in first]  # what the result keeps of each run
    write("first.duckdb", first)
    want = write("want.duckdb", made("w", order))
    again = made("b", order)
    for j, i in enumerate(order):
        if i in from_store:
            part = kept[i]["events"]
            assert isinstance(part, SpooledTable if spool else FrameInStore)
            columns = part.columns if spool else _duckdb_types(part.dtypes)
            stored = StoredTable(str(tmp_path / "first.duckdb"), "events", f"s{i}-A", columns, 1)
            again[j] = {"events": stored}
    pd.testing.assert_frame_equal(write("again.duckdb", again), want)


def test_status_says_a_compare_keeps_its_runs(tmp_path, monkeypatch):
    _publish(tmp_path / "c", [1], logs="none")
    _publish(tmp_path / "d", [1], journal=False)
    items = {Path(i.path).name: i for i in scan(tmp_path)}
    assert set(items) == {"c", "d"}  # (kept-runs/ is a result's part, not scanned)
    assert items["c"].detail == "3 runs, kept for --resume with more seeds"
    assert items["d"].detail == "3 runs"
    real = run_identity.code_identity()
    monkeypatch.setattr(run_identity, "code_identity", lambda: {**real, "numpy": "0.0"})
    (item,) = [i for i in scan(tmp_path) if i.path.endswith("c")]
    assert "its kept runs made by other code (numpy 0.0 here" in item.detail

"""Publishing: what the output folder guarantees, checked with small fake builds (no model).

A result is built beside the folder and swapped in whole; its COMPLETE marker lists every
file; a folder holding anything admarket did not write is refused and left as it was; one
writer at a time; what dead runs left is cleaned up by the next.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from admarket.cli import main
from admarket.errors import IncompleteRunError, OutputBusyError, UsageError
from admarket.outputs import publish as pub
from admarket.outputs.manifest import (
    COMPLETE_MARKER,
    check_complete,
    check_target,
    foreign_entries,
)
from admarket.outputs.output_lock import OutputLock


def _builder(files: dict[str, str]):
    def build(tmp: Path) -> None:
        for rel, text in files.items():
            (tmp / rel).parent.mkdir(parents=True, exist_ok=True)
            (tmp / rel).write_text(text)

    return build


def _tree(folder: Path) -> dict[str, str]:
    return {
        p.relative_to(folder).as_posix(): p.read_text()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.name != COMPLETE_MARKER
    }


def test_a_result_lists_every_file_and_replaces_the_previous_one_whole(tmp_path):
    out = tmp_path / "r"
    pub.publish(out, _builder({"report.md": "one", "charts/a.png": "a"}), {"kind": "compare"})
    m = check_complete(out)
    assert m["kind"] == "compare" and m["files"] == {"charts/a.png": 1, "report.md": 3}
    assert oct(out.stat().st_mode & 0o777) == oct(0o777 & ~_umask())
    # a sweep replacing a compare leaves nothing of the compare behind
    pub.publish(out, _builder({"sweep.md": "two"}), {"kind": "sweep"})
    assert _tree(out) == {"sweep.md": "two"}
    assert check_complete(out)["kind"] == "sweep"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r"]  # no build folder, no lock


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_an_empty_folder_is_taken_and_a_foreign_one_is_refused_untouched(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    pub.publish(empty, _builder({"x": "1"}), {"kind": "run"})
    assert _tree(empty) == {"x": "1"}
    mine = tmp_path / "mine"
    (mine / "logs").mkdir(parents=True)
    (mine / "logs" / "app.log").write_text("keep me")
    (mine / "charts").mkdir()
    with pytest.raises(UsageError, match="not empty and not an admarket result"):
        pub.publish(mine, _builder({"logs/new.log": "x"}), {"kind": "run"})
    assert _tree(mine) == {"logs/app.log": "keep me"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty", "mine"]


def test_a_result_a_user_added_to_is_refused_until_the_file_moves(tmp_path):
    out = tmp_path / "r"
    pub.publish(out, _builder({"report.md": "one"}), {"kind": "run"})
    (out / "notes.txt").write_text("my notes")
    assert foreign_entries(out) == ["notes.txt"]
    with pytest.raises(UsageError, match=r"files admarket did not write \(notes.txt\)"):
        pub.publish(out, _builder({"report.md": "two"}), {"kind": "run"})
    assert (out / "notes.txt").read_text() == "my notes" and check_complete(out)
    (out / "notes.txt").unlink()
    (out / "extra").mkdir()  # an empty folder the user made counts too
    assert foreign_entries(out) == ["extra/"]


def test_a_file_appearing_during_the_run_stops_the_swap(tmp_path):
    out = tmp_path / "r"
    pub.publish(out, _builder({"report.md": "one"}), {"kind": "run"})

    def build(tmp: Path) -> None:
        (tmp / "report.md").write_text("two")
        (out / "late.txt").write_text("written while we ran")

    with pytest.raises(UsageError, match="appeared during the run"):
        pub.publish(out, build, {"kind": "run"})
    assert _tree(out) == {"late.txt": "written while we ran", "report.md": "one"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r"]


@pytest.mark.parametrize("bad", ["", "  "])
def test_an_empty_out_is_refused(bad, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "logs").mkdir()
    with pytest.raises(UsageError, match="empty"):
        check_target(bad)
    assert main(["run", "--days", "1", "--buyers", "1", "--sellers", "1", "--out", bad]) == 2
    assert "unset shell variable" in capsys.readouterr().err
    assert [p.name for p in tmp_path.iterdir()] == ["logs"]


def test_outputs_nested_in_the_output_folder_or_folders_in_a_result_are_refused(tmp_path, capsys):
    out = tmp_path / "r"
    base = ["run", "--days", "1", "--buyers", "1", "--sellers", "1", "--no-progress"]
    cases = [
        (["--out", str(out), "--ledger-out", str(out / "l.jsonl")], "--ledger-out"),
        (
            ["--out", str(out), "--checkpoint-every", "1", "--checkpoint-dir", str(out / "ck")],
            "--checkpoint-dir",
        ),
        (["--out", str(out), "--checkpoint-every", "1", "--checkpoint-dir", str(out)], "inside"),
    ]
    for extra, fragment in cases:
        assert main([*base, *extra]) == 2
        err = capsys.readouterr().err
        assert fragment in err and "inside the output folder" in err, err
    assert not out.exists()
    pub.publish(out, _builder({"x": "1"}), {"kind": "run"})
    assert main([*base, "--out", str(out / "sub")]) == 2
    assert "inside the admarket result" in capsys.readouterr().err


def test_a_second_writer_is_refused_while_the_first_holds_the_folder(tmp_path):
    out = tmp_path / "r"
    with pub.reserve(out) as dest:
        assert (tmp_path / ".r.lock").read_text().startswith(f"pid {os.getpid()}")
        other = OutputLock(dest)  # another open file description, as another process has
        with pytest.raises(OutputBusyError, match=f"pid {os.getpid()}"):
            other.acquire()
        # the holder itself may publish (re-entrant)
        pub.publish(out, _builder({"x": "1"}), {"kind": "run"})
    assert not (tmp_path / ".r.lock").exists()
    other = OutputLock(out)
    other.acquire()  # free again
    other.release()


def test_what_dead_runs_left_is_cleaned_and_foreign_lookalikes_are_kept(tmp_path):
    out = tmp_path / "r"
    pub.publish(out, _builder({"report.md": "one"}), {"kind": "run"})
    stale = tmp_path / ".r.tmp-99999-abc"  # a build killed mid-way
    (stale / "logs").mkdir(parents=True)
    (stale / pub.BUILD_TAG).write_text("pid 99999\n")
    (stale / "logs" / "x.jsonl").write_text("{}")
    empty_old = tmp_path / ".r.old-99999-def"  # killed right after making its aside folder
    empty_old.mkdir()
    lookalike = tmp_path / ".r.tmp-not-ours"
    lookalike.mkdir()
    (lookalike / "precious.txt").write_text("someone else's")
    (tmp_path / ".r.lock").write_text("pid 99999\n")  # lock file of a killed run
    pub.publish(out, _builder({"report.md": "two"}), {"kind": "run"})
    assert sorted(p.name for p in tmp_path.iterdir()) == [".r.tmp-not-ours", "r"]
    assert (lookalike / "precious.txt").read_text() == "someone else's"
    assert _tree(out) == {"report.md": "two"}


def test_a_swap_interrupted_between_its_two_renames_is_undone(tmp_path, monkeypatch):
    out = tmp_path / "r"
    pub.publish(out, _builder({"report.md": "one"}), {"kind": "run"})
    os.rename(out, tmp_path / ".r.old-99999-abc")  # killed after the first rename
    with pub.reserve(out):
        assert _tree(out) == {"report.md": "one"} and check_complete(out)
    # and where the kernel cannot exchange two folders, the two-rename path publishes
    monkeypatch.setattr(pub, "_exchange", lambda a, b: False)
    pub.publish(out, _builder({"report.md": "two"}), {"kind": "run"})
    assert _tree(out) == {"report.md": "two"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r"]


@pytest.mark.parametrize("name", ["r", "r[1]*"])  # glob's special characters are names too
@pytest.mark.parametrize("when", ["in mkdtemp", "before the build"])
def test_an_interrupt_as_the_build_folder_appears_leaves_nothing(tmp_path, monkeypatch, when, name):
    """SIGTERM raises like Ctrl-C; one landing as mkdtemp returns (its folder made, its name
    not yet known here) or just after it still leaves no build folder, and the previous
    result as it was (a fault test hit this under load)."""
    out = tmp_path / name
    pub.publish(out, _builder({"report.md": "one"}), {"kind": "run"})
    real = pub.tempfile.mkdtemp

    def interrupted(*a, **k):
        made = real(*a, **k)
        if when == "in mkdtemp":
            raise KeyboardInterrupt
        monkeypatch.setattr(pub, "_umask", _raise_interrupt)
        return made

    monkeypatch.setattr(pub.tempfile, "mkdtemp", interrupted)
    with pytest.raises(KeyboardInterrupt):
        pub.publish(out, _builder({"report.md": "two"}), {"kind": "run"})
    assert sorted(p.name for p in tmp_path.iterdir()) == [name]
    assert _tree(out) == {"report.md": "one"} and check_complete(out)


def _raise_interrupt() -> int:
    raise KeyboardInterrupt


def test_readers_check_the_manifest(tmp_path):
    out = tmp_path / "r"
    pub.publish(out, _builder({"admarket.duckdb": "db", "logs/a.md": "story"}), {"kind": "run"})
    check_complete(out)
    (out / "logs" / "a.md").write_text("edited story")
    with pytest.raises(IncompleteRunError, match="has changed"):
        check_complete(out)
    (out / "logs" / "a.md").unlink()
    with pytest.raises(IncompleteRunError, match="missing"):
        check_complete(out)
    (out / COMPLETE_MARKER).write_text("not json")
    with pytest.raises(IncompleteRunError, match="not admarket's"):
        check_complete(out)


def test_a_result_of_an_older_admarket_is_recognised_by_its_names(tmp_path):
    out = tmp_path / "old"
    (out / "logs").mkdir(parents=True)
    (out / "logs" / "s1-A.events.jsonl").write_text("{}")
    (out / "admarket.duckdb").write_text("db")
    (out / ".tmp-k2j3").mkdir()  # that version built inside the folder
    (out / COMPLETE_MARKER).write_text(json.dumps({"kind": "run", "store": "admarket.duckdb"}))
    assert check_target(out) == out.resolve()
    pub.publish(out, _builder({"report.md": "new"}), {"kind": "run"})
    assert _tree(out) == {"report.md": "new"} and not (out / ".tmp-k2j3").exists()
    # its unfinished results (no marker) are not recognised: refused, with a hint
    unfinished = tmp_path / "unfinished"
    unfinished.mkdir()
    (unfinished / "admarket.duckdb").write_text("db")
    with pytest.raises(UsageError, match="older admarket"):
        check_target(unfinished)

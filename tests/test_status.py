"""``admarket status``, the CLI's headline table in the glossary's words, the measures added
to the store (fill rate, SUI/WAL split, primary-KPI hits), and ``query`` without scientific
notation."""

from __future__ import annotations

import json
import shutil

from admarket.cli import main
from admarket.outputs.inventory import scan, seed_text
from admarket.outputs.store import COMPLETE_MARKER, query

TINY = ["--buyers", "2", "--sellers", "2", "--campaigns-per-buyer", "3", "--no-progress"]


def test_status_lists_runs_checkpoints_and_studies(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["run", "--scenarios", "b", "--days", "2", "--out", "r1", *TINY]) == 0
    assert main(["run", "--scenarios", "c", "--days", "3", "--checkpoint-every", "1", *TINY]) == 0
    args = ["compare", "--days", "2", "--seeds", "2", "--processes", "1", "--out", "cmp"]
    assert main([*args, "--set", "decay_rate=0.1", *TINY]) == 0
    shutil.copytree("r1", "broken")
    (tmp_path / "broken" / COMPLETE_MARKER).unlink()
    capsys.readouterr()
    assert main(["status", "."]) == 0
    out = capsys.readouterr().out
    assert "run        r1" in out and "compare    cmp" in out
    assert "incomplete — no COMPLETE marker" in out
    assert "checkpoint at the end of day 1 of 3" in out and "admarket resume" in out
    assert "scenarios A, B, C × seeds 42, 43 (6 runs, kept for --resume with more seeds)" in out
    assert "defaults except" in out and "decay_rate=0.1" in out and "days=2" in out
    assert "made by:   `admarket compare` with admarket" in out
    items = {i.path: i for i in scan(tmp_path)}
    cmp = items[str(tmp_path / "cmp")]
    assert cmp.complete and cmp.kind == "compare" and cmp.seeds == [42, 43]
    assert cmp.config["decay_rate"] == 0.1 and "n_buyers" in cmp.config
    assert not items[str(tmp_path / "broken")].complete
    ckpts = [i for i in items.values() if i.kind == "checkpoint"]
    assert len(ckpts) == 2 and all(i.scenarios == ["C"] for i in ckpts)
    assert main(["status", ".", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert {d["kind"] for d in data} == {"run", "compare", "checkpoint", "unknown"}
    assert main(["status", str(tmp_path / "nope")]) == 2


def test_seed_text():
    assert seed_text([44, 42, 43]) == "42–44"
    assert seed_text([1, 5]) == "1, 5"


def test_cli_table_uses_the_glossary_and_shows_every_measure(capsys):
    assert main(["run", "--days", "2", *TINY]) == 0
    out = capsys.readouterr().out
    for label in (
        "decisions that used a wrong fact",
        "claims that were wrong",
        "fill rate",
        "primary-KPI hit rate",
        "Sui gas",
        "Walrus storage",
    ):
        assert label in out, label
    assert "hallucinat" not in out.lower()
    assert "e-0" not in out and "e+0" not in out


def test_store_measures_add_up(tmp_path):
    out = tmp_path / "c"
    assert main(["run", "--scenarios", "a,c", "--days", "3", "--out", str(out), *TINY]) == 0
    s = query(out, "SELECT * FROM summaries ORDER BY scenario").set_index("scenario")
    c = s.loc["C"]
    # the SUI/WAL split adds up to the ledger cost the run charged (to the cent)
    assert abs(c["ledger_cost_sui_usd"] + c["ledger_cost_wal_usd"] - c["ledger_cost_usd"]) < 0.01
    assert c["ledger_cost_sui"] > 0 and c["ledger_cost_wal"] > 0
    assert s.loc["A", "ledger_cost_sui"] == 0
    last = query(out, "SELECT run_id, arg_max(fill_rate, step) AS f FROM step_metrics GROUP BY 1")
    want = dict(zip(last["run_id"], last["f"], strict=True))
    for run_id, f in zip(s["run_id"], s["fill_rate"], strict=True):
        assert abs(f - want[run_id]) < 1e-12
    kpi = query(out, "SELECT scenario, SUM(hit_kpi_goal::INT) AS n FROM campaigns GROUP BY 1")
    for scen, n in zip(kpi["scenario"], kpi["n"], strict=True):
        assert s.loc[scen, "hit_kpi_goal"] == n


def test_query_prints_money_without_scientific_notation(tmp_path, capsys):
    out = tmp_path / "q"
    assert main(["run", "--days", "2", "--out", str(out), *TINY]) == 0
    capsys.readouterr()
    assert main(["query", str(out), "--name", "fee_extraction"]) == 0
    text = capsys.readouterr().out
    assert "e+0" not in text and "e-0" not in text
    sql = "SELECT scenario, ledger_cost_per_mille, gross_spend * 1000 AS big FROM summaries"
    assert main(["query", str(out), "--sql", sql]) == 0
    text = capsys.readouterr().out
    assert "e+0" not in text and "e-0" not in text and "," in text


def test_status_lists_what_a_killed_writer_left_beside_a_result(tmp_path, capsys):
    """A kill -9 mid-publish leaves a build folder (.DIR.tmp-…) or a result moved aside
    (.DIR.old-…) beside DIR: megabytes that status did not show. Folders of the same name
    that admarket did not make are not claimed."""
    from admarket.outputs.publish import BUILD_TAG

    build = tmp_path / ".r.tmp-123-abc"
    build.mkdir()
    (build / BUILD_TAG).write_text("")
    (build / "admarket.duckdb").write_bytes(b"x" * 2_000_000)
    aside = tmp_path / ".gone.old-456"  # the swap stopped before the new result was in place
    aside.mkdir()
    (aside / BUILD_TAG).write_text("")
    mine = tmp_path / ".notes.tmp-1"
    mine.mkdir()
    (mine / "todo.txt").write_text("mine")
    (tmp_path / ".empty.tmp-2").mkdir()  # anyone's: nothing of admarket's in it
    swapped = tmp_path / ".s.tmp-9-x"  # a swap by exchange leaves the previous result here
    swapped.mkdir()
    (swapped / BUILD_TAG).write_text("")
    (swapped / "COMPLETE").write_text("{}")
    items = {i.path: i for i in scan(tmp_path)}
    assert set(items) == {str(build), str(aside), str(swapped)}
    assert items[str(swapped)].status.startswith("a previous result of")
    assert items[str(build)].kind == "leftover" and not items[str(build)].complete
    assert "an unfinished build of" in items[str(build)].status
    assert "(2.0 MB)" in items[str(build)].status
    assert "puts it back" in items[str(aside)].status
    assert main(["status", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "leftover" in out and "config:" not in out


KILLED_AS_IT_PUBLISHES = """
import os, signal, sys
from admarket.outputs import results
# killed -9 while the result is written: after the ledger is staged, before it is put in place
results.write_run = lambda *a, **k: os.kill(os.getpid(), signal.SIGKILL)
from admarket.cli import main
main(["run", "--scenarios", "c", "--days", "1", "--buyers", "1", "--sellers", "1",
      "--no-progress", "--ledger-out", sys.argv[1], "--out", sys.argv[2]])
"""


def test_status_lists_the_ledger_copy_a_run_killed_as_it_published_left(tmp_path, capsys):
    """`run --ledger-out FILE` stages the ledger beside FILE (.FILE.XXXXXXXX.tmp) and puts it
    in place once the result is published: a kill -9 in between left that copy, unlisted."""
    import fcntl
    import os
    import signal
    import subprocess
    import sys

    ledger, out = tmp_path / "l.jsonl", tmp_path / "o"
    code = [sys.executable, "-c", KILLED_AS_IT_PUBLISHES, str(ledger), str(out)]
    assert subprocess.run(code, capture_output=True).returncode == -signal.SIGKILL
    (staged,) = tmp_path.glob(".l.jsonl.*.tmp")
    assert not ledger.exists() and not out.exists()
    # a file of that name admarket did not write, or one it had only created, is not claimed
    (tmp_path / ".notes.txt.abcd1234.tmp").write_text("mine\n")
    (tmp_path / ".l.jsonl.empty123.tmp").write_text("")
    # a copy whose writing was cut short (no trailer): a partly written ledger
    partial = tmp_path / ".m.jsonl.part5678.tmp"
    partial.write_text(staged.read_text().splitlines()[0] + "\n")
    items = {i.path: i for i in scan(tmp_path)}
    assert set(items) == {str(staged), str(partial)}
    item = items[str(staged)]
    assert item.kind == "leftover" and not item.complete
    assert item.status.startswith(f"a staged copy of the ledger {ledger} (")
    assert "killed while it published its result" in item.status and "safe to delete" in item.status
    assert f"admarket verify-ledger {staged} --store DIR" in item.status
    assert items[str(partial)].status.startswith(f"a partly written copy of the ledger {tmp_path}")
    assert main(["status", str(tmp_path)]) == 0
    assert f"leftover   {staged}" in capsys.readouterr().out
    # a run publishing now holds its staged copy (flock): not a leftover
    fd = os.open(staged, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        assert str(staged) not in {i.path for i in scan(tmp_path)}
    finally:
        os.close(fd)


def test_the_staged_naming_rule_is_one(tmp_path):
    import os
    from pathlib import Path

    from admarket.atomic import STAGED, stage_beside, staged_target

    target = tmp_path / "l.v2.jsonl"
    fd, tmp = stage_beside(target)
    os.close(fd)
    assert STAGED.fullmatch(Path(tmp).name) and staged_target(Path(tmp)) == target
    fd, inner = stage_beside(Path(tmp))  # an atomic write into the staged copy
    os.close(fd)
    assert staged_target(Path(inner)) == target
    assert staged_target(Path("l.jsonl")) is None and staged_target(Path(".x.tmp")) is None


def test_a_live_run_s_files_are_never_listed_as_leftovers(tmp_path, monkeypatch):
    """Status run at each flush to disk and each rename of a `run --ledger-out FILE --out
    DIR` lists no leftover: every staged file is locked from the moment it has its name
    until it is renamed (atomic.stage_beside). The ledger used to be saved through a second
    staged file, unlocked, and the staged copy was locked only after that: a status then
    called the live run's copy a killed run's, safe to delete."""
    import os

    seen: list[str] = []

    def looked(real):
        def call(*args):
            seen.extend(f"{i.path}: {i.status}" for i in scan(tmp_path) if i.kind == "leftover")
            looked.calls += 1
            return real(*args)

        return call

    looked.calls = 0
    monkeypatch.setattr(os, "fsync", looked(os.fsync))
    monkeypatch.setattr(os, "replace", looked(os.replace))
    ledger, out = tmp_path / "l.jsonl", tmp_path / "o"
    args = ["run", "--scenarios", "c", "--days", "1", "--buyers", "1", "--sellers", "1"]
    assert main([*args, "--no-progress", "--ledger-out", str(ledger), "--out", str(out)]) == 0
    assert looked.calls > 5 and seen == []
    assert ledger.is_file() and sorted(p.name for p in tmp_path.iterdir()) == ["l.jsonl", "o"]


KILLED_AS_IT_STAGES = """
import os, signal, sys
from admarket.ledger.chain import Ledger
# killed -9 right after the staged copy was made, before a byte of the ledger is in it
Ledger.write = lambda self, fh: os.kill(os.getpid(), signal.SIGKILL)
from admarket.cli import main
main(["run", "--scenarios", "c", "--days", "1", "--buyers", "1", "--sellers", "1",
      "--no-progress", "--ledger-out", sys.argv[1]])
"""


def test_status_lists_the_empty_ledger_copy_a_run_killed_as_it_staged_left(tmp_path, capsys):
    """A run killed right after it made its staged copy leaves an empty file beside the
    ledger it was to replace; status did not list it (no header to read), so nothing said
    it was there. Now it is a leftover, safe to delete, with the command; still not while a
    process holds it, and not beside a file that is not a ledger."""
    import fcntl
    import os
    import shlex
    import signal
    import subprocess
    import sys

    ledger = tmp_path / "l.jsonl"
    args = ["run", "--scenarios", "c", "--days", "1", "--buyers", "1", "--sellers", "1"]
    assert main([*args, "--no-progress", "--ledger-out", str(ledger)]) == 0
    before = ledger.read_bytes()
    code = [sys.executable, "-c", KILLED_AS_IT_STAGES, str(ledger)]
    assert subprocess.run(code, capture_output=True).returncode == -signal.SIGKILL
    (staged,) = tmp_path.glob(".l.jsonl.*.tmp")
    assert staged.stat().st_size == 0 and ledger.read_bytes() == before
    (tmp_path / "notes.txt").write_text("mine\n")
    (tmp_path / ".notes.txt.abcd1234.tmp").write_text("")  # beside no ledger: not claimed
    capsys.readouterr()
    (item,) = scan(tmp_path)
    assert item.path == str(staged) and item.kind == "leftover" and not item.complete
    assert item.status.startswith(f"an empty staged copy of the ledger {ledger}, left by")
    assert item.status.endswith(f"safe to delete: rm {shlex.quote(str(staged))}")
    assert main(["status", str(tmp_path)]) == 0
    assert f"leftover   {staged}" in capsys.readouterr().out
    fd = os.open(staged, os.O_RDONLY)  # a live run holds its copy: not a leftover
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        assert scan(tmp_path) == []
    finally:
        os.close(fd)
    staged.unlink()  # as the status says: the ledger is whole and verifies
    assert scan(tmp_path) == [] and main(["verify-ledger", str(ledger)]) == 0


def test_without_proc_locks_a_held_staged_ledger_is_not_offered_for_deletion(tmp_path, monkeypatch):
    """Off Linux there is no /proc/locks: status read every staged ledger copy as unheld, so
    a live run's copy was listed as a killed run's, 'safe to delete: rm …'. There it now asks
    the file itself (a shared flock tried without waiting, let go at once)."""
    import fcntl
    import os
    import shutil

    from admarket.outputs import output_lock

    ledger = tmp_path / "l.jsonl"
    args = ["run", "--scenarios", "c", "--days", "1", "--buyers", "1", "--sellers", "1"]
    assert main([*args, "--no-progress", "--ledger-out", str(ledger)]) == 0
    staged, empty = tmp_path / ".l.jsonl.abcd1234.tmp", tmp_path / ".l.jsonl.empty123.tmp"
    shutil.copy(ledger, staged)
    empty.write_text("")
    monkeypatch.setattr(output_lock, "PROC_LOCKS", str(tmp_path / "no-such-file"))
    assert {i.path for i in scan(tmp_path)} == {str(staged), str(empty)}  # a killed run's
    for copy in (staged, empty):
        fd = os.open(copy, os.O_RDONLY)  # as the live run holds its copy
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            assert copy.name not in {os.path.basename(i.path) for i in scan(tmp_path)}
        finally:
            os.close(fd)
    # asking took no lock it kept: a writer's lock is had at once after
    fd = os.open(staged, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    finally:
        os.close(fd)
    assert len(scan(tmp_path)) == 2

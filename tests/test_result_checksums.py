"""Each published result lists every file's SHA-256 in its COMPLETE marker, and
``admarket status --verify`` checks the files against them: an edit that keeps a file's
size (a row changed in place) passes the size check every reader applies, but not this one.
``admarket report`` carries the kept files' checksums over as published, so rebuilding the
report never blesses an edit. A result published before checksums is said to be unverified,
not damaged."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import duckdb
import pytest

from admarket.cli import main
from admarket.outputs.manifest import (
    COMPLETE_MARKER,
    RECORDED_IN,
    STORE_NAME,
    file_digest,
    marker_digest,
    recorded_version,
)

TINY = ["--days", "1", "--buyers", "1", "--sellers", "1", "--no-progress"]


@pytest.fixture(scope="module")
def published(tmp_path_factory) -> Path:
    """A tiny complete run, copied by the tests that change it."""
    out = tmp_path_factory.mktemp("sums") / "r"
    assert main(["run", *TINY, "--out", str(out)]) == 0
    return out


def _copy(published: Path, tmp_path: Path) -> Path:
    d = tmp_path / "r"
    shutil.copytree(published, d)  # content copied: the checksums still hold
    return d


def _marker(d: Path) -> dict:
    return json.loads((d / COMPLETE_MARKER).read_text())


def _verify(capsys, d: Path) -> tuple[int, str]:
    capsys.readouterr()
    rc = main(["status", "--verify", str(d)])
    return rc, capsys.readouterr().out


def _flip_a_byte(path: Path) -> None:
    """Change one byte in the middle of ``path``: same size, other content."""
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x20
    path.write_bytes(bytes(data))


def _narrative(d: Path) -> Path:
    return next((d / "logs").glob("*-A.narrative.md"))


def test_every_listed_file_has_its_checksum(published):
    marker = _marker(published)
    assert set(marker["sha256"]) == set(marker["files"]) and marker["manifest_version"] == 3
    for rel, digest in marker["sha256"].items():
        assert hashlib.sha256((published / rel).read_bytes()).hexdigest() == digest, rel


def test_an_intact_result_is_verified(published, tmp_path, capsys):
    rc, out = _verify(capsys, _copy(published, tmp_path))
    assert rc == 0 and "complete (content verified: every file matches its checksum)" in out


def test_an_edit_that_keeps_the_size_is_found_only_by_verify(published, tmp_path, capsys):
    d = _copy(published, tmp_path)
    log = _narrative(d)
    _flip_a_byte(log)
    capsys.readouterr()
    assert main(["status", str(d)]) == 0
    assert "status:    complete\n" in capsys.readouterr().out  # sizes alone: unchanged
    rc, out = _verify(capsys, d)
    rel = log.relative_to(d).as_posix()
    assert rc == 1
    assert f"damaged — {rel} has changed since the result was written (same size" in out
    assert "writes the report anew" not in out  # a log is not the report
    capsys.readouterr()
    assert main(["status", "--verify", "--json", str(d)]) == 1
    (item,) = json.loads(capsys.readouterr().out)
    assert item["status"].startswith("damaged") and not item["complete"]


def test_rebuilding_the_report_keeps_the_published_checksums(published, tmp_path, capsys):
    d = _copy(published, tmp_path)
    (d / "report.md").unlink()
    assert main(["report", str(d)]) == 0
    rc, out = _verify(capsys, d)  # the new report's files are checksummed afresh
    assert rc == 0 and "content verified" in out
    _flip_a_byte(_narrative(d))
    assert main(["report", str(d)]) == 0  # the sizes match: the report is rebuilt
    rc, out = _verify(capsys, d)
    assert rc == 1 and "narrative.md has changed" in out


def _as_written_before_the_record(d: Path) -> None:
    """Make ``d``'s store what admarket wrote before a store recorded its marker's version
    (:func:`~admarket.outputs.manifest.record_version`), its marker listing it anew."""
    con = duckdb.connect(str(d / STORE_NAME))
    con.execute(f"COMMENT ON TABLE {RECORDED_IN} IS NULL")
    con.close()
    marker = _marker(d)
    marker["files"][STORE_NAME] = (d / STORE_NAME).stat().st_size
    if "sha256" in marker:
        marker["sha256"][STORE_NAME] = file_digest(d / STORE_NAME)
        marker["marker_sha256"] = marker_digest(marker)
    (d / COMPLETE_MARKER).write_text(json.dumps(marker))
    assert recorded_version(d) is None


def _as_version_1(d: Path) -> None:
    """Make ``d`` what admarket wrote before checksums (version 1, none listed; its store
    records no version)."""
    _as_written_before_the_record(d)
    marker = _marker(d)
    del marker["sha256"], marker["marker_sha256"]
    marker["manifest_version"] = 1
    (d / COMPLETE_MARKER).write_text(json.dumps(marker))


def test_a_result_published_before_checksums_is_unverified_not_damaged(published, tmp_path, capsys):
    d = _copy(published, tmp_path)
    _as_version_1(d)
    rc, out = _verify(capsys, d)
    assert rc == 0
    assert "complete (content not verified: published without checksums, by admarket" in out


def test_rebuilding_the_report_of_a_result_without_checksums_adds_none(published, tmp_path, capsys):
    """Checksums taken at a report rebuild would vouch for a kept file edited before it."""
    d = _copy(published, tmp_path)
    _as_version_1(d)
    _flip_a_byte(_narrative(d))
    assert main(["report", str(d)]) == 0
    marker = _marker(d)
    assert "sha256" not in marker and marker["manifest_version"] == 1
    rc, out = _verify(capsys, d)
    assert rc == 0 and "content not verified" in out


@pytest.mark.parametrize("sums", ["abc", [], None, {}])
def test_a_version_2_marker_without_its_checksums_is_damage(published, tmp_path, capsys, sums):
    d = _copy(published, tmp_path)
    marker = _marker(d)
    marker["sha256"] = sums
    (d / COMPLETE_MARKER).write_text(json.dumps(marker))
    rc, out = _verify(capsys, d)
    assert rc == 1 and "has no checksum in the COMPLETE marker (edited?)" in out


def test_a_listed_file_replaced_by_a_symlink_is_damage(published, tmp_path, capsys):
    d = _copy(published, tmp_path)
    (d / "admarket.duckdb").rename(tmp_path / "elsewhere.duckdb")
    (d / "admarket.duckdb").symlink_to(tmp_path / "elsewhere.duckdb")
    rc, out = _verify(capsys, d)
    assert rc == 1 and "admarket.duckdb is a symbolic link, which admarket never writes" in out


def test_a_report_edited_in_place_says_report_rebuilds_it(published, tmp_path, capsys):
    d = _copy(published, tmp_path)
    _flip_a_byte(d / "report.md")
    rc, out = _verify(capsys, d)
    assert rc == 1 and "report.md has changed since the result was written" in out
    assert f"`admarket report {d}` writes the report anew" in out
    assert main(["report", str(d)]) == 0
    assert _verify(capsys, d)[0] == 0


def test_a_missing_checksum_is_damage(published, tmp_path, capsys):
    d = _copy(published, tmp_path)
    marker = _marker(d)
    del marker["sha256"]["admarket.duckdb"]
    (d / COMPLETE_MARKER).write_text(json.dumps(marker))
    rc, out = _verify(capsys, d)
    assert rc == 1 and "admarket.duckdb has no checksum in the COMPLETE marker" in out


@pytest.mark.parametrize("edit", ["a number", "not hex", "missing", "no table"])
def test_report_refuses_a_marker_whose_checksum_is_not_a_sha256(published, tmp_path, capsys, edit):
    # a marker sealed anew over the edit (its own digest recomputed): only the type tells
    d = _copy(published, tmp_path)
    marker = _marker(d)
    if edit == "no table":
        marker["sha256"] = "abc"
    elif edit == "missing":
        del marker["sha256"][STORE_NAME]
    else:
        marker["sha256"][STORE_NAME] = 123 if edit == "a number" else "z" * 64
    marker["marker_sha256"] = marker_digest(marker)
    (d / COMPLETE_MARKER).write_text(json.dumps(marker))
    before = (d / COMPLETE_MARKER).read_bytes()
    capsys.readouterr()
    assert main(["report", str(d)]) == 2
    err = capsys.readouterr().err
    assert f"its {COMPLETE_MARKER} marker" in err and "'sha256'" in err, err
    assert "nothing was changed" in err and err.count("\n") == 1
    if edit != "no table":
        assert f"'sha256' of {STORE_NAME}, where a SHA-256 (64 lowercase hex digits)" in err
    assert (d / COMPLETE_MARKER).read_bytes() == before


def test_studies_are_checksummed_too(tmp_path, capsys):
    compare = tmp_path / "c"
    assert main(["compare", *TINY, "--seeds", "2", "--processes", "1", "--out", str(compare)]) == 0
    sweep = tmp_path / "s"
    grid = ["--grid", "decay_rate=0.1,0.2", "--seeds", "1", "--processes", "1"]
    assert main(["sweep", *TINY, *grid, "--out", str(sweep)]) == 0
    for d in (compare, sweep):
        marker = _marker(d)
        assert set(marker["sha256"]) == set(marker["files"]), d
        assert recorded_version(d) == marker["manifest_version"] == 3, d
    # kept runs (a compare's kept-runs/) are among the files checked
    assert any(rel.startswith("kept-runs/") for rel in _marker(compare)["sha256"])
    rc, out = _verify(capsys, tmp_path)
    assert rc == 0 and out.count("content verified") == 2


class _Terminal:
    """A stand-in for stderr on a terminal: tqdm draws only on a stream that is one."""

    def __init__(self) -> None:
        self.text = ""

    def isatty(self) -> bool:
        return True

    def write(self, s: str) -> int:
        self.text += s
        return len(s)

    def flush(self) -> None:
        pass


def test_verify_shows_the_bytes_it_reads_on_a_terminal_and_nothing_in_a_script(
    published, tmp_path, capsys, monkeypatch
):
    from admarket.outputs.inventory import scan

    two = tmp_path / "two"
    for name in ("a", "b"):
        shutil.copytree(published, two / name)
    sizes: list[int] = []
    scan(two, verify=True, on_read=sizes.append)
    listed = _marker(published)["files"]
    assert sum(sizes) == 2 * sum(int(n) for n in listed.values())  # every byte, once
    scan(two, on_read=sizes.append)
    assert sum(sizes) == 2 * sum(int(n) for n in listed.values())  # without --verify: none
    # a script (stderr not a terminal): the report and the exit code only
    rc, _ = _verify(capsys, two)
    assert rc == 0 and capsys.readouterr().err == ""
    terminal = _Terminal()
    monkeypatch.setattr("sys.stderr", terminal)
    assert main(["status", "--verify", str(two)]) == 0
    # the bar is shown while reading, then cleared: no stale line above the report
    assert "verifying: " in terminal.text and terminal.text.endswith("\r")
    assert "verifying" not in terminal.text.rsplit("\r", 2)[-2]


def test_a_digest_read_in_chunks_for_a_progress_bar_is_the_files_sha256(tmp_path, monkeypatch):
    from admarket.outputs import manifest

    monkeypatch.setattr(manifest, "_DIGEST_CHUNK", 1000)  # several chunks and a short last one
    f = tmp_path / "f"
    f.write_bytes(bytes(range(256)) * 17)
    told: list[int] = []
    assert manifest.file_digest(f, told.append) == hashlib.sha256(f.read_bytes()).hexdigest()
    assert told == [1000, 1000, 1000, 1000, 352] and manifest.file_digest(f) == (
        hashlib.sha256(f.read_bytes()).hexdigest()
    )


@pytest.mark.parametrize(
    "edit",
    [
        lambda m: m.update(seeds=[42, 43, 44, 45], runs=12),  # what it says it holds
        lambda m: m.update(kind="sweep"),
    ],
)
def test_an_edited_marker_fails_verify_and_report_will_not_seal_it(
    published, tmp_path, capsys, edit
):
    """The marker states the result's kind, seeds and runs, which no listed file's checksum
    covers: its own SHA-256 does (version 3), so --verify no longer calls it verified and
    `report` refuses to write the edit into a new marker."""
    d = _copy(published, tmp_path)
    marker = _marker(d)
    assert marker["manifest_version"] == 3
    edit(marker)
    (d / COMPLETE_MARKER).write_text(json.dumps(marker))
    rc, out = _verify(capsys, d)
    assert rc == 1 and "COMPLETE has been edited since the result was written" in out
    before = (d / COMPLETE_MARKER).read_bytes()
    assert main(["report", str(d)]) == 2
    assert "marker has been edited" in capsys.readouterr().err
    assert (d / COMPLETE_MARKER).read_bytes() == before


def _set_back(marker: dict, version: str) -> None:
    """``marker`` as an edit that sets it back to an older version would leave it: without
    what that version did not have, and still saying what the edit wants it to."""
    del marker["marker_sha256"]
    if version == "2":
        marker["manifest_version"] = 2
    elif version == "1":
        del marker["sha256"]
        marker["manifest_version"] = 1
    else:  # shaped as a marker written before manifests: kind and store only
        for key in ("sha256", "manifest_version", "files", "format"):
            del marker[key]


@pytest.mark.parametrize("version", ["2", "1", "before manifests"])
def test_a_marker_set_back_to_an_older_version_fails_verify_and_report(
    published, tmp_path, capsys, version
):
    """A version-3 marker edited, then set back to an older version without its own
    SHA-256 (or every checksum), passed --verify as that version's; the store records the
    version its result was published with, so the claim is seen to be false."""
    d = _copy(published, tmp_path)
    assert recorded_version(d) == 3
    marker = _marker(d)
    marker.update(seeds=[42, 43, 44, 45], runs=12)
    _set_back(marker, version)
    (d / COMPLETE_MARKER).write_text(json.dumps(marker))
    rc, out = _verify(capsys, d)
    assert rc == 1 and "damaged — COMPLETE claims manifest version" in out
    assert "store records that it was published with version 3" in out
    before = (d / COMPLETE_MARKER).read_bytes()
    assert main(["report", str(d)]) == 2
    err = capsys.readouterr().err
    assert "marker claims manifest version" in err and "nothing was changed" in err
    assert (d / COMPLETE_MARKER).read_bytes() == before


def test_a_version_2_result_written_before_the_record_still_verifies(published, tmp_path, capsys):
    """A result published by a version-2 admarket (no marker SHA-256, a store recording no
    version) is verified as before, and its report rebuilt."""
    d = _copy(published, tmp_path)
    _as_written_before_the_record(d)
    marker = _marker(d)
    del marker["marker_sha256"]
    marker["manifest_version"] = 2
    (d / COMPLETE_MARKER).write_text(json.dumps(marker))
    rc, out = _verify(capsys, d)
    assert rc == 0 and "content verified" in out
    assert main(["report", str(d)]) == 0
    assert _marker(d)["manifest_version"] == 3  # rebuilt: the new marker has its SHA-256
    assert recorded_version(d) is None  # the store is kept as it was published
    rc, out = _verify(capsys, d)
    assert rc == 0 and "content verified" in out

"""Atomic file writes: the old file or the new one, and a failed write says which file."""

from __future__ import annotations

import errno

import pytest

from admarket.atomic import atomic_file


class _FullDisk:
    """A file object whose writes fail as on a full disk (an OSError naming no file)."""

    def __init__(self, fh):
        self._fh = fh

    def write(self, data):
        raise OSError(errno.ENOSPC, "No space left on device")


def test_a_failed_write_names_the_file_and_leaves_the_old_one(tmp_path):
    path = tmp_path / "ledger.jsonl"
    path.write_text("old\n")
    with pytest.raises(OSError) as caught, atomic_file(path, "w", encoding="utf-8") as fh:
        _FullDisk(fh).write("new\n")
    assert caught.value.errno == errno.ENOSPC and caught.value.filename == str(path)
    assert path.read_text() == "old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ledger.jsonl"]  # no temp left


def test_an_error_that_names_a_file_is_left_as_it_is(tmp_path):
    with pytest.raises(FileNotFoundError) as caught, atomic_file(tmp_path / "a", "w") as fh:
        fh.write("x")
        open(tmp_path / "missing")  # noqa: SIM115
    assert caught.value.filename == str(tmp_path / "missing")
    assert not (tmp_path / "a").exists()

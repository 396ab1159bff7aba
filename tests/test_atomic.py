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


def test_the_temporary_file_is_locked_until_it_is_in_place(tmp_path, monkeypatch):
    """`admarket status` lists an unlocked staged file as a killed writer's leftover: an
    atomic write (a Python caller's ledger.save, a checkpoint) holds its own locked from its
    creation until after the rename."""
    import os

    from admarket.outputs.output_lock import flock_held

    real = os.replace
    held = []
    monkeypatch.setattr(os, "replace", lambda a, b: (held.append(flock_held(a)), real(a, b)))
    with atomic_file(tmp_path / "a", "w") as fh:
        fh.write("x")
        (tmp,) = tmp_path.glob(".a.*.tmp")
        assert flock_held(tmp)
    assert held == [True] and (tmp_path / "a").read_text() == "x"
    assert not flock_held(tmp_path / "a")  # closed after the rename: nothing stays held


def test_without_o_tmpfile_the_staged_file_is_locked_at_once(tmp_path, monkeypatch):
    """Where O_TMPFILE is missing (not Linux), stage_beside falls back to mkstemp and locks
    the file right after: the name, the lock and the rename behave the same."""
    import os

    from admarket.atomic import STAGED, stage_beside, staged_target
    from admarket.outputs.output_lock import flock_held

    monkeypatch.delattr(os, "O_TMPFILE", raising=False)
    fd, tmp = stage_beside(tmp_path / "l.jsonl")
    try:
        assert STAGED.fullmatch(os.path.basename(tmp)) and flock_held(tmp)
        assert staged_target(tmp_path / os.path.basename(tmp)) == tmp_path / "l.jsonl"
    finally:
        os.close(fd)
    assert not flock_held(tmp)
    with atomic_file(tmp_path / "a", "w") as fh:
        fh.write("x")
        (held,) = tmp_path.glob(".a.*.tmp")
        assert flock_held(held)
    assert (tmp_path / "a").read_text() == "x" and oct((tmp_path / "a").stat().st_mode)[
        -3:
    ] == "644"

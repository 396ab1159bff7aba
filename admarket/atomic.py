"""Writing a file so that readers see the old file or the new one, never half of either."""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import secrets
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

# A file staged beside ``path`` before it is renamed over it: ``.NAME.XXXXXXXX.tmp`` (NAME is
# path's name, X random hex digits, or mkstemp's letters, digits and underscores where the
# O_TMPFILE way is not to be had: stage_beside). The one naming rule of
# staged files (stage_beside), by which `admarket status` tells one a killed run left.
STAGED = re.compile(r"\.(?P<target>.+)\.[a-z0-9_]+\.tmp")


def stage_beside(path: Path) -> tuple[int, str]:
    """Create an empty private file beside ``path``, named by :data:`STAGED`, to write
    ``path``'s new content into before it is renamed over it; returns its open descriptor,
    holding an exclusive ``flock`` on it, and its path. Whoever keeps the descriptor open
    holds the lock: `admarket status` lists an unheld staged file as a killed run's
    leftover, so the writer keeps it open until the file is renamed into place (or
    deleted). On Linux the file gets its name only once the lock is on it (``O_TMPFILE``,
    then a link), so status never sees it unheld; elsewhere the lock follows its creation
    at once (status reads locks from Linux's ``/proc/locks``; off Linux it tries a shared
    lock without waiting, which delays this blocking ``flock`` by a moment at most)."""
    made = _held_and_named(path)
    if made is not None:
        return made
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    fcntl.flock(fd, fcntl.LOCK_EX)
    return fd, tmp


def _held_and_named(path: Path) -> tuple[int, str] | None:
    """An unnamed file in ``path``'s folder (``O_TMPFILE``), locked, then linked under a
    :data:`STAGED` name: its descriptor and that name; None where the system or the
    filesystem cannot (then :func:`stage_beside` uses ``mkstemp``)."""
    try:
        fd = os.open(path.parent, os.O_TMPFILE | os.O_RDWR, 0o600)
    except (AttributeError, OSError):  # no O_TMPFILE (not Linux, or not this filesystem)
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        folder = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
        try:
            for _ in range(100):
                name = f".{path.name}.{secrets.token_hex(4)}.tmp"
                try:  # (linkat following /proc's link to the file: no privilege needed)
                    os.link(f"/proc/self/fd/{fd}", name, dst_dir_fd=folder, follow_symlinks=True)
                except FileExistsError:
                    continue
                return fd, str(path.parent / name)
        finally:
            os.close(folder)
    except OSError:  # no /proc, or a filesystem that refuses the link
        pass
    os.close(fd)
    return None


def staged_target(path: Path) -> Path | None:
    """The file ``path`` is a staged copy of (:data:`STAGED`), or None if its name is not
    one; a staged copy of a staged copy (an atomic write into one) names the first file."""
    target = None
    while m := STAGED.fullmatch(path.name):
        path = target = path.parent / m["target"]
    return target


@contextmanager
def atomic_file(
    path: str | os.PathLike, mode: str = "wb", encoding: str | None = None
) -> Iterator[IO[Any]]:
    """Open a temporary file beside ``path``; on success fsync it and rename it over
    ``path``, on any error (or interrupt) delete it and leave ``path`` untouched. The
    temporary file stays open, so locked (:func:`stage_beside`), until it is renamed or
    deleted: `admarket status` never lists it as a leftover while this process has it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = stage_beside(path)
    try:
        f = os.fdopen(fd, mode, encoding=encoding)
    except BaseException:  # (a bad mode or encoding) the staged file goes, unlocked with it
        os.close(fd)
        Path(tmp).unlink(missing_ok=True)
        raise
    try:
        yield f
        f.flush()
        os.fsync(f.fileno())
        os.fchmod(f.fileno(), 0o644)  # made private; what admarket writes is meant to be read
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        if exc.filename is None:  # a failed write names no file (a full disk): name it
            raise OSError(exc.errno, exc.strerror, str(path)) from exc
        raise
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    finally:
        # closed only now, the lock with it: after the rename, or after the delete (a close
        # failing to write what a failed write left buffered says nothing new)
        with contextlib.suppress(OSError):
            f.close()


def fsync_path(path: str | os.PathLike) -> None:
    """Flush a file, or a folder's entries (after a rename or a new file in it), to disk."""
    fd = os.open(path, os.O_RDONLY | (os.O_DIRECTORY if Path(path).is_dir() else 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)

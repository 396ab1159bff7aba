"""Writing a file so that readers see the old file or the new one, never half of either."""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

# A file staged beside ``path`` before it is renamed over it: ``.NAME.XXXXXXXX.tmp`` (NAME is
# path's name, X mkstemp's random letters, digits and underscores). The one naming rule of
# staged files (stage_beside), by which `admarket status` tells one a killed run left.
STAGED = re.compile(r"\.(?P<target>.+)\.[a-z0-9_]+\.tmp")


def stage_beside(path: Path) -> tuple[int, str]:
    """Create an empty private file beside ``path``, named by :data:`STAGED`, to write
    ``path``'s new content into before it is renamed over it; returns its open descriptor
    and its path (``tempfile.mkstemp``'s)."""
    return tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")


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
    ``path``, on any error (or interrupt) delete it and leave ``path`` untouched."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = stage_beside(path)
    try:
        with os.fdopen(fd, mode, encoding=encoding) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)  # mkstemp makes it private; what admarket writes is meant to be read
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        if exc.filename is None:  # a failed write names no file (a full disk): name it
            raise OSError(exc.errno, exc.strerror, str(path)) from exc
        raise
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def fsync_path(path: str | os.PathLike) -> None:
    """Flush a file, or a folder's entries (after a rename or a new file in it), to disk."""
    fd = os.open(path, os.O_RDONLY | (os.O_DIRECTORY if Path(path).is_dir() else 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)

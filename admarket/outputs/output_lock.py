"""The output lock: one admarket process writes a result folder at a time.

An exclusive ``flock`` on ``.NAME.lock`` beside the folder ``NAME`` (:class:`OutputLock`,
taken by :func:`.publish.reserve`) records its holder (``pid N, since T``). Anyone may ask
who holds it (:func:`holder`, for ``admarket status``) without taking, creating or changing
it: even a shared lock held for a moment would make a writer that starts then refuse, so the
lock file is only read, and whether it is held comes from ``/proc/locks`` (Linux; elsewhere,
whether the recorded pid is alive). A staged file (:func:`flock_held`) may be asked directly
where ``/proc/locks`` is missing: its writer waits for its lock, and never refuses.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import fcntl
import os
import stat
from pathlib import Path

from admarket.errors import OutputBusyError

PROC_LOCKS = "/proc/locks"  # every lock held on this machine (Linux)


def lock_path(dest: Path) -> Path:
    """The output lock file of the folder ``dest`` (``.NAME.lock`` beside it)."""
    return dest.parent / f".{dest.name}.lock"


def locked_folder(lock: Path) -> Path | None:
    """The folder a file named like an output lock (:func:`lock_path`) is the lock of."""
    name = lock.name
    if len(name) > 6 and name.startswith(".") and name.endswith(".lock"):
        return lock.parent / name[1:-5]
    return None


class OutputLock:
    """An exclusive ``flock`` on ``.NAME.lock`` beside an output folder."""

    def __init__(self, dest: Path) -> None:
        self.dest = dest
        self.path = lock_path(dest)
        self.fd: int | None = None
        self.depth = 0

    def acquire(self) -> None:
        self.dest.parent.mkdir(parents=True, exist_ok=True)
        while True:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = os.pread(fd, 200, 0).decode("utf-8", "replace").strip()
                os.close(fd)
                who = f" ({holder})" if holder else ""
                raise OutputBusyError(
                    f"{self.dest} is being written by another admarket process{who}; wait "
                    "for it to finish, or choose another --out"
                ) from None
            # the file may have been unlinked by a releasing holder after we opened it
            st = os.fstat(fd)
            try:
                cur = os.stat(self.path)
            except FileNotFoundError:
                cur = None
            if cur is not None and (cur.st_ino, cur.st_dev) == (st.st_ino, st.st_dev):
                break
            os.close(fd)
        now = _dt.datetime.now().isoformat(timespec="seconds")
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()}, since {now}\n".encode(), 0)
        self.fd = fd

    def release(self) -> None:
        if self.fd is None:
            return
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)  # while still holding it: see the inode check above
        os.close(self.fd)
        self.fd = None


def holder(dest: Path) -> str | None:
    """Who is writing the folder ``dest`` — the text its lock records (``pid N, since
    T``) — or None if no admarket process holds its lock.

    Read only, and never blocks: the lock file is opened read-only (never created, no
    lock taken on it — even a shared ``flock`` for a moment would make a writer starting
    then refuse) and whether it is held comes from ``/proc/locks``; where that is missing
    (not Linux), from whether the recorded pid is alive. A lock file a killed writer left
    is not held: None.
    """
    path = lock_path(dest)
    try:
        if not stat.S_ISREG(os.lstat(path).st_mode):
            return None
        flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0)
        fd = os.open(path, flags | getattr(os, "O_NOCTTY", 0))
    except OSError:
        return None  # no lock file (the usual case): nobody is writing
    try:
        st = os.fstat(fd)
        raw = os.pread(fd, 200, 0) if stat.S_ISREG(st.st_mode) else b""
    except OSError:
        return None
    finally:
        os.close(fd)
    text = raw.decode("utf-8", "replace").split("\n", 1)[0].strip()
    text = "".join(c for c in text if c.isprintable())
    pid = _recorded_pid(text)
    if not _flock_held(st, pid):
        return None
    return text or "pid unknown"


def flock_held(path: Path) -> bool:
    """Whether some process holds a ``flock`` on the file ``path`` now: a staged ledger copy
    an ``admarket run`` is publishing is held so (``cli.run.finish``), one a killed run
    left is not. Read from ``/proc/locks`` (no lock taken); where that is missing (not
    Linux), asked of the file itself (:func:`_flock_probe`); False if the file is gone."""
    try:
        st = os.stat(path)
    except OSError:
        return False
    held = _proc_locks_held(st, None)
    return _flock_probe(path) if held is None else held


def _flock_probe(path: Path) -> bool:
    """Whether a ``flock`` is held on ``path``, by trying a shared one without waiting and
    letting it go at once. Sound for a staged file only: its one writer takes its lock
    waiting (:func:`admarket.atomic.stage_beside`), so a probe holding it for a moment
    delays it by that moment and never makes it fail — unlike an output lock, whose writer
    refuses at once (:func:`holder` never probes). A file whose lock cannot be asked (a
    filesystem without ``flock``) counts as held: never offered as safe to delete."""
    try:
        flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0)
        fd = os.open(path, flags | getattr(os, "O_NOCTTY", 0))
    except OSError:
        return False  # gone meanwhile (renamed into place, or deleted)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    except OSError:
        return True
    finally:
        os.close(fd)  # (closing lets go of a lock the probe took)
    return False


def _recorded_pid(text: str) -> int | None:
    """The pid a lock records (``pid 123, since …``), if it reads as one."""
    head = text.split(",", 1)[0].split()
    if len(head) == 2 and head[0] == "pid" and head[1].isdigit():
        return int(head[1])
    return None


def _flock_held(st: os.stat_result, pid: int | None) -> bool:
    """Whether some process holds a ``flock`` on the file ``st`` describes, by
    ``/proc/locks`` (:func:`_proc_locks_held`); where that is missing, whether ``pid`` (the
    holder the lock file records) is alive."""
    held = _proc_locks_held(st, pid)
    if held is None:
        return pid is not None and _alive(pid)
    return held


def _proc_locks_held(st: os.stat_result, pid: int | None) -> bool | None:
    """Whether some process holds a ``flock`` on the file ``st`` describes: a FLOCK line of
    ``/proc/locks`` (``1: FLOCK ADVISORY WRITE PID MAJ:MIN:INODE 0 EOF``, device numbers in
    hex; a waiter's line has ``->`` and is no holder) for its device and inode — or for its
    inode and the recorded pid, where a layered filesystem reports another device; None
    where ``/proc/locks`` cannot be read (not Linux)."""
    try:
        with open(PROC_LOCKS, encoding="ascii", errors="replace") as fh:
            text = fh.read()
    except OSError:
        return None
    dev = (os.major(st.st_dev), os.minor(st.st_dev))
    for line in text.splitlines():
        f = line.split()
        if len(f) < 6 or f[1] != "FLOCK":
            continue
        try:
            major, minor, inode = f[5].split(":")
            if int(inode) != st.st_ino:
                continue
            if (int(major, 16), int(minor, 16)) == dev or (pid is not None and int(f[4]) == pid):
                return True
        except ValueError:
            continue
    return False


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # someone else's process
    return True

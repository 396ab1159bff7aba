"""Publishing a result folder so that it cannot hurt: the run store, event and narrative
logs, and the report, built beside the output folder and swapped in whole.

What the output folder ``DIR`` guarantees (see the README's Outputs section):

* ``DIR`` is either absent, or a **complete** result — its ``COMPLETE`` marker lists every
  file with its size — or something admarket refuses to touch. A result is built in a fresh
  sibling folder (``.DIR.tmp-PID-…``) and swapped in with one atomic rename (Linux
  ``renameat2(RENAME_EXCHANGE)``; two renames elsewhere), so the previous complete result
  stays valid until the new one is complete; a failed, interrupted or killed run leaves
  the previous result as it was.
* admarket never deletes or overwrites a file it did not write: ``DIR`` is replaced only if
  it is empty or every file in it is listed in its marker; otherwise the run is refused
  before anything runs, saying how to proceed.
* One writer per folder: a lock (``fcntl.flock`` on ``.DIR.lock`` beside it, held from
  before the simulation to the end of publishing) refuses a second writer at once.
* Temporary folders of runs that died (SIGKILL, power loss) are removed by the next run
  that writes ``DIR``; SIGTERM is handled like Ctrl-C (the CLI cleans up and exits).

What goes into a result — the runs' store, logs and report — is :mod:`.results`'s; the
store only stores, the report only reads the store.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import glob
import os
import re
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import duckdb

from admarket.atomic import fsync_path
from admarket.errors import IncompleteRunError, StoreError, UsageError
from admarket.outputs.manifest import (
    COMPLETE_MARKER,
    MARKER_DIGEST,
    STORE_NAME,
    check_complete,
    check_target,
    foreign_entries,
    has_checksums,
    listing,
    manifest_text,
    marker_downgraded,
    marker_edited,
    read_manifest,
    show_entries,
)
from admarket.outputs.output_lock import OutputLock
from admarket.outputs.store import db_tables
from admarket.report import write_report
from admarket.report.document import FORMATS
from admarket.version import __version__

BUILD_TAG = ".admarket-build"  # first file of every build folder: "this one is ours"
# what `admarket report` writes anew (so it may be missing or edited before it does)
REBUILT = ("report.md", "report.html", "report.json", "charts/", "content/")


# --- one writer per folder ------------------------------------------------------------------
_HELD: dict[Path, OutputLock] = {}


@contextlib.contextmanager
def reserve(out: str | os.PathLike) -> Iterator[Path]:
    """Check ``out`` can take a result, lock it for this process and clean up after runs
    that died; yields the resolved path. Re-entrant within one process."""
    dest = check_target(out)
    lock = _HELD.get(dest)
    if lock is None:
        lock = OutputLock(dest)
        lock.acquire()
        _HELD[dest] = lock
        try:
            _clean_stale(dest)
        except BaseException:
            del _HELD[dest]
            lock.release()
            raise
    lock.depth += 1
    try:
        yield dest
    finally:
        lock.depth -= 1
        if lock.depth == 0:
            del _HELD[dest]
            lock.release()


# --- building and swapping ------------------------------------------------------------------
LEFTOVER = re.compile(r"\.(?P<dest>.+)\.(?P<what>tmp|old)-.+")  # .DIR.tmp-PID-…, .DIR.old-…


def _tmp_prefix(dest: Path) -> str:
    return f".{dest.name}.tmp-"


def _old_prefix(dest: Path) -> str:
    return f".{dest.name}.old-"


def _remove_owned(folder: Path) -> None:
    """Delete a folder admarket wrote, its marker and build tag last, so that a kill
    midway leaves something the next run still recognises as its own."""
    last = {folder / COMPLETE_MARKER, folder / BUILD_TAG}
    for root, dirs, files in os.walk(folder, topdown=False):
        base = Path(root)
        for name in files:
            if base / name not in last:
                (base / name).unlink()
        for name in dirs:
            p = base / name
            p.unlink() if p.is_symlink() else p.rmdir()
    for p in (folder / COMPLETE_MARKER, folder / BUILD_TAG):
        p.unlink(missing_ok=True)
    folder.rmdir()


def made_by_admarket(folder: Path) -> bool:
    """A leftover folder admarket made: a build (tagged) or a result holding only its files."""
    if folder.is_symlink() or not folder.is_dir():
        return False
    if (folder / BUILD_TAG).is_file() or not any(folder.iterdir()):
        return True
    return read_manifest(folder) is not None and not foreign_entries(folder)


def _clean_stale(dest: Path) -> None:
    """Remove what runs that died left beside ``dest`` (called with the lock held, so no
    live run is using them); a result moved aside by an interrupted swap is put back."""
    if not dest.parent.is_dir():
        return
    sibs = sorted(p for p in dest.parent.iterdir() if p.name.startswith(f".{dest.name}."))
    for p in sibs:
        if p.name.startswith(_old_prefix(dest)) and not dest.exists() and made_by_admarket(p):
            os.rename(p, dest)  # the swap stopped half-way: restore the previous result
    for p in sibs:
        if (
            p.exists()
            and p.name.startswith((_tmp_prefix(dest), _old_prefix(dest)))
            and made_by_admarket(p)
        ):
            _remove_owned(p)


def _fsync_tree(folder: Path) -> None:
    """Flush every file and directory of ``folder`` to disk (before it is marked complete)."""
    for root, _, files in os.walk(folder):
        for name in files:
            fsync_path(Path(root) / name)
        fsync_path(root)


_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def _exchange(a: Path, b: Path) -> bool:
    """Atomically swap two paths (Linux ``renameat2``); False where unsupported."""
    try:
        fn = ctypes.CDLL(None, use_errno=True).renameat2
    except (AttributeError, OSError):
        return False
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    if fn(_AT_FDCWD, bytes(a), _AT_FDCWD, bytes(b), _RENAME_EXCHANGE) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):
        return False
    raise OSError(err, os.strerror(err), str(b))


def _swap_in(tmp: Path, dest: Path) -> None:
    """Make the complete build ``tmp`` the folder ``dest``; the previous result goes."""
    if not dest.exists() or not any(dest.iterdir()):
        os.rename(tmp, dest)  # replaces an empty folder atomically
        return
    foreign = foreign_entries(dest)
    if foreign:  # appeared while the run was going: refuse now, keep everything
        raise UsageError(
            f"{dest}: files admarket did not write appeared during the run "
            f"({show_entries(foreign)}); nothing was published — move them out and run again"
        )
    if _exchange(tmp, dest):
        old = tmp
    else:  # two renames; an interruption between them is undone by the next run
        old = Path(tempfile.mkdtemp(prefix=_old_prefix(dest) + f"{os.getpid()}-", dir=dest.parent))
        os.rename(dest, old)  # onto the empty directory just made
        os.rename(tmp, dest)
    fsync_path(dest.parent)
    if foreign_entries(old):  # a user's file slipped in after the check: keep it, visibly
        kept = dest.parent / f"{dest.name}.previous-{os.getpid()}"
        os.rename(old, kept)
        print(f"admarket: warning: the previous result, with files admarket did not write, "
              f"is kept in {kept}", file=sys.stderr)  # fmt: skip
    else:
        _remove_owned(old)


def publish(
    out_dir: str | Path,
    build: Callable[[Path], None],
    meta: Mapping[str, Any],
    known: Mapping[str, str] | None = None,
    checksums: bool = True,
) -> Path:
    """Build a result in a fresh sibling folder, mark it COMPLETE, swap it in for ``out_dir``.

    ``build(tmp)`` writes every file of the result into ``tmp``. The marker (``meta`` plus
    the list of files with their sizes and, if ``checksums``, their SHA-256s, ``known`` ones
    carried over) is written last, after everything is flushed to disk; ``meta`` is read
    after ``build`` returns, so a build may fill in what it learns. Any exception or
    interrupt removes the build folder and leaves ``out_dir`` as it was.
    Failures to write (a full disk) are one line: a UsageError naming what failed.
    """
    with reserve(out_dir) as dest:
        dest.parent.mkdir(parents=True, exist_ok=True)
        prefix = _tmp_prefix(dest) + f"{os.getpid()}-"
        tmp: Path | None = None
        try:
            tmp = Path(tempfile.mkdtemp(prefix=prefix, dir=dest.parent))
            tmp.chmod(0o777 & ~_umask())  # mkdtemp's 0700 would make the result private
            (tmp / BUILD_TAG).write_text(f"pid {os.getpid()}\n")
            try:
                build(tmp)
                (tmp / BUILD_TAG).unlink()
                _fsync_tree(tmp)
                meta = {**meta, "package_version": __version__, "store": STORE_NAME}
                with open(tmp / COMPLETE_MARKER, "w", encoding="utf-8") as fh:
                    fh.write(manifest_text(tmp, meta, known, checksums))
                    fh.flush()
                    os.fsync(fh.fileno())
                fsync_path(tmp)
                _swap_in(tmp, dest)
            except (OSError, duckdb.Error) as exc:  # a full disk, a permission, an I/O error
                raise UsageError(
                    f"{dest}: writing the result failed ({_reason(exc)}); nothing was "
                    "published, any previous result there is unchanged"
                ) from None
        finally:
            # interrupted before mkdtemp's folder had a name here (SIGTERM as it returned):
            # it is the one folder of this process's prefix, empty, under our reservation
            made = [tmp] if tmp is not None else sorted(dest.parent.glob(glob.escape(prefix) + "*"))
            for folder in made:
                if folder.exists() and (tmp is not None or made_by_admarket(folder)):
                    (folder / BUILD_TAG).touch()  # so a kill during removal leaves it ours
                    _remove_owned(folder)
    return dest


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _reason(exc: BaseException) -> str:
    """The first line of an I/O error, without the build folder's path."""
    if isinstance(exc, OSError) and exc.strerror:
        name = Path(exc.filename).name if exc.filename else ""
        return f"{exc.strerror}: {name}" if name else exc.strerror
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def republish_report(
    run_dir: str | Path, formats: tuple[str, ...] | list[str] = FORMATS, content: bool = False
) -> Path:
    """Rebuild the report of a complete run/compare result (``admarket report``): the store
    and logs are carried over (hard links where possible), the report written anew in
    ``formats`` (with ``content/`` drafts if asked), and the whole swapped in like any
    result. Report files may be missing or edited; the store and logs must be as the marker
    lists them."""
    if Path(run_dir).is_dir() and read_manifest(Path(run_dir)) is None:
        # not a result: say so (reserving it would refuse it as an output folder instead)
        check_complete(Path(run_dir), rebuilt=REBUILT)
    with reserve(run_dir) as dest:
        manifest = check_complete(dest, rebuilt=REBUILT)
        if marker_edited(manifest):
            # rebuilding would seal what was edited into a new marker: refuse, as for a store
            raise IncompleteRunError(
                f"{run_dir}: its {COMPLETE_MARKER} marker has been edited since the result was "
                "written (its own SHA-256 differs); nothing was changed"
            )
        if why := marker_downgraded(dest, manifest):  # the same edit, its digest removed
            raise IncompleteRunError(
                f"{run_dir}: its {COMPLETE_MARKER} marker {why}; nothing was changed"
            )
        if "summaries" not in db_tables(dest / STORE_NAME):
            raise UsageError(f"{run_dir}: not a run or compare store (a sweep? see sweep.md)")
        files = manifest.get("files") or listing(dest)
        keep = [rel for rel in files if not rel.startswith(REBUILT)]

        def build(tmp: Path) -> None:
            for rel in keep:
                target = tmp / rel
                target.parent.mkdir(parents=True, exist_ok=True)
                try:
                    os.link(dest / rel, target)
                except OSError:
                    shutil.copy2(dest / rel, target)
            try:
                write_report(tmp / STORE_NAME, tmp, formats, content=content)
            except duckdb.Error as exc:  # reading failed: the store, not the disk, is bad
                raise StoreError(
                    f"{dest}: the store cannot be read ({_reason(exc)}); nothing was changed"
                ) from None

        drop = ("files", "format", "sha256", "manifest_version", MARKER_DIGEST)
        meta = {k: v for k, v in manifest.items() if k not in drop}
        # the kept files' checksums as published: a store edited in place stays detectable;
        # a result published without them stays without (hashing its kept files now would
        # vouch for whatever they hold, edits included)
        summed = has_checksums(manifest)
        known = _kept_checksums(Path(run_dir), manifest, keep) if summed else {}
        return publish(dest, build, meta, known, checksums=summed)


_SHA256 = re.compile(r"[0-9a-f]{64}")  # as file_digest writes it


def _kept_checksums(run_dir: Path, manifest: Mapping[str, Any], keep: list[str]) -> dict[str, str]:
    """The SHA-256s a checksummed marker lists for the files ``keep`` that a rebuilt report
    carries over, each checked to be one: copied as they were, a number or a missing entry
    would be sealed into the new marker (or hashed afresh, vouching for an edit), so an
    IncompleteRunError names the marker, the field and the file instead."""
    where = f"{run_dir}: its {COMPLETE_MARKER} marker"
    sums = manifest.get("sha256")
    if not isinstance(sums, dict):
        raise IncompleteRunError(
            f"{where} has no 'sha256' table of file checksums ({type(sums).__name__} "
            "there; edited?); nothing was changed"
        )
    known = {}
    for rel in keep:
        got = sums.get(rel)
        if not isinstance(got, str) or not _SHA256.fullmatch(got):
            said = "none" if got is None else repr(got)[:80]
            raise IncompleteRunError(
                f"{where} lists {said} as 'sha256' of {rel}, where a SHA-256 (64 lowercase "
                "hex digits) belongs (edited?); nothing was changed"
            )
        known[rel] = got
    return known

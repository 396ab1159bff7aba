"""The COMPLETE marker of a result folder: what admarket wrote there, and nothing else.

A result folder is complete exactly when its ``COMPLETE`` file exists and parses; that file
is written last, after every other file is on disk, and lists every file of the result with
its size (the *manifest*) and its SHA-256. The manifest is what lets admarket tell its own
files from a user's: a folder is replaced only when every file in it is listed, and a reader
checks that every listed file is still there with its size (a ``stat`` per file, so reading
a result stays fast). The checksums are for ``admarket status --verify``
(:func:`content_changes`): an edit that keeps a file's size, such as a row changed in place
in the store, shows only there.

Results written before manifests existed (their COMPLETE has no ``files``) are recognised by
their fixed top-level names (and the ``.tmp-*`` build folders that version kept inside).

The store records which manifest version its result was published with
(:func:`record_version`), so a marker set back to an older version — to shed its own
SHA-256, or every checksum — is found edited (:func:`marker_downgraded`); a store written
before that record existed records nothing, and its marker is read as the version it says.

The checks of an output path (:func:`check_target`, :func:`check_not_inside`) live here
too: they are light, so the CLI runs them before it loads the model.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from admarket.errors import IncompleteRunError, UsageError

COMPLETE_MARKER = "COMPLETE"
STORE_NAME = "admarket.duckdb"
RESULT_FORMAT = "admarket-result"
# 2: each file's SHA-256 beside its size; 3: and the marker's own (``marker_sha256``)
MANIFEST_VERSION = 3
MARKER_DIGEST = "marker_sha256"
# Top-level names of a result written before manifests (admarket 0.x without ``files``).
LEGACY_NAMES = frozenset(
    {
        COMPLETE_MARKER,
        STORE_NAME,
        "logs",
        "charts",
        "report.md",
        "report.html",
        "report.json",
        "sweep.csv",
        "sweep.md",
        "break_even.csv",
    }
)


def listing(folder: Path) -> dict[str, int]:
    """Every regular file under ``folder`` (relative POSIX path → size), marker excluded.

    Symbolic links are listed as files (never followed): admarket never creates one.
    """
    out: dict[str, int] = {}
    for root, dirs, files in os.walk(folder, followlinks=False):
        base = Path(root)
        for name in files + [d for d in dirs if (base / d).is_symlink()]:
            rel = (base / name).relative_to(folder).as_posix()
            if rel != COMPLETE_MARKER:
                out[rel] = (base / name).lstat().st_size
    return dict(sorted(out.items()))


_DIGEST_CHUNK = 4 << 20  # bytes a progress bar is told of at a time


def file_digest(path: Path, on_read: Callable[[int], None] | None = None) -> str:
    """The SHA-256 of a file's bytes, as hex; ``on_read(n)`` is told each chunk's size as
    it is read (a progress bar: a result is mostly one large store file)."""
    with open(path, "rb") as fh:
        if on_read is None:
            return hashlib.file_digest(fh, "sha256").hexdigest()
        digest = hashlib.sha256()
        while chunk := fh.read(_DIGEST_CHUNK):
            digest.update(chunk)
            on_read(len(chunk))
        return digest.hexdigest()


def manifest_text(
    folder: Path,
    meta: Mapping[str, Any],
    known: Mapping[str, str] | None = None,
    checksums: bool = True,
) -> str:
    """The COMPLETE marker's JSON for ``folder`` as it is now: ``meta`` plus its files, with
    their sizes and checksums. ``known``: checksums carried over (``admarket report`` keeps
    the store's as it was published, so rebuilding the report never blesses an edit).
    ``checksums=False`` writes a version-1 marker without any: ``admarket report`` on a
    result published before checksums, whose kept files it cannot vouch for."""
    files = listing(folder)
    body: dict[str, Any] = {**meta, "format": RESULT_FORMAT, "files": files}
    if checksums:
        known = known or {}
        body["manifest_version"] = MANIFEST_VERSION
        body["sha256"] = {rel: known.get(rel) or file_digest(folder / rel) for rel in files}
        body[MARKER_DIGEST] = marker_digest(body)
    else:
        body["manifest_version"] = 1
    return json.dumps(body, sort_keys=True, indent=1) + "\n"


def marker_digest(manifest: Mapping[str, Any]) -> str:
    """The SHA-256 of a marker's content but its own digest: what it states about the result
    (kind, scenarios, seeds, runs) is not in any file it lists, so only this catches an
    edit of it."""
    body = {k: v for k, v in manifest.items() if k != MARKER_DIGEST}
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


def marker_edited(manifest: Mapping[str, Any]) -> bool:
    """Whether a marker that carries its own SHA-256 (version 3 on) no longer matches it."""
    version = manifest.get("manifest_version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 3:
        return False
    return manifest.get(MARKER_DIGEST) != marker_digest(manifest)


# The store of a result records the manifest version of the marker it was published with,
# as a comment on its ``runs`` table (a comment leaves every table and query as it was);
# written into the store before the marker exists (:func:`record_version`), it is covered
# by the store's checksum, so a marker set back to an older version, to shed the SHA-256
# of its own content, no longer matches it.
RECORDED_IN = "runs"


def record_version(con: Any) -> None:
    """Record in the store being written (``con``, an open DuckDB connection holding its
    ``runs`` table) that its result's marker is of this version, :data:`MANIFEST_VERSION`."""
    note = json.dumps({"format": RESULT_FORMAT, "manifest_version": MANIFEST_VERSION})
    con.execute(f"COMMENT ON TABLE {RECORDED_IN} IS '{note}'")


def recorded_version(folder: Path) -> int | None:
    """The manifest version the store of the result in ``folder`` records (see
    :func:`record_version`), or None: a store written before it was recorded, or one that
    cannot be read (its checksum tells that)."""
    import duckdb  # (not at import: the CLI reads this module before it loads anything heavy)

    try:
        con = duckdb.connect(str(folder / STORE_NAME), read_only=True)
        try:
            row = con.execute(
                "SELECT comment FROM duckdb_tables() WHERE schema_name = 'main' AND table_name = ?",
                [RECORDED_IN],
            ).fetchone()
        finally:
            con.close()
        note = json.loads(row[0]) if row and row[0] else None
    except (duckdb.Error, OSError, ValueError):
        return None
    version = note.get("manifest_version") if isinstance(note, dict) else None
    return version if isinstance(version, int) and not isinstance(version, bool) else None


def marker_downgraded(folder: Path, manifest: Mapping[str, Any]) -> str:
    """Why the marker of the result in ``folder`` claims an older manifest version than the
    one its store records (set back by an edit, so that its own SHA-256, or every checksum,
    is no longer expected); "" if it does not, or the store records none."""
    recorded = recorded_version(folder)
    claimed = manifest.get("manifest_version")
    if not isinstance(claimed, int) or isinstance(claimed, bool):
        claimed = 0  # none at all: a marker shaped as one written before manifests
    if recorded is None or claimed >= recorded:
        return ""
    return (
        f"claims manifest version {claimed}, but the result's store records that it was "
        f"published with version {recorded}: the marker has been edited (set back, so that "
        "the checks of its version are not expected), so the kind, scenarios, seeds or runs "
        "it states may not be the store's"
    )


def has_checksums(manifest: Mapping[str, Any]) -> bool:
    """Whether this marker's version writes a checksum for every file (2 on): a version-2
    marker without them has been edited; an older one never had them."""
    version = manifest.get("manifest_version")
    return isinstance(version, int) and not isinstance(version, bool) and version >= 2


def listed_checksum(manifest: Mapping[str, Any], rel: str) -> str | None:
    """The SHA-256 a marker lists for its file ``rel``; None when it lists none (no
    ``sha256`` table, no entry for the file, or one that is not text). Whether the marker's
    version lists checksums at all is :func:`has_checksums`'s to say."""
    sums = manifest.get("sha256")
    got = sums.get(rel) if isinstance(sums, dict) else None
    return got if isinstance(got, str) else None


def content_changes(
    folder: Path, manifest: Mapping[str, Any], on_read: Callable[[int], None] | None = None
) -> dict[str, str] | None:
    """The listed files of a result whose content is not what was published, each with why
    (its SHA-256 differs, it has no checksum, it is a symbolic link); {} when every file
    matches; None when the marker predates checksums (nothing to check against). Reads
    every file; ``on_read(n)`` is told the size of each chunk read. A marker claiming an
    older version than its store records (:func:`marker_downgraded`) is a change of the
    marker, checksums or not."""
    downgraded = marker_downgraded(folder, manifest)
    if not has_checksums(manifest):
        return {COMPLETE_MARKER: downgraded} if downgraded else None
    out: dict[str, str] = {}
    for rel in manifest.get("files", {}):
        want = listed_checksum(manifest, rel)
        if (folder / rel).is_symlink():  # admarket never writes one: someone replaced it
            out[rel] = "is a symbolic link, which admarket never writes"
        elif want is None:
            out[rel] = f"has no checksum in the {COMPLETE_MARKER} marker (edited?)"
        elif file_digest(folder / rel, on_read) != want:
            out[rel] = "has changed since the result was written (same size, another SHA-256)"
    if downgraded:
        out[COMPLETE_MARKER] = downgraded
    elif marker_edited(manifest):
        out[COMPLETE_MARKER] = (
            "has been edited since the result was written (its own SHA-256 differs: the "
            "kind, scenarios, seeds or runs it states may not be the store's)"
        )
    return out


def read_manifest(folder: Path) -> dict[str, Any] | None:
    """The parsed COMPLETE marker of ``folder``; None if absent or not admarket's."""
    try:
        data = json.loads((folder / COMPLETE_MARKER).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None
    if not isinstance(data, dict):
        return None
    if data.get("format") == RESULT_FORMAT and isinstance(data.get("files"), dict):
        return data
    if "files" not in data and "kind" in data and data.get("store") == STORE_NAME:
        return data  # written before manifests
    return None


def foreign_entries(folder: Path) -> list[str]:
    """Paths under ``folder`` that admarket did not write (empty for a pure result).

    Without a valid COMPLETE marker every entry counts as foreign: admarket never leaves a
    partial result in a folder it publishes to, so anything there is someone else's.
    """
    if not folder.is_dir():
        return []
    top = sorted(p.name for p in folder.iterdir())
    if not top:
        return []
    manifest = read_manifest(folder)
    if manifest is None:
        return top
    if "files" not in manifest:  # legacy result: judged by its top-level names
        return [
            n
            for n in top
            if (n not in LEGACY_NAMES and not n.startswith(".tmp-")) or (folder / n).is_symlink()
        ]
    files = set(manifest["files"])
    owned_dirs = {p.as_posix() for f in files for p in Path(f).parents} - {"."}
    foreign = [f for f in listing(folder) if f not in files]
    for root, dirs, _ in os.walk(folder):
        for d in dirs:
            rel = (Path(root) / d).relative_to(folder).as_posix()
            if rel not in owned_dirs and not any(f.startswith(rel + "/") for f in foreign):
                foreign.append(rel + "/")
    return sorted(foreign)


def check_complete(folder: Path, rebuilt: tuple[str, ...] = ()) -> dict[str, Any]:
    """The manifest of a complete result folder, or IncompleteRunError saying what is wrong.

    Listed files whose path starts with one of ``rebuilt`` may be missing or changed (the
    report, when ``admarket report`` is about to write it anew).
    """
    if not folder.is_dir():
        raise IncompleteRunError(f"{folder}: no such output directory")
    if not (folder / COMPLETE_MARKER).is_file():
        raise IncompleteRunError(
            f"{folder}: no {COMPLETE_MARKER} marker — the run failed, was interrupted or is "
            "still running, or the folder is not an admarket result; its files are not a "
            "result (run it again)"
        )
    manifest = read_manifest(folder)
    if manifest is None:
        raise IncompleteRunError(
            f"{folder}: its {COMPLETE_MARKER} marker is not admarket's (unreadable or edited); "
            "the folder is not a result"
        )
    for rel, size in manifest.get("files", {STORE_NAME: None}).items():
        if rebuilt and rel.startswith(rebuilt):
            continue
        p = folder / rel
        if not p.is_file():
            raise IncompleteRunError(f"{folder}: marked complete but {rel} is missing")
        if size is not None and p.stat().st_size != size:
            raise IncompleteRunError(
                f"{folder}: {rel} has changed since the result was written "
                f"({p.stat().st_size} bytes, the marker says {size}); run it again"
            )
    return manifest


# --- may admarket put a result there? -------------------------------------------------------------
def resolve_out(out: str | os.PathLike) -> Path:
    """The absolute, symlink-free path of an output folder; refuses an empty name or ``/``."""
    if not str(out).strip():
        raise UsageError(
            "the output folder name is empty (an unset shell variable?); give --out DIR"
        )
    path = Path(os.path.realpath(os.path.expanduser(str(out))))
    if path.parent == path:
        raise UsageError(f"{out}: the filesystem root cannot be an output folder")
    return path


def show_entries(entries: list[str], n: int = 3) -> str:
    """The first ``n`` entries, comma-separated, and how many more."""
    more = f" and {len(entries) - n} more" if len(entries) > n else ""
    return ", ".join(entries[:n]) + more


def check_target(out: str | os.PathLike) -> Path:
    """Refuse an output folder admarket may not (re)place; returns its resolved path.

    Allowed: a folder that does not exist yet, an empty folder, or a complete admarket
    result holding only the files it lists. Refused (UsageError): a file, a non-empty
    folder that is not an admarket result, a result a user added files to, and a folder
    inside another result (publishing it would add files the outer result does not list).
    """
    dest = resolve_out(out)
    if dest.exists() and not dest.is_dir():
        raise UsageError(f"{out}: exists and is not a directory")
    for parent in dest.parents:
        if read_manifest(parent) is not None:
            raise UsageError(
                f"{out}: inside the admarket result {parent}; choose a folder outside it"
            )
    foreign = foreign_entries(dest)
    if foreign and read_manifest(dest) is None:
        hint = (
            " (an unfinished result of an older admarket? then remove it yourself)"
            if (dest / STORE_NAME).exists()
            else ""
        )
        raise UsageError(
            f"{out}: not empty and not an admarket result (holds {show_entries(foreign)}); "
            f"admarket replaces its output folder as a whole, so give a new or empty folder" + hint
        )
    if foreign:
        raise UsageError(
            f"{out}: an admarket result that also holds files admarket did not write "
            f"({show_entries(foreign)}); move them out, or give another folder"
        )
    return dest


def check_not_inside(path: str | os.PathLike, out: str | os.PathLike, option: str) -> None:
    """Refuse an output (``--ledger-out``, ``--checkpoint-dir``) inside the output folder,
    which is replaced as a whole when the result is published."""
    p, dest = Path(os.path.realpath(path)), resolve_out(out)
    if p == dest or dest in p.parents:
        raise UsageError(
            f"{option} {path}: inside the output folder {out}, which is replaced as a whole "
            "when the result is published; put it outside"
        )

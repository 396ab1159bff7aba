"""One finished run of a compare kept on disk (a folder of the compare's journal,
:mod:`.compare_journal`), and read back into the result being built.

A run's folder holds what the result's writer takes of it: its tables, pickled and gzipped
(exact: every dtype as the writer received it), with each :class:`SpooledTable` naming the
DuckDB file its worker spooled the large tables to — linked into the folder, not copied —
and its event and narrative logs, if it has them, linked too. It is written under a name of
its own (``.NAME.PID.part``), every file and the folder flushed to disk, then renamed.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import pickle
import shutil
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, BinaryIO, cast

from admarket.atomic import fsync_path
from admarket.outputs.manifest import file_digest
from admarket.outputs.spool import LOGS_DIR, LOGS_WRITTEN, SPOOL_DIR
from admarket.outputs.store_writer import SpooledTable

TABLES_FILE = "tables.pickle.gz"
LOG_SUFFIXES = (".events.jsonl", ".narrative.md")  # a run's logs (narrative.write_logs)


@dataclass(frozen=True)
class KeptTables:
    """A kept run's tables file, its SHA-256, and the run's logs (name -> SHA-256)."""

    path: Path
    sha256: str
    logs: dict[str, str]


def write_run(folder: Path, name: str, tables: dict[str, Any], build: Path) -> tuple[str, dict]:
    """Keep a finished run's ``tables`` (as the writer will take them, with the files they
    name in the build folder ``build``) in ``folder / name``; returns the SHA-256 of its
    tables and its other files' sizes and SHA-256s (None for a spooled file: gigabytes at
    scale, and DuckDB checksums its blocks). On disk when this returns."""
    part = folder / f".{name}.{os.getpid()}.part"
    if part.exists():
        shutil.rmtree(part)
    part.mkdir()
    kept: dict[str, Any] = {}
    files: dict[str, list] = {}  # name -> [size, SHA-256 or None]
    for table, t in tables.items():
        if isinstance(t, SpooledTable):  # a worker's file: linked, not copied
            src = Path(t.path)
            if src.name not in files:
                link(src, part / src.name)
                files[src.name] = [(part / src.name).stat().st_size, None]
            t = replace(t, path=src.name)
        kept[table] = t
    logs = []
    if tables.get(LOGS_WRITTEN):
        run_id = str(tables["runs"]["run_id"].iloc[0])
        for suffix in LOG_SUFFIXES:
            log = f"{run_id}{suffix}"
            if (build / LOGS_DIR / log).is_file():
                logs.append(log)
                link(build / LOGS_DIR / log, part / log)
                files[log] = [(part / log).stat().st_size, file_digest(part / log)]
    digest = dump_run(part / TABLES_FILE, kept, logs)
    for p in part.iterdir():
        fsync_path(p)
    fsync_path(part)
    final = folder / name
    if final.exists():  # kept before, but never listed (a kill before its line)
        shutil.rmtree(final)
    os.rename(part, final)
    fsync_path(folder)
    return digest, files


def load_run(path: Path) -> dict[str, Any]:
    """What :func:`write_run` (or :func:`dump_run`) kept of a run in its tables file
    ``path``: ``tables`` (each :class:`SpooledTable` naming its file by name alone) and
    ``logs`` (the names of the run's log files)."""
    with gzip.open(path, "rb") as f:
        return pickle.load(f)


def dump_run(path: Path, tables: dict[str, Any], logs: list[str]) -> str:
    """Write a run's kept ``tables`` and ``logs`` (names) to ``path`` as :func:`write_run`
    does; returns the file's SHA-256."""
    with open(path, "wb") as f:
        sink = _Hashing(f)
        # compressed: a plan-scale run's tables are 3-8 MB pickled, 0.4-0.9 MB so, for
        # ~20 ms (zlib's fastest level); mtime 0, so the same tables give the same bytes
        gz_file = cast(BinaryIO, sink)  # (it writes, which is all gzip asks of it)
        with gzip.GzipFile(fileobj=gz_file, mode="wb", compresslevel=1, mtime=0) as gz:
            pickle.dump({"tables": tables, "logs": logs}, gz, protocol=pickle.HIGHEST_PROTOCOL)
    return sink.h.hexdigest()


def check_run(run: Path, digest: str, files: dict[str, list]) -> None:
    """ValueError (or OSError) unless the run kept in ``run`` is as it was kept: its tables'
    SHA-256 ``digest`` and its other ``files`` (see :func:`write_run`)."""
    if file_digest(run / TABLES_FILE) != digest:
        raise ValueError("its tables have changed since they were kept")
    for name, (size, sha) in files.items():
        if (run / name).stat().st_size != size or (
            sha is not None and file_digest(run / name) != sha
        ):
            raise ValueError(f"{name} has changed since it was kept")


def read_run(run: Path, build: Path, tag: str) -> dict[str, Any]:
    """The tables of the run kept in ``run`` as the writer takes them, its files linked into
    the result being built (``build``) as its worker had left them there (``tag``: what
    makes the spooled files' names its own there)."""
    kept = load_run(run / TABLES_FILE)
    tables = kept["tables"]
    for name, t in tables.items():
        if isinstance(t, SpooledTable):
            there = build / SPOOL_DIR / f"reused-{tag}-{t.path}"
            if not there.exists():  # (one file may hold several of its tables)
                link(run / t.path, there)
            tables[name] = replace(t, path=str(there))
    for name in kept["logs"]:
        link(run / name, build / LOGS_DIR / name)
    return tables


def link(src: Path, dst: Path) -> None:
    """``dst`` names the file ``src`` names (a copy where the file system has no links)."""
    try:
        os.link(src, dst)
    except FileExistsError:
        raise
    except OSError:
        shutil.copyfile(src, dst)


class _Hashing:
    """A binary file that hashes what is written to it (pickle writes through it)."""

    def __init__(self, f: BinaryIO) -> None:
        self.f, self.h = f, hashlib.sha256()

    def write(self, data: Any) -> int:
        self.h.update(data)
        return self.f.write(data)

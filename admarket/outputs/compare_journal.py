"""A compare's journal: every finished run kept beside the result folder as it arrives, so
that a stopped compare can be resumed without running its finished runs again.

``compare --out DIR`` keeps each finished run in ``.DIR.compare-journal/`` beside the
folder, as the result's writer takes it: a folder per run holding its tables (pickled and
gzipped, the large ones in the DuckDB file its worker spooled them to — linked, not copied:
that file's disk is then freed only when the result is published, not as the store takes it)
and its
event and narrative logs when it has them; then a line in ``journal.jsonl`` names the
folder and the SHA-256 of its tables, once every file is flushed to disk. The journal is
deleted once the result is published. However the compare stops (Ctrl-C, SIGTERM, a lost
worker, a failed publish, SIGKILL, a power cut), the journal holds every run that finished;
``compare --resume`` feeds those runs to the writer as if they had just finished, and runs
only the others. The published result equals an uninterrupted compare's, except the
``runs`` table's ``created_at``, which says when each run was actually made.

A run is reused only if everything that decides what the result keeps of it matches:
scenario, seed, configuration, the code that ran it (:mod:`.run_identity`), and its logs —
whether it gets an event log and a narrative, and at which verbosity. A journal written by
other code, or damaged, is refused (nothing touched), and so is one that holds runs when
``--resume`` is not given: no finished run is thrown away unasked.

The tables are pickled (exact: every dtype as the writer received it), so a journal is
trusted input, like a checkpoint (:mod:`admarket.model.checkpoint`): the SHA-256 catches a
damaged file, not a crafted one.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import pickle
import shutil
import sys
from collections.abc import Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, TextIO, cast

from admarket.errors import IncompleteRunError, UsageError
from admarket.outputs.manifest import check_complete, read_manifest
from admarket.outputs.run_identity import code_difference, header_line, parse_journal, run_key
from admarket.outputs.spool import LOGS_DIR, LOGS_WRITTEN, SPOOL_DIR
from admarket.outputs.store_writer import SpooledTable

if TYPE_CHECKING:
    from admarket.batch.pool import Task

FORMAT, VERSION = "admarket-compare-journal", 1
SUFFIX = ".compare-journal"  # the journal folder: .DIR.compare-journal beside DIR
INDEX = "journal.jsonl"
TABLES_FILE = "tables.pickle.gz"
LOG_SUFFIXES = (".events.jsonl", ".narrative.md")  # a run's logs (narrative.write_logs)
META_KEYS = "run_keys"  # the published result's marker lists its runs' keys (leftovers)


def journal_folder(dest: Path) -> Path:
    """Where the journal of a compare publishing into ``dest`` lives: beside it, hidden."""
    return dest.parent / f".{dest.name}{SUFFIX}"


def compare_run_key(task: Task, logs: str | None) -> str:
    """What identifies a compare's run: the run (:func:`~.run_identity.run_key`) and its
    logs' verbosity (None: it gets no logs)."""
    return hashlib.sha256(f"{run_key(task)}\0{logs}".encode()).hexdigest()


def short_keys(keys: Sequence[str]) -> list[str]:
    """The runs' keys as a published compare's marker lists them (64 bits each: enough to
    tell a study's runs apart, short enough for a thousand of them)."""
    return [k[:16] for k in keys]


def read_index(path: Path) -> tuple[dict, list[dict]]:
    """A journal's header and its whole lines (a line cut short by a kill, after the last
    newline, left out). ValueError if the file is not a compare journal of this format,
    or a line is not a journalled run (naming the line)."""
    return parse_journal(path.read_bytes(), FORMAT, VERSION, "compare journal", _check_entry)


def _check_entry(entry: dict) -> None:
    for field in ("run", "dir", "sha256", "scenario"):
        if not isinstance(entry[field], str):
            raise TypeError(f"its {field} is not text")
    if not all(isinstance(v, int) and "/" not in k for k, v in entry["files"].items()):
        raise ValueError("its files are not names and sizes")
    if "/" in entry["dir"] or entry["dir"].startswith("."):
        raise ValueError(f"its folder {entry['dir']!r} is not a run's")
    int(entry["seed"])


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | (os.O_DIRECTORY if path.is_dir() else 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _link(src: Path, dst: Path) -> None:
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


def _file_digest(path: Path) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


class CompareJournal:
    """The finished runs of one compare, on disk (see the module docstring); open it with
    the output folder locked (``outputs.publish.reserve``).

    ``tasks`` are the compare's runs and ``logs`` each one's log verbosity (None: no logs).
    ``resume`` True reuses the runs an existing journal holds for these tasks; False starts
    a new journal. An existing journal that holds runs is refused (UsageError, nothing
    touched) when it is not to be resumed or cannot be (written by other code, damaged, a
    run's files missing or changed); so is a folder there that admarket did not write. A
    journal whose every run the complete compare in ``dest`` holds is the leftover of a
    compare killed just after publishing, and is removed: nothing is lost.
    """

    def __init__(
        self,
        dest: Path,
        resume: bool,
        tasks: Sequence[Task],
        logs: Sequence[str | None],
    ) -> None:
        self.dest, self.folder, self.resume = dest, journal_folder(dest), resume
        self.index = self.folder / INDEX
        self.keys = [compare_run_key(t, v) for t, v in zip(tasks, logs, strict=True)]
        self.tasks = list(tasks)
        self._held: dict[str, dict] = {}  # run key -> its journal line
        self.written = 0
        if self.folder.exists() and _superseded(self.folder, dest):
            shutil.rmtree(self.folder)
        if self.folder.exists():
            self._open_existing()
        # the runs this compare takes from the journal, by task index
        self.reused = {i: self._held[k] for i, k in enumerate(self.keys) if k in self._held}
        # made with the first run kept: a compare stopped before that leaves nothing here
        self._index_file: TextIO | None = None
        self._opened_at = self.index.stat().st_size if self.index.exists() else 0

    @property
    def held(self) -> int:
        """Runs the journal held when opened (of this compare or not)."""
        return len(self._held)

    def _refuse(self, why: str) -> UsageError:
        return UsageError(
            f"{self.folder}: {why}; admarket leaves it as it is — move it away or delete it "
            "to run the compare afresh"
        )

    def _open_existing(self) -> None:
        """Read the journal to resume (or refuse it: see the class docstring), and tidy what
        a kill mid-write left: a run's folder half made, or made but not yet listed."""
        if not self.index.is_file():
            # a kill while the journal was being made leaves only files admarket names so
            if all(p.name.startswith((f".{INDEX}.", ".run-")) for p in self.folder.iterdir()):
                shutil.rmtree(self.folder)
                return
            raise self._refuse("not an admarket compare journal (it has no journal.jsonl)")
        try:
            header, entries = read_index(self.index)
        except (OSError, ValueError) as exc:
            raise self._refuse(str(exc)) from None
        n = len(entries)
        if entries and (differs := code_difference(header["code"])):
            raise UsageError(
                f"{self.folder} keeps {n} finished run(s) of a stopped compare made by other "
                f"code ({differs}), which cannot be reused: delete it to start afresh, or "
                "resume with the code that made them"
            )
        if entries and not self.resume:
            raise UsageError(
                f"a stopped compare left {n} finished run(s) in {self.folder}; add --resume "
                "to reuse them (only runs this compare would make identically are used), or "
                "delete that folder to start afresh"
            )
        held = {e["run"]: e for e in entries}
        for k in set(self.keys) & set(held):  # the runs to reuse: whole and unchanged
            run = self.folder / held[k]["dir"]
            try:
                if _file_digest(run / TABLES_FILE) != held[k]["sha256"]:
                    raise ValueError("its tables have changed since they were kept")
                # its spooled tables and logs: checked by size (hashing gigabytes would
                # cost more than a resume saves; a file cut short is what a crash leaves)
                for name, size in held[k]["files"].items():
                    if (run / name).stat().st_size != size:
                        raise ValueError(f"{name} has changed size since it was kept")
            except (OSError, ValueError) as exc:
                raise self._refuse(f"run folder {run.name} is damaged ({exc})") from None
        listed = {e["dir"] for e in entries}
        for p in self.folder.iterdir():  # (the lock is ours: no one else writes here)
            if p.name != INDEX and p.name not in listed and p.name.startswith((".run-", "run-")):
                shutil.rmtree(p) if p.is_dir() else p.unlink()
        if not entries:  # nothing to keep: start again (a header of other code goes too)
            shutil.rmtree(self.folder)
            return
        self._held = held
        with open(self.index, "r+b") as f:  # drop a line cut short by a kill mid-write
            data = f.read()
            f.truncate(data.rfind(b"\n") + 1)

    def _appending(self) -> TextIO:
        """The index, open to append to (made, with its folder, if need be)."""
        if self._index_file is None:
            if not self.index.exists():
                self._start()
                self._opened_at = self.index.stat().st_size  # this compare's runs follow
            self._index_file = open(self.index, "a", encoding="utf-8")  # noqa: SIM115
        return self._index_file

    def _start(self) -> None:
        """A new journal: its folder and header (written aside, renamed, flushed)."""
        self.folder.mkdir(exist_ok=True)
        part = self.folder / f".{INDEX}.{os.getpid()}.part"
        part.write_text(header_line(FORMAT, VERSION), encoding="utf-8")
        _fsync(part)
        os.replace(part, self.index)
        _fsync(self.folder)
        _fsync(self.folder.parent)

    def replay(self, build: Path) -> Iterator[tuple[int, dict[str, Any]]]:
        """The journal's runs of this compare, one at a time, as the writer takes them (task
        index, tables): their kept files linked into the result being built (``build``), as
        their workers had left them there."""
        for i, entry in self.reused.items():
            run = self.folder / entry["dir"]
            with gzip.open(run / TABLES_FILE, "rb") as f:
                kept = pickle.load(f)
            tables = kept["tables"]
            tag = self.keys[i][:16]
            for name, t in tables.items():
                if isinstance(t, SpooledTable):
                    there = build / SPOOL_DIR / f"reused-{tag}-{t.path}"
                    if not there.exists():  # (one file may hold several of its tables)
                        _link(run / t.path, there)
                    tables[name] = replace(t, path=str(there))
            for name in kept["logs"]:
                _link(run / name, build / LOGS_DIR / name)
            yield i, tables

    def add(self, i: int, tables: dict[str, Any], build: Path) -> None:
        """Keep task ``i``'s finished run (its tables as the writer will take them, with the
        files they name in ``build``); it is on disk when this returns."""
        index = self._appending()
        key = self.keys[i]
        name = f"run-{key[:32]}"
        part = self.folder / f".{name}.{os.getpid()}.part"
        if part.exists():
            shutil.rmtree(part)
        part.mkdir()
        kept: dict[str, Any] = {}
        for table, t in tables.items():
            if isinstance(t, SpooledTable):  # a worker's file: linked, not copied
                src = Path(t.path)
                if not (part / src.name).exists():
                    _link(src, part / src.name)
                t = replace(t, path=src.name)
            kept[table] = t
        logs = []
        if tables.get(LOGS_WRITTEN):
            run_id = str(tables["runs"]["run_id"].iloc[0])
            for suffix in LOG_SUFFIXES:
                if (build / LOGS_DIR / f"{run_id}{suffix}").is_file():
                    logs.append(f"{run_id}{suffix}")
                    _link(build / LOGS_DIR / logs[-1], part / logs[-1])
        with open(part / TABLES_FILE, "wb") as f:
            sink = _Hashing(f)
            # compressed: a plan-scale run's tables are 3-8 MB pickled, 0.4-0.9 MB so, for
            # ~20 ms (zlib's fastest level); mtime 0, so the same tables give the same bytes
            gz_file = cast(BinaryIO, sink)  # (it writes, which is all gzip asks of it)
            with gzip.GzipFile(fileobj=gz_file, mode="wb", compresslevel=1, mtime=0) as gz:
                kept_run = {"tables": kept, "logs": logs}
                pickle.dump(kept_run, gz, protocol=pickle.HIGHEST_PROTOCOL)
        for p in part.iterdir():
            _fsync(p)
        _fsync(part)
        final = self.folder / name
        if final.exists():  # kept before under another line? (not listed: tidied at open)
            shutil.rmtree(final)
        os.rename(part, final)
        _fsync(self.folder)
        t = self.tasks[i]
        runs = tables["runs"]
        line = {
            "run": key,
            "dir": name,
            "sha256": sink.h.hexdigest(),
            "files": {
                p.name: p.stat().st_size for p in sorted(final.iterdir()) if p.name != TABLES_FILE
            },
            "scenario": str(t.kwargs["design"]),
            "seed": int(runs["seed"].iloc[0]),
            "config": json.loads(str(runs["config"].iloc[0])),
        }
        index.write(json.dumps(line, sort_keys=True) + "\n")
        index.flush()
        os.fsync(index.fileno())
        self.written += 1

    def close(self) -> None:
        """Close the index (idempotent); the journal stays on disk."""
        if self._index_file is not None:
            self._index_file.close()

    def remove(self) -> None:
        """Close and delete the journal (its compare is published)."""
        self.close()
        shutil.rmtree(self.folder, ignore_errors=True)

    def stopped(self, total: int) -> None:
        """The compare stopped before publishing: say on stderr how many of its ``total``
        runs are kept and how to resume; a journal that keeps no run at all is removed.
        Never raises: it runs while another error is on its way out."""
        try:
            self.close()
            if self.index.exists():
                with open(self.index, "rb") as f:
                    f.seek(self._opened_at)
                    self.written = f.read().count(b"\n")  # whole lines only
            kept = len(self.reused) + self.written
            if kept and _superseded(self.folder, self.dest):  # published after all
                shutil.rmtree(self.folder)
                return
            if kept:
                print(
                    f"compare: {kept} of {total} runs are kept in {self.folder}; run the same "
                    "command with --resume to run only the rest",
                    file=sys.stderr,
                    flush=True,
                )
            elif not self.held:  # (a run being kept when it stopped: its part too)
                shutil.rmtree(self.folder, ignore_errors=True)
        except OSError:
            pass

    def resume_note(self, total: int) -> str:
        """The line a resumed compare prints: what it reuses of ``total`` runs, and why not
        more."""
        whys = []
        if not self.held:
            whys.append("no journal of an earlier compare to resume")
        elif unused := self.held - len(self.reused):
            whys.append(
                f"the journal's other {unused} runs are not in this compare, or their logs differ"
            )
        why = f" ({'; '.join(whys)})" if whys else ""
        return f"compare: resuming with {len(self.reused)} of {total} runs from {self.folder}{why}"


def _superseded(folder: Path, dest: Path) -> bool:
    """Whether the complete compare in ``dest`` (made by this code) holds every run the
    journal ``folder`` keeps, so deleting the journal loses nothing: the leftover of a
    compare killed between publishing and deleting it. (By what the runs are, not by
    timestamps, which clocks and copies move.)"""
    try:
        header, entries = read_index(folder / INDEX)
        meta = read_manifest(dest)
        if not entries or meta is None or meta.get("kind") != "compare":
            return False
        check_complete(dest)
    except (OSError, ValueError, IncompleteRunError):
        return False
    if code_difference(header["code"]) or meta.get("code") != header["code"]:
        return False
    published = set(meta.get(META_KEYS) or ())
    return all(k in published for k in short_keys([e["run"] for e in entries]))

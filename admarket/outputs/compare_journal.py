"""A compare's journal: every finished run kept beside the result folder as it arrives, so
that a stopped compare can be resumed without running its finished runs again.

``compare --out DIR`` keeps each finished run in ``.DIR.compare-journal/`` beside the
folder, as the result's writer takes it: a folder per run (:mod:`.kept_run`: its tables,
the DuckDB file its worker spooled the large ones to, its logs). Once the folder is on
disk, a line in ``journal.jsonl`` names it, with the SHA-256 of its tables and logs and the
size of its spooled file. However the compare stops (Ctrl-C, SIGTERM, a lost worker, a
failed publish, SIGKILL, a power cut), the journal holds every run that finished;
``compare --resume`` feeds each to the writer as soon as every run before it is in, as if
it had just finished, and runs only the others. The published result equals an
uninterrupted compare's, except the ``runs`` table's ``created_at``, which says when each
run was actually made. Once it is published, the runs it used are deleted.

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

import hashlib
import json
import os
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from admarket.atomic import atomic_file, fsync_path
from admarket.errors import IncompleteRunError, UsageError
from admarket.money import plural
from admarket.outputs.kept_run import (
    LOG_SUFFIXES,
    TABLES_FILE,
    KeptTables,
    check_run,
    read_run,
    write_run,
)
from admarket.outputs.manifest import check_complete, file_digest, read_manifest
from admarket.outputs.run_identity import code_difference, header_line, parse_journal, run_key

if TYPE_CHECKING:
    from admarket.batch.tasks import Task

FORMAT, VERSION = "admarket-compare-journal", 1
SUFFIX = ".compare-journal"  # the journal folder: .DIR.compare-journal beside DIR
INDEX = "journal.jsonl"
META_KEYS = "run_keys"  # the published result's marker lists its runs' keys
META_DIGEST = "journal_sha256"  # and the SHA-256 of the journal's index it was published from


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
    files = entry["files"]
    if not isinstance(files, dict) or not all(
        "/" not in k and isinstance(v, list) and len(v) == 2 and isinstance(v[0], int)
        for k, v in files.items()
    ):
        raise ValueError("its files are not names with their sizes and digests")
    if "/" in entry["dir"] or entry["dir"].startswith("."):
        raise ValueError(f"its folder {entry['dir']!r} is not a run's")
    int(entry["seed"])


class CompareJournal:
    """The finished runs of one compare, on disk (see the module docstring); open it with
    the output folder locked (``outputs.publish.reserve``).

    ``tasks`` are the compare's runs and ``logs`` each one's log verbosity (None: no logs).
    ``resume`` True reuses the runs an existing journal holds for these tasks; False starts
    a new journal. An existing journal that holds runs is refused (UsageError, nothing
    touched) when it is not to be resumed or cannot be (written by other code, damaged, a
    run's files missing or changed); so is a folder there that admarket did not write.

    Once the compare is published (:meth:`published`), the runs it used are deleted; runs of
    an earlier compare that it did not use stay (they were not asked to go). A kill between
    publishing and that leaves the journal as it was when the result was published — the
    result's marker records the SHA-256 of the journal's index (:meth:`digest`) — so the
    next compare into the folder finishes the job.
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
        for gone in self.folder.parent.glob(f"{self.folder.name}.gone-*"):
            shutil.rmtree(gone)  # a kill while deleting a journal (the lock is ours)
        self._finish_published()
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
                _delete(self.folder)
                return
            raise self._refuse("not an admarket compare journal (it has no journal.jsonl)")
        try:
            header, entries = read_index(self.index)
        except (OSError, ValueError) as exc:
            raise self._refuse(str(exc)) from None
        n = len(entries)
        if entries and (differs := code_difference(header["code"])):
            raise UsageError(
                f"{self.folder} keeps {plural(n, 'finished run')} of a stopped compare made by "
                f"other code ({differs}), which cannot be reused: delete it to start afresh, or "
                "resume with the code that made them"
            )
        if entries and not self.resume:
            raise UsageError(
                f"a stopped compare left {plural(n, 'finished run')} in {self.folder}; add "
                "--resume to reuse them (only runs this compare would make identically are "
                "used), or delete that folder to start afresh"
            )
        held = {e["run"]: e for e in entries}
        for k in set(self.keys) & set(held):  # the runs to reuse: whole and unchanged
            run = self.folder / held[k]["dir"]
            try:
                check_run(run, held[k]["sha256"], held[k]["files"])
            except (OSError, ValueError) as exc:
                raise self._refuse(f"run folder {run.name} is damaged ({exc})") from None
        self._tidy({e["dir"] for e in entries})
        if not entries:  # nothing to keep: start again (a header of other code goes too)
            _delete(self.folder)
            return
        self._held = held
        with open(self.index, "r+b") as f:  # drop a line cut short by a kill mid-write
            data = f.read()
            f.truncate(data.rfind(b"\n") + 1)

    def _tidy(self, listed: set[str]) -> None:
        """Remove the run folders (whole or half made) that the index does not list, and an
        index left half rewritten."""
        ours = (".run-", "run-", f".{INDEX}.")
        for p in self.folder.iterdir():  # (the lock is ours: no one else writes here)
            if p.name != INDEX and p.name not in listed and p.name.startswith(ours):
                shutil.rmtree(p) if p.is_dir() else p.unlink()

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
        with atomic_file(self.index, "w", encoding="utf-8") as f:
            f.write(header_line(FORMAT, VERSION))
        fsync_path(self.folder)
        fsync_path(self.folder.parent)

    def replayed(self, i: int, build: Path) -> dict[str, Any]:
        """The journal's run for task ``i`` as the writer takes it (its tables): its kept
        files linked into the result being built (``build``), as its worker had left them
        there."""
        return read_run(self.folder / self.reused[i]["dir"], build, self.keys[i][:16])

    def add(self, i: int, tables: dict[str, Any], build: Path) -> KeptTables:
        """Keep task ``i``'s finished run (its tables as the writer will take them, with the
        files they name in ``build``); it is on disk when this returns."""
        index = self._appending()
        key = self.keys[i]
        name = f"run-{key[:32]}"
        digest, files = write_run(self.folder, name, tables, build)
        runs = tables["runs"]
        line = {
            "run": key,
            "dir": name,
            "sha256": digest,
            "files": files,
            "scenario": str(self.tasks[i].kwargs["design"]),
            "seed": int(runs["seed"].iloc[0]),
            "config": json.loads(str(runs["config"].iloc[0])),
        }
        index.write(json.dumps(line, sort_keys=True) + "\n")
        index.flush()
        os.fsync(index.fileno())
        self.written += 1
        return self._kept_tables(line)

    def kept_tables(self, i: int) -> KeptTables:
        """Task ``i``'s kept tables, of a run the journal held when opened."""
        return self._kept_tables(self.reused[i])

    def _kept_tables(self, line: dict) -> KeptTables:
        logs = {n: sha for n, (_, sha) in line["files"].items() if n.endswith(LOG_SUFFIXES)}
        return KeptTables(self.folder / line["dir"] / TABLES_FILE, line["sha256"], logs)

    def digest(self) -> str | None:
        """The SHA-256 of the index as it is (None: no journal), which the published result
        records so that a journal left by a kill just after publishing is known."""
        self.close()
        return file_digest(self.index) if self.index.exists() else None

    def close(self) -> None:
        """Close the index (idempotent); the journal stays on disk."""
        if self._index_file is not None:
            self._index_file.close()
            self._index_file = None

    def published(self) -> None:
        """The compare is published: delete the runs it used, keep any other (say so)."""
        self.close()
        kept = self._drop(set(short_keys(self.keys)))
        if kept:
            print(
                f"compare: {self.folder} still keeps {plural(kept, 'run')} of an earlier compare "
                "that this one did not use; delete it if they are not wanted",
                file=sys.stderr,
                flush=True,
            )

    def _finish_published(self) -> None:
        """If the journal is as the compare published in ``dest`` left it (a kill came
        before :meth:`published`), do what that would have done."""
        try:
            meta = read_manifest(self.dest)
            if meta is None or meta.get("kind") != "compare" or not self.index.is_file():
                return
            if meta.get(META_DIGEST) != file_digest(self.index):
                return
            check_complete(self.dest)
        except (OSError, ValueError, IncompleteRunError):
            return
        self._drop(set(meta.get(META_KEYS) or ()))

    def _drop(self, used: set[str]) -> int:
        """Delete the runs whose short keys are in ``used`` (the journal, if that is all of
        them); returns how many runs are left."""
        if not self.folder.exists():
            return 0
        try:
            header, entries = read_index(self.index)
        except (OSError, ValueError):
            return 0  # (not ours to delete: the next open refuses it, naming why)
        keep = [e for e in entries if e["run"][:16] not in used]
        if not keep:
            _delete(self.folder)
            return 0
        if len(keep) < len(entries):
            with atomic_file(self.index, "w", encoding="utf-8") as f:
                f.write(json.dumps(header, sort_keys=True) + "\n")  # (the code that made them)
                f.writelines(json.dumps(e, sort_keys=True) + "\n" for e in keep)
            fsync_path(self.folder)
            self._tidy({e["dir"] for e in keep})
        return len(keep)

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
            if kept and self.folder.exists():
                self._finish_published()  # it stopped after publishing after all?
                if not self.folder.exists():
                    return
            if kept:
                are = "is" if kept == 1 else "are"
                print(
                    f"compare: {kept} of {plural(total, 'run')} {are} kept in {self.folder}; run "
                    "the same command with --resume to run only the rest",
                    file=sys.stderr,
                    flush=True,
                )
            elif not self.held and self.folder.exists():
                _delete(self.folder)  # (a run being kept when it stopped: its part too)
        except OSError:
            pass

    def resume_note(self, total: int, published: int = 0, published_why: str = "") -> str:
        """The line a resumed compare prints: what it reuses of ``total`` runs (``published``
        of them from the complete compare in its folder), and why not more."""
        whys, sources = [], []
        if self.reused:
            sources.append(f"{len(self.reused)} kept in {self.folder}")
        if published:
            sources.append(f"{published} of the compare published in {self.dest}")
        if not self.held and not published and not published_why:
            whys.append("no journal of an earlier compare to resume")
        elif unused := self.held - len(self.reused):
            whys.append(
                f"the journal's other {plural(unused, 'run')} {'is' if unused == 1 else 'are'} not "
                "in this compare, or their logs differ: they stay kept"
            )
        if published_why:
            whys.append(published_why)
        why = f" ({'; '.join(whys)})" if whys else ""
        source = f": {', '.join(sources)}" if sources else ""
        n = len(self.reused) + published
        return f"compare: resuming with {n} of {plural(total, 'run')}{source}{why}"


def _delete(folder: Path) -> None:
    """Delete a journal folder: renamed first, so that a kill midway leaves no journal with
    half its files (the next compare deletes what is left under that name)."""
    gone = folder.with_name(f"{folder.name}.gone-{os.getpid()}")
    os.rename(folder, gone)
    fsync_path(folder.parent)
    shutil.rmtree(gone, ignore_errors=True)

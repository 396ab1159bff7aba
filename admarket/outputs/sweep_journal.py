"""A sweep's journal: every finished run kept on disk as it arrives, so that a stopped sweep
can be resumed without running its finished runs again.

A sweep writing ``--out DIR`` appends each finished run to ``.DIR.sweep-journal.jsonl``
beside the folder — one JSON line per run: what identifies the run and its ``runs`` and
``summaries`` rows, with their dtypes — flushed and fsynced before the next; once the result is
published, the runs it used are dropped from the journal (the journal with them, if no other
run of an earlier sweep is left in it). However the sweep stops (Ctrl-C, SIGTERM, a
lost worker, a failed publish, SIGKILL, a power cut), the journal holds every run that
finished; ``sweep --resume`` runs only the others. The published result equals an
uninterrupted sweep's to the last digit (floats are written as their shortest repr, which
reads back as the same float), except the ``runs`` table's ``created_at``, which says when
each run was actually made.

A run is reused only if everything that decides its result matches: scenario, seed,
configuration and the code that ran it (a hash of admarket's own files, with the versions
of Mesa, numpy, scipy, pandas, networkx and Python). A journal written by other code is
refused, naming what differs, and left as it is. Since a run is matched by what it is, not
by its place in the sweep, a resumed sweep may add seeds or grid values: the runs the two
sweeps share are reused. A published sweep keeps its runs the same way, in
``DIR/sweep-runs.jsonl``: ``--resume`` into a folder holding a complete, unchanged sweep
reuses them too, so a finished sweep can be extended with more seeds or values.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from admarket.atomic import atomic_file, fsync_path
from admarket.errors import IncompleteRunError, UsageError
from admarket.money import plural
from admarket.outputs.manifest import check_complete, read_manifest
from admarket.outputs.run_identity import code_difference, header_line, parse_journal, run_key
from admarket.outputs.run_ids import run_id_for

if TYPE_CHECKING:
    from admarket.batch.tasks import Task

FORMAT, VERSION = "admarket-sweep-journal", 1
SUFFIX = ".sweep-journal.jsonl"
PUBLISHED = "sweep-runs.jsonl"  # a published sweep's runs, in the result folder
KEPT_TABLES = ("runs", "summaries")  # what a sweep keeps of each run


def journal_path(dest: Path) -> Path:
    """Where the journal of a sweep publishing into ``dest`` lives: beside it, hidden."""
    return dest.parent / f".{dest.name}{SUFFIX}"


def _plain(v: Any) -> Any:
    """A row value as JSON: numpy scalars as Python's, missing values as None (NaN stays
    NaN: JSON's NaN reads back as the float NaN)."""
    if v is None or v is pd.NA or v is pd.NaT:
        return None
    return v.item() if isinstance(v, np.generic) else v


def _frame_json(df: pd.DataFrame) -> dict[str, list]:
    """A one-row frame as JSON: its columns, their dtypes and the row's values."""
    if len(df) != 1:
        raise ValueError(f"a journal keeps one-row frames, got {len(df)} rows")
    return {
        "columns": [str(c) for c in df.columns],
        "dtypes": [str(d) for d in df.dtypes],
        # cell by cell: a row read whole (``iloc[0]``) of only number columns is upcast to
        # float64, and ints past 2**53 would lose digits
        "values": [_plain(df.iat[0, j]) for j in range(df.shape[1])],
    }


def _frame(columns: Sequence[str], dtypes: Sequence[str], rows: list[list]) -> pd.DataFrame:
    """The frame of ``rows`` (each as ``_frame_json`` wrote its values) with these dtypes.
    Built as objects first: inferred, an int column with a missing value would pass
    through float64 and lose digits past 2**53."""
    df = pd.DataFrame(rows, columns=list(columns), dtype=object)
    return df.astype(dict(zip(columns, dtypes, strict=True)))


def _placed(columns: Sequence[str], values: list, task: Task) -> list:
    """A journalled run's row numbered for its place in this sweep (its point and run id:
    the same run may sit at another point of a sweep with other grid values)."""
    kw = task.kwargs
    run_id = run_id_for(str(kw["design"]), int(kw["rng"]), task.point)
    place = {"point": task.point, "run_id": run_id}
    return [place.get(c, v) for c, v in zip(columns, values, strict=True)]


def read_journal(path: Path) -> tuple[dict, list[dict]]:
    """A journal's header and its whole lines as JSON (a line cut short by a kill, after the
    last newline, left out). ValueError if the file is not a sweep journal of this format,
    or a line is not a journalled run (naming the line)."""
    return _parse_journal(path.read_bytes())


def _parse_journal(data: bytes) -> tuple[dict, list[dict]]:
    """:func:`read_journal` of a journal's bytes."""
    return parse_journal(data, FORMAT, VERSION, "sweep journal", _check_entry)


def _check_entry(entry: dict) -> None:
    for t in KEPT_TABLES:
        table = entry["tables"][t]
        if not len(table["columns"]) == len(table["dtypes"]) == len(table["values"]):
            raise ValueError("its columns, dtypes and values differ in length")
    entry["run"] = str(entry["run"])


def _entry_line(task: Task, result: dict[str, Any]) -> str:
    """The line that keeps one finished run: its key and its rows."""
    tables = {t: _frame_json(result["tables"][t]) for t in KEPT_TABLES}
    return json.dumps({"run": run_key(task), "tables": tables}, allow_nan=True) + "\n"


def journal_text(tasks: Sequence[Task], results: Sequence[dict[str, Any]]) -> str:
    """A journal of these runs (a header, then a line per task and its result), as a
    published sweep keeps it (:data:`PUBLISHED`)."""
    lines = [_entry_line(t, r) for t, r in zip(tasks, results, strict=True)]
    return header_line(FORMAT, VERSION) + "".join(lines)


def kept_runs_digest(text: str) -> str:
    """The SHA-256 a published sweep's COMPLETE marker records of its :data:`PUBLISHED`
    file (sizes alone would miss an edit that keeps the length)."""
    return hashlib.sha256(text.encode()).hexdigest()


def published_runs(dest: Path) -> tuple[dict[str, dict], str]:
    """The runs a complete, unchanged sweep in ``dest`` keeps that this code would make
    identically, and if there are none although ``dest`` holds a sweep, why (for the
    resume note)."""
    meta = read_manifest(dest)
    if meta is None or meta.get("kind") != "sweep":
        return {}, ""
    if PUBLISHED not in meta.get("files", {}):
        return {}, f"the sweep in {dest} was published before sweeps kept their runs"
    try:
        check_complete(dest)
        text = (dest / PUBLISHED).read_text(encoding="utf-8")
        if kept_runs_digest(text) != meta.get("runs_sha256"):
            raise ValueError(f"its {PUBLISHED} has changed since it was published")
        header, entries = read_journal(dest / PUBLISHED)
    except (IncompleteRunError, OSError, UnicodeDecodeError, ValueError) as exc:
        why = str(exc).split("; ")[0].splitlines()[0]
        return {}, f"the sweep in {dest} is not reused: {why}"
    if differs := code_difference(header["code"], "in that sweep"):
        return {}, f"the sweep in {dest} was made by other code ({differs})"
    return {e["run"]: e["tables"] for e in entries}, ""


class SweepJournal:
    """The finished runs of one sweep, on disk (see the module docstring); open it with the
    output folder locked (``outputs.publish.reserve``).

    ``resume`` True reuses the runs of an existing journal, and those a complete sweep in
    ``dest`` keeps (:data:`PUBLISHED`); False starts a new journal. An
    existing journal that holds runs is refused (UsageError, nothing touched) when it is
    not to be resumed, or cannot be — written by other code — so that no finished run is
    ever thrown away unasked; so is a damaged one, and a file there that admarket did not
    write. A journal whose every run the complete sweep in ``dest`` keeps is the leftover
    of a sweep killed just after publishing, and is removed: nothing is lost.
    """

    def __init__(self, dest: Path, resume: bool) -> None:
        self.dest, self.path, self.resume = dest, journal_path(dest), resume
        self._held: dict[str, dict[str, dict]] = {}  # run key -> its tables as JSON
        self.reused = self.written = self.reused_published = 0
        # a complete sweep in dest: its runs (or why none), reused after the journal's, and
        # what tells a leftover journal
        exists = self.path.exists()
        published, note = published_runs(dest) if resume or exists else ({}, "")
        self._published, self._published_note = (published, note) if resume else ({}, "")
        for tmp in self.path.parent.glob(f".{self.path.name}.*.tmp"):
            tmp.unlink(missing_ok=True)  # a kill mid-start left it; the lock is ours
        if exists and superseded(self.path, published):
            self.path.unlink()
        keep_bytes = self._open_existing() if self.path.exists() else 0
        if keep_bytes:  # drop a line cut short by a kill mid-write, then carry on after it
            with open(self.path, "r+b") as f:
                f.truncate(keep_bytes)
        else:
            self._start()
        self._file = open(self.path, "a", encoding="utf-8")  # noqa: SIM115 (see close)
        self._opened_at = self.path.stat().st_size  # this sweep's runs: the lines after it

    @property
    def held(self) -> int:
        """Runs the journal held when opened (of this sweep or not)."""
        return len(self._held)

    def _open_existing(self) -> int:
        """Read the journal to resume (or refuse it: see the class docstring); returns the
        byte length of its header and whole lines, 0 if it holds no run."""
        data = self.path.read_bytes()
        try:
            header, entries = _parse_journal(data)
        except ValueError as exc:
            raise UsageError(
                f"{self.path}: {exc}; admarket leaves it as it is — move it away or delete "
                "it to run the sweep afresh"
            ) from None
        if not entries:
            return 0
        n = len(entries)
        if differs := code_difference(header["code"]):
            raise UsageError(
                f"{self.path} keeps {plural(n, 'finished run')} of a stopped sweep made by other "
                f"code ({differs}), which cannot be reused: delete it to start afresh, or resume "
                "with the code that made them"
            )
        if not self.resume:
            raise UsageError(
                f"a stopped sweep left {plural(n, 'finished run')} in {self.path}; add --resume to "
                "reuse them (only runs this sweep would make identically are used), or "
                "delete that file to start afresh"
            )
        self._held = {e["run"]: e["tables"] for e in entries}
        return data.rfind(b"\n") + 1

    def _start(self) -> None:
        """A new journal: its header, written atomically (the directory entry flushed too)."""
        with atomic_file(self.path, "w", encoding="utf-8") as f:
            f.write(header_line(FORMAT, VERSION))
        fsync_path(self.path.parent)

    def take(self, tasks: Sequence[Task]) -> dict[int, dict[str, Any]]:
        """The results this journal holds for ``tasks``, by task index (as ``run_task``
        gives them for a sweep: ``{"tables": {"runs": …, "summaries": …}}``)."""
        hits, from_result = {}, 0
        for i, t in enumerate(tasks):
            k = run_key(t)
            if k in self._held:
                hits[i] = self._held[k]
            elif k in self._published:
                hits[i], from_result = self._published[k], from_result + 1
        rows: dict[int, dict[str, pd.DataFrame]] = {i: {} for i in hits}
        for name in KEPT_TABLES:
            # one frame per table and layout, cut into rows: a frame per run costs ~4 ms
            layouts: dict[tuple, list[int]] = {}
            for i, held in hits.items():
                shape = (tuple(held[name]["columns"]), tuple(held[name]["dtypes"]))
                layouts.setdefault(shape, []).append(i)
            for (columns, dtypes), idx in layouts.items():
                values = [_placed(columns, hits[i][name]["values"], tasks[i]) for i in idx]
                whole = _frame(columns, dtypes, values)
                for j, i in enumerate(idx):
                    rows[i][name] = whole.iloc[j : j + 1].reset_index(drop=True)
        self.reused, self.reused_published = len(hits), from_result
        return {i: {"tables": rows[i]} for i in hits}

    def add(self, task: Task, result: dict[str, Any]) -> None:
        """Append one finished run; it is on disk (fsynced) when this returns."""
        self._file.write(_entry_line(task, result))
        self._file.flush()
        os.fsync(self._file.fileno())
        self.written += 1

    def close(self) -> None:
        """Close the file (idempotent); the journal stays on disk."""
        self._file.close()

    def stopped(self, total: int) -> None:
        """The sweep stopped before publishing: say on stderr how many of its ``total``
        runs are kept and how to resume; a journal that keeps no run at all is removed.
        Never raises: it runs while another error is on its way out."""
        try:
            self.close()  # flushed: a line an interrupt cut short of its count is in the file
            with open(self.path, "rb") as f:
                f.seek(self._opened_at)
                self.written = f.read().count(b"\n")  # whole lines only
            kept = self.reused - self.reused_published + self.written
            # stopped after publishing after all?
            if kept and superseded(self.path, published_runs(self.dest)[0]):
                self.path.unlink()
                return
            are = "is" if kept == 1 else "are"
            where = [f"{kept} of {plural(total, 'run')} {are} kept in {self.path}"] if kept else []
            if self.reused_published:
                n = self.reused_published
                where.append(
                    f"{n} of {total} {'is' if n == 1 else 'are'} in the sweep published in "
                    f"{self.dest}"
                )
            if where:
                print(
                    f"sweep: {'; '.join(where)}; run the same command with --resume to run "
                    "only the rest",
                    file=sys.stderr,
                    flush=True,
                )
            if not kept and not self.held:
                self.path.unlink(missing_ok=True)
        except OSError:
            pass

    def published(self, used: set[str]) -> None:
        """The sweep is published: drop the runs it used (their keys ``used``: the result
        keeps them) and keep any other, saying so — they were not asked to go (the journal
        is deleted if none is left)."""
        self.close()
        try:
            data = self.path.read_bytes()
            _, entries = _parse_journal(data)  # (its whole lines, in order)
        except (OSError, ValueError):
            self.path.unlink(missing_ok=True)  # (read when opened: it was whole then)
            return
        lines = data.split(b"\n")
        keep = [line for line, e in zip(lines[1:-1], entries, strict=True) if e["run"] not in used]
        if not keep:
            self.path.unlink(missing_ok=True)
            return
        with atomic_file(self.path, "wb") as f:
            f.write(b"\n".join([lines[0], *keep]) + b"\n")
        fsync_path(self.path.parent)
        print(
            f"sweep: {self.path} still keeps {plural(len(keep), 'run')} of an earlier sweep that "
            "this one did not use; delete it if they are not wanted",
            file=sys.stderr,
            flush=True,
        )

    def resume_note(self, total: int) -> str:
        """The line a resumed sweep prints: what it reuses of ``total`` runs, and why not
        more."""
        whys = []
        if not self.held and not self._published:
            whys.append("no journal of an earlier sweep to resume")
        elif (unused := self.held - (self.reused - self.reused_published)) > 0:
            whys.append(
                f"the journal's other {plural(unused, 'run')} {'is' if unused == 1 else 'are'} "
                "not in this sweep"
            )
        if self._published and not self.reused_published:
            n = len(self._published)
            whys.append(
                f"none of the {plural(n, 'run')} of the sweep in {self.dest} is in this one"
            )
        if self._published_note:
            whys.append(self._published_note)
        where = f"{self.path}" + (f" and {self.dest}" if self._published else "")
        why = f" ({'; '.join(whys)})" if whys else ""
        return f"sweep: resuming with {self.reused} of {plural(total, 'run')} from {where}{why}"


def superseded(journal: Path, published: dict[str, dict]) -> bool:
    """Whether the complete sweep's ``published`` runs (:func:`published_runs`: made by
    this code) include every run ``journal`` holds, so deleting the journal loses nothing:
    the leftover of a sweep killed between publishing and deleting it. (By what the runs
    are, not by timestamps, which clocks and copies move.)"""
    try:
        header, entries = read_journal(journal)
    except (OSError, ValueError):
        return False
    if code_difference(header["code"]):  # runs of other code are not the published ones
        return False
    return bool(published) and all(e["run"] in published for e in entries)

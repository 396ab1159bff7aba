"""A sweep's journal: every finished run kept on disk as it arrives, so that an interrupted
sweep can be resumed without running its finished runs again.

A sweep writing ``--out DIR`` appends each finished run to ``.DIR.sweep-journal.jsonl``
beside the folder — one JSON line per run: what identifies the run and its ``runs`` and
``summaries`` rows, with their dtypes — flushed to disk before the next, and deletes the
journal once the result is published. If the sweep stops first (Ctrl-C, SIGTERM, a lost
worker, a crash, a power cut), ``sweep --resume`` reads the journal and runs only what it
does not hold. The published result equals an uninterrupted sweep's to the last digit
(floats are written as their shortest repr, which reads back as the same float), except
the ``runs`` table's ``created_at``, which says when each run was actually made.

A run is reused only if everything that decides its result matches: scenario, seed,
configuration and the code that ran it (a hash of admarket's own files, with the Mesa,
numpy and Python versions). A journal written by other code reuses nothing. Since a run
is matched by what it is, not by its place in the sweep, a resumed sweep may add seeds or
grid values: the runs the two sweeps share are reused.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import sys
from collections.abc import Sequence
from functools import cache
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from admarket.errors import UsageError
from admarket.outputs.run_ids import run_id_for
from admarket.version import __version__

if TYPE_CHECKING:  # the pool imports the model; ``admarket status`` reads journals without it
    from admarket.batch.pool import Task

FORMAT, VERSION = "admarket-sweep-journal", 1
SUFFIX = ".sweep-journal.jsonl"
TABLES = ("runs", "summaries")  # what a sweep keeps of each run
# admarket's files that decide a run: its code, presets and queries (not caches)
_SOURCE_SUFFIXES = (".py", ".toml", ".sql", ".json")


def journal_path(dest: Path) -> Path:
    """Where the journal of a sweep publishing into ``dest`` lives: beside it, hidden."""
    return dest.parent / f".{dest.name}{SUFFIX}"


@cache
def code_identity() -> dict[str, str]:
    """What, besides its scenario, seed and config, decides a run's result: a SHA-256 of
    admarket's source files (any edit changes it) and the versions of Mesa, numpy and Python."""
    root = Path(__file__).resolve().parents[1]
    h = hashlib.sha256()
    for p in sorted(root.rglob("*")):
        if p.suffix in _SOURCE_SUFFIXES and p.is_file() and "__pycache__" not in p.parts:
            h.update(p.relative_to(root).as_posix().encode() + b"\0")
            h.update(p.read_bytes() + b"\0")
    return {
        "admarket": __version__,
        "source": h.hexdigest(),
        "mesa": metadata.version("mesa"),
        "numpy": np.__version__,
        "python": platform.python_version(),
    }


def run_key(task: Task) -> str:
    """What identifies a sweep's run across sweeps: scenario, seed, config and steps."""
    kw = task.kwargs
    ident = {
        "scenario": str(kw["design"]),
        "seed": kw.get("rng"),
        "config": kw["config"].to_dict(),
        "max_steps": task.max_steps,
        "collect": task.collect,
    }
    text = json.dumps(ident, sort_keys=True, separators=(",", ":"), default=repr)
    return hashlib.sha256(text.encode()).hexdigest()


def _plain(v: Any) -> Any:
    """A row value as JSON: numpy scalars as Python's, missing values as None (NaN stays
    NaN: JSON's NaN reads back as the float NaN)."""
    if v is None or v is pd.NA or v is pd.NaT:
        return None
    return v.item() if isinstance(v, np.generic) else v


def _frame_json(df: pd.DataFrame) -> dict[str, list]:
    if len(df) != 1:
        raise ValueError(f"a journal keeps one-row frames, got {len(df)} rows")
    return {
        "columns": [str(c) for c in df.columns],
        "dtypes": [str(d) for d in df.dtypes],
        "values": [_plain(v) for v in df.iloc[0].tolist()],
    }


def _frame(columns: Sequence[str], dtypes: Sequence[str], rows: list[list]) -> pd.DataFrame:
    """The frame of ``rows`` (each as ``_frame_json`` wrote its values) with these dtypes."""
    df = pd.DataFrame(rows, columns=list(columns))
    return df.astype(dict(zip(columns, dtypes, strict=True)))


def _placed(columns: Sequence[str], values: list, task: Task) -> list:
    """A journalled run's row numbered for its place in this sweep (its point and run id:
    the same run may sit at another point of a sweep with other grid values)."""
    kw = task.kwargs
    run_id = run_id_for(str(kw["design"]), int(kw["rng"]), task.point)
    place = {"point": task.point, "run_id": run_id}
    return [place.get(c, v) for c, v in zip(columns, values, strict=True)]


class SweepJournal:
    """The finished runs of one sweep, on disk (see the module docstring).

    ``resume`` True keeps the runs of an existing journal that this code would make
    identically; False starts a new one, and refuses (UsageError) if an existing journal
    holds runs, so that forgetting ``--resume`` never throws finished runs away. A file at
    the journal's path that is not an admarket sweep journal is never touched.
    """

    def __init__(self, path: Path, resume: bool) -> None:
        self.path, self.resume = path, resume
        self.code = code_identity()
        self._held: dict[str, dict[str, dict]] = {}  # run key -> its tables as JSON
        self.other_code = False  # the journal to resume was written by other code
        self.reused = self.written = 0
        good = 0
        if path.exists():
            header = self._header()  # refuses a file that is not a sweep journal
            if resume and header.get("version") == VERSION and header.get("code") == self.code:
                good = self._read()
            elif resume:
                self.other_code = True
            elif (kept := path.read_bytes().count(b"\n") - 1) > 0:
                raise UsageError(
                    f"a stopped sweep left {kept} finished run(s) in {path}; add --resume "
                    "to reuse them (only runs this sweep would make identically are used), "
                    "or delete that file to start afresh"
                )
        if good:  # drop a line cut short by a kill mid-write, then carry on after the rest
            with open(path, "r+b") as f:
                f.truncate(good)
        else:
            self._start()
        self._file = open(path, "a", encoding="utf-8")  # noqa: SIM115 (closed in close())
        self._opened_at = path.stat().st_size  # this sweep's runs are the lines after it

    @property
    def held(self) -> int:
        """Runs the journal held when opened (of this sweep or not)."""
        return len(self._held)

    def _header(self) -> dict:
        with open(self.path, "rb") as f:
            first = f.readline()
        try:
            header = json.loads(first)
            if isinstance(header, dict) and header.get("format") == FORMAT:
                return header
        except ValueError:
            pass
        raise UsageError(
            f"{self.path} exists and is not an admarket sweep journal; move it away "
            "(admarket never overwrites a file it did not write)"
        )

    def _read(self) -> int:
        """Read the journalled runs; returns the byte length of the header and whole lines."""
        lines = self.path.read_bytes().split(b"\n")
        good = len(lines[0]) + 1
        # the last element is what follows the last newline: empty, or a line cut short
        for n, line in enumerate(lines[1:-1], start=2):
            try:  # checked as JSON here; frames are built only for the runs reused
                entry = json.loads(line)
                tables = {t: entry["tables"][t] for t in TABLES}
                for t in tables.values():
                    if not len(t["columns"]) == len(t["dtypes"]) == len(t["values"]):
                        raise ValueError("columns, dtypes and values differ in length")
                self._held[str(entry["run"])] = tables
            except (ValueError, KeyError, TypeError) as exc:
                raise UsageError(
                    f"{self.path}, line {n}, is not a journalled run ({exc}); delete the "
                    "journal to run the sweep afresh"
                ) from None
            good += len(line) + 1
        return good

    def _start(self) -> None:
        header = {"format": FORMAT, "version": VERSION, "code": self.code}
        tmp = self.path.with_name(self.path.name + ".part")
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(json.dumps(header, sort_keys=True) + "\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.path)

    def take(self, tasks: Sequence[Task]) -> dict[int, dict[str, Any]]:
        """The results this journal holds for ``tasks``, by task index (as ``run_task``
        gives them for a sweep: ``{"tables": {"runs": …, "summaries": …}}``)."""
        hits = {i: self._held[k] for i, t in enumerate(tasks) if (k := run_key(t)) in self._held}
        rows: dict[int, dict[str, pd.DataFrame]] = {i: {} for i in hits}
        for name in TABLES:
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
        self.reused = len(hits)
        return {i: {"tables": rows[i]} for i in hits}

    def add(self, task: Task, result: dict[str, Any]) -> None:
        """Append one finished run and flush it to disk before returning."""
        tables = result["tables"]
        entry = {"run": run_key(task), "tables": {t: _frame_json(tables[t]) for t in TABLES}}
        self._file.write(json.dumps(entry, sort_keys=True, allow_nan=True) + "\n")
        self._file.flush()
        self.written += 1  # in the file now: counted before an interrupt can land in fsync
        os.fsync(self._file.fileno())

    def close(self) -> None:
        self._file.close()

    def stopped(self, total: int) -> None:
        """The sweep stopped before publishing: say on stderr how many of its ``total``
        runs are kept and how to resume; a journal that keeps no run at all is removed."""
        self.close()  # flushed: a line an interrupt cut short of its count is in the file
        with open(self.path, "rb") as f:
            f.seek(self._opened_at)
            self.written = f.read().count(b"\n")  # whole lines only
        if self.reused + self.written:
            print(kept_note(self, total), file=sys.stderr, flush=True)
        elif not self.held:
            self.path.unlink(missing_ok=True)

    def remove(self) -> None:
        """Close and delete the journal (its sweep is published)."""
        self.close()
        self.path.unlink(missing_ok=True)


def kept_note(journal: SweepJournal, total: int) -> str:
    """The line a stopped sweep prints: how many runs its journal keeps and how to resume."""
    kept = journal.reused + journal.written
    return (
        f"sweep: {kept} of {total} runs are kept in {journal.path}; run the same command "
        "with --resume to run only the rest"
    )


def resume_note(journal: SweepJournal, reused: int, total: int) -> str:
    """The line a resumed sweep prints: what it reuses, and why not more."""
    if journal.other_code:
        why = " (its journal was written by other admarket code or versions: nothing reused)"
    elif not journal.held and reused == 0:
        why = " (no journal of an earlier sweep to resume)"
    else:
        why = ""
    return f"sweep: resuming with {reused} of {total} runs from {journal.path}{why}"


def journal_runs(path: Path) -> tuple[dict, list[dict[str, Any]]]:
    """A journal's header and the ``runs`` row of each whole line it holds (for ``admarket
    status``: read as JSON only, no frames built); ValueError if it is not a journal."""
    lines = path.read_bytes().split(b"\n")
    header = json.loads(lines[0])
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise ValueError("not an admarket sweep journal")
    rows = []
    for line in lines[1:-1]:
        try:
            runs = json.loads(line)["tables"]["runs"]
            rows.append(dict(zip(runs["columns"], runs["values"], strict=True)))
        except (ValueError, KeyError, TypeError):
            continue  # counted as the difference from the line count by the caller
    return header, rows

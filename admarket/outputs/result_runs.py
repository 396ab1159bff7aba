"""The runs a published compare keeps, so that a compare into the same folder with more
seeds (``compare --resume``) runs only the new ones.

A compare that keeps a journal (:mod:`.compare_journal`) publishes, with its result, what
its store does not hold of each run: ``kept-runs/KEY.pickle.gz`` holds the run's ``runs``
and ``summaries`` rows and the columns and types of its other tables (4.8 kB a plan-scale
run), listed in ``kept-runs/index.jsonl`` with the code that made them, each run's key and
the SHA-256 of its file and logs (the index's own SHA-256 is in the result's marker). A
reused run's rows are read back from the store (:class:`~.store_writer.StoredTable`), each
table cast to the columns and types its spool file or its frame had, and its logs are the
result's own (``logs/``). A run whose logs this process wrote from its tables (a remote
worker without the shared disk) is kept whole, so that they can be written again. So a
compare of 10 seeds published into ``DIR`` and then ``compare --seeds 30 --out DIR
--resume`` runs 20 seeds' runs, and publishes what a compare of all 30 seeds would (except
the ``runs`` table's ``created_at``: when each run was made).

A published run is reused only if everything that decides it matches, as for a journal's:
scenario, seed, configuration, its logs, and the code (the index's header names it: a
result made by other code is replaced, its runs run again). Kept runs that cannot be
trusted are refused before anything runs (see :class:`PublishedRuns`). Like a journal, the
kept tables are pickles: trusted input, as a checkpoint is.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from admarket.errors import IncompleteRunError, UsageError
from admarket.llm.tables import LLM_TABLES
from admarket.money import plural
from admarket.outputs.kept_run import TABLES_FILE, KeptTables, dump_run, link, load_run
from admarket.outputs.manifest import (
    COMPLETE_MARKER,
    check_complete,
    file_digest,
    has_checksums,
    listed_checksum,
    read_manifest,
)
from admarket.outputs.run_identity import code_difference, header_line, parse_journal
from admarket.outputs.spool import LOGS_DIR
from admarket.outputs.store import STORE_NAME, TABLES, first_line
from admarket.outputs.store_writer import SENT_WHOLE, SpooledTable, StoredTable

FORMAT, VERSION = "admarket-result-runs", 1
RUNS_DIR = "kept-runs"  # in the result folder
INDEX = "index.jsonl"
_LOGS = " logs"  # (a key no table has) a read-back run's log files
META_RUNS = "kept_runs_sha256"  # the result's marker: the SHA-256 of the kept runs' index


@dataclass(frozen=True)
class FrameInStore:
    """A run's table that the result's store holds: read back from there as the frame it
    was (its columns and their dtypes; ``cells``: rows × columns, for the writer)."""

    dtypes: tuple[tuple[str, Any], ...]
    cells: int


class ResultRuns:
    """The runs a compare being built (``build``) keeps with its result (:meth:`keep`), and
    their index, written once every run is in (:meth:`seal`)."""

    def __init__(self, build: Path) -> None:
        self.folder = build / RUNS_DIR
        self.lines: dict[int, dict] = {}  # task index -> its index line

    def keep(
        self, i: int, key: str, head: dict, kept: KeptTables, tables: dict | None = None
    ) -> None:
        """Keep task ``i``'s run (``key``; ``head``: its scenario and seed; ``kept``: its
        kept tables file and logs). Given the ``tables`` the writer takes, only what the
        store does not hold is written (its header tables and, for the rest, their columns);
        without, ``kept``'s file is linked in (a run reused from a published result, or one
        whose logs this process writes from its tables)."""
        self.folder.mkdir(exist_ok=True)
        name = f"{key[:32]}.pickle.gz"
        if tables is None:
            link(kept.path, self.folder / name)
            digest = kept.sha256
        else:
            digest = dump_run(self.folder / name, _slim(tables), sorted(kept.logs))
        line = {"run": key, "file": name, "sha256": digest, "logs": kept.logs}
        self.lines[i] = line | head

    def seal(self) -> dict[str, str]:
        """Write the index, the runs in task order; returns what the result's marker says
        of it (its SHA-256), nothing when no run is kept."""
        if not self.lines:
            return {}
        text = header_line(FORMAT, VERSION)
        text += "".join(
            json.dumps(self.lines[i], sort_keys=True) + "\n" for i in sorted(self.lines)
        )
        data = text.encode()
        (self.folder / INDEX).write_bytes(data)
        return {META_RUNS: hashlib.sha256(data).hexdigest()}


class PublishedRuns:
    """The runs the complete compare in ``dest`` kept that a compare of ``keys`` (each
    task's run key, :func:`~.compare_journal.compare_run_key`) can reuse: :attr:`reused`,
    by task index; :attr:`why` says why there are none, when there are none.

    A compare there whose kept runs cannot be trusted is refused (UsageError, nothing
    touched): its marker, its index (its SHA-256 is in the marker), a run's file or logs
    (their SHA-256s are in the index), or its store (every reused run's rows must be there,
    as many as the run had) changed or unreadable. A compare made by other code, or one
    that keeps no runs, is replaced, its runs run again."""

    def __init__(self, dest: Path, keys: list[str], skip: set[int]) -> None:
        from admarket.outputs.publish import REBUILT  # (the report may be edited or gone)

        self.dest = dest
        self.reused: dict[int, dict] = {}
        self.why = ""
        manifest = read_manifest(dest) if dest.exists() else None
        # the store's published checksum: "" when the marker should list one and does not
        # (edited), None when it predates checksums (the store's rows are counted instead)
        self._store_sha256: str | None = None
        if manifest is not None and has_checksums(manifest):
            self._store_sha256 = listed_checksum(manifest, STORE_NAME) or ""
        if manifest is None or manifest.get("kind") != "compare":
            if dest.exists():
                self.why = f"{dest} holds no complete compare"
            return
        if not manifest.get(META_RUNS):
            self.why = (
                f"the compare in {dest} keeps no runs (published with --no-journal, or by an "
                "older admarket)"
            )
            return
        index = dest / RUNS_DIR / INDEX
        try:
            check_complete(dest, rebuilt=REBUILT)
            data = index.read_bytes()
            if hashlib.sha256(data).hexdigest() != manifest[META_RUNS]:
                raise ValueError(f"{index}: it has changed since the compare was published")
            header, entries = parse_journal(
                data, FORMAT, VERSION, "result's kept runs", _check_line
            )
        except (IncompleteRunError, OSError, ValueError) as exc:
            raise self._refuse(str(exc).split("; ")[0]) from None
        if differs := code_difference(header["code"], f"in {dest}"):
            self.why = f"the compare in {dest} was made by other code ({differs})"
            return
        by_key = {e["run"]: e for e in entries}
        for i, key in enumerate(keys):
            if i not in skip and key in by_key:
                self._check(by_key[key])
                self.reused[i] = by_key[key]
        if self.reused:
            self._check_store()
        elif entries and not any(k in by_key for k in keys):  # (not: all kept elsewhere)
            self.why = (
                f"none of the {plural(len(entries), 'run')} the compare in {dest} keeps is in this "
                "one: their config, seeds, scenarios, logs or verbosity differ"
            )

    def _refuse(self, why: str) -> UsageError:
        return UsageError(
            f"{why}; the runs the compare in {self.dest} keeps cannot be reused: run the "
            "compare without --resume to replace the result"
        )

    def _check_store(self) -> None:
        """UsageError unless the store is as it was published (its SHA-256 in the marker;
        a result published before checksums has none, and its store is trusted as
        ``admarket report`` trusts it), can be read, and holds, for every reused run, as
        many rows of each of its tables as the run had."""
        store = self.dest / STORE_NAME
        try:
            if self._store_sha256 == "":
                raise self._refuse(
                    f"{store}: the compare's {COMPLETE_MARKER} marker lists no checksum for "
                    "it (edited?)"
                )
            if self._store_sha256 is not None and file_digest(store) != self._store_sha256:
                raise self._refuse(
                    f"{store}: its content has changed since the compare was published "
                    "(another SHA-256 than its marker lists)"
                )
        except OSError as exc:
            raise self._refuse(f"{store} cannot be read ({exc.strerror or exc})") from None
        want: dict[str, dict[str, int]] = {}  # table -> run id -> rows
        for i in self.reused:  # (a kept file is a few kB: read again when replayed)
            for name, t in self._read_back(i).items():
                if isinstance(t, StoredTable) and t.columns:
                    want.setdefault(name, {})[t.run_id] = t.cells // len(t.columns)
        try:
            con = duckdb.connect(str(store), read_only=True)
        except duckdb.Error as exc:
            raise self._refuse(f"{store} cannot be read ({first_line(exc)})") from None
        try:
            for name, runs in want.items():
                ids = ", ".join("'" + r.replace("'", "''") + "'" for r in runs)
                got = dict(
                    con.execute(
                        f'SELECT run_id, count(*) FROM "{name}" WHERE run_id IN ({ids}) '
                        "GROUP BY run_id"
                    ).fetchall()
                )
                for run_id, rows in runs.items():
                    if got.get(run_id, 0) != rows:
                        raise self._refuse(
                            f"{store}: its table {name} holds {got.get(run_id, 0)} rows of run "
                            f"{run_id}, which had {rows}"
                        )
        except duckdb.Error as exc:
            raise self._refuse(f"{store} cannot be read ({first_line(exc)})") from None
        finally:
            con.close()

    def _check(self, line: dict) -> None:
        """UsageError unless the run's tables file and logs are as the result kept them."""
        files = {line["file"]: (RUNS_DIR, line["sha256"])}
        files |= {n: (LOGS_DIR, sha) for n, sha in line["logs"].items()}
        for name, (sub, sha) in files.items():
            path = self.dest / sub / name
            try:
                same = file_digest(path) == sha
            except OSError:
                same = False
            if not same:
                raise self._refuse(f"{path}: a kept run's file has changed or is missing")

    def replayed(self, i: int, build: Path) -> dict[str, Any]:
        """Task ``i``'s run as the writer takes it: its tables read back from the result's
        store, its logs linked into the result being built (``build``)."""
        tables = self._read_back(i)
        for log in tables.pop(_LOGS):
            link(self.dest / LOGS_DIR / log, build / LOGS_DIR / log)
        return tables

    def _read_back(self, i: int) -> dict[str, Any]:
        """Task ``i``'s kept tables, each whose rows the store holds as a
        :class:`StoredTable` of them (and its log files' names under :data:`_LOGS`)."""
        kept = load_run(self.dest / RUNS_DIR / self.reused[i]["file"])
        tables = kept["tables"]
        store = str(self.dest / STORE_NAME)
        run_id = str(tables["runs"]["run_id"].iloc[0])
        for name, t in tables.items():
            if isinstance(t, SpooledTable):  # as its worker's file had it
                tables[name] = StoredTable(store, name, run_id, t.columns, t.cells)
            elif isinstance(t, FrameInStore):  # as DuckDB reads such a frame
                tables[name] = StoredTable(store, name, run_id, _duckdb_types(t.dtypes), t.cells)
        return {**tables, _LOGS: kept["logs"]}

    def kept_tables(self, i: int) -> KeptTables:
        """Task ``i``'s kept tables in the result."""
        line = self.reused[i]
        return KeptTables(self.dest / RUNS_DIR / line["file"], line["sha256"], line["logs"])


def _slim(tables: dict[str, Any]) -> dict[str, Any]:
    """A run's ``tables`` (as the writer takes them) without the rows the store holds: a
    spooled table names its file alone (its columns are in it), a frame becomes its columns
    (:class:`FrameInStore`); the header tables (``runs``, ``summaries``: what a compare
    reads of a run), empty frames and whatever else the store does not hold stay as they
    are."""
    out: dict[str, Any] = {}
    stored = (*TABLES, *LLM_TABLES)
    for name, t in tables.items():
        if isinstance(t, SpooledTable):
            t = replace(t, path=Path(t.path).name)
        elif isinstance(t, pd.DataFrame) and len(t) and name in stored and name not in SENT_WHOLE:
            t = FrameInStore(tuple((str(c), t[c].dtype) for c in t.columns), int(t.size))
        out[name] = t
    return out


@cache  # (a table's dtypes are the same in most runs: a connection each costs ~15 ms)
def _duckdb_types(dtypes: tuple[tuple[str, Any], ...]) -> tuple[tuple[str, str], ...]:
    """The DuckDB column types of a frame with these dtypes: what the store's writer made
    of it (the dtypes are concrete: texts are plain strings, never objects to sniff)."""
    empty = pd.DataFrame({c: pd.Series(dtype=d) for c, d in dtypes})
    con = duckdb.connect()
    try:
        con.register("_frame", empty)
        described = con.execute("SELECT column_name, column_type FROM (DESCRIBE _frame)")
        return tuple((str(c), str(t)) for c, t in described.fetchall())
    finally:
        con.close()


def _check_line(line: dict) -> None:
    for field in ("run", "file", "sha256", "scenario"):
        if not isinstance(line[field], str):
            raise TypeError(f"its {field} is not text")
    if "/" in line["file"] or line["file"].startswith(".") or line["file"] == TABLES_FILE:
        raise ValueError(f"its file {line['file']!r} is not a run's")
    logs = line["logs"]
    if not isinstance(logs, dict) or not all(
        isinstance(v, str) and "/" not in k and not k.startswith(".") for k, v in logs.items()
    ):
        raise ValueError("its logs are not names with their digests")
    int(line["seed"])

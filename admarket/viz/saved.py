"""Saved results in the explorer: what ``admarket run --out``, ``compare --out`` and
``sweep --out`` wrote, listed and read back for the Saved results page (read only).

The list is ``admarket status``'s scan (:func:`admarket.outputs.inventory.scan`) of one
folder: each result's kind, whether it is complete, incomplete or damaged, and its config.
Only a complete result opens, through the store's own check (:func:`.store.connect`: the
one ``admarket query`` and ``admarket report`` apply), so a result damaged since the list
was made is refused with the same reason. A run or compare opens as its hourly record
(the store's ``step_metrics``: the DataCollector's model variables) in the shape the live
charts read (:class:`StoredRun`), so :func:`admarket.viz.charts.panel_rows` draws the same
KPI panels the live page does; a sweep opens as its break-even table (the store's
``break_even``, or its ``sweep`` table when there is none), its drivers table and its
charts (``charts/break_even.png``, ``charts/drivers.png``) when it has them, and the path
of ``sweep.md``. Its report (``report.md`` or ``sweep.md``, and its HTML when written) and
a run's or compare's daily
metrics (the store's ``daily_metrics``) are read with it, for the page's downloads.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

# RESULTS_ENV: the folder listed (default: the current one), set by ``explore --results``
from admarket.cli.explore import RESULTS_ENV
from admarket.config import MarketConfig
from admarket.config.market_config import from_mapping
from admarket.errors import UsageError
from admarket.outputs.inventory import Item, config_text, scan, seed_text
from admarket.outputs.inventory.folder import OWNED_DIRS
from admarket.outputs.manifest import COMPLETE_MARKER, STORE_NAME, read_manifest
from admarket.outputs.store import connect, first_line
from admarket.report.data import SCENARIO_ORDER
from admarket.viz.charts import PANELS

__all__ = [
    "RESULTS_ENV",
    "SCAN_DEPTH",
    "Listed",
    "Opened",
    "StoredRun",
    "files_stamp",
    "list_results",
    "open_result",
    "unread_below",
]

# What the page lists: results, folders that are not (yet) results, stopped studies'
# journals. Checkpoints and leftovers are no results to look at (``admarket status``).
LISTED = ("run", "compare", "sweep", "unknown", "journal")
OPENABLE = ("run", "compare", "sweep")
# the DataCollector columns the KPI panels draw (and gross_spend, which marks take as
# undefined before the first spend)
CHART_COLUMNS = (*dict.fromkeys(c for p in PANELS for c, _ in p.series), "gross_spend")
# How many folder levels below the results folder the list looks (``admarket status
# --depth 3`` lists the same): results sit in it or a study folder or two down, and an
# unbounded walk of a large folder (an explorer started in a home directory) takes minutes.
SCAN_DEPTH = 3
# a sweep's charts, as its sweep.md shows them (each only when the sweep drew it)
SWEEP_CHARTS = ("break_even.png", "drivers.png")


def results_root() -> Path:
    """The folder the Saved results page lists: ``$ADMARKET_EXPLORER_RESULTS`` (set by
    ``admarket explore --results DIR``), else the folder the explorer was started in."""
    return Path(os.environ.get(RESULTS_ENV) or ".").resolve()


@dataclass(frozen=True)
class Listed:
    """One line of the Saved results list: the scan's item, and what the page says of it."""

    item: Item
    name: str  # its path relative to the folder listed
    state: str  # complete, incomplete or damaged
    config: str  # the config in one line (as ``admarket status`` prints it)
    runs: str  # "scenarios A, B × seeds 1–3 (6 runs)", or ""

    @property
    def openable(self) -> bool:
        """Whether the page can open it: a complete run, compare or sweep."""
        return self.state == "complete" and self.item.kind in OPENABLE

    @property
    def why_not(self) -> str:
        """Why it cannot be opened ("" if it can)."""
        if self.openable:
            return ""
        if self.state == "complete":
            return f"a {self.item.kind} is not a result this page draws"
        return f"only a complete result opens; this one is {self.item.status}"


def state_of(item: Item) -> str:
    """``complete``, ``damaged`` (its files are not what admarket published, or its store
    cannot be read) or ``incomplete`` (no COMPLETE marker: failed, stopped or still being
    written; a stopped study's journal)."""
    if item.complete:
        return "complete"
    if item.status.startswith(("damaged", "unreadable")):
        return "damaged"
    return "incomplete"


def list_results(folder: str | Path, depth: int | None = SCAN_DEPTH) -> list[Listed]:
    """The results under ``folder`` (itself included) down to ``depth`` folder levels below
    it (None: all), by path, as the page lists them.

    A UsageError when ``folder`` is not a folder (what was given, and that a folder of
    results is wanted)."""
    root = Path(folder)
    if not root.is_dir():
        raise UsageError(
            f"saved results: {str(folder)!r} is not a folder; give the folder holding the "
            "results (admarket explore --results DIR)"
        )
    out = []
    for item in scan(root, depth=depth):
        if item.kind not in LISTED:
            continue
        path = Path(item.path)
        name = "." if path == root else str(path.relative_to(root))
        runs = ""
        if item.scenarios or item.seeds:
            runs = f"scenarios {', '.join(item.scenarios) or '?'} × seeds {seed_text(item.seeds)}"
            runs += f" ({item.detail})" if item.detail else ""
        out.append(Listed(item, name, state_of(item), config_text(item), runs))
    return out


def files_stamp(path: str | Path) -> str:
    """What the files of the result at ``path`` are now, as one short string: a digest of
    each file's path, size, inode and modification time ("" when the folder is gone).

    Two scans of a result give the same stamp unless it was written again, changed or
    removed in between, so the page re-reads an open result after Rescan only then (a
    compare of many seeds takes seconds to read). Only the file system's records are read,
    not the files."""
    root = Path(path)
    if not root.is_dir():
        return ""
    digest = hashlib.sha256()
    for here, dirs, files in os.walk(root):
        dirs.sort()  # a walk in a fixed order: the same files give the same stamp
        for name in sorted(files):
            f = Path(here) / name
            try:
                st = f.stat()
            except OSError:  # removed while we walked: it counts as changed
                continue
            rel = f.relative_to(root).as_posix()
            digest.update(f"{rel}\0{st.st_size}\0{st.st_ino}\0{st.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:16]


def unread_below(folder: str | Path, depth: int = SCAN_DEPTH) -> list[str]:
    """The folders just below the ``depth`` levels the list looks into, which it does not
    read (nor anything in them), relative to ``folder`` and sorted: results there are not
    listed, and the page says so and how to list them.

    The walk skips what :func:`admarket.outputs.inventory.scan` skips (hidden folders, and a
    result's own ``charts``, ``logs`` and run folders), so only folders that could hold
    results the scan missed are counted."""
    root = Path(folder)
    unread: list[str] = []
    for here, dirs, _files in os.walk(root):
        p = Path(here)
        is_result = (p / COMPLETE_MARKER).is_file() or (p / STORE_NAME).is_file()
        dirs[:] = sorted(
            d for d in dirs if not d.startswith(".") and not (is_result and d in OWNED_DIRS)
        )
        if len(p.relative_to(root).parts) >= depth:
            unread += [(p / d).relative_to(root).as_posix() for d in dirs]
            dirs[:] = []
    return sorted(unread)


# --- a result opened ----------------------------------------------------------------------------
@dataclass(frozen=True)
class StoredSeries:
    """A run's hourly model variables read back from the store: a DataCollector's
    ``model_vars`` (column → value per hour), each column a float array: 8 bytes an hour,
    where a list of Python floats takes 32 (a compare of many seeds and days is large)."""

    model_vars: Mapping[str, np.ndarray]


@dataclass(frozen=True)
class StoredRun:
    """A saved run in the shape the KPI charts read (:class:`admarket.viz.charts.Recorded`):
    its config and its hourly record."""

    scenario: str
    seed: int
    config: MarketConfig
    datacollector: StoredSeries


@dataclass
class Opened:
    """A complete result read back: a run's or compare's runs by scenario (seeds in
    ascending order: the first is the line, as on the live page), or a sweep's tables and
    charts."""

    path: Path
    kind: str
    runs: dict[str, list[StoredRun]] = field(default_factory=dict)
    table: pd.DataFrame | None = None  # a sweep's break-even (or sweep) table
    table_name: str = ""
    drivers: pd.DataFrame | None = None  # a sweep's drivers table (what drives C), if any
    charts: dict[str, bytes] = field(default_factory=dict)  # a sweep's PNG charts, by name
    # for the page's downloads, read with the rest so that a download cannot fail later:
    report_text: bytes | None = None  # its report.md (sweep.md), when it has one
    report_html: bytes | None = None  # its report.html (sweep.html), when it has one
    daily: pd.DataFrame | None = None  # a run's or compare's daily_metrics table

    @property
    def scenarios(self) -> tuple[str, ...]:
        """The scenarios it holds, in A, B, C order."""
        return tuple(self.runs)

    @property
    def seeds(self) -> list[int]:
        """The seeds of its runs (sorted)."""
        return sorted({r.seed for rs in self.runs.values() for r in rs})

    @property
    def days(self) -> int:
        """The longest run's days (the charts' x axis)."""
        return max((r.config.days for rs in self.runs.values() for r in rs), default=0)

    @property
    def report(self) -> Path:
        """Its written report: ``report.md`` (a run or compare) or ``sweep.md``."""
        return self.path / ("sweep.md" if self.kind == "sweep" else "report.md")


def open_result(path: str | Path) -> Opened:
    """Read the complete result at ``path`` for the page.

    The store is opened through :func:`admarket.outputs.store.connect`, so an incomplete or
    damaged result is refused with the reason ``admarket query`` gives (an
    :class:`~admarket.errors.IncompleteRunError` or UsageError); a store without the
    tables the page reads is a UsageError naming the table."""
    where = Path(path)
    con = connect(where)
    try:
        tables = {r[0] for r in con.execute("SHOW TABLES").fetchall()}
        if "sweep" in tables:
            name = "break_even" if "break_even" in tables else "sweep"
            table = con.execute(f"SELECT * FROM {name}").df()
            drivers = con.execute("SELECT * FROM drivers").df() if "drivers" in tables else None
            # read here, with the store, so that the page draws without touching the disk
            charts = {
                n: (where / "charts" / n).read_bytes()
                for n in SWEEP_CHARTS
                if (where / "charts" / n).is_file()
            }
            opened = Opened(
                where, "sweep", table=table, table_name=name, drivers=drivers, charts=charts
            )
            opened.report_text = _read(opened.report)
            opened.report_html = _read(opened.report.with_suffix(".html"))
            return opened
        if "step_metrics" not in tables:
            raise UsageError(
                f"{where}: its store has no step_metrics table (the hourly record the charts "
                f"draw; written by an older admarket): read its report, {where / 'report.md'}"
            )
        opened = Opened(where, _kind(where), runs=_stored_runs(con))
        if "daily_metrics" in tables:
            opened.daily = con.execute(
                "SELECT * FROM daily_metrics ORDER BY scenario, seed, simulation_day"
            ).df()
        opened.report_text = _read(opened.report)
        opened.report_html = _read(opened.report.with_suffix(".html"))
        return opened
    except duckdb.Error as exc:
        raise UsageError(f"{where}: its store cannot be read ({first_line(exc)})") from None
    finally:
        con.close()


def _read(path: Path) -> bytes | None:
    """A file's bytes, or None when the result has none (a report written as HTML only,
    or with ``--no-html``)."""
    return path.read_bytes() if path.is_file() else None


def _kind(path: Path) -> str:
    """What the marker says the result is (``run`` or ``compare``)."""
    meta = read_manifest(path)
    return str(meta.get("kind", "run")) if isinstance(meta, dict) else "run"


def _stored_runs(con: duckdb.DuckDBPyConnection) -> dict[str, list[StoredRun]]:
    """Every run of the store with its hourly record, by scenario in A, B, C order."""
    have = {r[0] for r in con.execute("DESCRIBE step_metrics").fetchall()}
    # a column an older store lacks is drawn as nothing (NaN), not as a zero
    cols = ", ".join(f'"{c}"' if c in have else f'NULL::DOUBLE AS "{c}"' for c in CHART_COLUMNS)
    metrics = con.execute(f"SELECT run_id, {cols} FROM step_metrics ORDER BY run_id, step").df()
    by_run = dict(tuple(metrics.groupby("run_id", sort=False)))
    runs = con.execute("SELECT run_id, scenario, seed, config FROM runs").fetchall()
    out: dict[str, list[StoredRun]] = {}
    for run_id, scenario, seed, config in sorted(runs, key=lambda r: (r[1], int(r[2]))):
        frame = by_run.get(run_id)
        if frame is None:
            continue
        # a copy of each column, so that the query's frame is not kept alive by a view
        values = {c: frame[c].to_numpy(dtype=float, copy=True) for c in CHART_COLUMNS}
        cfg = from_mapping(json.loads(config))
        stored = StoredRun(str(scenario), int(seed), cfg, StoredSeries(values))
        out.setdefault(str(scenario), []).append(stored)
    return {s: out[s] for s in SCENARIO_ORDER if s in out}

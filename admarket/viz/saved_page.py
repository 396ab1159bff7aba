"""The Saved results page: what ``admarket run``, ``compare`` and ``sweep --out`` wrote in
the explorer's results folder, listed and opened read only.

The list and the reading are :mod:`.saved`'s; this module draws them. A run or compare
opens as the live page's KPI panels (:mod:`.charts`: the same specs, legends and rows),
drawn once from its store instead of following a clock, with where its report is; a sweep
as its break-even and drivers tables, its charts, and where its ``sweep.md`` is. An
incomplete or damaged result is listed with its status and why it cannot be opened.
"""

from __future__ import annotations

from html import escape
from pathlib import Path
from typing import NamedTuple

import pandas as pd
import solara
import solara.lab

from admarket.errors import UsageError
from admarket.viz.charts import PANELS, Panel, legend, not_applicable, panel_rows, panel_spec
from admarket.viz.html import CSS, chart_legend
from admarket.viz.live import card, html
from admarket.viz.page import SAVED, page_tabs
from admarket.viz.saved import (
    SCAN_DEPTH,
    Listed,
    Opened,
    files_stamp,
    list_results,
    open_result,
    results_root,
    unread_below,
)
from admarket.viz.vega import VegaChart, encode

STATE_COLOURS = {"complete": "#2a9d8f", "incomplete": "#e9a23b", "damaged": "#e45756"}
SAVED_TAG = "saved"  # every saved chart's tag: drawn once, no clock
SAVED_CSS = """
.am-saved-entry { border-top: 1px solid rgba(128, 128, 128, 0.25); padding-top: 6px; }
.am-saved-png { max-width: 100%; height: auto; }
.am-saved-why { opacity: 0.85; font-style: italic; }
.am-saved-table { border-collapse: collapse; font-size: 13px; }
.am-saved-table th, .am-saved-table td { border: 1px solid rgba(128, 128, 128, 0.35);
  padding: 2px 6px; text-align: right; vertical-align: top; }
"""


def listing_html(entry: Listed) -> str:
    """One result of the list as HTML: name, kind, status, runs, config, why it cannot be
    opened."""
    item = entry.item
    colour = STATE_COLOURS[entry.state]
    lines = [
        f"<b>{escape(entry.name)}</b> — {escape(item.kind)} "
        f"<span class='am-saved-state' style='color: {colour}; font-weight: 600'>"
        f"{entry.state}</span>"
    ]
    if entry.runs:
        lines.append(escape(entry.runs))
    if entry.config:
        lines.append(f"config: {escape(entry.config)}")
    if item.varies:
        lines.append(f"varies: {escape(', '.join(item.varies))}")
    if not entry.openable:
        lines.append(
            f"<span class='am-saved-why'>Cannot be opened — {escape(entry.why_not)}</span>"
        )
    return "<br>".join(lines)


def table_html(table: pd.DataFrame) -> str:
    """A sweep's table as HTML (numbers to four significant digits)."""
    return table.to_html(
        index=False,
        float_format=lambda v: f"{v:.4g}",
        na_rep="—",
        classes="am-saved-table",
        border=0,
    )


@solara.component
def SavedChart(panel: Panel, opened: Opened, dark: bool) -> solara.Element:
    """One KPI panel of a saved run or compare, as the live page draws it at the end."""
    scenarios = opened.scenarios
    by_scenario = len(scenarios) > 1
    items = legend(panel, scenarios, by_scenario)
    band = len(opened.seeds) > 1
    note = not_applicable(panel, scenarios)
    with card(panel.title, classes=["am-chart"]) as box:
        if items:
            html(chart_legend(items, band))
            spec = panel_spec(panel, items, opened.days, band, dark)
            rows = encode({"rows": panel_rows(panel, opened.runs, by_scenario)})
            VegaChart.element(spec=spec, data_json=rows, tag=SAVED_TAG)
        if note:
            html(note, ["am-note"])
    return box


@solara.component
def SavedView(path: str, stamp: str = "") -> solara.Element:
    """A result opened: its report's place and its KPI panels (a run or compare) or its
    table (a sweep); a clear message when it cannot be read. ``stamp``: what its files were
    at the last scan (:func:`.saved.files_stamp`): a new one reads it again."""
    dark = solara.lab.use_dark_effective()
    # read in a task, off the render: a compare of many seeds takes seconds to read, and
    # the page shows it is reading instead of looking frozen. Read again when a Rescan
    # finds its files changed, gone or damaged: the page would otherwise keep drawing what
    # it read first, and a result damaged since would still look fine.
    reading = solara.lab.use_task(
        lambda: _open(path), dependencies=[path, stamp], raise_error=False
    )
    with solara.Column(style="gap: 12px") as view:
        if reading.pending or reading.not_called:
            busy(f"Reading {path}…")
            return view
        if reading.error:  # _open says why for what it expects; anything else here
            solara.Error(f"{path} cannot be opened: {reading.exception}")
            return view
        opened, error = reading.value or (None, "")
        if opened is None:
            solara.Error(f"{path} cannot be opened: {error}")
            return view
        report = opened.report
        where = f"<code>{escape(str(report))}</code>"
        if opened.kind == "sweep":
            html(f"The sweep's summary, as written: {where}", ["am-note"])
        else:
            html(
                f"{opened.kind.capitalize()}: scenarios {', '.join(opened.scenarios)}, seeds "
                f"{', '.join(map(str, opened.seeds))}. Its report: {where} (HTML: "
                f"<code>{escape(str(report.with_suffix('.html')))}</code>)",
                ["am-note"],
            )
        Downloads(opened)
        if opened.kind == "sweep":
            if opened.table is not None:
                with card(f"Sweep summary (its store's {opened.table_name} table)"):
                    html(table_html(opened.table), style="overflow-x: auto")
            if opened.drivers is not None:
                with card("What drives C (its store's drivers table)"):
                    html(table_html(opened.drivers), style="overflow-x: auto")
            for name, png in opened.charts.items():
                with card(f"Chart: charts/{name}"):
                    solara.Image(png, classes=["am-saved-png"])
        else:
            width = "480px" if len(opened.scenarios) > 1 else "380px"
            with solara.Div(classes=["am-grid"], style=f"--am-min: {width}"):
                for panel in PANELS:
                    SavedChart(panel, opened, dark).key(f"{path}-{panel.key}")
    return view


@solara.component
def Downloads(opened: Opened) -> solara.Element:
    """Buttons that download an opened result's report (``report.md`` or ``sweep.md``, and
    ``report.html`` when it has one) and a run's or compare's daily metrics as CSV (its
    store's ``daily_metrics``: a row per day, scenario and seed), all read when it was
    opened."""
    daily = opened.daily
    # one callable per opened result: FileDownload starts afresh when its data changes
    csv = solara.use_memo(
        lambda: None if daily is None else (lambda: daily.to_csv(index=False)), [opened]
    )
    with solara.Row(style="flex-wrap: wrap; gap: 8px") as row:
        if opened.report_text is not None:
            name = opened.report.name
            solara.FileDownload(
                opened.report_text,
                filename=name,
                label=f"Download {name}",
                mime_type="text/markdown",
            )
        if opened.report_html is not None:
            name = opened.report.with_suffix(".html").name
            solara.FileDownload(
                opened.report_html, filename=name, label=f"Download {name}", mime_type="text/html"
            )
        if csv is not None:
            name = f"{opened.path.name}-daily.csv"
            solara.FileDownload(csv, filename=name, label=f"Download {name}", mime_type="text/csv")
    return row


def _open(path: str) -> tuple[Opened | None, str]:
    """The result at ``path`` read, or None and why it cannot be."""
    try:
        return open_result(path), ""
    except (UsageError, ValueError, OSError) as exc:  # ValueError: a config it cannot read
        return None, str(exc).removeprefix(f"{path}: ")


@solara.component
def SavedResults() -> solara.Element:
    """The Saved results page: the results folder's results, and the one opened."""
    router = solara.use_router()
    root = solara.use_memo(results_root, [])
    scans = solara.use_reactive(0)  # Rescan counts up: the list is read again
    chosen = solara.use_reactive("")
    # read in a task, off the render: a folder of many results (or many folders) takes a
    # while, and the page shows it is reading instead of looking frozen
    listing = solara.lab.use_task(
        lambda: _listed(root), dependencies=[root, scans.value], raise_error=False
    )
    with solara.Column(classes=["am-main"], style="gap: 12px") as main:
        solara.Style(CSS + SAVED_CSS)
        solara.Title("admarket saved results")
        with solara.AppBar():
            solara.lab.ThemeToggle()
            page_tabs(SAVED, router)
        with card("Saved results"):
            html(
                f"Results in <code>{escape(str(root))}</code> and its subfolders down to "
                f"{SCAN_DEPTH} levels, as <code>admarket status --depth {SCAN_DEPTH}</code> "
                "lists them (to look deeper, start the explorer with <code>--results DIR</code> "
                "on a folder further down). Only a complete run, compare or sweep opens; "
                "nothing here changes a result.",
                ["am-note"],
            )
            reading = listing.pending or listing.not_called
            solara.Button(
                "Rescan the folder",
                on_click=lambda: scans.set(scans.value + 1),
                disabled=reading,
            )
            # while Rescan reads, the list read last stays shown (under the busy bar) rather
            # than the page emptying for as long as the folder takes to read
            shown = listing.latest if reading else listing.value
            entries, error, stamps, unread = shown or Listing([], "", {}, [])
            if reading:
                busy(f"Reading {root}…")
            elif listing.error:  # _listed says why for what it expects; anything else here
                solara.Error(f"The folder could not be read: {listing.exception}")
            if error:
                solara.Error(error)
            elif not entries and not reading:
                solara.Info(
                    "No results here. Write some with admarket run, compare or sweep --out "
                    "DIR, or start the explorer with --results DIR."
                )
            if unread:
                html(unread_html(root, unread), ["am-note"])
            for entry in entries:
                with solara.Row(classes=["am-saved-entry"], style="align-items: center"):
                    solara.Button(
                        "Open",
                        on_click=lambda p=entry.item.path: chosen.set(p),
                        disabled=not entry.openable,
                        color="primary" if entry.item.path == chosen.value else None,
                    )
                    html(listing_html(entry))
        if chosen.value:
            with card(f"Opened: {escape(_name(chosen.value, root))}"):
                # a result the last scan did not find (gone) has no stamp: a new one, so
                # the view reads it again and says why it cannot be opened
                SavedView(chosen.value, stamps.get(chosen.value, "")).key(chosen.value)
    return main


def busy(what: str) -> None:
    """The explorer's busy bar (as a large first build shows it) and what is being done."""
    solara.ProgressLinear(True, color="warning", classes=["am-busy"])
    solara.Info(what, dense=True)


class Listing(NamedTuple):
    """One scan of the results folder, as the page draws it."""

    entries: list[Listed]
    error: str  # why the folder cannot be listed ("" if it can)
    stamps: dict[str, str]  # each result's files_stamp, by path
    unread: list[str]  # the folders below the levels read (unread_below)


def _listed(root: Path) -> Listing:
    """The results under ``root``, the stamp of each one's files and the folders too deep
    to read, or none and why the folder cannot be listed."""
    try:
        entries = list_results(root)
        unread = unread_below(root)
    except (UsageError, ValueError, OSError) as exc:  # ValueError: a config it cannot read
        return Listing([], str(exc), {}, [])
    stamps = {e.item.path: files_stamp(e.item.path) for e in entries}
    return Listing(entries, "", stamps, unread)


def unread_html(root: Path, unread: list[str]) -> str:
    """What the page says of the folders below the levels it reads: how many, a few of
    them, and how to list what is in them."""
    n = len(unread)
    some = ", ".join(f"<code>{escape(u)}</code>" for u in unread[:3])
    more = f" and {n - 3} more" if n > 3 else ""
    deeper = escape(str(root / Path(unread[0]).parent))
    return (
        f"<b>{n} folder{'s' if n > 1 else ''} more than {SCAN_DEPTH} levels down "
        f"{'were' if n > 1 else 'was'} not read</b> ({some}{more}), nor anything in "
        f"{'them' if n > 1 else 'it'}: there may be more results. To list them, start the "
        f"explorer on a folder further down: <code>admarket explore --results {deeper}</code> "
        f"(or see every result with <code>admarket status {escape(str(root))}</code>)."
    )


def _name(path: str, root: Path) -> str:
    """``path`` relative to the results folder, where it is in it."""
    p = Path(path)
    return str(p.relative_to(root)) if p.is_relative_to(root) else path

"""Browserless: the Saved results page lists what ``admarket run``, ``compare`` and ``sweep
--out`` wrote (complete, incomplete, damaged), opens only a complete result, draws a run's
or compare's KPI panels as the live page does from the same run, and shows a sweep's table;
``admarket explore --results DIR`` chooses the folder."""

from __future__ import annotations

import io
import re
import shutil
import socket
import threading
from pathlib import Path
from typing import Any

import duckdb
import ipyvuetify as vw
import ipywidgets
import numpy as np
import pandas as pd
import pytest
import solara
from solara.components.file_download import FileDownloadWidget

from admarket import MarketModel
from admarket.cli import explore as commands
from admarket.cli import main
from admarket.errors import IncompleteRunError, UsageError
from admarket.outputs.inventory import scan
from admarket.outputs.manifest import (
    COMPLETE_MARKER,
    MARKER_DIGEST,
    STORE_NAME,
    manifest_text,
    read_manifest,
)
from admarket.viz import app, saved_page
from admarket.viz.charts import PANELS, panel_rows
from admarket.viz.page import PATHS, SAVED, forget_pages
from admarket.viz.saved import (
    CHART_COLUMNS,
    RESULTS_ENV,
    SCAN_DEPTH,
    SWEEP_CHARTS,
    list_results,
    open_result,
    unread_below,
)
from admarket.viz.saved_page import SAVED_TAG, SavedResults
from admarket.viz.vega import VegaChart
from tests.explorer.render import _settle
from tests.explorer.render import _wait as render_wait

TINY = ["--buyers", "2", "--sellers", "2", "--campaigns-per-buyer", "2", "--days", "2"]
QUIET = [*TINY, "--no-progress"]


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with a run, a compare over two seeds, a sweep, a damaged copy of the run
    (a file admarket did not write) and an incomplete one (no COMPLETE marker)."""
    root = tmp_path_factory.mktemp("saved")
    assert main(["run", "--scenarios", "b", "--out", str(root / "r1"), *QUIET]) == 0
    compare = ["compare", "--seeds", "2", "--processes", "1", "--out", str(root / "cmp")]
    assert main([*compare, *QUIET]) == 0
    sweep = ["sweep", "--scenarios", "a,c", "--seeds", "1", "--processes", "1"]
    sweep += ["--grid", "exchange_fee=0.1,0.2", "--out", str(root / "studies" / "sw")]
    assert main([*sweep, *QUIET]) == 0
    shutil.copytree(root / "r1", root / "dmg")
    (root / "dmg" / "notes.txt").write_text("mine")
    shutil.copytree(root / "r1", root / "inc")
    (root / "inc" / "COMPLETE").unlink()
    return root


def _held_scans(monkeypatch: pytest.MonkeyPatch) -> tuple[threading.Event, threading.Event]:
    """Make the page's scans wait: each sets the first event on starting and lists the
    folder only once the second is set (or after 30 s)."""
    entered, release = threading.Event(), threading.Event()

    def slow_list(folder: Path) -> list[Any]:
        entered.set()
        release.wait(30)
        return list_results(folder)

    monkeypatch.setattr(saved_page, "list_results", slow_list)
    return entered, release


def test_the_list_says_what_each_result_is_and_which_open(results: Path) -> None:
    listed = {e.name: e for e in list_results(results)}
    assert set(listed) == {"r1", "cmp", "studies/sw", "dmg", "inc"}
    states = {n: (e.item.kind, e.state, e.openable) for n, e in listed.items()}
    assert states == {
        "r1": ("run", "complete", True),
        "cmp": ("compare", "complete", True),
        "studies/sw": ("sweep", "complete", True),
        "dmg": ("run", "damaged", False),
        "inc": ("unknown", "incomplete", False),
    }
    assert listed["cmp"].runs.startswith("scenarios A, B, C × seeds 42, 43 (6 runs")
    assert listed["cmp"].config == (
        "defaults except campaigns_per_buyer=2, days=2, n_buyers=2, n_sellers=2"
    )
    assert "grid points over exchange_fee" in listed["studies/sw"].runs
    assert "notes.txt" in listed["dmg"].why_not and "this one is damaged —" in listed["dmg"].why_not
    assert "no COMPLETE marker" in listed["inc"].why_not
    assert all(e.why_not == "" for e in listed.values() if e.openable)
    with pytest.raises(UsageError, match="is not a folder"):
        list_results(results / "nope")


def test_a_saved_run_draws_the_live_pages_panels(results: Path) -> None:
    opened = open_result(results / "r1")
    assert opened.kind == "run" and opened.scenarios == ("B",) and opened.seeds == [42]
    assert opened.report == results / "r1" / "report.md" and opened.report.is_file()
    live = MarketModel("B", opened.runs["B"][0].config)
    while live.running:
        live.step()
    for panel in PANELS:  # the same rows the live page draws at the end of the same run
        for by_scenario in (False, True):
            want = panel_rows(panel, {"B": [live]}, by_scenario)
            assert panel_rows(panel, opened.runs, by_scenario) == want, panel.key


def test_a_saved_compare_has_every_scenario_and_a_band_over_its_seeds(results: Path) -> None:
    opened = open_result(results / "cmp")
    assert opened.kind == "compare" and opened.scenarios == ("A", "B", "C")
    assert opened.seeds == [42, 43] and opened.days == 2
    blocks = panel_rows(PANELS[0], opened.runs, True)
    assert [b["k"] for b in blocks] == ["A: take rate", "B: take rate", "C: take rate"]
    assert all("lo" in b and "hi" in b and b["__n"] == 2 * 24 + 1 for b in blocks)


def test_a_saved_results_hourly_record_is_kept_as_float_arrays(results: Path) -> None:
    # each hour was a Python float in a list (32 bytes with its pointer): a compare of many
    # seeds and days took gigabytes; an array holds it in 8 bytes an hour
    opened = open_result(results / "cmp")
    columns = [
        v for rs in opened.runs.values() for r in rs for v in r.datacollector.model_vars.values()
    ]
    assert len(columns) == 6 * len(set(CHART_COLUMNS))
    assert all(isinstance(v, np.ndarray) and v.dtype == np.float64 for v in columns)
    assert all(v.nbytes == 8 * (2 * 24 + 1) and v.base is None for v in columns)  # no view


def test_a_saved_sweep_opens_as_its_summary_table(results: Path) -> None:
    opened = open_result(results / "studies" / "sw")
    assert opened.kind == "sweep" and opened.runs == {}
    assert opened.table_name == "break_even" and opened.table is not None
    assert set(opened.table["exchange_fee"]) == {0.1, 0.2}
    # what drives C, and the charts sweep.md shows, as its files hold them
    assert opened.drivers is not None and set(opened.drivers["parameter"]) == {"exchange_fee"}
    sw = results / "studies" / "sw"
    assert list(opened.charts) == ["break_even.png", "drivers.png"]
    assert all(png == (sw / "charts" / n).read_bytes() for n, png in opened.charts.items())
    assert opened.report.name == "sweep.md" and opened.report.is_file()


def test_damaged_and_incomplete_results_do_not_open(results: Path) -> None:
    with pytest.raises(UsageError, match="did not write"):
        open_result(results / "dmg")
    with pytest.raises(IncompleteRunError, match="no COMPLETE marker"):
        open_result(results / "inc")


def test_a_result_without_report_html_offers_only_its_markdown(
    results: Path, tmp_path: Path
) -> None:
    # report.html is read for its download when there is one, and only then
    assert (
        open_result(results / "cmp").report_html == (results / "cmp" / "report.html").read_bytes()
    )
    md_only = tmp_path / "md-only"
    shutil.copytree(results / "r1", md_only)
    (md_only / "report.html").unlink()
    _reseal(md_only)
    opened = open_result(md_only)
    assert opened.report_html is None and opened.report_text is not None


def _reseal(folder: Path) -> None:
    """Mark ``folder`` complete again as it now is (its marker's meta kept), as admarket
    would have published it."""
    old = read_manifest(folder)
    assert old is not None
    written = ("files", "sha256", MARKER_DIGEST, "format", "manifest_version")
    meta = {k: v for k, v in old.items() if k not in written}
    (folder / COMPLETE_MARKER).write_text(manifest_text(folder, meta))


def test_a_store_from_an_older_admarket_without_the_hourly_record_is_refused_clearly(
    results: Path, tmp_path: Path
) -> None:
    # admarket before step_metrics wrote complete results the page cannot chart: it says
    # which table is missing and where the report is, instead of failing on the query
    old = tmp_path / "old"
    shutil.copytree(results / "r1", old)
    con = duckdb.connect(str(old / STORE_NAME))
    con.execute("DROP TABLE step_metrics")
    con.close()
    _reseal(old)
    assert [(i.kind, i.status) for i in scan(old)] == [("run", "complete")]
    with pytest.raises(UsageError) as refused:
        open_result(old)
    assert "no step_metrics table" in str(refused.value)
    assert "older admarket" in str(refused.value)
    assert str(old / "report.md") in str(refused.value)


@solara.component
def _routed(page: solara.Element, pushed: list[str], path: str) -> solara.Element:
    """``page`` under a router that records where the app bar's tabs send the address."""
    solara.routing.router_context.provide(solara.routing.Router(path, app.routes, pushed.append))
    solara.routing._location_context.provide(solara.routing._Location(path, pushed.append))
    return solara.AppLayout(children=[page])


def _busy(rc: Any) -> bool:
    """Whether the page shows it is working (the explorer's busy bar)."""
    return bool(rc.find(vw.ProgressLinear, class_="am-busy").widgets)


def _wait(what: Any, timeout: float = 60) -> None:
    """Wait for the page's task to draw ``what`` (see :func:`render._wait`: ``what`` names the
    state the test needs, not one the page passes through on its way)."""
    render_wait(what, timeout)


def _says(rc: Any, *words: str) -> bool:
    """Whether one of the page's error or info lines holds all of ``words``."""
    return any(all(w in str(a.children) for w in words) for a in rc.find(vw.Alert).widgets)


def _open_buttons(rc: Any) -> list[Any]:
    return rc.find(vw.Btn, children=["Open"]).widgets


def _text(rc: Any) -> str:
    return " ".join(w.unsafe_innerHTML or "" for w in rc.find(solara.widgets.HTML).widgets)


def _shown_names(rc: Any) -> list[str]:
    """The results' names as the page's list shows them, top to bottom."""
    shown = (re.match(r"<b>(.*?)</b> — ", w.unsafe_innerHTML or "") for w in _entries(rc))
    return [m.group(1) for m in shown if m]


def _entries(rc: Any) -> list[Any]:
    """The HTML of the list's lines, in the order the page draws them (a walk of the
    widget tree, depth first: the order a browser lays them out)."""
    found: list[Any] = []

    def walk(w: Any, in_entry: bool) -> None:
        for c in getattr(w, "children", None) or []:
            if isinstance(c, solara.widgets.HTML) and in_entry:
                found.append(c)
            if hasattr(c, "children"):
                walk(c, in_entry or "am-saved-entry" in (getattr(c, "class_", "") or ""))

    walk(rc.container, False)
    return found


def test_the_page_lists_opens_and_refuses(
    results: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    forget_pages()
    root = tmp_path / "results"
    shutil.copytree(results, root)
    monkeypatch.setenv(RESULTS_ENV, str(root))
    pushed: list[str] = []
    _box, rc = solara.render(_routed(SavedResults(), pushed, PATHS[SAVED]), handle_error=False)
    _wait(lambda: len(_open_buttons(rc)) == 5 and not _busy(rc))
    # the page shows them by path (this checked the scan's order, not what the page drew)
    assert _shown_names(rc) == ["cmp", "dmg", "inc", "r1", "studies/sw"]
    buttons = _open_buttons(rc)
    assert [not b.disabled for b in buttons] == [True, False, False, True, True]
    text = _text(rc)
    assert "damaged" in text and "incomplete" in text and "Cannot be opened" in text
    assert not rc.find(VegaChart).widgets
    buttons[0].click()  # the compare: eight panels, drawn once, and where its report is
    _wait(lambda: bool(rc.find(VegaChart).widgets) and not _busy(rc))
    charts = rc.find(VegaChart).widgets
    assert len(charts) == len(PANELS) and {c.tag for c in charts} == {SAVED_TAG}
    assert all('"rows"' in c.data_json and '"v"' in c.data_json for c in charts)
    assert str(root / "cmp" / "report.md") in _text(rc)
    # its report (as Markdown and HTML) and daily metrics download (read when it was opened)
    loads = {w.filename: w for w in rc.find(FileDownloadWidget).widgets}
    assert list(loads) == ["report.md", "report.html", "cmp-daily.csv"]
    for load in loads.values():
        load.request_download = True
    _wait(lambda: all(w.bytes for w in loads.values()))
    assert loads["report.md"].bytes == (root / "cmp" / "report.md").read_bytes()
    assert loads["report.html"].bytes == (root / "cmp" / "report.html").read_bytes()
    assert loads["report.html"].mime_type == "text/html"
    daily = pd.read_csv(io.BytesIO(loads["cmp-daily.csv"].bytes))
    assert len(daily) == 3 * 2 * 2 and daily["seed"].tolist()[:3] == [42, 42, 43]
    assert {"scenario", "simulation_day", "daily_goal_attainment"} <= set(daily.columns)
    _open_buttons(rc)[4].click()  # the sweep: its table, no charts
    _wait(lambda: "break_even table" in _text(rc) and not _busy(rc))
    assert not rc.find(VegaChart).widgets
    assert "drivers table" in _text(rc) and "What drives C" in _text(rc)
    loads = rc.find(FileDownloadWidget).widgets
    assert [w.filename for w in loads] == ["sweep.md"]  # a sweep: its summary (no HTML)
    images = rc.find(ipywidgets.Image).widgets
    want = [(root / "studies" / "sw" / "charts" / n).read_bytes() for n in SWEEP_CHARTS]
    assert [bytes(i.value) for i in images] == want
    assert "break_even table" in _text(rc) and str(root / "studies" / "sw" / "sweep.md") in _text(
        rc
    )
    # damaged after the list was made: refused with the reason `admarket query` gives
    (root / "r1" / "stray.txt").write_text("x")
    _open_buttons(rc)[3].click()
    _wait(lambda: not _busy(rc) and _says(rc, "cannot be opened", "stray.txt"))
    assert "break_even table" not in _text(rc)
    # the app bar's tabs: Home, side-by-side, Saved results (this page)
    (nav,) = rc.find(vw.Tabs).widgets
    assert [t.children for t in rc.find(vw.Tab).widgets] == [
        ["Home"], ["side-by-side"], ["Saved results"]
    ]  # fmt: skip
    assert nav.v_model == 2
    nav.v_model = 0
    assert pushed == ["/"]
    rc.close()


def test_explore_results_names_the_folder_the_page_lists(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    envs: list[dict[str, str]] = []
    monkeypatch.setattr(commands, "preflight", lambda: [])
    monkeypatch.setattr(commands.os, "execve", lambda exe, argv, env: envs.append(env))
    monkeypatch.chdir(tmp_path)
    (tmp_path / "runs").mkdir()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = str(probe.getsockname()[1])
    assert main(["explore", "--port", port, "--results", "runs"]) == 0
    assert envs[-1][RESULTS_ENV] == str(tmp_path / "runs")  # absolute: the server's cwd may differ
    capsys.readouterr()
    assert main(["explore", "--port", port, "--results", "nope"]) == 2
    err = capsys.readouterr().err
    assert "--results 'nope': does not exist" in err and len(err.strip().splitlines()) == 1
    (tmp_path / "file").write_text("")
    assert main(["explore", "--port", port, "--results", "file"]) == 2
    assert "is not a folder" in capsys.readouterr().err


def test_the_list_looks_a_few_levels_down_as_status_depth_does(
    results: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # an unbounded walk of a large folder (a home directory) kept the page reading for long
    shutil.copytree(results / "r1", tmp_path / "a" / "b" / "near")
    shutil.copytree(results / "r1", tmp_path / "a" / "b" / "c" / "far")
    assert [e.name for e in list_results(tmp_path)] == ["a/b/near"]  # SCAN_DEPTH levels
    assert [e.name for e in list_results(tmp_path, depth=None)] == ["a/b/c/far", "a/b/near"]
    assert list_results(tmp_path, depth=2) == []
    capsys.readouterr()
    assert main(["status", "--depth", str(SCAN_DEPTH), str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "a/b/near" in out and "far" not in out and out.startswith(f"{tmp_path}: 1 item")
    assert main(["status", str(tmp_path)]) == 0  # status looks everywhere unless told
    assert "a/b/c/far" in capsys.readouterr().out
    assert main(["status", "--depth", "-1", str(tmp_path)]) == 2
    assert "--depth -1: give 0" in capsys.readouterr().err


def test_the_page_reads_the_folder_off_the_render_with_the_busy_bar(
    results: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    forget_pages()
    monkeypatch.setenv(RESULTS_ENV, str(results))
    entered, release = _held_scans(monkeypatch)
    _box, rc = solara.render(_routed(SavedResults(), [], PATHS[SAVED]), handle_error=False)
    assert entered.wait(30), "the scan did not start"
    _settle(rc)  # a render the task's thread asked for is drawn (it says the same)
    assert _busy(rc) and not _open_buttons(rc)  # drawn while the folder is being read
    alerts = [str(w.children) for w in rc.find(vw.Alert).widgets]
    assert any(f"Reading {results}" in a for a in alerts), alerts
    assert rc.find(vw.Btn, children=["Rescan the folder"]).widget.disabled
    release.set()
    _wait(lambda: len(_open_buttons(rc)) == 5 and not _busy(rc))
    rc.close()


def test_a_result_is_opened_off_the_render_with_the_busy_bar(
    results: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a compare of many seeds takes seconds to read: the page says so instead of freezing
    forget_pages()
    monkeypatch.setenv(RESULTS_ENV, str(results))
    entered, release = threading.Event(), threading.Event()

    def slow_open(path: str) -> Any:
        entered.set()
        release.wait(30)
        return open_result(path)

    monkeypatch.setattr(saved_page, "open_result", slow_open)
    _box, rc = solara.render(_routed(SavedResults(), [], PATHS[SAVED]), handle_error=False)
    _wait(lambda: len(_open_buttons(rc)) == 5 and not _busy(rc))
    _open_buttons(rc)[0].click()  # the compare
    assert entered.wait(30), "the opening did not start"
    _settle(rc)  # a render the task's thread asked for is drawn (it says the same)
    assert _busy(rc) and not rc.find(VegaChart).widgets
    alerts = [str(w.children) for w in rc.find(vw.Alert).widgets]
    assert any(f"Reading {results / 'cmp'}" in a for a in alerts), alerts
    release.set()
    _wait(lambda: len(rc.find(VegaChart).widgets) == len(PANELS) and not _busy(rc))
    rc.close()


def test_rescan_keeps_the_previous_list_shown_until_the_new_one_arrives(
    results: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the list was hidden while Rescan read the folder: a large folder left the page empty
    forget_pages()
    monkeypatch.setenv(RESULTS_ENV, str(results))
    _box, rc = solara.render(_routed(SavedResults(), [], PATHS[SAVED]), handle_error=False)
    _wait(lambda: len(_open_buttons(rc)) == 5 and not _busy(rc))
    before = _text(rc)
    entered, release = _held_scans(monkeypatch)
    rescan = rc.find(vw.Btn, children=["Rescan the folder"]).widget
    rescan.click()
    assert entered.wait(30), "the rescan did not start"
    _wait(lambda: _busy(rc))
    assert len(_open_buttons(rc)) == 5 and "cmp" in _text(rc)  # the list read last, shown
    assert rc.find(vw.Btn, children=["Rescan the folder"]).widget.disabled
    release.set()
    _wait(lambda: not _busy(rc) and not rescan.disabled)
    _settle(rc)
    assert len(_open_buttons(rc)) == 5 and _text(rc) == before
    rc.close()


def test_rescan_reads_an_open_result_again_when_its_files_changed(
    results: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Rescan read the list again but kept drawing the open result as first read: one written
    # again, damaged or removed since still showed its old charts
    forget_pages()
    root = tmp_path / "results"
    root.mkdir()
    shutil.copytree(results / "cmp", root / "cmp")
    shutil.copytree(results / "r1", root / "r1")
    monkeypatch.setenv(RESULTS_ENV, str(root))
    _box, rc = solara.render(_routed(SavedResults(), [], PATHS[SAVED]), handle_error=False)
    _wait(lambda: len(_open_buttons(rc)) == 2 and not _busy(rc))
    rescan = rc.find(vw.Btn, children=["Rescan the folder"]).widget
    _open_buttons(rc)[0].click()  # the compare
    _wait(lambda: "Compare: scenarios A, B, C" in _text(rc) and not _busy(rc))
    reads: list[str] = []
    monkeypatch.setattr(saved_page, "open_result", lambda p: reads.append(p) or open_result(p))
    scans: list[Path] = []  # each scan of the folder: a click's is over when it is listed
    monkeypatch.setattr(saved_page, "list_results", lambda f: scans.append(f) or list_results(f))
    rescan.click()  # nothing changed: not read again
    _wait(lambda: len(scans) == 1 and not _busy(rc) and not rescan.disabled)
    _settle(rc)
    assert reads == [] and "Compare: scenarios A, B, C" in _text(rc)
    shutil.rmtree(root / "cmp")  # written again: now the run
    shutil.copytree(results / "r1", root / "cmp")
    rescan.click()
    _wait(lambda: "Run: scenarios B" in _text(rc) and not _busy(rc))
    assert reads == [str(root / "cmp")] and rc.find(VegaChart).widgets
    (root / "cmp" / "stray.txt").write_text("x")  # damaged since: closed, with the reason
    rescan.click()
    _wait(lambda: not _busy(rc) and _says(rc, "cannot be opened", "stray.txt"))
    assert not rc.find(VegaChart).widgets
    shutil.rmtree(root / "cmp")  # gone: closed, with the reason
    rescan.click()
    gone = "cannot be opened: no such output directory"
    _wait(lambda: not _busy(rc) and len(_open_buttons(rc)) == 1 and _says(rc, gone))
    assert len(reads) == 3
    rc.close()


def test_the_page_says_which_folders_lie_below_the_levels_it_reads(
    results: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # results more than SCAN_DEPTH levels down were left out without a word
    shutil.copytree(results / "r1", tmp_path / "a" / "b" / "near")  # its charts/, logs/: its own
    shutil.copytree(results / "r1", tmp_path / "a" / "b" / "c" / "far")
    (tmp_path / "a" / "b" / "c" / ".hidden").mkdir()  # the scan skips it: not counted
    assert unread_below(tmp_path) == ["a/b/c/far"]
    assert unread_below(results) == []  # studies/sw/charts is the sweep's own
    forget_pages()
    monkeypatch.setenv(RESULTS_ENV, str(tmp_path))
    _box, rc = solara.render(_routed(SavedResults(), [], PATHS[SAVED]), handle_error=False)
    _wait(lambda: len(_open_buttons(rc)) == 1 and not _busy(rc))
    text = _text(rc)
    assert f"1 folder more than {SCAN_DEPTH} levels down was not read" in text, text
    assert "<code>a/b/c/far</code>" in text and "there may be more results" in text
    assert f"admarket explore --results {tmp_path / 'a' / 'b' / 'c'}" in text
    rc.close()

"""The explorer's pages: settings in the sidebar; the clock, the pictures, Info and export
in the main area.

One component, :func:`ExplorerPage`, draws both pages: the explorer (one scenario) and the
side-by-side page (A, B and C on one seed). The controls are in :mod:`.controls`, the
pictures in :mod:`.stage`; reacton renders them when the page's structure changes (a
rebuild, the theme, the draft), and the clock redraws only the contents of the live
elements (:mod:`.live`) straight into their widgets. This module adds the tabs, the Info
pane and the Share and export pane (CSV, CLI command, link, full report).
"""

from __future__ import annotations

import time
from typing import Any

import solara
import solara.lab
from solara.toestand import KernelStoreFactory

from admarket.config import SCENARIOS
from admarket.viz.controls import SettingsPanel, TimeBar
from admarket.viz.html import CSS
from admarket.viz.info import info_html
from admarket.viz.live import card, html
from admarket.viz.params import cli_command, from_query, to_query
from admarket.viz.research import daily_csv, report_settings
from admarket.viz.session import Settings
from admarket.viz.stage import Stage
from admarket.viz.state import PageState
from admarket.viz.widgets import Copy

TABS = ("Run", "Info: what, notice, try, terms", "Share and export")


# --- research ------------------------------------------------------------------------------
@solara.component
def ResearchPanel(state: PageState, report_task: Any) -> solara.Element:
    """Export the daily metrics, copy the CLI command, write the full report."""
    session = state.session.value
    settings = session.settings
    report = state.report.value
    command = cli_command(settings)
    with solara.Column(style="gap: 12px; max-width: 60em") as panel:
        with card("Daily metrics (CSV)"):
            html(
                "One row per simulated day and market (every scenario and seed shown): goal "
                "attainment, facts held and lost, restarts, recoveries, claims, spend and "
                "take, as in the run store's <code>daily_metrics</code> table.",
                ["am-note"],
            )
            name = f"admarket-{''.join(settings.scenarios)}-seed{settings.config.seed}-daily.csv"
            solara.FileDownload(
                lambda: daily_csv(state.session.value),
                filename=name,
                label=f"Download {name}",
                mime_type="text/csv",
            )
        with card("Reproduce this run on the command line"):
            html(
                "The first seed's run, exactly (same config, same seed → same numbers):",
                ["am-note"],
            )
            html(command, ["am-cli"])
            Copy(command, "Copy command")
        with card("Share this view"):
            query = to_query(settings, with_scenario=not state.compare)
            html(
                "A link to this page with the applied settings (its address bar shows it "
                f"after Apply): <code>?{query}</code>",
                ["am-note"],
            )
            Copy("?" + query, "Copy link")
        with card("Full report for these parameters"):
            out_cmd = cli_command(report_settings(settings), out="DIR")
            html(
                "Runs A, B and C to the end on these parameters and writes the run store, "
                "event and narrative logs and the report (markdown and HTML) — what "
                f"<code>{out_cmd}</code> writes.",
                ["am-note"],
            )
            solara.Button(
                "Write the full report",
                on_click=report_task,
                disabled=report.state == "running",
                color="primary",
            )
            if report.state == "running":
                solara.ProgressLinear(True)
                solara.Text(f"Working: {report.message}")
            elif report.state == "done":
                solara.Success(f"Report {report.message}: {report.path}", classes=["am-report"])
                html_path = f"{report.path}/report.html"
                solara.FileDownload(
                    lambda: open(html_path, "rb").read(),  # noqa: SIM115
                    filename="report.html",
                    label="Download report.html",
                    mime_type="text/html",
                )
            elif report.state == "failed":
                solara.Error(f"The report could not be written: {report.message}")
    return panel


# --- the page ------------------------------------------------------------------------------
# Each browser session's page states, by page (False: the explorer, True: side by side). A
# route change unmounts the page's component, so state kept in the component (use_memo)
# was built anew on coming back: the settings, the draft and the clock were lost. Kept per
# kernel (one per browser page), a state outlives its component but is never shared with
# another browser session; it goes when the kernel does.
_PAGES: solara.Reactive[dict[bool, PageState]] = solara.Reactive(
    KernelStoreFactory(dict, key="admarket.viz.page:pages")
)


# A first visit builds the page's markets before the page can draw them. The defaults build
# in hundredths of a second, so a small market is built in the page's render, at once; a
# larger one (seconds side by side or over several seeds: 15 markets of 200 × 200 take ~6 s)
# in a task, while the page shows that it is building instead of looking frozen. The size
# (build_size) grows with the build's time, ~0.07 ms a unit as measured on markets from
# 5 × 5 to 1,000 × 50 and 50 × 1,000: this bound is ~0.15 s; the defaults are 90 (270 side
# by side).
BUILD_IN_PAGE_UP_TO = 2_000
SELLER_COST = 8  # a seller (and its products) takes about as long to build as 8 campaigns


def build_size(settings: Settings) -> int:
    """How much building ``settings``' markets takes, roughly: markets × (campaigns + 8 ×
    sellers); up to :data:`BUILD_IN_PAGE_UP_TO` they are built in the page's render."""
    cfg = settings.config
    markets = len(settings.scenarios) * settings.seeds
    return markets * (cfg.n_buyers * cfg.campaigns_per_buyer + SELLER_COST * cfg.n_sellers)


def link_settings(compare: bool, search: str | None) -> tuple[Settings, list[str]]:
    """The settings a page's address stands for: its defaults with the address's query
    (``search``) over them, and a message per item of the query left out. A first visit
    builds them; a later change of the address (Back, Forward) rebuilds the page with them."""
    default = Settings(scenarios=SCENARIOS if compare else ("B",))
    return from_query(search, default)


def _built(
    pages: dict[bool, PageState],
    compare: bool,
    first: tuple[Settings, list[str]],
    why: str | None = None,
) -> PageState:
    if compare not in pages:
        settings, problems = first
        start = time.perf_counter()
        state = PageState(settings, compare, problems)
        if why:  # the page tabs brought the other page's settings here: say so
            took = time.perf_counter() - start
            label = state.session.value.label()
            state.status.value = f"{why}: new markets built in {took:.1f} s — {label}."
        # setdefault: a visit left and made again while a build runs builds twice; one stays
        pages.setdefault(compare, state)
    return pages[compare]


def page_state(compare: bool, search: str | None) -> PageState:
    """This browser session's state of a page, built on its first visit from the link's
    query (``search``); later visits find it as it was left (a page tab carrying other
    settings to it rebuilds it when it is shown: see :func:`page_link`)."""
    pages = _PAGES.peek()
    if compare in pages:
        return pages[compare]
    return _built(pages, compare, link_settings(compare, search), arrival(compare, search))


# Where each page lives (app.routes is made from these); the page tabs link to them. The
# Saved results page (:mod:`.saved_page`) has no market of its own: its key is SAVED.
SAVED = "saved"
PATHS: dict[bool | str, str] = {False: "/", True: "/side-by-side", SAVED: "/saved"}
PAGE_NAMES: dict[bool | str, str] = {False: "Home", True: "side-by-side", SAVED: "Saved results"}
PAGE_ORDER: tuple[bool | str, ...] = (False, True, SAVED)  # the app bar's tabs, in order


def page_path(path: str) -> str:
    """``path`` as :data:`PATHS` writes it: one leading slash, none trailing (``"/"`` for
    the root). The app's routes take ``/side-by-side/`` for ``/side-by-side``, so the page
    is drawn there; compared as typed, the page did not take it for its own address and
    followed none of its changes (Back, Forward, a link)."""
    return "/" + path.strip("/")


# What the page tabs carried to each page, from where: (the query of the address they
# pushed, the status line's reason). The page arriving at that address takes it, so its
# status says the settings came from the other page, not that it was merely reset.
_ARRIVALS: solara.Reactive[dict[bool, tuple[str, str]]] = solara.Reactive(
    KernelStoreFactory(dict, key="admarket.viz.page:arrivals")
)


def carried(target: bool, source: bool) -> Settings | None:
    """The settings page ``target`` is to show when the page tabs take the user there from
    page ``source``: ``source``'s applied parameters, seeds and preset (those being built
    after Apply; never its draft) on ``target``'s own scenarios (its scenario choice; before
    its first visit its default: B on Home, A, B and C side by side). A market set up on
    Home is the one compared side by side, and back. None while ``source`` is first being
    built."""
    pages = _PAGES.peek()
    if source not in pages:
        return None
    here = pages[source]
    s = here.pending or here.applied
    there = pages.get(target)
    if there is not None:
        scenarios = (there.pending or there.applied).scenarios
    else:
        scenarios = link_settings(target, None)[0].scenarios
    return Settings(s.config, scenarios, s.seeds, s.preset)


def page_link(target: bool | str, source: bool | str) -> str:
    """The address the page tabs push to go from page ``source`` to page ``target``: its
    path and the query of :func:`carried` settings. The page follows its address, so this
    address is all the carrying: a page not visited yet is built from it (as from a shared
    link), a page showing other settings is rebuilt with them (:meth:`PageState.follow`),
    and one showing the same keeps its run, clock and draft. Before ``source`` is built,
    and from the Saved results page (:data:`SAVED`, which has no settings), ``target``'s
    own address (its applied settings; its bare path before its first visit); to the Saved
    results page, always its bare path."""
    if isinstance(target, str):
        return PATHS[target]
    settings = None if isinstance(source, str) else carried(target, source)
    if settings is None:
        state = _PAGES.peek().get(target)
        if state is None:
            return PATHS[target]
        settings = state.applied
    return f"{PATHS[target]}?{to_query(settings, with_scenario=not target)}"


def arrival(compare: bool, search: str | None) -> str | None:
    """Why page ``compare`` is shown at the address with query ``search``: "Settings carried
    over from Home" when the page tabs have just pushed it, None otherwise (Back, Forward,
    a link). The page tabs' note is taken by the first render at an address, and said
    only if that is the address it was left for: it says so once, and never later of an
    address reached another way (Back or Forward to the same query)."""
    if search is None:  # drawn away from its path: no address to arrive at
        return None
    note = _ARRIVALS.peek().pop(compare, None)
    if note is None or note[0] != search:
        return None
    return note[1]


def forget_pages() -> None:
    """Drop this browser session's page states (the next visit builds them afresh)."""
    _PAGES.peek().clear()
    _ARRIVALS.peek().clear()


def page_tabs(current: bool | str, router: solara.routing.Router) -> solara.Element:
    """The tabs to the pages, in place of the layout's own route tabs (the app layout takes
    a :func:`solara.lab.Tabs` put in the app bar for them, so this is an element, not a
    component of its own).

    The layout's tabs went to a page's bare path: a page shown again kept its settings, but
    the address bar lost them, and a copied address built another run. Then each page kept
    its own settings: a market set up on Home was not the one shown side by side. These
    carry this page's applied settings to the other page, in its address
    (:func:`page_link`), in one history entry; the page there follows it.
    ``current``: the page shown (False: Home, True: side-by-side, :data:`SAVED`).
    """

    def go(index: int) -> None:
        other = PAGE_ORDER[index]
        if other != current:
            link = page_link(other, current)
            # a built page's settings are carried to the other page (see carried)
            if not isinstance(other, str) and current in _PAGES.peek():
                why = f"Settings carried over from {PAGE_NAMES[current]}"
                _ARRIVALS.peek()[other] = (link.partition("?")[2], why)
            router.push(link)

    with solara.lab.Tabs(value=PAGE_ORDER.index(current), on_value=go, align="center") as tabs:
        for c in PAGE_ORDER:
            solara.lab.Tab(PAGE_NAMES[c])
    return tabs


@solara.component
def ExplorerPage(compare: bool = False) -> solara.Element:
    """A whole explorer page: one scenario, or A, B and C side by side (``compare``).

    On a first visit to a large market the page shows that it is building, and draws the
    rest once it has (see :data:`BUILD_IN_PAGE_UP_TO`)."""
    router = solara.use_router()
    pages = _PAGES.peek()
    # a first visit's settings, from the address it opened (read once: once built, the page
    # follows a change of its address in PageBody)
    first = solara.use_memo(
        lambda: None if compare in pages else link_settings(compare, router.search), []
    )

    # why: the page tabs brought the other page's settings to this first visit (read here,
    # in the render: the build may run in a task)
    why = solara.use_memo(lambda: None if compare in pages else arrival(compare, router.search), [])

    def build_first() -> PageState:
        assert first is not None  # only a first visit builds
        return _built(pages, compare, first, why)

    build = solara.lab.use_task(build_first, dependencies=None)
    if first is not None and build_size(first[0]) <= BUILD_IN_PAGE_UP_TO:
        _built(pages, compare, first, why)
    solara.use_effect(lambda: None if compare in pages else build(), [])
    # read in the render, so that the build's end (its state, or its error) draws it again
    state, failed = pages.get(compare) or build.value, build.exception
    title = "A | B | C side by side" if compare else "admarket explorer"
    with solara.Column(classes=["am-main"], style="gap: 0") as main:
        solara.Style(CSS)
        solara.Title(title)
        with solara.AppBar():
            solara.lab.ThemeToggle()
            page_tabs(compare, router)
        if state is not None:
            # the query of the page's address ("" for its bare path); None when the page is
            # drawn away from its path (outside the app's routes): no address to follow
            at_home = page_path(router.path) == PATHS[compare]
            PageBody(state, (router.search or "") if at_home else None).key("page")
        else:
            with solara.Div(classes=["am-card", "am-timebar"]).key("building"):
                if failed is not None:
                    solara.Error(f"Could not build the market: {failed}")
                else:
                    solara.ProgressLinear(True, color="warning", classes=["am-busy"])
                    solara.Info("Building the market from the settings…", dense=True)
    return main


@solara.component
def PageBody(state: PageState, search: str | None = None) -> solara.Element:
    """The sidebar, the clock and the panes of a page whose markets are built.

    ``search``: the query of the page's address ("" for its bare path; None: no address).
    The page follows it: when it changes (Back or Forward over Apply's history entries, a
    link followed) the page is rebuilt with what a first visit to that address builds
    (:meth:`PageState.follow`); a page tab's address carries the other page's settings
    here, and the status line says so. The address Apply has just pushed, or a page tab's
    with the settings already shown, is what the page already shows or builds: nothing is
    built twice, the clock is kept."""
    # leaving the page (another route, a closed tab) stops a run that is playing
    solara.use_effect(lambda: state.stop, [])
    rebuild = solara.lab.use_task(state.rebuild, dependencies=None)

    def follow() -> None:
        if search is None:
            return
        settings, problems = link_settings(state.compare, search)
        # the page tabs' carrying says so; Back, Forward or a link: the address's settings
        why = arrival(state.compare, search) or "Settings from the address"
        if state.follow(settings, problems, why):
            rebuild()

    solara.use_effect(follow, [search])
    report = solara.lab.use_task(state.run_report, dependencies=None)
    tab = state.pane.value
    with solara.Column(style="gap: 0; max-width: 100%") as body:
        with solara.Sidebar():
            SettingsPanel(state, rebuild)
        TimeBar(state, rebuild)
        # Plain tabs over always-mounted panes: the pictures keep their charts (and the
        # clock keeps drawing) while Info or the export pane is open.
        solara.v.Tabs(
            v_model=tab,
            on_v_model=state.pane.set,
            children=[solara.v.Tab(children=[label]) for label in TABS],
            class_="am-tabs",
        )
        for i, pane in enumerate(TABS):
            with solara.Div(classes=["am-pane"], style="" if tab == i else "display: none").key(
                f"pane-{pane}"
            ):
                if i == 0:
                    Stage(state)
                elif i == 1:
                    html(info_html(), ["am-info", "am-card"])
                else:
                    ResearchPanel(state, report)
    return body


@solara.component
def Explorer() -> solara.Element:
    """The explorer: one scenario (B unless the link says otherwise)."""
    return ExplorerPage(compare=False)


@solara.component
def SideBySide() -> solara.Element:
    """A, B and C on the same seed, stepping together."""
    return ExplorerPage(compare=True)

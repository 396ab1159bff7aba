"""The explorer's pages: controls in the sidebar; clock, pictures, Info and export in the main area.

One component, :func:`ExplorerPage`, draws both pages: the explorer (one scenario) and
the side-by-side page (A, B and C on one seed). Reacton renders the page when its structure
changes (a rebuild, the theme, the draft); the clock redraws only the contents of the live
elements (charts' rows, the feed, the clock) straight into their widgets — see
:func:`use_live` and :meth:`~admarket.viz.state.PageState.draw`. Every chart is a
:class:`~admarket.viz.vega.VegaChart` drawn by the browser.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import solara
import solara.lab

from admarket.config import SCENARIOS, preset_names, preset_source
from admarket.viz.charts import PANELS, Panel, legend, not_applicable, panel_rows, panel_spec
from admarket.viz.feed import feed_html, feed_lines, scoreboard_html
from admarket.viz.graph import (
    FADE_DAYS,
    MAX_BARS,
    MEMORY_PARTS,
    graph_data,
    graph_legend,
    graph_shape,
    graph_spec,
    memory_rows,
    memory_spec,
)
from admarket.viz.html import CSS, chart_legend, graph_legend_html
from admarket.viz.info import info_html
from admarket.viz.params import (
    SEED_CHOICES,
    Control,
    cli_command,
    display,
    from_query,
    grouped,
    to_query,
)
from admarket.viz.research import daily_csv, report_settings
from admarket.viz.session import Session, Settings
from admarket.viz.state import SPEEDS, PageState, intervals
from admarket.viz.vega import VegaChart, encode
from admarket.viz.widgets import Copy, LiveHtml

NO_PRESET = "none"
TABS = ("Run", "Info: what, notice, try, terms", "Share and export")
SCENARIO_NAMES = {
    "A": "A — exchange (auctions, fees)",
    "B": "B — agent to agent (volatile memory)",
    "C": "C — agent to agent + ledger",
}


def _html(html: str, classes: list[str] | None = None, style: str = "") -> solara.Element:
    return solara.HTML(tag="div", unsafe_innerHTML=html, classes=classes or [], style=style)


@contextmanager
def card(title: str, classes: list[str] | None = None) -> Iterator[solara.Element]:
    """A bordered box with a title (plain HTML: no Vuetify card shadows or fixed sizes)."""
    with solara.Div(classes=["am-card", *(classes or [])]) as box:
        solara.HTML(tag="div", unsafe_innerHTML=title, classes=["am-card-title"])
        yield box


# --- live elements: redrawn by the clock, not by reacton ----------------------------------
def use_live(
    state: PageState,
    key: str,
    el: solara.Element,
    update: Callable[[Any, Session], None],
    dependencies: list[Any],
) -> None:
    """Register ``update(widget, session)`` as the way ``el``'s widget follows the clock.

    Each frame, :meth:`PageState.draw` calls every registered update directly: the rows of
    a chart or the HTML of the feed go straight to the widget, without a reacton render of
    the page (which would visit every element, sidebar included, each frame). Reacton only
    renders when the page's structure changes (a rebuild, the theme).
    """

    def register() -> Callable[[], None]:
        widget = solara.get_widget(el)

        def draw(session: Session) -> None:
            update(widget, session)

        state.drawers[key] = draw
        draw(state.session.value)

        def unregister() -> None:
            if state.drawers.get(key) is draw:
                del state.drawers[key]

        return unregister

    solara.use_effect(register, dependencies)


@solara.component
def LiveVega(
    state: PageState,
    key: str,
    spec: dict[str, Any],
    rows: Callable[[Session], dict[str, list[dict[str, Any]]]],
    dependencies: list[Any],
    title: str = "",
) -> solara.Element:
    """A Vega-Lite chart whose data sets follow the clock (``rows(session)`` each frame).

    The rows and the frame's tag go to the widget in one message: when the browser reports
    the tag as drawn, the rows on screen are that frame's.
    """
    el = VegaChart.element(spec=spec, title=title)

    def update(widget: VegaChart, session: Session) -> None:
        text = encode(rows(session))
        with widget.hold_sync():
            widget.data_json = text
            widget.tag = str(session.steps)

    use_live(state, key, el, update, [key, *dependencies])
    return el


@solara.component
def LiveHTML(
    state: PageState,
    key: str,
    html: Callable[[Session], str],
    dependencies: list[Any],
    classes: list[str] | None = None,
) -> solara.Element:
    """HTML that follows the clock (``html(session)`` each frame, see :class:`LiveHtml`)."""
    el = LiveHtml.element(div_class=" ".join(classes or []))

    def update(widget: LiveHtml, session: Session) -> None:
        widget.html = html(session)

    use_live(state, key, el, update, [key, *dependencies])
    return el


# --- charts --------------------------------------------------------------------------------
@solara.component
def ChartCard(state: PageState, panel: Panel, dark: bool) -> solara.Element:
    """One KPI panel: title, legend, chart (or why it does not apply)."""
    settings = state.session.value.settings
    scenarios, days = settings.scenarios, settings.config.days
    by_scenario = len(scenarios) > 1
    items = legend(panel, scenarios, by_scenario)
    band = settings.seeds > 1
    spec = solara.use_memo(
        lambda: panel_spec(panel, items, days, band, dark),
        [panel.key, scenarios, days, band, dark],
    )
    note = not_applicable(panel, scenarios)

    def rows(session: Session) -> dict[str, list[dict[str, Any]]]:
        return {"rows": panel_rows(panel, session.runs, by_scenario)}

    with card(panel.title, classes=["am-chart"]) as box:
        if items:
            _html(chart_legend(items, band))
            LiveVega(state, f"chart-{panel.key}", spec, rows, [by_scenario])
        if note:
            _html(note, ["am-note"])
    return box


# --- graph, memory, feed ------------------------------------------------------------------------
@solara.component
def GraphCard(state: PageState, scenario: str, dark: bool, compact: bool) -> solara.Element:
    """The market graph of one scenario's first seed, with its legend."""
    model = state.session.value.markets[scenario]
    shape = graph_shape(model, dark, compact)
    spec = solara.use_memo(lambda: graph_spec(shape), [shape])
    title = f"Market graph — {SCENARIO_NAMES[scenario]}"

    def rows(session: Session) -> dict[str, list[dict[str, Any]]]:
        return graph_data(session.markets[scenario], session.watches[scenario], dark)

    with card(title, classes=["am-graph"]) as box:
        LiveVega(state, f"graph-{scenario}", spec, rows, [dark], title)
        if not compact:
            has_exchange = model.exchange is not None
            marks = graph_legend(has_exchange, not has_exchange, model.agents_hold_state)
            _html(graph_legend_html(marks, FADE_DAYS))
    return box


MEMORY_LEGEND = "".join(
    f"<span class='am-legend-item'><svg width='14' height='14'><rect width='14' height='14' "
    f"fill='{color}'/></svg>{label}</span>"
    for label, color in MEMORY_PARTS
)


@solara.component
def MemoryCard(state: PageState, scenario: str, dark: bool) -> solara.Element:
    """Each agent's memory: facts held now, lost today, lost before today."""
    model = state.session.value.markets[scenario]
    n_bars = min(len(model.buyers) + len(model.sellers), MAX_BARS)
    spec = solara.use_memo(lambda: memory_spec(n_bars, dark), [n_bars, dark])

    def rows(session: Session) -> dict[str, list[dict[str, Any]]]:
        m, w = session.markets[scenario], session.watches[scenario]
        return {"rows": memory_rows(m, w)[0]}

    def caption(session: Session) -> str:
        return memory_rows(session.markets[scenario], session.watches[scenario])[1]

    with card(f"Memory per agent — {scenario}", classes=["am-memory"]) as box:
        if not model.agents_hold_state:
            _html(
                "Not drawn for A: agents keep no memory of their own, they read the "
                "exchange's database.",
                ["am-note"],
            )
        else:
            _html(f"<div class='am-legend'>{MEMORY_LEGEND}</div>")
            LiveVega(state, f"memory-{scenario}", spec, rows, [n_bars])
            if n_bars == MAX_BARS:
                LiveHTML(state, f"memory-caption-{scenario}", caption, [], ["am-note"])
    return box


@solara.component
def FeedCard(state: PageState, scenario: str, limit: int) -> solara.Element:
    """The latest key events of one scenario, newest first."""
    model = state.session.value.markets[scenario]
    title = (
        f"What the exchange did — {scenario}"
        if model.exchange is not None
        else f"What happened — {scenario}"
    )

    def html(session: Session) -> str:
        m, w = session.markets[scenario], session.watches[scenario]
        return feed_html(m, feed_lines(m, w, limit))

    with card(title, classes=["am-feed-card"]) as box:
        LiveHTML(state, f"feed-{scenario}", html, [limit], ["am-feed"])
    return box


def _scoreboard(session: Session) -> str:
    return scoreboard_html(session.markets)


@solara.component
def Stage(state: PageState) -> solara.Element:
    """The main area's pictures. Reacton renders them when the structure changes (a rebuild,
    the theme); the clock redraws their contents (see :func:`use_live`)."""
    session = state.session.value
    dark = solara.lab.use_dark_effective()
    scenarios = session.settings.scenarios
    compare = len(scenarios) > 1
    with solara.Div(classes=["am-stage", "am-compare" if compare else "am-single"]) as stage:
        if not compare:
            s = scenarios[0]
            with solara.Div(classes=["am-grid"], style="--am-min: 400px"):
                GraphCard(state, s, dark, False).key(f"graph-{s}")
                FeedCard(state, s, 40).key(f"feed-{s}")
            with solara.Div(classes=["am-grid"], style="--am-min: 340px"):
                MemoryCard(state, s, dark).key(f"memory-{s}")
                with card("Scoreboard so far"):
                    LiveHTML(state, "scoreboard", _scoreboard, [], ["am-score"])
        else:
            with solara.Div(classes=["am-grid"], style="--am-min: 260px"):
                for s in scenarios:
                    GraphCard(state, s, dark, True).key(f"graph-{s}")
            ms = session.markets.values()
            marks = graph_legend(
                any(m.exchange is not None for m in ms),
                any(m.exchange is None for m in ms),
                any(m.agents_hold_state for m in ms),
            )
            _html(graph_legend_html(marks, FADE_DAYS), ["am-card", "am-graph-legend"])
            with solara.Div(classes=["am-grid"], style="--am-min: 260px"):
                for s in scenarios:
                    FeedCard(state, s, 15).key(f"feed-{s}")
            with solara.Div(classes=["am-grid"], style="--am-min: 260px"):
                for s in scenarios:
                    MemoryCard(state, s, dark).key(f"memory-{s}")
            with card("Scoreboard so far"):
                LiveHTML(state, "scoreboard", _scoreboard, [], ["am-score"])
        width = "480px" if compare else "380px"
        with solara.Div(classes=["am-grid"], style=f"--am-min: {width}"):
            for panel in PANELS:
                ChartCard(state, panel, dark).key(panel.key)
    return stage


# --- the clock -----------------------------------------------------------------------------
def _clock_html(session: Session) -> str:
    seeds = session.settings.seed_list()
    band = f" · seeds {', '.join(map(str, seeds))} (bands)" if len(seeds) > 1 else ""
    done = 100 * session.steps / max(session.total, 1)
    return (
        f"<span class='am-clock'>{session.label()}</span>"
        f"<span style='font-size:14px;margin-left:12px'>step {session.steps:,} of "
        f"{session.total:,}{band}</span>"
        f"<div class='am-progress'><div style='width:{done:.2f}%'></div></div>"
    )


@solara.component
def TimeBar(state: PageState, rebuild: Any) -> solara.Element:
    """The clock and the buttons that move it; the run-complete state; Reset."""
    session = state.session.value
    playing, building = state.playing.value, state.building.value
    at_end = state.ended.value
    play = solara.lab.use_task(state.play_loop, dependencies=None)
    cfg = session.config
    spd = cfg.steps_per_day
    day_text, set_day_text = solara.use_state(str(cfg.days), key=f"run-to-day-{cfg.days}")
    busy = playing or building

    def go(goal: int | None, pause: float | None = None) -> None:
        if state.start(goal, pause):
            play()

    day_error = ""
    try:
        target_day = int(day_text.strip())
        if not 1 <= target_day <= cfg.days:
            raise ValueError
    except ValueError:
        target_day, day_error = 0, f"a day from 1 to {cfg.days}"

    with solara.Div(classes=["am-card", "am-timebar"]) as bar:
        LiveHTML(state, "clock", _clock_html, [])
        with solara.Div().key("building-bar"):
            if building:
                solara.ProgressLinear(True, color="warning")
        with solara.Row(style="align-items: center; flex-wrap: wrap; gap: 4px; margin-top: 6px"):
            hour = "+1 hour" if spd == 24 else "+1 step"
            solara.Button(hour, on_click=state.step_hour, disabled=busy or at_end)
            solara.Button("+1 day", on_click=state.step_day, disabled=busy or at_end)
            if playing:
                solara.Button("❚❚ Pause", on_click=state.stop, color="warning")
            else:
                solara.Button(
                    "▶ Play", on_click=lambda: go(None), disabled=busy or at_end, color="primary"
                )
            solara.Button("Run to the end", on_click=lambda: go(None, 0.0), disabled=busy or at_end)
            solara.InputText(
                "Run to day",
                value=day_text,
                on_value=set_day_text,
                continuous_update=True,
                error=day_error or False,
                style="max-width: 110px",
                dense=True,
            )
            solara.Button(
                "Go",
                on_click=lambda: go(target_day * spd, 0.0),
                disabled=busy or at_end or not target_day,
            )

            def reset() -> None:
                state.request_rebuild()
                rebuild()

            solara.Button(
                "Reset" if not building else "Resetting…",
                on_click=reset,
                disabled=building,
                color="error",
                outlined=True,
            )
        with solara.Row(style="align-items: center; flex-wrap: wrap; gap: 12px"):
            solara.Select(
                "Draw a frame",
                values=list(intervals(spd)),
                value=state.interval.value,
                on_value=state.interval.set,
                disabled=playing,
                style="max-width: 200px",
            )
            solara.Select(
                "Play speed",
                values=list(SPEEDS),
                value=state.speed.value,
                on_value=state.speed.set,
                disabled=playing,
                style="max-width: 240px",
            )
        if building:
            solara.Info("Building the market from the settings…", dense=True)
        elif at_end:
            solara.Success(
                f"Run complete: all {cfg.days} days simulated. Reset to run it again, or change "
                "the settings and Apply.",
                dense=True,
                classes=["am-complete"],
            )
        if state.status.value:
            solara.Info(state.status.value, dense=True, classes=["am-status"])
    return bar


# --- controls ------------------------------------------------------------------------------
@solara.component
def ParamControl(
    c: Control, raw: Any, error: str, changed: bool, state: PageState
) -> solara.Element:
    """One parameter: its value with unit in the label, inline error, changed marker."""
    mark = " ●" if changed else ""
    with solara.Div(classes=["am-param", "am-changed" if changed else ""]) as box:
        if c.widget == "slider":
            value = float(raw)
            solara.SliderFloat(
                f"{c.label}: {display(c.name, value)}{mark}",
                value=value,
                min=c.lo or 0.0,
                max=c.hi if c.hi is not None else 1.0,
                step=c.step or 0.01,
                on_value=lambda v: state.set_field(c.name, round(v, 6)),
            )
        elif c.widget == "check":
            solara.Checkbox(
                label=f"{c.label}{mark}",
                value=bool(raw),
                on_value=lambda v: state.set_field(c.name, v),
            )
        else:
            solara.InputText(
                f"{c.label}{mark}",
                value=str(raw),
                on_value=lambda v: state.set_field(c.name, v),
                continuous_update=True,
                error=error or False,
                suffix=c.unit,
                dense=True,
                hide_details="auto",
            )
        if error and c.widget != "text":
            solara.Text(error, classes=["am-error"])
        _html(f"{c.help}; {c.allowed}.", ["am-help"])
    return box


def _scenario_select(state: PageState, changed: bool) -> None:
    solara.Select(
        "Scenario" + (" ●" if changed else ""),
        values=list(SCENARIOS),
        value=state.draft_scenario.value,
        on_value=state.draft_scenario.set,
    )
    _html(SCENARIO_NAMES[state.draft_scenario.value], ["am-help"])


def _preset_select(state: PageState, changed: bool) -> None:
    solara.Select(
        "Preset" + (" ●" if changed else ""),
        values=[NO_PRESET, *preset_names()],
        value=state.draft_preset.value or NO_PRESET,
        on_value=lambda v: state.choose_preset("" if v in (None, NO_PRESET) else v),
    )
    if state.draft_preset.value:
        _html(
            f"{preset_source(state.draft_preset.value)}; keeps the seed, days and market size "
            "set here",
            ["am-help"],
        )
    else:
        _html("the model's defaults (the plan's values)", ["am-help"])


@solara.component
def SettingsPanel(state: PageState, rebuild: Any) -> solara.Element:
    """The sidebar: scenario, preset, seeds and every parameter (rare ones folded away)."""
    router = solara.use_router()
    draft = state.draft.value
    state.draft_scenario.value, state.draft_seeds.value, state.draft_preset.value  # noqa: B018
    state.session.value  # noqa: B018 — the applied settings
    _settings, errors = state.draft_settings()
    changes = state.changes()

    def apply() -> None:
        settings = state.apply()
        if settings is None:
            return
        rebuild()
        query = to_query(settings, with_scenario=not state.compare)
        router.push(f"{router.path}?{query}")

    with solara.Column(style="gap: 4px; max-width: 560px") as panel:
        solara.HTML(tag="div", unsafe_innerHTML="<b>Run settings</b>", style="font-size: 16px")
        # keyed blocks: elements that come and go must not take each other's place
        with solara.Div().key("link-problems"):
            if state.problems:
                solara.Warning("Ignored from the link: " + "; ".join(state.problems), dense=True)
        with solara.Div().key("pending"):
            if changes:
                n = len(changes)
                solara.Warning(
                    f"{n} change{'s' if n > 1 else ''} not applied yet (marked ●): "
                    + ", ".join(sorted(changes)),
                    dense=True,
                    classes=["am-pending"],
                )
                with solara.Row():
                    solara.Button(
                        "Apply and reset", on_click=apply, color="primary", disabled=bool(errors)
                    )
                    solara.Button("Discard", on_click=state.discard, text=True)
            if errors:
                solara.Error(f"{len(errors)} parameter(s) need fixing before Apply.", dense=True)
        with solara.Div().key("scenario"):
            if not state.compare:
                _scenario_select(state, "scenario" in changes)
        with solara.Div().key("preset"):
            _preset_select(state, "preset" in changes)
        with solara.Div().key("seeds"):
            solara.Select(
                "Seeds side by side" + (" ●" if "seeds" in changes else ""),
                values=list(SEED_CHOICES),
                value=state.draft_seeds.value,
                on_value=state.draft_seeds.set,
            )
            _html("more than one seed draws each line with a band over the seeds", ["am-help"])
        groups = grouped()
        for _group, common, _rare in groups:
            for c in common:
                ParamControl(
                    c, draft[c.name], errors.get(c.name, ""), c.name in changes, state
                ).key(c.name)
        solara.HTML(tag="div", unsafe_innerHTML="<b>More parameters</b>", style="margin-top: 8px")
        for group, _common, rare in groups:
            if not rare:
                continue
            flagged = sum(1 for c in rare if c.name in changes or c.name in errors)
            summary = group + (f" ({flagged} changed)" if flagged else "")
            with (
                solara.Div().key(f"group-{group}"),
                solara.Details(summary=summary, expand=any(c.name in errors for c in rare)),
            ):
                for c in rare:
                    ParamControl(
                        c, draft[c.name], errors.get(c.name, ""), c.name in changes, state
                    ).key(c.name)
    return panel


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
            _html(
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
            _html(
                "The first seed's run, exactly (same config, same seed → same numbers):",
                ["am-note"],
            )
            _html(command, ["am-cli"])
            Copy(command, "Copy command")
        with card("Share this view"):
            query = to_query(settings, with_scenario=not state.compare)
            _html(
                "A link to this page with the applied settings (its address bar shows it "
                f"after Apply): <code>?{query}</code>",
                ["am-note"],
            )
            Copy("?" + query, "Copy link")
        with card("Full report for these parameters"):
            out_cmd = cli_command(report_settings(settings), out="DIR")
            _html(
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
@solara.component
def ExplorerPage(compare: bool = False) -> solara.Element:
    """A whole explorer page: one scenario, or A, B and C side by side (``compare``)."""
    router = solara.use_router()
    default = Settings(scenarios=SCENARIOS if compare else ("B",))

    def build() -> PageState:
        settings, problems = from_query(router.search, default)
        return PageState(settings, compare, problems)

    state = solara.use_memo(build, [])
    # leaving the page (another route, a closed tab) stops a run that is playing
    solara.use_effect(lambda: state.stop, [])
    rebuild = solara.lab.use_task(state.rebuild, dependencies=None)
    report = solara.lab.use_task(state.run_report, dependencies=None)
    tab, set_tab = solara.use_state(0)
    title = "A | B | C side by side" if compare else "admarket explorer"
    with solara.Column(classes=["am-main"], style="gap: 0") as main:
        solara.Style(CSS)
        solara.Title(title)
        with solara.AppBar():
            solara.lab.ThemeToggle()
        with solara.Sidebar():
            SettingsPanel(state, rebuild)
        TimeBar(state, rebuild)
        # Plain tabs over always-mounted panes: the pictures keep their charts (and the
        # clock keeps drawing) while Info or the export pane is open.
        solara.v.Tabs(
            v_model=tab,
            on_v_model=set_tab,
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
                    _html(info_html(), ["am-info", "am-card"])
                else:
                    ResearchPanel(state, report)
    return main


@solara.component
def Explorer() -> solara.Element:
    """The explorer: one scenario (B unless the link says otherwise)."""
    return ExplorerPage(compare=False)


@solara.component
def SideBySide() -> solara.Element:
    """A, B and C on the same seed, stepping together."""
    return ExplorerPage(compare=True)

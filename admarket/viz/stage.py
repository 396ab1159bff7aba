"""The pictures of a page: market graphs, feeds, memory bars, scoreboard and KPI charts.

:func:`Stage` lays them out in a responsive grid of cards — one scenario, or A, B and C in
columns side by side. Each picture is a live element (:mod:`admarket.viz.live`) whose
contents follow the clock.
"""

from __future__ import annotations

from typing import Any

import solara
import solara.lab

from admarket.model import MarketModel
from admarket.viz.charts import PANELS, Panel, legend, not_applicable, panel_rows, panel_spec
from admarket.viz.feed import feed_html, feed_lines, scoreboard_html
from admarket.viz.graph import (
    FADE_DAYS,
    MAX_BARS,
    MEMORY_PARTS,
    busiest_edge,
    graph_data,
    graph_legend,
    graph_shape,
    graph_spec,
    memory_rows,
    memory_spec,
)
from admarket.viz.html import chart_legend, edge_caption, graph_legend_html
from admarket.viz.live import LiveHTML, LiveVega, card, html
from admarket.viz.session import Session
from admarket.viz.state import PageState

SCENARIO_NAMES = {
    "A": "A — exchange (auctions, fees)",
    "B": "B — agent to agent (volatile memory)",
    "C": "C — agent to agent + ledger",
}


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
            html(chart_legend(items, band))
            LiveVega(state, f"chart-{panel.key}", spec, rows, [by_scenario])
        if note:
            html(note, ["am-note"])
    return box


# --- graph, memory, feed ------------------------------------------------------------------------
@solara.component
def GraphCard(
    state: PageState, model: MarketModel, scenario: str, dark: bool, compact: bool
) -> solara.Element:
    """The market graph of one scenario's first seed (``model``), with its legend."""
    shape = graph_shape(model, dark, compact)
    spec = solara.use_memo(lambda: graph_spec(shape), [shape])
    title = f"Market graph — {SCENARIO_NAMES[scenario]}"

    def rows(session: Session) -> dict[str, list[dict[str, Any]]]:
        return graph_data(session.markets[scenario], session.watches[scenario], dark)

    has_exchange = model.exchange is not None

    def caption(session: Session) -> str:
        return edge_caption(busiest_edge(session.watches[scenario]), has_exchange)

    with card(title, classes=["am-graph"]) as box:
        LiveVega(state, f"graph-{scenario}", spec, rows, [dark], title, scenario)
        # live: the dollars the thickest line stands for change every frame
        LiveHTML(state, f"graph-caption-{scenario}", caption, [], ["am-note"], scenario)
        if not compact:
            marks = graph_legend(has_exchange, not has_exchange, model.agents_hold_state)
            html(graph_legend_html(marks, FADE_DAYS))
    return box


MEMORY_LEGEND = "".join(
    f"<span class='am-legend-item'><svg width='14' height='14'><rect width='14' height='14' "
    f"fill='{color}'/></svg>{label}</span>"
    for label, color in MEMORY_PARTS
)


@solara.component
def MemoryCard(state: PageState, model: MarketModel, scenario: str, dark: bool) -> solara.Element:
    """Each agent's memory: facts held now, lost today, lost before today."""
    n_bars = min(len(model.buyers) + len(model.sellers), MAX_BARS)
    spec = solara.use_memo(lambda: memory_spec(n_bars, dark), [n_bars, dark])

    def rows(session: Session) -> dict[str, list[dict[str, Any]]]:
        m, w = session.markets[scenario], session.watches[scenario]
        return {"rows": memory_rows(m, w)[0]}

    def caption(session: Session) -> str:
        return memory_rows(session.markets[scenario], session.watches[scenario])[1]

    with card(f"Memory per agent — {scenario}", classes=["am-memory"]) as box:
        if not model.agents_hold_state:
            html(
                "Not drawn for A: agents keep no memory of their own, they read the "
                "exchange's database.",
                ["am-note"],
            )
        else:
            html(f"<div class='am-legend'>{MEMORY_LEGEND}</div>")
            LiveVega(state, f"memory-{scenario}", spec, rows, [n_bars], scenario=scenario)
            if n_bars == MAX_BARS:
                LiveHTML(state, f"memory-caption-{scenario}", caption, [], ["am-note"], scenario)
    return box


@solara.component
def FeedCard(state: PageState, model: MarketModel, scenario: str, limit: int) -> solara.Element:
    """The latest key events of one scenario, newest first."""
    title = (
        f"What the exchange did — {scenario}"
        if model.exchange is not None
        else f"What happened — {scenario}"
    )

    def feed(session: Session) -> str:
        m, w = session.markets[scenario], session.watches[scenario]
        return feed_html(m, feed_lines(m, w, limit))

    with card(title, classes=["am-feed-card"]) as box:
        LiveHTML(state, f"feed-{scenario}", feed, [limit], ["am-feed"], scenario)
    return box


def _scoreboard(session: Session) -> str:
    return scoreboard_html(session.markets, session.settings.seed_list())


@solara.component
def Stage(state: PageState) -> solara.Element:
    """The main area's pictures. Reacton renders them when the structure changes (a rebuild,
    the theme); the clock redraws their contents (see :func:`use_live`)."""
    session = state.session.value
    dark = solara.lab.use_dark_effective()
    scenarios = session.settings.scenarios
    compare = len(scenarios) > 1
    # The cards take their market from here, not from the state: a card of the previous
    # scenario that reacton renders once more before unmounting it must not look it up.
    markets = session.markets
    with solara.Div(classes=["am-stage", "am-compare" if compare else "am-single"]) as stage:
        if not compare:
            s = scenarios[0]
            with solara.Div(classes=["am-grid"], style="--am-min: 400px"):
                GraphCard(state, markets[s], s, dark, False).key(f"graph-{s}")
                FeedCard(state, markets[s], s, 40).key(f"feed-{s}")
            with solara.Div(classes=["am-grid"], style="--am-min: 340px"):
                MemoryCard(state, markets[s], s, dark).key(f"memory-{s}")
                with card("Scoreboard so far"):
                    LiveHTML(state, "scoreboard", _scoreboard, [], ["am-score"])
        else:
            with solara.Div(classes=["am-grid"], style="--am-min: 260px"):
                for s in scenarios:
                    GraphCard(state, markets[s], s, dark, True).key(f"graph-{s}")
            ms = session.markets.values()
            marks = graph_legend(
                any(m.exchange is not None for m in ms),
                any(m.exchange is None for m in ms),
                any(m.agents_hold_state for m in ms),
            )
            html(graph_legend_html(marks, FADE_DAYS), ["am-card", "am-graph-legend"])
            with solara.Div(classes=["am-grid"], style="--am-min: 260px"):
                for s in scenarios:
                    FeedCard(state, markets[s], s, 15).key(f"feed-{s}")
            with solara.Div(classes=["am-grid"], style="--am-min: 260px"):
                for s in scenarios:
                    MemoryCard(state, markets[s], s, dark).key(f"memory-{s}")
            with card("Scoreboard so far"):
                LiveHTML(state, "scoreboard", _scoreboard, [], ["am-score"])
        width = "480px" if compare else "380px"
        with solara.Div(classes=["am-grid"], style=f"--am-min: {width}"):
            for panel in PANELS:
                ChartCard(state, panel, dark).key(panel.key)
    return stage

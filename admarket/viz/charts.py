"""Live KPI charts from each market's DataCollector, one column per scenario.

Eight panels in four groups — money (take rate; spend vs net to publishers), memory (facts
held vs lost; restarts and recoveries), errors (hallucinated decisions; disputes) and
outcomes (goal attainment; ledger cost). A group draws as one figure with a row per panel
and a column per market; columns share each row's y-axis, so on the side-by-side page A, B
and C are read against the same scale. The x-axis is simulated days.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import solara
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, PercentFormatter

from admarket.money import usd_short
from admarket.viz.models import ExplorerModel

LINE_COLORS = ("#4c78a8", "#f58518", "#54a24b", "#e45756")


@dataclass(frozen=True)
class Panel:
    """One chart: a title, the DataCollector columns it plots (with labels) and a y format."""

    title: str
    short: str  # title in a narrow column of the side-by-side page
    series: tuple[tuple[str, str], ...]  # (DataCollector column, legend label)
    unit: str = ""  # "%", "$" or ""


GROUPS: dict[str, tuple[Panel, Panel]] = {
    "money": (
        Panel(
            "Take rate (intermediary share of spend)",
            "take rate",
            (("take_rate", "take rate"),),
            "%",
        ),
        Panel(
            "Spend vs net to publishers",
            "spend vs net",
            (("gross_spend", "buyers' spend"), ("net_to_publishers", "net to publishers")),
            "$",
        ),
    ),
    "memory": (
        Panel(
            "Facts held vs lost",
            "facts held/lost",
            (("facts_held", "held"), ("facts_lost", "lost")),
        ),
        Panel(
            "Restarts and recoveries",
            "restarts, recoveries",
            (("restarts", "restarts"), ("recoveries", "recoveries")),
        ),
    ),
    "errors": (
        Panel(
            "Decisions on fabricated facts",
            "wrong-fact decisions",
            (("hallucinated_decisions", "acted on a wrong fact"), ("caught_by_ledger", "caught")),
        ),
        Panel("Disputes", "disputes", (("disputes", "disputes"),)),
    ),
    "outcomes": (
        Panel(
            "Goal attainment (yesterday)",
            "goal attainment",
            (("goal_attainment", "attainment"),),
            "%",
        ),
        Panel("Ledger cost", "ledger cost", (("ledger_cost_usd", "gas + blobs"),), "$"),
    ),
}


def _series(model: ExplorerModel, column: str) -> np.ndarray:
    return np.asarray(model.datacollector.model_vars[column], dtype=float)


def draw_panel(ax: Axes, model: ExplorerModel, panel: Panel, legend: bool) -> float:
    """Plot one panel's columns for one market against simulated days; return the max y."""
    spd = model.config.steps_per_day
    top = 0.0
    for (column, label), color in zip(panel.series, LINE_COLORS, strict=False):
        y = _series(model, column)
        ax.plot(np.arange(len(y)) / spd, y, color=color, lw=1.4, label=label)
        top = max(top, float(np.nanmax(y)) if y.size else 0.0)
    if panel.unit == "%":
        ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    elif panel.unit == "$":
        ax.yaxis.set_major_formatter(FuncFormatter(usd_short))
    ax.set_xlim(0, model.config.days)
    ax.tick_params(labelsize=7)
    ax.grid(alpha=0.3)
    if legend and len(panel.series) > 1:
        ax.legend(fontsize=6, loc="upper left", frameon=False)
    return top


def group_figure(markets: dict[str, ExplorerModel], group: str) -> Figure:
    """A figure of one group's panels: a row per panel, a column per market, rows share y."""
    panels = GROUPS[group]
    n = len(markets)
    fig = Figure(figsize=(6.4, 4.8), dpi=100)  # fixed margins: 2× faster than "constrained"
    fig.subplots_adjust(left=0.1, right=0.98, top=0.94, bottom=0.1, hspace=0.3, wspace=0.08)
    axes = fig.subplots(len(panels), n, squeeze=False, sharex=True, sharey="row")
    tops = np.zeros(len(panels))
    for col, (scenario, model) in enumerate(markets.items()):
        for row, panel in enumerate(panels):
            ax = axes[row][col]
            tops[row] = max(tops[row], draw_panel(ax, model, panel, legend=col == 0))
            title = panel.title if n == 1 else f"{scenario}: {panel.short}"
            ax.set_title(title, fontsize=8 if n == 1 else 7)
        axes[-1][col].set_xlabel("day", fontsize=7)
    for row, top in enumerate(tops):  # one scale per row, set after every column is drawn
        axes[row][0].set_ylim(0, top * 1.08 if top > 0 else 1.0)
    return fig


def make_group_component(group: str) -> Callable[[object], solara.Element]:
    """A SolaraViz component (plain ``fn(model)``, redrawn every step) for one chart group."""

    def component(model: object) -> solara.Element:
        return solara.FigureMatplotlib(group_figure(model.markets, group), format="png")

    component.__name__ = f"{group.title()}Charts"
    return component


CHART_COMPONENTS = [make_group_component(g) for g in GROUPS]

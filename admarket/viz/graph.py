"""The market graph: who trades with whom, how much money flows, and which agents are unwell.

Buyers sit in a column on the left, sellers on the right and, in scenario A, the exchange
in the middle: a fixed bipartite layout, the same for every seed and every step, so a
picture can be compared with the next. Edge width is the spend along the edge over the
last simulated day, edge colour the path (via the exchange or direct). Node marks: orange
fill = the agent lost facts from memory today, red ring = its process has restarted, a
magenta cross = it has acted on a fabricated fact. Drawn with one LineCollection and a few
scatter calls, so hundreds of nodes and thousands of edges draw in well under a second.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import solara
from matplotlib.axes import Axes
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from admarket.viz.models import ExplorerModel

COLORS = {
    "buyer": "#4c78a8",
    "seller": "#54a24b",
    "exchange": "#6f6f6f",
    "exchange_path": "#9467bd",
    "direct_path": "#17becf",
    "idle": "#d9d9d9",
    "degraded": "#f58518",
    "restarted": "#e45756",
    "hallucinated": "#c51b7d",
}
MAX_EDGE_WIDTH = 7.0
LABEL_LIMIT = 12  # draw names only when a side has at most this many nodes


def layout(model: ExplorerModel) -> dict[str, tuple[float, float]]:
    """Fixed positions: buyers at x=0, exchange at x=1, sellers at x=2, spread evenly in y."""
    pos: dict[str, tuple[float, float]] = {}
    for x, agents in ((0.0, model.buyers), (2.0, model.sellers)):
        ys = np.linspace(1.0, 0.0, len(agents)) if len(agents) > 1 else [0.5]
        for agent, y in zip(agents, ys, strict=True):
            pos[agent.name] = (x, float(y))
    if "exchange" in model.graph:
        pos["exchange"] = (1.0, 0.5)
    return pos


def _node_marks(model: ExplorerModel) -> tuple[list[str], np.ndarray, dict[str, np.ndarray]]:
    agents = [*model.buyers, *model.sellers]
    names = [a.name for a in agents]
    marks = {
        "degraded": np.array([a.lost_today > 0 for a in agents], dtype=bool),
        "restarted": np.array([a.memory.stats.restarts > 0 for a in agents], dtype=bool),
        "hallucinated": np.array([a.name in model.watch.hallucinated for a in agents]),
    }
    kinds = np.array(["buyer"] * len(model.buyers) + ["seller"] * len(model.sellers))
    return names, kinds, marks


def draw_market(
    ax: Axes, model: ExplorerModel, title: str | None = None, short_labels: bool = False
) -> None:
    """Draw one market's graph onto ``ax`` (edges by recent spend, nodes with health marks).

    Nodes are labelled when a side has at most ``LABEL_LIMIT`` agents: sellers by their
    publisher name, or every agent by a short ``b0``/``s0`` tag when ``short_labels``.
    """
    pos = layout(model)
    watch = model.watch
    seg = np.array([[pos[u], pos[v]] for u, v in watch.edges]).reshape(-1, 2, 2)
    recent = watch.recent_spend
    top = float(recent.max()) if recent.size else 0.0
    active = recent > 0
    thick = MAX_EDGE_WIDTH * min(1.0, (50 / max(len(recent), 1)) ** 0.5)  # thinner when dense
    widths = np.where(active, 0.3 + thick * recent / (top or 1.0), 0.3)
    colors = np.where(
        active,
        np.where(watch.via_exchange, COLORS["exchange_path"], COLORS["direct_path"]),
        COLORS["idle"],
    )
    order = np.argsort(widths)  # thick edges on top
    ax.add_collection(
        LineCollection(
            seg[order],
            linewidths=widths[order],
            colors=colors[order],
            alpha=1.0 if len(recent) <= 200 else 0.5,
            zorder=1,
        )
    )
    names, kinds, marks = _node_marks(model)
    xy = np.array([pos[n] for n in names])
    per_side = max(len(model.buyers), len(model.sellers))
    size = float(np.clip(3000 / per_side, 6, 160))
    face = np.where(kinds == "buyer", COLORS["buyer"], COLORS["seller"])
    face = np.where(marks["degraded"], COLORS["degraded"], face)
    ring = np.where(marks["restarted"], COLORS["restarted"], "white")
    ax.scatter(
        xy[:, 0],
        xy[:, 1],
        s=size,
        c=face,
        edgecolors=ring,
        zorder=3,
        linewidths=np.where(marks["restarted"], 2.5, 0.5),
    )
    if marks["hallucinated"].any():
        h = xy[marks["hallucinated"]]
        ax.scatter(
            h[:, 0],
            h[:, 1],
            s=size * 0.5,
            marker="X",
            c=COLORS["hallucinated"],
            edgecolors="white",
            linewidths=0.5,
            zorder=4,
        )
    if "exchange" in pos:
        ax.scatter([1.0], [0.5], s=size * 2.5, marker="s", c=COLORS["exchange"], zorder=3)
        ax.annotate(
            "exchange",
            (1.0, 0.5),
            xytext=(0, -14),
            textcoords="offset points",
            ha="center",
            va="top",
            fontsize=7,
        )
    if per_side <= LABEL_LIMIT:
        if short_labels:
            labels = {n: n[0] + n.split("-")[1] for n in names}
        else:
            labels = {s.name: model.graph.nodes[s.name].get("name", s.name) for s in model.sellers}
        for n, (x, y) in zip(names, xy, strict=True):
            left = x < 1
            ax.annotate(
                labels.get(n, n),
                (x, y),
                xytext=(-8 if left else 8, 0),
                textcoords="offset points",
                ha="right" if left else "left",
                va="center",
                fontsize=7,
            )
    margin = 0.2 if per_side > LABEL_LIMIT else 0.45 if short_labels else 0.9
    ax.set_xlim(-margin, 2.0 + margin)
    ax.set_ylim(-0.08, 1.08)
    ax.set_axis_off()
    ax.set_title(title or f"Scenario {model.scenario_id}", fontsize=9)


LEGEND = [
    Line2D([], [], color=COLORS["exchange_path"], lw=3, label="spend via exchange (last day)"),
    Line2D([], [], color=COLORS["direct_path"], lw=3, label="spend direct (last day)"),
    Line2D([], [], marker="o", ls="", color=COLORS["buyer"], label="buyer"),
    Line2D([], [], marker="o", ls="", color=COLORS["seller"], label="seller"),
    Line2D([], [], marker="o", ls="", color=COLORS["degraded"], label="lost facts today"),
    Line2D(
        [], [], marker="o", ls="", mfc="white", mec=COLORS["restarted"], mew=2, label="restarted"
    ),
    Line2D(
        [], [], marker="X", ls="", color=COLORS["hallucinated"], label="acted on a fabricated fact"
    ),
]


def market_figure(markets: dict[str, ExplorerModel]) -> Figure:
    """One figure with the graph of each market side by side and a shared legend."""
    n = len(markets)
    fig = Figure(figsize=(6.4, 4.8), dpi=100)  # fixed margins: 2× faster than "constrained"
    fig.subplots_adjust(left=0.01, right=0.99, top=0.94, bottom=0.17, wspace=0.04)
    axes = fig.subplots(1, n, squeeze=False)[0]
    for ax, (scenario, m) in zip(axes, markets.items(), strict=True):
        title = f"{scenario} — day {m.steps // 24 + 1}, {m.steps % 24:02d}:00"
        draw_market(ax, m, title, short_labels=n > 1)
    fig.legend(
        handles=LEGEND,
        loc="lower center",
        ncols=2 if n == 1 else 3,
        fontsize=7,
        frameon=False,
    )
    return fig


def MarketGraph(model: Any) -> solara.Element:
    """SolaraViz component (plain ``fn(model)``, redrawn every step): the market graph(s)."""
    return solara.FigureMatplotlib(market_figure(model.markets), format="png")

"""The market graph and the memory bars: who trades with whom, and who is losing its mind.

Buyers sit in a column on the left, sellers on the right and, in scenario A, the exchange
in the middle: a fixed layout, the same for every seed and frame, so one picture can be
compared with the next. Edge width is the spend along the edge over the last simulated
day, edge colour its path (via the exchange or direct). Node marks show the *current*
state and fade over :data:`FADE_DAYS` days: an orange halo = lost facts from memory (the
larger the share of its memory lost, the stronger), a red ring = restarted (memory wiped),
a magenta cross = made a decision on a wrong fact.
So the spread of context rot is visible day by day instead of every node ending up
marked. The memory bars give each agent's facts held now and lost (today and before).
Both draw in the browser (Vega-Lite); the server only sends positions and opacities.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from admarket.model import MarketModel
from admarket.viz.charts import theme_config
from admarket.viz.session import Watch
from admarket.viz.vega import VEGA_LITE_SCHEMA

FADE_DAYS = 4  # a mark is full strength on its day, then fades out over this many days
STRONG_LOSS = 0.2  # losing this share of its memory in a day gives an agent a full halo
LABEL_LIMIT = 14  # names are drawn when a side has at most this many agents
COMPACT_LABEL_SHARE = 0.28  # of a side-by-side card's width, for each side's names
MAX_BARS = 20  # memory bars drawn (the agents that lost most, when there are more)
COLORS = {
    "buyer": "#4c78a8",
    "seller": "#54a24b",
    "exchange": "#6f6f6f",
    "exchange_path": "#9467bd",
    "direct_path": "#17becf",
    "idle": "#c8c8c8",
    "idle_dark": "#5a5a5a",
    "lost": "#f58518",
    "restarted": "#e45756",
    "wrong": "#c51b7d",
    "held": "#4c78a8",
    "lost_before": "#f5b97a",
}


def agent_label(model: MarketModel, name: str) -> str:
    """A node's name for people: the publisher's name, ``buyer 3`` or ``exchange``."""
    node = model.graph.nodes.get(name, {})
    if node.get("name"):
        return str(node["name"])
    return name.replace("-", " ") if node.get("kind") != "exchange" else "exchange"


def layout(model: MarketModel) -> dict[str, tuple[float, float]]:
    """Fixed positions: buyers at x=0, the exchange at x=0.5, sellers at x=1; y top-down."""
    pos: dict[str, tuple[float, float]] = {}
    for x, agents in ((0.0, model.buyers), (1.0, model.sellers)):
        ys = np.linspace(1.0, 0.0, len(agents)) if len(agents) > 1 else [0.5]
        for agent, y in zip(agents, ys, strict=True):
            pos[agent.name] = (x, float(y))
    if "exchange" in model.graph:
        pos["exchange"] = (0.5, 0.5)
    return pos


def fade(last_day: np.ndarray, today: int) -> np.ndarray:
    """Opacity of a mark last set on ``last_day``: 1 today, then fading to 0 over
    :data:`FADE_DAYS` days."""
    age = today - last_day
    return np.clip(1.0 - age / FADE_DAYS, 0.0, 1.0).round(3)


@dataclass(frozen=True)
class GraphShape:
    """What a graph spec depends on (not the frame): sizes, labels, theme."""

    per_side: int
    labelled: bool
    dark: bool
    compact: bool  # a narrow column (side by side)


def graph_shape(model: MarketModel, dark: bool, compact: bool) -> GraphShape:
    """The shape of ``model``'s graph."""
    per_side = max(len(model.buyers), len(model.sellers))
    return GraphShape(per_side, per_side <= LABEL_LIMIT, dark, compact)


def graph_height(shape: GraphShape) -> int:
    """Pixels: enough room per node, within reason."""
    return int(np.clip(34 * shape.per_side, 220, 460))


def node_size(shape: GraphShape) -> float:
    """Area (px²) of a node's dot."""
    return float(np.clip(4000 / shape.per_side, 16, 240 if not shape.compact else 160))


def graph_spec(shape: GraphShape) -> dict[str, Any]:
    """Vega-Lite spec of the graph: data sets ``edges`` and ``nodes`` arrive each frame."""
    size = node_size(shape)
    xy = {
        "x": {"field": "x", "type": "quantitative", "scale": {"domain": [0, 1]}, "axis": None},
        "y": {
            "field": "y",
            "type": "quantitative",
            "scale": {"domain": [-0.04, 1.04]},
            "axis": None,
        },
    }

    def opacity(f: str) -> dict[str, Any]:
        return {"field": f, "type": "quantitative", "scale": None}

    nodes = {"name": "nodes"}
    layers: list[dict[str, Any]] = [
        {
            "data": {"name": "edges"},
            "mark": {"type": "rule", "strokeCap": "round"},
            "encoding": {
                **xy,
                "x2": {"field": "x2"},
                "y2": {"field": "y2"},
                "strokeWidth": {"field": "w", "type": "quantitative", "scale": None},
                "color": {"field": "c", "type": "nominal", "scale": None},
            },
        },
        {  # lost facts: an orange halo
            "data": nodes,
            "mark": {"type": "circle", "size": size * 3.6, "color": COLORS["lost"]},
            "encoding": {**xy, "opacity": opacity("lost")},
        },
        {
            "data": nodes,
            "mark": {"type": "point", "filled": True, "size": size, "opacity": 1},
            "encoding": {
                **xy,
                "color": {"field": "fill", "type": "nominal", "scale": None},
                "shape": {"field": "shape", "type": "nominal", "scale": None},
            },
        },
        {  # restarted: a red ring
            "data": nodes,
            "mark": {
                "type": "point",
                "filled": False,
                "size": size * 2.0,
                "strokeWidth": 3,
                "color": COLORS["restarted"],
            },
            "encoding": {**xy, "opacity": opacity("restart")},
        },
        {  # decided on a wrong fact: a magenta cross
            "data": nodes,
            "mark": {
                "type": "point",
                "shape": "cross",
                "filled": True,
                "size": size * 0.6,
                "color": COLORS["wrong"],
                "stroke": "#ffffff",
                "strokeWidth": 0.8,
            },
            "encoding": {**xy, "opacity": opacity("wrong")},
        },
    ]
    if shape.labelled:
        # A side's names take at most a share of the card's width (side by side the cards
        # are 260 px to 600 px wide): a fixed 80 px cut names short even in a wide card.
        limit: Any = (
            {"expr": f"clamp(containerSize()[0] * {COMPACT_LABEL_SHARE}, 60, 150)"}
            if shape.compact
            else 150
        )
        gap = 6 + float(np.sqrt(size * 3.6)) / 2
        for side, align, dx in (("L", "right", -gap), ("R", "left", gap)):
            layers.append(
                {
                    "data": nodes,
                    "transform": [{"filter": f"datum.side == '{side}'"}],
                    "mark": {
                        "type": "text",
                        "align": align,
                        "baseline": "middle",
                        "dx": dx,
                        "fontSize": 12,
                        "limit": limit,
                    },
                    "encoding": {**xy, "text": {"field": "label"}},
                }
            )
    return {
        "$schema": VEGA_LITE_SCHEMA,
        "width": "container",
        "height": graph_height(shape),
        "autosize": {"type": "fit-x", "contains": "padding", "resize": True},
        "layer": layers,
        "config": theme_config(shape.dark),
    }


def busiest_edge(watch: Watch) -> float:
    """US dollars along the busiest edge over the last day: the thickest line's, to which
    every other edge's width is in proportion (0 when nothing moved)."""
    recent = watch.recent_spend
    return float(recent.max()) if recent.size else 0.0


def graph_data(model: MarketModel, watch: Watch, dark: bool) -> dict[str, list[dict[str, Any]]]:
    """The frame's rows: edges (width by last day's spend, colour by path), nodes (marks)."""
    pos = layout(model)
    recent = watch.recent_spend
    top = busiest_edge(watch)
    active = recent > 0
    thick = 9.0 * min(1.0, (40 / max(len(recent), 1)) ** 0.5)  # thinner when dense
    widths = np.where(active, 0.8 + thick * recent / (top or 1.0), 0.6)
    idle = COLORS["idle_dark"] if dark else COLORS["idle"]
    colors = np.where(
        active,
        np.where(watch.via_exchange, COLORS["exchange_path"], COLORS["direct_path"]),
        idle,
    )
    order = np.argsort(widths, kind="stable")  # thick edges on top
    edges = []
    for i in order:
        u, v = watch.edges[i]
        (x, y), (x2, y2) = pos[u], pos[v]
        edges.append(
            {"x": x, "y": y, "x2": x2, "y2": y2, "w": round(float(widths[i]), 2), "c": colors[i]}
        )
    today = watch.today
    strength = 0.25 + 0.75 * np.minimum(1.0, watch.lost_share / STRONG_LOSS)
    lost, restart, wrong = (
        (fade(watch.last_lost, today) * strength).round(3),
        fade(watch.last_restart, today),
        fade(watch.last_wrong, today),
    )
    n_buyers = len(model.buyers)
    nodes = []
    for i, name in enumerate(watch.names):
        x, y = pos[name]
        buyer = i < n_buyers
        nodes.append(
            {
                "x": x,
                "y": y,
                "label": agent_label(model, name),
                "side": "L" if buyer else "R",
                "fill": COLORS["buyer"] if buyer else COLORS["seller"],
                "shape": "circle",
                "lost": float(lost[i]),
                "restart": float(restart[i]),
                "wrong": float(wrong[i]),
            }
        )
    if "exchange" in pos:
        x, y = pos["exchange"]
        nodes.append(
            {
                "x": x,
                "y": y,
                "label": "exchange",
                "side": "M",
                "fill": COLORS["exchange"],
                "shape": "square",
                "lost": 0.0,
                "restart": 0.0,
                "wrong": 0.0,
            }
        )
    return {"edges": edges, "nodes": nodes}


@dataclass(frozen=True)
class Mark:
    """A legend entry of the graph: a symbol (CSS) and its meaning."""

    kind: str  # line, dot, halo, ring, cross
    color: str
    label: str


def graph_legend(has_exchange: bool, has_direct: bool, holds_state: bool) -> list[Mark]:
    """The graph's legend: every colour and mark that can appear on the graphs shown."""
    items = [
        Mark("dot", COLORS["buyer"], "buyer"),
        Mark("dot", COLORS["seller"], "seller (publisher)"),
    ]
    if has_exchange:
        items += [
            Mark("square", COLORS["exchange"], "exchange"),
            Mark("line", COLORS["exchange_path"], "spend via the exchange, last 24 h"),
        ]
    if has_direct:
        items.append(Mark("line", COLORS["direct_path"], "spend on direct deals, last 24 h"))
    items.append(Mark("line", COLORS["idle"], "no spend in the last 24 h"))
    if holds_state:
        items += [
            Mark("halo", COLORS["lost"], "lost facts from memory (stronger: a larger share)"),
            Mark("ring", COLORS["restarted"], "restarted (memory wiped)"),
            Mark("cross", COLORS["wrong"], "decided on a wrong fact"),
        ]
    return items


# --- memory bars ---------------------------------------------------------------------------
MEMORY_PARTS = (
    ("held now", COLORS["held"]),
    ("lost today", COLORS["lost"]),
    ("lost before today", COLORS["lost_before"]),
)


def memory_rows(model: MarketModel, watch: Watch) -> tuple[list[dict[str, Any]], str]:
    """Rows of the memory bars and a caption naming which agents are shown."""
    agents = watch.agents
    held = np.array([len(a.memory) for a in agents])
    lost_total = np.array([a.memory.stats.lost for a in agents])
    today = np.minimum(watch.lost_today, lost_total)
    n = len(agents)
    if n <= MAX_BARS:
        shown, caption = list(range(n)), ""
    else:
        order = np.lexsort((-lost_total, -today))  # most lost today, then most lost overall
        shown = sorted(order[:MAX_BARS].tolist())
        caption = f"{MAX_BARS} of {n} agents shown: those that lost most today."
    rows = []
    for i in shown:
        label = agent_label(model, watch.names[i])
        for (part, _), value in zip(
            MEMORY_PARTS, (held[i], today[i], lost_total[i] - today[i]), strict=True
        ):
            rows.append({"agent": label, "part": part, "n": int(value), "o": i})
    return rows, caption


def memory_spec(n_bars: int, dark: bool) -> dict[str, Any]:
    """Vega-Lite spec of the memory bars (data set ``rows``)."""
    parts = [p for p, _ in MEMORY_PARTS]
    return {
        "$schema": VEGA_LITE_SCHEMA,
        "width": "container",
        "height": max(60, 22 * n_bars),
        "autosize": {"type": "fit-x", "contains": "padding", "resize": True},
        "data": {"name": "rows"},
        "mark": {"type": "bar", "height": 14},
        "encoding": {
            "y": {
                "field": "agent",
                "type": "nominal",
                "sort": {"field": "o"},
                "axis": {"title": None, "labelLimit": 140},
            },
            "x": {
                "field": "n",
                "type": "quantitative",
                "stack": "zero",
                "axis": {"title": "facts", "format": "~s", "tickCount": 5},
            },
            "color": {
                "field": "part",
                "type": "nominal",
                "scale": {"domain": parts, "range": [c for _, c in MEMORY_PARTS]},
                "legend": None,
            },
            "order": {"field": "part_order", "type": "quantitative"},
        },
        "transform": [
            {
                "calculate": "indexof(" + repr(parts).replace("'", '"') + ", datum.part)",
                "as": "part_order",
            }
        ],
        "config": theme_config(dark),
    }

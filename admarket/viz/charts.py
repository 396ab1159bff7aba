"""KPI charts over simulated time, as Vega-Lite specs plus the rows they draw.

Eight panels — take rate; spend vs net to publishers; goal attainment; facts held vs lost;
restarts and recoveries; decisions on a wrong fact; disputes; ledger cost — each read
hourly from the markets' DataCollectors. On the explorer a panel's colours are its series;
side by side they are the scenarios (the series told apart by dash), on one y-axis, so A,
B and C are read against the same scale. With several seeds the first seed is the line
and the band spans every seed (lowest to highest). A panel that does not apply to a
scenario (memory in A, the ledger outside C) says so instead of drawing a flat zero.
Legends are HTML beside the chart (they wrap, so they are never cut off).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from admarket.config import MarketConfig
from admarket.viz.vega import VEGA_LITE_SCHEMA, block

SERIES_COLORS = ("#4c78a8", "#f58518", "#54a24b", "#e45756")
SCENARIO_COLORS = {"A": "#7b4fa0", "B": "#e45756", "C": "#2a9d8f"}
DASHES = ((1, 0), (6, 3), (2, 2))
CHART_HEIGHT = 170
MAX_POINTS = 1500  # per series per frame; longer runs are thinned evenly (the last kept)


@dataclass(frozen=True)
class Panel:
    """One chart: its title, the DataCollector columns drawn, the y unit, where it applies."""

    key: str
    title: str
    series: tuple[tuple[str, str], ...]  # (DataCollector column, legend label)
    unit: str  # "%", "$" or "" (a count)
    applies: tuple[str, ...] = ("A", "B", "C")
    why_not: str = ""  # why the panel does not apply to the other scenarios
    undefined_until: str = ""  # "spend": no value before the first spend; "close": before
    # the first day's close (a share of nothing, or a score not yet taken, is not zero)

    def applies_to(self, scenario: str) -> bool:
        """Whether the panel means something in ``scenario``."""
        return scenario in self.applies


NO_MEMORY = (
    "in A agents keep no memory of their own: they read the exchange's database, "
    "so nothing is forgotten or made up"
)
PANELS = (
    Panel(
        "take",
        "Take rate (intermediaries' share of buyers' spend)",
        (("take_rate", "take rate"),),
        "%",
        undefined_until="spend",
    ),
    Panel(
        "spend",
        "Buyers' spend and net to publishers (so far)",
        (("gross_spend", "buyers' spend"), ("net_to_publishers", "net to publishers")),
        "$",
    ),
    Panel(
        "goal",
        "Goal attainment of live campaigns (at each day's close)",
        (("goal_attainment", "goal attainment"),),
        "%",
        undefined_until="close",
    ),
    Panel(
        "facts",
        "Facts held vs lost (all agents)",
        (("facts_held", "facts held now"), ("facts_lost", "facts lost so far")),
        "",
        ("B", "C"),
        NO_MEMORY,
    ),
    Panel(
        "restarts",
        "Restarts and recoveries (so far)",
        (("restarts", "restarts"), ("recoveries", "recoveries")),
        "",
        ("B", "C"),
        NO_MEMORY,
    ),
    Panel(
        "wrong",
        "Decisions on a wrong fact, and fabrications caught (so far)",
        (
            ("hallucinated_decisions", "decisions on a wrong fact"),
            ("caught_by_ledger", "caught by the ledger"),
        ),
        "",
        ("B", "C"),
        NO_MEMORY,
    ),
    Panel(
        "disputes",
        "Billing disputes (so far)",
        (("disputes", "disputes"),),
        "",
        ("B", "C"),
        "in A the exchange settles every auction itself, so there are no invoices to dispute",
    ),
    Panel(
        "ledger",
        "Ledger cost: gas and blob storage (so far)",
        (("ledger_cost_usd", "ledger cost"),),
        "$",
        ("C",),
        "only C writes a ledger",
    ),
)
PANEL_BY_KEY = {p.key: p for p in PANELS}


# --- theme ---------------------------------------------------------------------------------
def theme_config(dark: bool) -> dict[str, Any]:
    """Vega-Lite config: transparent background, 12–13 px text, colours for the theme."""
    fg, grid = ("#e0e0e0", "#4a4a4a") if dark else ("#333333", "#e4e4e4")
    axis = {
        "labelFontSize": 12,
        "titleFontSize": 13,
        "labelColor": fg,
        "titleColor": fg,
        "domainColor": fg,
        "tickColor": fg,
        "gridColor": grid,
        "labelFlush": True,
        "titleFontWeight": "normal",
    }
    return {
        "background": None,
        "view": {"stroke": None},
        "axis": axis,
        "text": {"fontSize": 12, "color": fg},
        "font": "Roboto, Helvetica, Arial, sans-serif",
    }


# --- rows ----------------------------------------------------------------------------------
class Collected(Protocol):
    """What a chart reads of a DataCollector: its per-hour model variables by column (lists
    live, float arrays read back from a store)."""

    @property
    def model_vars(self) -> Mapping[str, Sequence[float] | np.ndarray]: ...  # pragma: no cover


class Recorded(Protocol):
    """A market's hourly record as the charts read it: a live :class:`MarketModel`, or a
    saved run read back from its store (:class:`admarket.viz.saved.StoredRun`)."""

    @property
    def config(self) -> MarketConfig: ...  # pragma: no cover

    @property
    def datacollector(self) -> Collected: ...  # pragma: no cover


def _thin(n: int) -> np.ndarray:
    """Indices of ``n`` points to draw: all, or an even subset that keeps the last."""
    if n <= MAX_POINTS:
        return np.arange(n)
    idx = np.linspace(0, n - 1, MAX_POINTS).round().astype(int)
    return np.unique(idx)


def _values(a: np.ndarray) -> list[float | None]:
    """Rounded values, NaN and infinities as None (JSON has no NaN; Vega skips nulls)."""
    ok = np.isfinite(a)
    vals = np.round(np.where(ok, a, 0.0), 6).tolist()
    return vals if ok.all() else [v if f else None for v, f in zip(vals, ok.tolist(), strict=True)]


def defined_series(m: Recorded, column: str, undefined_until: str) -> np.ndarray:
    """A column's values, NaN where it is not defined yet (see :attr:`Panel.undefined_until`)."""
    y = np.asarray(m.datacollector.model_vars[column], dtype=float)
    if undefined_until == "spend":
        spend = np.asarray(m.datacollector.model_vars["gross_spend"], dtype=float)
        y = np.where(spend[: len(y)] > 0, y, np.nan)
    elif undefined_until == "close":
        y = y.copy()
        y[: m.config.steps_per_day] = np.nan
    return y


def series_rows(
    models: Sequence[Recorded],
    column: str,
    key: str,
    with_band: bool,
    undefined_until: str = "",
) -> dict[str, Any]:
    """One series as a column block: ``x`` (day), ``k`` = key, ``v`` = the first seed's value
    and, with several seeds, ``lo``/``hi`` = the lowest and highest seed's value. Values
    that are not defined yet (see :attr:`Panel.undefined_until`) are null: no line."""
    first = models[0]
    spd = first.config.steps_per_day
    ys = [defined_series(m, column, undefined_until) for m in models]
    n = min(len(y) for y in ys)
    idx = _thin(n)
    cols: dict[str, Any] = {"x": np.round(idx / spd, 4).tolist(), "k": key}
    cols["v"] = _values(ys[0][idx])
    if with_band and len(ys) > 1:
        stack = np.vstack([y[:n][idx] for y in ys])
        cols["lo"] = _values(np.fmin.reduce(stack, axis=0))  # NaN-skipping, no warning
        cols["hi"] = _values(np.fmax.reduce(stack, axis=0))
    return block(len(idx), **cols)


def panel_rows(
    panel: Panel, runs: Mapping[str, Sequence[Recorded]], by_scenario: bool
) -> list[dict[str, Any]]:
    """Every series a panel draws now (a block each): one per column, and per scenario side
    by side."""
    blocks: list[dict[str, Any]] = []
    for scenario, models in runs.items():
        if not panel.applies_to(scenario):
            continue
        for column, label in panel.series:
            key = f"{scenario}: {label}" if by_scenario else label
            blocks.append(series_rows(models, column, key, len(models) > 1, panel.undefined_until))
    return blocks


# --- legend and spec -----------------------------------------------------------------------
@dataclass(frozen=True)
class LegendItem:
    """One entry of a chart's legend: the key in the data, its label, colour and dash."""

    key: str
    label: str
    color: str
    dash: tuple[int, int]


def legend(panel: Panel, scenarios: tuple[str, ...], by_scenario: bool) -> list[LegendItem]:
    """The legend entries of a panel, in drawing order."""
    items = []
    if by_scenario:
        for s in scenarios:
            if panel.applies_to(s):
                for j, (_, label) in enumerate(panel.series):
                    items.append(
                        LegendItem(f"{s}: {label}", f"{s}: {label}", SCENARIO_COLORS[s], DASHES[j])
                    )
    elif any(panel.applies_to(s) for s in scenarios):
        for j, (_, label) in enumerate(panel.series):
            items.append(LegendItem(label, label, SERIES_COLORS[j], DASHES[0]))
    return items


# Money below $1,000 in dollars and cents (an SI prefix would read $0.10 as "$100m"), from
# $1,000 up with a prefix ("$1.5M"), below a cent with two significant digits ("$0.0042").
MONEY_LABEL = (
    "abs(datum.value) >= 1000 ? format(datum.value, '$.3~s')"
    " : abs(datum.value) >= 0.01 || datum.value == 0 ? format(datum.value, '$,.2f')"
    " : format(datum.value, '$.2~r')"
)


def y_axis(unit: str) -> dict[str, Any]:
    """Axis settings for a unit: percentages (``1.5%``), dollars (``$0.10``, ``$1.5M``) or
    counts (whole numbers, ``12,000``: no ticks between them, no "800m" disputes)."""
    axis: dict[str, Any] = {"title": None, "tickCount": 5}
    if unit == "%":
        axis["format"] = ".1~%"  # one decimal: 1% and 1.5% are not both "1%"
    elif unit == "$":
        axis["labelExpr"] = MONEY_LABEL
    else:
        axis |= {"format": ",.0f", "tickMinStep": 1}
    return axis


def panel_spec(
    panel: Panel, items: list[LegendItem], days: int, band: bool, dark: bool
) -> dict[str, Any]:
    """The Vega-Lite spec of a panel (no data: rows arrive as the data set ``rows``)."""
    keys = [i.key for i in items]
    color = {
        "field": "k",
        "type": "nominal",
        "scale": {"domain": keys, "range": [i.color for i in items]},
        "legend": None,
    }
    x = {
        "field": "x",
        "type": "quantitative",
        "scale": {"domain": [0, days], "nice": False},
        "axis": {"title": "day", "tickMinStep": 1, "format": "d"},
    }
    layers: list[dict[str, Any]] = []
    if band:
        layers.append(
            {
                "mark": {"type": "area", "opacity": 0.18},
                "encoding": {
                    "x": x,
                    "y": {"field": "lo", "type": "quantitative"},
                    "y2": {"field": "hi"},
                    "color": color,
                },
            }
        )
    line: dict[str, Any] = {
        "mark": {"type": "line", "strokeWidth": 2, "interpolate": "linear"},
        "encoding": {
            "x": x,
            "y": {"field": "v", "type": "quantitative", "axis": y_axis(panel.unit)},
            "color": color,
        },
    }
    if len({i.dash for i in items}) > 1:
        line["encoding"]["strokeDash"] = {
            "field": "k",
            "type": "nominal",
            "scale": {"domain": keys, "range": [list(i.dash) for i in items]},
            "legend": None,
        }
    layers.append(line)
    return {
        "$schema": VEGA_LITE_SCHEMA,
        "width": "container",
        "height": CHART_HEIGHT,
        "autosize": {"type": "fit-x", "contains": "padding", "resize": True},
        "data": {"name": "rows"},
        "layer": layers,
        "config": theme_config(dark),
    }


def not_applicable(panel: Panel, scenarios: tuple[str, ...]) -> str:
    """What to say about scenarios shown that the panel does not apply to ('' if none)."""
    missing = [s for s in scenarios if not panel.applies_to(s)]
    if not missing:
        return ""
    return f"Not drawn for {' and '.join(missing)}: {panel.why_not}."

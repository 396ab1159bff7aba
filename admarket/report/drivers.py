"""What drives C: its wrong-fact share, disputes and goal attainment as functions of the
ledger assumptions, beside B, from a parameter sweep.

A sweep (``admarket sweep``, best ``--one-at-a-time``) varies each swept parameter with the
others at their base values. For each parameter, the slice of the sweep where the others
sit at base gives, per value and scenario, the mean and 95% interval across seeds of each
metric; ``drivers_markdown`` and ``drivers_chart`` show them. C's zeros (no wrong fact, no
dispute) at a *perfect* ledger — no read or write failures, entries readable within the
hour — are labelled as following from the assumptions (what agents wrote was right and
always readable); everything else C shows is an outcome of the faults.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from admarket.config import PARAMS
from admarket.config.params import field_label
from admarket.report.chart_parts import COLOURS, NAMES, cut_note, mark_cut_ends, pyplot
from admarket.report.glossary import WRITTEN_OFF_SOURCES
from admarket.report.stats import CLIPPED, mean_ci, paired_diff
from admarket.report.sweep_values import (
    category_axis,
    category_order,
    equals,
    same_value,
    value_text,
)

DRIVER_METRICS = (
    ("wrong_fact_share", "facts acted on that were wrong", 100.0, "%"),
    ("disputes", "billing disputes per run", 1.0, ""),
    ("mean_goal_attainment", "mean goal attainment", 1.0, ""),
)
_RANGE = {"wrong_fact_share": (0.0, 1.0), "disputes": (0.0, math.inf)}
_RANGE["mean_goal_attainment"] = (0.0, 1.0)  # intervals never leave what the metric can be
# Goal attainment varies more between seeds than between B and C: the chart shows C − B,
# paired by seed (both trade the same market), instead of two wide unpaired intervals.
PAIRED = "attainment_c_minus_b"
ASSUMED = "follows from the assumptions"
EMERGENT = "emergent outcome"


# what a B or C run wrote off (every shortfall a party bears, as the compare report's
# dispute table shows it): beside the drivers and the break-even differences from A
WRITTEN_OFF = "written_off"
WRITTEN_OFF_COLUMNS = [WRITTEN_OFF, f"{WRITTEN_OFF}_lo", f"{WRITTEN_OFF}_hi"]


def cut_columns(m: str) -> list[str]:
    """The flags beside metric ``m``'s interval in a stored table (drivers.csv,
    break_even.csv): whether its lower and upper end was cut at a bound the metric cannot
    cross — what report.json calls ``lo_cut``/``hi_cut`` and the text marks *(clipped)*."""
    return [f"{m}_lo_cut", f"{m}_hi_cut"]


WRITTEN_OFF_CUTS = cut_columns(WRITTEN_OFF)


LEDGER_FAULTS = ("ledger_read_failure", "ledger_write_failure", "ledger_flush_hours")


def sweep_base(cfg: Any, params: list[str]) -> dict[str, Any]:
    """The base values a sweep's slices are taken at: the swept parameters' and the ledger
    faults' values in ``cfg`` (the faults decide whether C's ledger is perfect)."""
    return {k: getattr(cfg, k) for k in dict.fromkeys([*params, *LEDGER_FAULTS])}


def perfect_ledger(values: dict[str, Any]) -> bool:
    """Whether these parameter values make C's ledger perfect (no faults, read in the hour)."""
    flush = values.get("ledger_flush_hours")
    return (
        values.get("ledger_read_failure") == 0
        and values.get("ledger_write_failure") == 0
        and isinstance(flush, int | float)  # (a list where runs' configs differ: not one)
        and flush <= 1
    )


def driver_table(
    tidy: pd.DataFrame,
    params: list[str],
    base: dict[str, Any],
    blocks: Mapping[str, range] | None = None,
) -> pd.DataFrame:
    """One row per (swept parameter, value, scenario B/C): each metric's mean and 95% CI
    across seeds, with the other swept parameters at their ``base`` values. ``blocks``: a
    one-at-a-time sweep's points of each parameter (:func:`~admarket.batch.grid.point_blocks`),
    so that a parameter's values keep its grid's order, the base value where the grid has
    it (the base point is met under each parameter whose grid holds its base value)."""
    rows = []
    direct = tidy[tidy["scenario"].isin(["B", "C"])]
    for p in params:
        keep = pd.Series(True, index=direct.index)
        for q in params:
            if q != p:
                keep &= equals(direct[q], base[q])
        part = own_points_first(direct[keep], blocks, p)
        # a one-at-a-time sweep runs the base point once per parameter: count those runs once
        part = part.drop_duplicates(subset=[*params, "scenario", "seed"])
        for (value, scen), g in _groups(part, p):
            values = {**base, p: value}
            row: dict[str, Any] = {"parameter": p, "value": value, "scenario": scen}
            for m, *_ in DRIVER_METRICS:
                ci = mean_ci(g[m].astype(float)).clipped(*_RANGE[m])
                row |= {m: ci.mean, f"{m}_lo": ci.lo, f"{m}_hi": ci.hi}
                row |= dict(zip(cut_columns(m), (ci.lo_cut, ci.hi_cut), strict=True))
            row |= written_off(g)
            other = part[equals(part[p], value) & (part["scenario"] == "B")]
            d = paired_diff(_by_seed(g), _by_seed(other))
            if scen == "C" and d.n:
                row |= {PAIRED: d.mean, f"{PAIRED}_lo": d.lo, f"{PAIRED}_hi": d.hi}
            row["seeds"] = len(g)
            zeros = row["wrong_fact_share"] == 0 and row["disputes"] == 0
            assumed = perfect_ledger(values) and zeros
            row["label"] = (ASSUMED if assumed else EMERGENT) if scen == "C" else ""
            rows.append(row)
    return pd.DataFrame(rows)


def written_off(runs: pd.DataFrame) -> dict[str, float | bool]:
    """Mean written off per run across ``runs``' seeds and its 95% interval (an amount: it
    stops at $0), by :data:`WRITTEN_OFF_COLUMNS`, and whether each end was cut at $0
    (:data:`WRITTEN_OFF_CUTS`); NaN, uncut, when the rows do not hold it (a table built
    without the column)."""
    if WRITTEN_OFF not in runs:
        return dict.fromkeys(WRITTEN_OFF_COLUMNS, math.nan) | dict.fromkeys(WRITTEN_OFF_CUTS, False)
    ci = mean_ci(runs[WRITTEN_OFF].astype(float)).clipped(0.0, math.inf)
    values = dict(zip(WRITTEN_OFF_COLUMNS, (ci.mean, ci.lo, ci.hi), strict=True))
    return values | dict(zip(WRITTEN_OFF_CUTS, (ci.lo_cut, ci.hi_cut), strict=True))


def written_off_text(row: Mapping[str, Any]) -> str:
    """A row's written off per run with its interval, in whole dollars; "n/a" where the
    sweep did not record it."""
    mean, lo, hi = (row.get(c) for c in WRITTEN_OFF_COLUMNS)
    if mean is None or pd.isna(mean):
        return "n/a"
    if lo is None or hi is None or pd.isna(lo):
        return f"{mean:,.0f} (n=1, no interval)"
    return interval_text(mean, lo, hi, ",.0f", (0.0, math.inf))


def own_points_first(
    part: pd.DataFrame, blocks: Mapping[str, range] | None, p: str
) -> pd.DataFrame:
    """A slice of a sweep with the points of ``p``'s own block first, in grid order (then
    the rest, such as the base point met under another parameter); as it is without
    ``blocks`` (a cartesian sweep, whose rows are in grid order already)."""
    if blocks is None or p not in blocks:
        return part
    own = part["point"].isin(blocks[p])
    return pd.concat([part[own], part[~own]])


def left_out_note(
    tidy: pd.DataFrame, table: pd.DataFrame, params: list[str], base: dict[str, Any]
) -> str:
    """One sentence naming the swept parameters the drivers ``table`` has no slice of — no
    point of the sweep has the other swept parameters at their ``base`` values (a cartesian
    grid without them) — and how to see them; "" when none is left out or the sweep ran
    neither B nor C."""
    shown = set(table["parameter"]) if len(table) else set()
    missing = [p for p in params if p not in shown]
    if not missing or not tidy["scenario"].isin(["B", "C"]).any():
        return ""
    others = ", ".join(f"{k}={value_text(base[k])}" for k in params)
    return (
        f"What drives C leaves out {', '.join(missing)}: it reads each swept parameter where "
        f"the others sit at their base values ({others}), and no point of this sweep is "
        "there; `--one-at-a-time` varies each alone, or add the base values to the grid."
    )


def _groups(df: pd.DataFrame, p: str) -> list[tuple[tuple[Any, str], pd.DataFrame]]:
    """``df`` grouped by (value of ``p``, scenario): numbers in ascending order, text or list
    values (categories) in the order they first appear — the grid's."""
    groups = list(df.groupby([p, "scenario"], sort=True))
    order = category_order(df[p])
    if order is None:
        return groups
    return sorted(groups, key=lambda kg: (order.index(kg[0][0]), kg[0][1]))


def _in_order(rows: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """One parameter's rows sorted by ``by`` (value first): numbers ascending, categories
    kept in the table's (grid) order."""
    order = category_order(rows["value"])
    if order is None:
        return rows.sort_values(by)
    at = rows["value"].map(order.index)
    return rows.assign(_at=at).sort_values(["_at", *by[1:]], kind="stable").drop(columns="_at")


def _by_seed(g: pd.DataFrame) -> dict[int, float]:
    return {int(k): float(v) for k, v in zip(g["seed"], g["mean_goal_attainment"], strict=True)}


def drivers_chart(table: pd.DataFrame, path: Path) -> None:
    """Panels: one row per swept parameter, one column per metric; B and C with 95% CIs."""
    params = list(dict.fromkeys(table["parameter"]))
    plt = pyplot()
    # constrained: the legend goes outside the panels, below them, where it covers no point
    fig, axes = plt.subplots(
        len(params),
        len(DRIVER_METRICS),
        figsize=(12, 0.4 + 3.1 * len(params)),
        squeeze=False,
        layout="constrained",
    )
    legend: dict[str, Any] = {}  # label → line, each scenario once (every panel draws it)
    panels: list[tuple[str, str, float, str, tuple[str, ...]]] = [
        (m, title, scale, unit, ("B", "C")) for m, title, scale, unit in DRIVER_METRICS[:2]
    ]
    panels.append((PAIRED, "goal attainment, C − B (paired by seed)", 1.0, "", ("C",)))
    cut = [False, False]
    for r, p in enumerate(params):
        for c, (m, title, scale, unit, scens) in enumerate(panels):
            ax = axes[r][c]
            rows = table[table["parameter"] == p]
            # a text or list parameter's values are categories at 0, 1, … in grid order
            cats = category_order(rows["value"])
            for scen, g in rows.groupby("scenario", sort=True):
                if scen not in scens or m not in g:
                    continue
                g = _in_order(g, ["value"])
                err = [(g[m] - g[f"{m}_lo"]) * scale, (g[f"{m}_hi"] - g[m]) * scale]
                at = g["value"] if cats is None else g["value"].map(cats.index)
                line = ax.errorbar(
                    at.astype(float),
                    g[m] * scale,
                    yerr=[e.fillna(0).clip(lower=0) for e in err],
                    color=COLOURS[scen],
                    marker="o",
                    capsize=3,
                    label=NAMES[scen],
                )
                legend.setdefault(NAMES[scen], line)
                lows, highs = cut_ends(g, m, scale)
                marked = mark_cut_ends(ax, list(at.astype(float)), lows, highs)
                cut = [cut[0] or marked[0], cut[1] or marked[1]]
            if m == PAIRED:
                ax.axhline(0, color="black", linewidth=0.8)
            if cats is not None:
                category_axis(ax, cats)
            ax.set_xlabel(parameter_label(p))
            ax.set_title(title + (f" ({unit})" if unit else ""), fontsize=9)
    note = cut_note(cut[0], cut[1], high="100%")
    title = "What drives C: ledger assumptions vs B (mean and 95% CI across seeds)"
    fig.suptitle(title + (f"\n{note}" if note else ""))
    # one legend for the figure, outside the panels: inside one it could sit on a point
    fig.legend(
        list(legend.values()),
        list(legend),
        loc="outside lower center",
        ncol=max(1, len(legend)),
        fontsize=8,
        frameon=False,
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def cut_ends(
    rows: pd.DataFrame, m: str, scale: float = 1.0
) -> tuple[list[float | None], list[float | None]]:
    """Per row, metric ``m``'s interval end (× ``scale``) where it was cut at the metric's
    bound, or None: the lower ends, then the upper ones. The table keeps only the cut ends,
    not whether they were cut: an end at the bound while the mean is off it was (as
    :func:`interval_text` reads it)."""
    low, high = _RANGE.get(m, (-math.inf, math.inf))
    lows: list[float | None] = []
    highs: list[float | None] = []
    for mean, lo, hi in zip(rows[m], rows[f"{m}_lo"], rows[f"{m}_hi"], strict=True):
        lows.append(lo * scale if lo == low < mean else None)
        highs.append(hi * scale if hi == high > mean else None)
    return lows, highs


def parameter_label(name: str) -> str:
    """A swept parameter as a chart labels it: its label (the explorer's, from the config's
    declarations) and unit, e.g. "Decay rate (per day)"; a name that is no config field
    as it is."""
    if name not in PARAMS:
        return name
    unit = PARAMS[name].unit
    return field_label(name) + (f" ({unit})" if unit else "")


def interval_text(
    mean: float,
    lo: float,
    hi: float,
    spec: str,
    bounds: tuple[float, float] = (-math.inf, math.inf),
    scale: float = 1.0,
) -> str:
    """``mean [lo, hi]`` (× ``scale``) in ``spec``; an end at one of ``bounds`` (the
    metric's range) while the mean is off it is marked :data:`~admarket.report.stats.CLIPPED`:
    the interval, symmetric about the mean, was cut there (a stored table keeps the cut
    ends, not whether they were cut)."""
    low = f"{lo * scale:{spec}}" + (CLIPPED if lo == bounds[0] < mean else "")
    high = f"{hi * scale:{spec}}" + (CLIPPED if hi == bounds[1] > mean else "")
    return f"{mean * scale:{spec}} [{low}, {high}]"


def _cell(row: pd.Series, m: str, scale: float, spec: str) -> str:
    mean, lo, hi = (row[k] for k in (m, f"{m}_lo", f"{m}_hi"))
    if pd.isna(mean):
        return "n/a"
    if pd.isna(lo):  # a mean without an interval rests on one seed: said, as CI.show says it
        return f"{mean * scale:{spec}} (n=1, no interval)"
    if lo == hi:  # the same on every seed: an interval of zero width says nothing (CI.show)
        return f"{mean * scale:{spec}}"
    return interval_text(mean, lo, hi, spec, _RANGE.get(m, (-math.inf, math.inf)), scale)


def drivers_markdown(table: pd.DataFrame, base: dict[str, Any]) -> str:
    """The sweep's "what drives C" section: text, chart and one table per parameter."""
    lines = [
        "## What drives C: the ledger assumptions",
        "",
        "Each swept parameter varies with the others at their base values "
        f"({', '.join(f'{k}={value_text(v)}' for k, v in base.items())}). Means across seeds "
        "with 95% intervals (an end marked *(clipped)* was cut at a bound the quantity cannot "
        "cross, such as 0: the bound, not an estimate). C's zeros at a perfect ledger (no "
        "read or write failures, entries readable within the hour) are labelled "
        f"*{ASSUMED}*: agents wrote what they held, which was right, and every read was "
        "answered — they are not a discovery. "
        f"Everything else C shows is an *{EMERGENT}* of the faults. B keeps no ledger: its "
        "line moves only with parameters it shares (e.g. the count discrepancy). Written off: "
        f"every shortfall a party bears — {WRITTEN_OFF_SOURCES}. A parameter whose grid holds "
        "its base value lists it, marked *(base)*: the reference point its other values are "
        "read against, the same runs (run once) in each table that lists it.",
        "",
        "![what drives C](charts/drivers.png)",
        "",
    ]
    head = ["value", "scenario", "wrong-fact share (%)", "disputes", "written off (USD per run)"]
    head.append("goal attainment")
    # the label is of C's wrong facts and disputes, not of the attainment gap beside them
    head += ["C − B attainment (paired)", "label of C's wrong facts and disputes"]
    for p in dict.fromkeys(table["parameter"]):
        # the label a reader knows, with the name --set and --grid take
        title = f"{field_label(p)} (`{p}`)" if p in PARAMS else p
        lines += [f"### {title}", "", "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        for _, row in _in_order(table[table["parameter"] == p], ["value", "scenario"]).iterrows():
            value = value_text(row["value"])
            # the base point: every parameter's reference, the same runs in each table
            at_base = p in base and same_value(row["value"], base[p])
            cells = [
                value + (" (base)" if at_base else ""),
                row["scenario"],
                _cell(row, "wrong_fact_share", 100.0, ".2f"),
                _cell(row, "disputes", 1.0, ",.1f"),
                written_off_text(row),
                _cell(row, "mean_goal_attainment", 1.0, ".3f"),
                _cell(row, PAIRED, 1.0, "+.4f") if pd.notna(row.get(PAIRED)) else "—",
                row["label"] or "—",
            ]
            lines.append("| " + " | ".join(cells) + " |")
        lines.append("")
    return "\n".join(lines)

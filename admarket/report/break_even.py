"""Break-even against the exchange: where does direct trading (B) or the ledger (C) beat A?

A sweep's runs are paired by point and seed: for each B/C run, the difference from A on
the same point and seed in net-to-publisher revenue and mean goal attainment, with its 95%
interval and a verdict ("beats A" only when the interval is above zero). This module builds
that table (:func:`break_even`), its chart and its Markdown section; :mod:`admarket.batch.grid`
runs the sweep and publishes them.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from admarket.money import plural, usd_short
from admarket.report.chart_parts import COLOURS, NAMES, axis_format, pyplot
from admarket.report.drivers import (
    WRITTEN_OFF_COLUMNS,
    WRITTEN_OFF_CUTS,
    own_points_first,
    parameter_label,
    written_off,
    written_off_text,
)
from admarket.report.glossary import WRITTEN_OFF_SOURCES
from admarket.report.stats import direction, paired_diff
from admarket.report.sweep_values import (
    categorical,
    category_axis,
    category_order,
    equals,
    same_value,
    value_text,
)

BREAK_EVEN = ("net_to_publishers", "mean_goal_attainment")


def break_even_columns(params: list[str]) -> list[str]:
    """Columns of the break-even table (also when it has no rows)."""
    cols = ["point", *params, "scenario"]
    for m in BREAK_EVEN:
        cols += [f"{m}_diff", f"{m}_lo", f"{m}_hi", f"{m}_vs_A"]
    # the differences are never cut (they can take either sign); what was written off stops
    # at $0, and its flags say which end was cut there
    return [*cols, *WRITTEN_OFF_COLUMNS, *WRITTEN_OFF_CUTS, "seeds"]


def break_even(tidy: pd.DataFrame, params: list[str]) -> pd.DataFrame:
    """Per point and B/C scenario: paired difference vs A (mean, 95% CI, verdict) per metric.

    Without scenario A, or without B and C, there is nothing to pair: the table is empty
    (with its columns).
    """
    rows = []
    for point, g in tidy.groupby("point", sort=True):
        a = g[g["scenario"] == "A"]
        if a.empty:
            continue
        for s in [x for x in ("B", "C") if x in set(g["scenario"])]:
            o = g[g["scenario"] == s]
            row: dict[str, Any] = {"point": point, **{p: g[p].iloc[0] for p in params}}
            row["scenario"] = s
            for m in BREAK_EVEN:
                d = paired_diff(
                    dict(zip(o["seed"], o[m], strict=True)), dict(zip(a["seed"], a[m], strict=True))
                )
                row |= {
                    f"{m}_diff": d.mean,
                    f"{m}_lo": d.lo,
                    f"{m}_hi": d.hi,
                    f"{m}_vs_A": direction(d, "beats A", "below A"),
                }
            row |= written_off(o)
            row["seeds"] = d.n
            rows.append(row)
    if not rows:
        return _empty_break_even(tidy, params)
    return pd.DataFrame(rows, columns=break_even_columns(params))


def distinct_points(be: pd.DataFrame, params: list[str]) -> pd.DataFrame:
    """``be`` with each (parameter values, scenario) once: a one-at-a-time sweep lists its
    base point under each parameter that has the base value in its grid."""
    if be.empty:
        return be
    return be[~be[[*params, "scenario"]].map(value_text).duplicated()]


def _empty_break_even(tidy: pd.DataFrame, params: list[str]) -> pd.DataFrame:
    """The break-even table without rows, typed like a filled one (so it can be stored)."""
    dtypes = {"point": "int64", "scenario": "string", "seeds": "int64"}
    dtypes |= {p: tidy[p].dtype if p in tidy else "float64" for p in params}
    for m in BREAK_EVEN:
        dtypes |= {f"{m}_{k}": "float64" for k in ("diff", "lo", "hi")}
        dtypes[f"{m}_vs_A"] = "string"
    dtypes |= {c: "float64" for c in WRITTEN_OFF_COLUMNS}
    dtypes |= {c: "bool" for c in WRITTEN_OFF_CUTS}
    return pd.DataFrame({c: pd.Series(dtype=dtypes[c]) for c in break_even_columns(params)})


def _series(be: pd.DataFrame, others: list[str]) -> list[tuple[Any, pd.DataFrame]]:
    """The chart's series: ``be`` by scenario and the other swept parameters, in that order
    (numbers ascending, a text or list parameter's values in grid order)."""
    if not others:
        return list(be.groupby("scenario"))
    groups = list(be.groupby(["scenario", *others], sort=True))
    if not any(categorical(be[p]) for p in others):
        return groups
    cats = {p: category_order(be[p]) for p in others}

    def order(key: tuple) -> tuple:
        rest = zip(cats.values(), key[1:], strict=True)
        return (key[0], *(v if c is None else c.index(v) for c, v in rest))

    return sorted(groups, key=lambda kg: order(kg[0]))


_PANELS = (
    ("net_to_publishers", "Net to publishers, scenario − A (USD)"),
    ("mean_goal_attainment", "Mean goal attainment, scenario − A"),
)
_STYLES = ("-", "--", ":", "-.")


def break_even_chart(
    be: pd.DataFrame,
    params: list[str],
    path: Path,
    base: dict[str, Any] | None = None,
    blocks: Mapping[str, range] | None = None,
) -> None:
    """Draw each B/C series' paired difference from A (mean and 95% CI), one panel per
    break-even metric, to ``path`` (PNG). A cartesian sweep is one row of panels against
    the first swept parameter, one series per scenario and value of the others. A
    one-at-a-time sweep (``blocks``: each parameter's points,
    :func:`~admarket.batch.grid.point_blocks`) is one row per swept parameter in its grid's
    order, drawn over its slice of the sweep — the others at their ``base`` values, as the
    drivers chart reads it — since its points vary one parameter each and on a shared axis
    would all sit at the first one's base value. One legend for the figure, below the
    panels."""
    if blocks is None or base is None:
        rows = [(params[0], be, params[1:])]
    else:
        rows = [(p, _base_slice(be, params, base, p, blocks), []) for p in params]
    plt = pyplot()
    fig, axes = plt.subplots(
        len(rows), 2, figsize=(11, 0.6 + 3.6 * len(rows)), squeeze=False, layout="constrained"
    )
    legend: dict[str, Any] = {}  # label → line, each series once (both panels draw it)
    for r, (x_name, part, others) in enumerate(rows):
        for ax, (m, title) in zip(axes[r], _PANELS, strict=True):
            for label, line in _panel(ax, part, x_name, others, m) if len(part) else []:
                legend.setdefault(label, line)
            ax.set_title(title + "  (> 0: beats A)", fontsize=9)
    # as many columns as the longest label leaves room for across the figure (at font size
    # 7 a character is ~0.055 in; the marker and gaps ~0.45 in), at most 3
    widest = 0.45 + 0.055 * max((len(label) for label in legend), default=0)
    ncol = max(1, min(3, len(legend), int(10.6 // widest)))
    # the figure grows with the legend's rows, so many series never squeeze the panels
    fig.set_figheight(fig.get_figheight() + 0.2 * -(-len(legend) // ncol))
    fig.legend(
        list(legend.values()),
        list(legend),
        loc="outside lower center",
        ncol=ncol,
        fontsize=7,
        frameon=False,
    )
    title = "Break-even against the exchange (mean and 95% CI across seeds)"
    if any(ax.get_lines() and _has_hollow(ax) for ax in fig.axes):  # said where it cannot
        title += "; hollow: no interval, no verdict"  # cover a point (a note in a panel can)
    fig.suptitle(title, fontsize=10)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _has_hollow(ax: Any) -> bool:
    """Whether ``ax`` has a point drawn hollow (no interval, no verdict: :func:`_panel`)."""
    return any(line.get_markerfacecolor() == "white" for line in ax.get_lines())


def _base_slice(
    be: pd.DataFrame,
    params: list[str],
    base: dict[str, Any],
    p: str,
    blocks: Mapping[str, range] | None,
) -> pd.DataFrame:
    """The rows of ``be`` where every swept parameter but ``p`` sits at its ``base`` value,
    ``p``'s own points first in grid order, the base point once (a one-at-a-time sweep
    lists it under each parameter whose grid holds its base value)."""
    keep = pd.Series(True, index=be.index)
    for q in params:
        if q != p:
            keep &= equals(be[q], base[q])
    return distinct_points(own_points_first(be[keep], blocks, p), params)


def _panel(
    ax: Any, be: pd.DataFrame, x_name: str, others: list[str], m: str
) -> list[tuple[str, Any]]:
    """Draw metric ``m``'s series against ``x_name`` on ``ax``; their (label, line)."""
    # a text or list parameter (buyer_rule, campaign_budgets) is drawn as categories
    cats = category_order(be[x_name])
    groups = _series(be, others)
    if cats is None:
        xs = sorted(be[x_name].astype(float).unique())
        dodge = ((xs[-1] - xs[0]) if len(xs) > 1 else 1.0) * 0.012
    else:  # categories sit at 0, 1, … in grid order; the series share 0.6 of the gap
        dodge = min(0.1, 0.6 / max(len(groups), 1))
    drawn = []
    for gi, (key, g) in enumerate(groups):
        key = key if isinstance(key, tuple) else (key,)
        if cats is None:
            g = g.sort_values(x_name)
            at = g[x_name].astype(float)
        else:
            g = g.assign(_x=g[x_name].map(cats.index)).sort_values("_x", kind="stable")
            at = g["_x"].astype(float)
        # dodge the series sideways a little so their interval caps do not overlap
        x = at + (gi - (len(groups) - 1) / 2) * dodge
        values = zip(others, key[1:], strict=True)
        label = NAMES[key[0]] + "".join(
            f", {parameter_label(p)} = {value_text(v)}" for p, v in values
        )
        line = ax.errorbar(
            x,
            g[f"{m}_diff"],
            yerr=[
                (g[f"{m}_diff"] - g[f"{m}_lo"]).fillna(0),
                (g[f"{m}_hi"] - g[f"{m}_diff"]).fillna(0),
            ],
            color=COLOURS[key[0]],
            linestyle=_STYLES[gi % len(_STYLES)],
            marker="o",
            capsize=3,
            label=label,
        )
        drawn.append((label, line))
        # a point with no interval (one seed, or every seed the same) has no verdict: drawn
        # hollow, so a missing error bar does not read as a certain difference
        # (zero on every seed is a verdict: no difference on any seed)
        same = (g[f"{m}_lo"] == g[f"{m}_hi"]) & (g[f"{m}_diff"] != 0)
        bare = (g[f"{m}_lo"].isna() | same).to_numpy()
        if bare.any():
            ax.plot(
                x[bare],
                g[f"{m}_diff"][bare],
                linestyle="none",
                marker="o",
                markerfacecolor="white",
                markeredgecolor=COLOURS[key[0]],
                zorder=3,
            )
    ax.axhline(0, color="black", linewidth=0.8)
    if m == "net_to_publishers":
        ax.yaxis.set_major_formatter(axis_format(usd_short))
    if cats is not None:
        category_axis(ax, cats)
    ax.set_xlabel(parameter_label(x_name))
    return drawn


def _ci_text(row: dict[str, Any], metric: str, spec: str) -> str:
    mean, lo, hi = (row[f"{metric}_{k}"] for k in ("diff", "lo", "hi"))
    if pd.isna(lo):
        return f"{mean:{spec}} (n=1, no interval)"
    if lo == hi:  # every seed the same: a t interval of zero width says nothing
        if mean == 0:
            return f"{mean:{spec}} (no difference on any seed)"
        return f"{mean:{spec}} (the same on all {row['seeds']} seeds, no interval)"
    return f"{mean:{spec}} [{lo:{spec}}, {hi:{spec}}]"


def sweep_markdown(
    be: pd.DataFrame, params: list[str], n_seeds: int, base: Mapping[str, Any] | None = None
) -> str:
    """The sweep report's break-even section (Markdown): the chart and one row per point and
    B/C scenario with its differences from A and their verdicts. The base point — every
    swept parameter at its ``base`` value — has its values marked *(base)*, as the drivers
    tables mark theirs: the reference the other points are read against."""
    if be.empty:
        return (
            "# Parameter sweep\n\nNo break-even table: pairing against the exchange needs "
            "scenario A and B or C on each point. The results are in sweep.csv and the "
            "store's `sweep` table.\n"
        )
    lines = [
        "# Parameter sweep: break-even against the exchange (A)",
        "",
        f"Paired by seed ({plural(n_seeds, 'seed')} per point); differences are scenario − A with "
        '95% intervals; "beats A" only when the interval is above zero, and no verdict without an '
        "interval (one seed, or the same difference on every seed). Written off is the "
        "scenario's own per run, mean and 95% interval (A's exchange settles each lot): "
        f"every shortfall a party bears — {WRITTEN_OFF_SOURCES}; an end marked *(clipped)* "
        "was cut at $0 (the bound, not an estimate)."
        + (
            " The base point, every swept parameter at its base value, is marked *(base)*: "
            "the reference the other points are read against."
            if base is not None
            else ""
        ),
        "",
        "![break-even](charts/break_even.png)",
        "",
    ]
    head = [
        *(parameter_label(p) for p in params),  # as the chart and drivers.png label them
        "scenario",
        "net to publishers − A",
        "verdict",
        "goal attainment − A",
        "verdict",
        "written off (USD per run)",
    ]
    lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in distinct_points(be, params).itertuples(index=False):
        r = r._asdict()
        net = _ci_text(r, "net_to_publishers", "+,.0f")
        goal = _ci_text(r, "mean_goal_attainment", "+.3f")
        values = [value_text(r[p]) for p in params]
        at_base = base is not None and all(p in base and same_value(r[p], base[p]) for p in params)
        cells = [
            *(v + (" (base)" if at_base else "") for v in values),
            r["scenario"],
            net,
            r["net_to_publishers_vs_A"],
            goal,
        ]
        cells += [r["mean_goal_attainment_vs_A"], written_off_text(r)]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"

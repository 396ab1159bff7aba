"""Break-even against the exchange: where does direct trading (B) or the ledger (C) beat A?

A sweep's runs are paired by point and seed: for each B/C run, the difference from A on
the same point and seed in net-to-publisher revenue and mean goal attainment, with its 95%
interval and a verdict ("beats A" only when the interval is above zero). This module builds
that table (:func:`break_even`), its chart and its Markdown section; :mod:`admarket.batch.grid`
runs the sweep and publishes them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from admarket.money import plural, usd_short
from admarket.report.charts import COLOURS, axis_format, pyplot
from admarket.report.stats import direction, paired_diff
from admarket.report.sweep_values import categorical, category_axis, category_order, value_text

BREAK_EVEN = ("net_to_publishers", "mean_goal_attainment")


def break_even_columns(params: list[str]) -> list[str]:
    """Columns of the break-even table (also when it has no rows)."""
    cols = ["point", *params, "scenario"]
    for m in BREAK_EVEN:
        cols += [f"{m}_diff", f"{m}_lo", f"{m}_hi", f"{m}_vs_A"]
    return [*cols, "seeds"]


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
            row["seeds"] = d.n
            rows.append(row)
    if not rows:
        return _empty_break_even(tidy, params)
    return pd.DataFrame(rows, columns=break_even_columns(params))


def _empty_break_even(tidy: pd.DataFrame, params: list[str]) -> pd.DataFrame:
    """The break-even table without rows, typed like a filled one (so it can be stored)."""
    dtypes = {"point": "int64", "scenario": "string", "seeds": "int64"}
    dtypes |= {p: tidy[p].dtype if p in tidy else "float64" for p in params}
    for m in BREAK_EVEN:
        dtypes |= {f"{m}_{k}": "float64" for k in ("diff", "lo", "hi")}
        dtypes[f"{m}_vs_A"] = "string"
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


def break_even_chart(be: pd.DataFrame, params: list[str], path: Path) -> None:
    """Draw each B/C series' paired difference from A (mean and 95% CI) against the first
    swept parameter, one panel per break-even metric, to ``path`` (PNG)."""
    x_name, others = params[0], params[1:]
    # a text or list parameter (buyer_rule, campaign_budgets) is drawn as categories
    cats = category_order(be[x_name])
    plt = pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.8))
    styles = ["-", "--", ":", "-."]
    for ax, m, title in (
        (axes[0], "net_to_publishers", "Net to publishers, scenario − A (USD)"),
        (axes[1], "mean_goal_attainment", "Mean goal attainment, scenario − A"),
    ):
        groups = _series(be, others)
        n_groups = len(groups)
        if cats is None:
            xs = sorted(be[x_name].astype(float).unique())
            span = (xs[-1] - xs[0]) if len(xs) > 1 else 1.0
            dodge = span * 0.012
        else:  # categories sit at 0, 1, … in grid order
            dodge = 0.04
        for gi, (key, g) in enumerate(groups):
            key = key if isinstance(key, tuple) else (key,)
            if cats is None:
                g = g.sort_values(x_name)
                at = g[x_name].astype(float)
            else:
                g = g.assign(_x=g[x_name].map(cats.index)).sort_values("_x", kind="stable")
                at = g["_x"].astype(float)
            # dodge the series sideways a little so their interval caps do not overlap
            x = at + (gi - (n_groups - 1) / 2) * dodge
            label = key[0] + "".join(
                f", {p}={value_text(v)}" for p, v in zip(others, key[1:], strict=True)
            )
            ax.errorbar(
                x,
                g[f"{m}_diff"],
                yerr=[
                    (g[f"{m}_diff"] - g[f"{m}_lo"]).fillna(0),
                    (g[f"{m}_hi"] - g[f"{m}_diff"]).fillna(0),
                ],
                color=COLOURS[key[0]],
                linestyle=styles[gi % len(styles)],
                marker="o",
                capsize=3,
                label=label,
            )
        ax.axhline(0, color="black", linewidth=0.8)
        if m == "net_to_publishers":
            ax.yaxis.set_major_formatter(axis_format(usd_short))
        if cats is not None:
            category_axis(ax, cats)
        ax.set_xlabel(x_name)
        ax.set_title(title + "  (> 0: beats A)", fontsize=9)
        # below the axes, so the legend never covers a point or an interval cap
        ax.legend(
            fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.18), ncol=2, frameon=False
        )
    fig.suptitle("Break-even against the exchange (mean and 95% CI across seeds)", fontsize=10)
    fig.set_layout_engine("tight")  # laid out in savefig's own pass, as report charts are
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _ci_text(row: dict[str, Any], metric: str, spec: str) -> str:
    mean, lo, hi = (row[f"{metric}_{k}"] for k in ("diff", "lo", "hi"))
    if pd.isna(lo):
        return f"{mean:{spec}} (n=1, no interval)"
    return f"{mean:{spec}} [{lo:{spec}}, {hi:{spec}}]"


def sweep_markdown(be: pd.DataFrame, params: list[str], n_seeds: int) -> str:
    """The sweep report's break-even section (Markdown): the chart and one row per point and
    B/C scenario with its differences from A and their verdicts."""
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
        '95% intervals; "beats A" only when the interval is above zero.',
        "",
        "![break-even](charts/break_even.png)",
        "",
    ]
    head = [
        *params,
        "scenario",
        "net to publishers − A",
        "verdict",
        "goal attainment − A",
        "verdict",
    ]
    lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in be.itertuples(index=False):
        r = r._asdict()
        net = _ci_text(r, "net_to_publishers", "+,.0f")
        goal = _ci_text(r, "mean_goal_attainment", "+.3f")
        cells = [
            *(value_text(r[p]) for p in params),
            r["scenario"],
            net,
            r["net_to_publishers_vs_A"],
            goal,
        ]
        lines.append("| " + " | ".join([*cells, r["mean_goal_attainment_vs_A"]]) + " |")
    return "\n".join(lines) + "\n"

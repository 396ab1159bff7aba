"""Parameter sweeps: where does direct trading (B) or the ledger (C) beat the exchange (A)?

``sweep`` runs every point of a parameter grid (e.g. exchange fee × decay rate × restart
rate) for several seeds and each scenario, and returns a tidy DataFrame (one row per point ×
scenario × seed). ``break_even`` pairs each B/C run with A on the same point and seed and
gives the difference in net-to-publisher revenue and mean goal attainment with 95%
intervals; the chart and table mark where B or C beats A. Written to a directory, a sweep
is a store (``sweep`` and ``runs`` tables) plus ``sweep.csv``, ``break_even.csv``,
``sweep.md``, ``charts/break_even.png`` and ``sweep-runs.jsonl`` (its runs, for a later
``--resume`` to reuse), published atomically like a compare.
"""

from __future__ import annotations

import contextlib
import itertools
import sys
from pathlib import Path
from typing import Any

import pandas as pd

from admarket.batch.cluster import Cluster, runs_at_once_here
from admarket.batch.pool import Task, in_task_order, iter_results, make_tasks
from admarket.config import FIELDS, ConfigError, MarketConfig, check_scenarios
from admarket.config.params import coerce
from admarket.config.sizing import check_memory
from admarket.errors import UsageError
from admarket.money import usd_short
from admarket.outputs.publish import publish, reserve
from admarket.outputs.run_identity import run_key
from admarket.outputs.store import STORE_NAME, write_tables
from admarket.outputs.sweep_journal import (
    PUBLISHED,
    SweepJournal,
    journal_text,
    kept_runs_digest,
)
from admarket.report.charts import COLOURS, axis_format, pyplot
from admarket.report.drivers import driver_table, drivers_chart, drivers_markdown, sweep_base
from admarket.report.stats import direction, paired_diff
from admarket.report.sweep_values import (
    categorical,
    category_axis,
    category_order,
    storable_values,
    text_cells,
    value_text,
)

METRICS = (
    "gross_spend",
    "net_to_publishers",
    "intermediary_take",
    "take_rate",
    "impressions",
    "mean_goal_attainment",
    "hit_impression_goal",
    "hit_budget_goal",
    "at_risk_share",
    "hallucination_rate",
    "facts_lost",
    "restarts",
    "disputes",
    "written_off",
    "ledger_cost_usd",
    # what drives C (issue 10): wrong facts, the ledger's faults, the count discrepancy
    "wrong_fact_share",
    "count_disputes",
    "cosign_failures",
    "ledger_facts_wrong",
    "ledger_reads_failed",
    "ledger_writes_lost",
)
BREAK_EVEN = ("net_to_publishers", "mean_goal_attainment")


def parse_grid(items: list[str]) -> dict[str, list[str]]:
    """``["exchange_fee=0.1,0.2", "decay_rate=0.02"]`` → ``{name: [values…]}`` (strings)."""
    grid: dict[str, list[str]] = {}
    for item in items:
        if "=" not in item:
            raise ConfigError("--grid", item, "NAME=V1,V2,..., e.g. exchange_fee=0.1,0.15,0.2")
        name, values = item.split("=", 1)
        vals = [v.strip() for v in values.split(",") if v.strip()]
        if not vals:
            raise ConfigError("--grid", item, "at least one value after '='")
        key = name.strip().replace("-", "_")
        if key == "seed":  # seeds are replications, not a parameter to sweep
            raise ConfigError(
                "--grid", item, "a model parameter; seeds are set with --seeds and --seed-start"
            )
        if key in grid:
            raise ConfigError(
                "--grid", item, f"each parameter once; {key} is already swept (one list per name)"
            )
        grid[key] = vals
    if not grid:
        raise ConfigError("--grid", "", "at least one NAME=V1,V2,... item")
    return grid


def grid_points(
    cfg: MarketConfig, grid: dict[str, list[Any]], one_at_a_time: bool = False
) -> list[MarketConfig]:
    """One validated config per grid point: the cartesian product (in grid order), or with
    ``one_at_a_time`` each parameter's values in turn with the others at ``cfg``'s. A value
    given twice for one parameter (``0.1,0.1``, or ``0.1,0.10``) is a ConfigError."""
    _check_distinct(grid)
    if one_at_a_time:
        return [cfg.replace(**{name: v}) for name, values in grid.items() for v in values]
    names = list(grid)
    return [
        cfg.replace(**dict(zip(names, combo, strict=True)))
        for combo in itertools.product(*grid.values())
    ]


def _check_distinct(grid: dict[str, list[Any]]) -> None:
    """Refuse a parameter whose values repeat one (as the config reads them: ``0.1`` and
    ``0.10`` are one value), which would run the same point twice and draw it twice."""
    for name, values in grid.items():
        field = FIELDS.get(str(name).replace("-", "_"))
        if field is None:  # an unknown name: refused, with the nearest names, by the config
            continue
        seen: dict[Any, Any] = {}
        for v in values:
            c = coerce(field, v)
            key = tuple(c) if isinstance(c, list) else c
            if key in seen:
                same = f"{v}" if f"{v}" == f"{seen[key]}" else f"{seen[key]} (as {v})"
                given = ",".join(value_text(x) for x in values)
                raise ConfigError(
                    "--grid", f"{name}={given}", f"each value once; {name} repeats {same}"
                )
            seen[key] = v


def sweep(
    cfg: MarketConfig,
    grid: dict[str, list[Any]],
    seeds: list[int],
    scenarios: list[str] | tuple[str, ...] = ("A", "B", "C"),
    *,
    processes: int = 1,
    progress: bool = False,
    out: str | Path | None = None,
    one_at_a_time: bool = False,
    cluster: Cluster | None = None,
    resume: bool = False,
) -> pd.DataFrame:
    """Run the grid × seeds × scenarios; returns the tidy results (point, params, scenario…).

    Every grid value is validated, and each point's market checked against the memory
    available, before anything runs; with ``out`` the folder is checked and locked first.
    ``one_at_a_time``: vary each parameter alone, the others at ``cfg``'s values, instead of
    the cartesian product (the "what drives C" section reads either). With ``cluster``
    (:mod:`.cluster`) the runs go to a Dask cluster instead of ``processes`` local
    processes; the results are identical.

    With ``out``, each finished run is journalled beside the folder
    (:mod:`admarket.outputs.sweep_journal`) until the result is published; ``resume``
    reuses the runs a stopped sweep's journal holds, and those of a complete sweep already
    in ``out`` (made by the same code), so only the rest run (needs ``out``;
    ``tidy.attrs`` says how many runs there were, ``"runs"``, and how many were reused,
    ``"reused_runs"``).
    """
    if resume and out is None:
        raise UsageError("--resume needs --out DIR: a sweep's finished runs are kept beside it")
    scenarios = check_scenarios(scenarios)
    points = grid_points(cfg, grid, one_at_a_time)  # validates every value before anything runs
    # a one-at-a-time sweep meets the base point once per parameter: run it once
    same: dict[MarketConfig, list[int]] = {}
    for i, pc in enumerate(points):
        same.setdefault(pc, []).append(i)
    tasks: list[Task] = []
    for pc, (i, *_) in same.items():
        tasks += make_tasks(
            {"design": scenarios, "config": pc},
            seeds,
            collect="summary",
            point=i,
            first_run_id=len(tasks),
        )
    if at_once := runs_at_once_here(cluster, processes, len(tasks)):
        for pc in points:
            check_memory(pc, at_once, scenarios=scenarios)
    with reserve(out) if out is not None else contextlib.nullcontext() as dest:
        journal = SweepJournal(dest, resume) if dest is not None else None
        try:
            tidy = _run_sweep(
                cfg, tasks, points, same, grid, processes, progress, out, cluster, journal
            )
        except BaseException:
            if journal is not None:
                journal.stopped(len(tasks))
            raise
        finally:
            if journal is not None:
                journal.close()
        tidy.attrs["runs"] = len(tasks)  # fewer than rows when points share a run
        tidy.attrs["reused_runs"] = journal.reused if journal is not None else 0
        return tidy


def _run_sweep(
    cfg: MarketConfig,
    tasks: list[Task],
    points: list[MarketConfig],
    same: dict[MarketConfig, list[int]],
    grid: dict[str, list[Any]],
    processes: int,
    progress: bool,
    out: str | Path | None,
    cluster: Cluster | None = None,
    journal: SweepJournal | None = None,
) -> pd.DataFrame:
    # a swept parameter named like an outcome (hallucination_rate is both) keeps its name;
    # the outcome becomes <name>_outcome, so neither overwrites the other
    column = {m: f"{m}_outcome" if m in grid else m for m in METRICS}
    results = _results(tasks, processes, progress, cluster, journal)
    rows = []
    for r in results:
        s = r["tables"]["summaries"].iloc[0]
        pc = points[int(s["point"])]
        for j in same[pc]:
            rows.append(
                {
                    "point": j,
                    **{k: getattr(pc, k) for k in grid},
                    "scenario": s["scenario"],
                    "seed": int(s["seed"]),
                    **{column[m]: s[m] for m in METRICS},
                }
            )
    rows.sort(key=lambda row: row["point"])  # stable: each point's runs in run order
    tidy = pd.DataFrame(rows)
    if out is not None:
        runs = pd.concat([r["tables"]["runs"] for r in results], ignore_index=True)
        kept = journal_text(tasks, results)  # so that a later --resume can extend the sweep
        _write(tidy, runs, list(grid), out, sweep_base(cfg, list(grid)), kept)
        if journal is not None:  # published: its runs are the result's (a kill before this
            # line leaves a journal whose runs the result keeps: removed later)
            journal.published({run_key(t) for t in tasks})
    return tidy


def _results(
    tasks: list[Task],
    processes: int,
    progress: bool,
    cluster: Cluster | None,
    journal: SweepJournal | None,
) -> list[dict]:
    """Every task's result in task order: the journal's where it holds the run (resumed),
    the others run now and journalled as each finishes. Every run or an error."""
    found = journal.take(tasks) if journal is not None else {}
    if journal is not None and journal.resume:
        print(journal.resume_note(len(tasks)), file=sys.stderr, flush=True)
    todo = [i for i in range(len(tasks)) if i not in found]
    results: dict[int, dict] = dict(found)
    if todo:
        rest = [tasks[i] for i in todo]
        runs = iter_results(rest, processes, progress, cluster=cluster, done=len(found))
        for j, r in runs:
            results[todo[j]] = r
            if journal is not None:
                journal.add(tasks[todo[j]], r)
    return in_task_order(results, len(tasks))


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


def _chart(be: pd.DataFrame, params: list[str], path: Path) -> None:
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


def _markdown(be: pd.DataFrame, params: list[str], n_seeds: int) -> str:
    if be.empty:
        return (
            "# Parameter sweep\n\nNo break-even table: pairing against the exchange needs "
            "scenario A and B or C on each point. The results are in sweep.csv and the "
            "store's `sweep` table.\n"
        )
    lines = [
        "# Parameter sweep: break-even against the exchange (A)",
        "",
        f"Paired by seed ({n_seeds} seed(s) per point); differences are scenario − A with "
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


def _write(
    tidy: pd.DataFrame,
    runs: pd.DataFrame,
    params: list[str],
    out: str | Path,
    base: dict,
    kept_runs: str,
) -> None:
    be = break_even(tidy, params)
    drivers = driver_table(tidy, params, base)

    def build(tmp: Path) -> None:
        # the drivers' value column holds every swept parameter's values: as text when
        # they are of different kinds (a store column holds one type)
        stored = (
            drivers.assign(value=storable_values(drivers["value"])) if len(drivers) else drivers
        )
        tables = {"sweep": tidy, "break_even": be, "drivers": stored, "runs": runs}
        # a table with no columns (no A: no break-even) cannot be stored
        write_tables(tmp / STORE_NAME, {k: v for k, v in tables.items() if len(v.columns)})
        # a list value (campaign_budgets) is written as the text --set takes: 10000,25000
        text_cells(tidy, params).to_csv(tmp / "sweep.csv", index=False)
        (tmp / PUBLISHED).write_text(kept_runs, encoding="utf-8")
        parts = []
        if not be.empty:
            text_cells(be, params).to_csv(tmp / "break_even.csv", index=False)
            _chart(be, params, tmp / "charts" / "break_even.png")
        parts.append(_markdown(be, params, tidy["seed"].nunique()))
        if not drivers.empty:
            text_cells(stored, ["value"]).to_csv(tmp / "drivers.csv", index=False)
            drivers_chart(drivers, tmp / "charts" / "drivers.png")
            parts.append(drivers_markdown(drivers, base))
        (tmp / "sweep.md").write_text("\n".join(parts))

    meta = {
        "kind": "sweep",
        "runs": len(tidy),
        "grid": params,
        "points": int(tidy["point"].nunique()),
        "runs_sha256": kept_runs_digest(kept_runs),  # what a later --resume may reuse
    }
    publish(out, build, meta)

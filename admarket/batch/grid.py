"""Parameter sweeps: where does direct trading (B) or the ledger (C) beat the exchange (A)?

``sweep`` runs every point of a parameter grid (e.g. exchange fee × decay rate × restart
rate) for several seeds and each scenario, and returns a tidy DataFrame (one row per point ×
scenario × seed). ``break_even`` pairs each B/C run with A on the same point and seed and
gives the difference in net-to-publisher revenue and mean goal attainment with 95%
intervals; the chart and table mark where B or C beats A. Written to a directory, a sweep
is a store (``sweep`` and ``runs`` tables) plus ``sweep.csv``, ``break_even.csv``,
``sweep.md`` and ``charts/break_even.png``, published atomically like a compare.
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import pandas as pd

from admarket.batch.pool import Task, make_tasks, run_tasks
from admarket.config import ConfigError, MarketConfig
from admarket.outputs.publish import publish
from admarket.outputs.store import STORE_NAME, write_tables
from admarket.report.charts import COLOURS, plt
from admarket.report.stats import direction, paired_diff

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
        grid[key] = vals
    if not grid:
        raise ConfigError("--grid", "", "at least one NAME=V1,V2,... item")
    return grid


def grid_points(cfg: MarketConfig, grid: dict[str, list[Any]]) -> list[MarketConfig]:
    """One validated config per grid point (cartesian product, in grid order)."""
    names = list(grid)
    return [
        cfg.replace(**dict(zip(names, combo, strict=True)))
        for combo in itertools.product(*grid.values())
    ]


def sweep(
    cfg: MarketConfig,
    grid: dict[str, list[Any]],
    seeds: list[int],
    scenarios: list[str] | tuple[str, ...] = ("A", "B", "C"),
    *,
    processes: int = 1,
    progress: bool = False,
    out: str | Path | None = None,
) -> pd.DataFrame:
    """Run the grid × seeds × scenarios; returns the tidy results (point, params, scenario…)."""
    points = grid_points(cfg, grid)  # validates every value before anything runs
    tasks: list[Task] = []
    for i, pc in enumerate(points):
        tasks += make_tasks(
            {"design": list(scenarios), "config": pc},
            seeds,
            collect="summary",
            point=i,
            first_run_id=len(tasks),
        )
    results = run_tasks(tasks, processes, progress)
    rows = []
    for r in results:
        s = r["tables"]["summaries"].iloc[0]
        pc = points[int(s["point"])]
        rows.append(
            {
                "point": int(s["point"]),
                **{k: getattr(pc, k) for k in grid},
                "scenario": s["scenario"],
                "seed": int(s["seed"]),
                **{m: s[m] for m in METRICS},
            }
        )
    tidy = pd.DataFrame(rows)
    if out is not None:
        runs = pd.concat([r["tables"]["runs"] for r in results], ignore_index=True)
        _write(tidy, runs, list(grid), out)
    return tidy


def break_even(tidy: pd.DataFrame, params: list[str]) -> pd.DataFrame:
    """Per point and B/C scenario: paired difference vs A (mean, 95% CI, verdict) per metric."""
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
    return pd.DataFrame(rows)


def _chart(be: pd.DataFrame, params: list[str], path: Path) -> None:
    x_name, others = params[0], params[1:]
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    styles = ["-", "--", ":", "-."]
    for ax, m, title in (
        (axes[0], "net_to_publishers", "Net to publishers, scenario − A (USD)"),
        (axes[1], "mean_goal_attainment", "Mean goal attainment, scenario − A"),
    ):
        groups = be.groupby(["scenario", *others], sort=True) if others else be.groupby("scenario")
        for gi, (key, g) in enumerate(groups):
            key = key if isinstance(key, tuple) else (key,)
            g = g.sort_values(x_name)
            x = g[x_name].astype(float)
            label = key[0] + "".join(f", {p}={v}" for p, v in zip(others, key[1:], strict=True))
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
        ax.set_xlabel(x_name)
        ax.set_title(title + "  (> 0: beats A)", fontsize=9)
        ax.legend(fontsize=7)
    fig.suptitle("Break-even against the exchange (mean and 95% CI across seeds)", fontsize=10)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _ci_text(row: dict[str, Any], metric: str, spec: str) -> str:
    mean, lo, hi = (row[f"{metric}_{k}"] for k in ("diff", "lo", "hi"))
    if pd.isna(lo):
        return f"{mean:{spec}} (n=1, no interval)"
    return f"{mean:{spec}} [{lo:{spec}}, {hi:{spec}}]"


def _markdown(be: pd.DataFrame, params: list[str], n_seeds: int) -> str:
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
            *(str(r[p]) for p in params),
            r["scenario"],
            net,
            r["net_to_publishers_vs_A"],
            goal,
        ]
        lines.append("| " + " | ".join([*cells, r["mean_goal_attainment_vs_A"]]) + " |")
    return "\n".join(lines) + "\n"


def _write(tidy: pd.DataFrame, runs: pd.DataFrame, params: list[str], out: str | Path) -> None:
    be = break_even(tidy, params)

    def build(tmp: Path) -> None:
        write_tables(tmp / STORE_NAME, {"sweep": tidy, "break_even": be, "runs": runs})
        tidy.to_csv(tmp / "sweep.csv", index=False)
        if not be.empty:
            be.to_csv(tmp / "break_even.csv", index=False)
            _chart(be, params, tmp / "charts" / "break_even.png")
            (tmp / "sweep.md").write_text(_markdown(be, params, tidy["seed"].nunique()))

    meta = {
        "kind": "sweep",
        "runs": len(tidy),
        "grid": params,
        "points": int(tidy["point"].nunique()),
    }
    publish(out, build, meta)

"""CLI commands for batch studies and their outputs: ``compare``, ``sweep``, ``report``, ``query``.

Each command validates its whole configuration before anything runs; readers (``report``,
``query``) refuse an output directory without its COMPLETE marker (exit code 2).
"""

from __future__ import annotations

import argparse
import sys
import time

import duckdb
import pandas as pd

from admarket.batch.comparison import compare, seed_list
from admarket.batch.grid import break_even, parse_grid, sweep
from admarket.batch.pool import default_processes
from admarket.cli.options import config_from_args, parse_scenarios
from admarket.errors import UsageError
from admarket.outputs.store import query, query_sql, require_complete
from admarket.report import write_report
from admarket.report.drivers import driver_table, sweep_base


def _processes(value: int | None) -> int:
    if value is None:
        return default_processes()
    if value < 1:
        raise UsageError(f"--processes {value}: must be at least 1")
    return value


def _seeds(args: argparse.Namespace, cfg) -> list[int]:
    return seed_list(args.seeds, cfg.seed if args.seed_start is None else args.seed_start)


def cmd_compare(args: argparse.Namespace) -> int:
    """``admarket compare``."""
    cfg = config_from_args(args)
    scenarios = parse_scenarios(args.scenarios)
    seeds = _seeds(args, cfg)
    procs = _processes(args.processes)
    t0 = time.perf_counter()
    summ = compare(
        cfg,
        seeds,
        scenarios,
        processes=procs,
        progress=not args.no_progress,
        out=args.out,
        verbosity=args.verbosity,
        logs=args.logs,
    )
    took = time.perf_counter() - t0
    cols = ["gross_spend", "net_to_publishers", "take_rate", "mean_goal_attainment"]
    cols += ["hallucination_rate", "disputes", "written_off"]
    means = summ.groupby("scenario")[cols].mean()
    print(
        f"{len(summ)} runs ({', '.join(scenarios)} × {len(seeds)} seeds from {seeds[0]}, "
        f"{cfg.days} days) on {procs} process(es) in {took:.1f} s; means across seeds:"
    )
    print(means.to_string(float_format=lambda x: f"{x:,.3f}"))
    print(f"report: {args.out}/report.md, {args.out}/report.html")
    return 0


def cmd_sweep(args: argparse.Namespace) -> int:
    """``admarket sweep``."""
    cfg = config_from_args(args)
    scenarios = parse_scenarios(args.scenarios)
    grid = parse_grid(args.grid)
    seeds = _seeds(args, cfg)
    procs = _processes(args.processes)
    t0 = time.perf_counter()
    tidy = sweep(
        cfg,
        grid,
        seeds,
        scenarios,
        processes=procs,
        progress=not args.no_progress,
        out=args.out,
        one_at_a_time=args.one_at_a_time,
    )
    print(f"{len(tidy)} runs on {procs} process(es) in {time.perf_counter() - t0:.1f} s")
    be = break_even(tidy, list(grid))
    drivers = driver_table(tidy, list(grid), sweep_base(cfg, list(grid)))
    if be.empty and drivers.empty:
        print(
            "nothing to tabulate: the sweep needs scenario a and b or c (break-even), or b "
            "and c with the other swept parameters at their base values (what drives C)"
        )
    if not be.empty:
        cols = [*grid, "scenario", "net_to_publishers_diff", "net_to_publishers_vs_A"]
        cols += ["mean_goal_attainment_diff", "mean_goal_attainment_vs_A"]
        print(be[cols].to_string(index=False, float_format=lambda x: f"{x:,.3f}"))
    if not drivers.empty:
        cols = ["parameter", "value", "scenario", "wrong_fact_share", "disputes"]
        cols += ["mean_goal_attainment", "label"]
        print("what drives C (means across seeds):")
        print(drivers[cols].to_string(index=False, float_format=lambda x: f"{x:,.4f}"))
    if args.out:
        print(f"results: {args.out}/sweep.csv, {args.out}/sweep.md")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    """``admarket report``."""
    db = require_complete(args.run_dir)
    con = duckdb.connect(str(db), read_only=True)
    try:
        tables = {r[0] for r in con.execute("SHOW TABLES").fetchall()}
    finally:
        con.close()
    if "summaries" not in tables:
        raise UsageError(f"{args.run_dir}: not a run or compare store (a sweep? see sweep.md)")
    write_report(db, args.run_dir)
    print(f"wrote {args.run_dir}/report.md, report.html, report.json and charts/")
    return 0


def cmd_query(args: argparse.Namespace) -> int:
    """``admarket query``."""
    if (args.name is None) == (args.sql is None):
        raise UsageError("give exactly one of --name or --sql")
    sql = query_sql(args.name) if args.name else args.sql
    df = query(args.run_dir, sql)
    if args.csv:
        df.to_csv(sys.stdout, index=False)
    else:
        with pd.option_context("display.max_rows", args.max_rows, "display.width", 200):
            print(df.to_string(index=False, max_rows=args.max_rows))
    return 0

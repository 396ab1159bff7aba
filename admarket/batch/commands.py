"""CLI commands for batch studies and their outputs: ``compare``, ``sweep``, ``report``, ``query``.

Each command validates its whole configuration before anything runs; readers (``report``,
``query``) refuse an output directory without its COMPLETE marker (exit code 2).
"""

from __future__ import annotations

import argparse
import sys
import time

from admarket.cli import UsageError, add_config_options, config_from_args, parse_scenarios
from admarket.narrative import VERBOSITY
from admarket.store import QUERY_NAMES


def _processes(value: int | None) -> int:
    from admarket.batch.runner import default_processes

    if value is None:
        return default_processes()
    if value < 1:
        raise UsageError(f"--processes {value}: must be at least 1")
    return value


def _seeds(args: argparse.Namespace, cfg) -> list[int]:
    from admarket.batch.comparison import seed_list

    return seed_list(args.seeds, cfg.seed if args.seed_start is None else args.seed_start)


def _cmd_compare(args: argparse.Namespace) -> int:
    from admarket.batch.comparison import compare

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


def _cmd_sweep(args: argparse.Namespace) -> int:
    from admarket.batch.grid import break_even, parse_grid, sweep

    cfg = config_from_args(args)
    scenarios = parse_scenarios(args.scenarios)
    grid = parse_grid(args.grid)
    seeds = _seeds(args, cfg)
    procs = _processes(args.processes)
    t0 = time.perf_counter()
    tidy = sweep(
        cfg, grid, seeds, scenarios, processes=procs, progress=not args.no_progress, out=args.out
    )
    print(f"{len(tidy)} runs on {procs} process(es) in {time.perf_counter() - t0:.1f} s")
    be = break_even(tidy, list(grid))
    if be.empty:
        print("no break-even table: the sweep needs scenario a and b or c")
    else:
        cols = [*grid, "scenario", "net_to_publishers_diff", "net_to_publishers_vs_A"]
        cols += ["mean_goal_attainment_diff", "mean_goal_attainment_vs_A"]
        print(be[cols].to_string(index=False, float_format=lambda x: f"{x:,.3f}"))
    if args.out:
        print(f"results: {args.out}/sweep.csv, {args.out}/sweep.md")
    return 0


def _cmd_report(args: argparse.Namespace) -> int:
    import duckdb

    from admarket.report import write_report
    from admarket.store import require_complete

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


def _cmd_query(args: argparse.Namespace) -> int:
    import pandas as pd

    from admarket.store import query, query_sql

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


def _batch_options(p: argparse.ArgumentParser, seeds: int) -> None:
    p.add_argument("--seeds", type=int, default=seeds, help=f"seeds per point (default {seeds})")
    p.add_argument(
        "--seed-start", type=int, help="first seed (default: the config's seed); then +1, +2…"
    )
    p.add_argument(
        "--processes", type=int, help="worker processes (default: every CPU this may use)"
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bar")


def add_commands(sub: argparse._SubParsersAction) -> None:
    """Add ``compare``, ``sweep``, ``report`` and ``query`` to the ``admarket`` parser."""
    cmp = sub.add_parser(
        "compare", help="run scenarios on many seeds in parallel; write store, logs, report"
    )
    add_config_options(cmp)
    _batch_options(cmp, seeds=10)
    cmp.add_argument("--out", required=True, metavar="DIR", help="output directory")
    cmp.add_argument(
        "--verbosity",
        choices=VERBOSITY,
        default="key",
        help="narrative log detail (default key: a few stories of each kind)",
    )
    cmp.add_argument(
        "--logs",
        choices=("first", "all", "none"),
        default="first",
        help="which seeds get event and narrative logs (default: the first seed)",
    )
    cmp.set_defaults(func=_cmd_compare)

    sw = sub.add_parser("sweep", help="sweep a parameter grid; tidy table and break-even chart")
    add_config_options(sw)
    _batch_options(sw, seeds=3)
    sw.add_argument(
        "--grid",
        action="append",
        default=[],
        required=True,
        metavar="NAME=V1,V2,...",
        help="a parameter and its values, e.g. exchange_fee=0.1,0.15,0.2 (repeatable)",
    )
    sw.add_argument("--out", metavar="DIR", help="write sweep.csv, sweep.md, chart and store")
    sw.set_defaults(func=_cmd_sweep)

    rep = sub.add_parser("report", help="regenerate the report of a run/compare directory")
    rep.add_argument("run_dir", metavar="RUN_DIR")
    rep.set_defaults(func=_cmd_report)

    q = sub.add_parser("query", help="run one of the plan's queries (or any SQL) on a store")
    q.add_argument("run_dir", metavar="RUN_DIR")
    q.add_argument("--name", choices=QUERY_NAMES, help="one of the plan's four queries")
    q.add_argument("--sql", help="any SQL (DuckDB dialect) against the store's tables")
    q.add_argument("--csv", action="store_true", help="print CSV instead of a table")
    q.add_argument("--max-rows", type=int, default=200, help="rows to print (default 200)")
    q.set_defaults(func=_cmd_query)

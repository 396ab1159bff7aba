"""CLI commands for batch studies: ``compare`` and ``sweep``.

Each command validates its whole configuration before anything runs; the output folder is
checked and locked before the first run and the result published whole at the end.
"""

from __future__ import annotations

import argparse
import time

from admarket.batch.cluster import Cluster, parse_cluster
from admarket.batch.comparison import compare, seed_list
from admarket.batch.grid import parse_grid, point_blocks, sweep
from admarket.batch.pool import default_processes
from admarket.cli.options import config_from_args, fixed_parameters, parse_scenarios
from admarket.errors import UsageError
from admarket.money import plural, usd_auto
from admarket.report.break_even import break_even, distinct_points
from admarket.report.drivers import driver_table, left_out_note, sweep_base
from admarket.report.sweep_values import text_cells


def _processes(value: int | None) -> int:
    if value is None:
        return default_processes()
    if value < 1:
        raise UsageError(f"--processes {value}: must be at least 1")
    return value


def _where(args: argparse.Namespace) -> tuple[int, Cluster | None, str]:
    """Local processes, or a Dask cluster (``--scheduler``/``--cluster``), and its name."""
    cluster = parse_cluster(args.scheduler, args.cluster)
    if cluster is None:
        procs = _processes(args.processes)
        return procs, None, plural(procs, "process", "processes")
    if args.processes is not None:
        option = "--scheduler" if cluster.remote else "--cluster"
        raise UsageError(
            f"--processes applies to local runs; with {option} the cluster's workers run "
            "them (--cluster local:N sets their number)"
        )
    return 1, cluster, cluster.describe()


def _seeds(args: argparse.Namespace, cfg) -> list[int]:
    if args.seed_start is not None and args.seed is not None:
        raise UsageError(
            "give --seed-start or --seed, not both: the seeds run are --seed-start (default "
            "the config's seed), +1, +2, …"
        )
    return seed_list(args.seeds, cfg.seed if args.seed_start is None else args.seed_start)


def cmd_compare(args: argparse.Namespace) -> int:
    """``admarket compare``."""
    cfg = config_from_args(args)
    scenarios = parse_scenarios(args.scenarios)
    seeds = _seeds(args, cfg)
    procs, cluster, where = _where(args)
    if args.logs == "none" and args.verbosity is not None:
        raise UsageError("--verbosity applies to narrative logs; --logs none writes none")
    t0 = time.perf_counter()
    summ = compare(
        cfg,
        seeds,
        scenarios,
        processes=procs,
        progress=not args.no_progress,
        out=args.out,
        verbosity=args.verbosity or "key",
        logs=args.logs,
        cluster=cluster,
        resume=args.resume,
        journal=not args.no_journal,
    )
    took = time.perf_counter() - t0
    reused = summ.attrs.get("reused_runs", 0)
    ran = plural(len(summ) - reused, "run") + (f" (and {reused} reused)" if reused else "")
    cols = ["gross_spend", "net_to_publishers", "take_rate", "mean_goal_attainment"]
    cols += ["wrong_decision_share", "wrong_claim_share", "disputes", "written_off"]
    means = summ.groupby("scenario")[cols].mean()
    print(
        f"{ran} ({', '.join(scenarios)} × {plural(len(seeds), 'seed')} from {seeds[0]}, "
        f"{plural(cfg.days, 'day')}) on {where} in {took:.1f} s; means across seeds:"
    )
    print(means.to_string(float_format=lambda x: f"{x:,.3f}"))
    print("(names as in the store's summaries table; defined in the report's glossary)")
    print(f"report: {args.out}/report.md, {args.out}/report.html, {args.out}/report.json")
    return 0


def cmd_sweep(args: argparse.Namespace) -> int:
    """``admarket sweep``."""
    cfg = config_from_args(args)
    scenarios = parse_scenarios(args.scenarios)
    grid = parse_grid(args.grid)
    fixed = sorted(set(grid) & fixed_parameters(args))
    if fixed and not args.one_at_a_time:
        # in a cartesian grid the swept values replace the fixed one without a word (one at
        # a time, the fixed value is the base the other parameters are varied from)
        raise UsageError(
            f"--grid {fixed[0]}: {fixed[0]} is also fixed by --set or its option, and a "
            "cartesian grid replaces it; sweep it or fix it (with --one-at-a-time, --set "
            "gives its base value)"
        )
    seeds = _seeds(args, cfg)
    procs, cluster, where = _where(args)
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
        cluster=cluster,
        resume=args.resume,
    )
    runs, reused = tidy.attrs.get("runs", len(tidy)), tidy.attrs.get("reused_runs", 0)
    ran = plural(runs - reused, "run") + (f" (and {reused} reused)" if reused else "")
    print(f"{ran} on {where} in {time.perf_counter() - t0:.1f} s")
    be = break_even(tidy, list(grid))
    blocks = point_blocks(grid) if args.one_at_a_time else None
    drivers = driver_table(tidy, list(grid), sweep_base(cfg, list(grid)), blocks)
    if be.empty and drivers.empty:
        print(
            "nothing to tabulate: the sweep needs scenario a and b or c (break-even), or b "
            "and c with the other swept parameters at their base values (what drives C)"
        )
    if not be.empty:
        cols = [*grid, "scenario", "net_to_publishers_diff", "net_to_publishers_vs_A"]
        cols += ["mean_goal_attainment_diff", "mean_goal_attainment_vs_A", "written_off"]
        # each point once (a one-at-a-time sweep meets its base point under each parameter);
        # a list value as --set takes it
        shown = text_cells(distinct_points(be, list(grid))[cols], list(grid))
        # the shares keep 3 decimals; the dollar columns read as money ($1,491, -$4,496)
        money = {"net_to_publishers_diff": usd_auto, "written_off": usd_auto}
        print(shown.to_string(index=False, float_format=lambda x: f"{x:,.3f}", formatters=money))
    if not drivers.empty:
        cols = ["parameter", "value", "scenario", "wrong_fact_share", "disputes", "written_off"]
        cols += ["mean_goal_attainment", "label"]
        print("what drives C (means across seeds):")
        shown = text_cells(drivers[cols], ["value"])
        # the shares and counts keep 4 decimals; what was written off is money and reads as
        # the run command's table prints it ($1,491, $12.34)
        money = {"written_off": usd_auto}
        print(shown.to_string(index=False, float_format=lambda x: f"{x:,.4f}", formatters=money))
    note = left_out_note(tidy, drivers, list(grid), sweep_base(cfg, list(grid)))
    if note and not (be.empty and drivers.empty):  # (both empty: said above)
        print(note)
    if args.out:
        print(f"results: {args.out}/sweep.csv, {args.out}/sweep.md")
    return 0

"""Benchmark: a 96-run sweep on a Dask LocalCluster of 1, 2, 4, 8 workers — the scaling curve.

Usage::

    .venv/bin/python benchmarks/cluster_scaling.py                  # 1, 2, 4, 8 workers
    .venv/bin/python benchmarks/cluster_scaling.py --max-workers 4  # 1, 2, 4
    .venv/bin/python benchmarks/cluster_scaling.py --days 5 --json scaling.json

The sweep is the plan-scale market (5 buyers × 5 sellers × 10 campaigns) over ``--days``
days (10 by default: a run takes 0.3–0.6 s), on 8 grid points (exchange_fee × decay_rate) ×
scenarios A, B, C × 4 seeds = 96 runs. For each N a LocalCluster of N single-threaded worker
processes is started and warmed (each worker imports the model) *before* the clock starts, so
the time is the study's own: ``sweep(..., cluster=...)`` from submission to the tidy table,
including connecting, the version check and moving results back. The baseline is the same
sweep run serially in this process (``processes=1``, no Dask).

Printed per N: wall time, speed-up over the 1-worker cluster and over the serial baseline,
parallel efficiency (speed-up over 1 worker ÷ N) and the 1-minute load average after the
study (other jobs on a shared machine take cores and skew every figure). Every N's tidy
table is checked to be identical to the serial one, to the last digit. Efficiency can only
hold up to N = the cores this machine has (printed): beyond them the workers share cores.
"""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import os
import time
from pathlib import Path

import pandas as pd

from admarket import build_config
from admarket.batch import sweep
from admarket.batch.cluster import Cluster

GRID = {"exchange_fee": [0.05, 0.1, 0.15, 0.2], "decay_rate": [0.0, 0.05]}
SEEDS = [1, 2, 3, 4]
MARKET = {"n_buyers": 5, "n_sellers": 5, "campaigns_per_buyer": 10}


def _on_cluster(cfg, n: int) -> tuple[float, pd.DataFrame]:
    """The sweep on a warmed LocalCluster of ``n`` workers: (wall seconds, tidy table)."""
    import dask
    import distributed

    with (
        dask.config.set({"distributed.scheduler.worker-saturation": 1.0}),
        distributed.LocalCluster(
            n_workers=n,
            threads_per_worker=1,
            processes=True,
            dashboard_address=":0",
            silence_logs=logging.ERROR,
        ) as lc,
        distributed.Client(lc) as client,
    ):
        client.wait_for_workers(n)
        client.run(importlib.import_module, "admarket.batch.pool")  # warm: import the model
        t0 = time.perf_counter()
        tidy = sweep(cfg, GRID, SEEDS, cluster=Cluster(address=lc.scheduler_address))
        return time.perf_counter() - t0, tidy


def main() -> None:
    ap = argparse.ArgumentParser(description=" ".join(__doc__.split("\n\n")[0].split()))
    ap.add_argument("--max-workers", type=int, default=8, help="largest N (default 8)")
    ap.add_argument("--days", type=int, default=10, help="days per run (default 10)")
    ap.add_argument("--json", metavar="FILE", help="also write the rows as JSON")
    args = ap.parse_args()
    cfg = build_config(**MARKET, days=args.days)
    runs = len(GRID["exchange_fee"]) * len(GRID["decay_rate"]) * 3 * len(SEEDS)
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    print(f"{runs}-run sweep, plan-scale market × {args.days} days; this machine: {cores} cores")

    t0 = time.perf_counter()
    serial = sweep(cfg, GRID, SEEDS, processes=1)
    t_serial = time.perf_counter() - t0
    print(
        f"serial, in process (no Dask): {t_serial:.1f} s ({t_serial / runs:.2f} s per run; "
        f"load average {os.getloadavg()[0]:.1f})"
    )

    ns = [n for n in (1, 2, 4, 8, 16, 32) if n <= args.max_workers]
    rows = []
    print(f"{'workers':>7} {'wall s':>7} {'speed-up':>8} {'vs serial':>9} {'efficiency':>10} load")
    for n in ns:
        wall, tidy = _on_cluster(cfg, n)
        pd.testing.assert_frame_equal(tidy, serial, check_exact=True)  # identical results
        t1 = rows[0]["wall_s"] if rows else wall
        row = {
            "workers": n,
            "wall_s": wall,
            "speedup": t1 / wall,
            "speedup_vs_serial": t_serial / wall,
            "efficiency": t1 / wall / n,
            "load_1min": os.getloadavg()[0],  # other jobs on the machine skew every figure
        }
        rows.append(row)
        print(
            f"{n:>7} {wall:>7.1f} {row['speedup']:>7.2f}× {row['speedup_vs_serial']:>8.2f}× "
            f"{row['efficiency']:>9.0%}  {row['load_1min']:.1f}"
        )
    print("every N's results identical to the serial run, to the last digit")
    if max(ns) > (cores or 1):
        print(f"(beyond {cores} workers they share {cores} cores: efficiency cannot hold there)")
    if args.json:
        Path(args.json).write_text(
            json.dumps({"runs": runs, "cores": cores, "serial_s": t_serial, "rows": rows}, indent=1)
        )


if __name__ == "__main__":
    main()

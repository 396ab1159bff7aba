"""Benchmark of publishing and reading a result (not a test).

Usage::

    .venv/bin/python benchmarks/outputs.py            # compare --days 30 --seeds 3 (golden size)
    .venv/bin/python benchmarks/outputs.py --seeds 10

Prints: the time to publish a compare result (store, logs, report) and the part of it the
safety costs (flushing every file to disk, the marker, the swap); the time to read the
store for a report with one DuckDB thread (what admarket does, for sums identical to the
last digit) and with DuckDB's default thread count.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from admarket.batch.pool import batch_run
from admarket.config import build_config
from admarket.model import MarketModel
from admarket.outputs import publish as pub
from admarket.outputs import store
from admarket.outputs.results import write_results
from admarket.report.data import load


def main() -> None:
    ap = argparse.ArgumentParser(description=" ".join(__doc__.split("\n\n")[0].split()))
    ap.add_argument("--days", type=int, default=30)
    ap.add_argument("--seeds", type=int, default=3)
    args = ap.parse_args()
    cfg = build_config(days=args.days)
    t0 = time.perf_counter()
    results = batch_run(
        MarketModel,
        {"design": ["A", "B", "C"], "config": cfg},
        rng=list(range(42, 42 + args.seeds)),
        display_progress=False,
    )
    per_run = [r["tables"] for r in results]
    print(f"simulated {len(per_run)} runs in {time.perf_counter() - t0:.1f} s")

    safety = {"fsync": 0.0, "swap": 0.0}
    fsync_tree, swap_in = pub._fsync_tree, pub._swap_in

    def timed_fsync(folder: Path) -> None:
        t = time.perf_counter()
        fsync_tree(folder)
        safety["fsync"] += time.perf_counter() - t

    def timed_swap(tmp: Path, dest: Path) -> None:
        t = time.perf_counter()
        swap_in(tmp, dest)
        safety["swap"] += time.perf_counter() - t

    pub._fsync_tree, pub._swap_in = timed_fsync, timed_swap
    with tempfile.TemporaryDirectory() as d:
        out = Path(d) / "result"
        for label in ("new folder", "replacing a result"):
            safety.update(fsync=0.0, swap=0.0)
            t = time.perf_counter()
            write_results(per_run, out)
            total = time.perf_counter() - t
            print(
                f"publish ({label}): {total:.2f} s, of which flush to disk "
                f"{safety['fsync']:.3f} s, swap {safety['swap']:.3f} s"
            )
        db = out / store.STORE_NAME
        size = db.stat().st_size / 2**20
        for threads in (1, None):
            cfg_threads = dict(store.READ_CONFIG)
            if threads is None:
                cfg_threads.pop("threads")
            store.READ_CONFIG.clear()
            store.READ_CONFIG.update(cfg_threads)
            t = time.perf_counter()
            load(db)
            label = "1 thread" if threads else "default threads"
            took = time.perf_counter() - t
            print(f"report read of a {size:.0f} MiB store, {label}: {took:.2f} s")


if __name__ == "__main__":
    main()

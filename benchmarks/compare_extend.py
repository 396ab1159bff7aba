"""Benchmark of extending a published compare with more seeds (not a test): what the result
keeps for it, and what the extension saves against running every seed again.

Usage::

    .venv/bin/python benchmarks/compare_extend.py               # the main job: 10 -> 20 seeds
    .venv/bin/python benchmarks/compare_extend.py --seeds 3 --days 10 --processes 1

Publishes a compare of ``--seeds`` seeds, extends it to twice as many with ``resume``
(only the new seeds' runs run; the published ones are read back from its store), then runs
a compare of all of them at once into another folder, and checks that the two stores are
the same, table by table. Prints the wall time of each step, the bytes the result keeps per
run for a later extension (``kept-runs/``) beside the store's, and the disk of each result.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import pandas as pd

from admarket import build_config
from admarket.batch.comparison import compare, seed_list
from admarket.outputs.result_runs import RUNS_DIR
from admarket.outputs.store import STORE_NAME, query


def _bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def _timed(**kw) -> float:
    t0 = time.perf_counter()
    compare(**kw)
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=" ".join(__doc__.split("\n\n")[0].split()))
    ap.add_argument("--seeds", type=int, default=10, help="seeds published first (default 10)")
    ap.add_argument("--days", type=int, default=30)
    ap.add_argument("--processes", type=int, default=2)
    args = ap.parse_args()
    cfg = build_config(days=args.days)
    first, both = seed_list(args.seeds, 42), seed_list(2 * args.seeds, 42)
    common = {"cfg": cfg, "processes": args.processes}
    with tempfile.TemporaryDirectory(dir=Path.cwd()) as tmp:  # a real disk, as --out is
        ext, whole = Path(tmp) / "extended", Path(tmp) / "whole"
        published = _timed(seeds=first, out=ext, **common)
        kept, store = _bytes(ext / RUNS_DIR), (ext / STORE_NAME).stat().st_size
        extended = _timed(seeds=both, out=ext, resume=True, **common)
        at_once = _timed(seeds=both, out=whole, **common)
        for t in query(whole, "SHOW TABLES")["name"]:
            q = f"SELECT * {'EXCLUDE (created_at)' if t == 'runs' else ''} FROM {t}"
            pd.testing.assert_frame_equal(query(ext, q), query(whole, q), check_exact=True)
        sizes = _bytes(ext), _bytes(whole)
    runs = 3 * args.seeds
    print(f"plan market, {args.days} days, {args.processes} process(es); stores equal")
    print(f"publish {args.seeds} seeds:            {published:6.1f} s")
    print(f"extend to {2 * args.seeds} seeds (--resume): {extended:6.1f} s ({runs} runs reused)")
    print(f"all {2 * args.seeds} seeds at once:        {at_once:6.1f} s")
    per_run = f"{kept / runs / 1e3:.1f} kB a run"
    print(f"kept for extending: {per_run} (the store: {store / runs / 1e6:.2f} MB a run)")
    print(f"result folders: {sizes[0] / 1e6:.0f} MB extended, {sizes[1] / 1e6:.0f} MB at once")


if __name__ == "__main__":
    main()

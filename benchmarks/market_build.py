"""Benchmark: CPU time and peak memory of building a market, and of a few days of a run.

Usage::

    .venv/bin/python benchmarks/market_build.py                  # build: plan, 100×50, 500×200
    .venv/bin/python benchmarks/market_build.py --10x            # also 5,000 × 2,000 (50,000
                                                                 # campaigns, ~6,000 products)
    .venv/bin/python benchmarks/market_build.py --run A --days 2 --case 10x
                                                                 # build + 2 days of scenario A

Every case runs in its own process (so its peak resident memory is its own), one at a time.
``build`` is ``generate_market`` alone (CPU: ``time.process_time`` around it; peak: the
child's resident maximum, interpreter and imports included — an import-only child is shown
as ``floor``). ``run`` builds a ``MarketModel`` and steps it ``--days`` days, timing the
build and each day separately, so a 30-day run can be projected from the days measured.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CASES = {
    "plan": {"n_buyers": 5, "n_sellers": 5, "campaigns_per_buyer": 10},
    "100x50": {"n_buyers": 100, "n_sellers": 50, "campaigns_per_buyer": 10},
    "500x200": {"n_buyers": 500, "n_sellers": 200, "campaigns_per_buyer": 10},
    "10x": {"n_buyers": 5000, "n_sellers": 2000, "campaigns_per_buyer": 10},
}


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _floor(case: str) -> dict:
    from admarket.market.generation import generate_market  # noqa: F401

    return {"case": case, "what": "floor", "cpu_s": time.process_time(), "peak_mb": _peak_mb()}


def _build(case: str) -> dict:
    from admarket.config import MarketConfig
    from admarket.market.generation import generate_market

    cfg = MarketConfig().replace(**CASES[case])
    t0 = time.process_time()
    mk = generate_market(cfg)
    cpu = time.process_time() - t0
    n_pairs = int(mk.pair_c.size) if hasattr(mk, "pair_c") else int(mk.eligible.sum())
    return {
        "case": case,
        "what": "build",
        "cpu_s": cpu,
        "peak_mb": _peak_mb(),
        "campaigns": mk.n_campaigns,
        "products": mk.n_products,
        "pairs": n_pairs,
    }


def _run(case: str, scenario: str, days: int) -> dict:
    from admarket.model.market_model import MarketModel

    t0 = time.process_time()
    m = MarketModel(scenario, **CASES[case], days=days)
    build = time.process_time() - t0
    build_peak = _peak_mb()
    per_day = []
    spd = m.config.steps_per_day
    for _ in range(days):
        t1 = time.process_time()
        for _ in range(spd):
            if m.running:
                m.step()
        per_day.append(round(time.process_time() - t1, 2))
        print(f"day {len(per_day)}: {per_day[-1]} s CPU, peak {_peak_mb():.0f} MB", file=sys.stderr)
    return {
        "case": case,
        "what": f"run {scenario}",
        "cpu_s": time.process_time() - t0,
        "build_s": round(build, 2),
        "build_peak_mb": round(build_peak),
        "day_s": per_day,
        "peak_mb": _peak_mb(),
        "projected_30d_s": round(build + 30 * max(per_day), 1),
    }


def _child(job: list[str]) -> dict:
    what, case = job[0], job[1]
    if what == "floor":
        return _floor(case)
    if what == "build":
        return _build(case)
    return _run(case, job[2], int(job[3]))


def _spawn(job: list[str]) -> dict:
    out = subprocess.run(  # (the child's per-day progress goes straight to stderr)
        [sys.executable, __file__, "--job", *job], stdout=subprocess.PIPE, text=True, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    """Run each case in a child process and print one JSON line per case."""
    ap = argparse.ArgumentParser(description=" ".join(__doc__.split("\n\n")[0].split()))
    ap.add_argument("--10x", dest="tenx", action="store_true", help="also the 10x market")
    ap.add_argument("--run", help="scenario to run (A, B or C) instead of building only")
    ap.add_argument("--days", type=int, default=2)
    ap.add_argument("--case", choices=list(CASES), action="append")
    ap.add_argument("--job", nargs="+", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.job:
        print(json.dumps(_child(args.job)))
        return
    sys.path.insert(0, str(ROOT))
    cases = args.case or ["plan", "100x50", "500x200", *(["10x"] if args.tenx else [])]
    if args.run:
        jobs = [["run", c, args.run, str(args.days)] for c in cases]
    else:
        jobs = [["floor", "plan"]] + [["build", c] for c in cases]
    for job in jobs:
        print(json.dumps(_spawn(job)), flush=True)


if __name__ == "__main__":
    main()

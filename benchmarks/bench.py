"""Benchmarks: wall time, throughput and peak memory of the model (not a test).

Usage::

    .venv/bin/python benchmarks/bench.py            # plan scale + reference points
    .venv/bin/python benchmarks/bench.py --medium   # also 100 buyers × 50 sellers
    .venv/bin/python benchmarks/bench.py --large    # also 500 × 200 sellers, 5,000 campaigns

Each case runs in its own process so its peak resident memory is its own. Reference points
measured in the same run: the *framework floor* (a Mesa model with the same agents and the
same number of steps whose agents do nothing, plus a DataCollector with as many trivial
reporters) and the *bare clearing kernel* (the time scenario A spends inside the exchange's
vectorised auction, on the very bids A sends it: no pacing, accounting or collection).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time

CASES = {
    "plan": {"n_buyers": 5, "n_sellers": 5, "campaigns_per_buyer": 10},
    "medium": {"n_buyers": 100, "n_sellers": 50, "campaigns_per_buyer": 10},
    "large": {"n_buyers": 500, "n_sellers": 200, "campaigns_per_buyer": 10},
}


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_model(case: str, scenario: str) -> dict:
    """Build and run one scenario; time construction and stepping separately."""
    from admarket import MarketModel

    t0 = time.perf_counter()
    m = MarketModel(scenario, **CASES[case])
    t1 = time.perf_counter()
    m.run()
    t2 = time.perf_counter()
    imps = m.summary()["impressions"]
    return {
        "case": case,
        "what": f"scenario {scenario}",
        "build_s": t1 - t0,
        "run_s": t2 - t1,
        "impressions": imps,
        "imps_per_s": imps / (t2 - t1),
        "peak_mb": _peak_mb(),
        "claims": len(m.claims),
    }


def framework_floor(case: str) -> dict:
    """A Mesa model with the same agents and steps, whose agents do nothing."""
    from mesa import Agent, Model
    from mesa.datacollection import DataCollector

    from admarket import MarketConfig
    from admarket.model.reporters import MODEL_REPORTERS

    cfg = MarketConfig(**CASES[case])

    class Idle(Agent):
        def act(self) -> None:
            pass

    class Floor(Model):
        def __init__(self) -> None:
            super().__init__(rng=cfg.seed)
            Idle.create_agents(self, cfg.n_buyers + cfg.n_sellers + 1)
            self.dc = DataCollector({k: (lambda m: 0) for k in MODEL_REPORTERS})

        def step(self) -> None:
            self.agents.do("act")
            self.dc.collect(self)

    t0 = time.perf_counter()
    m = Floor()
    for _ in range(cfg.steps):
        m.step()
    return {
        "case": case,
        "what": "framework floor",
        "build_s": 0.0,
        "run_s": time.perf_counter() - t0,
        "impressions": 0,
        "imps_per_s": 0.0,
        "peak_mb": _peak_mb(),
        "claims": 0,
    }


def clearing_kernel(case: str) -> dict:
    """The exchange's auction kernel alone, on exactly the bids scenario A sends it."""
    from admarket import MarketModel
    from admarket.market.auction import SecondPriceAuction

    spent = [0.0, 0]
    real = SecondPriceAuction.clear

    def timed(self, *args, **kwargs):
        t0 = time.perf_counter()
        res = real(self, *args, **kwargs)
        spent[0] += time.perf_counter() - t0
        spent[1] += int(res.winner.size)  # one lot per winning bid
        return res

    SecondPriceAuction.clear = timed
    m = MarketModel("A", **CASES[case])
    m.run()
    imps = spent[1] * m.config.lot_size
    return {
        "case": case,
        "what": "bare clearing kernel",
        "build_s": 0.0,
        "run_s": spent[0],
        "impressions": imps,
        "imps_per_s": imps / max(spent[0], 1e-9),
        "peak_mb": _peak_mb(),
        "claims": 0,
    }


def _child(job: str) -> dict:
    case, what = job.split(":")
    if what == "floor":
        return framework_floor(case)
    if what == "kernel":
        return clearing_kernel(case)
    return run_model(case, what)


def main() -> None:
    """Run every case in its own process and print a table."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--medium", action="store_true")
    ap.add_argument("--large", action="store_true")
    ap.add_argument("--job", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.job:
        print(json.dumps(_child(args.job)))
        return
    cases = ["plan"] + (["medium"] if args.medium else []) + (["large"] if args.large else [])
    rows = []
    for case in cases:
        for what in ("A", "B", "C", "floor", "kernel"):
            out = subprocess.run(
                [sys.executable, __file__, "--job", f"{case}:{what}"],
                capture_output=True,
                text=True,
                check=True,
            )
            rows.append(json.loads(out.stdout))
            r = rows[-1]
            print(
                f"{r['case']:>7} {r['what']:<22} build {r['build_s']:6.2f}s  run "
                f"{r['run_s']:7.2f}s  {r['imps_per_s'] / 1e6:9.1f}M imps/s  peak "
                f"{r['peak_mb']:7.0f} MB  claims {r['claims']:>9,}",
                flush=True,
            )
    for case in cases:
        total = sum(
            r["build_s"] + r["run_s"]
            for r in rows
            if r["case"] == case and r["what"].startswith("scenario")
        )
        floor = next(
            r["run_s"] for r in rows if r["case"] == case and r["what"] == "framework floor"
        )
        print(
            f"{case}: all three scenarios {total:.2f}s; framework floor {floor:.2f}s per "
            f"scenario ({total / 3 / max(floor, 1e-9):.1f}× floor)"
        )


if __name__ == "__main__":
    main()

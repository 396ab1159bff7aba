"""Benchmarks: CPU and wall time, throughput and peak memory of the model (not a test).

Usage::

    .venv/bin/python benchmarks/bench.py              # plan scale + reference points
    .venv/bin/python benchmarks/bench.py --medium     # also 100 buyers × 50 sellers
    .venv/bin/python benchmarks/bench.py --large      # also 500 × 200 sellers, 5,000 campaigns
    .venv/bin/python benchmarks/bench.py --repeat 5   # min of 5 runs per case (default 3)
    .venv/bin/python benchmarks/bench.py --scenarios C  # only scenario C's rows (+ the rest)

Every case runs in its own process (so its peak resident memory is its own) ``--repeat``
times; the table shows the minimum CPU time (``time.process_time`` in the child) and the
minimum wall time. Cases:

* ``scenario A/B/C``: build the market and run 30 days in-process (build time included);
* ``whole process``: ``python -m admarket run --no-progress`` (A+B+C, the plan preset,
  30 days) from interpreter start to exit; on the plan row also ``python -m admarket
  --help``, an argument error (``run --days 0``, exit 2) and the *import floor*
  ``python -c "import mesa, pandas"`` — what any run must pay before its first step, so the
  whole command is judged against it on any machine; CPU is that command's user + system
  time, peak its own resident maximum;
* ``framework floor``: a Mesa model built exactly like the model — the same agent classes
  and counts (buyers, sellers, and the exchange), the same stepping (hourly step, a
  morning ``shuffle_do`` on buyers, an evening agent collection), DataCollectors with as
  many model and agent-type reporters — whose agents and reporters do nothing; build time
  counted on both sides;
* ``clearing``: A's bids captured from one run (by monkeypatching the exchange in this
  process only), then timed twice on the same bids: (a) the model's path — dedupe of
  (campaign, lot) keys, ``SecondPriceAuction.clear``, and the per-(campaign, product) fee
  split of ``_settle`` — and (b) a dense numpy kernel doing the same with lot-indexed arrays
  and scatters (``np.maximum.at``), no sort over all bids; both must sell the same lots at
  the same prices to the same fee rows, hour by hour. The ratio is model ÷ kernel.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CASES = {
    "plan": {"n_buyers": 5, "n_sellers": 5, "campaigns_per_buyer": 10},
    "medium": {"n_buyers": 100, "n_sellers": 50, "campaigns_per_buyer": 10},
    "large": {"n_buyers": 500, "n_sellers": 200, "campaigns_per_buyer": 10},
}


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _row(case: str, what: str, cpu: float, wall: float, **extra) -> dict:
    return {"case": case, "what": what, "cpu_s": cpu, "wall_s": wall, "peak_mb": _peak_mb()} | extra


def run_model(case: str, scenario: str) -> dict:
    """Build and run one scenario in-process (build counted)."""
    from admarket import MarketModel

    c0, w0 = time.process_time(), time.perf_counter()
    m = MarketModel(scenario, **CASES[case])
    m.run()
    cpu, wall = time.process_time() - c0, time.perf_counter() - w0
    imps = m.summary()["impressions"]
    return _row(case, f"scenario {scenario}", cpu, wall, impressions=imps)


def framework_floor(case: str) -> dict:
    """A Mesa model built and stepped like MarketModel whose agents do nothing."""
    from mesa import Agent, Model
    from mesa.datacollection import DataCollector

    from admarket import MarketConfig
    from admarket.agents.buyer import BuyerAgent
    from admarket.agents.seller import SellerAgent
    from admarket.model.reporters import AGENT_REPORTERS, MODEL_REPORTERS

    cfg = MarketConfig(**CASES[case])

    class IdleBuyer(Agent):
        def plan_day(self) -> None:
            pass

    class IdleSeller(Agent):
        pass

    class IdleExchange(Agent):
        def clear_hour(self) -> None:
            pass

    def zero(_) -> int:
        return 0

    class Floor(Model):
        def __init__(self) -> None:
            super().__init__(rng=cfg.seed)
            self.buyers = [IdleBuyer(self) for _ in range(cfg.n_buyers)]
            self.sellers = [IdleSeller(self) for _ in range(cfg.n_sellers)]
            self.exchange = IdleExchange(self)
            self.datacollector = DataCollector(model_reporters=dict.fromkeys(MODEL_REPORTERS, zero))
            self.agent_datacollector = DataCollector(
                agenttype_reporters={
                    IdleBuyer: dict.fromkeys(AGENT_REPORTERS[BuyerAgent], zero),
                    IdleSeller: dict.fromkeys(AGENT_REPORTERS[SellerAgent], zero),
                }
            )
            self.running = True
            self.datacollector.collect(self)

        def step(self) -> None:
            spd = cfg.steps_per_day
            t = self.steps - 1
            if t % spd == 0:
                self.agents_by_type[IdleBuyer].shuffle_do("plan_day")
            self.exchange.clear_hour()
            if t % spd == spd - 1:
                self.agent_datacollector.collect(self)
            self.datacollector.collect(self)
            if self.steps >= cfg.steps:
                self.running = False

    c0, w0 = time.process_time(), time.perf_counter()
    m = Floor()
    while m.running:
        m.step()
    cpu, wall = time.process_time() - c0, time.perf_counter() - w0
    return _row(case, "framework floor", cpu, wall, impressions=0)


def capture_bids(case: str) -> tuple[list[dict], object]:
    """Run A once, recording every hour's bids as the exchange sends them to the auction."""
    import numpy as np

    from admarket import MarketModel
    from admarket.agents.exchange import ExchangeAgent

    hours: list[dict] = []
    real_bids = ExchangeAgent._bids

    def recording(self, lots_c):
        out = real_bids(self, lots_c)
        if out is not None:
            lot, pc, pp, price, entry, n_entries = out
            supply = self.model.market.hourly_avails[:, self.model.t]
            hours.append(
                {
                    "lot": lot,
                    "campaign": pc,
                    "product": pp,
                    "bid": price,
                    "floor": self.model.market.floor_cpm[pp],
                    "n_lots": int(supply.sum()) + 1,
                    "tiebreak": np.random.default_rng(len(hours)).random(lot.size),
                    "entry": entry,
                    "n_entries": n_entries,
                }
            )
        return out

    ExchangeAgent._bids = recording  # this benchmark process only
    try:
        m = MarketModel("A", **CASES[case])
        m.run()
    finally:
        ExchangeAgent._bids = real_bids
    return hours, m


def model_clearing(h: dict, mk, ex, lot_size: int):
    """The model's path: dedupe (campaign, lot), SecondPriceAuction.clear, the fee split."""
    import numpy as np

    from admarket.market.accounting import cents, split_fees

    n_lots = h["n_lots"]
    # one bid per (campaign, lot) by a stable sort, as the model's ``_sorted_unique`` (numpy's
    # hash-based ``np.unique`` is many times slower on these keys)
    keys = h["campaign"] * n_lots + h["lot"]
    by_key = np.argsort(keys, kind="stable")
    sk = keys[by_key]
    first = np.ones(sk.size, dtype=bool)
    np.not_equal(sk[1:], sk[:-1], out=first[1:])
    key, order = sk[first], by_key[first]
    c_all, lot = key // n_lots, key % n_lots
    bid, floor, prod = h["bid"][order], h["floor"][order], h["product"][order]
    tb = h["tiebreak"][order]
    res = ex.auction.clear(lot, bid, floor, tiebreak=tb)
    won_c, won_p = c_all[res.winner], prod[res.winner]
    media = cents(res.price, np.ones(res.price.size), lot_size)
    lot_cents = np.floor(media / ex.working + 1e-9).astype(np.int64)
    # the fee rows as ``_settle`` makes them: wins summed per bidding pair (no sort)
    won_e, n_e = h["entry"][order][res.winner], h["n_entries"]
    hit = np.flatnonzero(np.bincount(won_e, minlength=n_e))
    gross = np.bincount(won_e, weights=lot_cents, minlength=n_e)[hit].astype(np.int64)
    key_e = np.zeros(n_e, dtype=np.int64)
    key_e[won_e] = won_c * mk.n_products + won_p
    rows = key_e[hit]
    fees, net = split_fees(gross, ex.fee_rates)
    return lot[res.winner], res.price, rows, gross, net, fees


def dense_clearing(h: dict, mk, ex, lot_size: int):
    """The same work with dense lot-indexed arrays and scatters instead of sorts: the best
    bid on each lot by ``np.maximum.at``, the winner the one of its best bids with the
    lowest tiebreak (``np.minimum.at``), the second price the best of the rest.

    The dedupe reads the bids in the order the exchange makes them — sorted by (campaign,
    lot), so a repeated (campaign, lot) is its neighbour — and the fee rows are the sorted
    distinct (campaign, product) keys of the winners: no array is campaigns × lots or
    campaigns × products, and no sort is over all bids, so the kernel is a fair reference
    at every scale. (Its first version built campaigns × lots arrays every hour for the
    dedupe, 84% of its time at 100 × 50, and sorted every bid by price, most of the rest.)"""
    import numpy as np

    from admarket.market.accounting import split_fees
    from admarket.market.runs import first_of_runs

    n_lots = h["n_lots"]
    key = h["campaign"] * n_lots + h["lot"]
    if np.any(key[1:] < key[:-1]):
        raise ValueError("the bids are not sorted by (campaign, lot) as the exchange makes them")
    pick = np.flatnonzero(first_of_runs(key))  # dedupe: one bid per (campaign, lot)
    lot, bid, floor = h["lot"][pick], h["bid"][pick], h["floor"][pick]
    camp, prod, tb = h["campaign"][pick], h["product"][pick], h["tiebreak"][pick]
    ok = np.flatnonzero(bid >= floor)
    lot_ok, bid_ok, tb_ok = lot[ok], bid[ok], tb[ok]
    best = np.full(n_lots, -np.inf)
    np.maximum.at(best, lot_ok, bid_ok)
    top = np.flatnonzero(bid_ok == best[lot_ok])  # every best bid; ties go to the lowest tb
    low_tb = np.full(n_lots, np.inf)
    np.minimum.at(low_tb, lot_ok[top], tb_ok[top])
    won = top[tb_ok[top] == low_tb[lot_ok[top]]]
    win = np.full(n_lots, -1, dtype=np.int64)
    win[lot_ok[won]] = ok[won]
    rest = bid_ok.copy()
    rest[won] = -np.inf
    second = np.full(n_lots, -np.inf)
    np.maximum.at(second, lot_ok, rest)  # the best bid on the lot but the winner's
    sold = np.flatnonzero(win >= 0)
    w = win[sold]
    price = np.maximum(second[sold], floor[w])
    media = np.rint(price * 100.0 * lot_size / 1000.0)
    lot_cents = np.floor(media / ex.working + 1e-9).astype(np.int64)
    cp = camp[w] * mk.n_products + prod[w]
    by_cp = np.sort(cp)
    rows = by_cp[first_of_runs(by_cp)]
    gross = np.bincount(np.searchsorted(rows, cp), weights=lot_cents, minlength=rows.size)
    fees, net = split_fees(gross.astype(np.int64), ex.fee_rates)
    return sold, price, rows, gross.astype(np.int64), net, fees


def clearing(case: str) -> dict:
    """Time the model's clearing path and a dense kernel on the same captured bids of A."""
    import numpy as np

    hours, m = capture_bids(case)
    mk, ex, lot_size = m.market, m.exchange, m.config.lot_size
    n_bids = sum(h["lot"].size for h in hours)
    for h in hours:  # both must sell the same lots at the same prices to the same rows
        a, b = model_clearing(h, mk, ex, lot_size), dense_clearing(h, mk, ex, lot_size)
        assert np.array_equal(a[0], b[0]) and np.allclose(a[1], b[1]), "kernels disagree"
        assert np.array_equal(a[2], b[2]) and np.array_equal(a[3], b[3]), "fee rows disagree"
        assert np.array_equal(a[4], b[4]) and a[5].keys() == b[5].keys(), "fee split disagrees"
    best = {}
    for name, fn in (("model", model_clearing), ("dense", dense_clearing)):
        runs = []
        for _ in range(3):
            c0 = time.process_time()
            for h in hours:
                fn(h, mk, ex, lot_size)
            runs.append(time.process_time() - c0)
        best[name] = min(runs)
    return _row(
        case,
        "clearing",
        best["model"],
        0.0,
        impressions=0,
        bids=n_bids,
        dense_s=best["dense"],
    )


def whole_process(case: str, label: str, argv: list[str], code: int) -> dict:
    """One command in a fresh interpreter (``python ARGV``, which must exit with ``code``):
    CPU is the child's user + system time."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    w0 = time.perf_counter()
    r = subprocess.run(
        [sys.executable, *argv], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT
    )
    wall = time.perf_counter() - w0
    if r.returncode != code:
        raise SystemExit(f"{' '.join(argv)}: exit {r.returncode}, expected {code}")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {
        "case": case,
        "what": label,
        "cpu_s": cpu,
        "wall_s": wall,
        "peak_mb": after.ru_maxrss / 1024,
        "impressions": 0,
    }


def _child(job: str) -> dict:
    case, what = job.split(":")
    if what == "floor":
        return framework_floor(case)
    if what == "clearing":
        return clearing(case)
    if what.startswith("cli"):  # from this fresh process, so its peak is the command's own
        return whole_process(case, *_commands(case)[int(what[3:])])
    return run_model(case, what)


RUN_ROW = "whole: run"
IMPORT_FLOOR = "import mesa, pandas"


def _commands(case: str) -> list[tuple[str, list[str], int]]:
    """The whole-process rows: (label, the interpreter's arguments, expected exit code)."""
    c = CASES[case]
    run = ["-m", "admarket", "run", "--no-progress", "--days", "30"]
    run += ["--buyers", str(c["n_buyers"]), "--sellers", str(c["n_sellers"])]
    run += ["--campaigns-per-buyer", str(c["campaigns_per_buyer"])]
    rows = [(RUN_ROW, run, 0)]
    if case == "plan":
        rows += [
            ("whole: --help", ["-m", "admarket", "--help"], 0),
            ("whole: run --days 0 (error)", ["-m", "admarket", "run", "--days", "0"], 2),
            (IMPORT_FLOOR, ["-c", "import mesa, pandas"], 0),
        ]
    return rows


def _measure(case: str, what: str, repeat: int) -> dict:
    runs = []
    for _ in range(repeat):
        out = subprocess.run(
            [sys.executable, __file__, "--job", f"{case}:{what}"],
            capture_output=True,
            text=True,
            check=True,
        )
        runs.append(json.loads(out.stdout))
    best = dict(runs[0])
    best["cpu_s"] = min(r["cpu_s"] for r in runs)
    best["wall_s"] = min(r["wall_s"] for r in runs)
    best["peak_mb"] = max(r["peak_mb"] for r in runs)
    if "dense_s" in best:
        best["dense_s"] = min(r["dense_s"] for r in runs)
    return best


def _load() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def main() -> None:
    """Run every case ``--repeat`` times in its own process and print one table."""
    ap = argparse.ArgumentParser(description=" ".join(__doc__.split("\n\n")[0].split()))
    ap.add_argument("--medium", action="store_true")
    ap.add_argument("--large", action="store_true")
    ap.add_argument("--repeat", type=int, default=3, help="runs per case; the minimum is kept")
    ap.add_argument(
        "--scenarios",
        default="ABC",
        type=lambda v: "".join(x for x in "ABC" if x in v.upper()),
        help="which scenario rows to run, e.g. BC (default ABC); the other rows run as ever",
    )
    ap.add_argument("--job", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.job:
        print(json.dumps(_child(args.job)))
        return
    cases = ["plan"] + (["medium"] if args.medium else []) + (["large"] if args.large else [])
    rows = []
    print(
        f"min of {args.repeat} runs; CPU = process time of the child (user + system); "
        f"load average {_load()} at start"
    )
    print(f"{'case':>7} {'what':<28} {'CPU s':>8} {'wall s':>8} {'peak MB':>8}  note")
    for case in cases:
        whats = [*args.scenarios, "floor", "clearing"]
        whats += [f"cli{i}" for i in range(len(_commands(case)))]
        for what in whats:
            r = _measure(case, what, args.repeat)
            rows.append(r)
            note = ""
            if r["what"].startswith("scenario"):
                note = f"{r['impressions'] / max(r['cpu_s'], 1e-9) / 1e6:,.0f} M imps per CPU s"
            if r["what"] == "clearing":
                note = (
                    f"{r['bids']:,} bids; dense kernel {r['dense_s']:.3f} s; model = "
                    f"{r['cpu_s'] / max(r['dense_s'], 1e-9):.2f}× kernel "
                    f"({r['dense_s'] / max(r['cpu_s'], 1e-9):.0%} of its speed)"
                )
            wall = f"{r['wall_s']:8.2f}" if r["wall_s"] else f"{'':>8}"
            print(
                f"{r['case']:>7} {r['what']:<28} {r['cpu_s']:8.3f} {wall} "
                f"{r['peak_mb']:8.0f}  {note}",
                flush=True,
            )
    for case in cases:
        sc = [r for r in rows if r["case"] == case and r["what"].startswith("scenario")]
        floor = next(r for r in rows if r["case"] == case and r["what"] == "framework floor")
        ratios = " / ".join(f"{r['cpu_s'] / max(floor['cpu_s'], 1e-9):.1f}×" for r in sc)
        total = sum(r["cpu_s"] for r in sc)
        print(f"{case}: A+B+C in-process {total:.2f} s CPU; vs framework floor A/B/C {ratios}")
        whole = next(r for r in rows if r["case"] == case and r["what"] == RUN_ROW)
        imports = [r for r in rows if r["case"] == case and r["what"] == IMPORT_FLOOR]
        if imports:
            print(
                f"{case}: whole `admarket run` {whole['cpu_s']:.2f} s CPU = "
                f"{whole['cpu_s'] / max(imports[0]['cpu_s'], 1e-9):.1f}× the import floor "
                f"({IMPORT_FLOOR}: {imports[0]['cpu_s']:.2f} s)"
            )
    print(f"load average {_load()} at the end")


if __name__ == "__main__":
    main()

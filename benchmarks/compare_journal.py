"""Benchmark of a compare's journal (not a test): what keeping each finished run beside the
result costs the parent, and what resuming costs, per run.

Usage::

    .venv/bin/python benchmarks/compare_journal.py                 # plan scale, 30 runs
    .venv/bin/python benchmarks/compare_journal.py --case 100x50 --runs 9

Runs three real runs (A, B, C, ``--days`` days) as a compare's worker runs them — logs
written, large tables spooled into a build folder — and keeps their tables under ``--runs``
distinct runs (only the journal's work is timed). Prints, per run: ``add`` (pickling and
gzipping the tables, linking the spooled file and logs, fsync; in the parent as each run
arrives), the bytes of tables it keeps, the spooled files it links (their disk is freed
only when the result is published), ``open`` (reading the journal and checking the SHA-256
of every run's tables) and ``replay`` (reading a kept run back and linking its files into a
new build folder).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from admarket import build_config
from admarket.batch.pool import make_tasks, run_task
from admarket.outputs import store_writer
from admarket.outputs.compare_journal import CompareJournal
from admarket.outputs.kept_run import TABLES_FILE
from admarket.outputs.spool import LOGS_DIR, SPOOL_DIR, Spool

CASES = {
    "plan": {},
    "100x50": {"n_buyers": 100, "n_sellers": 50, "campaigns_per_buyer": 10},
}


def _sizes(path: Path) -> tuple[int, int]:
    """Bytes of the kept tables under ``path``, and of the spooled files linked there (each
    file once: every kept run of the benchmark links the same three)."""
    seen, spooled = set(), 0
    for p in path.rglob("*.duckdb"):
        if p.stat().st_ino not in seen:
            seen.add(p.stat().st_ino)
            spooled += p.stat().st_size
    return sum(p.stat().st_size for p in path.rglob(TABLES_FILE)), spooled


def main() -> None:
    ap = argparse.ArgumentParser(description=" ".join(__doc__.split("\n\n")[0].split()))
    ap.add_argument("--case", choices=CASES, default="plan")
    ap.add_argument("--runs", type=int, default=30, help="runs to keep (default 30)")
    ap.add_argument("--days", type=int, default=30)
    args = ap.parse_args()
    cfg = build_config(**CASES[args.case], days=args.days)
    n_seeds = max(1, args.runs // 3)
    tasks = make_tasks({"design": ["A", "B", "C"], "config": cfg}, range(1, n_seeds + 1))
    levels = ["key"] * len(tasks)  # every run with logs: the most a run keeps
    with tempfile.TemporaryDirectory(dir=Path.cwd()) as tmp:  # a real disk, as --out is
        root = Path(tmp)
        build = root / "build"
        (build / SPOOL_DIR).mkdir(parents=True)
        (build / LOGS_DIR).mkdir()
        spool = Spool(str(build / SPOOL_DIR), str(build / LOGS_DIR), "key")
        t0 = time.process_time()
        sample = [run_task(replace(t, spool=spool))["tables"] for t in tasks[:3]]
        print(f"3 runs ({args.case}, {args.days} days): {time.process_time() - t0:.1f} s CPU")
        spooled = sum(isinstance(t, store_writer.SpooledTable) for s in sample for t in s.values())
        journal = CompareJournal(root / "c", False, tasks, levels)
        t0 = time.perf_counter()
        for i in range(len(tasks)):
            journal.add(i, sample[i % 3], build)
        add = (time.perf_counter() - t0) / len(tasks)
        journal.close()
        pickled, spooled_bytes = _sizes(journal.folder)
        t0 = time.perf_counter()
        resumed = CompareJournal(root / "c", True, tasks, levels)
        opened = time.perf_counter() - t0
        shutil.rmtree(build)
        (build / SPOOL_DIR).mkdir(parents=True)
        (build / LOGS_DIR).mkdir()
        t0 = time.perf_counter()
        n = 0
        for i in resumed.reused:  # the writer then deletes the linked files: so here
            resumed.replayed(i, build)
            n += 1
            for p in [*(build / SPOOL_DIR).iterdir(), *(build / LOGS_DIR).iterdir()]:
                p.unlink()
        replayed = time.perf_counter() - t0
        resumed.close()
    assert n == len(tasks)
    print(f"{len(tasks):,} runs kept ({spooled} tables spooled in the sample)")
    print(f"add:    {add * 1000:.1f} ms a run")
    print(f"kept:   {pickled / len(tasks) / 1e6:.2f} MB of tables a run (pickled, gzipped)")
    print(f"linked: {spooled_bytes / 3 / 1e6:.1f} MB of spooled tables a run (held until publish)")
    print(f"open:   {opened / len(tasks) * 1000:.1f} ms a run ({opened:.2f} s in all)")
    print(f"replay: {replayed / len(tasks) * 1000:.1f} ms a run ({replayed:.2f} s in all)")


if __name__ == "__main__":
    main()

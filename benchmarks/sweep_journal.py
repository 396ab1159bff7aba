"""Benchmark of a sweep's journal (not a test): what keeping each finished run on disk costs,
and what resuming costs, per run.

Usage::

    .venv/bin/python benchmarks/sweep_journal.py               # 1,000 journalled runs
    .venv/bin/python benchmarks/sweep_journal.py --runs 5000

Runs three real plan-scale runs (A, B, C, one day) and journals their rows under ``--runs``
distinct seeds (the rows are the same three: only the journal's work is timed). Prints,
per run: ``add`` (JSON, write, flush and fsync, in the parent as each run arrives), the
bytes it adds, ``open`` (reading and checking a journal to resume) and ``take`` (building
the reused runs' rows); and the code identity's one-off hash of admarket's files. A
plan-scale run itself takes about 0.4–0.6 s of CPU.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from admarket import build_config
from admarket.batch.pool import make_tasks, run_task
from admarket.outputs.run_identity import code_identity
from admarket.outputs.sweep_journal import SweepJournal


def main() -> None:
    ap = argparse.ArgumentParser(description=" ".join(__doc__.split("\n\n")[0].split()))
    ap.add_argument("--runs", type=int, default=1000, help="runs to journal (default 1,000)")
    args = ap.parse_args()
    t0 = time.perf_counter()
    code_identity()
    print(f"code identity (once per process): {(time.perf_counter() - t0) * 1000:.1f} ms")
    cfg = build_config(preset="plan", days=1)
    n_seeds = max(1, args.runs // 3)
    tasks = make_tasks(
        {"design": ["A", "B", "C"], "config": cfg}, range(1, n_seeds + 1), collect="summary"
    )
    sample = [run_task(t) for t in tasks[:3]]
    with tempfile.TemporaryDirectory(dir=Path.cwd()) as tmp:  # a real disk, as --out is
        journal = SweepJournal(Path(tmp) / "s", resume=False)
        path = journal.path
        t0 = time.perf_counter()
        for i, t in enumerate(tasks):
            journal.add(t, sample[i % 3])
        add = (time.perf_counter() - t0) / len(tasks)
        journal.close()
        size = path.stat().st_size / len(tasks)
        t0 = time.perf_counter()
        resumed = SweepJournal(Path(tmp) / "s", resume=True)
        opened = time.perf_counter() - t0
        t0 = time.perf_counter()
        found = resumed.take(tasks)
        took = time.perf_counter() - t0
        resumed.close()
    assert len(found) == len(tasks)
    print(f"{len(tasks):,} runs journalled")
    print(f"add:  {add * 1000:.2f} ms a run ({size:,.0f} bytes)")
    print(f"open: {opened / len(tasks) * 1000:.3f} ms a run ({opened:.2f} s in all)")
    print(f"take: {took / len(tasks) * 1000:.3f} ms a run ({took:.2f} s in all)")


if __name__ == "__main__":
    main()

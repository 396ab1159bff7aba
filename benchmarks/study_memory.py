"""Benchmark (not a test): the memory of a whole study, its parent and each worker process.

Usage::

    .venv/bin/python benchmarks/study_memory.py                       # A, 2 seeds, 100 × 50
    .venv/bin/python benchmarks/study_memory.py --buyers 500 --sellers 200   # ~6 min, ~10 GB
    .venv/bin/python benchmarks/study_memory.py --scenarios a,b,c --seeds 4 --logs none
    .venv/bin/python benchmarks/study_memory.py --old /tmp/main-copy  # also an older tree

Runs ``python -m admarket compare ... --out TMP`` in a fresh process (with ``--old``, the
same command on another admarket source tree, ``PYTHONPATH`` pointing at it, old first) and
samples the resident memory of its process tree from ``/proc`` every ``--every`` seconds:
printed are the wall time, the parent's peak, the largest peak of any worker process, and
the largest sum over the whole tree at one sample (what the machine had to hold at once).
Sampling can miss a spike shorter than the interval. Linux only.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parents[1]


def _rss_mb(pid: int) -> float:
    try:
        pages = int(Path(f"/proc/{pid}/statm").read_text().split()[1])
    except (OSError, IndexError, ValueError):
        return 0.0
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def _children(pid: int) -> list[int]:
    """Every descendant of ``pid`` (from /proc/*/stat's parent field)."""
    parent_of: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
                parent_of[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
    found, todo = [], [pid]
    while todo:
        p = todo.pop()
        kids = [c for c, pp in parent_of.items() if pp == p]
        found += kids
        todo += kids
    return found


def measure(tree: Path, args: list[str], every: float) -> dict[str, float]:
    """Run one compare on ``tree`` and sample its memory; returns the figures."""
    env = {**os.environ, "PYTHONPATH": str(tree), "MPLBACKEND": "Agg"}
    with tempfile.TemporaryDirectory(dir=HERE) as d:
        cmd = [sys.executable, "-m", "admarket", "compare", *args, "--no-progress"]
        start = time.perf_counter()
        proc = subprocess.Popen(
            [*cmd, "--out", str(Path(d) / "r")], env=env, cwd=tree, stdout=subprocess.DEVNULL
        )
        parent = worker = total = 0.0
        while proc.poll() is None:
            kids = [_rss_mb(k) for k in _children(proc.pid)]
            own = _rss_mb(proc.pid)
            parent = max(parent, own)
            worker = max(worker, *kids, 0.0)
            total = max(total, own + sum(kids))
            time.sleep(every)
        wall = time.perf_counter() - start
        if proc.returncode != 0:
            raise SystemExit(f"{tree}: compare exited with {proc.returncode}")
    return {"wall_s": wall, "parent_mb": parent, "worker_mb": worker, "tree_mb": total}


def main() -> None:
    ap = argparse.ArgumentParser(description=" ".join(__doc__.split("\n\n")[0].split()))
    ap.add_argument("--scenarios", default="A")
    ap.add_argument("--seeds", type=int, default=2)
    ap.add_argument("--buyers", type=int, default=100)
    ap.add_argument("--sellers", type=int, default=50)
    ap.add_argument("--days", type=int, default=30)
    ap.add_argument("--processes", type=int, default=2)
    ap.add_argument("--logs", default="first", choices=["first", "all", "none"])
    ap.add_argument("--every", type=float, default=0.5, help="seconds between samples")
    ap.add_argument("--old", type=Path, help="root of another admarket tree to measure first")
    a = ap.parse_args()
    args = [
        *("--scenarios", a.scenarios, "--seeds", str(a.seeds), "--days", str(a.days)),
        *("--buyers", str(a.buyers), "--sellers", str(a.sellers)),
        *("--processes", str(a.processes), "--logs", a.logs),
    ]
    print(f"compare {' '.join(args)}; load {os.getloadavg()[0]:.1f}; sampled every {a.every} s")
    trees = ([("old", a.old.resolve())] if a.old else []) + [("new", HERE)]
    for name, tree in trees:
        m = measure(tree, args, a.every)
        print(
            f"{name}: wall {m['wall_s']:.1f} s, parent peak {m['parent_mb']:,.0f} MB, "
            f"largest worker {m['worker_mb']:,.0f} MB, whole tree at once {m['tree_mb']:,.0f} MB",
            flush=True,
        )


if __name__ == "__main__":
    main()

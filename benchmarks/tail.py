"""Benchmark of a study's serial tail (not a test): the wall time from the last run's result
arriving in the parent to ``compare`` returning (store finished, report written, result
swapped in).

Usage::

    .venv/bin/python benchmarks/tail.py --seeds 10              # this tree, 3 times
    .venv/bin/python benchmarks/tail.py --seeds 10 --old /tmp/main-copy --repeat 3

With ``--old`` (the root of another admarket source tree, e.g. ``git archive main | tar -x
-C /tmp/main-copy``) old and new are run interleaved (old, new, old, new, ...), each in a
fresh process with ``PYTHONPATH`` pointing at its tree. Prints per measurement the 1-minute
load average before it, the tail and, where that tree has them, its parts: the store's last
write and close (``finish`` or ``complete`` + ``close``), ``write_report``, and the time the
report waited for its charts, and the parent's CPU time in the tail (workers not included);
then the median of each side. The machine's load moves these
figures a lot (2 cores shared): compare sides only within one interleaved batch.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parents[1]


def _child(seeds: int, processes: int) -> None:
    """One compare in this process; prints its tail and parts as one JSON line."""
    import admarket.batch.comparison as cmp

    try:  # where the result's report is written (publish.py in an older tree)
        import admarket.outputs.results as pub
    except ImportError:
        import admarket.outputs.publish as pub  # type: ignore[no-redef]
    from admarket.config import build_config
    from admarket.outputs import store_writer

    parts: dict[str, float] = {}

    def timed(owner: object, name: str, key: str) -> None:
        orig = getattr(owner, name, None)
        if orig is None:
            return

        def wrapper(*a, **k):
            t = time.perf_counter()
            try:
                return orig(*a, **k)
            finally:
                if last:  # these run only after the last run anyway
                    parts[key] = parts.get(key, 0.0) + time.perf_counter() - t

        setattr(owner, name, wrapper)

    last: list[float] = []
    if hasattr(store_writer.StoreWriter, "complete"):  # complete, then close while reporting
        timed(store_writer.StoreWriter, "complete", "store")
        timed(store_writer.StoreWriter, "close", "store")
    else:  # an older tree: finish (which closes)
        timed(store_writer.StoreWriter, "finish", "store")
    timed(pub, "write_report", "report")
    try:
        from admarket.report import drawing

        timed(drawing.PendingCharts, "result", "charts_wait")
    except ImportError:  # an older tree: charts drawn in write_report
        import admarket.report.document as doc

        timed(doc, "draw_all", "charts_wait")
    runs = cmp.iter_results

    def arrivals(*a, **k):
        for x in runs(*a, **k):
            last[:] = [time.perf_counter(), time.process_time()]
            yield x

    cmp.iter_results = arrivals
    with tempfile.TemporaryDirectory() as d:
        cmp.compare(build_config(), list(range(seeds)), processes=processes, out=Path(d) / "r")
        tail, cpu = time.perf_counter() - last[0], time.process_time() - last[1]
    print(json.dumps({"tail": tail, "parent_cpu": cpu, **parts}))


def _measure(tree: Path, seeds: int, processes: int) -> dict[str, float]:
    env = {**os.environ, "PYTHONPATH": str(tree), "MPLBACKEND": "Agg"}
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", str(seeds), str(processes)]
    load = os.getloadavg()[0]
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True, cwd=tree)
    return {"load": load, **json.loads(out.stdout.strip().splitlines()[-1])}


def main() -> None:
    if len(sys.argv) == 4 and sys.argv[1] == "--child":
        _child(int(sys.argv[2]), int(sys.argv[3]))
        return
    ap = argparse.ArgumentParser(description=" ".join(__doc__.split("\n\n")[0].split()))
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--processes", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--old", type=Path, help="root of another admarket tree to compare with")
    args = ap.parse_args()
    sides = {"new": HERE} | ({"old": args.old.resolve()} if args.old else {})
    got: dict[str, list[dict[str, float]]] = {k: [] for k in sides}
    for i in range(args.repeat):
        for name in sorted(sides, reverse=True):  # old first, then new
            m = _measure(sides[name], args.seeds, args.processes)
            got[name].append(m)
            shown = ", ".join(f"{k} {v:.2f}" for k, v in m.items())
            print(f"{i + 1} {name}: {shown}", flush=True)
    for name, ms in got.items():
        keys = sorted({k for m in ms for k in m})
        med = ", ".join(f"{k} {statistics.median(m.get(k, 0.0) for m in ms):.2f}" for k in keys)
        print(f"median {name} ({len(ms)}): {med}")


if __name__ == "__main__":
    main()

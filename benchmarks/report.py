"""Benchmark of the report pipeline (not a test): what a finished run costs to report.

Usage::

    .venv/bin/python benchmarks/report.py             # plan scale, A, B and C, one seed

For each scenario of a plan-scale run it times the store tables, the event log and the
narrative; then the report (markdown, HTML, JSON and charts) and the content drafts for the
three runs together, written to a temporary folder.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path


def main() -> None:
    from admarket import MarketModel
    from admarket.outputs.event_log import event_lines
    from admarket.outputs.narrative import render_narrative
    from admarket.outputs.results import write_results
    from admarket.outputs.run_tables import run_tables
    from admarket.outputs.store import STORE_NAME
    from admarket.report import write_report

    per_run = []
    for s in "ABC":
        m = MarketModel(s).run()
        t0 = time.perf_counter()
        tables = run_tables(m)
        t1 = time.perf_counter()
        n = sum(1 for _ in event_lines(tables))
        t2 = time.perf_counter()
        render_narrative(tables, "key")
        t3 = time.perf_counter()
        per_run.append(tables)
        print(
            f"scenario {s}: tables {t1 - t0:.2f} s, event log {t2 - t1:.2f} s ({n:,} lines), "
            f"narrative {t3 - t2:.2f} s"
        )
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "run"
        t0 = time.perf_counter()
        write_results(per_run, out, log_runs="none")
        t1 = time.perf_counter()
        write_report(out / STORE_NAME, out, content=True)
        t2 = time.perf_counter()
    print(f"publish (store + report): {t1 - t0:.2f} s; report again with content/: {t2 - t1:.2f} s")


if __name__ == "__main__":
    argparse.ArgumentParser(description=" ".join(__doc__.split("\n\n")[0].split())).parse_args()
    main()

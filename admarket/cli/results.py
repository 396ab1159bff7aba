"""``admarket report``: rebuild a published result's report from its store.

Refuses a folder that is not a complete result (no valid COMPLETE marker, a listed file
missing or changed) and a store that cannot be read, with one line and exit code 2; the
new report is published like any result (built beside, swapped in whole).
"""

from __future__ import annotations

import argparse

from admarket.errors import UsageError
from admarket.outputs.publish import republish_report
from admarket.outputs.store import store_tables


def cmd_report(args: argparse.Namespace) -> int:
    """``admarket report``: rebuild a result's report from its store, published whole."""
    if "summaries" not in store_tables(args.run_dir):
        raise UsageError(f"{args.run_dir}: not a run or compare store (a sweep? see sweep.md)")
    republish_report(args.run_dir)
    print(f"wrote {args.run_dir}/report.md, report.html, report.json and charts/")
    return 0

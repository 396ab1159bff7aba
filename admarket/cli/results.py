"""``admarket report``: rebuild a published result's report from its store.

Refuses a folder that is not a complete result (no valid COMPLETE marker, a listed file
missing or changed) and a store that cannot be read, with one line and exit code 2; the
new report is published like any result (built beside, swapped in whole).
"""

from __future__ import annotations

import argparse

from admarket.outputs.publish import republish_report


def cmd_report(args: argparse.Namespace) -> int:
    """``admarket report``: rebuild a result's report from its store, published whole."""
    republish_report(args.run_dir)
    print(f"wrote {args.run_dir}/report.md, report.html, report.json and charts/")
    return 0

"""``admarket report``: rebuild a published result's report from its store.

Refuses a folder that is not a complete result (no valid COMPLETE marker, a listed file
missing or changed) and a store that cannot be read, with one line and exit code 2; the
new report is published like any result (built beside, swapped in whole).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from admarket.errors import UsageError
from admarket.outputs.publish import republish_report
from admarket.report.document import FORMATS


def cmd_report(args: argparse.Namespace) -> int:
    """``admarket report``: rebuild a result's report from its store, published whole."""
    formats = list(dict.fromkeys(f.strip() for f in args.format.split(",") if f.strip()))
    if not formats or any(f not in FORMATS for f in formats):
        raise UsageError(f"--format {args.format}: a comma-separated list of {', '.join(FORMATS)}")
    names = {"md": "report.md", "html": "report.html", "json": "report.json"}
    # the report is rebuilt whole: formats not asked for this time go (say which)
    here = Path(args.run_dir)
    dropped = [n for f, n in names.items() if f not in formats and (here / n).exists()]
    gone = [f"removed {', '.join(dropped)}: not in --format"] if dropped else []
    if not args.content and (here / "content").is_dir():
        gone.append("removed content/: no --content")
    republish_report(args.run_dir, formats, content=args.content)
    written = [names[f] for f in formats] + ["charts/"] + (["content/"] if args.content else [])
    said = f" ({'; '.join(gone)})" if gone else ""
    print(f"wrote {args.run_dir}/: {', '.join(written)}{said}")
    return 0

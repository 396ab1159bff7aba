"""``admarket status DIR``: the runs, checkpoints and studies in a folder, one block each."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from admarket.errors import UsageError
from admarket.money import plural
from admarket.outputs.inventory import Item, config_text, scan, seed_text


def describe(item: Item) -> str:
    """An item as a few lines of text: what, where, complete or not, config, seeds, origin."""
    lines = [f"{item.kind:<10} {item.path}", f"  status:    {item.status}"]
    if item.scenarios or item.seeds:
        lines.append(
            f"  runs:      scenarios {', '.join(item.scenarios) or '?'} × seeds "
            f"{seed_text(item.seeds)}" + (f" ({item.detail})" if item.detail else "")
        )
    if config := config_text(item):
        lines.append(f"  config:    {config}")
    if item.varies:
        lines.append(f"  varies:    {', '.join(item.varies)}")
    if item.produced_by:
        lines.append(f"  made by:   {item.produced_by}")
    return "\n".join(lines)


def verify_bar() -> Any:
    """The progress bar of ``status --verify`` on stderr, in bytes read, cleared when done;
    tqdm leaves it out when stderr is not a terminal, so scripts see only the report and
    the exit code."""
    from tqdm import tqdm

    return tqdm(
        desc="verifying", unit="B", unit_scale=True, file=sys.stderr, disable=None, leave=False
    )


def cmd_status(args: argparse.Namespace) -> int:
    """``admarket status [DIR]``."""
    folder = Path(args.folder)
    if not folder.is_dir():
        raise UsageError(f"{folder}: {'not a folder' if folder.exists() else 'no such folder'}")
    depth = args.depth
    if depth is not None and depth < 0:
        raise UsageError(f"--depth {depth}: give 0 (the folder alone) or more folder levels")
    if args.verify:  # every file is read: a bar on a terminal (bytes read), nothing otherwise
        with verify_bar() as bar:
            items = scan(folder, verify=True, on_read=bar.update, depth=depth)
    else:
        items = scan(folder, depth=depth)
    # --verify is a check a script can act on: exit 1 when a result is damaged
    failed = 1 if args.verify and any(i.status.startswith("damaged") for i in items) else 0
    if args.json:
        print(json.dumps([i.to_dict() for i in items], indent=1))
        return failed
    if not items:
        print(f"{folder}: no runs, studies or checkpoints")
        return 0
    done = sum(i.complete for i in items)
    print(f"{folder}: {plural(len(items), 'item')}, {done} complete\n")
    print("\n\n".join(describe(i) for i in items))
    return failed

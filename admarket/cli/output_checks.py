"""Early checks of a command's output paths, before it simulates anything: the output
folder may take a result, a ledger file or checkpoint folder can be written, is not someone
else's file and is not inside the output folder, and no output flag is given where it cannot
apply. Each failure is one line naming the option (exit 2).
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

from admarket.errors import UsageError
from admarket.outputs.manifest import check_not_inside, check_target

DEFAULT_CHECKPOINT_DIR = "checkpoints"
LEDGER_FORMAT = "admarket-ledger"


def check_writable_dir(path: str | Path, option: str) -> None:
    """Fail early (before any simulation) if ``path`` cannot be created or written as a
    directory: an existing file in the way, or no write permission on the nearest parent."""
    p = Path(path)
    if p.exists() and not p.is_dir():
        raise UsageError(f"{option} {path}: exists and is not a directory")
    parent = p
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        raise UsageError(f"{option} {path}: {parent} is a file, not a directory")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise UsageError(f"{option} {path}: {parent} is not writable")


def _is_admarket_file(path: Path, fmt: str) -> bool:
    """Whether ``path`` starts with an admarket JSON header of format ``fmt``."""
    try:
        with open(path, "rb") as fh:
            head = json.loads(fh.readline(65536))
    except (OSError, ValueError):
        return False
    return isinstance(head, dict) and head.get("format") == fmt


def check_ledger_out(path: str, out: str | None = None) -> None:
    """``--ledger-out``: a writable file path, not a folder, not someone else's file, and
    not inside the output folder."""
    if not path.strip():
        raise UsageError("--ledger-out is empty (an unset shell variable?); give a file name")
    p = Path(path)
    if p.is_dir():
        raise UsageError(f"--ledger-out {path}: is a directory, not a file")
    if p.exists() and not _is_admarket_file(p, LEDGER_FORMAT):
        raise UsageError(
            f"--ledger-out {path}: exists and is not an admarket ledger; admarket will not "
            "overwrite it — give another file name"
        )
    check_writable_dir(p.parent, "--ledger-out")
    if out is not None:
        check_not_inside(p, out, "--ledger-out")


def check_checkpoints(every: int | None, folder: str | None, out: str | None = None) -> None:
    """``--checkpoint-every`` / ``--checkpoint-dir``: a whole number of days ≥ 1, a folder
    that can be written and is not inside the output folder; a folder without a period is
    a flag that cannot apply."""
    if every is None:
        if folder is not None:
            raise UsageError("--checkpoint-dir applies only with --checkpoint-every DAYS")
        return
    if every < 1:
        raise UsageError(f"--checkpoint-every must be a whole number of days ≥ 1, not {every}")
    folder = DEFAULT_CHECKPOINT_DIR if folder is None else folder
    if not folder.strip():
        raise UsageError("--checkpoint-dir is empty (an unset shell variable?); give a folder")
    check_writable_dir(folder, "--checkpoint-dir")
    if out is not None:
        check_not_inside(folder, out, "--checkpoint-dir")


def check_outputs(args: argparse.Namespace) -> None:
    """Check every output path a command was given, before it runs anything: the output
    folder may take a result (see ``outputs.manifest.check_target``), other outputs are
    not inside it, and no output flag is given where it cannot apply."""
    out = getattr(args, "out", None)
    if out is not None:
        check_target(out)
        check_writable_dir(out, "--out")
    if getattr(args, "ledger_out", None) is not None:
        check_ledger_out(args.ledger_out, out)
    if hasattr(args, "checkpoint_every"):
        check_checkpoints(args.checkpoint_every, args.checkpoint_dir, out)

"""A checkpoint's item: the day it was saved at and how to continue it, read from its
header only."""

from __future__ import annotations

from pathlib import Path

from admarket.errors import CheckpointError
from admarket.model.checkpoint import read_header
from admarket.outputs.inventory.item import Item, config_diff

# an item's config_error when the file holding its config cannot be read (status says why)
_CHECKPOINT_UNREAD = "the checkpoint cannot be read"


def checkpoint_item(path: Path) -> Item:
    """The checkpoint at ``path``: the day it was saved at and the command that continues
    it, or why it cannot be read."""
    try:
        head, _ = read_header(path)
    except CheckpointError as exc:
        return Item(
            str(path), "checkpoint", False, f"unreadable — {exc}", config_error=_CHECKPOINT_UNREAD
        )
    cfg = head.get("config", {})
    day, days = int(head.get("day", 0)), int(cfg.get("days", 0))
    return Item(
        str(path),
        "checkpoint",
        False,
        f"checkpoint at the end of day {day} of {days}: continue with `admarket resume {path}`",
        scenarios=[str(head.get("scenario", "?"))],
        seeds=[int(cfg["seed"])] if "seed" in cfg else [],
        config=config_diff(cfg),
        produced_by=f"admarket {head.get('package_version', '?')}",
        detail=f"step {head.get('step', '?')}, {int(head.get('bytes', 0)):,} bytes",
    )

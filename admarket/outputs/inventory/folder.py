"""``scan(folder)``: walk a folder and tell each thing in it that ``admarket status``
lists — result folders, checkpoints, journals of stopped studies, leftovers of killed
processes, and folders an admarket process is writing that are not there yet."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from admarket.outputs.inventory.checkpoints import checkpoint_item
from admarket.outputs.inventory.item import Item, running_text
from admarket.outputs.inventory.journals import (
    compare_journal_item,
    is_compare_journal,
    journal_of,
    sweep_journal_item,
)
from admarket.outputs.inventory.leftovers import leftover_item, staged_ledger_item
from admarket.outputs.inventory.result_folder import result_item
from admarket.outputs.manifest import COMPLETE_MARKER, STORE_NAME
from admarket.outputs.output_lock import holder, locked_folder
from admarket.outputs.result_runs import RUNS_DIR
from admarket.outputs.sweep_journal import SUFFIX

# Folders inside a result that hold its parts, never other results (not scanned).
OWNED_DIRS = ("charts", "logs", "content", RUNS_DIR)


def scan(
    folder: str | Path,
    verify: bool = False,
    on_read: Callable[[int], None] | None = None,
    depth: int | None = None,
) -> list[Item]:
    """Every result folder and checkpoint under ``folder`` (itself included), by path; and
    every folder beside them an admarket process is writing (its output lock held).
    ``verify``: check each result's content against its checksums too (reads every file;
    ``on_read(n)`` is told the size of each chunk read, for a progress bar). ``depth``: how
    many folder levels below ``folder`` are looked into (0: the folder alone; None: all),
    so that a scan of a large folder (a home directory) stays short."""
    root = Path(folder)
    if depth is not None and depth < 0:
        raise ValueError(f"scan depth must be 0 or more, not {depth}")
    items: list[Item] = []
    locks: list[Path] = []  # folders whose output lock file is there
    for here, dirs, files in os.walk(root):
        p = Path(here)
        # at the last level looked into, its subfolders are neither entered nor listed
        last = depth is not None and len(p.relative_to(root).parts) >= depth
        if last:
            dirs[:] = []
        is_result = (p / COMPLETE_MARKER).is_file() or (p / STORE_NAME).is_file()
        if is_result:
            items.append(result_item(p, verify, on_read))
            dirs[:] = [d for d in dirs if d not in OWNED_DIRS and not d.startswith(".")]
        else:
            items += [
                compare_journal_item(p / d, verify) for d in sorted(dirs) if is_compare_journal(d)
            ]
            items += [i for d in sorted(dirs) if (i := leftover_item(p / d)) is not None]
            dirs[:] = [d for d in dirs if not d.startswith(".")]
        items += [checkpoint_item(p / f) for f in sorted(files) if f.endswith(".ckpt")]
        items += [i for f in sorted(files) if (i := staged_ledger_item(p / f)) is not None]
        items += [
            sweep_journal_item(p / f)
            for f in sorted(files)
            if f.startswith(".") and f.endswith(SUFFIX)
        ]
        locks += [d for f in files if (d := locked_folder(p / f)) is not None]
        dirs.sort()
    # a run (or a study without a journal) into a folder that is not there yet
    told = {Path(i.path) for i in items}
    for dest in locks:
        if dest in told or any(journal_of(i, dest) for i in items):
            continue
        if writer := holder(dest):
            items.append(Item(str(dest), "unknown", False, running_text(dest, writer)))
    return sorted(items, key=lambda i: i.path)

"""The journals a stopped sweep or compare left beside the folder it publishes into:
their items (the runs they keep and how to resume the study, or that it still runs, or that
it was published and the journal is a leftover), and which journal a study's folder has."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from admarket.money import plural
from admarket.outputs.compare_journal import INDEX, META_DIGEST, read_index
from admarket.outputs.compare_journal import SUFFIX as COMPARE_SUFFIX
from admarket.outputs.inventory.item import Item, describe_configs, running_text
from admarket.outputs.kept_run import check_run
from admarket.outputs.manifest import file_digest, read_manifest
from admarket.outputs.output_lock import holder
from admarket.outputs.run_identity import code_difference
from admarket.outputs.sweep_journal import SUFFIX, published_runs, read_journal, superseded

# an item's config_error when its journal cannot be read (status says why)
_JOURNAL_UNREAD = "the journal cannot be read"
_JOURNAL_EMPTY = "its journal holds no finished run yet"  # (while it runs, not damage)


def sweep_journal_item(path: Path) -> Item:
    """A sweep's journal: the runs it keeps and how to finish the sweep (or that the sweep
    is still running)."""
    out = path.parent / path.name[1 : -len(SUFFIX)]
    writer = holder(out)
    try:
        header, entries = read_journal(path)
        runs = [e["tables"]["runs"] for e in entries]
        rows = [dict(zip(r["columns"], r["values"], strict=True)) for r in runs]
        kept = [(str(r.get("scenario")), int(r["seed"]), json.loads(r["config"])) for r in rows]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        if writer:
            status = running_text(out, writer, "sweep")
            return Item(str(path), "journal", False, status, config_error=_JOURNAL_EMPTY)
        return Item(
            str(path), "journal", False, f"unreadable — {exc}", config_error=_JOURNAL_UNREAD
        )
    leftover = not writer and superseded(path, published_runs(out)[0])
    return _journal_item(path, "sweep", out, header, kept, leftover, writer)


def is_compare_journal(name: str) -> bool:
    """Whether a folder of this name is a stopped compare's journal (``.DIR`` + its suffix)."""
    return name.startswith(".") and name.endswith(COMPARE_SUFFIX)


def compare_journal_item(path: Path, verify: bool = False) -> Item:
    """A compare's journal: the runs it keeps and how to finish the compare (or that the
    compare is still running); ``verify``: each kept run read against its checksums, as a
    ``--resume`` would before reusing it."""
    out = path.parent / path.name[1 : -len(COMPARE_SUFFIX)]
    writer = holder(out)
    try:
        header, entries = read_index(path / INDEX)
        kept = [(e["scenario"], int(e["seed"]), e["config"]) for e in entries]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        if writer:  # (before its first run finished, the index may not be there yet)
            status = running_text(out, writer, "compare")
            return Item(str(path), "journal", False, status, config_error=_JOURNAL_EMPTY)
        return Item(
            str(path), "journal", False, f"unreadable — {exc}", config_error=_JOURNAL_UNREAD
        )
    leftover = False
    if not writer:
        meta = read_manifest(out) or {}
        leftover = meta.get("kind") == "compare" and meta.get(META_DIGEST) == file_digest(
            path / INDEX
        )
    item = _journal_item(path, "compare", out, header, kept, leftover, writer)
    if verify and not writer and not leftover:
        for e in entries:
            try:
                check_run(path / e["dir"], e["sha256"], e["files"])
            except (OSError, ValueError, KeyError, TypeError) as exc:
                item.status = (
                    f"damaged — a stopped compare into {out}: its kept run {e['dir']} is "
                    f"damaged ({exc}), so a --resume refuses it; delete {path} to start afresh"
                )
                break
    return item


def _journal_item(
    path: Path,
    study: str,
    out: Path,
    header: dict,
    kept: list[tuple[str, int, Any]],
    leftover: bool,
    writer: str | None = None,
) -> Item:
    """The item of a ``study``'s journal at ``path`` (publishing into ``out``) that keeps
    these runs (scenario, seed, config); ``leftover``: the study was published, and stopped
    before it deleted the journal; ``writer``: who holds ``out``'s lock (the study is still
    running), if anyone."""
    n = len(kept)
    differs = code_difference(header["code"])
    if writer:
        status = running_text(out, writer, study, n)
    elif leftover:
        status = (
            f"left by the {study} published in {out}, stopped as it was deleting it: the "
            f"next {study} into that folder deletes the runs the result has"
        )
    elif differs:
        status = (
            f"a stopped {study} into {out}, made by other code ({differs}): its {plural(n, 'run')} "
            "cannot be reused; delete it to start afresh"
        )
    else:
        status = (
            f"a stopped {study} into {out}: {plural(n, 'finished run')} kept; run "
            f"the same {study} command with --resume to run only the rest"
        )
    item = Item(str(path), "journal", False, status)
    item.scenarios = sorted({scenario for scenario, _, _ in kept})
    item.seeds = sorted({seed for _, seed, _ in kept})
    describe_configs(item, [config for _, _, config in kept], "the journal")
    code = header["code"]
    item.produced_by = f"admarket {code.get('admarket', '?')} (Mesa {code.get('mesa', '?')})"
    return item


def journal_of(item: Item, dest: Path) -> bool:
    """Whether ``item`` is the journal of a study into ``dest``."""
    path = Path(item.path)
    names = (f".{dest.name}{SUFFIX}", f".{dest.name}{COMPARE_SUFFIX}")
    return item.kind == "journal" and path.parent == dest.parent and path.name in names

"""What a folder holds: result folders (runs, comparisons, sweeps) and checkpoints.

``scan(folder)`` walks a folder and describes each item it finds — complete or not, what
kind, its scenarios and seeds, how its configuration differs from the defaults, and what
produced it (package and Mesa versions, when) — reading only the ``COMPLETE`` marker, the
store's ``runs`` table and checkpoint headers, never the results themselves. It is what
``admarket status DIR`` prints. The journal a stopped sweep or compare left beside its
folder (:mod:`.sweep_journal`, :mod:`.compare_journal`) is listed too, with how to resume
it: it sits in the folder that holds the study's folder, so that is the one to scan.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from admarket.config import MarketConfig
from admarket.errors import CheckpointError
from admarket.model.checkpoint import read_header
from admarket.outputs.compare_journal import INDEX, META_DIGEST, read_index
from admarket.outputs.compare_journal import SUFFIX as COMPARE_SUFFIX
from admarket.outputs.kept_run import file_digest
from admarket.outputs.manifest import COMPLETE_MARKER, STORE_NAME, read_manifest
from admarket.outputs.result_runs import INDEX as RUNS_INDEX
from admarket.outputs.result_runs import META_RUNS, RUNS_DIR
from admarket.outputs.run_identity import code_difference
from admarket.outputs.sweep_journal import SUFFIX, published_runs, read_journal, superseded

# Folders inside a result that hold its parts, never other results (not scanned).
OWNED_DIRS = ("charts", "logs", "content", RUNS_DIR)

_DEFAULTS = MarketConfig().to_dict()


@dataclass
class Item:
    """One thing found in a folder: a result folder or a checkpoint."""

    path: str
    kind: str  # run, compare, sweep, checkpoint, journal, or "unknown" (an unmarked folder)
    complete: bool
    status: str  # one line: complete / incomplete (why) / checkpoint at day d of n
    scenarios: list[str] = field(default_factory=list)
    seeds: list[int] = field(default_factory=list)
    config: dict[str, Any] = field(default_factory=dict)  # values that differ from defaults
    varies: list[str] = field(default_factory=list)  # parameters that differ between runs
    produced_by: str = ""
    detail: str = ""

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form."""
        return asdict(self)


def seed_text(seeds: list[int]) -> str:
    """``42–44`` for consecutive seeds, else a comma list (``1, 5, 9``)."""
    if not seeds:
        return "none"
    s = sorted(seeds)
    if len(s) > 2 and s == list(range(s[0], s[-1] + 1)):
        return f"{s[0]}–{s[-1]}"
    return ", ".join(map(str, s))


def config_diff(cfg: dict[str, Any]) -> dict[str, Any]:
    """The parameters of ``cfg`` (seed aside) that differ from the defaults."""
    out = {}
    for k, v in cfg.items():
        if k == "seed" or k not in _DEFAULTS:
            continue
        d = _DEFAULTS[k]
        if json.dumps(v, sort_keys=True) != json.dumps(d, sort_keys=True):
            out[k] = v
    return out


def _result(path: Path) -> Item:
    marker = path / COMPLETE_MARKER
    tmp = sorted(p.name for p in path.glob(".tmp-*"))
    if not marker.is_file():
        why = "no COMPLETE marker: the run failed, was interrupted or is still running"
        if tmp:
            why += f" ({len(tmp)} unfinished build folder(s): {', '.join(tmp[:3])})"
        return Item(str(path), "unknown", False, f"incomplete — {why}")
    try:
        meta = json.loads(marker.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        meta = {}
    kind = str(meta.get("kind", "unknown"))
    item = Item(str(path), kind, True, "complete")
    item.scenarios = list(meta.get("scenarios", []))
    item.seeds = [int(s) for s in meta.get("seeds", [])]
    db = path / STORE_NAME
    if not db.is_file():
        item.complete, item.status = (
            False,
            f"incomplete — marked complete but {STORE_NAME} is missing",
        )
        return item
    try:
        con = duckdb.connect(str(db), read_only=True)
        try:
            runs = con.execute(
                "SELECT scenario, seed, config, package_version, mesa_version, created_at FROM runs"
            ).fetchall()
        finally:
            con.close()
    except duckdb.Error as exc:
        item.complete, item.status = False, f"unreadable store: {str(exc).splitlines()[0]}"
        return item
    item.scenarios = item.scenarios or sorted({r[0] for r in runs})
    item.seeds = item.seeds or sorted({int(r[1]) for r in runs})
    _describe_configs(item, [json.loads(r[2]) for r in runs])
    versions = sorted({f"admarket {r[3]} (Mesa {r[4]})" for r in runs})
    dates = sorted(r[5] for r in runs if r[5])
    when = f", {dates[0]}" + (f" to {dates[-1]}" if dates[-1] != dates[0] else "") if dates else ""
    item.produced_by = f"`admarket {kind}` with {', '.join(versions)}{when}"
    n_runs = int(meta.get("runs", len(runs)))
    detail = f"{n_runs} run{'' if n_runs == 1 else 's'}"
    if kind == "sweep":
        detail += f", {meta.get('points', '?')} grid points over {', '.join(meta.get('grid', []))}"
    if kind == "compare" and meta.get(META_RUNS):
        detail += _kept_runs(path / RUNS_DIR / RUNS_INDEX)
    item.detail = detail
    return item


def _kept_runs(index: Path) -> str:
    """What a compare result's kept runs (``index``) are good for, as its detail's end."""
    try:
        header = json.loads(index.read_bytes().split(b"\n", 1)[0])
        differs = code_difference(header["code"], "in them")
    except (OSError, ValueError, KeyError, TypeError):
        return ", its kept runs unreadable"
    if differs:
        return f", its kept runs made by other code ({differs}): a --resume runs them again"
    return ", kept for --resume with more seeds"


def _checkpoint(path: Path) -> Item:
    try:
        head, _ = read_header(path)
    except CheckpointError as exc:
        return Item(str(path), "checkpoint", False, f"unreadable — {exc}")
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


def _describe_configs(item: Item, configs: list[dict[str, Any]]) -> None:
    """Set ``item``'s parameters that vary between its runs' configs, and those that differ
    from the defaults in all of them."""
    if configs:
        keys = sorted(set().union(*configs) - {"seed"})
        item.varies = [
            k for k in keys if len({json.dumps(c.get(k), sort_keys=True) for c in configs}) > 1
        ]
        item.config = {k: v for k, v in config_diff(configs[0]).items() if k not in item.varies}


def _journal(path: Path) -> Item:
    """A stopped sweep's journal: the runs it keeps and how to finish the sweep."""
    try:
        header, entries = read_journal(path)
        runs = [e["tables"]["runs"] for e in entries]
        rows = [dict(zip(r["columns"], r["values"], strict=True)) for r in runs]
        kept = [(str(r.get("scenario")), int(r["seed"]), json.loads(r["config"])) for r in rows]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        return Item(str(path), "journal", False, f"unreadable — {exc}")
    out = path.parent / path.name[1 : -len(SUFFIX)]
    leftover = superseded(path, published_runs(out)[0])
    return _journal_item(path, "sweep", out, header, kept, leftover)


def _is_compare_journal(name: str) -> bool:
    return name.startswith(".") and name.endswith(COMPARE_SUFFIX)


def _compare_journal(path: Path) -> Item:
    """A stopped compare's journal: the runs it keeps and how to finish the compare."""
    try:
        header, entries = read_index(path / INDEX)
        kept = [(e["scenario"], int(e["seed"]), e["config"]) for e in entries]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        return Item(str(path), "journal", False, f"unreadable — {exc}")
    out = path.parent / path.name[1 : -len(COMPARE_SUFFIX)]
    meta = read_manifest(out) or {}
    leftover = meta.get("kind") == "compare" and meta.get(META_DIGEST) == file_digest(path / INDEX)
    return _journal_item(path, "compare", out, header, kept, leftover)


def _journal_item(
    path: Path,
    study: str,
    out: Path,
    header: dict,
    kept: list[tuple[str, int, dict]],
    leftover: bool,
) -> Item:
    """The item of a stopped ``study``'s journal at ``path`` (publishing into ``out``) that
    keeps these runs (scenario, seed, config); ``leftover``: the study was published, and
    stopped before it deleted the journal."""
    n = len(kept)
    differs = code_difference(header["code"])
    if leftover:
        status = (
            f"left by the {study} published in {out}, stopped as it was deleting it: the "
            f"next {study} into that folder deletes the runs the result has"
        )
    elif differs:
        status = (
            f"a stopped {study} into {out}, made by other code ({differs}): its {n} runs "
            "cannot be reused; delete it to start afresh"
        )
    else:
        status = (
            f"a stopped {study} into {out}: {n} finished run{'' if n == 1 else 's'} kept; run "
            f"the same {study} command with --resume to run only the rest"
        )
    item = Item(str(path), "journal", False, status)
    item.scenarios = sorted({scenario for scenario, _, _ in kept})
    item.seeds = sorted({seed for _, seed, _ in kept})
    _describe_configs(item, [config for _, _, config in kept])
    code = header["code"]
    item.produced_by = f"admarket {code.get('admarket', '?')} (Mesa {code.get('mesa', '?')})"
    return item


def scan(folder: str | Path) -> list[Item]:
    """Every result folder and checkpoint under ``folder`` (itself included), by path."""
    root = Path(folder)
    items: list[Item] = []
    for here, dirs, files in os.walk(root):
        p = Path(here)
        is_result = (p / COMPLETE_MARKER).is_file() or (p / STORE_NAME).is_file()
        if is_result:
            items.append(_result(p))
            dirs[:] = [d for d in dirs if d not in OWNED_DIRS and not d.startswith(".")]
        else:
            items += [_compare_journal(p / d) for d in sorted(dirs) if _is_compare_journal(d)]
            dirs[:] = [d for d in dirs if not d.startswith(".")]
        items += [_checkpoint(p / f) for f in sorted(files) if f.endswith(".ckpt")]
        items += [
            _journal(p / f) for f in sorted(files) if f.startswith(".") and f.endswith(SUFFIX)
        ]
        dirs.sort()
    return sorted(items, key=lambda i: i.path)

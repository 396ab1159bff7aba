"""A result folder's item (:func:`result_item`): complete or damaged, and why
(:func:`damage`, optionally verifying every file's content against its checksum), its
scenarios, seeds and configuration read from the store's ``runs`` table, what produced it,
and whether an admarket process is writing into it now."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb

from admarket.errors import IncompleteRunError
from admarket.llm.roster import STOPPED_AT_BUDGET
from admarket.money import plural
from admarket.outputs.inventory.item import Item, describe_configs, running_text
from admarket.outputs.manifest import (
    COMPLETE_MARKER,
    STORE_NAME,
    check_complete,
    content_changes,
    foreign_entries,
    has_checksums,
    read_manifest,
    show_entries,
)
from admarket.outputs.output_lock import holder
from admarket.outputs.publish import REBUILT
from admarket.outputs.result_runs import INDEX as RUNS_INDEX
from admarket.outputs.result_runs import META_RUNS, RUNS_DIR
from admarket.outputs.run_identity import code_difference


def result_item(
    path: Path, verify: bool = False, on_read: Callable[[int], None] | None = None
) -> Item:
    """The result folder at ``path``: complete, damaged (why: :func:`damage`, with
    ``verify`` every file's content too, ``on_read`` told each chunk read) or incomplete;
    its scenarios, seeds and configuration, what produced it, and whether an admarket
    process is writing into it now."""
    marker = path / COMPLETE_MARKER
    writer = holder(path)
    tmp = sorted(p.name for p in path.glob(".tmp-*"))
    if not marker.is_file():
        if writer:
            return Item(str(path), "unknown", False, running_text(path, writer))
        why = "no COMPLETE marker: the run failed, was interrupted or is still running"
        if tmp:
            why += f" ({plural(len(tmp), 'unfinished build folder')}: {', '.join(tmp[:3])})"
        return Item(str(path), "unknown", False, f"incomplete — {why}")
    meta = _marker_meta(path)
    kind = str(meta.get("kind", "unknown"))
    item = Item(str(path), kind, True, "complete")
    with contextlib.suppress(TypeError, ValueError):
        item.scenarios = [str(s) for s in meta.get("scenarios", [])]
        item.seeds = [int(s) for s in meta.get("seeds", [])]
    why = damage(path, kind, verify, on_read)
    if why:
        item.complete, item.status = False, f"damaged — {why}"
    elif verify and not has_checksums(meta):
        by = f", by admarket {meta['package_version']}" if meta.get("package_version") else ""
        item.status += f" (content not verified: published without checksums{by})"
    elif verify:
        item.status += " (content verified: every file matches its checksum)"
    runs: list[tuple] = []
    if (path / STORE_NAME).is_file():  # (read-only, its runs table only, even if damaged)
        try:
            con = duckdb.connect(str(path / STORE_NAME), read_only=True)
            try:
                runs = con.execute(
                    "SELECT scenario, seed, config, package_version, mesa_version, created_at "
                    "FROM runs"
                ).fetchall()
                stopped = _stopped_at_budget(con)
            finally:
                con.close()
            configs = [json.loads(r[2]) for r in runs]
            if stopped and not why:
                item.status += (
                    f" (stopped at budget: {stopped}; its report says so, and every number in "
                    "it covers only the days run)"
                )
        except (duckdb.Error, ValueError, TypeError) as exc:
            text = str(exc).strip().splitlines()
            item.complete = False
            item.status = item.status if why else f"unreadable store: {text[0] if text else exc}"
            item.config_error = "its store cannot be read"
            runs, configs = [], []
        item.scenarios = item.scenarios or sorted({str(r[0]) for r in runs})
        item.seeds = item.seeds or sorted({int(r[1]) for r in runs})
        if not item.config_error:
            describe_configs(item, configs, "its store")
    else:
        item.config_error = f"no {STORE_NAME}"
    versions = sorted({f"admarket {r[3]} (Mesa {r[4]})" for r in runs}) or [
        f"admarket {meta.get('package_version', '?')}"
    ]
    dates = sorted(str(r[5]) for r in runs if r[5])
    when = f", {dates[0]}" + (f" to {dates[-1]}" if dates[-1] != dates[0] else "") if dates else ""
    item.produced_by = f"`admarket {kind}` with {', '.join(versions)}{when}"
    try:
        n_runs = int(meta.get("runs", len(runs)))
    except (TypeError, ValueError):
        n_runs = len(runs)
    detail = plural(n_runs, "run")
    if kind == "sweep":
        grid = meta.get("grid", [])
        detail += f", {meta.get('points', '?')} grid points over "
        detail += ", ".join(map(str, grid)) if isinstance(grid, list) else "?"
    if kind == "compare" and meta.get(META_RUNS) and item.complete:
        detail += _kept_runs(path / RUNS_DIR / RUNS_INDEX)
    item.detail = detail
    if writer:  # replacing it, or `admarket report` rewriting it: this one stays until then
        item.status += f" (an admarket process is writing a new result into it: {writer})"
    return item


def _stopped_at_budget(con: duckdb.DuckDBPyConnection) -> str:
    """Which runs of language-model agents stopped at their budget before their last day
    ("B seed 42 after day 1, ..."); "" when none did or the store has no such runs."""
    try:
        rows = con.execute(
            "SELECT scenario, seed, days_run FROM llm_runs WHERE status = ? "
            "ORDER BY scenario, seed",
            [STOPPED_AT_BUDGET],
        ).fetchall()
    except duckdb.Error:  # no llm_runs table: no language-model agents ran
        return ""
    return ", ".join(f"{s} seed {seed} after {plural(int(d), 'day')}" for s, seed, d in rows)


def _marker_meta(path: Path) -> dict[str, Any]:
    """What the COMPLETE marker says (its parse even when it is not admarket's: to describe
    the folder, never to trust it); {} when it is not a JSON object."""
    meta = read_manifest(path)
    if meta is None:
        try:
            meta = json.loads((path / COMPLETE_MARKER).read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError):
            meta = None
    return meta if isinstance(meta, dict) else {}


def damage(
    path: Path, kind: str = "", verify: bool = False, on_read: Callable[[int], None] | None = None
) -> str:
    """Why the result in ``path`` is damaged, as one line without the path; "" if it is not.

    Without ``verify``: why ``admarket query`` or ``admarket report`` refuses it — the check
    they apply (:func:`admarket.outputs.manifest.check_complete`: each listed file there
    with its size, a ``stat`` per file, no hashing), then files admarket did not write
    (which they and any new result into the folder refuse). With ``verify``, also every
    file's content against its checksum (:func:`admarket.outputs.manifest.content_changes`),
    which they do not check. A run's or compare's report alone missing or changed is said
    to be rebuilt by ``admarket report``.
    ``on_read(n)``: told the size of each chunk read to verify it.
    """
    try:
        try:
            manifest = check_complete(path)
        except IncompleteRunError as exc:
            why = str(exc).removeprefix(f"{path}: ")
            if kind in ("run", "compare"):
                with contextlib.suppress(IncompleteRunError):
                    check_complete(path, rebuilt=REBUILT)  # only the report is amiss
                    why = why.removesuffix("; run it again")
                    why += f"; `admarket report {path}` writes the report anew"
            return why
        foreign = foreign_entries(path)
    except OSError as exc:
        return f"cannot be read ({exc.strerror or exc})"
    if foreign:
        return (
            f"holds files admarket did not write ({show_entries(foreign)}); `admarket "
            "query`, `admarket report` and a new result into this folder refuse it until they "
            "are moved out"
        )
    if verify:
        try:
            changed = content_changes(path, manifest, on_read) or {}
        except OSError as exc:
            return f"cannot be read ({exc.strerror or exc})"
        if changed:
            rel, why = next(iter(changed.items()))
            more = f" (and {plural(len(changed) - 1, 'other file')})" if len(changed) > 1 else ""
            text = f"{rel} {why}{more}"
            if kind in ("run", "compare") and all(r.startswith(REBUILT) for r in changed):
                text += f"; `admarket report {path}` writes the report anew"
            return text
    return ""


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

"""What a folder holds: result folders (runs, comparisons, sweeps) and checkpoints.

``scan(folder)`` walks a folder and describes each item it finds — complete or not, what
kind, its scenarios and seeds, how its configuration differs from the defaults, and what
produced it (package and Mesa versions, when) — reading only the ``COMPLETE`` marker, the
store's ``runs`` table and checkpoint headers, never the results themselves. It is what
``admarket status DIR`` prints. The journal a stopped sweep or compare left beside its
folder (:mod:`.sweep_journal`, :mod:`.compare_journal`) is listed too, with how to resume
it: it sits in the folder that holds the study's folder, so that is the one to scan.

A result is complete only if ``admarket query`` and ``admarket report`` would take it: the
check they apply (:func:`.manifest.check_complete`: every file the marker lists is there
with its size, so one ``stat`` per file and no hashing), and no file admarket did not write
in it (which ``query``, ``report`` and a new result into the folder refuse). Otherwise it is
*damaged*, with their one-line reason.

A study or run still being written is told from a stopped one by who holds its output
lock (:func:`.output_lock.holder`, which reads the lock without taking it).

What a killed admarket process left is listed as a *leftover*, with what it is and whether
it is safe to delete: a build folder or a result moved aside beside a result's folder
(:data:`.publish.LEFTOVER`), and the copy of a ledger that ``run --ledger-out FILE`` staged
beside FILE (:data:`admarket.atomic.STAGED`; an empty one only beside a ledger) — only what
admarket's own naming and content show it made, and nothing a live process holds.
"""

from __future__ import annotations

import contextlib
import json
import os
import shlex
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from admarket.atomic import staged_target
from admarket.config import MarketConfig
from admarket.errors import CheckpointError, IncompleteRunError, LedgerFormatError
from admarket.ledger.file import header_and_trailer
from admarket.llm.roster import STOPPED_AT_BUDGET
from admarket.model.checkpoint import read_header
from admarket.money import plural
from admarket.outputs.compare_journal import INDEX, META_DIGEST, read_index
from admarket.outputs.compare_journal import SUFFIX as COMPARE_SUFFIX
from admarket.outputs.kept_run import check_run
from admarket.outputs.manifest import (
    COMPLETE_MARKER,
    STORE_NAME,
    check_complete,
    content_changes,
    file_digest,
    foreign_entries,
    has_checksums,
    read_manifest,
    show_entries,
)
from admarket.outputs.output_lock import flock_held, holder, locked_folder
from admarket.outputs.publish import LEFTOVER, REBUILT, made_by_admarket
from admarket.outputs.result_runs import INDEX as RUNS_INDEX
from admarket.outputs.result_runs import META_RUNS, RUNS_DIR
from admarket.outputs.run_identity import code_difference
from admarket.outputs.sweep_journal import SUFFIX, published_runs, read_journal, superseded

# Folders inside a result that hold its parts, never other results (not scanned).
OWNED_DIRS = ("charts", "logs", "content", RUNS_DIR)

_DEFAULTS = MarketConfig().to_dict()
# an item's config_error when the file holding its config cannot be read (status says why)
_CHECKPOINT_UNREAD = "the checkpoint cannot be read"
_JOURNAL_UNREAD = "the journal cannot be read"
_JOURNAL_EMPTY = "its journal holds no finished run yet"  # (while it runs, not damage)


@dataclass
class Item:
    """One thing found in a folder: a result folder or a checkpoint."""

    path: str
    # run, compare, sweep, checkpoint, journal, or "unknown" (an unmarked folder, or one an
    # admarket process is writing)
    kind: str
    complete: bool
    # one line: complete / damaged (why) / incomplete (why) / running / checkpoint at day d
    status: str
    scenarios: list[str] = field(default_factory=list)
    seeds: list[int] = field(default_factory=list)
    config: dict[str, Any] = field(default_factory=dict)  # values that differ from defaults
    # why its config could not be read ("" if it was): then ``config`` says nothing
    config_error: str = ""
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


def config_text(item: Item) -> str:
    """An item's configuration in one line, as ``admarket status`` prints it: ``defaults``,
    ``defaults except k=v, …``, or ``unknown (why)`` when it could not be read; "" for a
    folder that says nothing of a config (an unmarked folder, a leftover)."""
    if item.config_error:  # not "defaults": nothing was read to say so
        return f"unknown ({item.config_error})"
    if item.kind in ("unknown", "leftover") and not item.config:
        return ""
    cfg = ", ".join(f"{k}={json.dumps(v)}" for k, v in item.config.items())
    return f"defaults{' except ' + cfg if cfg else ''}"


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


def _result(path: Path, verify: bool = False, on_read: Callable[[int], None] | None = None) -> Item:
    marker = path / COMPLETE_MARKER
    writer = holder(path)
    tmp = sorted(p.name for p in path.glob(".tmp-*"))
    if not marker.is_file():
        if writer:
            return Item(str(path), "unknown", False, _running_text(path, writer))
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
            _describe_configs(item, configs, "its store")
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
    they apply (:func:`.manifest.check_complete`: each listed file there with its size, a
    ``stat`` per file, no hashing), then files admarket did not write (which they and any
    new result into the folder refuse). With ``verify``, also every file's content against
    its checksum (:func:`.manifest.content_changes`), which they do not check. A run's or
    compare's report alone missing or changed is said to be rebuilt by ``admarket report``.
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


def _checkpoint(path: Path) -> Item:
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


def _describe_configs(item: Item, configs: list[Any], where: str) -> None:
    """Set ``item``'s parameters that vary between its runs' configs, and those that differ
    from the defaults in all of them; or its ``config_error`` when ``where`` (the store or
    journal they come from) holds no run, or a config that is not a JSON object."""
    if not configs:  # (not "defaults": there is no config to compare with them)
        item.config_error = f"{where} holds no runs"
    elif not all(isinstance(c, dict) for c in configs):
        item.config_error = f"a run's config in {where} is not a JSON object"
    else:
        keys = sorted(set().union(*configs) - {"seed"})
        item.varies = [
            k for k in keys if len({json.dumps(c.get(k), sort_keys=True) for c in configs}) > 1
        ]
        item.config = {k: v for k, v in config_diff(configs[0]).items() if k not in item.varies}


def _journal(path: Path) -> Item:
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
            status = _running_text(out, writer, "sweep")
            return Item(str(path), "journal", False, status, config_error=_JOURNAL_EMPTY)
        return Item(
            str(path), "journal", False, f"unreadable — {exc}", config_error=_JOURNAL_UNREAD
        )
    leftover = not writer and superseded(path, published_runs(out)[0])
    return _journal_item(path, "sweep", out, header, kept, leftover, writer)


def _is_compare_journal(name: str) -> bool:
    return name.startswith(".") and name.endswith(COMPARE_SUFFIX)


def _compare_journal(path: Path, verify: bool = False) -> Item:
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
            status = _running_text(out, writer, "compare")
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
        status = _running_text(out, writer, study, n)
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
    _describe_configs(item, [config for _, _, config in kept], "the journal")
    code = header["code"]
    item.produced_by = f"admarket {code.get('admarket', '?')} (Mesa {code.get('mesa', '?')})"
    return item


def _leftover(path: Path) -> Item | None:
    """A build folder (``.DIR.tmp-…``) or a result moved aside (``.DIR.old-…``) that an
    admarket process stopped by a kill left beside DIR, or None (not one, or still in use):
    they hold a result's size on disk, and the next write into DIR deals with them."""
    m = LEFTOVER.fullmatch(path.name)
    try:
        # (an empty folder of that name may be anyone's: only claim one with admarket's files)
        if m is None or path.is_symlink() or not any(path.iterdir()):
            return None
        if not made_by_admarket(path):
            return None
        dest = path.parent / m["dest"]
        if holder(dest):  # a live writer is building or swapping it now
            return None
        files = [f for f in path.rglob("*") if f.is_file() and not f.is_symlink()]
        size = sum(f.stat().st_size for f in files)
        whole = (path / COMPLETE_MARKER).is_file()
    except OSError:  # a writer started and moved it meanwhile
        return None
    held = f"{size / 1e6:,.1f} MB"
    if m["what"] == "tmp" and whole:  # a swap by exchange leaves the previous result here
        status = (
            f"a previous result of {dest} ({held}), left by a swap that was killed; the next "
            f"result written into {dest} removes it, or delete it"
        )
    elif m["what"] == "tmp":
        status = (
            f"an unfinished build of {dest} ({held}), left by an admarket process that was "
            f"killed; the next result written into {dest} removes it, or delete it"
        )
    elif dest.exists():
        status = (
            f"the result {dest} held before its last rewrite ({held}), moved aside by a swap "
            f"that was killed; the next write into {dest} removes it, or delete it"
        )
    else:
        status = (
            f"the result of {dest} ({held}), moved aside by a swap that was killed before the "
            f"new one was in place; the next admarket write into {dest} puts it back"
        )
    return Item(str(path), "leftover", False, status)


def _staged_ledger(path: Path) -> Item | None:
    """A copy of a ledger that ``admarket run --ledger-out FILE`` staged beside FILE (named
    by :data:`admarket.atomic.STAGED`) and never put in place, its run killed while it saved
    the ledger or published its result; or None: not that name, not an admarket ledger (a
    file of that name may be anyone's: only one starting with a ledger header is claimed),
    or a live run holds it (``cli.run.finish`` keeps it flock'ed until it is in place).
    An empty one (the run was killed right after making it) holds no header to show whose
    it is: it is claimed only beside a ledger (FILE an admarket ledger). Nothing removes
    such a copy but a user: the status says the command."""
    target = staged_target(path)
    if target is None or path.is_symlink() or not path.is_file():
        return None
    try:
        if path.stat().st_size == 0:
            return _empty_staged_ledger(path, target)
        _, trailer = header_and_trailer(path)
        if flock_held(path):
            return None
        held = f"{path.stat().st_size / 1e6:,.1f} MB"
    except (LedgerFormatError, OSError):  # not a ledger, or gone meanwhile
        return None
    if trailer is None:
        status = (
            f"a partly written copy of the ledger {target} ({held}), left by an `admarket run "
            f"--ledger-out {target}` killed while it saved the ledger; {target} is as that "
            f"run found it — safe to delete: rm {shlex.quote(str(path))}"
        )
    else:
        entries = plural(trailer[0], "entry", "entries", grouped=True)
        status = (
            f"a staged copy of the ledger {target} ({held}, {entries}), "
            f"left by an `admarket run --ledger-out {target}` killed while it published its "
            f"result; {target} was not replaced by it — safe to delete, unless that result was "
            f"published after all: if `admarket verify-ledger {path} --store DIR` finds it "
            f"intact, it is DIR's ledger: move it to {target} instead"
        )
    return Item(str(path), "leftover", False, status)


def _empty_staged_ledger(path: Path, target: Path) -> Item | None:
    """The empty staged copy ``path`` of the ledger ``target``, a leftover; None unless
    ``target`` is an admarket ledger (an empty file of that name beside anything else may
    be anyone's) and no process holds ``path`` (a live run holds its copy from the moment
    it has its name: :func:`admarket.atomic.stage_beside`)."""
    try:
        header_and_trailer(target)
    except LedgerFormatError:  # (no file there, or not a ledger)
        return None
    if flock_held(path):
        return None
    status = (
        f"an empty staged copy of the ledger {target}, left by an `admarket run --ledger-out "
        f"{target}` killed right after it made it; it holds nothing, and {target} is as that "
        f"run found it — safe to delete: rm {shlex.quote(str(path))}"
    )
    return Item(str(path), "leftover", False, status)


def _running_text(out: Path, writer: str, study: str = "", n: int | None = None) -> str:
    """The status of the folder ``out`` that an admarket process (``writer``: its lock's
    text) is writing now — of its ``study``'s journal, keeping ``n`` finished runs, if
    given."""
    if not study:
        return (
            f"running — an admarket process is writing a result into it ({writer}); wait for "
            "it to finish"
        )
    done = "" if n is None else f": {plural(n, 'run')} finished so far"
    return (
        f"running — a {study} into {out} is still running ({writer}){done}; wait for it to "
        f"finish (a --resume, or anything else into {out}, is refused while it runs)"
    )


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
            items.append(_result(p, verify, on_read))
            dirs[:] = [d for d in dirs if d not in OWNED_DIRS and not d.startswith(".")]
        else:
            items += [
                _compare_journal(p / d, verify) for d in sorted(dirs) if _is_compare_journal(d)
            ]
            items += [i for d in sorted(dirs) if (i := _leftover(p / d)) is not None]
            dirs[:] = [d for d in dirs if not d.startswith(".")]
        items += [_checkpoint(p / f) for f in sorted(files) if f.endswith(".ckpt")]
        items += [i for f in sorted(files) if (i := _staged_ledger(p / f)) is not None]
        items += [
            _journal(p / f) for f in sorted(files) if f.startswith(".") and f.endswith(SUFFIX)
        ]
        locks += [d for f in files if (d := locked_folder(p / f)) is not None]
        dirs.sort()
    # a run (or a study without a journal) into a folder that is not there yet
    told = {Path(i.path) for i in items}
    for dest in locks:
        if dest in told or any(_journal_of(i, dest) for i in items):
            continue
        if writer := holder(dest):
            items.append(Item(str(dest), "unknown", False, _running_text(dest, writer)))
    return sorted(items, key=lambda i: i.path)


def _journal_of(item: Item, dest: Path) -> bool:
    """Whether ``item`` is the journal of a study into ``dest``."""
    path = Path(item.path)
    names = (f".{dest.name}{SUFFIX}", f".{dest.name}{COMPARE_SUFFIX}")
    return item.kind == "journal" and path.parent == dest.parent and path.name in names

"""What a killed admarket process left, as items with what each is and whether it is safe
to delete: a build folder or a result moved aside beside a result's folder
(:data:`admarket.outputs.publish.LEFTOVER`), and the copy of a ledger that ``run
--ledger-out FILE`` staged beside FILE (:data:`admarket.atomic.STAGED`; an empty one only beside a
ledger) — only what admarket's own naming and content show it made, and nothing a live
process holds."""

from __future__ import annotations

import shlex
from pathlib import Path

from admarket.atomic import staged_target
from admarket.errors import LedgerFormatError
from admarket.ledger.file import header_and_trailer
from admarket.money import plural
from admarket.outputs.inventory.item import Item
from admarket.outputs.manifest import COMPLETE_MARKER
from admarket.outputs.output_lock import flock_held, holder
from admarket.outputs.publish import LEFTOVER, made_by_admarket


def leftover_item(path: Path) -> Item | None:
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


def staged_ledger_item(path: Path) -> Item | None:
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

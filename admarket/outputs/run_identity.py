"""What identifies a finished run across studies, so that a stopped study can reuse it.

A run's result is a function of its scenario, seed and configuration — and of the code that
ran it. :func:`run_key` names the first three; :func:`code_identity` the last (a hash of
admarket's own files, with the versions of the libraries a run's numbers depend on). The
journals of stopped sweeps (:mod:`.sweep_journal`) and compares (:mod:`.compare_journal`)
reuse a run only when both match.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb

from admarket.version import result_versions

if TYPE_CHECKING:
    from admarket.batch.tasks import Task

# admarket's files that decide a run: its code, presets and queries (not caches)
_SOURCE_SUFFIXES = (".py", ".toml", ".sql", ".json")


@cache
def code_identity() -> dict[str, str]:
    """What, besides its scenario, seed and config, decides a run's result: the versions of
    the libraries it runs on (:func:`~admarket.version.result_versions`) and a SHA-256 of
    admarket's source files (any edit changes it)."""
    root = Path(__file__).resolve().parents[1]
    h = hashlib.sha256()
    for p in sorted(root.rglob("*")):
        if p.suffix in _SOURCE_SUFFIXES and p.is_file() and "__pycache__" not in p.parts:
            h.update(p.relative_to(root).as_posix().encode() + b"\0")
            h.update(p.read_bytes() + b"\0")
    # DuckDB too: a compare reads kept runs back from its store as DuckDB typed them
    return {**result_versions(), "duckdb": duckdb.__version__, "source": h.hexdigest()}


def code_difference(theirs: dict, there: str = "in the journal") -> str:
    """What differs between the code that wrote a journal and this one, e.g. ``numpy 2.1.0
    here, 2.0.2 in the journal``; empty if nothing does."""
    here = code_identity()
    diffs = [
        f"{k} {here.get(k)} here, {theirs.get(k)} {there}"
        if k != "source"
        else "admarket's source files differ"
        for k in sorted(set(here) | set(theirs))
        if here.get(k) != theirs.get(k)
    ]
    return "; ".join(diffs)


def run_key(task: Task) -> str:
    """What identifies a run across studies: scenario, seed, config (its own seed set to the
    run's, as the model sets it) and how far and what it collects."""
    kw = task.kwargs
    cfg = kw["config"] if kw.get("rng") is None else kw["config"].replace(seed=kw["rng"])
    ident = {
        "scenario": str(kw["design"]),
        "config": cfg.to_dict(),
        "max_steps": task.max_steps,
        "collect": task.collect,
    }
    text = json.dumps(ident, sort_keys=True, separators=(",", ":"), default=repr)
    return hashlib.sha256(text.encode()).hexdigest()


def header_line(fmt: str, version: int) -> str:
    """A journal's first line: its format and the code that makes its runs."""
    header = {"format": fmt, "version": version, "code": code_identity()}
    return json.dumps(header, sort_keys=True) + "\n"


def parse_journal(
    data: bytes, fmt: str, version: int, what: str, check: Callable[[dict], None]
) -> tuple[dict, list[dict]]:
    """A journal's header and its whole lines as JSON (a line cut short by a kill, after the
    last newline, left out), each passed to ``check`` (which raises ValueError, KeyError or
    TypeError for a line that is not a kept run). ValueError if the data is not a journal
    of format ``fmt`` (``what``: e.g. "sweep journal") and ``version``, or a line is not a
    kept run (naming the line)."""
    lines = data.split(b"\n")
    try:
        header = json.loads(lines[0])
    except ValueError:
        header = None
    if not isinstance(header, dict) or header.get("format") != fmt:
        raise ValueError(f"not an admarket {what}")
    if header.get("version") != version:
        raise ValueError(f"journal format version {header.get('version')!r}, not {version}")
    if not isinstance(header.get("code"), dict):
        raise ValueError("its header does not name the code that made its runs")
    entries = []
    for n, line in enumerate(lines[1:-1], start=2):
        try:
            entry = json.loads(line)
            check(entry)
        except (ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"line {n} is not a journalled run ({exc})") from None
        entries.append(entry)
    return header, entries

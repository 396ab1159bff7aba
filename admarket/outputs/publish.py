"""Publishing a result folder: the run store, event and narrative logs, and the report,
built in a private temporary folder and moved into place, marked COMPLETE last.

This is the one module that puts a run's outputs together; the store only stores, the
report only reads the store.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from admarket.outputs.narrative import write_logs
from admarket.outputs.store import (
    COMPLETE_MARKER,
    OWNED_DIRS,
    STORE_NAME,
    concat_tables,
    run_tables,
    to_json,
    write_tables,
)
from admarket.report import write_report

if TYPE_CHECKING:  # pragma: no cover
    from admarket.model import MarketModel


def publish(out_dir: str | Path, build: Callable[[Path], None], meta: Mapping[str, Any]) -> Path:
    """Build a result in a private temp dir, move it into ``out_dir``, then mark it COMPLETE.

    The old COMPLETE marker is removed before anything else changes and the new one is
    written only after every file is in place, so an exception or a kill at any point
    leaves a directory that readers refuse rather than a half-old, half-new result.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    marker = out / COMPLETE_MARKER
    marker.unlink(missing_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=out))
    try:
        build(tmp)
        for name in OWNED_DIRS:
            if (out / name).is_dir():
                shutil.rmtree(out / name)
        for src in sorted(p for p in tmp.rglob("*") if p.is_file()):
            dest = out / src.relative_to(tmp)
            dest.parent.mkdir(parents=True, exist_ok=True)
            os.replace(src, dest)
        marker.write_text(to_json({**meta, "store": STORE_NAME}) + "\n")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out


def write_results(
    per_run: list[dict[str, pd.DataFrame]],
    out_dir: str | Path,
    *,
    verbosity: str = "key",
    log_runs: str = "first",
    kind: str = "compare",
    attachments: Mapping[str, str] | None = None,
) -> Path:
    """Write runs' tables, logs and report to ``out_dir`` atomically; returns ``out_dir``.

    ``log_runs``: which runs get an event log and a narrative (``first`` seed of each
    scenario, ``all``, or ``none``); the store always holds every run's events.
    ``attachments``: more files of the result (name → text), e.g. the LLM recording.
    """
    tables = concat_tables(per_run)
    first_seed = min(int(r["runs"]["seed"].iloc[0]) for r in per_run) if per_run else None

    def build(tmp: Path) -> None:
        write_tables(tmp / STORE_NAME, tables)
        for r in per_run:
            seed = int(r["runs"]["seed"].iloc[0])
            if log_runs == "all" or (log_runs == "first" and seed == first_seed):
                write_logs(r, tmp / "logs", verbosity)
        write_report(tmp / STORE_NAME, tmp)
        for name, text in (attachments or {}).items():
            (tmp / name).write_text(text, encoding="utf-8")

    meta = {
        "kind": kind,
        "runs": len(per_run),
        "scenarios": sorted({str(r["runs"]["scenario"].iloc[0]) for r in per_run}),
        "seeds": sorted({int(r["runs"]["seed"].iloc[0]) for r in per_run}),
    }
    return publish(out_dir, build, meta)


def write_run(
    models: list[MarketModel],
    out_dir: str | Path,
    verbosity: str = "key",
    attachments: Mapping[str, str] | None = None,
) -> Path:
    """Store finished models (one seed, ``admarket run --out``) with logs and report."""
    per_run = [run_tables(m) for m in models]
    return write_results(
        per_run, out_dir, verbosity=verbosity, log_runs="all", kind="run", attachments=attachments
    )

"""Compare scenarios across seeds: A, B and C on each seed, in parallel, into one store.

Every seed runs all scenarios on the same market (common random numbers); runs go through
the ``batch_run``-compatible runner, then the store, logs and report are published
atomically to the output directory (``store.write_results``).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from admarket.batch.pool import batch_run
from admarket.config import ConfigError, MarketConfig
from admarket.model import MarketModel
from admarket.outputs.publish import write_results


def seed_list(n_seeds: int, seed_start: int) -> list[int]:
    """``n_seeds`` consecutive seeds from ``seed_start`` (a ConfigError if n < 1)."""
    if isinstance(n_seeds, bool) or not isinstance(n_seeds, int) or n_seeds < 1:
        raise ConfigError("seeds", n_seeds, "an integer >= 1")
    if isinstance(seed_start, bool) or not isinstance(seed_start, int) or seed_start < 0:
        raise ConfigError("seed-start", seed_start, "an integer >= 0")
    return list(range(seed_start, seed_start + n_seeds))


def compare(
    cfg: MarketConfig,
    seeds: list[int],
    scenarios: list[str] | tuple[str, ...] = ("A", "B", "C"),
    *,
    processes: int = 1,
    progress: bool = False,
    out: str | Path | None = None,
    verbosity: str = "key",
    logs: str = "first",
) -> pd.DataFrame:
    """Run every scenario on every seed; returns one summary row per run (seed, scenario order).

    With ``out``, writes the store, event/narrative logs (``logs``: first seed, all, none)
    and the report there; the directory is marked COMPLETE only when all of it is written.
    """
    results = batch_run(
        MarketModel,
        {"design": list(scenarios), "config": cfg},
        number_processes=processes,
        display_progress=progress,
        rng=seeds,
    )
    per_run = [r["tables"] for r in results]
    if out is not None:
        write_results(per_run, out, verbosity=verbosity, log_runs=logs, kind="compare")
    return pd.concat([t["summaries"] for t in per_run], ignore_index=True)

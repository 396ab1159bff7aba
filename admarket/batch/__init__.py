"""Batch studies: compare scenarios across seeds and sweep parameter grids.

``compare`` and ``sweep`` run many (scenario, seed[, grid point]) models through
``batch_run``, a Mesa-``batch_run``-compatible runner that returns whole runs from parallel
worker processes (see ``admarket.batch.pool`` for why Mesa's own one is not enough).
Names are imported lazily so the CLI's parser stays quick to build.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "batch_run": "admarket.batch.pool",
    "compare": "admarket.batch.comparison",
    "seed_list": "admarket.batch.comparison",
    "sweep": "admarket.batch.grid",
    "parse_grid": "admarket.batch.grid",
    "break_even": "admarket.batch.grid",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'admarket.batch' has no attribute {name!r}")

"""Batch studies: compare scenarios across seeds and sweep parameter grids.

``compare`` and ``sweep`` run many (scenario, seed[, grid point]) models through
``batch_run`` (:mod:`.pool`), a Mesa-``batch_run``-compatible runner that returns whole runs
from parallel worker processes (see its docstring for why Mesa's own one is not enough).
"""

from admarket.batch.comparison import compare, seed_list
from admarket.batch.grid import parse_grid, sweep
from admarket.batch.pool import batch_run
from admarket.report.break_even import break_even

__all__ = ["batch_run", "break_even", "compare", "parse_grid", "seed_list", "sweep"]

"""Runs of equal values in sorted arrays: where each run starts, and its value and length.

Several hot paths group a sorted array by its equal values — the exchange's bid dedupe and
bid spread, the pair counter's merge, filling supply group by group — and all of them start
from the same mask.
"""

from __future__ import annotations

import numpy as np


def first_of_runs(values: np.ndarray) -> np.ndarray:
    """True where an element of ``values`` (sorted, or at least grouped) differs from the
    one before it, and at the first element: the starts of its runs of equal values."""
    first = np.empty(values.size, dtype=bool)
    if values.size:
        first[0] = True
        np.not_equal(values[1:], values[:-1], out=first[1:])
    return first


def run_lengths(ascending: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct values of an ascending (or grouped) array, in order, and how often each
    occurs (``np.unique(..., return_counts=True)`` without its sort)."""
    starts = np.flatnonzero(first_of_runs(ascending))
    return ascending[starts], np.diff(starts, append=ascending.size)

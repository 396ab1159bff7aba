"""Filling ordered demand from limited supply, for many groups at once.

Both the exchange (lots to bidders in bid order) and the publishers' ad servers (avails to
deals in priority order) hand out a product's supply to a queue of claimants: the first
takes what it wants, the next takes from what is left, and so on. Given claimants already
sorted by group and then by priority, this is a cumulative sum per group.
"""

from __future__ import annotations

import numpy as np

from admarket.market.runs import first_of_runs


def fill_in_order(group: np.ndarray, demand: np.ndarray, supply: np.ndarray) -> np.ndarray:
    """Units each claimant receives; claimants sorted by ``group`` then priority.

    ``group`` indexes ``supply``. Claimant i of a group receives
    ``clip(supply[group] - demand of the claimants before it in its group, 0, demand[i])``.
    """
    if group.size == 0:
        return np.zeros(0, dtype=demand.dtype)
    new_group = first_of_runs(group)
    cum = np.cumsum(demand)
    # cumulative demand before each claimant's group starts, carried forward
    base = np.where(new_group, cum - demand, 0)
    np.maximum.accumulate(base, out=base)
    before = cum - demand - base
    return np.clip(supply[group] - before, 0, demand)

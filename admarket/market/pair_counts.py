"""Sparse per-(campaign, product) counters: lots delivered per pair.

A dense (campaign × product) int64 array is 2.4 GB at a 10x market (50,000 campaigns ×
~5,000 products) although only the pairs that traded are ever non-zero. :class:`PairCounts`
keeps (key, count) for those pairs only, key = campaign × n_products + product: additions
are appended and merged (summed, then added to or inserted into the sorted table) lazily,
so reads see exactly the dense array's non-zero cells in its row-major order. Large tables
are read a block of whole campaigns at a time, optionally with a per-pair memo that holds a
value derived from the count until the count changes (:meth:`PairCounts.memo_blocks`).
"""

from __future__ import annotations

from collections.abc import Hashable, Iterator

import numpy as np
from numpy.typing import ArrayLike

from admarket.market.runs import first_of_runs

# Pending additions before they are merged into the sorted table. The daily KPI read
# merges whatever is pending, so this bounds a day's additions: a 10x market's A adds ~9 M
# a day, merged once a day at this size (twice at 4 M, the table copied each time)
MERGE_EVERY = 1 << 24
BLOCK_PAIRS = 1 << 21  # pairs a block when the table is read a block at a time


class PairCounts:
    """Integer counts per (campaign, product), zero unless added to."""

    def __init__(self, n_campaigns: int, n_products: int):
        self.shape = (n_campaigns, n_products)
        self._keys = np.zeros(0, dtype=np.int64)  # sorted, unique
        self._counts = np.zeros(0, dtype=np.int64)
        self._pending: list[tuple[np.ndarray, np.ndarray]] = []
        self._n_pending = 0
        self._memo_key: Hashable = None  # whose memo (see memo_blocks), and the memo
        self._memo: np.ndarray | None = None
        self._version = 0  # changes whenever the table or the memo does (see _blocks)

    def __getstate__(self) -> dict:
        # a memo is derived from the counts: it is not saved (checkpoints), only rebuilt
        return {**self.__dict__, "_memo_key": None, "_memo": None}

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update({"_memo_key": None, "_memo": None, "_version": 0, **state})

    def __copy__(self) -> PairCounts:
        # a merge adds to the table in place: a copy must not share it with the original
        self._merge()
        out = PairCounts(*self.shape)
        out._keys, out._counts = self._keys.copy(), self._counts.copy()
        return out

    def add(self, campaign: ArrayLike, product: ArrayLike, count: ArrayLike) -> None:
        """Add ``count`` to each (``campaign``, ``product``) (arrays or scalars; repeats sum)."""
        c = np.atleast_1d(np.asarray(campaign, dtype=np.int64))
        p = np.atleast_1d(np.asarray(product, dtype=np.int64))
        n = np.broadcast_to(np.asarray(count, dtype=np.int64), c.shape)
        self._pending.append((c * self.shape[1] + p, n.copy()))
        self._n_pending += c.size
        if self._n_pending >= MERGE_EVERY:
            self._merge()

    def _merge(self) -> None:
        if not self._pending:
            return
        keys = np.concatenate([k for k, _ in self._pending])
        counts = np.concatenate([n for _, n in self._pending])
        self._pending, self._n_pending = [], 0
        if keys.size == 0:
            return
        keys, counts = _summed(keys, counts)
        self._version += 1
        # The additions are few beside the table (a day's pairs against a month's): they
        # are summed alone, then found in the table by binary search. Counts of pairs it
        # holds are added in place and the new pairs inserted in one pass, so the table
        # is copied once (sorting it with the additions took 5 arrays of its size: 1.5 GB
        # at a 10x market's 32 M pairs, every merge). Same keys, same sums.
        at = np.searchsorted(self._keys, keys)
        held = at < self._keys.size
        held[held] = self._keys[at[held]] == keys[held]
        self._counts[at[held]] += counts[held]
        if self._memo is not None:
            self._memo[at[held]] = np.nan  # their counts changed
        new = ~held
        if new.any():
            # np.insert's result, built once for all three arrays: the new pairs' places
            # in the merged table are their insertion points shifted by the new pairs
            # before them (the points ascend with the sorted keys), and the old entries
            # fill the rest. np.insert finds the same places per array by a sort of the
            # points and a mask of its own: a third of a 10x market's merge time
            place = at[new] + np.arange(int(new.sum()))
            old = np.ones(self._keys.size + place.size, dtype=bool)
            old[place] = False
            # one table array copied at a time: the old one goes before the next
            self._keys = _inserted(self._keys, old, place, keys[new])
            self._counts = _inserted(self._counts, old, place, counts[new])
            if self._memo is not None:
                self._memo = _inserted(self._memo, old, place, np.nan)

    def nonzero(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(campaign, product, count) of every non-zero pair, in row-major order — the
        order ``np.nonzero`` gives on the dense array."""
        self._merge()
        on = self._counts != 0
        keys = self._keys[on]
        return keys // self.shape[1], keys % self.shape[1], self._counts[on]

    def nonzero_blocks(
        self, max_pairs: int | None = None
    ) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """:meth:`nonzero` in consecutive blocks of about ``max_pairs`` pairs that hold
        whole campaigns (a campaign with more pairs is a block of its own): stacked, the
        blocks are it. A per-campaign sum taken block by block adds each campaign's pairs
        in the order one sum over all of them does, so it is the same to the last bit —
        and a reader holds one block's arrays at a time, not the whole table's.
        ``max_pairs``: default :data:`BLOCK_PAIRS`."""
        self._merge()
        keys, n_p = self._keys, self.shape[1]
        for start, end in self._blocks(max_pairs):
            counts = self._counts[start:end]
            on = counts != 0
            block = keys[start:end][on]
            yield block // n_p, block % n_p, counts[on]

    def memo_blocks(
        self, key: Hashable, max_pairs: int | None = None
    ) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
        """The table's blocks as in :meth:`nonzero_blocks` (zero counts included), each
        with its pairs' *memo*: a writable float per pair that the reader keeps there, NaN
        until it is set and again whenever the pair's count changes. A value derived from
        a pair's count alone is then computed once per change of the count, not at every
        read (A's daily KPI reads ~32 M pairs at a 10x market, a few million changed).

        ``key`` names what the memo holds and everything it depends on beyond the pair
        and its count; a read with another key starts a new memo. Memos are not pickled.
        """
        self._merge()
        if self._memo is None or self._memo_key != key:
            self._memo_key, self._memo = key, np.full(self._keys.size, np.nan)
            self._version += 1
        n_p = self.shape[1]
        for start, end in self._blocks(max_pairs):
            block = self._keys[start:end]
            yield block // n_p, block % n_p, self._counts[start:end], self._memo[start:end]

    def _blocks(self, max_pairs: int | None) -> Iterator[tuple[int, int]]:
        """(start, end) of consecutive slices of the merged table, each of whole campaigns
        and, unless a campaign alone is larger, at most ``max_pairs`` pairs. A reader that
        changes the table (an addition that merges) or the memo (a read with another key)
        before it has read every block gets a RuntimeError, not blocks that mix the two
        tables, as a dict changed during iteration does."""
        max_pairs = BLOCK_PAIRS if max_pairs is None else max_pairs
        if max_pairs < 1:
            raise ValueError(f"max_pairs={max_pairs}: must be at least 1")
        self._merge()
        keys, n_p, version = self._keys, self.shape[1], self._version
        start = 0
        while start < keys.size:
            end = start + max_pairs
            if end < keys.size:  # cut before the campaign the block would split
                c = int(keys[end]) // n_p
                cut = int(np.searchsorted(keys, c * n_p))
                end = cut if cut > start else int(np.searchsorted(keys, (c + 1) * n_p))
            else:
                end = keys.size
            yield start, end
            if self._version != version:
                raise RuntimeError("the pair counts changed while they were read in blocks")
            start = end

    def per_product(self) -> np.ndarray:
        """Total count per product (the dense array's ``sum(axis=0)``)."""
        _, p, n = self.nonzero()
        return np.bincount(p, weights=n, minlength=self.shape[1]).astype(np.int64)

    def per_campaign(self) -> np.ndarray:
        """Total count per campaign (the dense array's ``sum(axis=1)``)."""
        c, _, n = self.nonzero()
        return np.bincount(c, weights=n, minlength=self.shape[0]).astype(np.int64)

    def scaled(self, factor: int) -> PairCounts:
        """A copy with every count multiplied by ``factor``."""
        c, p, n = self.nonzero()
        out = PairCounts(*self.shape)
        out.add(c, p, n * factor)
        return out

    def dense(self) -> np.ndarray:
        """The (campaign × product) array (for small markets and tests)."""
        out = np.zeros(self.shape, dtype=np.int64)
        c, p, n = self.nonzero()
        out[c, p] = n
        return out


def _inserted(
    table: np.ndarray, old: np.ndarray, place: np.ndarray, values: ArrayLike
) -> np.ndarray:
    """``table`` with ``values`` inserted so that they land at ``place`` (ascending) of the
    result; ``old`` marks the result's other entries, where the table's go in order."""
    out = np.empty(old.size, dtype=table.dtype)
    out[place] = values
    out[old] = table
    return out


def _summed(keys: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct ``keys`` in order, each with its ``counts`` summed."""
    # A's additions are sorted runs (one hour's unique pairs at a time), which a stable
    # sort (timsort) merges in about a third of the time np.unique's sort takes
    order = np.argsort(keys, kind="stable")
    keys = keys[order]
    starts = np.flatnonzero(first_of_runs(keys))
    return keys[starts], np.add.reduceat(counts[order], starts)

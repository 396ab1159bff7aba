"""Sparse (campaign, product) eligibility equals its dense definition; per-pair delivery
counts equal a dense array; block size never changes a market."""

from __future__ import annotations

import copy
import pickle

import numpy as np
import pytest

from admarket.config import CHANNELS, MarketConfig
from admarket.market import eligibility
from admarket.market.generation import _draw_campaigns, _draw_products, generate_market
from admarket.market.pair_counts import PairCounts
from admarket.streams import MARKET, stream

SIZES = [(5, 5, 10), (37, 23, 3), (100, 50, 10), (1, 1, 1)]


def _dense(mk) -> tuple[np.ndarray, np.ndarray]:
    """Eligibility and coverage from the definition, cell by cell with Python integers."""
    n_c, n_p = mk.n_campaigns, mk.n_products
    eligible, coverage = np.zeros((n_c, n_p), bool), np.zeros((n_c, n_p))
    for c in range(n_c):
        seg = int(mk.segments[c])
        for p in range(n_p):
            covered = (seg & int(mk.seller_segments[mk.product_seller[p]])).bit_count()
            coverage[c, p] = covered / seg.bit_count()
            chan = (int(mk.channels[c]) >> int(mk.product_channel[p])) & 1
            eligible[c, p] = bool(chan) and coverage[c, p] >= 0.5
    return eligible, coverage


@pytest.mark.parametrize("seed", [0, 3])
@pytest.mark.parametrize("size", SIZES)
def test_sparse_pairs_equal_the_dense_definition(seed, size):
    nb, ns, cpb = size
    mk = generate_market(
        MarketConfig().replace(n_buyers=nb, n_sellers=ns, campaigns_per_buyer=cpb, seed=seed)
    )
    eligible, coverage = _dense(mk)
    c, p = np.nonzero(eligible)  # row-major: sorted by campaign, then product
    assert np.array_equal(mk.pair_c, c) and np.array_equal(mk.pair_p, p)
    assert mk.pair_offsets[0] == 0 and mk.pair_offsets[-1] == c.size
    for k in range(mk.n_campaigns):
        assert np.array_equal(mk.eligible_products(k), np.nonzero(eligible[k])[0])
    assert np.array_equal(mk.pair_coverage(), coverage[c, p])  # bit for bit
    assert 0 < c.size < eligible.size or mk.n_campaigns == 1
    assert mk.channels.max() < 2 ** len(CHANNELS)


@pytest.mark.parametrize("size", [(37, 23, 3), (100, 50, 10), (33, 40, 7)])
def test_block_size_never_changes_the_supply_statistics(size):
    nb, ns, cpb = size
    cfg = MarketConfig().replace(n_buyers=nb, n_sellers=ns, campaigns_per_buyer=cpb)
    rng = stream(cfg.seed, MARKET)
    products = _draw_products(rng, cfg)
    rng.random()  # (buyers' draws do not matter here)
    draws = _draw_campaigns(rng, cfg)
    whole = eligibility.supply_stats(draws, products)
    # the statistics equal the dense computation over the full (campaign × product) array
    dense = eligibility.eligible_block(draws, products, 0, cfg.n_campaigns)
    weight = dense * products["daily_avails"][None, :].astype(float)
    per_product = eligibility.benchmark_table()[products["product_channel"]]
    median = eligibility._weighted_median(products["clearing_cpm"], weight)
    assert np.array_equal(whole.median_cpm, median, equal_nan=True)
    assert np.array_equal(whole.supply_rates, weight @ per_product)
    assert np.array_equal(whole.supply_total, weight.sum(axis=1))
    assert np.array_equal(whole.pair_p, np.nonzero(dense)[1])
    assert len(eligibility.campaign_blocks(cfg.n_campaigns, len(products["product_seller"]))) == 1
    n_p = len(products["product_seller"])
    for cells in (1, 97 * n_p, 32 * n_p + 5, 1000 * n_p):  # 16, 96, 32 and 1000 rows
        parts = eligibility.supply_stats(draws, products, cells=cells)
        for field in whole.__dataclass_fields__:
            a, b = getattr(whole, field), getattr(parts, field)
            assert np.array_equal(a, b, equal_nan=a.dtype.kind == "f"), (cells, field)


@pytest.mark.parametrize("read_every", [1, 4, 30])
def test_pair_counts_equal_a_dense_array(read_every):
    """Counts added in any order, merged at any point (each read merges what is pending
    into the table), equal the dense array's."""
    rng = np.random.default_rng(5)
    dense = np.zeros((40, 17), dtype=np.int64)
    counts = PairCounts(40, 17)
    assert all(a.size == 0 for a in counts.nonzero())  # an empty table, merged
    for i in range(30):
        if i % read_every == 0:
            c, p = np.nonzero(dense)
            got = counts.nonzero()
            assert np.array_equal(got[0], c) and np.array_equal(got[1], p)
            assert np.array_equal(got[2], dense[c, p])
        n = int(rng.integers(0, 50))
        c, p = rng.integers(0, 40, n), rng.integers(0, 17, n)
        lots = rng.integers(1, 9, n)
        np.add.at(dense, (c, p), lots)
        counts.add(c, p, lots)
        if n:
            counts.add(int(c[0]), int(p[0]), 2)  # a scalar addition, as settlement makes
            dense[c[0], p[0]] += 2
    c, p = np.nonzero(dense)
    got = counts.nonzero()
    assert np.array_equal(got[0], c) and np.array_equal(got[1], p)
    assert np.array_equal(got[2], dense[c, p])
    assert np.array_equal(counts.per_product(), dense.sum(axis=0))
    assert np.array_equal(counts.per_campaign(), dense.sum(axis=1))
    assert np.array_equal(counts.scaled(3).dense(), dense * 3)


@pytest.mark.parametrize("max_pairs", [1, 3, 10, 10_000])
def test_pair_count_blocks_hold_whole_campaigns_and_stack_to_the_table(max_pairs):
    """Read a block at a time, the table is the same pairs in the same order, each block
    holds whole campaigns and, but for a campaign larger than a block, at most
    ``max_pairs`` pairs; additions still pending are merged first."""
    rng = np.random.default_rng(8)
    counts = PairCounts(30, 11)
    counts.add(rng.integers(0, 30, 200), rng.integers(0, 11, 200), rng.integers(1, 5, 200))
    counts.add([3, 3, 29], [0, 10, 10], [0, 0, 0])  # zero counts are not pairs
    counts.add(np.full(11, 5), np.arange(11), 1)  # campaign 5 in every product
    blocks = list(counts.nonzero_blocks(max_pairs))
    whole = counts.nonzero()
    stacked = [np.concatenate([b[i] for b in blocks]) for i in range(3)]
    for got, want in zip(stacked, whole, strict=True):
        assert np.array_equal(got, want)
    seen: set[int] = set()
    for c, _, _ in blocks:
        assert not seen & set(c.tolist())  # no campaign split over two blocks
        seen |= set(c.tolist())
        assert c.size <= max_pairs or np.unique(c).size == 1
    with pytest.raises(ValueError, match="max_pairs=0"):
        next(counts.nonzero_blocks(0))


def test_pair_count_merge_adds_to_held_pairs_and_inserts_new_ones():
    """A merge adds to the pairs the table holds and inserts the rest in order, at either
    end of the table and between its keys, with repeats in the additions summed."""
    counts = PairCounts(10, 10)
    counts.add([2, 5, 7], [2, 5, 7], [1, 1, 1])
    counts.nonzero()
    counts.add([0, 5, 5, 6, 9, 2], [0, 5, 5, 0, 9, 2], [4, 2, 3, 1, 1, 10])
    c, p, n = counts.nonzero()
    assert (c * 10 + p).tolist() == [0, 22, 55, 60, 77, 99]
    assert n.tolist() == [4, 11, 6, 1, 1, 1]


def test_pair_count_memo_holds_until_its_pair_changes():
    """A memo set on a pair stays until that pair's count changes (then it is NaN again);
    a new pair starts as NaN; another key starts a new memo; a pickle carries no memo."""
    counts = PairCounts(6, 4)
    counts.add([1, 2, 4], [0, 3, 1], [5, 5, 5])

    def memo(key):
        blocks = list(counts.memo_blocks(key, max_pairs=2))
        return blocks, np.concatenate([b[3] for b in blocks])

    blocks, first = memo("k")
    assert np.isnan(first).all() and first.size == 3
    for c, p, n, m in blocks:
        m[:] = c * 10 + p + n / 100  # kept in the table: the blocks are views
    counts.add([2, 0], [3, 2], [1, 1])  # pair (2, 3) changes; (0, 2) is new
    _, again = memo("k")
    assert again[[1, 3]].tolist() == [10.05, 41.05]  # pairs (1, 0) and (4, 1)
    assert np.isnan(again[[0, 2]]).all()  # the new pair (0, 2), the changed (2, 3)
    assert np.isnan(memo("other")[1]).all()
    restored = pickle.loads(pickle.dumps(counts))
    assert restored._memo is None and np.isnan(memo_of(restored, "other")).all()


def memo_of(counts: PairCounts, key) -> np.ndarray:
    return np.concatenate([b[3] for b in counts.memo_blocks(key)])


def test_pair_counts_changed_mid_read_raise_and_copies_are_independent():
    """A read in blocks stops with an error if the table changes under it (an addition
    that merges) or the memo does (a read with another key), rather than mixing the two;
    a copy keeps its own table although merges add in place."""
    counts = PairCounts(6, 4)
    counts.add([0, 1, 2, 3], [0, 1, 2, 3], 1)
    blocks = counts.nonzero_blocks(max_pairs=1)
    next(blocks)
    counts.add(0, 3, 5)
    counts.nonzero()  # merges: the table changes
    with pytest.raises(RuntimeError, match="changed while"):
        next(blocks)
    memo = counts.memo_blocks("k1", max_pairs=1)
    next(memo)
    next(counts.memo_blocks("k2", max_pairs=1))  # another reader's memo replaces it
    with pytest.raises(RuntimeError, match="changed while"):
        next(memo)
    twin = copy.copy(counts)
    counts.add(1, 1, 10)
    assert counts.nonzero()[2].tolist() == [1, 5, 11, 1, 1]
    assert twin.nonzero()[2].tolist() == [1, 5, 1, 1, 1]

"""Sparse (campaign, product) eligibility equals its dense definition; per-pair delivery
counts equal a dense array; block size never changes a market."""

from __future__ import annotations

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

"""Scenario A's exchange: where campaigns send their bids (the fast paths equal the plain ones)."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from admarket import MarketModel
from admarket.agents import exchange as exchange_module
from admarket.market.runs import first_of_runs, run_lengths
from admarket.market.start_index import StartIndex


def _starts(shares: list[list[int]]) -> tuple[np.ndarray, np.ndarray]:
    """Pair starts as the exchange builds them (c + the share before each pair) for
    campaigns whose products have the given sizes, and the offsets. A size of 0 makes a
    tie; after one, cumsum − size can round one ulp *below* the tie, and a last product of
    size 0 can start an ulp above c + 1, so ties are made exact (a running maximum) and
    starts kept to [c, c + 1], as the index requires. The exchange never needs either:
    every product declares at least one lot a day, so its starts strictly increase and a
    campaign's last start is below c + 1."""
    offsets = np.zeros(len(shares) + 1, dtype=np.int64)
    np.cumsum([len(s) for s in shares], out=offsets[1:])
    parts = []
    for c, sizes in enumerate(shares):
        size = np.array(sizes, dtype=float)
        size /= max(size.sum(), 1.0)
        parts.append(np.minimum(np.maximum.accumulate(c + (np.cumsum(size) - size)), c + 1))
    return np.concatenate([np.zeros(0), *parts]), offsets


def _searched(starts, offsets, draws, camp):
    """The plain answer: one binary search over every start, clipped to the campaign."""
    pos = np.searchsorted(starts, draws, "right") - 1
    return np.clip(pos, offsets[camp], offsets[camp + 1] - 1)


@settings(max_examples=300, deadline=None)
@example([[1, 0, 2, 8]], [(0, 1, 0.75)], 1)  # a draw at a tie after a zero size (see _starts)
@given(
    st.lists(st.lists(st.integers(0, 9), max_size=40), min_size=1, max_size=12),
    st.lists(st.tuples(st.integers(0, 11), st.integers(0, 4), st.floats(0, 1)), max_size=60),
    st.integers(1, 40),
)
def test_start_index_finds_what_one_binary_search_per_draw_finds(shares, picks, block):
    """The bucketed search gives the binary search's pair for every draw: at random points,
    exactly at a start (ties of zero-sized products included), at c and at c + 1 (a draw
    rounded up), for campaigns of any size and none, whatever the build's block size."""
    starts, offsets = _starts(shares)
    index = StartIndex(starts, offsets, exchange_module._campaign_blocks(offsets, 0, len(shares)))
    has = np.flatnonzero(np.diff(offsets) > 0)
    if has.size == 0:
        return
    camp, draws = [], []
    for c, how, u in picks:
        c = int(has[c % has.size])
        lo, hi = offsets[c], offsets[c + 1]
        at = starts[lo + int(u * (hi - lo - 1))]
        draws.append([c + u, at, float(c), float(c + 1), np.nextafter(at, c + 1)][how])
        camp.append(c)
    camp, draws = np.array(camp, dtype=np.int64), np.array(draws)
    want = _searched(starts, offsets, draws, camp)
    assert index.last_at_or_below(draws, camp).tolist() == want.tolist()
    order = np.lexsort((draws, camp))  # sorted, as the exchange reads it: the same
    got = index.last_at_or_below(draws[order], camp[order])
    assert got.tolist() == want[order].tolist()
    rebuilt = StartIndex(starts, offsets, iter([(0, len(shares))]))  # one block
    assert rebuilt.table.tobytes() == index.table.tobytes()


@pytest.mark.parametrize("bad", [[0.0, 0.5, 0.4], [0.0, 0.25, 0.5, np.nextafter(0.5, 0)]])
def test_start_index_refuses_starts_that_go_down(bad):
    """The buckets answer as the binary search does only over ascending starts: a start
    below the one before it (by any amount, an ulp included) is refused, naming it, rather
    than looked up wrong. NaN is refused the same way."""
    starts, offsets = np.array(bad), np.array([0, len(bad)])
    with pytest.raises(ValueError, match=rf"starts\[{len(bad) - 1}\] = .* is below"):
        StartIndex(starts, offsets, iter([(0, 1)]))
    with pytest.raises(ValueError, match=r"starts\[1\] = nan is below \(or not comparable"):
        StartIndex(np.array([0.0, np.nan]), np.array([0, 2]), iter([(0, 1)]))


def test_start_index_table_counts_the_starts_in_earlier_buckets():
    """Entry j of a campaign is how many of its starts lie in its buckets 0 .. j - 1, with
    K_c the power of two at or above its pair count (1 for a campaign without pairs)."""
    starts, offsets = _starts([[1, 1, 1, 1, 1], [], [6, 0, 0, 2]])
    index = StartIndex(starts, offsets, iter([(0, 3)]))
    assert index.n_buckets.tolist() == [8, 1, 4]
    # campaign 0: starts 0, .2, .4, .6, .8 → buckets 0, 1, 3, 4, 6 of 8
    # campaign 2: starts 0, .75, .75, .75 → buckets 0, 3, 3, 3 of 4
    want = [[0, 1, 2, 2, 3, 4, 4, 5, 5], [0, 0], [0, 1, 1, 1, 4]]  # campaigns 0, 1, 2
    assert index.table.tolist() == [x for entries in want for x in entries]
    assert index.table.dtype == np.uint8


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(0, 12), min_size=1, max_size=60))
def test_runs_of_an_ascending_array_are_its_values_and_counts(values):
    values_, counts = run_lengths(np.sort(np.array(values)))
    want = np.unique(values, return_counts=True)
    assert values_.tolist() == want[0].tolist() and counts.tolist() == want[1].tolist()


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(0, 5), max_size=30))
def test_first_of_runs_marks_where_each_run_of_equal_values_starts(values):
    a = np.sort(np.array(values, dtype=np.int64))
    starts = np.unique(a, return_index=True)[1]
    assert np.flatnonzero(first_of_runs(a)).tolist() == starts.tolist()


class _Draws:
    """Stands in for the bid-spread stream: fixed uniforms, including the extremes."""

    def __init__(self, u: np.ndarray):
        self.u = u

    def random(self, n: int) -> np.ndarray:
        return np.resize(self.u, n)


def _reference_spread(ex, sel, lots, u):
    """The plain version: one binary search per draw, in draw order."""
    camp = np.repeat(sel, lots)
    pos = np.searchsorted(ex.pair_start, camp + u[: camp.size], "right")
    pos = np.clip(pos - 1, ex.offsets[camp], ex.offsets[camp + 1] - 1)
    demand = np.bincount(pos, minlength=ex.pair_c.size)
    return np.flatnonzero(demand), demand[np.flatnonzero(demand)]


def _one_pass_starts(mk) -> np.ndarray:
    """The pair starts in one pass over every pair (what the blocks must give)."""
    size = mk.daily_avails[mk.pair_p].astype(float)
    total = np.bincount(mk.pair_c, weights=size, minlength=mk.n_campaigns)
    size /= np.maximum(total[mk.pair_c], 1.0)
    before = np.cumsum(size) - size
    first = np.minimum(mk.pair_offsets[:-1], mk.pair_c.size - 1)
    return before - before[first][mk.pair_c] + mk.pair_c


@pytest.mark.parametrize("block", [exchange_module.PAIR_BLOCK, 50, 7, 1])
def test_pair_starts_built_block_by_block_are_the_one_pass_values(monkeypatch, block):
    """Each campaign's share starts, built a block of whole campaigns at a time with the
    running sum carried over, are the one-pass values to the last bit (campaigns without
    pairs included: the market below has some)."""
    monkeypatch.setattr(exchange_module, "PAIR_BLOCK", block)
    m = MarketModel("A", n_buyers=6, n_sellers=3, campaigns_per_buyer=6, seed=4)
    mk = m.market
    assert (np.diff(mk.pair_offsets) == 0).any() and mk.pair_c.size > 60
    want = _one_pass_starts(mk)
    assert m.exchange.pair_start.tobytes() == want.tobytes()


@pytest.mark.parametrize("block", [exchange_module.PAIR_BLOCK, 50, 1])
def test_bids_computed_for_the_pairs_bid_on_are_the_stored_values(monkeypatch, block):
    """Bids are computed for the pairs bid on rather than stored for all: the same values
    as one pass over every pair, and each campaign's highest bid (what caps its lots) is
    their maximum (0 for a campaign without pairs), whatever the block size."""
    monkeypatch.setattr(exchange_module, "PAIR_BLOCK", block)
    m = MarketModel("A", n_buyers=6, n_sellers=3, campaigns_per_buyer=6, seed=4)
    mk, ex = m.market, m.exchange
    every = mk.max_cpm[mk.pair_c] * (0.7 + 0.3 * mk.pair_coverage())
    some = np.random.default_rng(1).integers(0, mk.pair_c.size, 40)
    assert ex._bids_of(mk, mk.pair_c, mk.pair_p).tobytes() == every.tobytes()
    assert ex._bids_of(mk, mk.pair_c[some], mk.pair_p[some]).tobytes() == every[some].tobytes()
    highest = np.zeros(mk.n_campaigns)
    np.maximum.at(highest, mk.pair_c, every)
    assert ex._max_bids(mk).tobytes() == highest.tobytes()
    assert (~ex.has_pairs).any()  # campaigns without pairs are among them (they read 0)


@pytest.mark.parametrize("block", [exchange_module.PAIR_BLOCK, 7, 1])
def test_sorted_indexed_spread_equals_one_binary_search_per_draw(monkeypatch, block):
    """Same pairs, same counts, whatever the block size the index is built in — also for
    draws of exactly 0 and of the largest u below 1, which c + u rounds up to c + 1 (the
    next campaign's start); and after a pickle, which drops the index to rebuild it."""
    monkeypatch.setattr(exchange_module, "PAIR_BLOCK", block)
    m = MarketModel("A", n_buyers=4, n_sellers=3, campaigns_per_buyer=5, seed=11)
    ex = m.exchange
    rng = np.random.default_rng(5)
    for trial in range(20):
        sel = np.flatnonzero(ex.has_pairs & (rng.random(ex.has_pairs.size) < 0.8))
        if sel.size == 0:
            continue
        lots = rng.integers(1, 9, sel.size)
        u = rng.random(int(lots.sum()))
        if trial % 2:
            u[rng.random(u.size) < 0.3] = np.nextafter(1.0, 0.0)
            u[rng.random(u.size) < 0.2] = 0.0
        if trial == 10:  # a checkpoint: the index is dropped and rebuilt on first use
            built = ex._start_index().table
            ex = pickle.loads(pickle.dumps(ex))
            assert ex.__dict__["_starts_index"] is None
            assert ex._start_index().table.tobytes() == built.tobytes()
        ex._spread_rng = _Draws(u)
        got_idx, got_n = ex._spread(sel, lots)
        want_idx, want_n = _reference_spread(ex, sel, lots, u)
        assert got_idx.tolist() == want_idx.tolist() and got_n.tolist() == want_n.tolist()


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(0, 39),
            st.one_of(st.integers(1, 2_000), st.integers(1, 10**10)),
            st.one_of(st.integers(0, 10**9), st.integers(0, 10**13)),
        ),
        max_size=30,
        unique_by=lambda r: r[0],
    ),
    st.sampled_from([{}, {"exchange_fee": 0.2}, {"dsp_fee": 0.15, "ssp_fee": 0.125}]),
    st.sampled_from([1, 1000]),
)
def test_the_exchange_rows_kept_in_three_columns_expand_to_the_rows_given_in_full(
    rows, rates, lot_size
):
    """The table built from :class:`AuctionRows` equals the one built from every column
    (the exchange's old way of recording), values and dtypes, money split included."""
    from admarket.market.accounting import Accounts, split_fees

    n_products, buyer_of = 8, np.arange(5).repeat(2)
    seller_of = np.array([0, 0, 1, 2, 2, 2, 3, 1])
    pair = np.array(sorted(r[0] for r in rows), dtype=np.int64)
    lots = np.array([r[1] for r in sorted(rows)], dtype=np.int64)
    gross = np.array([r[2] for r in sorted(rows)], dtype=np.int64)
    fees, net = split_fees(gross, rates)
    c, p = pair // n_products, pair % n_products
    compact, full = (Accounts(10, n_products, 4, 5) for _ in range(2))
    for step in (3, 4):
        compact.record_auction(
            step=step, pair=pair, n_products=n_products, lots=lots, gross=gross, fees=fees,
            net=net, buyer_of=buyer_of, seller_of=seller_of, fee_rates=rates, lot_size=lot_size,
        )  # fmt: skip
        full.record(
            step=step, kind="auction", campaign=c, buyer=buyer_of[c], seller=seller_of[p],
            product=p, deal=np.full(c.size, -1), lots=lots,
            cpm=gross / (lots * lot_size / 1000.0) / 100.0, gross=gross, fees=fees, net=net,
            value=gross, lot_size=lot_size,
        )  # fmt: skip
    got, want = compact.transactions(24), full.transactions(24)
    assert got.dtypes.to_dict() == want.dtypes.to_dict()
    assert got.equals(want)
    for name in want.columns:  # each column built alone (A's narrative reads them so)
        alone = compact.transaction_column(name, 24)
        assert alone.dtype == want[name].to_numpy().dtype, name
        assert np.array_equal(alone, want[name].to_numpy()), name
    assert compact.fees == full.fees and compact.gross == full.gross
    assert compact.seller_revenue.tolist() == full.seller_revenue.tolist()

"""Scenario A's exchange: where campaigns send their bids (the fast paths equal the plain ones)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from admarket import MarketModel
from admarket.agents import exchange as exchange_module
from admarket.agents.exchange import _last_at_or_below, _values_per_edge


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.integers(0, 30), max_size=40),
    st.lists(st.integers(0, 30), min_size=1, max_size=40),
)
def test_merging_sorted_runs_places_values_as_a_binary_search_does(edges, values):
    """Ties included: an edge equal to a value counts as at or below it ("right")."""
    e, v = np.sort(np.array(edges, float) / 2), np.sort(np.array(values, float) / 2)
    assert (_last_at_or_below(e, v) == np.searchsorted(e, v, "right") - 1).all()
    if e.size and v[0] >= e[0]:
        want = np.bincount(np.searchsorted(e, v, "right") - 1, minlength=e.size)
        assert _values_per_edge(e, v).tolist() == want.tolist()


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


@pytest.mark.parametrize("merge", [True, False])
@pytest.mark.parametrize("block", [exchange_module.PAIR_BLOCK, 7, 1])
def test_sorted_merged_spread_equals_one_binary_search_per_draw(monkeypatch, block, merge):
    """Same pairs, same counts, whatever the block size and whether draws are placed by merge
    or by search — also for draws of exactly 0 and of the largest u below 1, which c + u
    rounds up to c + 1 (the next campaign's start)."""
    monkeypatch.setattr(exchange_module, "PAIR_BLOCK", block)
    monkeypatch.setattr(exchange_module, "_merge_pays", lambda _e, _v: merge)
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
        ex._spread_rng = _Draws(u)
        got_idx, got_n = ex._spread(sel, lots)
        want_idx, want_n = _reference_spread(ex, sel, lots, u)
        assert got_idx.tolist() == want_idx.tolist() and got_n.tolist() == want_n.tolist()

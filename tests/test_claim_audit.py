"""The claim auditor grades by its stated rule and reads keys as a fresh read would.

``ClaimLog.record`` flags a claim exactly when ``is_wrong`` says so, and ``GroundTruth``
parses each fact key once into what to read, which must give exactly what a fresh read of
the key gives, for any value.
"""

from __future__ import annotations

import itertools
import math
import pickle

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from admarket import MarketModel
from admarket.memory.ground_truth import CLAIM_COLUMNS, WRONG, ClaimLog, parse_fact_key

FLOATS = st.floats(allow_nan=True, allow_infinity=True) | st.sampled_from(
    [0.0, -0.0, 0.01, -0.01, 0.005, 1.0, 100.0]
)


class _Truth:
    """A ground truth that answers one value for every key."""

    def __init__(self) -> None:
        self.value: float | None = None

    def value_of(self, parsed: tuple) -> float | None:
        return self.value


@settings(max_examples=300, deadline=None)
@given(FLOATS, st.none() | FLOATS, st.floats(0.0, 1.0) | st.just(math.inf))
def test_the_graded_flag_is_is_wrong_for_any_claim(claimed, truth, tol):
    truth_src = _Truth()
    truth_src.value = truth
    log = ClaimLog(truth_src, tol)  # type: ignore[arg-type]
    log.record(0, "price", "deal:1:price", claimed, "memory")
    t = math.nan if truth is None else float(truth)
    wrong = bool(log._flags[0] & WRONG)
    assert wrong == log.is_wrong(float(claimed), t)
    assert log.n_wrong == int(wrong) and (0 in log.bad_decisions) == wrong


def test_a_claim_on_a_fact_that_cannot_exist_is_refused_and_files_nothing():
    log = ClaimLog(_Truth(), 0.01)  # type: ignore[arg-type]
    with pytest.raises(KeyError):
        log.record(0, "price", "planet:1:price", 1.0, "memory")
    with pytest.raises(ValueError):  # a claimed value that is not a number
        log.record(0, "price", "deal:1:price", "high", "memory")
    with pytest.raises(KeyError):  # a source the audit does not know
        log.record(0, "price", "deal:1:price", 1.0, "rumour")
    assert len(log) == 0 and log.fact_keys == [] and log._fact_parsed == []


def test_a_claim_log_checkpointed_before_it_kept_its_facts_parses_them_again():
    log = ClaimLog(_Truth(), 0.01)  # type: ignore[arg-type]
    for key in ("deal:1:price", "campaign:2:spent", "hist:3:4:delivered", "deal:1:price"):
        log.record(0, "price", key, 1.0, "memory")
    kept = list(log._fact_parsed)
    del log.__dict__["_fact_parsed"]  # as a checkpoint written before held it
    restored = pickle.loads(pickle.dumps(log))
    assert restored._fact_parsed == kept == [parse_fact_key(k) for k in log.fact_keys]
    assert len(kept) == 3


def _reference_value(m: MarketModel, key: str) -> float | None:
    """Ground truth as it was read before keys were parsed into what to read."""
    entity, ident, attr = key.split(":", 2)
    if entity == "deal":
        b, d = m.book, int(ident)
        if d >= b.n:
            return None
        if attr == "delivered":
            return float(b.delivered.item(d) - b.day_delivered.item(d))
        return float(getattr(b, attr).item(d))
    if entity == "campaign":
        if attr == "spent":
            return m.accounts.spent[int(ident)] / 100.0
        return float(m.accounts.delivered[int(ident)])
    if entity == "hist":
        buyer, seller = int(ident), int(attr.split(":")[0])
        arr = m.accounts.hist_delivered if attr.endswith("delivered") else m.accounts.hist_expected
        return float(arr[buyer, seller])
    if entity == "fill":
        buyer, seller = int(ident), int(attr)
        exp = m.accounts.hist_expected[buyer, seller]
        if exp <= 0:
            return m.config.expected_fill
        return float(min(1.0, m.accounts.hist_delivered[buyer, seller] / exp))
    assert entity == "avail"
    return float(m.true_available(int(ident), float(attr)))


@pytest.mark.parametrize("scenario", ["B", "C"])
def test_parsed_keys_read_what_a_fresh_read_of_the_key_reads(scenario):
    m = MarketModel(scenario, n_buyers=4, n_sellers=3, campaigns_per_buyer=4, days=3, seed=1)
    m.run()
    truth = m.ground_truth
    keys = list(m.claims.fact_keys)
    keys += [f"deal:{m.book.n + 5}:price", "campaign:0:delivered", "hist:1:2:delivered"]
    keys += ["fill:0:0", "hist:0:1:expected", "avail:0:0.5", "avail:1:3"]
    assert {k.split(":")[0] for k in keys} >= {"deal", "campaign", "hist", "fill", "avail"}
    for _ in range(2):  # the second pass reads from the parsed keys
        for key in keys:
            got, want = truth.read(key), _reference_value(m, key)
            assert type(got) is type(want) and (got == want or (got != got and want != want))
    with pytest.raises(KeyError):
        truth.read("book:1:price")
    for bad in ("deal:x:price", "hist:1:y:delivered", "avail:1:soon"):
        with pytest.raises(ValueError):
            truth.read(bad)
        with pytest.raises(ValueError):  # and again: a malformed key is never kept
            truth.read(bad)


def test_each_claims_agent_type_is_its_agents_name_before_the_dash(plan_runs):
    """The audit's ``agent_type`` (split once per agent) is what splitting every claim's
    agent name gives, with the same object dtype, also for an audit of no claims."""
    for audit in (*(m.claims.frame() for m in plan_runs.values()), ClaimLog(None, 0.1).frame()):
        want = audit["agent_id"].astype(str).str.split("-").str[0]
        assert want.dtype == audit["agent_type"].dtype == object
        assert audit["agent_type"].equals(want)
    assert set(plan_runs["C"].claims.frame()["agent_type"]) == {"buyer", "seller"}


def test_a_claim_frame_of_some_columns_is_those_columns_of_the_whole_frame(plan_runs):
    """``frame(columns)`` and ``frames(rows, columns)`` build only the columns asked for
    (``ground_truth`` reads 4 of 17), equal to those columns of the whole frame, in the
    whole frame's order, also for an audit of no claims; an unknown column is named."""
    some = ["fact_key", "claim_id", "agent_type", "injection_kind", "step"]
    for log in (plan_runs["C"].claims, ClaimLog(None, 0.1)):
        whole = log.frame()
        want = whole[[c for c in whole.columns if c in some]]
        pd.testing.assert_frame_equal(log.frame(some), want)
        pd.testing.assert_frame_equal(pd.concat(log.frames(97, some)), want)
    assert tuple(plan_runs["C"].claims.frame().columns) == CLAIM_COLUMNS
    with pytest.raises(ValueError, match=r"columns=\['fact'\]: allowed claim_id"):
        ClaimLog(None, 0.1).frame(["fact", "step"])


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, 4), max_size=12), st.integers(1, 5))
def test_claims_are_in_step_order_exactly_when_their_steps_never_go_back(steps, block):
    """``steps_ascend`` (checked a block of claims at a time) is whether the claims' steps,
    in filing order, never decrease, across and within blocks of any size."""
    import admarket.memory.ground_truth as gt

    log = ClaimLog(_Truth(), 0.1)
    for s in steps:  # a decision at step s with one claim
        log.record(
            log.new_decision("buyer-0", "plan", s), "spend", "campaign:0:spent", 1.0, "memory"
        )
    old, gt._BLOCK = gt._BLOCK, block
    try:
        assert log.steps_ascend == all(a <= b for a, b in itertools.pairwise(steps))
    finally:
        gt._BLOCK = old

"""The settlement log hands back every record exactly as it was appended."""

from __future__ import annotations

import pickle

import pytest

from admarket import MarketModel
from admarket.market.settlement_log import FIELDS, SettlementLog


def _record(i: int) -> dict:
    return {
        "step": 23 + 24 * i,
        "deal": i,
        "campaign": 7,
        "buyer": "buyer-1",
        "seller": "seller-0",
        "seller_lots": 10**6,
        "buyer_lots": 999_999,
        "billed_lots": 999_999,
        "invoice": 1234.56,
        "expected": 0.1 + 0.2,
        "agreed": -0.0,
        "paid": float("nan") if i == 2 else 1e-300,
        "outcome": "dispute_unresolved" if i % 2 else "agreed",
        "gap": 1 / 3,
        "disputed": 0.0,
        "unresolved": 12.5,
    }


def _same(a: dict, b: dict) -> bool:
    """Equal keys in order, and values of equal type and repr (NaN and -0.0 included)."""
    return list(a) == list(b) and all(
        type(a[k]) is type(b[k]) and repr(a[k]) == repr(b[k]) for k in a
    )


def test_records_read_back_as_appended_by_index_slice_and_iteration():
    log = SettlementLog()
    records = [_record(i) for i in range(5)]
    for r in records:
        log.append(r)
    assert len(log) == 5
    assert all(_same(a, b) for a, b in zip(log, records, strict=True))
    assert all(_same(log[i], records[i]) for i in range(-5, 5))
    assert all(_same(a, b) for a, b in zip(log[1:4], records[1:4], strict=True))
    assert log[5:] == [] and list(log.column("deal")) == list(range(5))
    again = pickle.loads(pickle.dumps(log))
    assert all(_same(a, b) for a, b in zip(again, records, strict=True))
    with pytest.raises(IndexError, match="out of range"):
        log[5]


@pytest.mark.parametrize(
    "change, match",
    [
        ({"invoice": 1234}, "invoice=1234 is a int; its column holds floats"),
        ({"deal": 3.0}, "deal=3.0 is a float; its column holds ints"),
        ({"extra": 1}, "fields"),
        ({"seller_lots": 2**63}, "outside 64-bit integers"),
    ],
)
def test_a_record_its_columns_cannot_give_back_exactly_is_refused_whole(change, match):
    log = SettlementLog()
    with pytest.raises(ValueError, match=match):
        log.append({**_record(0), **change})
    missing = {k: v for k, v in _record(0).items() if k != "gap"}
    reordered = dict(reversed(_record(0).items()))
    for bad in (missing, reordered):
        with pytest.raises(ValueError, match="fields"):
            log.append(bad)
    assert len(log) == 0 and all(len(c) == 0 for c in map(log.column, FIELDS))


def test_a_runs_settlements_are_logged_and_read_as_records():
    m = MarketModel("B", n_buyers=3, n_sellers=3, campaigns_per_buyer=4, days=8, seed=4)
    m.run()
    for s in m.settlements:
        assert list(s) == list(FIELDS)
    s = m.summary()  # counted from the log's columns: the same as from its records
    assert s["disputes"] == sum(r["outcome"].startswith("dispute") for r in m.settlements) > 0
    assert s["count_disputes"] == sum(r["billed_lots"] < r["seller_lots"] for r in m.settlements)

"""The run's event log hands back every event as the dict it stood for."""

from __future__ import annotations

import pickle

from hypothesis import given, settings
from hypothesis import strategies as st

from admarket.model.events import EventLog

VALUES = st.one_of(st.integers(), st.floats(allow_nan=False), st.text(max_size=5), st.none())
EVENTS = st.lists(
    st.tuples(
        st.integers(0, 10_000),
        st.sampled_from(["deal", "dispute", "restart"]),
        st.dictionaries(st.sampled_from(["agent", "deal", "n", "keys", "day"]), VALUES),
    ),
    max_size=30,
)


@settings(max_examples=60, deadline=None)
@given(EVENTS, st.integers(1, 48))
def test_events_read_back_as_the_dicts_emit_describes(events, spd):
    """``{"step", "day", "kind", **fields}`` (a field may even override ``day``), by index,
    negative index, slice and iteration; equal to that list both ways; pickled too."""
    log = EventLog(spd)
    want = []
    for step, kind, fields in events:
        log.emit(step, kind, **fields)
        want.append({"step": step, "day": step // spd, "kind": kind, **fields})
    records = log.records
    assert len(records) == len(want) and list(records) == want
    assert records == want and want == records and records != [*want, {}]
    for i in range(-len(want), len(want)):
        assert records[i] == want[i] and list(records[i]) == list(want[i])
    assert records[1:-1] == want[1:-1] and records[::2] == want[::2]
    assert list(records.steps()) == [w["step"] for w in want]
    again = pickle.loads(pickle.dumps(log))
    assert again.records == records and list(again.records) == want
    assert log.of_kind("deal") == [w for w in want if w["kind"] == "deal"]


def test_logs_of_the_same_events_are_equal_whatever_order_their_fields_came_in():
    a, b = EventLog(24), EventLog(24)
    a.emit(5, "deal", deal=1, buyer="buyer-0")
    b.emit(5, "deal", buyer="buyer-0", deal=1)
    assert a.records == b.records and list(a.records) == list(b.records)
    b.emit(6, "restart", agent="seller-1")
    assert a.records != b.records

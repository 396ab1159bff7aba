"""The explorer's clock and what it remembers: never past the end, day labels, fading marks,
scenario A's daily tallies."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from admarket import MarketConfig
from admarket.config import ConfigError
from admarket.viz.graph import fade
from admarket.viz.session import (
    NEVER,
    Session,
    Settings,
    clock_label,
    event_time,
    next_stop,
)

SMALL = MarketConfig(n_buyers=3, n_sellers=3, campaigns_per_buyer=4, days=3)


@pytest.mark.parametrize(
    ("steps", "label"),
    [
        (0, "day 1, 00:00 (start)"),
        (1, "day 1, 01:00"),
        (23, "day 1, 23:00"),
        (24, "end of day 1"),
        (25, "day 2, 01:00"),
        (48, "end of day 2"),
        (72, "end of day 3 — run complete"),
    ],
)
def test_clock_names_the_moment_and_never_a_day_past_the_end(steps: int, label: str) -> None:
    assert clock_label(steps, 24, 3) == label


def test_event_times_count_days_from_one() -> None:
    assert event_time(0, 24) == "day 1, 00:00"
    assert event_time(47, 24) == "day 2, 23:00"
    assert event_time(3, 4) == "day 1, 18:00"  # 4 steps a day: six hours each


@pytest.mark.parametrize("interval", [1, 6, 24, 25, 100, 168, 1000])
def test_every_interval_ends_exactly_on_the_last_hour(interval: int) -> None:
    total, steps, stops = 720, 0, []
    while steps < total:
        steps = next_stop(steps, interval, total)
        stops.append(steps)
    assert stops[-1] == total
    assert all(b > a for a, b in itertools.pairwise(stops))
    assert all(s % interval == 0 for s in stops[:-1])


def test_session_advances_every_market_together_and_stops_at_the_end() -> None:
    s = Session(Settings(SMALL, ("A", "B", "C"), seeds=2))
    assert [m.config.seed for m in s.runs["B"]] == [42, 43]
    assert s.advance(25) == 25
    assert {m.steps for models in s.runs.values() for m in models} == {25}
    assert s.advance_to(10_000) == SMALL.steps - 25  # clamped to the run
    assert s.at_end and s.label() == "end of day 3 — run complete"
    assert s.advance(1) == 0  # nothing happens past the end: no error either
    assert not any(m.running for models in s.runs.values() for m in models)


def test_an_advance_halted_midway_stops_between_hours_with_every_market_together() -> None:
    # Pause during "Run to day N" on a large market: the advance ends at the next hour.
    s = Session(Settings(SMALL, ("A", "B", "C"), seeds=2))
    assert s.advance_to(SMALL.steps, halt=lambda: s.steps >= 30) == 30
    assert {m.steps for models in s.runs.values() for m in models} == {30}
    assert s.label() == "day 2, 06:00"
    assert all(w.today == 1 and len(w.days) == 1 for w in s.watches.values())
    assert s.advance_to(SMALL.steps, halt=lambda: True) == 0  # halted before the first hour
    assert s.advance_to(SMALL.steps) == SMALL.steps - 30  # and it goes on from there


def test_settings_refuse_what_the_explorer_cannot_run() -> None:
    with pytest.raises(ConfigError, match="seeds"):
        Settings(SMALL, ("B",), seeds=9)
    with pytest.raises(ConfigError, match="scenario"):
        Settings(SMALL, ("D",))


def test_marks_remember_the_last_day_of_each_kind() -> None:
    cfg = SMALL.replace(days=4, restart_rate=0.3, hallucination_rate=0.3)
    s = Session(Settings(cfg, ("B",)))
    w = s.watches["B"]
    m = s.markets["B"]
    seen_lost, seen_restart = set(), set()
    while not s.at_end:
        s.advance(1)
        for i, a in enumerate(w.agents):
            if a.lost_today:
                seen_lost.add((i, w.today))
            if a.restarted_today:
                seen_restart.add((i, w.today))
    for i in range(len(w.agents)):
        lost_days = [d for j, d in seen_lost if j == i]
        assert w.last_lost[i] == (max(lost_days) if lost_days else NEVER)
        restart_days = [d for j, d in seen_restart if j == i]
        assert w.last_restart[i] == (max(restart_days) if restart_days else NEVER)
    # wrong facts: the last day of each agent's hallucination events and bad decisions
    expect = np.full(len(w.agents), NEVER)
    for r in m.events.records:
        if r["kind"] == "hallucination":
            i = w.index[r["agent"]]
            expect[i] = max(expect[i], r["step"] // 24)
    for d in m.claims.bad_decisions:
        i = w.index[m.claims.decision_agent[d]]
        expect[i] = max(expect[i], m.claims.decision_step[d] // 24)
    assert (w.last_wrong == expect).all()
    assert (w.last_wrong > NEVER).any() and (w.last_restart > NEVER).any()


def test_marks_fade_over_days_and_vanish() -> None:
    last = np.array([5, 4, 2, 1, NEVER])
    assert fade(last, 5).tolist() == [1.0, 0.75, 0.25, 0.0, 0.0]


def test_exchange_tallies_add_up_to_the_accounts() -> None:
    s = Session(Settings(SMALL, ("A",)))
    s.advance(30)  # a day and six hours
    w, m = s.watches["A"], s.markets["A"]
    assert len(w.days) == 1
    partial = w.today_so_far()
    assert partial is not None and not partial.complete
    lots = w.days[0].auction_lots + partial.auction_lots
    assert lots == m.events.counts["auction_wins"] > 0
    gross = w.days[0].gross + partial.gross
    assert gross == pytest.approx(m.accounts.gross / 100)
    fees = sum(w.days[0].fees.values()) + sum(partial.fees.values())
    assert fees == pytest.approx(m.accounts.take / 100)
    assert w.days[0].net + partial.net == pytest.approx(m.accounts.net_to_publishers / 100)


def test_recent_spend_is_the_last_days_flow() -> None:
    s = Session(Settings(SMALL, ("B",)))
    w = s.watches["B"]
    s.advance(30)
    before = np.array([s.markets["B"].graph.edges[e]["spend"] for e in w.edges])
    s.advance(24)
    now = np.array([s.markets["B"].graph.edges[e]["spend"] for e in w.edges])
    assert np.allclose(w.recent_spend, now - before)
    assert not w.via_exchange.any()  # every edge in B is a direct relationship

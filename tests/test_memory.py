"""ContextMemory: decay, context pressure, restarts and the deal index."""

from __future__ import annotations

import numpy as np

from admarket.memory import ContextMemory


def test_decay_loses_facts_at_the_daily_rate():
    m = ContextMemory()
    for i in range(20_000):
        m.store(f"deal:{i}:price", 1.0)
    lost = m.decay(np.random.default_rng(0), 0.02)
    assert 300 < len(lost) < 500 and m.stats.lost_decay == len(lost)
    assert len(m) == 20_000 - len(lost) and all(k not in m for k in lost)


def test_decay_rate_zero_loses_nothing():
    m = ContextMemory()
    m.store("deal:1:price", 5.0)
    assert m.decay(np.random.default_rng(0), 0.0) == [] and m.get("deal:1:price") == 5.0


def test_context_pressure_pushes_out_the_least_recently_used():
    m = ContextMemory(capacity=3)
    for i in range(3):
        m.store(f"deal:{i}:price", float(i))
    m.get("deal:0:price")  # used again: now the freshest
    pushed = m.store("deal:3:price", 3.0)
    assert pushed == ["deal:1:price"] and m.stats.lost_pressure == 1
    assert "deal:0:price" in m and len(m) == 3


def test_restart_wipes_everything():
    m = ContextMemory()
    m.store("deal:1:price", 5.0, "deal", 7)
    assert m.wipe() == 1 and len(m) == 0 and m.ids("deal", 7) == []
    assert m.stats.restarts == 1 and m.stats.lost_restart == 1


def test_ids_list_deals_while_any_of_their_facts_is_held():
    m = ContextMemory(capacity=2)
    m.store("deal:4:price", 1.0, "deal", 9)
    m.store("deal:4:volume", 1.0, "deal", 9)
    m.store("deal:5:price", 1.0, "deal", 9)  # pushes out deal 4's price
    assert m.ids("deal", 9) == [4, 5]
    m.store("deal:6:price", 1.0, "deal", 9)  # pushes out deal 4's volume
    assert m.ids("deal", 9) == [5, 6]

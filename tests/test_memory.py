"""ContextMemory: decay, context pressure, restarts and the deal index."""

from __future__ import annotations

from admarket.memory.context import ContextMemory


def test_decay_loses_facts_at_the_daily_rate():
    m = ContextMemory(decay_rate=0.02, salt="t")
    for i in range(20_000):
        m.store(f"deal:{i}:price", 1.0, day=0)
    assert m.decay(0) == []  # stored today: first exposed to decay tomorrow
    lost = m.decay(1)
    assert 300 < len(lost) < 500 and m.stats.lost_decay == len(lost)
    assert len(m) == 20_000 - len(lost) and all(k not in m for k in lost)
    lost2 = m.decay(2)  # each further day takes ~2% of what is left
    assert 300 < len(lost2) < 500 and not set(lost) & set(lost2)


def test_decay_draws_are_keyed_to_the_fact_not_to_what_else_is_held():
    """Two memories with different contents agree on the facts they share (B vs C)."""
    a, b = ContextMemory(decay_rate=0.1, salt="s"), ContextMemory(decay_rate=0.1, salt="s")
    for i in range(2000):
        a.store(f"deal:{i}:price", 1.0, day=0)
        if i % 3:
            b.store(f"deal:{i}:price", 1.0, day=0)
    b.store("deal:99999:price", 1.0, day=0)
    for day in range(1, 6):
        lost_a, lost_b = set(a.decay(day)), set(b.decay(day))
        shared = {f"deal:{i}:price" for i in range(2000) if i % 3}
        assert lost_a & shared == lost_b & shared


def test_decay_rate_zero_loses_nothing():
    m = ContextMemory()
    m.store("deal:1:price", 5.0)
    assert m.decay(5) == [] and m.get("deal:1:price") == 5.0


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


def _scan(m: ContextMemory, day: int) -> list[str]:
    """What a decay pass of ``day`` must lose: every held fact whose lifetime has run out,
    least recently used first (the definition the day-filed pass must keep)."""
    return [k for k in m._facts if m._expiry[k] <= day]


def test_the_decay_pass_loses_what_a_scan_of_every_fact_would_in_the_same_order():
    """Facts are filed by the day they expire; a pass looks only at its day's. Under a mix
    of stores, recalls (which reorder), pushes, restarts, facts lost and stored again, and
    days without a pass, it loses exactly the facts a scan of every held fact finds, in
    recency order (the order the context_loss event shows)."""
    import pickle
    import random

    rnd = random.Random(5)
    m = ContextMemory(capacity=300, decay_rate=0.15, salt="mix")
    for day in range(60):
        for _ in range(rnd.randrange(0, 120)):
            key = f"deal:{rnd.randrange(400)}:price"
            if rnd.random() < 0.5:
                m.get(key)
            else:
                m.store(key, 1.0, "deal", rnd.randrange(3), day)
        if day == 30:
            m.wipe()
        if day == 40:  # a checkpoint written before expiries were filed by day
            state = dict(m.__dict__)
            del state["_due"]
            m = pickle.loads(pickle.dumps(m))
            m.__dict__.clear()
            m.__setstate__(state)
        if rnd.random() < 0.2:
            continue  # no pass today: the next one catches up
        want = _scan(m, day)
        assert m.decay(day) == want
        assert not _scan(m, day)
    assert m.stats.lost_decay > 500


def test_a_memory_knows_what_it_lost_from_what_it_never_held():
    """``forgot`` is true for a fact lost to decay, context pressure or a restart and not
    held again, and false for a fact never held: a recall of the first is a recovery, of
    the second a first lookup."""
    m = ContextMemory(capacity=2, decay_rate=0.5, salt="f")
    assert not m.forgot("deal:1:price")  # never held
    m.store("deal:1:price", 1.0, day=0)
    m.store("deal:2:price", 2.0, day=0)
    m.store("deal:3:price", 3.0, day=0)  # pushes deal 1 out
    assert m.forgot("deal:1:price") and not m.forgot("deal:3:price")
    m.store("deal:1:price", 1.0, day=0)  # held again (pushes deal 2 out)
    assert not m.forgot("deal:1:price") and m.forgot("deal:2:price")
    decayed = [k for day in range(1, 20) for k in m.decay(day)]
    assert decayed and all(m.forgot(k) for k in decayed)
    m.store("deal:4:price", 4.0, day=20)
    m.wipe()
    assert m.forgot("deal:4:price") and not m.forgot("deal:5:price")

"""The policy seam and the pieces of an LLM agent that need no endpoint."""

from __future__ import annotations

import itertools
from types import SimpleNamespace

import pytest

from admarket import MarketConfig, MarketModel
from admarket.agents.policy import RULES, NegotiationContext, negotiate_by_moves
from admarket.cli.options import policy_overrides
from admarket.errors import ConfigError
from admarket.llm import LLMSession, RequestSettings
from admarket.llm.roster import sample
from admarket.llm.schema import AnswerError, parse_answer
from admarket.llm.tables import llm_frames
from admarket.llm.transcript import Transcript
from admarket.market.negotiation import BuyerStance, Move, negotiate
from admarket.market.pricing import TIER_TERMS
from tests.llm.helpers import TINY


def test_rule_based_agents_are_the_default_and_leave_the_config_as_it_was():
    m = MarketModel("B", **TINY)
    assert all(a.policy is RULES for a in (*m.buyers, *m.sellers))
    assert not m.policies.active and llm_frames(m.run()) == {}
    assert not any(k.startswith("llm_") for k in MarketConfig().to_dict())
    changed = MarketConfig(llm_buyers=True, llm_context_tokens=4000).to_dict()
    assert changed["llm_buyers"] is True and changed["llm_context_tokens"] == 4000


@pytest.mark.parametrize("tier", sorted(TIER_TERMS))
def test_move_by_move_protocol_between_two_rule_agents_is_the_rule_negotiation(tier):
    buyer, seller = SimpleNamespace(policy=RULES), SimpleNamespace(policy=RULES)
    terms = TIER_TERMS[tier]
    grid = (2.0, 3.5, 4.99, 5.0, 6.2, 8.0)
    for ask, floor, target, top in itertools.product(grid, repeat=4):
        if floor > ask or target > top:
            continue
        stance = BuyerStance(target, top)
        ctx = NegotiationContext(0, 0, "PG", ask, floor, stance, terms)
        assert negotiate_by_moves(buyer, seller, ctx) == negotiate(ask, floor, stance, terms)


def test_llm_agents_need_an_endpoint_except_where_agents_hold_no_state():
    with pytest.raises(ConfigError, match="need an endpoint"):
        MarketModel("B", llm_buyers=True, **TINY)
    m = MarketModel("A", llm_buyers=True, **TINY)  # A: buyers read the exchange's records
    assert not m.policies.active


def test_the_llm_sample_is_drawn_by_seed_and_shared_by_scenarios():
    agents = [SimpleNamespace(index=i) for i in range(10)]
    three = sample(agents, 3, 42, "buyer")
    assert [a.index for a in three] == [a.index for a in sample(agents, 3, 42, "buyer")]
    assert len(three) == 3 and sample(agents, 0, 42, "buyer") == agents
    picks = {tuple(a.index for a in sample(agents, 3, seed, "buyer")) for seed in range(20)}
    assert len(picks) > 1  # another seed, another sample


def test_policy_option():
    assert policy_overrides("buyer=llm,seller=rules") == {"llm_buyers": True, "llm_sellers": False}
    assert policy_overrides("sellers=LLM") == {"llm_sellers": True}
    with pytest.raises(ConfigError, match="ROLE=POLICY"):
        policy_overrides("buyer=robot")


def test_transcript_window_drops_the_oldest_lines_and_restarts_wipe_it():
    tr = Transcript(24)
    for t in range(10):
        tr.add_fact(t, "delivery report", f"deal:{t}:delivered", t * 10)
    first = tr.render().splitlines()[0]
    assert "deal:0:delivered=0" in first
    dropped = tr.fit(60)
    assert dropped > 0 and len(tr) == 10 - dropped
    assert "deal:9:delivered=90" in tr.render() and "deal:0:" not in tr.render()
    held = tr.n_facts
    assert tr.wipe() == held and len(tr) == 0 and tr.stats.facts_wiped == held


def test_transcript_decay_loses_lines_by_their_keyed_lifetimes():
    a, b = Transcript(24, 0.5, "s"), Transcript(24, 0.5, "s")
    for tr in (a, b):
        for t in range(40):
            tr.add_fact(t * 24, "booking", f"deal:{t}:price", 1.0)
    lost = [a.decay(d) for d in range(40)]
    assert sum(map(len, lost)) > 10
    assert lost == [b.decay(d) for d in range(40)]  # the same draws: reproducible


@pytest.mark.parametrize(
    "text, task, fragment",
    [
        ("", "books", "empty"),
        ("I think about 40", "books", "no JSON object"),
        ('{"facts": {"deal:1:price": "4.2"}}', "books", "must be a number"),
        ('{"fact": {}}', "books", "lacks 'facts'"),
        ('{"lots": -3}', "avails", "at least 0"),
        ('{"action": "haggle", "price": 3}', "buyer_move", "must be one of"),
        ('{"action": "accept", "price": NaN}', "seller_move", "NaN"),
        ('{"facts": {', "books", "no JSON object"),
        ('{"facts": {"deal:1:volume": 1e300}}', "books", "at most"),
        ('{"action": "propose", "price": 0}', "buyer_move", "more than 0"),
    ],
)
def test_unusable_answers_are_named(text, task, fragment):
    with pytest.raises(AnswerError, match=fragment):
        parse_answer(text, task)


def test_answers_in_prose_or_code_fences_are_read():
    fenced = 'Here you go:\n```json\n{"facts": {"deal:1:price": 4.2}}\n```'
    assert parse_answer(fenced, "books") == {"facts": {"deal:1:price": 4.2}}


class Scripted:
    """An endpoint that answers every request with the same content (a move)."""

    def __init__(self, content: str):
        self.content = content

    def complete(self, body):
        usage = {"prompt_tokens": 10, "completion_tokens": 5}
        return {"choices": [{"message": {"content": self.content}}], "usage": usage}


def test_a_move_past_the_agents_own_limit_is_counted_not_graded():
    session = LLMSession(Scripted('{"action": "propose", "price": 99.5}'), RequestSettings("s"))
    m = MarketModel("B", llm=session, llm_buyers=True, **TINY)
    buyer, terms = m.buyers[0], TIER_TERMS[m.buyers[0].tier]
    c = buyer.campaigns[0]
    ctx = NegotiationContext(c, 0, "PG", 5.0, 3.5, BuyerStance(4.0, 4.8), terms)
    move = buyer.policy.buyer_move(buyer, ctx, Move("seller", "counter", 5.0), 1, 4.0, 5.0, [])
    assert move == Move("buyer", "propose", 99.5)
    assert buyer.policy.counts["violations"] == 1 and buyer.policy.counts["moves"] == 1
    assert m.policies.costs.records[-1].task == "buyer_move"

"""Seller concession rules and the buyer's threshold strategy."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from admarket.market.negotiation import negotiate, seller_reply
from admarket.market.pricing import TIER_TERMS

AGENCY = TIER_TERMS["agency"]


def test_seller_accepts_at_or_above_ask():
    move, _ = seller_reply(10.0, 7.0, 10.0, 10.0, 1, 0.0, AGENCY)
    assert move.action == "accept" and move.price == 10.0


def test_seller_counters_at_floor_below_floor_and_final_on_last_round():
    move, _ = seller_reply(10.0, 7.0, 10.0, 5.0, 1, 0.0, AGENCY)
    assert (move.action, move.price) == ("counter", 7.0)
    move, _ = seller_reply(10.0, 7.0, 10.0, 5.0, AGENCY.max_rounds, 0.0, AGENCY)
    assert move.action == "final_offer"


def test_seller_concession_is_capped_per_round():
    # gap 2.0, buyer share 50% → 1.0, but the agency round cap is 5% of 10 = 0.5
    move, conceded = seller_reply(10.0, 5.0, 10.0, 8.0, 1, 0.0, AGENCY)
    assert move.price == 9.5 and abs(conceded - 0.05) < 1e-9


def test_seller_rejects_after_its_rounds():
    move, _ = seller_reply(10.0, 5.0, 9.0, 8.0, AGENCY.max_rounds + 1, 0.1, AGENCY)
    assert move.action == "reject"


def test_buyer_accepts_a_counter_within_max():
    out = negotiate(ask=10.0, floor=7.0, target=8.0, max_price=9.8, terms=AGENCY)
    assert out.agreed and out.price == 9.5 and out.moves[-1].action == "accept"


def test_buyer_walks_away_when_seller_cannot_reach_its_max():
    out = negotiate(ask=20.0, floor=18.0, target=10.0, max_price=12.0, terms=AGENCY)
    assert not out.agreed and out.moves[-1].action == "walk_away"


def test_buyer_opens_at_the_ask_when_it_is_below_target():
    out = negotiate(ask=6.0, floor=4.0, target=8.0, max_price=9.0, terms=AGENCY)
    assert out.agreed and out.price == 6.0 and out.rounds == 1


@settings(max_examples=200, deadline=None)
@given(
    st.floats(2, 50),
    st.floats(0.3, 0.99),
    st.floats(0.5, 1.2),
    st.floats(1.0, 1.6),
    st.sampled_from(sorted(TIER_TERMS)),
)
def test_agreements_respect_floor_and_buyer_max(ask, floor_share, target_share, markup, tier):
    ask = round(ask, 2)  # prices are quoted in cents
    floor = round(ask * floor_share, 2)
    target = round(ask * target_share, 2)
    max_price = round(target * markup, 2)
    out = negotiate(ask, floor, target, max_price, TIER_TERMS[tier])
    if out.agreed:
        assert floor - 0.01 <= out.price <= max(max_price, 0) + 1e-9
        assert out.price <= ask + 1e-9
    seller_prices = [m.price for m in out.moves if m.actor == "seller" and m.action != "accept"]
    assert all(p >= floor - 0.01 for p in seller_prices)

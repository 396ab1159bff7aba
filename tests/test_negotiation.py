"""Seller concession rules, the buyer's two rules (IAB threshold, the plan's 10%/20%) and how
negotiations end: agreement in one or several rounds, walk-away, rejection."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from admarket import MarketModel
from admarket.config import TIERS
from admarket.market.negotiation import BuyerStance, negotiate, seller_reply
from admarket.market.pricing import DEAL_TYPES, TIER_TERMS, deal_terms, seller_floor

AGENCY = TIER_TERMS["agency"]


def test_seller_accepts_at_or_above_ask():
    move, _ = seller_reply(10.0, 7.0, 10.0, 10.0, 1, 0.0, AGENCY)
    assert move.action == "accept" and move.price == 10.0


def test_seller_counters_at_floor_below_floor_and_rejects_it_on_its_last_round():
    move, _ = seller_reply(10.0, 7.0, 10.0, 5.0, 1, 0.0, AGENCY)
    assert (move.action, move.price) == ("counter", 7.0)
    move, _ = seller_reply(10.0, 7.0, 10.0, 5.0, AGENCY.max_rounds, 0.0, AGENCY)
    assert move.action == "reject"
    move, _ = seller_reply(10.0, 7.0, 9.0, 8.0, AGENCY.max_rounds, 0.05, AGENCY)
    assert move.action == "final_offer" and move.price >= 8.5  # total cap 15% of the ask


def test_seller_concession_is_capped_per_round():
    # gap 2.0, buyer share 50% → 1.0, but the agency round cap is 5% of 10 = 0.5
    move, conceded = seller_reply(10.0, 5.0, 10.0, 8.0, 1, 0.0, AGENCY)
    assert move.price == 9.5 and abs(conceded - 0.05) < 1e-9


def test_seller_rejects_after_its_rounds():
    move, _ = seller_reply(10.0, 5.0, 9.0, 8.0, AGENCY.max_rounds + 1, 0.1, AGENCY)
    assert move.action == "reject"


def test_iab_buyer_accepts_a_counter_within_its_reservation_in_one_round():
    out = negotiate(10.0, 7.0, BuyerStance(target=8.0, reservation=9.8), AGENCY)
    assert out.agreed and out.price == 9.5 and out.rounds == 1 and out.end == "agreed"
    assert out.moves[-1].action == "accept"


def test_iab_buyer_bargains_over_several_rounds_when_its_reservation_is_tight():
    out = negotiate(10.0, 7.0, BuyerStance(target=8.0, reservation=9.0), AGENCY)
    assert out.agreed and out.rounds > 1 and out.price <= 9.0
    offers = [m.price for m in out.moves if m.actor == "buyer" and m.action == "propose"]
    assert offers == sorted(offers) and len(set(offers)) > 1  # the buyer conceded each round


def test_iab_buyer_walks_away_when_the_seller_cannot_reach_its_reservation():
    out = negotiate(20.0, 18.0, BuyerStance(target=10.0, reservation=12.0), AGENCY)
    assert not out.agreed and out.end in ("walk_away", "rejected_by_seller")
    out = negotiate(10.0, 8.0, BuyerStance(target=8.0, reservation=8.4), AGENCY)  # final 8.5
    assert not out.agreed and out.end == "walk_away" and out.moves[-1].action == "walk_away"


def test_the_buyers_deadline_ends_a_negotiation():
    patient = negotiate(10.0, 7.0, BuyerStance(8.0, 9.0, rounds=5), AGENCY)
    hasty = negotiate(10.0, 7.0, BuyerStance(8.0, 9.0, rounds=1), AGENCY)
    assert patient.agreed and not hasty.agreed and hasty.rounds == 1
    assert hasty.end == "walk_away"


def test_buyer_opens_at_the_ask_when_it_is_below_target():
    out = negotiate(6.0, 4.0, BuyerStance(target=8.0, reservation=9.0), AGENCY)
    assert out.agreed and out.price == 6.0 and out.rounds == 1


def test_plan_rule_accepts_within_10_percent_counters_within_20_rejects_above():
    # the seller's first counter 10.45 is within 10% of the target 10: accepted
    near = negotiate(11.0, 8.0, BuyerStance(10.0, 99.0, rule="plan"), AGENCY)
    assert near.agreed and near.price <= 11.0
    # 30% above target with a seller that can concede only 5% a round: rejected
    far = negotiate(13.0, 12.5, BuyerStance(10.0, 99.0, rule="plan"), AGENCY)
    assert not far.agreed and far.end == "rejected_by_buyer"
    # the plan's buyer ignores the reservation: it judges the price against its target
    stance = BuyerStance(10.0, 5.0, rule="plan")
    assert stance.limit == 11.0 and stance.accepts(11.0) and stance.rejects(12.01)


def test_seller_floor_follows_sell_through_time_and_tier():
    kw = {"fill_sensitivity": 0.2, "late_discount": 0.1}
    empty = seller_floor(10, "public", 0.0, 0.0, **kw)
    full = seller_floor(10, "public", 1.0, 0.0, **kw)
    assert empty < 10.0 < full  # a full product prices up, an empty one down
    late = seller_floor(10, "public", 0.0, 1.0, **kw)
    assert late < empty  # unsold inventory is cut as the period runs out
    assert seller_floor(10, "advertiser", 0.5, 0.0, **kw) == 8.5  # tier discount 15%
    sold_out = seller_floor(10, "public", 1.0, 0.0, **kw)
    assert seller_floor(10, "public", 1.0, 0.9, **kw) == sold_out  # nothing unsold to cut


@settings(max_examples=200, deadline=None)
@given(
    st.floats(2, 50),
    st.floats(0.3, 0.99),
    st.floats(0.5, 1.2),
    st.floats(0.7, 1.6),
    st.sampled_from(sorted(TIER_TERMS)),
    st.sampled_from(["iab", "plan"]),
    st.integers(1, 10),
)
def test_agreements_respect_floor_and_buyer_limit(
    ask, floor_share, target_share, reserve, tier, rule, rounds
):
    ask = round(ask, 2)  # prices are quoted in cents
    floor = round(ask * floor_share, 2)
    target = round(ask * target_share, 2)
    stance = BuyerStance(target, round(target * reserve, 2), rounds, rule)
    out = negotiate(ask, floor, stance, TIER_TERMS[tier])
    assert out.rounds <= min(rounds, TIER_TERMS[tier].max_rounds)
    if out.agreed:
        assert floor - 0.01 <= out.price <= stance.limit + 1e-9
        assert out.price <= ask + 1e-9
    else:
        assert out.end in ("walk_away", "rejected_by_buyer", "rejected_by_seller")
    seller_prices = [m.price for m in out.moves if m.actor == "seller" and m.action != "accept"]
    assert all(p >= floor - 0.01 for p in seller_prices)


_MODEL = MarketModel("B", n_buyers=3, n_sellers=3, campaigns_per_buyer=3, days=2, seed=0)


@settings(max_examples=80, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(0, 10_000),  # which product (modulo the seller's)
            st.sampled_from(TIERS),
            st.sampled_from([0, 4_000_000, 5_000_000, 12_000_000, 60_000_000]),
            st.integers(0, 3),  # what happens before the ask: nothing, a booking, a new hour
            st.floats(0.0, 50.0),  # lots/day a booking adds to the committed rate
        ),
        min_size=1,
        max_size=12,
    )
)
def test_kept_deal_offers_equal_the_terms_worked_out_afresh(asks):
    """A seller keeps its (ask, floor) per deal type while the step and its committed rate
    on the product are unchanged; whatever bookings and hours come between the asks, every
    answer must be deal_terms of its quote and floor worked out afresh."""
    m = _MODEL
    seller = m.sellers[0]
    seller._offers.clear()
    t0, rates = m.t, dict(seller.committed_rate)
    try:
        for pick, tier, imps, event, lots in asks:
            p = seller.products[pick % len(seller.products)]
            if event == 1:
                seller.committed_rate[p] += lots
            elif event == 2:
                m.t += 1
            want = tuple(
                deal_terms(name, seller.quote(tier, p, imps), seller.floor_for(p, tier))
                for name in DEAL_TYPES
            )
            assert seller.deal_offers(p, tier, imps) == want
    finally:
        m.t, seller.committed_rate = t0, rates

"""The narrative tells the important stories: ranked by what they cost, each subject once,
over- and under-payments stated against the agreed price; and A's event log samples
individual auctions from a stream of its own."""

from __future__ import annotations

import json
import re

import pandas as pd
import pytest

from admarket import MarketModel, build_config
from admarket.config import ConfigError
from admarket.outputs.exchange_moments import clearing_moments
from admarket.outputs.measures import full_summary
from admarket.outputs.narrative import all_moments, key_moments, rank, render_narrative
from admarket.outputs.run_tables import run_tables

MID = {"n_buyers": 4, "n_sellers": 4, "campaigns_per_buyer": 5, "days": 12, "seed": 7}


@pytest.fixture(scope="module")
def b_tables():
    return run_tables(MarketModel("B", build_config(**MID, restart_rate=0.05)).run())


def test_moments_are_ranked_by_cost_and_each_subject_told_once(b_tables):
    sections = all_moments(b_tables)
    for title, ms in sections.items():
        costs = [m.cost_usd for m in ms]
        assert costs == sorted(costs, reverse=True), title
        assert len({m.subject for m in ms}) == len(ms), title
    top = key_moments(b_tables, 8, sections=sections)
    assert top and [m.cost_usd for m in top] == sorted((m.cost_usd for m in top), reverse=True)
    told = [s for m in top for s in m.subjects]
    assert len(told) == len(set(told)), "a cost told twice among the key moments"
    # every fabricated value is one story, however many decisions used it
    fab = sections["Fabricated facts"]
    assert len({m.subject for m in fab}) == len(fab)
    text = render_narrative(b_tables, "key")
    titles = re.findall(r"^### (.+)$", text, flags=re.M)
    assert len(titles) == len(set(titles)), "a story repeated in the narrative"
    assert "## Key moments" in text


def test_payments_are_stated_against_the_agreed_price(b_tables):
    tx = b_tables["transactions"]
    tx = tx[tx["kind"] == "settlement"]
    deals = {m.subject: m for m in all_moments(b_tables)["Deals"]}
    checked = 0
    for deal, g in tx.groupby("deal"):
        paid, agreed = float(g["buyer_spend"].sum()), float(g["delivered_value"].sum())
        m = deals[f"deal:{int(deal)}"]
        assert f"worth ${agreed:,.2f} at the agreed price" in m.body
        if abs(paid - agreed) >= 0.005:
            gap, word = abs(paid - agreed), "more" if paid > agreed else "less"
            assert f"${gap:,.2f} ({gap / agreed:.1%}) {word}" in m.body
            assert m.cost_usd >= abs(paid - agreed) - 1e-6
            checked += 1
        else:
            assert "exactly the agreed value" in m.body
    assert checked, "the run is set up so that some deals are misbilled"


def test_every_story_states_its_cost(b_tables):
    for title, ms in all_moments(b_tables).items():
        for m in ms:
            assert "**Cost" in m.body, (title, m.title)


def test_rank_drops_a_story_whose_cost_was_already_told():
    from admarket.outputs.moments import Moment

    big = Moment("context_loss", "loss:x", 3, 100.0, 0, "t", "b", "l", covers=("deal:1",))
    same = Moment("deal", "deal:1", 2, 90.0, 0, "t", "b", "l")
    other = Moment("deal", "deal:2", 2, 10.0, 0, "t", "b", "l")
    assert [m.subject for m in rank([same, other, big])] == ["loss:x", "deal:2"]


def test_a_logs_sampled_auctions_without_changing_anything_else():
    cfg = build_config(**{**MID, "days": 3})
    quiet = MarketModel("A", cfg.replace(auction_log_rate=0.0)).run()
    loud = MarketModel("A", cfg.replace(auction_log_rate=0.05)).run()
    tq, tl = run_tables(quiet), run_tables(loud)
    for name in ("transactions", "campaigns", "daily_metrics", "agent_decisions", "step_metrics"):
        pd.testing.assert_frame_equal(tq[name], tl[name], check_like=True)
    sq, sl = full_summary(quiet), full_summary(loud)
    assert sq.keys() == sl.keys()
    assert all(sq[k] == v or (v != v and sq[k] != sq[k]) for k, v in sl.items())  # NaN == NaN
    logged = loud.events.of_kind("lot_auction")
    assert not quiet.events.of_kind("lot_auction")
    assert [r for r in loud.events.records if r["kind"] != "lot_auction"] == quiet.events.records
    wins = loud.events.counts["auction_wins"]
    assert len(logged) > 0 and wins > 0
    for e in logged:
        bids = [b["bid_cpm"] for b in e["bids"]]
        assert bids == sorted(bids, reverse=True)
        admitted = [b for b in e["bids"] if b["admitted"]]
        assert all(b["bid_cpm"] >= e["floor_cpm"] for b in admitted)
        winner = next(b for b in admitted if b["campaign"] == e["winner_campaign"])
        assert winner["bid_cpm"] == admitted[0]["bid_cpm"]  # the highest bid wins (ties: random)
        second = admitted[1]["bid_cpm"] if len(admitted) > 1 else 0.0
        assert e["clearing_cpm"] == pytest.approx(max(e["floor_cpm"], second), abs=1e-4)
        assert e["clearing_cpm"] <= admitted[0]["bid_cpm"] + 1e-9
        fee = sum(e["fees"].values())
        assert e["buyer_spend"] == pytest.approx(fee + e["seller_revenue"], abs=0.005)
        assert fee == pytest.approx(e["buyer_spend"] * cfg.exchange_fee, abs=0.01)
    # the sampled auctions are in the store's events and tell their own stories
    stored = tl["events"][tl["events"]["kind"] == "lot_auction"]
    assert len(stored) == len(logged)
    assert json.loads(stored["fields"].iloc[0])["bids"]
    auctions = all_moments(tl)["Auctions (a sample)"]
    assert len(auctions) == len({e["product"] for e in logged}) and "**Bids**" in auctions[0].body
    n_bids = [int(re.search(r"\*\*Bids\*\* \((\d+)\)", m.body).group(1)) for m in auctions]
    assert n_bids == sorted(n_bids, reverse=True)  # most contested first


def test_auction_log_rate_is_a_bounded_parameter():
    with pytest.raises(ConfigError, match="auction_log_rate"):
        build_config(auction_log_rate=1.5)
    assert build_config().auction_log_rate == 0.001


def test_an_exchange_run_without_a_single_auction_still_tells_its_story():
    """A market so small that nothing clears on the exchange: no clearing stories, and the
    narrative is written (the clearing stories once failed on an empty auction table)."""
    cfg = build_config(n_buyers=1, n_sellers=1, campaigns_per_buyer=1, days=1, seed=0)
    t = run_tables(MarketModel("A", cfg).run())
    assert not (t["transactions"]["kind"] == "auction").any()
    assert clearing_moments(t) == []
    assert render_narrative(t, "all").startswith("# Narrative: scenario A, seed 0")


def test_counts_of_one_in_the_narrative_are_singular():
    tables = run_tables(MarketModel("B", build_config(n_buyers=1, n_sellers=1, days=1)).run())
    tables["summaries"] = tables["summaries"].assign(
        facts_lost=1, restarts=1, disputes=1, hallucinated_decisions=1, decisions=1
    )
    daily = tables["daily_metrics"].assign(
        context_losses=1234, agent_restart_events=1, hallucinated_claims=0, claims=1
    )
    tables["daily_metrics"] = daily
    text = render_narrative(tables, "daily")  # (with the day-by-day digest)
    assert "1 of 1 decision used a wrong fact; 1 fact lost, 1 restart, 1 dispute." in text
    assert "0 of 1 claim wrong," in text
    assert re.search(r"\*\*Day 1\*\*: goal attainment [0-9.]+, 1,234 facts lost, 1 restart, ", text)


def test_a_campaign_short_of_its_goal_within_budget_is_told_so(b_tables):
    """A campaign that reached its impression goal only by overspending missed it (what its
    budget bought falls short), as the campaigns table says: its story tells the shortfall
    beside the overspend, not the overspend alone."""
    stories = {
        m.subject: m for m in all_moments(b_tables)["Campaigns over budget or short of their goal"]
    }
    told = 0
    for c in b_tables["campaigns"].itertuples():
        if c.hit_impression_goal or c.actual_impressions < c.target_impressions:
            continue  # only the campaigns that reached their goal only by overspending
        body = stories[f"campaign:{c.campaign_id}"].body
        assert "bought within its budget" in body and "short, worth" in body
        told += 1
    assert told, "the run is set up so that some campaign reaches its goal only by overspending"

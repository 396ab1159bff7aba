"""The market model end to end: scenarios run, reproduce, share demand and conserve."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from admarket import ConfigError, MarketModel
from admarket.market.accounting import FEE_COLUMNS
from admarket.market.generation import generate_market


@pytest.mark.parametrize("scenario", ["A", "B", "C"])
def test_one_day_one_buyer_one_seller(scenario):
    m = MarketModel(scenario, days=1, n_buyers=1, n_sellers=1).run()
    assert m.steps == 24 and not m.running
    s = m.summary()
    assert s["gross_spend"] > 0 and s["impressions"] > 0


def test_plan_scale_thirty_days(plan_runs):
    for sc, m in plan_runs.items():
        assert m.steps == 30 * 24
        out = m.campaign_outcomes()
        assert len(out) == 50 and out["actual_impressions"].sum() > 0, sc
        df = m.datacollector.get_model_vars_dataframe()
        assert len(df) == 30 * 24 + 1 and {"take_rate", "facts_lost"} <= set(df.columns)
        assert len(m.daily_metrics()) == 30


def test_same_seed_same_results_different_seed_different(small):
    a = MarketModel("B", seed=7, **small).run()
    b = MarketModel("B", seed=7, **small).run()
    c = MarketModel("B", seed=8, **small).run()
    pd.testing.assert_frame_equal(a.transactions(), b.transactions())
    pd.testing.assert_frame_equal(a.claim_audit(), b.claim_audit())
    assert a.summary() == b.summary()
    assert a.summary()["gross_spend"] != c.summary()["gross_spend"]


def test_scenarios_share_demand_and_supply(plan_runs):
    mk = {s: m.market for s, m in plan_runs.items()}
    for field in (
        "budget",
        "target_cpm",
        "max_cpm",
        "start_step",
        "end_step",
        "base_cpm",
        "hourly_avails",
        "adjacency",
        "pair_c",
        "pair_p",
        "pair_offsets",
    ):
        assert np.array_equal(getattr(mk["A"], field), getattr(mk["B"], field)), field
        assert np.array_equal(getattr(mk["A"], field), getattr(mk["C"], field)), field
    # a market is a pure function of its config
    assert np.array_equal(
        generate_market(plan_runs["A"].config).hourly_avails, mk["A"].hourly_avails
    )


def test_money_is_conserved_to_the_cent(plan_runs):
    for sc, m in plan_runs.items():
        tx = m.transactions()
        fees = tx[list(FEE_COLUMNS)].sum(axis=1)
        assert np.allclose(tx["buyer_spend"], tx["seller_revenue"] + fees, atol=1e-9), sc
        acc = m.accounts
        assert acc.gross == acc.net_to_publishers + acc.take
        # campaign-side books equal the transactions
        assert round(tx["buyer_spend"].sum(), 2) == round(acc.spent.sum() / 100, 2)


def test_the_market_graph_carries_every_dollar_that_changed_hands(plan_runs):
    """The deal-flow graph the explorer draws holds the run's money: in A the buyers'
    edges to the exchange carry their spend and the exchange's edges to sellers what
    publishers received; in B and C each buyer-seller edge carries what was paid on it."""
    for scenario, m in plan_runs.items():
        tx = m.transactions()
        spend = {"buyer": 0.0, "seller": 0.0}
        for u, v, attrs in m.graph.edges(data=True):
            for kind in spend:
                if u.startswith(kind) or v.startswith(kind):
                    spend[kind] += attrs["spend"]
                    assert attrs["spend"] == 0 or 0 <= attrs["last_step"] < m.config.steps
        assert spend["buyer"] == pytest.approx(tx["buyer_spend"].sum(), rel=1e-12)
        to_sellers = tx["seller_revenue" if scenario == "A" else "buyer_spend"].sum()
        assert spend["seller"] == pytest.approx(to_sellers, rel=1e-12) and to_sellers > 0


def test_never_more_delivered_than_available(plan_runs):
    a = plan_runs["A"]
    tx = a.transactions()
    per = tx.groupby(["product", "step"])["impressions"].sum() / a.config.lot_size
    avail = a.market.hourly_avails[per.index.get_level_values(0), per.index.get_level_values(1)]
    assert (per.to_numpy() <= avail).all()
    for sc in "BC":
        m = plan_runs[sc]
        b = m.book
        per_product = np.bincount(
            b.product[: b.n], weights=b.delivered[: b.n], minlength=m.market.n_products
        )
        assert (per_product <= m.market.hourly_avails.sum(axis=1)).all()
        assert (b.field("delivered") <= b.field("volume")).all()


def test_no_campaign_overspends_in_a(plan_runs):
    out = plan_runs["A"].campaign_outcomes()
    assert (out["spend"] <= out["budget"] + 1e-9).all()


def test_exchange_fee_is_restated_as_take_rate(small):
    zero = MarketModel("A", exchange_fee=0.0, **small).run().summary()
    assert zero["intermediary_take"] == 0 and zero["gross_spend"] > 0
    for fee in (0.1, 0.2):
        s = MarketModel("A", exchange_fee=fee, **small).run().summary()
        assert s["take_rate"] == pytest.approx(fee, abs=1e-4)


def test_bad_scenario_is_a_config_error():
    with pytest.raises(ConfigError, match="scenario"):
        MarketModel("D")


def test_batch_run_style_rng_is_the_seed(small):
    a = MarketModel("A", rng=5, **small)
    assert a.config.seed == 5


def test_stepping_past_the_end_is_a_clear_error(small):
    m = MarketModel("A", **{**small, "days": 1}).run()
    with pytest.raises(RuntimeError, match=r"run has ended: it is 1 day \(24 steps\) long"):
        m.step()


def test_abundant_inventory_clears_near_the_floor_and_scarce_inventory_above_it(small):
    """Emergent pricing in A: the same campaigns pay more when supply is scarce."""

    def floor_ratio(avails):
        m = MarketModel("A", daily_avails_min=avails, daily_avails_max=avails, **small).run()
        tx = m.transactions()
        floors = m.market.floor_cpm[tx["product"].to_numpy()]
        return float((tx["cpm"] * tx["impressions"]).sum() / (floors * tx["impressions"]).sum())

    plenty, scarce = floor_ratio(20_000_000), floor_ratio(200_000)
    assert 1.0 <= plenty < scarce


def test_a_fourth_design_is_one_class(small):
    """An exchange that also writes a ledger: one subclass, no change to the model."""
    from admarket.scenarios.designs import DESIGNS, ExchangeDesign, LedgerDesign

    class LedgeredExchange(ExchangeDesign):
        letter = "D"
        title = "exchange with a ledger"

    assert "D" not in DESIGNS
    plain = MarketModel("A", **small).run()
    both = MarketModel(LedgeredExchange, **small).run()
    assert both.scenario_id == "D"
    assert both.summary()["gross_spend"] == plain.summary()["gross_spend"]
    assert isinstance(MarketModel("C", **small).design, LedgerDesign)


def test_scenario_keyword_is_mesas_not_the_design(small):
    from mesa.experimental.scenarios import Scenario

    with pytest.raises(ConfigError, match="design"):
        MarketModel(scenario="B", **small)
    m = MarketModel("B", scenario=Scenario(rng=9, days=2), n_buyers=2)
    assert (m.config.seed, m.config.days, m.config.n_buyers) == (9, 2, 2)

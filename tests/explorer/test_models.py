"""The explorer's models: text seeds, Mesa's Reset path, incremental marks, A/B/C in step."""

from __future__ import annotations

import numpy as np
import pytest
from mesa.experimental.scenarios import Scenario
from mesa.visualization.solara_viz import _build_model_init_kwargs, _check_model_params

from admarket.config import ConfigError
from admarket.viz.models import CompareModel, ExplorerModel, coerce_seed
from admarket.viz.params import COMPARE_PARAMS, MODEL_PARAMS, initial_values

SMALL = {"n_buyers": 3, "n_sellers": 3, "days": 2}


@pytest.mark.parametrize(("text", "seed"), [("7", 7), (" 7 ", 7), ("7.0", 7), (7, 7), (0, 0)])
def test_seed_from_a_text_box_is_an_integer(text: object, seed: int) -> None:
    assert coerce_seed(text) == seed
    assert ExplorerModel("A", seed=text, **SMALL).config.seed == seed


@pytest.mark.parametrize("bad", ["", "abc", "7.5", "-1", True])
def test_bad_seed_names_the_field(bad: object) -> None:
    with pytest.raises(ConfigError, match="seed"):
        coerce_seed(bad)


def test_controls_build_a_model_and_reset_rebuilds_it() -> None:
    model = ExplorerModel(**initial_values(MODEL_PARAMS))
    _check_model_params(model, MODEL_PARAMS)  # what SolaraViz checks on every model
    assert model.scenario_id == MODEL_PARAMS["scenario_id"]["value"]
    params = {**initial_values(MODEL_PARAMS), "scenario_id": "C", "seed": "9", **SMALL}
    # Mesa's Reset adds its own Scenario object as `scenario`; the trading design survives it
    kwargs = _build_model_init_kwargs(
        model, params, add_scenario_when_empty=True, require_model_accepts_scenario=True
    )
    assert isinstance(kwargs["scenario"], Scenario)
    rebuilt = type(model)(**kwargs)
    assert (rebuilt.scenario_id, rebuilt.config.seed, rebuilt.config.n_buyers) == ("C", 9, 3)


def test_watch_marks_match_a_full_rescan() -> None:
    m = ExplorerModel("B", seed=3, restart_rate=0.2, hallucination_rate=0.3, **SMALL)
    while m.running:
        m.step()
    from_events = {r["agent"] for r in m.events.records if r["kind"] == "hallucination"}
    from_claims = {m.claims.decision_agent[d] for d in m.claims.bad_decisions}
    assert m.watch.hallucinated == from_events | from_claims
    assert m.watch.hallucinated  # the run is set up so that someone hallucinates


def test_recent_spend_is_the_last_days_flow() -> None:
    m = ExplorerModel("A", seed=5, **{**SMALL, "days": 3})
    for _ in range(30):
        m.step()
    before = np.array([m.graph.edges[e]["spend"] for e in m.watch.edges])
    for _ in range(24):
        m.step()
    now = np.array([m.graph.edges[e]["spend"] for e in m.watch.edges])
    assert np.allclose(m.watch.recent_spend, now - before)
    assert m.watch.via_exchange.all()  # every edge in A runs through the exchange


def test_compare_holds_three_markets_on_one_seed_stepping_together() -> None:
    c = CompareModel(**{**initial_values(COMPARE_PARAMS), "seed": "11", **SMALL})
    assert list(c.markets) == ["A", "B", "C"]
    assert {m.config.seed for m in c.markets.values()} == {11}
    assert {m.config for m in c.markets.values()} == {c.config}
    for _ in range(5):
        c.step()
    assert c.steps == 5
    assert [m.steps for m in c.markets.values()] == [5, 5, 5]
    while c.running:
        c.step()
    assert c.steps == 48 and not any(m.running for m in c.markets.values())

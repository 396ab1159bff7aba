"""Browserless: render the explorer pages with ``solara.render`` and drive Mesa's controls.

SolaraViz puts its controls in a Sidebar, which only shows inside an AppLayout (``solara
run`` adds one around each page; ``solara.render`` does not), so pages are wrapped here.
"""

from __future__ import annotations

import io
import time
from collections.abc import Iterator
from typing import Any

import ipyvuetify as vw
import ipywidgets as widgets
import pytest
import solara
from mesa.visualization import SolaraViz

from admarket.viz import app, side_by_side
from admarket.viz.feed import latest
from admarket.viz.graph import market_figure
from admarket.viz.models import CompareModel, ExplorerModel
from admarket.viz.params import COMPARE_PARAMS, MODEL_PARAMS

SMALL = {"n_buyers": 3, "n_sellers": 3, "days": 2}


def _render(page: solara.Element) -> Any:
    _box, rc = solara.render(solara.AppLayout(children=[page]), handle_error=False)
    return rc


@pytest.fixture
def explorer() -> Iterator[tuple[solara.Reactive, Any]]:
    """The explorer page around a reactive model, so the test sees what Reset builds."""
    model = solara.reactive(ExplorerModel("B", seed=42, **SMALL))
    page = SolaraViz(model, components=app.COMPONENTS, model_params=MODEL_PARAMS)
    rc = _render(page)
    yield model, rc
    rc.close()


def _click(rc: Any, label: str) -> None:
    rc.find(vw.Btn, children=[label]).widget.click()


def test_step_button_advances_the_model_and_redraws(explorer) -> None:
    model, rc = explorer
    images = rc.find(widgets.Image)
    assert len(images.widgets) == 1 + len(app.COMPONENTS) - 2  # graph + 4 chart groups
    before = [w.value for w in images.widgets]
    _click(rc, "Step")
    _click(rc, "Step")
    assert model.value.steps == 2
    rc.find(children=["Time: 2.0"]).assert_single()
    after = [w.value for w in rc.find(widgets.Image).widgets]
    assert after[0] != before[0], "the market graph did not redraw"


def test_reset_takes_a_typed_seed_and_the_chosen_scenario(explorer) -> None:
    model, rc = explorer
    _click(rc, "Step")
    seed_box = rc.find(vw.TextField, label="Seed").widget
    seed_box.v_model = "7"
    seed_box.fire_event("focusout", None)  # solara.InputText applies on blur / Enter
    rc.find(vw.Select, label=MODEL_PARAMS["scenario_id"]["label"]).widget.v_model = "C"
    _click(rc, "Reset")
    m = model.value
    assert isinstance(m, ExplorerModel)
    assert (m.scenario_id, m.config.seed, m.steps) == ("C", 7, 0)
    assert isinstance(m.config.seed, int)


def test_app_pages_render_with_their_own_models() -> None:
    rc = _render(app.Explorer())
    assert len(rc.find(widgets.Image).widgets) == 5
    rc.find(children=["Time: 0.0"]).assert_single()
    rc.close()


def test_side_by_side_holds_three_models_on_one_seed() -> None:
    model = solara.reactive(CompareModel(seed="5", **SMALL))
    page = SolaraViz(model, components=side_by_side.COMPONENTS, model_params=COMPARE_PARAMS)
    rc = _render(page)
    markets = model.value.markets
    assert list(markets) == ["A", "B", "C"]
    assert {m.config.seed for m in markets.values()} == {5}
    _click(rc, "Step")
    assert [m.steps for m in model.value.markets.values()] == [1, 1, 1]
    html = " ".join(w.unsafe_innerHTML for w in rc.find(solara.widgets.HTML).widgets)
    assert "<th>A</th><th>B</th><th>C</th>" in html  # the scoreboard
    assert html.count("latest events") == 3  # the narrative, one block per scenario
    rc.close()
    rc = _render(side_by_side.SideBySide())
    assert len(rc.find(widgets.Image).widgets) == 5  # graphs + 4 chart groups
    rc.close()


def test_narrative_tells_events_in_words() -> None:
    m = ExplorerModel("B", seed=3, hallucination_rate=0.3, **SMALL)
    for _ in range(30):
        m.step()
    lines = latest(m, 50)
    assert lines and all(line.startswith("Day ") for line in lines)
    assert any("booked" in line for line in lines)
    assert any("fabricated fact" in line for line in lines)


def test_graph_draws_fast_at_scale() -> None:
    m = ExplorerModel("B", seed=1, n_buyers=500, n_sellers=200, days=1)
    assert m.graph.number_of_edges() >= 2000
    start = time.perf_counter()
    market_figure(m.markets).savefig(io.BytesIO(), format="png")
    assert time.perf_counter() - start < 3.0  # about 0.3 s on a 2-core CI machine

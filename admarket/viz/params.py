"""The explorer's controls, as Mesa ``model_params``, and the page they drive.

Controls: scenario, seed, size, days and rates. Defaults come from
:class:`~admarket.MarketConfig`, so the explorer opens on the same market as ``admarket
run``. The seed is a text box (Mesa's convention); the models turn its text into an
integer. The side-by-side page uses the same controls without the scenario.
:func:`make_page` wraps a model class in Mesa's SolaraViz with one model per browser session.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import solara
from mesa.visualization import SolaraViz

from admarket.config import SCENARIOS, MarketConfig

_D = MarketConfig()


def _slider(label: str, value: float, lo: float, hi: float, step: float) -> dict[str, Any]:
    kind = "SliderInt" if isinstance(step, int) else "SliderFloat"
    return {"type": kind, "label": label, "value": value, "min": lo, "max": hi, "step": step}


MODEL_PARAMS: dict[str, Any] = {
    "scenario_id": {
        "type": "Select",
        "label": "Scenario (A exchange, B agent-to-agent, C + ledger)",
        "value": "B",
        "values": list(SCENARIOS),
    },
    "seed": {"type": "InputText", "label": "Seed", "value": _D.seed},
    "n_buyers": _slider("Buyers", _D.n_buyers, 1, 500, 1),
    "n_sellers": _slider("Sellers (publishers)", _D.n_sellers, 1, 200, 1),
    "campaigns_per_buyer": _slider("Campaigns per buyer", _D.campaigns_per_buyer, 1, 50, 1),
    "days": _slider("Days", _D.days, 1, 90, 1),
    "exchange_fee": _slider("Exchange fee (A)", _D.exchange_fee, 0.0, 0.5, 0.01),
    "decay_rate": _slider("Memory decay per day (B, C)", _D.decay_rate, 0.0, 0.2, 0.005),
    "restart_rate": _slider("Restart probability per day", _D.restart_rate, 0.0, 0.2, 0.005),
    "hallucination_rate": _slider("Hallucination rate", _D.hallucination_rate, 0.0, 0.5, 0.01),
    "records_per_blob": _slider("Ledger records per blob (C)", _D.records_per_blob, 10, 5000, 10),
}

COMPARE_PARAMS: dict[str, Any] = {k: v for k, v in MODEL_PARAMS.items() if k != "scenario_id"}


def initial_values(params: dict[str, Any]) -> dict[str, Any]:
    """The keyword arguments the controls start at (what Reset passes before any change)."""
    return {k: v["value"] if isinstance(v, dict) and "type" in v else v for k, v in params.items()}


def make_page(
    model_cls: type, params: dict[str, Any], components: list[Any], name: str
) -> Callable[[], solara.Element]:
    """A page component: a ``model_cls`` built from the controls' start values, in SolaraViz."""

    @solara.component
    def Page() -> solara.Element:
        model = solara.use_memo(lambda: model_cls(**initial_values(params)), [])
        return SolaraViz(model, components=list(components), model_params=params, name=name)

    Page.__name__ = model_cls.__name__.removesuffix("Model") + "Page"
    return Page

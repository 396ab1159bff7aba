"""admarket explorer: the ad market in Mesa's SolaraViz, fully offline.

Two pages. **Home** runs one scenario: the market graph (deal flow over the last day,
agents marked when they forget, restart or act on a fabricated fact), the narrative feed
of key events, and live KPI charts. **side-by-side** runs A, B and C on the same seed,
stepping together, with the same charts on shared axes. Controls are Mesa's: scenario,
seed, market size, days, fee and memory rates; Reset rebuilds the model from them.

Run: ``admarket explore`` or ``solara run admarket/viz/app.py``.
"""

from __future__ import annotations

import solara

from admarket.viz.charts import CHART_COMPONENTS
from admarket.viz.feed import NarrativeFeed
from admarket.viz.graph import MarketGraph
from admarket.viz.models import ExplorerModel
from admarket.viz.params import MODEL_PARAMS, make_page
from admarket.viz.side_by_side import SideBySide

COMPONENTS = [MarketGraph, NarrativeFeed, *CHART_COMPONENTS]
Explorer = make_page(ExplorerModel, MODEL_PARAMS, COMPONENTS, "admarket explorer")

routes = [
    solara.Route(path="/", component=Explorer, label="Explorer"),
    solara.Route(path="side-by-side", component=SideBySide, label="A | B | C"),
]
page = Explorer()

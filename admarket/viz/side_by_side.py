"""The side-by-side page: scenarios A, B and C on the same seed, stepping together.

One :class:`~admarket.viz.models.CompareModel` holds the three markets, so Mesa's own
controller steps, plays and resets them as one model: they can never drift apart in time,
and Reset rebuilds all three from the same controls. Every chart puts A, B and C in
columns on a shared y-axis per row, so a class can watch B drift while C holds.
"""

from __future__ import annotations

from admarket.viz.charts import CHART_COMPONENTS
from admarket.viz.feed import NarrativeFeed, Scoreboard
from admarket.viz.graph import MarketGraph
from admarket.viz.models import CompareModel
from admarket.viz.params import COMPARE_PARAMS, make_page

COMPONENTS = [MarketGraph, Scoreboard, *CHART_COMPONENTS, NarrativeFeed]
SideBySide = make_page(
    CompareModel, COMPARE_PARAMS, COMPONENTS, "admarket — A | B | C side by side"
)

"""Browserless: the pages render with ``solara.render`` and draw their pictures: every
chart, a market graph per scenario with what its edges mean. The clock, the sidebar, rebuilds
and navigation have their own files (test_clock, test_sidebar, test_rebuild,
test_navigation); the helpers they share are in :mod:`tests.explorer.render`."""

from __future__ import annotations

import re
from typing import Any

import pytest

from admarket.viz.page import Explorer, SideBySide
from admarket.viz.vega import VegaChart
from admarket.viz.widgets import LiveHtml
from tests.explorer.render import _clock, _render, _step

pytestmark = pytest.mark.usefixtures("fresh_pages")


def test_the_explorer_renders_and_its_buttons_move_the_clock() -> None:
    rc = _render(Explorer())
    charts = rc.find(VegaChart).widgets
    assert len(charts) == 1 + 1 + 7  # graph, memory bars, every panel but the ledger's (B)
    assert {w.tag for w in charts} == {"0"}
    assert "day 1, 00:00 (start)" in _clock(rc)
    _step(rc, "+1 hour", "day 1, 01:00")
    _step(rc, "+1 day", "end of day 1")
    assert "step 24 of 720" in _clock(rc)
    assert {w.tag for w in rc.find(VegaChart).widgets} == {"24"}
    feed = [w.html for w in rc.find(LiveHtml).widgets if "day 1," in w.html]
    assert feed, "the feed did not follow the clock"
    rc.close()


def _captions(rc: Any) -> list[str]:
    return [w.html for w in rc.find(LiveHtml).widgets if w.html.startswith("Edge width")]


def test_each_market_graph_says_what_its_edge_widths_mean_in_dollars() -> None:
    rc = _render(Explorer())
    (caption,) = _captions(rc)
    assert caption.startswith("Edge width: US dollars along the edge over the last 24 simulated")
    assert "none yet" in caption  # nothing traded before the first hour
    _step(rc, "+1 day", "end of day 1")
    assert re.search(r"the thickest line is <b>\$[\d,.]+</b>", _captions(rc)[0])
    rc.close()
    rc = _render(SideBySide())
    assert len(_captions(rc)) == 3  # one per scenario: each has its own busiest edge
    rc.close()


def test_side_by_side_draws_three_markets() -> None:
    rc = _render(SideBySide())
    titles = [w.title for w in rc.find(VegaChart).widgets if w.title]
    assert [t.split(" — ")[1] for t in titles] == ["A", "B", "C"]
    _step(rc, "+1 day", "end of day 1")
    assert {w.tag for w in rc.find(VegaChart).widgets} == {"24"}
    rc.close()

"""Browserless: rebuilds. Reset, Apply and a first visit build new markets, each arming once,
the page saying that it is building; a rebuild drops the cards of the scenarios it replaced."""

from __future__ import annotations

import threading
from typing import Any

import ipyvuetify as vw
import pytest
import solara

from admarket.viz.page import Explorer
from admarket.viz.session import Settings
from admarket.viz.stage import SCENARIO_NAMES
from admarket.viz.state import Drawer, PageState
from admarket.viz.widgets import LiveHtml
from tests.explorer.render import (
    SMALL,
    _busy,
    _click,
    _clock,
    _one,
    _render,
    _Routed,
    _settled,
    _status,
    _step,
    _wait,
)

pytestmark = pytest.mark.usefixtures("fresh_pages")


def test_an_arming_is_built_once_however_many_rebuild_threads_start(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Solara's threaded task starts a thread per call: two quick armings could start two
    # threads that both read the last one and both built it, the second swapping its
    # markets in under a run started after the first had shown (review, 2026-11-28)
    from admarket.viz import state as state_module

    state = PageState(Settings(SMALL, ("B",)), compare=False)
    built: list[int] = []
    real = state_module.Session

    def counted(settings: Settings) -> Any:
        built.append(settings.config.seed)
        return real(settings)

    monkeypatch.setattr(state_module, "Session", counted)
    state.set_field("seed", "5")
    assert state.apply() is not None
    state.set_field("seed", "6")
    assert state.apply() is not None  # armed again before any thread ran
    state.rebuild()
    shown = state.session.value
    assert shown.config.seed == 6 and not state.building.value
    state.rebuild()  # the second thread: the arming is taken, nothing is built
    assert built == [6] and state.session.value is shown


def test_a_rebuild_skips_and_drops_the_previous_scenarios_cards() -> None:
    # The cards of B are unregistered only when reacton renders the page of C, which can
    # come after the rebuild's first frame: that frame must not ask the new session for B.
    state = PageState(Settings(SMALL, ("B",)), compare=False)
    seen: list[str] = []
    state.drawers["graph-B"] = Drawer(lambda s: seen.append(s.markets["B"].scenario), "B")
    state.drawers["chart"] = Drawer(lambda s: seen.append("chart"))
    state.draft_scenario.value = "C"
    assert state.apply() is not None
    state.rebuild()
    assert state.status.value.startswith("Reset: new markets built"), state.status.value
    assert seen == ["chart"] and set(state.drawers) == {"chart"}


def test_switching_scenario_again_and_again_rebuilds_without_an_error() -> None:
    pushed: list[str] = []
    _box, rc = solara.render(_Routed(Explorer(), pushed), handle_error=False)
    for scenario in ("A", "C", "B", "C", "A", "B"):
        _one(rc, vw.Select, label="Scenario").v_model = scenario
        _click(rc, "Apply and reset")
        title = f"Market graph — {SCENARIO_NAMES[scenario]}"
        _wait(lambda title=title: _settled(rc, title))
        (status,) = _status(rc)
        assert status.startswith("Reset: new markets built"), status
        assert f"?scenario={scenario}&" in pushed[-1]
    rc.close()


def test_a_large_market_is_built_while_the_page_shows_it_is_building(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A first visit builds the markets before the page can draw them: a large market (seconds)
    # in a task, the page saying meanwhile that it is building instead of looking frozen.
    from admarket.viz import page

    entered, release = threading.Event(), threading.Event()

    def slow_build(*args: Any) -> PageState:
        entered.set()
        release.wait(10)
        return PageState(*args)

    monkeypatch.setattr(page, "BUILD_IN_PAGE_UP_TO", 0, raising=False)  # all count as large
    monkeypatch.setattr(page, "PageState", slow_build)
    rc = _render(Explorer())
    assert entered.wait(30), "the build did not start"
    assert _busy(rc)
    alerts = [str(w.children) for w in rc.find(vw.Alert).widgets]
    assert any("Building the market" in a for a in alerts), alerts
    assert not rc.find(LiveHtml).widgets  # no clock yet
    release.set()
    _wait(lambda: not _busy(rc) and bool(rc.find(LiveHtml).widgets))
    assert "day 1, 00:00 (start)" in _clock(rc)
    _step(rc, "+1 hour", "day 1, 01:00")
    rc.close()
    monkeypatch.undo()
    for compare in (False, True):  # the defaults are small: built at once, as every test does
        assert page.build_size(page.link_settings(compare, None)[0]) <= page.BUILD_IN_PAGE_UP_TO

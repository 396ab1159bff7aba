"""Browserless: the pages and their addresses. Each browser session keeps its own page
states across routes; the page tabs carry the applied settings to the other page; a page
follows its address (Back, Forward, a link), with or without a trailing slash."""

from __future__ import annotations

import asyncio
from typing import Any

import ipyvuetify as vw
import pytest
import solara

from admarket.config import SCENARIOS
from admarket.viz import app
from admarket.viz.page import PATHS, Explorer, SideBySide, page_path, page_state
from admarket.viz.params import to_query
from admarket.viz.session import Settings
from admarket.viz.state import Drawer, PageState
from tests.explorer.render import (
    SMALL,
    _Browser,
    _click,
    _clock,
    _counting_builds,
    _go_to_page,
    _History,
    _one,
    _render,
    _Routed,
    _showing,
    _status,
    _step,
    _Tab,
    _wait,
)

pytestmark = pytest.mark.usefixtures("fresh_pages")


def test_going_to_the_other_page_and_back_keeps_settings_draft_and_clock() -> None:
    # A route change unmounts one page and mounts the other: closing a render is leaving.
    rc = _render(Explorer())
    _step(rc, "+1 day", "end of day 1")
    _one(rc, vw.TextField, label="Buyers").v_model = "3"
    _one(rc, vw.Select, label="Draw a frame").v_model = "every week"
    _one(rc, vw.TextField, label="Run to day").v_model = ""  # being retyped
    assert _one(rc, vw.TextField, label="Run to day").v_model == ""
    _one(rc, vw.TextField, label="Run to day").v_model = "2"
    _one(rc, vw.Tabs, class_="am-tabs").v_model = 2  # Share and export
    rc.close()
    rc = _render(SideBySide())
    _step(rc, "+1 hour", "day 1, 01:00")
    rc.close()
    rc = _render(Explorer())
    assert "end of day 1" in _clock(rc)
    assert _one(rc, vw.TextField, label="Buyers ●").v_model == "3"
    assert _one(rc, vw.Select, label="Draw a frame").v_model == "every week"
    assert _one(rc, vw.TextField, label="Run to day").v_model == "2"
    assert _one(rc, vw.Tabs, class_="am-tabs").v_model == 2
    _step(rc, "+1 hour", "day 2, 01:00")
    rc.close()
    rc = _render(SideBySide())
    assert "day 1, 01:00" in _clock(rc)  # each page keeps its own run
    rc.close()


# error: a context made without its event loop asks asyncio for the current one, which
# Python 3.12 deprecates when there is none; the server gives each kernel its loop, as here
@pytest.mark.filterwarnings("error::DeprecationWarning")
def test_page_state_is_kept_per_browser_session(monkeypatch: pytest.MonkeyPatch) -> None:
    # Under the server each browser session has its own kernel; two never share a page.
    from solara import toestand
    from solara.server import kernel, kernel_context

    monkeypatch.setattr(toestand, "_using_solara_server", lambda: True)
    made = []
    for name in ("one", "two"):
        loop = asyncio.new_event_loop()
        ctx = kernel_context.VirtualKernelContext(
            id=f"test-{name}",
            kernel=kernel.Kernel(),
            session_id=f"session-{name}",
            event_loop=loop,
        )
        with ctx:
            made.append(page_state(False, "n_buyers=2&n_sellers=2&days=3"))
            assert page_state(False, None) is made[-1]
        kernel_context.contexts.pop(ctx.id, None)
        loop.close()
    assert made[0] is not made[1]
    assert page_state(False, "n_buyers=2&n_sellers=2&days=3") not in made


def test_the_app_has_its_three_routes() -> None:
    assert [r.path for r in app.routes] == ["/", "side-by-side", "saved"]


def test_the_page_tabs_go_to_the_other_page_with_this_pages_applied_settings() -> None:
    # A market set up on one page is the one compared on the other: the tab's address holds
    # this page's applied settings (never the draft) on the other page's own scenarios.
    link = "n_buyers=2&n_sellers=2&campaigns_per_buyer=3&days=3&scenario=A"
    pushed: list[str] = []
    home = page_state(False, link)
    _box, rc = solara.render(_Routed(Explorer(), pushed, f"/?{link}"), handle_error=False)
    _one(rc, vw.TextField, label="Buyers").v_model = "3"  # a draft, not applied
    _go_to_page(rc, 1)
    carried = Settings(home.applied.config, SCENARIOS)
    assert pushed == [f"/side-by-side?{to_query(carried, with_scenario=False)}"]
    assert "n_buyers=2" in pushed[0] and "days=3" in pushed[0] and "scenario" not in pushed[0]
    rc.close()
    _box, rc = solara.render(_Routed(SideBySide(), pushed, pushed[0]), handle_error=False)
    sbs = page_state(True, None)
    assert sbs.applied == carried  # not visited yet: built from the address
    _one(rc, vw.TextField, label="Seed").v_model = "5"
    _click(rc, "Apply and reset")
    _wait(lambda: sbs.applied.config.seed == 5 and not sbs.building.value)
    pushed.clear()
    _go_to_page(rc, 0)  # Home's own scenario, side by side's applied settings
    assert pushed == [f"/?{to_query(Settings(sbs.applied.config, ('A',)))}"]
    assert "scenario=A" in pushed[0] and "seed=5" in pushed[0] and "n_buyers=2" in pushed[0]
    _go_to_page(rc, 1)  # the page shown: no navigation
    assert len(pushed) == 1
    rc.close()


def test_back_and_forward_show_the_settings_applied_at_that_address(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The address changed on Back but the page did not: a query set a page up only on its
    # first visit. Now the page follows its address; Apply's own entry builds once.
    from admarket.viz import state as state_module

    built: list[int] = []

    def counted(settings: Settings) -> Any:
        built.append(settings.config.seed)
        return real(settings)

    real = state_module.Session
    monkeypatch.setattr(state_module, "Session", counted)
    link = "n_buyers=2&n_sellers=2&campaigns_per_buyer=3&days=3&seed=1"
    history = _History(f"/?{link}")
    _box, rc = solara.render(_Browser(Explorer(), history), handle_error=False)
    state = page_state(False, None)
    assert state.applied.config.seed == 1 and state.applied.config.days == 3

    def shown(seed: int) -> bool:
        """The page shows the run of ``seed``, built (the state alone is set before the
        rebuild's thread has drawn it)."""
        ready = state.applied.config.seed == seed and not state.building.value
        return ready and _showing(rc, "(start)")

    _step(rc, "+1 day", "end of day 1")
    _one(rc, vw.TextField, label="Seed").v_model = "5"
    _click(rc, "Apply and reset")
    _wait(lambda: shown(5))
    assert history.entries == [f"/?{link}", f"/?{to_query(state.applied)}"]
    assert built == [1, 5]  # the first visit, then Apply once: not again for its address
    _step(rc, "+1 hour", "day 1, 01:00")
    history.back()
    _wait(lambda: shown(1))
    assert built == [1, 5, 1] and state.applied.config.days == 3
    assert "day 1, 00:00 (start)" in _clock(rc)
    assert _one(rc, vw.TextField, label="Seed").v_model == "1"  # the draft too, no ●
    history.forward()
    _wait(lambda: shown(5))
    assert built == [1, 5, 1, 5]
    # a link followed: its valid items are applied, the conflicting pair left out and named
    history.go("/?seed=9&days=2&flight_days_min=10&flight_days_max=5")
    _wait(lambda: shown(9))
    assert state.applied.config.days == 2
    (warning,) = [
        w.children[0] for w in rc.find(vw.Alert).widgets if "am-link-problems" in w.class_
    ]
    assert warning.startswith(
        "Ignored from the link: flight_days_min=10 & flight_days_max=5 together break a rule"
    )
    history.back()  # an address without problems clears the warning
    _wait(lambda: shown(5))
    assert not rc.find(vw.Alert, class_="am-link-problems").widgets
    assert built == [1, 5, 1, 5, 9, 5] and len(history.entries) == 3
    rc.close()


def test_back_during_applys_build_shows_only_the_address_gone_back_to(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Back pressed while Apply's markets are built arms a rebuild of the earlier settings:
    # the build Apply started must not show its markets (nor say it reset) when it ends.
    from admarket.viz import state as state_module

    before = Settings(SMALL, ("B",))
    state = PageState(before, compare=False)
    shown = state.session.value
    drawn: list[int] = []
    state.drawers["probe"] = Drawer(lambda s: drawn.append(s.config.seed))
    real = state_module.Session

    def back_while_building(settings: Settings) -> Any:
        if settings.config.seed == 5:
            assert state.follow(before, [])  # the page's address went back meanwhile
        return real(settings)

    monkeypatch.setattr(state_module, "Session", back_while_building)
    state.set_field("seed", "5")
    assert state.apply() is not None
    state.rebuild()  # Apply's build, superseded while it ran
    assert state.session.value is shown and state.building.value and not state.status.value
    state.rebuild()  # the rebuild the Back armed: new markets of the earlier settings
    assert state.session.value is not shown and state.applied == before
    assert not state.building.value and state.status.value.startswith(
        "Settings from the address: new markets"
    )
    assert drawn == [SMALL.seed] and state.changes() == set()
    assert not state.follow(before, [])  # the address of what is shown: nothing to build


LINK = "n_buyers=2&n_sellers=2&campaigns_per_buyer=3&days=3&decay_rate=0.137&seed=1&scenario=A"


def test_settings_carried_to_a_page_not_visited_yet_build_it_and_same_settings_keep_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Decay 0.137 set on Home, then side by side to compare: its defaults were shown there
    # without a word. Now it is built from the tab's address, as from a shared link, and
    # says where its settings came from; going back to a page with the same settings keeps
    # its run, clock and draft.
    from admarket.viz import page

    built = _counting_builds(monkeypatch)
    # every first visit built in a task, as a large market's: the note is read in the render
    monkeypatch.setattr(page, "BUILD_IN_PAGE_UP_TO", 0)
    history = _History(f"/?{LINK}")
    _box, rc = solara.render(_Tab(history), handle_error=False)
    _wait(lambda: _showing(rc, "(start)"))
    home = page_state(False, None)
    _step(rc, "+1 day", "end of day 1")
    _one(rc, vw.TextField, label="Buyers").v_model = "3"  # a draft: not carried
    _go_to_page(rc, 1)
    _wait(lambda: _showing(rc, "day 1, 00:00 (start)"))
    sbs = page_state(True, None)
    assert sbs.applied == Settings(home.applied.config, SCENARIOS)
    assert sbs.applied.config.decay_rate == 0.137 and sbs.applied.config.n_buyers == 2
    (status,) = _status(rc)
    assert status.startswith("Settings carried over from Home: new markets built"), status
    assert built == [(("A",), 1), (SCENARIOS, 1)]
    _step(rc, "+1 hour", "day 1, 01:00")
    # the sidebar of a page built in a task can come a render after its clock (2 of 5 runs
    # found no settings fields there yet)
    _wait(lambda: len(rc.find(vw.TextField, label="Seed").widgets) == 1)
    _one(rc, vw.TextField, label="Seed").v_model = "8"  # side by side's own draft
    _go_to_page(rc, 0)  # the same settings: Home as it was left
    _wait(lambda: _showing(rc, "end of day 1"))
    _wait(lambda: len(rc.find(vw.TextField, label="Buyers ●").widgets) == 1)
    assert _one(rc, vw.TextField, label="Buyers ●").v_model == "3"
    assert not _status(rc)  # not rebuilt: nothing to say
    _go_to_page(rc, 1)
    _wait(lambda: _showing(rc, "day 1, 01:00"))
    _wait(lambda: len(rc.find(vw.TextField, label="Seed ●").widgets) == 1)
    assert _one(rc, vw.TextField, label="Seed ●").v_model == "8"
    assert built == [(("A",), 1), (SCENARIOS, 1)]  # nothing built again
    assert len(history.entries) == 4
    rc.close()


def test_settings_carried_to_a_visited_page_rebuild_it_on_its_own_scenario(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A page showing other settings is rebuilt with the carried ones by following its
    # address (its scenario kept, its draft replaced, its status saying why); Back and
    # Forward still show what each address stands for.
    built = _counting_builds(monkeypatch)
    history = _History(f"/?{LINK}")
    _box, rc = solara.render(_Tab(history), handle_error=False)
    home = page_state(False, None)
    _go_to_page(rc, 1)
    _wait(lambda: _showing(rc, "(start)"))
    sbs = page_state(True, None)
    _one(rc, vw.TextField, label="Seed").v_model = "5"
    _click(rc, "Apply and reset")
    _wait(lambda: sbs.applied.config.seed == 5 and _showing(rc, "(start)"))
    _step(rc, "+1 hour", "day 1, 01:00")
    _go_to_page(rc, 0)
    _wait(lambda: home.applied.config.seed == 5 and _showing(rc, "(start)"))
    assert home.applied == Settings(sbs.applied.config, ("A",))  # Home's scenario, still A
    assert home.applied.config.decay_rate == 0.137
    (status,) = _status(rc)
    assert status.startswith("Settings carried over from side-by-side: new markets"), status
    assert _one(rc, vw.TextField, label="Seed").v_model == "5"  # the draft: no ●
    assert built == [(("A",), 1), (SCENARIOS, 1), (SCENARIOS, 5), (("A",), 5)]
    # Home's own Apply, then side by side again: rebuilt with Home's seed, A, B and C kept
    _one(rc, vw.TextField, label="Seed").v_model = "6"
    _click(rc, "Apply and reset")
    _wait(lambda: home.applied.config.seed == 6 and _showing(rc, "(start)"))
    _go_to_page(rc, 1)
    _wait(lambda: sbs.applied.config.seed == 6 and _showing(rc, "(start)"))
    assert sbs.applied.scenarios == SCENARIOS
    assert {s.split(":")[0] for s in _status(rc)} == {"Settings carried over from Home"}
    assert len(built) == 6 and len(history.entries) == 6
    # Back: Home at seed 6, then at seed 5 (what each address stands for, rebuilt as Back
    # rebuilds: 'Settings from the address'); Forward the same way
    history.back()
    _wait(lambda: home.applied.config.seed == 6 and _showing(rc, "(start)"))
    assert len(built) == 6  # Home still shows seed 6: kept
    history.back()
    _wait(lambda: home.applied.config.seed == 5 and _showing(rc, "(start)"))
    assert {s.split(":")[0] for s in _status(rc)} == {"Settings from the address"}
    history.forward()
    _wait(lambda: home.applied.config.seed == 6 and _showing(rc, "(start)"))
    history.forward()
    _wait(lambda: sbs.applied.config.seed == 6 and _showing(rc, "(start)"))
    assert built[6:] == [(("A",), 5), (("A",), 6)]  # side by side's seed 6: shown, kept
    rc.close()


@pytest.mark.parametrize("path", ["/side-by-side/", "/side-by-side"])
def test_the_page_follows_its_address_with_or_without_a_trailing_slash(
    path: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The app's routes draw side by side at /side-by-side/ too, but the page compared its
    # path as typed: it took that for another address and followed none of its changes.
    built = _counting_builds(monkeypatch)
    small = "n_buyers=2&n_sellers=2&campaigns_per_buyer=3&days=3"
    history = _History(f"{path}?{small}&seed=1")
    _box, rc = solara.render(_Browser(SideBySide(), history), handle_error=False)
    sbs = page_state(True, None)
    assert sbs.applied.config.seed == 1
    history.go(f"{path}?{small}&seed=4")  # a link followed
    _wait(lambda: sbs.applied.config.seed == 4 and _showing(rc, "(start)"))
    history.back()
    _wait(lambda: sbs.applied.config.seed == 1 and _showing(rc, "(start)"))
    assert built == [(SCENARIOS, 1), (SCENARIOS, 4), (SCENARIOS, 1)]
    assert page_path(path) == PATHS[True] and page_path("//") == PATHS[False]
    rc.close()

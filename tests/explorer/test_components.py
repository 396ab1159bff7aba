"""Browserless: the pages render with ``solara.render``; their buttons and the page state
move the clock, stop at the end, rebuild on Reset and Apply, and show bad input inline."""

from __future__ import annotations

import asyncio
import re
import threading
import time
from typing import Any

import ipyvuetify as vw
import pytest
import solara

from admarket import MarketConfig
from admarket.config import SCENARIOS
from admarket.viz import app
from admarket.viz.page import (
    PATHS,
    Explorer,
    SideBySide,
    forget_pages,
    page_path,
    page_state,
)
from admarket.viz.params import make_controls, to_query
from admarket.viz.session import Settings
from admarket.viz.stage import SCENARIO_NAMES
from admarket.viz.state import Drawer, PageState, intervals
from admarket.viz.vega import VegaChart
from admarket.viz.widgets import LiveHtml

SMALL = MarketConfig(n_buyers=2, n_sellers=2, campaigns_per_buyer=3, days=3)


@pytest.fixture(autouse=True)
def _fresh_pages() -> Any:
    """Each test opens the pages afresh: outside a server every render shares one scope."""
    forget_pages()
    yield
    forget_pages()


def _render(page: solara.Element) -> Any:
    _box, rc = solara.render(solara.AppLayout(children=[page]), handle_error=False)
    return rc


def _click(rc: Any, label: str) -> None:
    rc.find(vw.Btn, children=[label]).widget.click()


def _busy(rc: Any) -> bool:
    """Whether the page shows it is working (building or stepping)."""
    return bool(rc.find(vw.ProgressLinear, class_="am-busy").widgets)


def _wait(what: Any, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not what() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert what()


def _step(rc: Any, label: str, clock: str) -> None:
    """Click a step button; wait until the clock reads ``clock`` and the step is over."""
    _click(rc, label)
    _wait(lambda: clock in _clock(rc) and not _busy(rc))


def _clock(rc: Any) -> str:
    html = [w.html for w in rc.find(LiveHtml).widgets if "am-clock" in w.html]
    assert len(html) == 1
    return re.sub("<[^>]+>", " ", html[0])


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


def test_going_to_the_other_page_and_back_keeps_settings_draft_and_clock() -> None:
    # A route change unmounts one page and mounts the other: closing a render is leaving.
    rc = _render(Explorer())
    _step(rc, "+1 day", "end of day 1")
    rc.find(vw.TextField, label="Buyers").widget.v_model = "3"
    rc.find(vw.Select, label="Draw a frame").widget.v_model = "every week"
    rc.find(vw.TextField, label="Run to day").widget.v_model = ""  # being retyped
    assert rc.find(vw.TextField, label="Run to day").widget.v_model == ""
    rc.find(vw.TextField, label="Run to day").widget.v_model = "2"
    rc.find(vw.Tabs, class_="am-tabs").widget.v_model = 2  # Share and export
    rc.close()
    rc = _render(SideBySide())
    _step(rc, "+1 hour", "day 1, 01:00")
    rc.close()
    rc = _render(Explorer())
    assert "end of day 1" in _clock(rc)
    assert rc.find(vw.TextField, label="Buyers ●").widget.v_model == "3"
    assert rc.find(vw.Select, label="Draw a frame").widget.v_model == "every week"
    assert rc.find(vw.TextField, label="Run to day").widget.v_model == "2"
    assert rc.find(vw.Tabs, class_="am-tabs").widget.v_model == 2
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


@pytest.mark.parametrize("label", list(intervals(24)))
def test_play_reaches_the_end_at_every_interval_and_stops_there(label: str) -> None:
    state = PageState(Settings(SMALL, ("B",)), compare=False)
    frames: list[int] = []
    state.drawers["probe"] = Drawer(lambda s: frames.append(s.steps))
    state.interval.value = label
    assert state.start(pause=0.0)
    state.play_loop()
    step = intervals(24)[label]
    expected = [*range(step, SMALL.steps, step), SMALL.steps]
    assert frames == expected
    assert state.ended.value and not state.playing.value
    assert state.session.value.label() == "end of day 3 — run complete"
    assert not state.start()  # nothing left to play: a message, not an error
    assert "complete" in state.status.value
    state.step_day()  # a step past the end is refused, the clock does not move
    assert state.session.value.steps == SMALL.steps


MINUTES = {"hour": 60, "6 hours": 360, "day": 1440, "week": 10080}


def _minutes(label: str) -> float:
    """The time an interval's label says it spans."""
    m = re.fullmatch(r"every step \(([\d.]+) (minutes|hours)\)", label)
    if m:
        return float(m[1]) * (60 if m[2] == "hours" else 1)
    return MINUTES[label.removeprefix("every ")]


@pytest.mark.parametrize("steps_per_day", [1, 2, 4, 10, 24, 48, 96, 100, 1440])
def test_every_interval_spans_the_time_its_label_says(steps_per_day: int) -> None:
    # At 96 steps a day "every step" drew every 4 steps (an hour).
    choices = intervals(steps_per_day)
    assert "every day" in choices and len(set(choices.values())) == len(choices)
    for label, steps in choices.items():
        assert steps * 1440 / steps_per_day == pytest.approx(_minutes(label)), label
        assert not label.startswith("every step") or steps == 1, label
    assert "one step = one hour" not in make_controls()["steps_per_day"].help


def test_run_to_day_and_reset() -> None:
    state = PageState(Settings(SMALL, ("C",)), compare=False)
    assert state.start(goal=2 * 24, pause=0.0)
    state.play_loop()
    assert state.session.value.label() == "end of day 2"
    assert not state.start(goal=24)
    assert "Day 1 has already ended" in state.status.value
    before = state.session.value
    state.request_rebuild()
    assert state.building.value
    state.rebuild()
    assert not state.building.value and state.session.value is not before
    assert state.session.value.steps == 0 and "Reset" in state.status.value


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


def test_a_day_typed_to_run_to_is_kept_until_the_run_has_another_length() -> None:
    state = PageState(Settings(SMALL, ("B",)), compare=False)
    state.run_to_day.value = "2"
    state.request_rebuild()  # Reset: same days, the day typed still exists
    state.rebuild()
    assert state.run_to_day.value == "2"
    state.set_field("days", "1")
    assert state.apply() is not None
    state.rebuild()
    assert state.run_to_day.value is None  # the box shows the new last day


def test_apply_validates_the_draft_and_rebuilds_with_it() -> None:
    state = PageState(Settings(SMALL, ("B",)), compare=False)
    state.set_field("seed", "abc")
    assert state.changes() == {"seed"}
    assert state.apply() is None  # refused, with the reason
    assert "invalid seed = 'abc'" in state.status.value
    state.set_field("seed", " 7 ")
    state.draft_scenario.value = "A"
    state.choose_preset("isba-pwc-2020")
    assert state.changes() >= {"seed", "scenario", "preset", "exchange_fee"}
    settings = state.apply()
    assert settings is not None
    state.rebuild()
    s = state.session.value.settings
    assert (s.config.seed, s.scenarios, s.preset, s.config.days) == (7, ("A",), "isba-pwc-2020", 3)
    assert state.changes() == set()


def test_a_bad_seed_in_the_sidebar_is_shown_beside_it_not_raised() -> None:
    rc = _render(Explorer())
    seed = rc.find(vw.TextField, label="Seed").widget
    seed.v_model = "abc"  # typed (continuous update)
    box = rc.find(vw.TextField, label="Seed ●").widget
    assert box.error and box.messages == ["invalid seed = 'abc': an integer in [0, 4,294,967,295]"]
    apply = rc.find(vw.Btn, children=["Apply and reset"]).widget
    assert apply.disabled
    rc.find(vw.TextField, label="Buyers").widget.v_model = "3"
    pending = [w.children[0] for w in rc.find(vw.Alert).widgets if "am-pending" in w.class_]
    assert pending == ["2 changes not applied yet (marked ●): buyers, seed"]
    box.v_model = "7"
    assert not rc.find(vw.Btn, children=["Apply and reset"]).widget.disabled
    rc.close()


def _exact(rc: Any, name: str) -> Any:
    return rc.find(vw.TextField, class_=f"am-exact-{name}").widget


def test_a_slider_value_can_be_typed_exactly_and_bad_input_leaves_the_draft() -> None:
    # decay_rate steps by 0.005 on its slider: 0.137 could not be dragged to, only typed.
    pushed: list[str] = []
    _box, rc = solara.render(_Routed(Explorer(), pushed), handle_error=False)
    state = page_state(False, None)
    box = _exact(rc, "decay_rate")
    assert box.v_model == "0.02" and box.label == "exact"
    box.v_model = "0.137"
    assert state.draft.value["decay_rate"] == 0.137
    slider = rc.find(vw.Slider, label="Decay rate: 13.7% per day ●").widget
    assert slider.v_model == 0.135  # the nearest step it can show; the draft keeps 0.137
    for bad, shown in (("1.5", "1.5"), ("abc", "'abc'"), ("", "''")):
        _exact(rc, "decay_rate").v_model = bad
        box = _exact(rc, "decay_rate")
        assert box.error and box.messages == [
            f"invalid decay rate = {shown}: a number in [0, 1]"
        ], box.messages
        assert state.draft.value["decay_rate"] == 0.137  # unchanged
    _exact(rc, "decay_rate").v_model = "0.137"  # a bad box refuses Apply: fixed here
    assert not rc.find(vw.Btn, children=["Apply and reset"]).widget.disabled
    _click(rc, "Apply and reset")
    _wait(lambda: state.applied.config.decay_rate == 0.137 and not state.building.value)
    assert "decay_rate=0.137" in pushed[-1]  # the link, and so the CLI command, say 0.137
    slider = rc.find(vw.Slider, label="Decay rate: 13.7% per day").widget
    slider.v_model = 0.05  # dragged: the box follows the draft again
    assert state.draft.value["decay_rate"] == 0.05
    _wait(lambda: _exact(rc, "decay_rate").v_model == "0.05")  # after the rebuild's render
    assert not _exact(rc, "decay_rate").error
    _exact(rc, "exchange_fee").v_model = "1"  # a fee is below 1, as the CLI says
    fee = ["invalid exchange fee = 1.0: a number in [0, 1)"]
    _wait(lambda: _exact(rc, "exchange_fee").messages == fee)  # (rendered after the rebuild's)
    assert state.draft.value["exchange_fee"] == MarketConfig().exchange_fee
    rc.close()


def _marks(rc: Any) -> dict[str, tuple[str, bool]]:
    """Every parameter marked as not used by a scenario shown: its note and whether it is
    dimmed, by its help (up to the first ";")."""
    out = {}
    for cls in ("am-param", "am-param am-unused", "am-param am-changed am-unused"):
        for box in rc.find(vw.Html, class_=cls).widgets:
            texts = [
                (w.attributes.get("class"), w.unsafe_innerHTML)
                for w in box.children
                if isinstance(w, solara.widgets.HTML)
            ]
            notes = [text for kind, text in texts if kind == "am-unused-note"]
            (help_line,) = [text for kind, text in texts if kind == "am-help"]
            if notes:
                out[help_line.split(";")[0]] = (notes[0], "am-unused" in cls)
    return out


def test_parameters_the_scenario_shown_does_not_use_are_dimmed_and_say_so() -> None:
    rc = _render(Explorer())  # B
    marks = _marks(rc)
    assert marks["SSP / exchange fee"] == ("not used in scenario B", True)
    assert marks["ledger entries and delivery records batched per Walrus blob"] == (
        "not used in scenario B",
        True,
    )
    assert "residual agent-platform fee on direct deals (plan: about 5%)" not in marks
    assert all(note == "not used in scenario B" and dim for note, dim in marks.values())
    summaries = [w.children[0] for w in rc.find(vw.ExpansionPanelHeader).widgets]
    assert "exchange fees (A) — not used in scenario B" in summaries
    assert "direct trading (B, C)" in summaries
    rc.find(vw.Select, label="Scenario").widget.v_model = "A"  # marked as soon as chosen
    marks = _marks(rc)
    assert "SSP / exchange fee" not in marks
    assert "simulated days" not in marks
    assert marks["daily probability that a held fact is lost"] == ("not used in scenario A", True)
    assert marks["C only: ledger protocol fee on top of ledger_agent_fee"][0] == (
        "not used in scenario A"
    )
    rc.close()
    rc = _render(SideBySide())  # every parameter is used by one of A, B, C: noted, not dimmed
    marks = _marks(rc)
    assert marks["SSP / exchange fee"] == ("used in scenario A only", False)
    assert marks["daily probability that a held fact is lost"] == (
        "used in scenarios B, C only",
        False,
    )
    assert not any(dim for _note, dim in marks.values())
    rc.close()


def test_a_step_shows_it_is_working_until_its_frame_is_drawn() -> None:
    # A large market takes seconds per day: the step runs in a task and the bar says so.
    rc = _render(Explorer())
    assert not _busy(rc)
    state = page_state(False, None)
    entered, release = threading.Event(), threading.Event()

    def slow_frame(_session: Any) -> None:
        entered.set()
        release.wait(30)

    state.drawers["slow"] = Drawer(slow_frame)
    _click(rc, "+1 day")
    assert entered.wait(30), "the step did not start"
    assert _busy(rc)
    assert rc.find(vw.Btn, children=["+1 hour"]).widget.disabled
    # the frame and speed selects only matter for the next frame: usable meanwhile
    assert not rc.find(vw.Select, label="Draw a frame").widget.disabled
    assert not rc.find(vw.Select, label="Play speed").widget.disabled
    release.set()
    _wait(lambda: not _busy(rc))
    assert "end of day 1" in _clock(rc)
    assert not rc.find(vw.Btn, children=["+1 hour"]).widget.disabled
    del state.drawers["slow"]
    _step(rc, "+1 hour", "day 2, 01:00")
    rc.close()


def test_reset_button_shows_it_is_working() -> None:
    rc = _render(Explorer())
    _step(rc, "+1 day", "end of day 1")
    _click(rc, "Reset")
    deadline = time.monotonic() + 30
    while "start" not in _clock(rc) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert "day 1, 00:00 (start)" in _clock(rc)
    rc.close()


def test_pause_ends_the_loop_after_the_frame_it_is_drawing() -> None:
    state = PageState(Settings(SMALL, ("B",)), compare=False)
    frames: list[int] = []

    def pause_during_the_frame(session: Any) -> None:
        frames.append(session.steps)
        state.stop()

    state.drawers["probe"] = Drawer(pause_during_the_frame)
    assert state.start(pause=30.0)  # a long pause between frames: Pause cuts it short
    state.play_loop()
    assert frames == [24] and not state.playing.value
    assert state.start(pause=0.0)  # and Play goes on from there
    state.drawers.clear()
    state.play_loop()
    assert state.session.value.at_end


def test_pause_stops_a_long_step_between_hours() -> None:
    # "+1 day" (or Run to day N) on a large market takes seconds: Pause once waited for all
    # of it. Pause pressed during hour 30 of a step to the end stops it after that hour.
    state = PageState(Settings(SMALL, ("A", "B"), seeds=2), compare=False)
    frames: list[int] = []
    state.drawers["probe"] = Drawer(lambda s: frames.append(s.steps))
    market = state.session.value.markets["B"]
    step = market.step

    def step_then_pause() -> None:
        step()
        if market.steps == 30:
            state.stop()

    market.step = step_then_pause  # type: ignore[method-assign]
    assert state.start(goal=SMALL.steps, pause=0.0, one_frame=True)
    state.play_loop()
    sess = state.session.value
    assert frames == [30] and not state.playing.value  # one frame, where it stopped
    assert {m.steps for models in sess.runs.values() for m in models} == {30}
    assert "day 2, 06:00" in sess.label()
    assert state.start(goal=SMALL.steps, pause=0.0, one_frame=True)  # and it goes on
    state.play_loop()
    assert frames == [30, SMALL.steps] and sess.at_end


class _Pauses(threading.Event):
    """A halt that records the pauses the play loop asks for instead of waiting them out."""

    def __init__(self) -> None:
        super().__init__()
        self.asked: list[float] = []

    def wait(self, timeout: float | None = None) -> bool:
        self.asked.append(timeout or 0.0)
        return self.is_set()


def test_the_speed_and_interval_chosen_while_playing_hold_from_the_next_frame() -> None:
    state = PageState(Settings(SMALL, ("B",)), compare=False)
    frames: list[int] = []

    def choose_on_the_first_frame(session: Any) -> None:
        frames.append(session.steps)
        if len(frames) == 1:
            state.speed.value = "fast: no pause"
            state.interval.value = "every 6 hours"

    state.drawers["probe"] = Drawer(choose_on_the_first_frame)
    state.speed.value = "slow: 1½ s per frame"
    assert state.start(goal=48)  # Play: its speed is the one chosen
    state._halt = pauses = _Pauses()
    state.play_loop()
    assert frames == [24, 30, 36, 42, 48]
    assert pauses.asked == [0.0, 0.0, 0.0, 0.0]  # not the 1.5 s chosen at the start


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


def _status(rc: Any) -> set[str]:
    return {w.children[0] for w in rc.find(vw.Alert).widgets if "am-status" in w.class_}


def _settled(rc: Any, title: str) -> bool:
    """The rebuild is over and the page shows its market."""
    building = any("Building the market" in str(w.children) for w in rc.find(vw.Alert).widgets)
    return not building and [w.title for w in rc.find(VegaChart).widgets if w.title] == [title]


@solara.component
def _Routed(page: solara.Element, pushed: list[str], path: str = "/") -> solara.Element:
    """``page`` with a router that records where Apply and the page tabs send the address
    bar (the layout's own route tabs set the location instead: recorded too)."""
    solara.routing.router_context.provide(solara.routing.Router(path, app.routes, pushed.append))
    solara.routing._location_context.provide(solara.routing._Location(path, pushed.append))
    return solara.AppLayout(children=[page])


def test_switching_scenario_again_and_again_rebuilds_without_an_error() -> None:
    pushed: list[str] = []
    _box, rc = solara.render(_Routed(Explorer(), pushed), handle_error=False)
    for scenario in ("A", "C", "B", "C", "A", "B"):
        rc.find(vw.Select, label="Scenario").widget.v_model = scenario
        _click(rc, "Apply and reset")
        title = f"Market graph — {SCENARIO_NAMES[scenario]}"
        deadline = time.monotonic() + 30
        while not _settled(rc, title) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _settled(rc, title)
        (status,) = _status(rc)
        assert status.startswith("Reset: new markets built"), status
        assert f"?scenario={scenario}&" in pushed[-1]
    rc.close()


def _go_to_page(rc: Any, index: int) -> None:
    """Click the app bar's tab to the explorer (0) or the side-by-side page (1)."""
    (nav,) = [w for w in rc.find(vw.Tabs).widgets if "am-tabs" not in (w.class_ or "")]
    nav.v_model = index


def test_the_page_tabs_go_to_the_other_page_with_this_pages_applied_settings() -> None:
    # A market set up on one page is the one compared on the other: the tab's address holds
    # this page's applied settings (never the draft) on the other page's own scenarios.
    link = "n_buyers=2&n_sellers=2&campaigns_per_buyer=3&days=3&scenario=A"
    pushed: list[str] = []
    home = page_state(False, link)
    _box, rc = solara.render(_Routed(Explorer(), pushed, f"/?{link}"), handle_error=False)
    rc.find(vw.TextField, label="Buyers").widget.v_model = "3"  # a draft, not applied
    _go_to_page(rc, 1)
    carried = Settings(home.applied.config, SCENARIOS)
    assert pushed == [f"/side-by-side?{to_query(carried, with_scenario=False)}"]
    assert "n_buyers=2" in pushed[0] and "days=3" in pushed[0] and "scenario" not in pushed[0]
    rc.close()
    _box, rc = solara.render(_Routed(SideBySide(), pushed, pushed[0]), handle_error=False)
    sbs = page_state(True, None)
    assert sbs.applied == carried  # not visited yet: built from the address
    rc.find(vw.TextField, label="Seed").widget.v_model = "5"
    _click(rc, "Apply and reset")
    _wait(lambda: sbs.applied.config.seed == 5 and not sbs.building.value)
    pushed.clear()
    _go_to_page(rc, 0)  # Home's own scenario, side by side's applied settings
    assert pushed == [f"/?{to_query(Settings(sbs.applied.config, ('A',)))}"]
    assert "scenario=A" in pushed[0] and "seed=5" in pushed[0] and "n_buyers=2" in pushed[0]
    _go_to_page(rc, 1)  # the page shown: no navigation
    assert len(pushed) == 1
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


class _History:
    """The browser's history of one tab, for :func:`_Browser`: Apply and the page tabs push
    an entry; :meth:`back` and :meth:`forward` move the address without pushing, as the
    browser's buttons do (Solara's Navigator then sets the router's path)."""

    def __init__(self, start: str) -> None:
        self.entries, self.at = [start], 0
        self.set_location: Any = None

    def push(self, path: str) -> None:
        self.entries[self.at + 1 :] = [path]
        self.at += 1
        self.set_location(path)

    def back(self) -> None:
        self.at -= 1
        self.set_location(self.entries[self.at])

    def forward(self) -> None:
        self.at += 1
        self.set_location(self.entries[self.at])

    def go(self, path: str) -> None:
        """A link followed within the tab."""
        self.push(path)


@solara.component
def _Browser(page: solara.Element, history: _History) -> solara.Element:
    """``page`` under a router at ``history``'s address, as Solara's routing provider."""
    location, set_location = solara.use_state(history.entries[history.at])
    history.set_location = set_location
    solara.routing.router_context.provide(solara.routing.Router(location, app.routes, history.push))
    solara.routing._location_context.provide(solara.routing._Location(location, history.push))
    return solara.AppLayout(children=[page])


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
        return state.applied.config.seed == seed and not state.building.value

    _step(rc, "+1 day", "end of day 1")
    rc.find(vw.TextField, label="Seed").widget.v_model = "5"
    _click(rc, "Apply and reset")
    _wait(lambda: shown(5))
    assert history.entries == [f"/?{link}", f"/?{to_query(state.applied)}"]
    assert built == [1, 5]  # the first visit, then Apply once: not again for its address
    _step(rc, "+1 hour", "day 1, 01:00")
    history.back()
    _wait(lambda: shown(1))
    assert built == [1, 5, 1] and state.applied.config.days == 3
    assert "day 1, 00:00 (start)" in _clock(rc)
    assert rc.find(vw.TextField, label="Seed").widget.v_model == "1"  # the draft too, no ●
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


@solara.component
def _Tab(history: _History) -> solara.Element:
    """Both pages in one browser tab: the page at ``history``'s address, as the app's routes
    draw it (leaving a page unmounts it)."""
    location, set_location = solara.use_state(history.entries[history.at])
    history.set_location = set_location
    router = solara.routing.Router(location, app.routes, history.push)
    solara.routing.router_context.provide(router)
    solara.routing._location_context.provide(solara.routing._Location(location, history.push))
    compare = router.path == PATHS[True]
    page = (SideBySide() if compare else Explorer()).key(f"route{PATHS[compare]}")
    return solara.AppLayout(children=[page])


def _showing(rc: Any, clock: str) -> bool:
    """The page shows one clock reading ``clock`` and is not building or stepping."""
    html = [w.html for w in rc.find(LiveHtml).widgets if "am-clock" in w.html]
    return len(html) == 1 and clock in html[0] and not _busy(rc)


def _counting_builds(monkeypatch: pytest.MonkeyPatch) -> list[tuple[tuple[str, ...], int]]:
    """Every market build from now on, as (scenarios, seed)."""
    from admarket.viz import state as state_module

    built: list[tuple[tuple[str, ...], int]] = []
    real = state_module.Session

    def counted(settings: Settings) -> Any:
        built.append((settings.scenarios, settings.config.seed))
        return real(settings)

    monkeypatch.setattr(state_module, "Session", counted)
    return built


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
    rc.find(vw.TextField, label="Buyers").widget.v_model = "3"  # a draft: not carried
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
    rc.find(vw.TextField, label="Seed").widget.v_model = "8"  # side by side's own draft
    _go_to_page(rc, 0)  # the same settings: Home as it was left
    _wait(lambda: _showing(rc, "end of day 1"))
    _wait(lambda: len(rc.find(vw.TextField, label="Buyers ●").widgets) == 1)
    assert rc.find(vw.TextField, label="Buyers ●").widget.v_model == "3"
    assert not _status(rc)  # not rebuilt: nothing to say
    _go_to_page(rc, 1)
    _wait(lambda: _showing(rc, "day 1, 01:00"))
    _wait(lambda: len(rc.find(vw.TextField, label="Seed ●").widgets) == 1)
    assert rc.find(vw.TextField, label="Seed ●").widget.v_model == "8"
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
    rc.find(vw.TextField, label="Seed").widget.v_model = "5"
    _click(rc, "Apply and reset")
    _wait(lambda: sbs.applied.config.seed == 5 and _showing(rc, "(start)"))
    _step(rc, "+1 hour", "day 1, 01:00")
    _go_to_page(rc, 0)
    _wait(lambda: home.applied.config.seed == 5 and _showing(rc, "(start)"))
    assert home.applied == Settings(sbs.applied.config, ("A",))  # Home's scenario, still A
    assert home.applied.config.decay_rate == 0.137
    (status,) = _status(rc)
    assert status.startswith("Settings carried over from side-by-side: new markets"), status
    assert rc.find(vw.TextField, label="Seed").widget.v_model == "5"  # the draft: no ●
    assert built == [(("A",), 1), (SCENARIOS, 1), (SCENARIOS, 5), (("A",), 5)]
    # Home's own Apply, then side by side again: rebuilt with Home's seed, A, B and C kept
    rc.find(vw.TextField, label="Seed").widget.v_model = "6"
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


def test_apply_is_disabled_while_a_rebuild_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    # Apply stayed enabled during a rebuild (Apply's own or Reset's): safe, but a click
    # built the same markets again. It waits for the build to end, as Play does.
    from admarket.viz import state as state_module

    entered, release = threading.Event(), threading.Event()
    real = state_module.Session

    def slow(settings: Settings) -> Any:
        if settings.config.seed == 5:
            entered.set()
            release.wait(30)
        return real(settings)

    monkeypatch.setattr(state_module, "Session", slow)
    pushed: list[str] = []
    _box, rc = solara.render(_Routed(Explorer(), pushed), handle_error=False)
    state = page_state(False, None)
    rc.find(vw.TextField, label="Seed").widget.v_model = "5"
    _click(rc, "Apply and reset")
    assert entered.wait(30), "the build did not start"

    def apply_disabled() -> bool:
        return bool(rc.find(vw.Btn, children=["Apply and reset"]).widget.disabled)

    _wait(apply_disabled)  # the draft still differs from the run shown: the button is there
    assert rc.find(vw.Btn, children=["▶ Play"]).widget.disabled
    release.set()
    _wait(lambda: state.applied.config.seed == 5 and not state.building.value)
    _wait(lambda: len(rc.find(vw.TextField, label="Seed").widgets) == 1)  # no ●: applied
    rc.find(vw.TextField, label="Seed").widget.v_model = "6"

    def apply_buttons() -> list[bool]:  # (drawn once the build's render is over)
        return [w.disabled for w in rc.find(vw.Btn, children=["Apply and reset"]).widgets]

    _wait(lambda: apply_buttons() == [False])  # enabled again
    rc.close()


def test_pause_says_where_it_paused_and_a_stop_for_a_rebuild_does_not() -> None:
    # Pause showed no message: only the clock said that the click had been taken.
    rc = _render(Explorer())
    state = page_state(False, None)
    state.speed.value = "slow: 1½ s per frame"  # paused between two frames
    state.interval.value = "every 6 hours"
    _click(rc, "▶ Play")
    _wait(lambda: "day 1, 06:00" in _clock(rc))
    _click(rc, "❚❚ Pause")
    _wait(lambda: not state.playing.value and not _busy(rc))
    where = state.session.value.label()  # day 1, 06:00 unless a frame went by meanwhile
    assert where.startswith("day ")
    _wait(lambda: _status(rc) == {f"Paused at {where}."})
    _step(rc, "+1 day", "end of day 1")
    _wait(lambda: not _status(rc))  # a step clears it
    rc.close()
    state = PageState(Settings(SMALL, ("B",)), compare=False)
    state.drawers["probe"] = Drawer(lambda s: state.pause())  # during the first frame
    assert state.start(pause=0.0)
    state.play_loop()
    assert state.status.value == "Paused at the end of day 1."
    state.drawers["probe"] = Drawer(lambda s: state.request_rebuild())  # Reset stops it
    assert state.start(pause=0.0)
    state.play_loop()
    assert state.building.value and not state.status.value


def _blocked(rc: Any) -> list[str]:
    return [w.children[0] for w in rc.find(vw.Alert).widgets if "am-blocked" in w.class_]


def test_apply_is_refused_while_an_exact_box_holds_a_value_not_allowed() -> None:
    # Apply with 'abc' in decay rate's exact box applied the draft's last good value while
    # the box still showed its error: what was built was not what the sidebar showed.
    pushed: list[str] = []
    _box, rc = solara.render(_Routed(Explorer(), pushed), handle_error=False)
    state = page_state(False, None)
    _exact(rc, "decay_rate").v_model = "0.137"
    rc.find(vw.TextField, label="Buyers").widget.v_model = "3"
    _exact(rc, "decay_rate").v_model = "abc"
    assert state.draft.value["decay_rate"] == 0.137  # the last good value, as before
    assert rc.find(vw.Btn, children=["Apply and reset"]).widget.disabled
    assert _blocked(rc) == ["1 parameter needs fixing before Apply: decay rate."]
    assert state.apply() is None and not state.building.value  # nothing built
    assert state.status.value == (
        "Fix the highlighted parameters first: invalid decay rate = 'abc': a number in [0, 1]"
    )
    rc.find(vw.Slider, label="Decay rate: 13.7% per day ●").widget.v_model = 0.1  # dragged
    assert _exact(rc, "decay_rate").v_model == "0.1" and not _blocked(rc)
    assert not rc.find(vw.Btn, children=["Apply and reset"]).widget.disabled
    _exact(rc, "decay_rate").v_model = "2"  # bad again, with the draft equal to the run's
    rc.find(vw.TextField, label="Buyers ●").widget.v_model = str(MarketConfig().n_buyers)
    rc.find(vw.Slider, label="Decay rate: 10% per day ●").widget.v_model = 0.02
    _exact(rc, "decay_rate").v_model = "-1"
    assert state.changes() == {"decay_rate"}  # marked ●, with Apply there and refused
    assert rc.find(vw.Btn, children=["Apply and reset"]).widget.disabled
    _click(rc, "Discard")
    assert _exact(rc, "decay_rate").v_model == "0.02" and not _exact(rc, "decay_rate").error
    assert state.changes() == set() and not _blocked(rc)
    rc.close()

"""Browserless: the clock. Its buttons and the page state step an hour, a day, to day N or
to the end at every frame interval, never past it; Play, Pause and Reset say what they do."""

from __future__ import annotations

import re
import threading
from typing import Any

import ipyvuetify as vw
import pytest

from admarket.viz.page import Explorer, page_state
from admarket.viz.params import make_controls
from admarket.viz.session import Settings
from admarket.viz.state import Drawer, PageState, intervals
from tests.explorer.render import (
    SMALL,
    _busy,
    _click,
    _clock,
    _one,
    _render,
    _showing,
    _status,
    _step,
    _wait,
)

pytestmark = pytest.mark.usefixtures("fresh_pages")


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
    assert _one(rc, vw.Btn, children=["+1 hour"]).disabled
    # the frame and speed selects only matter for the next frame: usable meanwhile
    assert not _one(rc, vw.Select, label="Draw a frame").disabled
    assert not _one(rc, vw.Select, label="Play speed").disabled
    release.set()
    _wait(lambda: not _busy(rc))
    assert "end of day 1" in _clock(rc)
    assert not _one(rc, vw.Btn, children=["+1 hour"]).disabled
    del state.drawers["slow"]
    _step(rc, "+1 hour", "day 2, 01:00")
    rc.close()


def test_reset_button_shows_it_is_working() -> None:
    rc = _render(Explorer())
    _step(rc, "+1 day", "end of day 1")
    _click(rc, "Reset")
    _wait(lambda: _showing(rc, "day 1, 00:00 (start)"))
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

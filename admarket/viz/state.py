"""One page's state and what its buttons do: the clock, the draft of settings, the report.

:class:`PageState` holds the :class:`~admarket.viz.session.Session` being shown and the
reactive values the page draws from. Time moves only through :meth:`PageState.step_to`
(one frame) and :meth:`PageState.play_loop` (frames every render interval until a goal:
the end, day N, or Pause), both clamped to the run, so the end is a state ("run
complete"), never an error. Settings change in a *draft*; :meth:`PageState.apply` validates
it and rebuilds; :meth:`PageState.follow` rebuilds with the settings of the page's address
when it changes (Back, Forward, a page tab carrying the other page's settings);
:meth:`PageState.rebuild` shows that it is working while the new markets are built.
Nothing here draws: the components in :mod:`admarket.viz.page` do.
"""

from __future__ import annotations

import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import solara

from admarket.errors import ConfigError
from admarket.viz.params import (
    apply_preset,
    changed_fields,
    draft_of,
    parse_typed,
    validate,
)
from admarket.viz.research import report_dir, write_report
from admarket.viz.session import Session, Settings, intervals, next_stop

DEFAULT_INTERVAL = "every day"
SPEEDS = {"lesson: ½ s per frame": 0.5, "fast: no pause": 0.0, "slow: 1½ s per frame": 1.5}
DEFAULT_SPEED = "lesson: ½ s per frame"


@dataclass(frozen=True)
class Drawer:
    """How one live element follows the clock: ``draw(session)`` each frame. ``scenario`` is
    the market it draws (None: it draws whatever the session holds, e.g. a chart)."""

    draw: Callable[[Session], None]
    scenario: str | None = None


@dataclass(frozen=True)
class Report:
    """Where the report for the shown parameters stands."""

    state: str = "none"  # none, running, done, failed
    message: str = ""
    path: str = ""


class PageState:
    """Everything one explorer page remembers; built once per browser session and page."""

    def __init__(self, settings: Settings, compare: bool, problems: list[str] | None = None):
        self.compare = compare
        # items of the page's address (a link, Back or Forward) that were left out
        self.problems = solara.reactive(list(problems or []))
        self.session = solara.reactive(Session(settings))
        self.ended = solara.reactive(False)  # the run is complete
        # how each live element follows the clock (see live.use_live)
        self.drawers: dict[str, Drawer] = {}
        self.frames = 0  # frames drawn so far
        self.playing = solara.reactive(False)
        self.building = solara.reactive(False)
        self.status = solara.reactive("")
        self.interval = solara.reactive(DEFAULT_INTERVAL)
        self.speed = solara.reactive(DEFAULT_SPEED)
        # the "Run to day" box as typed (None: untouched, it shows the last day) and the pane
        # open (Run, Info, export): here, not in the components, so that they outlive a visit
        # to the other page
        self.run_to_day: solara.Reactive[str | None] = solara.reactive(None)
        self.pane = solara.reactive(0)
        self.goal = settings.config.steps
        self.one_frame = False  # the loop goes straight to the goal (a step button)
        self.pause_s: float | None = None  # between frames; None: the Play speed chosen now
        self.draft = solara.reactive(draft_of(settings.config))
        self.draft_scenario = solara.reactive(settings.scenarios[0])
        self.draft_seeds = solara.reactive(settings.seeds)
        self.draft_preset = solara.reactive(settings.preset or "")
        # each slider's exact box as typed: (text, the draft's value it goes with); here, not
        # in the box, so that Apply knows when a box holds a value that is not allowed
        self.typed: solara.Reactive[dict[str, tuple[str, float]]] = solara.reactive({})
        self.pending: Settings | None = None  # what the next rebuild builds
        self._armed = 0  # rebuilds armed so far: only the last one armed shows its markets
        self._taken = 0  # the last arming a rebuild thread has taken (one thread each)
        self._taking = threading.Lock()
        self._why = "Reset"  # why the armed rebuild builds: its status line says so
        self.report = solara.reactive(Report())
        self._halt = threading.Event()  # set by Pause (and Reset): the play loop ends
        self._paused: threading.Event | None = None  # the halt Pause (the button) set

    # --- reading ----------------------------------------------------------------------------
    @property
    def applied(self) -> Settings:
        """The settings of the run on screen."""
        return self.session.value.settings

    def interval_steps(self) -> int:
        """Steps per frame at the chosen render interval."""
        choices = intervals(self.session.value.config.steps_per_day)
        return choices.get(self.interval.value, self.session.value.config.steps_per_day)

    def draft_settings(self) -> tuple[Settings | None, dict[str, str]]:
        """The settings the draft describes, or ``None`` and a message per bad field."""
        cfg, errors = validate(self.draft.value)
        if cfg is None:
            return None, errors
        scenarios = self.applied.scenarios if self.compare else (self.draft_scenario.value,)
        preset = self.draft_preset.value or None
        return Settings(cfg, scenarios, self.draft_seeds.value, preset), {}

    def changes(self) -> set[str]:
        """Names of the settings changed in the draft and not applied yet."""
        applied = self.applied
        out = changed_fields(self.draft.value, applied.config) | set(self.typed_errors())
        if not self.compare and self.draft_scenario.value != applied.scenarios[0]:
            out.add("scenario")
        if self.draft_seeds.value != applied.seeds:
            out.add("seeds")
        if (self.draft_preset.value or None) != applied.preset:
            out.add("preset")
        return out

    def typed_errors(self) -> dict[str, str]:
        """A message per slider whose exact box holds a value that is not allowed (the draft
        keeps its last good value meanwhile): Apply is refused until it is fixed."""
        draft = self.draft.value
        out = {}
        for name, (text, value) in self.typed.value.items():
            if draft.get(name) == value and (error := parse_typed(name, text)[1]):
                out[name] = error
        return out

    # --- the draft --------------------------------------------------------------------------
    def set_field(self, name: str, raw: Any) -> None:
        """Change one parameter in the draft (validated when shown, applied on Apply); its
        exact box, if any, shows the draft's value again."""
        self.draft.value = {**self.draft.value, name: raw}
        if name in self.typed.value:
            self.typed.value = {k: v for k, v in self.typed.value.items() if k != name}

    def type_exact(self, name: str, text: str) -> None:
        """Text typed in slider ``name``'s exact box: an allowed value goes to the draft; a
        bad one stays in the box with its message (:meth:`typed_errors`), the draft as it
        was. The text is kept while the draft holds its value (``0.10`` is not rewritten to
        ``0.1`` mid-typing)."""
        parsed, bad = parse_typed(name, text)
        if not bad:
            self.set_field(name, float(parsed))
        self.typed.value = {**self.typed.value, name: (text, self.draft.value[name])}

    def choose_preset(self, name: str) -> None:
        """Start the draft from preset ``name`` ("" = the defaults), keeping seed and size."""
        self.draft_preset.value = name
        self.draft.value = apply_preset(name or None, self.draft.value)
        self.typed.value = {}

    def discard(self) -> None:
        """Forget the draft: back to the applied settings."""
        self._draft_from(self.applied)

    def _draft_from(self, a: Settings) -> None:
        self.draft.value = draft_of(a.config)
        self.draft_scenario.value = a.scenarios[0]
        self.draft_seeds.value = a.seeds
        self.draft_preset.value = a.preset or ""
        self.typed.value = {}

    def follow(
        self, settings: Settings, problems: list[str], why: str = "Settings from the address"
    ) -> bool:
        """The page's address changed (Back, Forward, a link, a page tab carrying the other
        page's settings): show ``settings``, what a first visit to that address builds, and
        ``problems``, what it left out of it. True when a rebuild is armed (the caller runs
        it, as after Apply; the draft shows the settings; ``why`` heads the status line it
        writes); False when the page already shows or builds them (the address Apply has
        just pushed, or a page tab's with the same settings), so nothing is built twice and
        the run, the clock and the draft are kept."""
        if self.problems.value != problems:
            self.problems.value = list(problems)
        if settings == (self.pending or self.applied):
            return False
        self.request_rebuild(settings, why)
        self._draft_from(settings)
        return True

    # --- the clock --------------------------------------------------------------------------
    def draw(self) -> None:
        """Draw one frame: every live element takes in the session as it is now."""
        session = self.session.value
        if self.ended.value != session.at_end:
            self.ended.value = session.at_end
        for key, drawer in list(self.drawers.items()):
            if drawer.scenario is not None and drawer.scenario not in session.markets:
                # A card of the settings before a rebuild: reacton unregisters it when it
                # renders the new page, which can come after the rebuild's first frame.
                if self.drawers.get(key) is drawer:
                    del self.drawers[key]
                continue
            drawer.draw(session)
        self.frames += 1

    def _redraw(self, message: str = "") -> None:
        self.draw()
        if self.status.value != message:
            self.status.value = message

    def step_to(self, target: int) -> None:
        """Move the clock to step ``target`` (clamped to the run) and draw one frame."""
        if self.playing.value or self.building.value:
            return
        sess = self.session.value
        if sess.at_end:
            self._redraw("The run is complete: Reset to run it again.")
            return
        sess.advance_to(target)
        self._redraw()

    def next_hour(self) -> int:
        """The step one step (an hour) on."""
        return self.session.value.steps + 1

    def next_day(self) -> int:
        """The step at the end of the current day."""
        sess = self.session.value
        return next_stop(sess.steps, sess.config.steps_per_day, sess.total)

    def step_hour(self) -> None:
        """One step (an hour)."""
        self.step_to(self.next_hour())

    def step_day(self) -> None:
        """To the end of the current day."""
        self.step_to(self.next_day())

    def start(
        self, goal: int | None = None, pause: float | None = None, *, one_frame: bool = False
    ) -> bool:
        """Arm the play loop towards step ``goal`` (default: the end); False if there is
        nothing to play. The caller then runs :meth:`play_loop` (in a task). ``one_frame``:
        go straight to ``goal`` and draw it alone (a step button, run in a task so that the
        page can show it is working while a large market steps). ``pause``: seconds between
        frames (default: the Play speed, read before each pause, so a speed chosen while
        playing holds from the next frame)."""
        sess = self.session.value
        if self.playing.value or self.building.value:
            return False
        goal = sess.total if goal is None else min(goal, sess.total)
        if sess.steps >= goal:
            spd = sess.config.steps_per_day
            self.status.value = (
                "The run is complete: Reset to run it again."
                if sess.at_end
                else f"Day {goal // spd} has already ended: Reset to start over."
            )
            return False
        self.goal = goal
        self.one_frame = one_frame
        self.pause_s = pause
        self._halt = threading.Event()
        self.status.value = ""
        self.playing.value = True
        return True

    def stop(self) -> None:
        """Pause: the loop ends at the next hour of the advance it is making (a frame's worth
        of steps can take seconds on a large market), draws where it stopped, and ends (at
        once if it is pausing between frames); ``playing`` turns false when it has, so the
        clock shown is final."""
        self._halt.set()

    def pause(self) -> None:
        """The Pause button: :meth:`stop`, and once the loop has stopped the status line says
        where ("Paused at day 2, 06:00."); the clock alone was easy to miss as the answer to
        the click. A stop for a rebuild (Reset, Apply) or for leaving the page says nothing."""
        self._paused = self._halt
        self.stop()

    def frame_pause(self) -> float:
        """Seconds to wait after the frame just drawn: the pause armed, or the Play speed
        chosen now (the speed select stays enabled while playing)."""
        if self.pause_s is not None:
            return self.pause_s
        return SPEEDS.get(self.speed.value, 0.0)

    def play_loop(self) -> None:
        """Advance one render interval per frame (the interval chosen now: the select stays
        enabled while playing) until the goal, Pause or the end; Pause cuts an advance short
        between two hours and the frame drawn shows where it stopped."""
        halt = self._halt
        try:
            while not halt.is_set():
                sess = self.session.value
                stop = self.goal
                if not self.one_frame:
                    stop = min(stop, next_stop(sess.steps, self.interval_steps(), sess.total))
                sess.advance_to(stop, halt.is_set)
                self._redraw()
                if sess.steps >= self.goal or halt.wait(self.frame_pause()):
                    break
            sess = self.session.value
            # a rebuild armed meanwhile writes its own status (and stopped the loop itself)
            if self._paused is halt and sess.steps < self.goal and not self.building.value:
                where = sess.label()
                self.status.value = f"Paused at {'the ' if where[0] == 'e' else ''}{where}."
        except Exception as exc:  # shown on the page, never as a traceback
            traceback.print_exc()
            self.status.value = f"The run stopped: {exc}"
        finally:
            self.playing.value = False

    # --- rebuilding -------------------------------------------------------------------------
    def request_rebuild(self, settings: Settings | None = None, why: str = "Reset") -> bool:
        """Arm a rebuild with ``settings`` (default: the applied ones, i.e. Reset); ``why``
        heads the status line the rebuild writes ("Reset: new markets built in …")."""
        self.stop()
        self.pending = settings or self.applied
        self._why = why
        self._armed += 1
        self.building.value = True
        return True

    def rebuild(self) -> None:
        """Build the pending settings' markets (run in a task; the page shows it working).

        A rebuild armed while this one builds (Back pressed during Apply's build) supersedes
        it: this one's markets are dropped, and the page stays busy until the last is shown.
        Each arming is built by one thread: a task started twice before either read it (two
        quick armings) builds it once, so a second build cannot swap its markets in under a
        run started after the first.
        """
        with self._taking:
            armed, settings, why = self._armed, self.pending or self.applied, self._why
            if armed <= self._taken:
                return
            self._taken = armed
        start = time.perf_counter()
        try:
            with self.session.value.lock:  # wait for a frame being drawn to finish
                session = Session(settings)
            if armed != self._armed:
                return
            if session.config.days != self.session.value.config.days:
                self.run_to_day.value = None  # a day typed for the old length may not exist
            self.session.value = session
            self.goal = session.total
            took = time.perf_counter() - start
            self._redraw(f"{why}: new markets built in {took:.1f} s — {session.label()}.")
        except ConfigError as exc:
            if armed == self._armed:  # (a superseded build says nothing)
                self.status.value = str(exc)
        except Exception as exc:
            traceback.print_exc()
            if armed == self._armed:
                self.status.value = f"Could not build the market: {exc}"
        finally:
            if armed == self._armed:
                self.pending = None
                self.building.value = False

    def apply(self) -> Settings | None:
        """Validate the draft and arm a rebuild with it; None (nothing armed) if invalid."""
        settings, errors = self.draft_settings()
        # a bad exact box: the draft holds the last good value, not what the box shows
        errors = {**errors, **self.typed_errors()}
        if settings is None or errors:
            self.status.value = "Fix the highlighted parameters first: " + "; ".join(
                errors.values()
            )
            return None
        self.request_rebuild(settings)
        return settings

    # --- the report -------------------------------------------------------------------------
    def run_report(self) -> None:
        """Write the full report for the applied settings (run in a task)."""
        settings = self.applied
        out = report_dir(settings)

        def say(msg: str) -> None:
            self.report.value = Report("running", msg, str(out))

        say("starting…")
        try:
            path, fresh = write_report(settings, say)
            note = "written" if fresh else "already written for these parameters"
            self.report.value = Report("done", note, str(path))
        except Exception as exc:
            traceback.print_exc()
            self.report.value = Report("failed", str(exc), str(out))

"""The controls: the clock bar (step, play, run to day N or the end, Reset) and the sidebar
of settings (scenario, preset, seeds and every parameter, generated from its metadata).
"""

from __future__ import annotations

from typing import Any

import solara
import solara.lab

from admarket.config import SCENARIOS, MarketConfig, load_preset, preset_names, preset_source
from admarket.money import plural
from admarket.viz.live import LiveHTML, html
from admarket.viz.params import (
    SEED_CHOICES,
    Control,
    display,
    grouped,
    parse_typed,
    slider_position,
    to_query,
    to_text,
    unused_in,
    words,
)
from admarket.viz.session import Session
from admarket.viz.stage import SCENARIO_NAMES
from admarket.viz.state import SPEEDS, PageState, intervals

NO_PRESET = "none"


# --- the clock -----------------------------------------------------------------------------
def _clock_html(session: Session) -> str:
    seeds = session.settings.seed_list()
    band = f" · seeds {', '.join(map(str, seeds))} (bands)" if len(seeds) > 1 else ""
    done = 100 * session.steps / max(session.total, 1)
    return (
        f"<span class='am-clock'>{session.label()}</span>"
        f"<span style='font-size:14px;margin-left:12px'>step {session.steps:,} of "
        f"{session.total:,}{band}</span>"
        f"<div class='am-progress'><div style='width:{done:.2f}%'></div></div>"
    )


@solara.component
def TimeBar(state: PageState, rebuild: Any) -> solara.Element:
    """The clock and the buttons that move it; the run-complete state; Reset."""
    session = state.session.value
    playing, building = state.playing.value, state.building.value
    at_end = state.ended.value
    play = solara.lab.use_task(state.play_loop, dependencies=None)
    cfg = session.config
    spd = cfg.steps_per_day
    typed = state.run_to_day.value
    day_text = str(cfg.days) if typed is None else typed
    busy = playing or building

    def go(goal: int | None, pause: float | None = None, one_frame: bool = False) -> None:
        if state.start(goal, pause, one_frame=one_frame):
            play()

    day_error = ""
    try:
        target_day = int(day_text.strip())
        if not 1 <= target_day <= cfg.days:
            raise ValueError
    except ValueError:
        target_day, day_error = 0, f"a day from 1 to {cfg.days}"

    with solara.Div(classes=["am-card", "am-timebar"]) as bar:
        LiveHTML(state, "clock", _clock_html, [])
        # Busy while markets are built or stepped: a large market takes seconds a day, and
        # without it the page looks frozen (the clock only moves once the frame is drawn).
        with solara.Div().key("building-bar"):
            if busy:
                solara.ProgressLinear(
                    True, color="warning" if building else "primary", classes=["am-busy"]
                )
        with solara.Row(style="align-items: center; flex-wrap: wrap; gap: 4px; margin-top: 6px"):
            hour = "+1 hour" if spd == 24 else "+1 step"
            # in the play task, not in the click: the page can say it is working meanwhile
            solara.Button(
                hour,
                on_click=lambda: go(state.next_hour(), 0.0, one_frame=True),
                disabled=busy or at_end,
            )
            solara.Button(
                "+1 day",
                on_click=lambda: go(state.next_day(), 0.0, one_frame=True),
                disabled=busy or at_end,
            )
            if playing:
                solara.Button("❚❚ Pause", on_click=state.pause, color="warning")
            else:
                solara.Button(
                    "▶ Play", on_click=lambda: go(None), disabled=busy or at_end, color="primary"
                )
            solara.Button("Run to the end", on_click=lambda: go(None, 0.0), disabled=busy or at_end)
            solara.InputText(
                "Run to day",
                value=day_text,
                on_value=state.run_to_day.set,
                continuous_update=True,
                error=day_error or False,
                style="max-width: 110px",
                dense=True,
            )
            solara.Button(
                "Go",
                on_click=lambda: go(target_day * spd, 0.0),
                disabled=busy or at_end or not target_day,
            )

            def reset() -> None:
                state.request_rebuild()
                rebuild()

            solara.Button(
                "Reset" if not building else "Resetting…",
                on_click=reset,
                disabled=building,
                color="error",
                outlined=True,
            )
        # enabled while playing: the loop reads both before each frame, never during one
        with solara.Row(style="align-items: center; flex-wrap: wrap; gap: 12px"):
            solara.Select(
                "Draw a frame",
                values=list(intervals(spd)),
                value=state.interval.value,
                on_value=state.interval.set,
                style="max-width: 200px",
            )
            solara.Select(
                "Play speed",
                values=list(SPEEDS),
                value=state.speed.value,
                on_value=state.speed.set,
                style="max-width: 240px",
            )
        if building:
            solara.Info("Building the market from the settings…", dense=True)
        elif at_end:
            solara.Success(
                f"Run complete: {plural(cfg.days, 'day')} simulated. Reset to run it again, or "
                "change the settings and Apply.",
                dense=True,
                classes=["am-complete"],
            )
        if state.status.value:
            solara.Info(state.status.value, dense=True, classes=["am-status"])
    return bar


# --- controls ------------------------------------------------------------------------------
@solara.component
def ParamControl(
    c: Control, raw: Any, error: str, changed: bool, state: PageState, unused: str = ""
) -> solara.Element:
    """One parameter: its value with unit in the label, inline error, changed marker, and
    ``unused``: the scenarios shown that it does not drive (dimmed when none uses it)."""
    mark = " ●" if changed else ""
    # Dimmed, not hidden or disabled: a teacher may still set it before switching scenario.
    dim = unused.startswith("not used")
    classes = ["am-param", *(["am-changed"] if changed else []), *(["am-unused"] if dim else [])]
    with solara.Div(classes=classes) as box:
        if c.widget == "slider":
            value = float(raw)
            with solara.Row(style="align-items: center; gap: 8px; flex-wrap: nowrap"):
                with solara.Div(style="flex: 1 1 auto; min-width: 0"):
                    solara.SliderFloat(
                        f"{c.label}: {display(c.name, value)}{mark}",
                        # where the slider can show it: the exact value stays in the draft
                        value=slider_position(c, value),
                        min=c.lo or 0.0,
                        max=c.hi if c.hi is not None else 1.0,
                        step=c.step or 0.01,
                        on_value=lambda v: state.set_field(c.name, round(v, 6)),
                    )
                ExactEntry(c, value, state)
        elif c.widget == "check":
            solara.Checkbox(
                label=f"{c.label}{mark}",
                value=bool(raw),
                on_value=lambda v: state.set_field(c.name, v),
            )
        else:
            solara.InputText(
                f"{c.label}{mark}",
                value=str(raw),
                on_value=lambda v: state.set_field(c.name, v),
                continuous_update=True,
                error=error or False,
                suffix=c.unit,
                dense=True,
                hide_details="auto",
            )
        if error and c.widget != "text":
            solara.Text(error, classes=["am-error"])
        if unused:
            html(unused, ["am-unused-note"])
        html(f"{c.help}; {c.allowed}.", ["am-help"])
    return box


@solara.component
def ExactEntry(c: Control, value: float, state: PageState) -> solara.Element:
    """A slider's value typed exactly (``0.137`` where the slider steps by 0.005), checked by
    the parameter's own rule: a bad value shows why beside it and leaves the draft as it was.

    The text typed is kept while it is what the draft holds (``0.10`` is not rewritten to
    ``0.1`` mid-typing) or, when bad, until the draft changes otherwise (the slider, a
    preset, Discard): then the box shows the draft's value again. While it is bad, Apply
    is refused (:meth:`PageState.typed_errors`)."""
    # (text typed, the draft's value it goes with): shown while the draft still holds that
    typed = state.typed.value.get(c.name)
    text, error = to_text(value), ""
    if typed is not None and typed[1] == value:
        text = typed[0]
        error = parse_typed(c.name, text)[1]

    return solara.InputText(
        "exact",
        value=text,
        on_value=lambda new: state.type_exact(c.name, new),
        continuous_update=True,
        error=error or False,
        dense=True,
        hide_details="auto",
        classes=[f"am-exact-{c.name}"],
        style="max-width: 96px; flex: 0 0 96px",
    )


def _scenario_select(state: PageState, changed: bool) -> None:
    solara.Select(
        "Scenario" + (" ●" if changed else ""),
        values=list(SCENARIOS),
        value=state.draft_scenario.value,
        on_value=state.draft_scenario.set,
    )
    html(SCENARIO_NAMES[state.draft_scenario.value], ["am-help"])


def _preset_select(state: PageState, changed: bool) -> None:
    solara.Select(
        "Preset" + (" ●" if changed else ""),
        values=[NO_PRESET, *preset_names()],
        value=state.draft_preset.value or NO_PRESET,
        on_value=lambda v: state.choose_preset("" if v in (None, NO_PRESET) else v),
    )
    html(preset_help(state.draft_preset.value), ["am-help"])


def preset_help(name: str) -> str:
    """What choosing preset ``name`` ("" = none) does, in words."""
    if not name:
        return "the model's defaults (the plan's values)"
    # a preset equal to the defaults would otherwise read as a change
    same = " — the model's defaults" if load_preset(name) == MarketConfig() else ""
    return f"{preset_source(name)}{same}; keeps the seed, days and market size set here"


@solara.component
def SettingsPanel(state: PageState, rebuild: Any) -> solara.Element:
    """The sidebar: scenario, preset, seeds and every parameter (rare ones folded away)."""
    router = solara.use_router()
    draft = state.draft.value
    state.draft_scenario.value, state.draft_seeds.value, state.draft_preset.value  # noqa: B018
    state.session.value  # noqa: B018 — the applied settings
    # a rebuild running: Apply would only build again (Apply's own, or Reset's), as Play
    # would step a market about to be replaced; the button waits for it, as Play does
    building = state.building.value
    _settings, errors = state.draft_settings()
    # exact boxes holding a value not allowed: shown in the box, named here, Apply refused
    typed_bad = state.typed_errors()
    blocked = {**errors, **typed_bad}
    changes = state.changes()

    def apply() -> None:
        settings = state.apply()
        if settings is None:
            return
        rebuild()
        # a history entry per Apply: Back shows the settings applied before (the page
        # follows its address; this address is the one being built, so it builds once)
        query = to_query(settings, with_scenario=not state.compare)
        if query != router.search:
            router.push(f"{router.path}?{query}")

    with solara.Column(style="gap: 4px; max-width: 560px") as panel:
        solara.HTML(tag="div", unsafe_innerHTML="<b>Run settings</b>", style="font-size: 16px")
        # keyed blocks: elements that come and go must not take each other's place
        with solara.Div().key("link-problems"):
            if state.problems.value:
                solara.Warning(
                    "Ignored from the link: " + "; ".join(state.problems.value),
                    dense=True,
                    classes=["am-link-problems"],
                )
        with solara.Div().key("pending"):
            if changes:
                n = len(changes)
                solara.Warning(
                    f"{plural(n, 'change')} not applied yet (marked ●): "
                    + ", ".join(sorted(words(name) for name in changes)),
                    dense=True,
                    classes=["am-pending"],
                )
                with solara.Row():
                    solara.Button(
                        "Apply and reset",
                        on_click=apply,
                        color="primary",
                        disabled=bool(blocked) or building,
                    )
                    solara.Button("Discard", on_click=state.discard, text=True)
            if blocked:
                n = len(blocked)
                need = "needs" if n == 1 else "need"
                names = ", ".join(sorted(words(name) for name in blocked))
                solara.Error(
                    f"{plural(n, 'parameter')} {need} fixing before Apply: {names}.",
                    dense=True,
                    classes=["am-blocked"],
                )
        with solara.Div().key("scenario"):
            if not state.compare:
                _scenario_select(state, "scenario" in changes)
        with solara.Div().key("preset"):
            _preset_select(state, "preset" in changes)
        with solara.Div().key("seeds"):
            solara.Select(
                "Seeds side by side" + (" ●" if "seeds" in changes else ""),
                values=list(SEED_CHOICES),
                value=state.draft_seeds.value,
                on_value=state.draft_seeds.set,
            )
            html("more than one seed draws each line with a band over the seeds", ["am-help"])
        # the scenarios the draft will show: a parameter none of them uses is marked
        shown = state.applied.scenarios if state.compare else (state.draft_scenario.value,)
        groups = grouped()
        for _group, common, _rare in groups:
            for c in common:
                ParamControl(
                    c,
                    draft[c.name],
                    errors.get(c.name, ""),
                    c.name in changes,
                    state,
                    unused_in(c, shown),
                ).key(c.name)
        solara.HTML(tag="div", unsafe_innerHTML="<b>More parameters</b>", style="margin-top: 8px")
        for group, _common, rare in groups:
            if not rare:
                continue
            flagged = sum(1 for c in rare if c.name in changes or c.name in errors)
            summary = group + (f" ({flagged} changed)" if flagged else "")
            notes = {unused_in(c, shown) for c in rare}
            if len(notes) == 1 and (note := notes.pop()).startswith("not used"):
                summary += f" — {note}"
            with (
                solara.Div().key(f"group-{group}"),
                solara.Details(summary=summary, expand=any(c.name in errors for c in rare)),
            ):
                for c in rare:
                    ParamControl(
                        c,
                        draft[c.name],
                        errors.get(c.name, ""),
                        c.name in changes,
                        state,
                        unused_in(c, shown),
                    ).key(c.name)
    return panel

"""Browserless: the sidebar. The draft of settings is validated and applied; bad input is
shown beside its field, never raised, and Apply waits until it is fixed; parameters a
scenario does not use say so."""

from __future__ import annotations

import threading
from typing import Any

import ipyvuetify as vw
import pytest
import solara

from admarket import MarketConfig
from admarket.viz.page import Explorer, SideBySide, page_state
from admarket.viz.session import Settings
from admarket.viz.state import PageState
from tests.explorer.render import SMALL, _click, _exact, _one, _render, _Routed, _settle, _wait

pytestmark = pytest.mark.usefixtures("fresh_pages")


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
    seed = _one(rc, vw.TextField, label="Seed")
    seed.v_model = "abc"  # typed (continuous update)
    box = _one(rc, vw.TextField, label="Seed ●")
    assert box.error and box.messages == ["invalid seed = 'abc': an integer in [0, 4,294,967,295]"]
    apply = _one(rc, vw.Btn, children=["Apply and reset"])
    assert apply.disabled
    _one(rc, vw.TextField, label="Buyers").v_model = "3"
    _settle(rc)
    pending = [w.children[0] for w in rc.find(vw.Alert).widgets if "am-pending" in w.class_]
    assert pending == ["2 changes not applied yet (marked ●): buyers, seed"]
    box.v_model = "7"
    assert not _one(rc, vw.Btn, children=["Apply and reset"]).disabled
    rc.close()


def test_a_slider_value_can_be_typed_exactly_and_bad_input_leaves_the_draft() -> None:
    # decay_rate steps by 0.005 on its slider: 0.137 could not be dragged to, only typed.
    pushed: list[str] = []
    _box, rc = solara.render(_Routed(Explorer(), pushed), handle_error=False)
    state = page_state(False, None)
    box = _exact(rc, "decay_rate")
    assert box.v_model == "0.02" and box.label == "exact"
    box.v_model = "0.137"
    assert state.draft.value["decay_rate"] == 0.137
    slider = _one(rc, vw.Slider, label="Decay rate: 13.7% per day ●")
    assert slider.v_model == 0.135  # the nearest step it can show; the draft keeps 0.137
    for bad, shown in (("1.5", "1.5"), ("abc", "'abc'"), ("", "''")):
        _exact(rc, "decay_rate").v_model = bad
        box = _exact(rc, "decay_rate")
        assert box.error and box.messages == [
            f"invalid decay rate = {shown}: a number in [0, 1]"
        ], box.messages
        assert state.draft.value["decay_rate"] == 0.137  # unchanged
    _exact(rc, "decay_rate").v_model = "0.137"  # a bad box refuses Apply: fixed here
    assert not _one(rc, vw.Btn, children=["Apply and reset"]).disabled
    _click(rc, "Apply and reset")
    _wait(lambda: state.applied.config.decay_rate == 0.137 and not state.building.value)
    assert "decay_rate=0.137" in pushed[-1]  # the link, and so the CLI command, say 0.137
    slider = _one(rc, vw.Slider, label="Decay rate: 13.7% per day")
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
    _one(rc, vw.Select, label="Scenario").v_model = "A"  # marked as soon as chosen
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
    _one(rc, vw.TextField, label="Seed").v_model = "5"
    _click(rc, "Apply and reset")
    assert entered.wait(30), "the build did not start"

    def apply_disabled() -> bool:
        return bool(_one(rc, vw.Btn, children=["Apply and reset"]).disabled)

    _wait(apply_disabled)  # the draft still differs from the run shown: the button is there
    assert _one(rc, vw.Btn, children=["▶ Play"]).disabled
    release.set()
    _wait(lambda: state.applied.config.seed == 5 and not state.building.value)
    _wait(lambda: len(rc.find(vw.TextField, label="Seed").widgets) == 1)  # no ●: applied
    _one(rc, vw.TextField, label="Seed").v_model = "6"

    def apply_buttons() -> list[bool]:  # (drawn once the build's render is over)
        return [w.disabled for w in rc.find(vw.Btn, children=["Apply and reset"]).widgets]

    _wait(lambda: apply_buttons() == [False])  # enabled again
    rc.close()


def _blocked(rc: Any) -> list[str]:
    _settle(rc)
    return [w.children[0] for w in rc.find(vw.Alert).widgets if "am-blocked" in w.class_]


def test_apply_is_refused_while_an_exact_box_holds_a_value_not_allowed() -> None:
    # Apply with 'abc' in decay rate's exact box applied the draft's last good value while
    # the box still showed its error: what was built was not what the sidebar showed.
    pushed: list[str] = []
    _box, rc = solara.render(_Routed(Explorer(), pushed), handle_error=False)
    state = page_state(False, None)
    _exact(rc, "decay_rate").v_model = "0.137"
    _one(rc, vw.TextField, label="Buyers").v_model = "3"
    _exact(rc, "decay_rate").v_model = "abc"
    assert state.draft.value["decay_rate"] == 0.137  # the last good value, as before
    assert _one(rc, vw.Btn, children=["Apply and reset"]).disabled
    assert _blocked(rc) == ["1 parameter needs fixing before Apply: decay rate."]
    assert state.apply() is None and not state.building.value  # nothing built
    assert state.status.value == (
        "Fix the highlighted parameters first: invalid decay rate = 'abc': a number in [0, 1]"
    )
    _one(rc, vw.Slider, label="Decay rate: 13.7% per day ●").v_model = 0.1  # dragged
    assert _exact(rc, "decay_rate").v_model == "0.1" and not _blocked(rc)
    assert not _one(rc, vw.Btn, children=["Apply and reset"]).disabled
    _exact(rc, "decay_rate").v_model = "2"  # bad again, with the draft equal to the run's
    _one(rc, vw.TextField, label="Buyers ●").v_model = str(MarketConfig().n_buyers)
    _one(rc, vw.Slider, label="Decay rate: 10% per day ●").v_model = 0.02
    _exact(rc, "decay_rate").v_model = "-1"
    assert state.changes() == {"decay_rate"}  # marked ●, with Apply there and refused
    assert _one(rc, vw.Btn, children=["Apply and reset"]).disabled
    _click(rc, "Discard")
    assert _exact(rc, "decay_rate").v_model == "0.02" and not _exact(rc, "decay_rate").error
    assert state.changes() == set() and not _blocked(rc)
    rc.close()

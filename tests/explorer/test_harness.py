"""Browserless: the page tests' helpers wait for what a task's thread draws. reacton never
waits for its render lock: a change made while a task's thread renders (a rebuild's last
frame, a task saying it has finished) is drawn by that thread after, not at once, and a test
that read the page at once found no 'Apply and reset' button (1 run in 13 of the scenario
switching test)."""

from __future__ import annotations

import threading
import time
from typing import Any

import ipyvuetify as vw
import pytest
import solara

from admarket.viz.page import Explorer
from tests.explorer.render import _click, _Routed, _showing, _status, _wait

pytestmark = pytest.mark.usefixtures("fresh_pages")


def _render_lock_held(rc: Any) -> threading.Event:
    """A thread that holds the page's render lock, as a task's thread does while it draws,
    until the test has asked for a render; then it draws that render, as reacton's render
    loop does. Returns once the lock is held; the event is set when the thread is done."""
    held, done = threading.Event(), threading.Event()

    def task_thread() -> None:
        with rc.thread_lock:
            held.set()
            while not rc._rerender_needed:  # the test's change: left to this thread
                time.sleep(0.01)
        rc.render()
        done.set()

    threading.Thread(target=task_thread, daemon=True).start()
    assert held.wait(30)
    return done


def test_a_click_waits_for_the_button_a_task_thread_draws() -> None:
    pushed: list[str] = []
    _box, rc = solara.render(_Routed(Explorer(), pushed), handle_error=False)
    done = _render_lock_held(rc)
    rc.find(vw.Select, label="Scenario").widget.v_model = "A"  # (_one would wait for it)
    # not drawn yet: the button a test clicked at once was not there
    assert not rc.find(vw.Btn, children=["Apply and reset"]).widgets
    _click(rc, "Apply and reset")  # waits for the render the other thread draws
    assert done.is_set()
    _wait(lambda: _showing(rc, "(start)") and "?scenario=A&" in pushed[-1])
    (status,) = _status(rc)
    assert status.startswith("Reset: new markets built"), status
    rc.close()

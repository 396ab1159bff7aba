"""What the browserless explorer tests share: a small market, rendering a page (alone,
under a router that records where it sends the address bar, or in a browser tab's history),
clicking, waiting for the clock and reading the status line."""

from __future__ import annotations

import re
import time
from typing import Any

import ipyvuetify as vw
import pytest
import solara

from admarket import MarketConfig
from admarket.viz import app
from admarket.viz.page import PATHS, Explorer, SideBySide
from admarket.viz.session import Settings
from admarket.viz.vega import VegaChart
from admarket.viz.widgets import LiveHtml

SMALL = MarketConfig(n_buyers=2, n_sellers=2, campaigns_per_buyer=3, days=3)


def _render(page: solara.Element) -> Any:
    _box, rc = solara.render(solara.AppLayout(children=[page]), handle_error=False)
    return rc


def _settle(rc: Any, timeout: float = 30) -> None:
    """Wait until no render of ``rc`` is under way or asked for. A change made here (a click,
    a value typed) renders in this thread, unless a task's thread (a step, a rebuild, a task
    saying it has finished) holds reacton's render lock at that moment: reacton then leaves
    the render to that thread, and the page shows the change a moment later, not at once."""
    deadline = time.monotonic() + timeout
    while rc.thread_lock.locked() or rc._rerender_needed:
        if time.monotonic() > deadline:
            return  # the check that follows says what the page shows
        time.sleep(0.01)


def _one(rc: Any, cls: Any, **matches: Any) -> Any:
    """The one widget of class ``cls`` matching ``matches``, once the page has drawn what was
    done before (see :func:`_settle`) and shows it (a bound against a hang, not a speed
    test); reacton's error, with the page's structure, when it never does."""
    _settle(rc)
    _wait(lambda: len(rc.find(cls, **matches).widgets) == 1, fail=False)
    return rc.find(cls, **matches).widget


def _click(rc: Any, label: str) -> None:
    _one(rc, vw.Btn, children=[label]).click()
    _settle(rc)


def _busy(rc: Any) -> bool:
    """Whether the page shows it is working (building or stepping)."""
    _settle(rc)
    return bool(rc.find(vw.ProgressLinear, class_="am-busy").widgets)


def _holds(what: Any) -> bool:
    """``what()``, false while it raises: a check of the page (one clock shown) can fail
    while another thread is drawing the change the test waits for."""
    try:
        return bool(what())
    except (AssertionError, ValueError, LookupError):
        return False


def _wait(what: Any, timeout: float = 30, fail: bool = True) -> None:
    """Wait until ``what()`` holds (a bound against a hang, not a speed test); past the bound,
    assert it, so that the check says why (``fail=False``: the caller checks). Not asked
    again once it held: a page drawn by another thread can pass through a state on its way
    to the one waited for, so ``what`` must name the state the test needs, not one it only
    passes through."""
    deadline = time.monotonic() + timeout
    while not _holds(what):
        if time.monotonic() > deadline:
            if fail:
                assert what()
            return
        time.sleep(0.02)


def _step(rc: Any, label: str, clock: str) -> None:
    """Click a step button; wait until the clock reads ``clock`` and the step is over."""
    _click(rc, label)
    _wait(lambda: clock in _clock(rc) and not _busy(rc))


def _clock(rc: Any) -> str:
    _settle(rc)
    html = [w.html for w in rc.find(LiveHtml).widgets if "am-clock" in w.html]
    assert len(html) == 1
    return re.sub("<[^>]+>", " ", html[0])


def _status(rc: Any) -> set[str]:
    _settle(rc)
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


def _go_to_page(rc: Any, index: int) -> None:
    """Click the app bar's tab to the explorer (0) or the side-by-side page (1)."""
    _settle(rc)
    (nav,) = [w for w in rc.find(vw.Tabs).widgets if "am-tabs" not in (w.class_ or "")]
    nav.v_model = index


def _exact(rc: Any, name: str) -> Any:
    _settle(rc)
    return rc.find(vw.TextField, class_=f"am-exact-{name}").widget


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
    _settle(rc)
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

"""Elements that follow the clock without reacton: charts' rows and HTML redrawn in place.

Reacton renders a page when its structure changes; each frame of the clock, only the
contents of *live* elements change, and :func:`use_live` hands each a way to take in the
session directly (:meth:`~admarket.viz.state.PageState.draw` calls them). Also the two
small layout helpers every pane uses: :func:`html` and :func:`card`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import solara

from admarket.viz.session import Session
from admarket.viz.state import Drawer, PageState
from admarket.viz.vega import VegaChart, encode
from admarket.viz.widgets import LiveHtml


def html(text: str, classes: list[str] | None = None, style: str = "") -> solara.Element:
    """A ``<div>`` of fixed HTML (no Markdown: that would fetch KaTeX from a CDN)."""
    return solara.HTML(tag="div", unsafe_innerHTML=text, classes=classes or [], style=style)


@contextmanager
def card(title: str, classes: list[str] | None = None) -> Iterator[solara.Element]:
    """A bordered box with a title (plain HTML: no Vuetify card shadows or fixed sizes)."""
    with solara.Div(classes=["am-card", *(classes or [])]) as box:
        solara.HTML(tag="div", unsafe_innerHTML=title, classes=["am-card-title"])
        yield box


# --- live elements: redrawn by the clock, not by reacton ----------------------------------
def use_live(
    state: PageState,
    key: str,
    el: solara.Element,
    update: Callable[[Any, Session], None],
    dependencies: list[Any],
    scenario: str | None = None,
) -> None:
    """Register ``update(widget, session)`` as the way ``el``'s widget follows the clock.

    Each frame, :meth:`PageState.draw` calls every registered update directly: the rows of
    a chart or the HTML of the feed go straight to the widget, without a reacton render of
    the page (which would visit every element, sidebar included, each frame). Reacton only
    renders when the page's structure changes (a rebuild, the theme). ``scenario``: the
    market the element draws; a session without it skips (and drops) the drawer.
    """

    def register() -> Callable[[], None]:
        widget = solara.get_widget(el)

        def draw(session: Session) -> None:
            update(widget, session)

        state.drawers[key] = Drawer(draw, scenario)
        draw(state.session.value)

        def unregister() -> None:
            drawer = state.drawers.get(key)
            if drawer is not None and drawer.draw is draw:
                del state.drawers[key]

        return unregister

    solara.use_effect(register, dependencies)


@solara.component
def LiveVega(
    state: PageState,
    key: str,
    spec: dict[str, Any],
    rows: Callable[[Session], dict[str, list[dict[str, Any]]]],
    dependencies: list[Any],
    title: str = "",
    scenario: str | None = None,
) -> solara.Element:
    """A Vega-Lite chart whose data sets follow the clock (``rows(session)`` each frame).

    The rows and the frame's tag go to the widget in one message: when the browser reports
    the tag as drawn, the rows on screen are that frame's.
    """
    el = VegaChart.element(spec=spec, title=title)

    def update(widget: VegaChart, session: Session) -> None:
        text = encode(rows(session))
        with widget.hold_sync():
            widget.data_json = text
            widget.tag = str(session.steps)

    use_live(state, key, el, update, [key, *dependencies], scenario)
    return el


@solara.component
def LiveHTML(
    state: PageState,
    key: str,
    html: Callable[[Session], str],
    dependencies: list[Any],
    classes: list[str] | None = None,
    scenario: str | None = None,
) -> solara.Element:
    """HTML that follows the clock (``html(session)`` each frame, see :class:`LiveHtml`)."""
    el = LiveHtml.element(div_class=" ".join(classes or []))

    def update(widget: LiveHtml, session: Session) -> None:
        widget.html = html(session)

    use_live(state, key, el, update, [key, *dependencies], scenario)
    return el

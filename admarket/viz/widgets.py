"""Two small browser widgets: HTML whose content follows the clock, and a copy button.

:class:`LiveHtml` keeps its content in a trait that no element sets, so only the clock
(:meth:`~admarket.viz.state.PageState.draw`) writes it: when reacton renders the page for
another reason it re-applies the props its elements were created with, and a plain
``solara.HTML`` would be reset to stale text. :class:`CopyButton` copies a text to the
clipboard in the browser, with no server round trip.
"""

from __future__ import annotations

import os

import ipyvuetify as v
import solara
import traitlets


class LiveHtml(v.VuetifyTemplate):
    """A ``<div>`` showing ``html``, with CSS classes ``div_class``."""

    template = traitlets.Unicode(
        "<template><div :class='div_class' v-html='html'></div></template>"
    ).tag(sync=True)
    html = traitlets.Unicode("").tag(sync=True)
    div_class = traitlets.Unicode("").tag(sync=True)


class CopyButton(v.VuetifyTemplate):
    """Copies ``text`` to the clipboard when clicked; says so for two seconds."""

    template_file = os.path.join(os.path.dirname(__file__), "clipboard.vue")
    text = traitlets.Unicode("").tag(sync=True)
    label = traitlets.Unicode("Copy").tag(sync=True)
    done_label = traitlets.Unicode("Copied ✓").tag(sync=True)


@solara.component
def Copy(text: str, label: str = "Copy") -> solara.Element:
    """Solara element of a :class:`CopyButton`."""
    return CopyButton.element(text=text, label=label)

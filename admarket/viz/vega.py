"""Charts drawn in the browser by Vega-Lite, served from Solara's local asset cache.

:class:`VegaChart` is a small ipyvue widget: its ``spec`` (marks, scales, colours, sizes)
is sent when the chart's structure changes, its ``datasets`` (named lists of rows) on
every redraw, and the browser swaps the rows into the live Vega view instead of building
a new chart. The server only assembles rows; the browser draws. The JavaScript comes from
the ``vega``, ``vega-lite`` and ``vega-embed`` packages that ``solara-assets`` puts in
Solara's asset cache, so no request leaves the machine.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import ipyvuetify as v
import traitlets

# Front-end packages in Solara's asset cache (solara-assets 1.58.2 ships these versions).
VEGA_ASSETS = {
    "vega": "vega@5.21.0",
    "vega-lite": "vega-lite@5.2.0",
    "vega-embed": "vega-embed@6.20.2",
    "requirejs": "requirejs@2.3.6",
}
VEGA_LITE_SCHEMA = "https://vega.github.io/schema/vega-lite/v5.2.0.json"  # an id, never fetched


def missing_vega_assets() -> list[str]:
    """The Vega packages that are not in Solara's local asset cache (empty: ready offline)."""
    import solara.server.settings as settings

    cache = Path(settings.assets.proxy_cache_dir)
    files = {
        "vega": "build/vega.min.js",
        "vega-lite": "build/vega-lite.min.js",
        "vega-embed": "build/vega-embed.min.js",
        "requirejs": "require.js",
    }
    return [pkg for key, pkg in VEGA_ASSETS.items() if not (cache / pkg / files[key]).is_file()]


class VegaChart(v.VuetifyTemplate):
    """A Vega-Lite chart: ``spec`` without data, data sets by name, drawn client-side.

    ``data_json`` holds the data sets as JSON text (``{name: [row or column block]}``, see
    :func:`block`): a string is sent as is, where a dict of thousands of rows would be
    walked item by item by ipywidgets on every update. ``tag`` is copied to the element's
    ``data-tag`` attribute once the browser has drawn the data sent with it, so a test (or
    a user script) can tell which frame is on screen.
    """

    template_file = os.path.join(os.path.dirname(__file__), "vega.vue")
    spec = traitlets.Dict().tag(sync=True)
    data_json = traitlets.Unicode("").tag(sync=True)
    tag = traitlets.Unicode("").tag(sync=True)
    title = traitlets.Unicode("").tag(sync=True)
    assets = traitlets.Dict(VEGA_ASSETS).tag(sync=True)
    cdn = traitlets.Unicode(None, allow_none=True).tag(sync=True)

    @traitlets.default("cdn")
    def _cdn(self) -> str | None:
        import solara.settings

        # with the asset proxy on (admarket explore), the page's own /_solara/cdn serves
        # the cache; otherwise the configured CDN
        return None if solara.settings.assets.proxy else solara.settings.assets.cdn


def block(n: int, **columns: Any) -> dict[str, Any]:
    """``n`` rows as columns: each a list of ``n`` values or one value for every row."""
    return {"__n": n, **columns}


def encode(sets: dict[str, list[dict[str, Any]]]) -> str:
    """Data sets as the JSON text a :class:`VegaChart` takes (NaN is not JSON: use None)."""
    return json.dumps(sets, separators=(",", ":"), allow_nan=False)

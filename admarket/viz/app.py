"""admarket explorer: the ad market in the browser, served fully offline by Solara.

Three pages. **Home** runs one scenario: the market graph (deal flow over the last day,
agents marked while they lose facts, restart or act on a wrong fact), the memory of each
agent, the feed of key events, a scoreboard and eight KPI charts. **side-by-side** runs A,
B and C on the same seed, stepping together, with the charts on shared axes. The sidebar
holds every parameter (from the config's metadata); the clock steps an hour, a day, to
day N or to the end; Info explains the model; Share and export gives the CSV, the CLI
command, the link and the full report. **Saved results** lists the results ``admarket run``,
``compare`` and ``sweep --out`` wrote in the results folder and opens a complete one read
only: a run's or compare's KPI charts, a sweep's summary table, where the report is.

Run: ``admarket explore`` or ``solara run admarket.viz.app``.
"""

from __future__ import annotations

import solara
import solara.server.settings

from admarket.viz.page import PATHS, SAVED, Explorer, SideBySide
from admarket.viz.saved_page import SavedResults

# Solara's "This website runs on Solara" banner sits fixed over the bottom-right corner of
# the page, on top of the charts; the explorer says what it runs on in its Info tab.
solara.server.settings.theme.show_banner = False

routes = [
    solara.Route(path=PATHS[False], component=Explorer, label="Explorer"),
    solara.Route(path=PATHS[True].lstrip("/"), component=SideBySide, label="A | B | C"),
    solara.Route(path=PATHS[SAVED].lstrip("/"), component=SavedResults, label="Saved results"),
]

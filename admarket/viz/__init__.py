"""The browser explorer: Mesa's SolaraViz over the ad market, served offline by Solara.

``admarket explore`` (or ``solara run admarket/viz/app.py``) opens two pages: the explorer
(one scenario: market graph, KPI charts, narrative feed) and a side-by-side page where A, B
and C run on the same seed and step together. Importing this package needs only the core
dependencies; the Solara pages need the ``viz`` extra (``pip install 'admarket[viz]'``).
"""

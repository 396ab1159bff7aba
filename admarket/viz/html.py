"""Small HTML pieces the pages share: legends (they wrap, so no entry is ever cut off) and
the page's stylesheet (a responsive grid of cards; every text at least 12 px)."""

from __future__ import annotations

from html import escape

from admarket.money import usd_auto
from admarket.viz.charts import LegendItem
from admarket.viz.graph import Mark

CSS = """
.am-main { max-width: 100%; }
.am-grid { display: grid; gap: 12px; align-items: start; margin-bottom: 12px;
  grid-template-columns: repeat(auto-fit, minmax(var(--am-min, 380px), 1fr)); }
.am-card { border: 1px solid rgba(128, 128, 128, 0.35); border-radius: 6px;
  padding: 10px 12px; min-width: 0; }
.am-card-title { font-size: 15px; font-weight: 600; margin: 0 0 4px; line-height: 1.3; }
.am-legend { display: flex; flex-wrap: wrap; gap: 2px 14px; font-size: 13px;
  margin: 0 0 4px; line-height: 1.6; }
.am-legend-item { display: inline-flex; align-items: center; gap: 6px; white-space: nowrap; }
.am-note { font-size: 13px; opacity: 0.85; margin: 4px 0; }
.am-feed { font-size: 14px; line-height: 1.45; max-height: 420px; overflow-y: auto;
  padding-right: 4px; }
.am-compare .am-feed { max-height: 340px; font-size: 13px; }
.am-score { font-size: 14px; }
.am-score td, .am-score th { padding: 2px 6px; }
.am-clock { font-size: 20px; font-weight: 600; }
.am-progress { height: 6px; background: rgba(25, 118, 210, 0.2); margin: 6px 0 2px; }
.am-progress > div { height: 100%; background: #1976d2; }
.am-help { font-size: 12px; opacity: 0.8; margin: 4px 0 12px; line-height: 1.35; }
.am-changed { border-left: 3px solid #f58518; padding-left: 6px; }
.am-error { color: #d32f2f; font-size: 13px; }
.am-unused > :not(.am-unused-note) { opacity: 0.5; }
.am-unused-note { font-size: 12px; font-style: italic; margin-top: 2px; }
.am-info { font-size: 14px; line-height: 1.5; max-width: 60em; }
.am-info li { margin-bottom: 4px; }
.am-cli { font-family: monospace; font-size: 13px; word-break: break-all;
  background: rgba(128, 128, 128, 0.12); padding: 6px 8px; border-radius: 4px; }
.am-timebar .v-btn { margin: 2px 4px 2px 0; }
.v-app-bar .v-tab { color: rgba(255, 255, 255, 0.75) !important; }
.v-app-bar .v-tab--active { color: #ffffff !important; }
"""


def _swatch_line(color: str, dash: tuple[int, int], band: bool) -> str:
    dasharray = "" if dash[1] == 0 else f" stroke-dasharray='{dash[0]},{dash[1]}'"
    fill = (
        f"<rect x='0' y='3' width='26' height='10' fill='{color}' opacity='0.18'/>" if band else ""
    )
    return (
        f"<svg width='26' height='16' aria-hidden='true'>{fill}<line x1='1' y1='8' x2='25' y2='8' "
        f"stroke='{color}' stroke-width='3'{dasharray}/></svg>"
    )


def chart_legend(items: list[LegendItem], band: bool) -> str:
    """A chart's legend: a dashed or solid line per series (and the band, if drawn)."""
    entries = [
        f"<span class='am-legend-item'>{_swatch_line(i.color, i.dash, False)}"
        f"{escape(i.label)}</span>"
        for i in items
    ]
    if band:
        entries.append(
            f"<span class='am-legend-item'>{_swatch_line('#888888', (1, 0), True)}"
            "band: range over the seeds</span>"
        )
    return f"<div class='am-legend'>{''.join(entries)}</div>"


def _mark_svg(m: Mark) -> str:
    c = m.color
    body = {
        "dot": f"<circle cx='9' cy='9' r='6' fill='{c}'/>",
        "square": f"<rect x='3' y='3' width='12' height='12' fill='{c}'/>",
        "line": f"<line x1='1' y1='9' x2='25' y2='9' stroke='{c}' stroke-width='4'/>",
        "halo": f"<circle cx='9' cy='9' r='8' fill='{c}'/><circle cx='9' cy='9' r='4' "
        "fill='#8c8c8c'/>",
        "ring": f"<circle cx='9' cy='9' r='6.5' fill='none' stroke='{c}' stroke-width='3'/>",
        "cross": f"<path d='M4 4 L14 14 M14 4 L4 14' stroke='{c}' stroke-width='4'/>",
    }[m.kind]
    width = 26 if m.kind == "line" else 18
    return f"<svg width='{width}' height='18' aria-hidden='true'>{body}</svg>"


def graph_legend_html(marks: list[Mark], fade_days: int) -> str:
    """The graph's legend, with how marks fade."""
    entries = "".join(
        f"<span class='am-legend-item'>{_mark_svg(m)}{escape(m.label)}</span>" for m in marks
    )
    note = (
        f"<span class='am-legend-item'>marks are strongest on the day it happens and fade "
        f"over {fade_days} days</span>"
        if any(m.kind in ("halo", "ring", "cross") for m in marks)
        else ""
    )
    return f"<div class='am-legend'>{entries}{note}</div>"


def edge_caption(top: float, has_exchange: bool) -> str:
    """What an edge's width and colour mean, in dollars: ``top`` is the busiest edge's spend
    over the last day (:func:`~admarket.viz.graph.busiest_edge`), which the thickest line
    draws. Widths are relative to it, so without the figure a thick line says nothing."""
    if top > 0:
        scale = f"in proportion to the busiest edge's: the thickest line is <b>{usd_auto(top)}</b>"
    else:
        scale = "none yet, so every edge is thin and grey"
    flow = (
        " Buyer → exchange: the buyer's gross spend; exchange → seller: what the seller was "
        "paid after the exchange's fees."
        if has_exchange
        else " Buyer → seller: the buyer's spend on its direct deals."
    )
    return (
        "Edge width: US dollars along the edge over the last 24 simulated hours, "
        f"{scale}.{flow} Edge colour: the path (via the exchange or direct), grey when "
        "nothing was spent; see the legend."
    )

"""The narrative feed and the scoreboard: what a class reads beside the pictures.

The feed tells the latest key events of a market in words, newest first: deals,
walk-aways, memory losses, restarts, decisions on fabricated facts, disputes and stopped
campaigns (successful negotiations are left out: the deal line tells them). Only the tail
of the event log is read each step. The scoreboard gives the headline numbers so far, a
column per scenario. Both render as plain HTML: Solara's Markdown would fetch KaTeX and
Mermaid from the CDN, which is not there offline.
"""

from __future__ import annotations

from html import escape
from typing import Any

import solara

from admarket.config import MarketConfig
from admarket.money import impressions, usd
from admarket.viz.models import ExplorerModel

SCAN_LIMIT = 5000  # events read back from the end of the log per render
_BOX = "font-size: 13px; height: 100%; overflow-y: auto"


def describe(event: dict[str, Any], names: dict[str, str]) -> str | None:
    """One event as an HTML sentence, or None if not a key event. ``names``: node → label."""
    e = {k: escape(str(v).replace("_", " ")) if isinstance(v, str) else v for k, v in event.items()}
    kind = event["kind"]

    def who(key: str) -> str:
        name = event.get(key, "?")
        return f"<b>{escape(names.get(name, name))}</b>"

    if kind == "deal":
        return (
            f"{who('buyer')} booked a {e['type']} deal with {who('seller')}: "
            f"{impressions(e['impressions'])} impressions at {usd(e['price'])} CPM."
        )
    if kind == "negotiation" and not e.get("agreed", True):
        return f"{who('buyer')} walked away from {who('seller')} after {e['rounds']} round(s)."
    if kind == "context_loss":
        return f"{who('agent')} forgot {e['n']} fact(s) ({e['cause']})."
    if kind == "restart":
        return f"{who('agent')} restarted and lost {e['facts_lost']} fact(s) from memory."
    if kind == "hallucination":
        return (
            f"⚠️ {who('agent')} acted on a fabricated fact: <code>{escape(event['key'])}</code>"
            f" = {float(e['claimed']):.4g} ({e['fabrication']}) while deciding '{e['decision']}'."
        )
    if kind == "dispute":
        return (
            f"{who('buyer')} and {who('seller')} disagree over deal {e['deal']}: "
            f"invoice {usd(e['invoice'])}, buyer expected {usd(e['expected'])}; "
            f"paid {usd(e['paid'])} ({e['outcome']})."
        )
    if kind == "campaign_stopped":
        return f"{who('agent')} stopped campaign {e['campaign']} ({e['reason']})."
    return None


def latest(model: ExplorerModel, n: int = 10) -> list[str]:
    """The ``n`` most recent key events of ``model``, newest first, with their time."""
    names = {s.name: model.graph.nodes[s.name].get("name", s.name) for s in model.sellers}
    spd = model.config.steps_per_day
    out: list[str] = []
    records = model.events.records
    for event in reversed(records[-SCAN_LIMIT:]):
        text = describe(event, names)
        if text is not None:
            step = event["step"]
            out.append(f"Day {step // spd + 1}, {step % spd:02d}:00 — {text}")
            if len(out) == n:
                break
    return out


def settings_line(cfg: MarketConfig) -> str:
    """The parameters the shown run was built with (sliders moved since apply on Reset)."""
    return (
        f"Run: seed {cfg.seed} · {cfg.n_buyers} buyers × {cfg.n_sellers} sellers · "
        f"{cfg.days} days · exchange fee {cfg.exchange_fee:.0%} · decay {cfg.decay_rate:.1%}/day"
        f" · restarts {cfg.restart_rate:.1%}/day · hallucination {cfg.hallucination_rate:.0%}"
        f" · {cfg.records_per_blob} records/blob"
    )


def NarrativeFeed(model: Any) -> solara.Element:
    """SolaraViz component: the latest key events of each market (one block per scenario)."""
    markets = model.markets
    per_market = 12 if len(markets) == 1 else 4
    blocks = [f"<p style='color:#666'>{settings_line(model.config)}</p>"]
    for scenario, m in markets.items():
        items = "".join(f"<li>{line}</li>" for line in latest(m, per_market))
        body = f"<ul>{items}</ul>" if items else "<p><i>No key events yet: press Step.</i></p>"
        blocks.append(f"<p><b>Scenario {scenario}: latest events</b></p>{body}")
    return solara.HTML(tag="div", unsafe_innerHTML="".join(blocks), style=_BOX)


SCOREBOARD = (
    ("take rate", "take_rate", "{:.1%}"),
    ("buyers' spend", "gross_spend", "${:,.0f}"),
    ("net to publishers", "net_to_publishers", "${:,.0f}"),
    ("goal attainment (yesterday)", "goal_attainment", "{:.1%}"),
    ("facts lost", "facts_lost", "{:,.0f}"),
    ("restarts", "restarts", "{:,.0f}"),
    ("decisions on a wrong fact", "hallucinated_decisions", "{:,.0f}"),
    ("fabrications caught by the ledger", "caught_by_ledger", "{:,.0f}"),
    ("disputes", "disputes", "{:,.0f}"),
    ("written off", "written_off", "${:,.0f}"),
    ("ledger cost", "ledger_cost_usd", "${:,.2f}"),
)


def Scoreboard(model: Any) -> solara.Element:
    """SolaraViz component: the headline numbers so far, a column per scenario."""
    markets = model.markets
    head = "".join(f"<th>{s}</th>" for s in markets)
    rows = [f"<tr><th style='text-align:left'>so far</th>{head}</tr>"]
    for label, column, fmt in SCOREBOARD:
        values = [fmt.format(m.datacollector.model_vars[column][-1]) for m in markets.values()]
        cells = "".join(f"<td style='text-align:right'>{v}</td>" for v in values)
        rows.append(f"<tr><td>{label}</td>{cells}</tr>")
    table = f"<table style='width:100%'>{''.join(rows)}</table>"
    return solara.HTML(tag="div", unsafe_innerHTML=table, style=_BOX)

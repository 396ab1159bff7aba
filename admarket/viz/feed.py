"""The narrative feed and the scoreboard: what a class reads beside the pictures.

The feed tells a market's key events in words, newest first, stamped with the simulated
hour they happened in ("day 3, 23:00"): deals, walk-aways, memory losses, restarts,
decisions on a fabricated fact, disputes, stopped campaigns. Events that say the same
thing in the same hour are told once ("×3"), and an agent's fabrications within one
decision are told together, each fact named in words ("the price of deal 12"), with money
in dollars. In scenario A, where agents keep no memory, the feed tells what the exchange
did each day instead: auctions cleared, spend, the fees it took and what publishers got.
Both render as plain HTML (Solara's Markdown would fetch KaTeX and Mermaid from a CDN).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from html import escape
from typing import Any

from admarket.config import EXCHANGE_FEES
from admarket.model import MarketModel
from admarket.money import impressions, plural, usd
from admarket.outputs.moments import fact_key_parts, money_fact_in_words
from admarket.viz.charts import PANELS, defined_series
from admarket.viz.graph import agent_label
from admarket.viz.session import DayTally, Watch, event_time

SCAN_LIMIT = 4000  # events read back from the end of the log per frame
DEAL_TYPES = {
    "PG": "programmatic-guaranteed (PG)",
    "PD": "preferred (PD)",
    "PA": "private-auction (PA)",
}
DECISIONS = {
    "plan": "planning its buying",
    "invoice": "writing an invoice",
    "pay_invoice": "paying an invoice",
    "offer": "offering inventory",
    "inventory_view": "taking stock of its inventory",
    "record_spend": "recording a campaign's spend",
    "record_history": "recording a seller's delivery",
}
# every fee field of the config in words (tested): the feed never prints a field's name
FEE_NAMES = {
    "exchange_fee": "exchange (SSP) fee",
    "dsp_fee": "DSP fee",
    "adtech_fee": "buy-side ad-tech fees",
    "sell_adtech_fee": "sell-side ad-tech fees",
    "unknown_delta": "unattributed delta",
    "agent_fee": "agent fee",
    "protocol_fee": "protocol fee",
}


@dataclass(frozen=True)
class Line:
    """One feed line: when (step), what kind (for its colour), the sentence (HTML)."""

    step: int
    kind: str
    html: str
    count: int = 1


def fact_in_words(key: str, who: Callable[[str], str] | None = None) -> str:
    """A fact's key as a phrase: ``deal:12:price`` → ``the price (CPM) of deal 12``.
    ``who`` names an agent (``seller-3`` → its publisher's name)."""
    name = who or (lambda n: n.replace("-", " "))
    parts = key.split(":")
    attrs = {
        "price": "price (CPM)",
        "end": "end date",
        "volume": "volume",
        "delivered": "delivered impressions",
        "start": "start date",
    }
    if parts[0] == "deal" and len(parts) == 3:
        return f"the {attrs.get(parts[2], parts[2])} of deal {parts[1]}"
    if parts[0] == "fill" and len(parts) == 3:
        seller, buyer = name(f"seller-{parts[2]}"), name(f"buyer-{parts[1]}")
        return f"how well {seller} has delivered to {buyer} (fill rate)"
    if parts[0] == "avail" and len(parts) == 3:
        try:  # (a horizon may be a fraction of a day: "2.5 days")
            n = float(parts[2])
            days = plural(int(n), "day") if n.is_integer() else f"{n:g} days"
        except ValueError:
            days = f"{parts[2]} days"
        return f"the lots product {parts[1]} can still sell over {days}"
    if parts[0] == "campaign" and len(parts) == 3:
        return f"what campaign {parts[1]} has {parts[2]}"
    if parts[0] == "hist" and len(parts) == 4:
        seller, buyer = name(f"seller-{parts[2]}"), name(f"buyer-{parts[1]}")
        return f"the {parts[3]} delivery history of {buyer} with {seller}"
    return key.replace(":", " ")


def value_in_words(key: str, value: float) -> str:
    """A claimed value with its unit: dollars for prices and spend, a share for fill."""
    money = money_fact_in_words(key, value)
    if money is not None:
        return money
    kind = fact_key_parts(key)[0]
    if kind == "fill":
        return f"{value:.0%}"
    if kind in ("avail", "hist"):
        return f"{value:,.0f} lots"
    return f"{value:,.2f}"


def _who(model: MarketModel, name: Any) -> str:
    return f"<b>{escape(agent_label(model, str(name)))}</b>"


def describe(model: MarketModel, e: dict[str, Any]) -> str | None:
    """One event as an HTML sentence, or None if it is not a key event."""
    kind = e["kind"]
    if kind == "deal":
        kind_text = DEAL_TYPES.get(str(e.get("type")), f"{escape(str(e.get('type')))}")
        return (
            f"{_who(model, e['buyer'])} booked a {kind_text} deal with "
            f"{_who(model, e['seller'])}: {impressions(e['impressions'])} impressions "
            f"at {usd(e['price'])} CPM."
        )
    if kind == "negotiation" and not e.get("agreed", True):
        return (
            f"{_who(model, e['buyer'])} walked away from {_who(model, e['seller'])} "
            f"after {plural(e['rounds'], 'round')} of negotiation."
        )
    if kind == "context_loss":
        cause = {"decay": "memory decay", "pressure": "a full context"}.get(
            str(e.get("cause")), escape(str(e.get("cause", "")).replace("_", " "))
        )
        return f"{_who(model, e['agent'])} forgot {plural(e['n'], 'fact')} ({cause})."
    if kind == "restart":
        return (
            f"{_who(model, e['agent'])} restarted: its memory was wiped "
            f"({plural(e['facts_lost'], 'fact')} lost)."
        )
    if kind == "dispute":
        outcome = escape(str(e.get("outcome", "")).replace("_", " "))
        return (
            f"{_who(model, e['buyer'])} and {_who(model, e['seller'])} disputed the invoice "
            f"of deal {e['deal']}: invoiced {usd(e['invoice'])}, buyer expected "
            f"{usd(e['expected'])}; paid {usd(e['paid'])} ({outcome})."
        )
    if kind == "campaign_stopped":
        return (
            f"{_who(model, e['agent'])} stopped campaign {e['campaign']} "
            f"({escape(str(e.get('reason', '')))})."
        )
    return None


def _fabrications(model: MarketModel, group: list[dict[str, Any]]) -> str:
    first = group[0]

    def who(name: str) -> str:
        return escape(agent_label(model, name))

    raw = str(first.get("decision"))
    decision = DECISIONS.get(raw, escape(raw.replace("_", " ")))
    facts = [
        f"{fact_in_words(str(e['key']), who)} (it used "
        f"{value_in_words(str(e['key']), e['claimed'])})"
        for e in group[:2]
    ]
    more = f", and {len(group) - 2} more" if len(group) > 2 else ""
    n = "a fabricated fact" if len(group) == 1 else f"{len(group)} fabricated facts"
    return (
        f"⚠ {_who(model, first['agent'])} acted on {n} while {decision}: {'; '.join(facts)}{more}."
    )


def market_lines(model: MarketModel, limit: int) -> list[Line]:
    """The ``limit`` most recent feed lines of a market that holds state (B, C), newest
    first; repeats within an hour merged, fabrications grouped per agent and decision."""
    records = model.events.records
    lines: list[Line] = []
    seen: dict[tuple[int, str], int] = {}  # (step, html) → index in lines
    i = len(records) - 1
    stop = max(0, len(records) - SCAN_LIMIT)
    while i >= stop and len(lines) < limit:
        e = records[i]
        if e["kind"] == "hallucination":
            group = [e]
            j = i - 1
            while (
                j >= stop
                and records[j]["kind"] == "hallucination"
                and records[j]["step"] == e["step"]
                and records[j].get("agent") == e.get("agent")
                and records[j].get("decision") == e.get("decision")
            ):
                group.append(records[j])
                j -= 1
            group.reverse()
            html = _fabrications(model, group)
            kind, i = "wrong", j
        else:
            said = describe(model, e)
            kind = e["kind"]
            i -= 1
            if said is None:
                continue
            html = said
        key = (e["step"], html)
        if key in seen:
            k = seen[key]
            lines[k] = Line(lines[k].step, lines[k].kind, html, lines[k].count + 1)
            continue
        seen[key] = len(lines)
        lines.append(Line(e["step"], kind, html))
    return lines


def tally_line(t: DayTally, fee_rates: dict[str, float]) -> str:
    """What the exchange did in a day, in words (scenario A)."""
    fees = {k: v for k, v in t.fees.items() if k in EXCHANGE_FEES and v}
    total = sum(fees.values())
    parts = ", ".join(f"{FEE_NAMES[k]} {usd(v)}" for k, v in fees.items())
    when = "so far today" if not t.complete else "that day"
    if not t.auction_lots:
        return f"The exchange cleared no auctions {when}."
    return (
        f"The exchange cleared <b>{t.auction_lots:,}</b> auction lots {when}: buyers spent "
        f"<b>{usd(t.gross, 0)}</b>; it took <b>{usd(total, 0)}</b> in fees"
        + (f" ({parts})" if len(fees) > 1 else "")
        + f"; publishers received <b>{usd(t.net, 0)}</b>."
    )


def exchange_lines(model: MarketModel, watch: Watch, limit: int) -> list[Line]:
    """Scenario A's feed: one line per day of the exchange's work (today so far first),
    plus campaigns stopped, newest first."""
    spd = model.config.steps_per_day
    lines: list[Line] = []
    now = watch.today_so_far()
    if now is not None:
        lines.append(Line(model.steps - 1, "exchange", tally_line(now, {})))
    for t in reversed(watch.days[-limit:]):
        lines.append(Line((t.day + 1) * spd - 1, "exchange", tally_line(t, {})))
    for e in model.events.records[-SCAN_LIMIT:]:
        html = describe(model, e)
        if html is not None:
            lines.append(Line(e["step"], e["kind"], html))
    lines.sort(key=lambda line: -line.step)
    return lines[:limit]


def feed_lines(model: MarketModel, watch: Watch, limit: int) -> list[Line]:
    """The feed of one market: the exchange's days in A, agents' events in B and C."""
    if model.exchange is not None:
        return exchange_lines(model, watch, limit)
    return market_lines(model, limit)


KIND_COLORS = {
    "wrong": "#c51b7d",
    "restart": "#e45756",
    "context_loss": "#f58518",
    "dispute": "#b8860b",
    "deal": "#2a9d8f",
    "exchange": "#7b4fa0",
}


def feed_html(model: MarketModel, lines: list[Line]) -> str:
    """The feed as an HTML list (timestamps, a coloured bar per kind)."""
    if not lines:
        if model.exchange is not None:
            return "<p><i>Nothing yet: advance the clock to see the exchange at work.</i></p>"
        return "<p><i>No key events yet: advance the clock.</i></p>"
    spd = model.config.steps_per_day
    items = []
    for line in lines:
        color = KIND_COLORS.get(line.kind, "#888888")
        times = f" <b>×{line.count}</b>" if line.count > 1 else ""
        items.append(
            f"<li style='border-left:4px solid {color};padding:2px 0 2px 8px;margin:0 0 6px'>"
            f"<span style='opacity:.75;white-space:nowrap'>{event_time(line.step, spd)}</span>"
            f" — {line.html}{times}</li>"
        )
    return f"<ul style='list-style:none;padding:0;margin:0'>{''.join(items)}</ul>"


# --- scoreboard ----------------------------------------------------------------------------
SCOREBOARD = (
    ("take rate", "take_rate", "pct"),
    ("buyers' spend", "gross_spend", "usd"),
    ("net to publishers", "net_to_publishers", "usd"),
    ("goal attainment (last close)", "goal_attainment", "pct"),
    ("facts lost", "facts_lost", "int"),
    ("restarts", "restarts", "int"),
    ("decisions on a wrong fact", "hallucinated_decisions", "int"),
    ("caught by the ledger", "caught_by_ledger", "int"),
    ("disputes", "disputes", "int"),
    ("written off", "written_off", "usd"),
    ("ledger cost", "ledger_cost_usd", "usd2"),
)


def _fmt(value: float, how: str) -> str:
    if value != value:  # NaN
        return "–"
    if how == "pct":
        return f"{value:.1%}"
    if how == "usd":
        return usd(value, 0)
    if how == "usd2":
        return usd(value)
    return f"{value:,.0f}"


def scoreboard_rows(markets: dict[str, MarketModel]) -> list[tuple[str, list[str]]]:
    """The headline numbers so far: ``(label, one value per scenario)``; "n/a" where a
    number does not apply (memory in A, the ledger outside C), "–" where it is not defined
    yet."""
    rows = []
    for label, column, how in SCOREBOARD:
        values = []
        for s, m in markets.items():
            na = (column in _STATEFUL and s == "A") or (column in _LEDGER and s != "C")
            if na:
                values.append("n/a")
                continue
            value = defined_series(m, column, _UNDEFINED_UNTIL.get(column, ""))[-1]
            values.append(_fmt(float(value), how))
        rows.append((label, values))
    lots = [
        f"{m.events.counts['auction_wins']:,}" if s == "A" else "n/a" for s, m in markets.items()
    ]
    rows.insert(3, ("auction lots cleared", lots))
    return rows


# A number is "–" while its chart draws no line: a take rate before any spend, goal
# attainment before the first day's close (a share of nothing is not 0%).
_UNDEFINED_UNTIL = {c: p.undefined_until for p in PANELS for c, _ in p.series}
_STATEFUL = {"facts_lost", "restarts", "hallucinated_decisions", "disputes", "written_off"}
_LEDGER = {"caught_by_ledger", "ledger_cost_usd"}


def scoreboard_html(markets: dict[str, MarketModel], seeds: list[int] | None = None) -> str:
    """The scoreboard as an HTML table, a column per scenario. ``markets`` are the first of
    ``seeds``; with several, the header says which seed the numbers are."""
    head = "".join(f"<th style='text-align:right;padding:0 6px'>{s}</th>" for s in markets)
    which = f", seed {seeds[0]} (first of {len(seeds)})" if seeds and len(seeds) > 1 else ""
    rows = [f"<tr><th style='text-align:left'>so far{which}</th>{head}</tr>"]
    for label, values in scoreboard_rows(markets):
        cells = "".join(f"<td style='text-align:right;padding:0 6px'>{v}</td>" for v in values)
        rows.append(f"<tr><td>{label}</td>{cells}</tr>")
    return f"<table style='width:100%;border-collapse:collapse'>{''.join(rows)}</table>"

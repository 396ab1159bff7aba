"""The stories of a run, each with what it cost, ready to be ranked: ``Moment`` records.

A moment is one thing that happened to one subject (a deal, a campaign, an agent's memory,
a fabricated fact, an auction) with its consequence in dollars or impressions and who bore
it (the campaign or the publisher); A's exchange stories are :mod:`.exchange_moments`'s.
Every number is read from the run's store tables
(``run_tables.run_tables``): settlements and transactions for what was paid against the agreed
price, campaigns for overspend and under-delivery, the claim audit for which wrong fact a
decision used and what the truth was. Over- and under-payments are always stated against
the agreed price (impressions delivered × the deal's agreed CPM).

Where a loss is linked to a cost (a memory loss followed by misbilling on the deal it
forgot), the text says "afterwards", not "because": the link is the subject and the time,
not a proof of cause.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import pandas as pd

from admarket.market.accounting import FEE_COLUMNS
from admarket.market.kpis import within_budget
from admarket.money import plural, usd
from admarket.outputs.chunked import rows_of_kind, rows_where

_FEE_COLS = FEE_COLUMNS
CENT = 0.005  # amounts under half a cent count as zero (they would print as $0.00)


@dataclass(frozen=True)
class Moment:
    """One story: its kind and subject (for de-duplication), when, what it cost and whom."""

    kind: str  # deal, clearing, auction, fabrication, context_loss, restart, campaign
    subject: str  # e.g. "deal:22", "campaign:8", "buyer-0:deal:3:price=4.2"
    day: int  # 1-based day of the run
    cost_usd: float  # consequence in dollars (≥ 0); 0 when none was measured
    cost_impressions: int  # consequence in impressions (≥ 0)
    title: str
    body: str
    line: str  # a one-sentence version for the "Key moments" list
    stake: float = 0.0  # what was at stake (a deal's value, a budget): breaks ties in rank
    covers: tuple[str, ...] = ()  # other subjects whose cost this story's cost includes

    @property
    def subjects(self) -> tuple[str, ...]:
        """Every subject the story tells the cost of (itself and what it covers)."""
        return (self.subject, *self.covers)

    @property
    def weight(self) -> tuple[float, int]:
        """Ranking key: dollars first, then impressions."""
        return (self.cost_usd, self.cost_impressions)

    def markdown(self) -> str:
        """The story as a markdown section."""
        return f"### {self.title}\n\n{self.body}"


def records(df: pd.DataFrame | None) -> list[dict[str, Any]]:
    """Rows of a frame as dicts ([] for None or empty)."""
    return [] if df is None or df.empty else df.to_dict("records")


def events(tables: Mapping[str, pd.DataFrame]) -> list[dict[str, Any]]:
    """The model's events with their JSON fields unpacked."""
    if isinstance(tables, RunView):
        return tables.events
    return [
        {"step": r["step"], "day": r["day"], "kind": r["kind"], **json.loads(r["fields"])}
        for r in records(tables.get("events"))
    ]


class RunView(Mapping):
    """A run's tables plus what every kind of story reads from them (its config, unpacked
    events, the claim audit joined to ground truth), each worked out once."""

    def __init__(self, tables: Mapping[str, pd.DataFrame]):
        self._tables = tables

    def __getitem__(self, name: str) -> pd.DataFrame:
        return self._tables[name]

    def __iter__(self):
        return iter(self._tables)

    def __len__(self) -> int:
        return len(self._tables)

    @cached_property
    def cfg(self) -> dict[str, Any]:
        """The run's config."""
        return json.loads(self._tables["runs"]["config"].iloc[0])

    @cached_property
    def events(self) -> list[dict[str, Any]]:
        """The model's events, unpacked."""
        return events(self._tables)

    @cached_property
    def audit(self) -> pd.DataFrame:
        """The claims stories tell of, joined to ground truth (each with its true value):
        those graded wrong, fabricated or recovered — every story picks among these. Claim
        tables that come chunked (millions of rows in a large run) are read a chunk at a
        time, so only these rows are ever held."""
        dec = rows_where(self._tables["agent_decisions"], _narrated)
        facts = set(dec["claimed_fact_id"])
        truth = rows_where(self._tables["ground_truth"], lambda f: f["fact_id"].isin(facts))
        truth = truth[["fact_id", "actual_value"]]
        return dec.merge(truth, left_on="claimed_fact_id", right_on="fact_id", how="left")


def _narrated(claims: pd.DataFrame) -> pd.Series:
    """Which claims a story may tell of: graded wrong, fabricated or recovered."""
    return claims["is_hallucination"] | claims["injected"] | claims["recovered"]


def view(tables: Mapping[str, pd.DataFrame]) -> RunView:
    """``tables`` as a :class:`RunView` (itself if it already is one)."""
    return tables if isinstance(tables, RunView) else RunView(tables)


def run_config(tables: Mapping[str, pd.DataFrame]) -> dict[str, Any]:
    """The run's configuration, as stored with it (worked out once per :class:`RunView`)."""
    return view(tables).cfg


def fact_key_parts(key: str) -> tuple[str, str]:
    """A fact key's entity and attribute, its first and last parts (``deal:3:price`` →
    ``("deal", "price")``; a key without ``:`` is both)."""
    parts = key.split(":")
    return parts[0], parts[-1]


def money_fact_in_words(key: str, value: float) -> str | None:
    """A money fact's value in dollars: a deal's price as ``$8.63 CPM``, a campaign's spend
    as ``$1,234.00``; None for any other fact. The report's stories and the explorer's feed
    both word claims this way (a price is the only ``price`` fact and spend the only
    campaign fact agents file)."""
    entity, attr = fact_key_parts(key)
    if entity == "deal" and attr == "price":
        return f"{usd(value)} CPM"
    if entity == "campaign" and attr == "spent":
        return usd(value)
    return None


def fact_value(key: str, value: float, cfg: Mapping[str, Any]) -> str:
    """A fact's value in words, by what the fact is (``deal:3:price`` → ``$8.63 CPM``)."""
    money = money_fact_in_words(key, value)
    if money is not None:
        return money
    entity, attr = fact_key_parts(key)
    if entity == "fill":
        return f"a fill rate of {value:.0%}"
    if attr in ("start", "end"):
        return f"day {int(value) // cfg['steps_per_day'] + 1}"
    if entity in ("avail", "hist") or attr in ("delivered", "volume", "expected"):
        return f"{value * cfg['lot_size']:,.0f} impressions"
    return f"{value:,.4g}"


def claim_audit(tables: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """The claims stories tell of, joined to ground truth (see :attr:`RunView.audit`;
    worked out once per view)."""
    return view(tables).audit


def how_held(row: Mapping[str, Any]) -> str:
    """How an agent came to hold a wrong value, from the audit row."""
    if row["injected"]:
        kind = str(row.get("injection_kind") or "fabricated").replace("_", " ")
        return f"fabricated ({kind})"
    if row["source"] == "reconstructed":
        return "rebuilt wrongly after losing it"
    return "held wrongly in memory"


# --- deals (B, C) --------------------------------------------------------------------------
def _per_deal(tables: Mapping[str, pd.DataFrame]) -> dict[int, dict[str, Any]]:
    """Per deal, from the books: paid, agreed value, impressions, days, over- and
    under-payment against the agreed price, fees, disputes and write-offs."""
    tx = rows_of_kind(tables["transactions"], "settlement").copy()
    tx["diff"] = tx["buyer_spend"] - tx["delivered_value"]
    tx["over"], tx["under"] = tx["diff"].clip(lower=0), (-tx["diff"]).clip(lower=0)
    cols = ["buyer_spend", "delivered_value", "seller_revenue", "impressions", "over", "under"]
    agg = tx.groupby("deal")[[*cols, *_FEE_COLS]].sum()
    agg["days"] = tx.groupby("deal")["day"].nunique()
    out = {int(k): r for k, r in zip(agg.index, agg.to_dict("records"), strict=True)}
    st = tables["settlements"]
    if not st.empty:
        st = st.assign(disp=st["outcome"].str.startswith("dispute").astype(int))
        sagg = st.groupby("deal")[["disp", "unresolved"]].sum()
        for k, r in zip(sagg.index, sagg.to_dict("records"), strict=True):
            out.setdefault(int(k), {}).update(r)
    return out


def _bill_causes(tables: Mapping[str, pd.DataFrame]) -> dict[int, dict[str, Any]]:
    """Per deal, the day its bill was furthest from the agreed value, with the wrong price or
    delivery figure a billing decision (invoice or payment) used that day, if there was one:
    ``{deal: {"step", "gap", "claim" (audit row or None)}}``."""
    st = tables["settlements"]
    if st.empty:
        return {}
    st = st.assign(gap=st["paid"] - st["agreed"])
    worst = st.loc[st["gap"].abs().groupby(st["deal"]).idxmax()]
    audit = claim_audit(tables)
    w = audit[audit["is_hallucination"] & audit["decision_type"].isin(["invoice", "pay_invoice"])]
    w = w[w["fact_key"].str.match(r"^deal:\d+:(price|delivered)$")]
    w = w.assign(deal=w["fact_key"].str.split(":").str[1].astype(int))
    w = w.merge(worst[["deal", "step"]], on=["deal", "step"])  # only the worst days
    w = w.sort_values(["step", "claim_id"], kind="stable").drop_duplicates(["deal", "step"])
    claims = {(int(r["deal"]), int(r["step"])): r for r in w.to_dict("records")}
    return {
        int(r["deal"]): {
            "step": int(r["step"]),
            "gap": float(r["gap"]),
            "claim": claims.get((int(r["deal"]), int(r["step"]))),
        }
        for r in worst.to_dict("records")
    }


def deal_moments(tables: Mapping[str, pd.DataFrame]) -> list[Moment]:
    """One story per booked deal: terms, delivery, what was paid against the agreed price."""
    cfg = run_config(tables)
    ev = events(tables)
    books = _per_deal(tables)
    causes = _bill_causes(tables)
    rounds = {
        (e["buyer"], e["seller"], e["campaign"], e["product"], e["step"]): e.get("rounds")
        for e in ev
        if e["kind"] == "negotiation" and e.get("agreed")
    }
    out = []
    for e in (e for e in ev if e["kind"] == "deal"):
        deal = int(e["deal"])
        b = books.get(deal, {})
        paid, agreed = float(b.get("buyer_spend", 0.0)), float(b.get("delivered_value", 0.0))
        imps, days = int(b.get("impressions", 0)), int(b.get("days", 0) or 0)
        over, under = float(b.get("over", 0.0)), float(b.get("under", 0.0))
        n_disp, off = int(b.get("disp", 0) or 0), float(b.get("unresolved", 0.0) or 0.0)
        n_rounds = rounds.get((e["buyer"], e["seller"], e["campaign"], e["product"], e["step"]))
        net = paid - agreed
        if abs(net) < CENT:
            paid_txt = f"{usd(paid)}, exactly the agreed value"
            cost_txt = "nothing beyond the fees"
        else:
            word = "more" if net > 0 else "less"
            paid_txt = f"{usd(paid)} — {usd(abs(net))} ({abs(net) / agreed:.1%}) {word} than agreed"
            if net > 0:
                cost_txt = f"the campaign paid {usd(net)} beyond the agreed price"
            else:
                cost_txt = f"the publisher was paid {usd(-net)} less than the agreed price"
        if over >= CENT and under >= CENT:
            cost_txt += (
                f" (on balance: {usd(over)} overpaid on some days, {usd(under)} underpaid on "
                "others)"
            )
        disp = (
            # the disputes' unsettled part, not the run's "written off" (every shortfall)
            f"; {plural(n_disp, 'day')} went to dispute, {usd(off)} of the disputed amounts "
            "left unsettled"
            if n_disp
            else ""
        )
        cause = causes.get(deal) if over + under >= CENT else None
        why = _billing_cause(cause, cfg) if cause is not None else ""
        fees = fee_lines(b) if paid else ["- Nothing delivered, nothing paid."]
        day = int(e["day"]) + 1
        body = (
            f"**Terms**: {e['buyer']} booked {int(e['impressions']):,} impressions of product "
            f"{e['product']} ({e['type']}) from {e['seller']} for campaign {e['campaign']}, after "
            f"{plural(n_rounds, 'round') if n_rounds is not None else '? rounds'} of negotiation, "
            f"at {usd(e['price'])} CPM.\n\n"
            f"**Delivered**: {imps:,} impressions over {plural(days, 'day')}, worth {usd(agreed)} "
            f"at the agreed price.\n\n**Paid**: {paid_txt}{disp}.\n\n**Cost**: {cost_txt}."
            + (f"\n\n**Why**: {why}." if why else "")
            + "\n\n**Fees**:\n"
            + "\n".join(fees)
        )
        line = f"Day {day}, deal {deal} ({e['buyer']} ↔ {e['seller']}): {cost_txt}{disp}."
        out.append(
            Moment(
                "deal",
                f"deal:{deal}",
                day,
                over + under,
                0,
                f"Deal completed: deal {deal} (day {day})",
                body,
                line,
                agreed,
            )
        )
    return out


def _billing_cause(cause: Mapping[str, Any], cfg: Mapping[str, Any]) -> str:
    """The largest billing gap of a deal and the wrong figure used that day, in words."""
    day = cause["step"] // cfg["steps_per_day"] + 1
    gap = cause["gap"]
    head = (
        f"the bill furthest from the agreed value came on day {day} "
        f"({usd(abs(gap))} {'over' if gap > 0 else 'under'})"
    )
    r = cause["claim"]
    if r is None:
        return head + "; no billing decision that day used a wrong price or delivery figure"
    verb = "invoiced" if r["decision_type"] == "invoice" else "paid"
    return (
        f"{head}: {r['agent_id']} {verb} using "
        f"{fact_value(r['fact_key'], r['claimed_value'], cfg)} for `{r['fact_key']}`, a value "
        f"it had {how_held(r)}; the truth was {fact_value(r['fact_key'], r['actual_value'], cfg)}"
    )


def fee_lines(tx: pd.DataFrame | Mapping[str, Any]) -> list[str]:
    """Paid, received and kept, with each fee: from transaction rows or their sums."""
    total = {
        c: float(tx[c].sum()) if isinstance(tx, pd.DataFrame) else float(tx.get(c, 0.0))
        for c in ("buyer_spend", "seller_revenue", *_FEE_COLS)
    }
    paid, got = total["buyer_spend"], total["seller_revenue"]
    take = paid - got
    parts = [f"{c.replace('_', ' ')} {usd(total[c])}" for c in _FEE_COLS if total[c]]
    return [
        f"- Buyer paid: {usd(paid)}",
        f"- Seller received: {usd(got)}",
        f"- Intermediaries kept: {usd(take)} ({take / paid if paid else 0:.1%})"
        + (f": {', '.join(parts)}" if parts else ""),
    ]


def campaign_line(c: Mapping[str, Any] | None) -> str:
    """The campaign as a story names it: id, primary KPI, audience and budget."""
    if c is None:
        return "an unknown campaign"
    return (
        f"campaign {c['campaign_id']} ({c['primary_kpi']} KPI, audience "
        f"{str(c['audience_segments']).replace(',', ', ')}, budget {usd(c['budget'])})"
    )


# --- campaigns -----------------------------------------------------------------------------
def campaign_moments(tables: Mapping[str, pd.DataFrame]) -> list[Moment]:
    """One story per campaign that overspent its budget or missed its impression goal."""
    cfg = run_config(tables)
    audit = claim_audit(tables)
    spend_wrong = audit[audit["is_hallucination"] & (audit["claim_type"] == "spend")]
    out = []
    for c in records(tables["campaigns"]):
        cid = int(c["campaign_id"])
        over = max(0.0, float(c["spend"]) - float(c["budget"]))
        # the goal counts what the budget bought (as the campaigns table's hit_impression_goal)
        got = int(c["actual_impressions"])
        bought = int(got * float(within_budget(c["budget"], c["spend"])))
        short = max(0, int(c["target_impressions"]) - bought)
        if over < CENT and short == 0:
            continue
        parts, costs = [], []
        if over >= CENT:
            parts.append(
                f"spent {usd(c['spend'])} of a {usd(c['budget'])} budget: {usd(over)} "
                f"({over / c['budget']:.1%}) over"
            )
            costs.append(f"{usd(over)} spent beyond its budget")
            w = spend_wrong[spend_wrong["fact_key"] == f"campaign:{cid}:spent"]
            if not w.empty:
                r = w.sort_values("step", kind="stable").iloc[0]
                parts.append(
                    f"on day {int(r['step']) // cfg['steps_per_day'] + 1} its buyer believed "
                    f"it had spent {usd(r['claimed_value'])} (truly {usd(r['actual_value'])}), a "
                    f"value it had {how_held(r)}"
                )
        value = short * float(c["target_cpm"]) / 1000
        if short:
            within = "" if bought == got else f", {bought:,} of them bought within its budget"
            parts.append(
                f"delivered {got:,} of its {int(c['target_impressions']):,} target "
                f"impressions{within} ({short:,} short, worth {usd(value)} at its target CPM)"
            )
            costs.append(f"{short:,} impressions short of its goal (worth {usd(value)})")
        body = (
            f"{campaign_line(c)[0].upper() + campaign_line(c)[1:]} "
            + "; ".join(parts)
            + f".\n\n**Cost to the campaign**: {' and '.join(costs)}."
        )
        line = f"Campaign {cid}: {' and '.join(costs)}."
        out.append(
            Moment(
                "campaign",
                f"campaign:{cid}",
                int(c["end_day"]),
                over + value,
                short,
                f"Campaign {cid}: {'over budget' if over >= CENT else 'short of its goal'}",
                body,
                line,
                float(c["budget"]),
            )
        )
    return out

"""The stories of a run, each with what it cost, ready to be ranked: ``Moment`` records.

A moment is one thing that happened to one subject (a deal, a campaign, an agent's memory,
a fabricated fact, an auction) with its consequence in dollars or impressions and who bore
it (the campaign or the publisher). Every number is read from the run's store tables
(``store.run_tables``): settlements and transactions for what was paid against the agreed
price, campaigns for overspend and under-delivery, the claim audit for which wrong fact a
decision used and what the truth was. Over- and under-payments are always stated against
the agreed price (impressions delivered × the deal's agreed CPM).

Where a loss is linked to a cost (a memory loss followed by misbilling on the deal it
forgot), the text says "afterwards", not "because": the link is the subject and the time,
not a proof of cause.
"""

from __future__ import annotations

import bisect
import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd

from admarket.market.accounting import FEE_COLUMNS
from admarket.money import usd

_FEE_COLS = FEE_COLUMNS
_CENT = 0.005


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
        """The claim audit joined to ground truth: every claim with its true value."""
        dec = self._tables["agent_decisions"]
        truth = self._tables["ground_truth"][["fact_id", "actual_value"]]
        return dec.merge(truth, left_on="claimed_fact_id", right_on="fact_id", how="left")


def view(tables: Mapping[str, pd.DataFrame]) -> RunView:
    """``tables`` as a :class:`RunView` (itself if it already is one)."""
    return tables if isinstance(tables, RunView) else RunView(tables)


def _cfg(tables: Mapping[str, pd.DataFrame]) -> dict[str, Any]:
    return view(tables).cfg


def fact_value(key: str, value: float, cfg: Mapping[str, Any]) -> str:
    """A fact's value in words, by what the fact is (``deal:3:price`` → ``$8.63 CPM``)."""
    attr = key.split(":")[-1]
    entity = key.split(":")[0]
    if attr == "price":
        return f"{usd(value)} CPM"
    if attr == "spent":
        return usd(value)
    if entity == "fill":
        return f"a fill rate of {value:.0%}"
    if attr in ("start", "end"):
        return f"day {int(value) // cfg['steps_per_day'] + 1}"
    if entity in ("avail", "hist") or attr in ("delivered", "volume", "expected"):
        return f"{value * cfg['lot_size']:,.0f} impressions"
    return f"{value:,.4g}"


def _truth(tables: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """The claim audit joined to ground truth (worked out once per :class:`RunView`)."""
    return view(tables).audit


def _how(row: Mapping[str, Any]) -> str:
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
    tx = tables["transactions"]
    tx = tx[tx["kind"] == "settlement"].copy()
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
    audit = _truth(tables)
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
    cfg = _cfg(tables)
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
        if abs(net) < _CENT:
            paid_txt = f"{usd(paid)}, exactly the agreed value"
            cost_txt = "nothing beyond the fees"
        else:
            word = "more" if net > 0 else "less"
            paid_txt = f"{usd(paid)} — {usd(abs(net))} ({abs(net) / agreed:.1%}) {word} than agreed"
            if net > 0:
                cost_txt = f"the campaign paid {usd(net)} beyond the agreed price"
            else:
                cost_txt = f"the publisher was paid {usd(-net)} less than the agreed price"
        if over >= _CENT and under >= _CENT:
            cost_txt += (
                f" (on balance: {usd(over)} overpaid on some days, {usd(under)} underpaid on "
                "others)"
            )
        disp = f"; {n_disp} day(s) went to dispute, {usd(off)} written off" if n_disp else ""
        cause = causes.get(deal) if over + under >= _CENT else None
        why = _billing_cause(cause, cfg) if cause is not None else ""
        fees = _fee_lines(b) if paid else ["- Nothing delivered, nothing paid."]
        day = int(e["day"]) + 1
        body = (
            f"**Terms**: {e['buyer']} booked {int(e['impressions']):,} impressions of product "
            f"{e['product']} ({e['type']}) from {e['seller']} for campaign {e['campaign']}, after "
            f"{n_rounds if n_rounds is not None else '?'} round(s) of negotiation, at "
            f"{usd(e['price'])} CPM.\n\n"
            f"**Delivered**: {imps:,} impressions over {days} day(s), worth {usd(agreed)} at the "
            f"agreed price.\n\n**Paid**: {paid_txt}{disp}.\n\n**Cost**: {cost_txt}."
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
        f"it had {_how(r)}; the truth was {fact_value(r['fact_key'], r['actual_value'], cfg)}"
    )


def _fee_lines(tx: pd.DataFrame | Mapping[str, Any]) -> list[str]:
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


# --- the exchange (A) ----------------------------------------------------------------------
def clearing_moments(tables: Mapping[str, pd.DataFrame]) -> list[Moment]:
    """One story per campaign that bought on the exchange: what it paid and who kept what."""
    tx = tables["transactions"]
    auc = tx[tx["kind"] == "auction"]
    camps = {int(c["campaign_id"]): c for c in records(tables["campaigns"])}
    out = []
    for cid, g in auc.groupby("campaign", sort=True):
        cid = int(cid)
        imps = int(g["impressions"].sum())
        paid = float(g["buyer_spend"].sum())
        got = float(g["seller_revenue"].sum())
        cpm = paid / imps * 1000 if imps else 0.0
        c = camps.get(cid)
        day = int(g["day"].min()) + 1
        body = (
            f"**Buyer**: buyer-{int(g['buyer'].iloc[0])} ran {_campaign_line(c)}.\n\n"
            f"**Outcome**: won {len(g):,} campaign-hours of lot auctions on "
            f"{g['seller'].nunique()} publisher(s): {imps:,} impressions at an average "
            f"{usd(cpm)} CPM (second price, floors).\n\n**Cost**: of the {usd(paid)} the "
            f"campaign paid, publishers received {usd(got)}; intermediaries kept "
            f"{usd(paid - got)}.\n\n**Fees**:\n" + "\n".join(_fee_lines(g))
        )
        line = (
            f"Campaign {cid} paid {usd(paid)} on the exchange; intermediaries kept "
            f"{usd(paid - got)} of it."
        )
        out.append(
            Moment(
                "clearing",
                f"campaign:{cid}:clearing",
                day,
                paid - got,
                0,
                f"Exchange clearing: campaign {cid}",
                body,
                line,
                paid,
            )
        )
    return out


def auction_moments(tables: Mapping[str, pd.DataFrame]) -> list[Moment]:
    """Stories of the sampled lot auctions (``lot_auction`` events; see ``auction_log_rate``):
    one per product — its most contested sampled auction (most bids, then the largest fee) —
    most contested first, so the section shows how prices form rather than one product's
    lots over and over."""
    logged = [x for x in events(tables) if x["kind"] == "lot_auction"]
    logged.sort(key=lambda e: (-len(e["bids"]), -sum(e["fees"].values()), e["step"]))
    seen: set[int] = set()
    picked = []
    for e in logged:
        if e["product"] not in seen:
            seen.add(e["product"])
            picked.append(e)
    out = []
    for e in picked:
        bids = e["bids"]
        listed = ", ".join(
            f"campaign {b['campaign']} {usd(b['bid_cpm'])}"
            + ("" if b["admitted"] else " (below the floor)")
            for b in bids
        )
        win = next(b for b in bids if b["campaign"] == e["winner_campaign"])
        saved = round(win["bid_cpm"], 2) - round(e["clearing_cpm"], 2)  # as the prices read
        fee = sum(e["fees"].values())
        rule = (
            "the runner-up's bid (second price)"
            if e["price_rule"] == "second price"
            else "the floor, as no other admitted bid was higher"
        )
        day = int(e["day"]) + 1
        spd = _cfg(tables)["steps_per_day"]
        hour = int(e["step"]) % spd
        when = f"{hour:02d}:00" if spd == 24 else f"step {hour}"
        body = (
            f"**Lot**: {e['impressions']:,} impressions of product {e['product']} (seller-"
            f"{e['seller']}), floor {usd(e['floor_cpm'])} CPM, day {day} at {when}.\n\n"
            f"**Bids** ({len(bids)}): {listed}.\n\n**Winner**: campaign {e['winner_campaign']} "
            f"(buyer-{e['winner_buyer']}) bid {usd(win['bid_cpm'])} and paid "
            f"{usd(e['clearing_cpm'])} CPM, set by {rule}: {usd(saved)} CPM below its bid.\n\n"
            f"**Cost**: the buyer paid {usd(e['buyer_spend'])}; the exchange kept {usd(fee)} "
            f"({fee / e['buyer_spend'] if e['buyer_spend'] else 0:.1%}); the publisher "
            f"received {usd(e['seller_revenue'])}."
        )
        line = (
            f"Day {day}: a lot of product {e['product']} cleared at {usd(e['clearing_cpm'])} CPM "
            f"({len(bids)} bid(s)); the exchange kept {usd(fee)}."
        )
        out.append(
            Moment(
                "auction",
                f"auction:product:{e['product']}",
                day,
                fee,
                0,
                f"Auction: product {e['product']}, day {day} {when}",
                body,
                line,
            )
        )
    return out


def _campaign_line(c: Mapping[str, Any] | None) -> str:
    if c is None:
        return "an unknown campaign"
    return (
        f"campaign {c['campaign_id']} ({c['primary_kpi']} KPI, audience "
        f"{str(c['audience_segments']).replace(',', ', ')}, budget {usd(c['budget'])})"
    )


# --- campaigns -----------------------------------------------------------------------------
def campaign_moments(tables: Mapping[str, pd.DataFrame]) -> list[Moment]:
    """One story per campaign that overspent its budget or missed its impression goal."""
    cfg = _cfg(tables)
    audit = _truth(tables)
    spend_wrong = audit[audit["is_hallucination"] & (audit["claim_type"] == "spend")]
    out = []
    for c in records(tables["campaigns"]):
        cid = int(c["campaign_id"])
        over = max(0.0, float(c["spend"]) - float(c["budget"]))
        short = max(0, int(c["target_impressions"]) - int(c["actual_impressions"]))
        if over < _CENT and short == 0:
            continue
        parts, costs = [], []
        if over >= _CENT:
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
                    f"value it had {_how(r)}"
                )
        value = short * float(c["target_cpm"]) / 1000
        if short:
            parts.append(
                f"delivered {int(c['actual_impressions']):,} of its "
                f"{int(c['target_impressions']):,} target impressions ({short:,} short, worth "
                f"{usd(value)} at its target CPM)"
            )
            costs.append(f"{short:,} impressions short of its goal (worth {usd(value)})")
        body = (
            f"{_campaign_line(c)[0].upper() + _campaign_line(c)[1:]} "
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
                f"Campaign {cid}: {'over budget' if over >= _CENT else 'short of its goal'}",
                body,
                line,
                float(c["budget"]),
            )
        )
    return out


# --- fabricated facts ----------------------------------------------------------------------
def fabrication_moments(tables: Mapping[str, pd.DataFrame]) -> list[Moment]:
    """One story per distinct fabricated value (agent, fact, value), however often it was used,
    with what the decisions that used it cost."""
    cfg = _cfg(tables)
    audit = _truth(tables)
    inj = audit[audit["injected"]].sort_values(["step", "claim_id"], kind="stable")
    st = tables["settlements"]
    misbill = {}
    if not st.empty:
        for r in st[["deal", "step", "paid", "agreed", "unresolved"]].itertuples(index=False):
            misbill[(int(r.deal), int(r.step))] = (
                float(r.paid) - float(r.agreed),
                float(r.unresolved),
            )
    out = []
    # one pass over the fabricated claims: each distinct (agent, fact, value) with its first
    # row, how often it was used, in which decisions and steps, and whether always caught
    uses_of: dict[tuple, dict[str, Any]] = {}
    for r in inj.to_dict("records"):
        k = (r["agent_id"], r["fact_key"], r["claimed_value"])
        u = uses_of.get(k)
        if u is None:
            uses_of[k] = {
                "first": r,
                "n": 1,
                "caught": bool(r["caught_in_run"]),
                "steps": {int(r["step"])},
                "decisions": {r["decision_type"]},
            }
        else:
            u["n"] += 1
            u["caught"] &= bool(r["caught_in_run"])
            u["steps"].add(int(r["step"]))
            u["decisions"].add(r["decision_type"])
    for (agent, key, claimed), u in uses_of.items():
        r = u["first"]
        caught = u["caught"]
        day = int(r["step"]) // cfg["steps_per_day"] + 1
        uses = u["n"]
        cost, imps = 0.0, 0
        parts = key.split(":")
        if not caught and parts[0] == "deal" and parts[-1] in ("price", "delivered"):
            for st_ in sorted(u["steps"]):
                gap = misbill.get((int(parts[1]), st_))
                if gap is not None:
                    cost += abs(gap[0])
        elif not caught and parts[-1] == "spent":
            cost = abs(float(claimed) - float(r["actual_value"]))
        elif not caught and (parts[0] == "avail" or parts[-1] in ("volume", "delivered")):
            imps = int(abs(float(claimed) - float(r["actual_value"])) * cfg["lot_size"])
        if caught:
            impact = "caught before use by a check against the ledger; the true value was used"
            cost_txt = "none: it was stopped before any decision used it"
        elif cost >= _CENT and parts[-1] == "spent":
            impact = f"the buyer misjudged its campaign's spend by {usd(cost)}"
            cost_txt = f"a {usd(cost)} error in the budget the buyer was pacing against"
        elif cost >= _CENT:
            impact = (
                f"the bills of the deal-days it was used on were {usd(cost)} away from the "
                "agreed price"
            )
            cost_txt = f"{usd(cost)} misbilled against the agreed price"
        elif imps:
            impact = f"the decision misjudged available inventory by {imps:,} impressions"
            cost_txt = f"{imps:,} impressions of inventory misjudged"
        else:
            impact = "no direct cost measured (it shaped a ranking or a plan)"
            cost_txt = "none measured directly"
        who = agent.split("-")[0]
        body = (
            f"**What it claimed**: `{key}` = {fact_value(key, claimed, cfg)}, a value it had "
            f"{_how(r)}; used in {uses} decision(s) "
            f"({', '.join(sorted(x.replace('_', ' ') for x in u['decisions']))}).\n\n"
            f"**Reality**: {fact_value(key, r['actual_value'], cfg)} (ground truth, checked "
            f"after the fact).\n\n**Impact**: {impact}.\n\n**Cost**: {cost_txt}."
        )
        line = f"Day {day}, {agent} ({who}) fabricated `{key}`: {cost_txt}."
        covers = (
            (f"{parts[0]}:{parts[1]}",)
            if cost >= _CENT and parts[0] in ("deal", "campaign")
            else ()
        )
        out.append(
            Moment(
                "fabrication",
                f"{agent}:{key}={claimed}",
                day,
                cost,
                imps,
                f"Fabricated fact: {agent} ({who}), day {day}",
                body,
                line,
                0.0,
                covers,
            )
        )
    return out


# --- context rot ---------------------------------------------------------------------------
def rot_moments(tables: Mapping[str, pd.DataFrame]) -> list[Moment]:
    """One story per memory loss (decay, pressure) or restart, with what followed on the
    deals and campaigns whose facts were lost."""
    cfg = _cfg(tables)
    spd = cfg["steps_per_day"]
    audit = _truth(tables)
    rec = audit[audit["recovered"]].sort_values("step", kind="stable")
    recoveries: dict[tuple[str, str], list[tuple[int, bool]]] = {}
    for r in rec[["agent_id", "fact_key", "step", "recovered_ok"]].itertuples(index=False):
        recoveries.setdefault((r.agent_id, r.fact_key), []).append(
            (int(r.step), bool(r.recovered_ok))
        )
    st = tables["settlements"]
    # per deal: settlement steps and the misbilling (|paid − agreed|) from each step onward
    after_of: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    if not st.empty:
        srt = st.sort_values(["deal", "step"], kind="stable")
        gaps = (srt["paid"] - srt["agreed"]).abs().to_numpy(float)
        deals, steps = srt["deal"].to_numpy(), srt["step"].to_numpy()
        bounds = np.flatnonzero(np.diff(deals)) + 1
        for lo, hi in zip(np.r_[0, bounds], np.r_[bounds, len(deals)], strict=True):
            suffix = np.cumsum(gaps[lo:hi][::-1])[::-1]
            after_of[int(deals[lo])] = (steps[lo:hi], np.r_[suffix, 0.0])
    over = {
        int(c["campaign_id"]): max(0.0, float(c["spend"]) - float(c["budget"]))
        for c in records(tables["campaigns"])
    }
    told: set[str] = set()  # each deal or campaign's cost is told once, with its first loss
    out = []
    for e in (x for x in events(tables) if x["kind"] in ("context_loss", "restart")):
        day, step = int(e["day"]) + 1, int(e["step"])
        if e["kind"] == "restart":
            n = int(e.get("facts_lost", 0))
            wrong = rec[(rec["agent_id"] == e["agent"]) & (rec["step"] >= step)]
            wrong = wrong[(wrong["step"] < step + 3 * spd) & ~wrong["recovered_ok"]]
            mine = (
                st[
                    ((st["buyer"] == e["agent"]) | (st["seller"] == e["agent"]))
                    & (st["step"] >= step)
                    & (st["step"] < step + 3 * spd)
                ]
                if not st.empty
                else st
            )
            amount = float((mine["paid"] - mine["agreed"]).abs().sum()) if len(mine) else 0.0
            cost_txt = (
                f"its deals were misbilled by {usd(amount)} against the agreed price"
                if amount >= _CENT
                else "no misbilling on its deals"
            )
            body = (
                f"**Lost context**: its whole volatile memory ({n:,} facts).\n\n**Afterwards**: "
                f"in the next three days it rebuilt {len(wrong):,} fact(s) wrongly.\n\n"
                f"**Cost afterwards** (next three days): {cost_txt}."
            )
            out.append(
                Moment(
                    "restart",
                    f"restart:{e['agent']}:{step}",
                    day,
                    amount if amount >= _CENT else 0.0,
                    0,
                    f"Context rot: {e['agent']} restarted on day {day}",
                    body,
                    f"Day {day}: {e['agent']} restarted and lost {n:,} facts; in the next three "
                    f"days {cost_txt}.",
                    float(n),
                )
            )
            continue
        keys = e.get("keys") or []
        tried = []
        for k in keys:
            seq = recoveries.get((e["agent"], k), [])
            i = bisect.bisect_left(seq, (step, False))
            if i < len(seq):
                tried.append((k, *seq[i]))
        ok = sum(1 for t in tried if t[2])
        cost, costs, covered = 0.0, [], []
        for k, when, good in tried:
            if good:
                continue
            parts = k.split(":")
            if parts[0] == "deal" and f"deal:{parts[1]}" not in told:
                found = after_of.get(int(parts[1]))
                if found is not None:
                    amount = float(found[1][np.searchsorted(found[0], when, "left")])
                    if amount >= _CENT:
                        told.add(f"deal:{parts[1]}")
                        covered.append(f"deal:{parts[1]}")
                        cost += amount
                        costs.append(f"deal {parts[1]} was misbilled by {usd(amount)}")
            elif parts[0] == "campaign" and parts[-1] == "spent" and k not in told:
                amount = over.get(int(parts[1]), 0.0)
                if amount >= _CENT:
                    told.add(k)
                    covered.append(f"campaign:{parts[1]}")
                    cost += amount
                    costs.append(f"campaign {parts[1]} ended {usd(amount)} over budget")
        lines = "\n".join(f"- `{k}`" for k in keys[:10])
        if len(keys) > 10:
            lines += f"\n- … and {len(keys) - 10} more"
        result = (
            f"{len(tried)} of {len(keys)} fact(s) were needed again and rebuilt, {ok} correctly"
            if tried
            else "none of these facts was needed again during the run"
        )
        cost_txt = (
            "; ".join(costs) if costs else "none measured on the deals and campaigns involved"
        )
        body = (
            f"**Lost context** ({e['cause']}):\n{lines}\n\n**Recovery**: {result}.\n\n"
            f"**Cost afterwards**: {cost_txt}."
        )
        out.append(
            Moment(
                "context_loss",
                f"loss:{e['agent']}:{step}",
                day,
                cost,
                0,
                f"Context rot: {e['agent']} lost {len(keys)} fact(s) on day {day} ({e['cause']})",
                body,
                f"Day {day}, {e['agent']} forgot {len(keys)} fact(s): {cost_txt}.",
                float(len(keys)),
                tuple(covered),
            )
        )
    return out

"""Event log (JSON Lines) and narrative log (markdown stories) of one run, from its tables.

Both are rendered from the run's store tables (``store.run_tables``), never from separate
bookkeeping, so every sentence is backed by a row a reader can query. The event log merges
the model's own events (deals, negotiations, context losses, restarts, hallucinations,
disputes, campaign stops) with events read off the books: each auction clearing, each
delivery settled, each fee charged, each ledger write and each recovery of a lost fact.

The narrative follows the plan's "Gap 19" format (deal completed with its fees,
hallucination with claim vs reality and its impact, context rot with what was lost and
whether it came back), capped by a verbosity level so a 30-day run stays readable:
``quiet`` (no narrative), ``key`` (a few stories of each kind), ``daily`` (more stories plus
a digest per day), ``all`` (every story).
"""

from __future__ import annotations

import bisect
import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from admarket.money import usd
from admarket.outputs import VERBOSITY
from admarket.outputs.store import to_json

# Stories per kind at each level (None = no cap).
_CAP: dict[str, int | None] = {"quiet": 0, "key": 5, "daily": 20, "all": None}
_FEE_COLS = (
    "exchange_fee",
    "dsp_fee",
    "adtech_fee",
    "sell_adtech_fee",
    "unknown_delta",
    "agent_fee",
)
_FEE_COLS += ("protocol_fee", "ledger_fee")


def _records(df: pd.DataFrame | None) -> list[dict[str, Any]]:
    return [] if df is None or df.empty else df.to_dict("records")


def _events(tables: Mapping[str, pd.DataFrame]) -> list[dict[str, Any]]:
    """The model's events with their JSON fields unpacked."""
    return [
        {"step": r["step"], "day": r["day"], "kind": r["kind"], **json.loads(r["fields"])}
        for r in _records(tables.get("events"))
    ]


# --- event log -----------------------------------------------------------------------------
def event_lines(tables: Mapping[str, pd.DataFrame]) -> Iterator[str]:
    """One JSON line per event of the run, in time order (model events, books, ledger)."""
    rows: list[tuple[int, int, dict[str, Any]]] = []
    for order, e in enumerate(_events(tables)):
        rows.append((int(e["step"]), order, e))
    base = len(rows)
    for i, t in enumerate(_records(tables.get("transactions"))):
        kind = {"auction": "auction", "settlement": "delivery"}.get(t["kind"], "fee")
        head = {"step": t["step"], "day": t["day"], "kind": kind}
        if kind != "fee":
            rows.append(
                (
                    int(t["step"]),
                    base + 2 * i,
                    {
                        **head,
                        "campaign": t["campaign"],
                        "buyer": t["buyer"],
                        "seller": t["seller"],
                        "product": t["product"],
                        "deal": t["deal"],
                        "impressions": t["impressions"],
                        "cpm": t["cpm"],
                        "buyer_spend": t["buyer_spend"],
                        "seller_revenue": t["seller_revenue"],
                    },
                )
            )
        fees = {c: t[c] for c in _FEE_COLS if t[c]}
        if fees:
            fee = {"step": t["step"], "day": t["day"], "kind": "fee", "on": t["kind"]}
            fee |= {"campaign": t["campaign"], "seller": t["seller"], "deal": t["deal"], **fees}
            rows.append((int(t["step"]), base + 2 * i + 1, fee))
    base += 2 * len(_records(tables.get("transactions")))
    for i, e in enumerate(_records(tables.get("ledger"))):
        rows.append(
            (
                int(e["step"]),
                base + i,
                {
                    "step": e["step"],
                    "day": e["day"],
                    "kind": "ledger_write",
                    "entry_id": e["entry_id"],
                    "blob_id": e["blob_id"],
                    "entry_kind": e["kind"],
                    "author": e["author"],
                    "hash": e["hash"],
                },
            )
        )
    base += len(rows)
    dec = tables.get("agent_decisions")
    if dec is not None and not dec.empty:
        rec = dec[dec["recovered"]]
        for i, c in enumerate(_records(rec)):
            rows.append(
                (
                    int(c["step"]),
                    base + i,
                    {
                        "step": c["step"],
                        "day": c["day"],
                        "kind": "recovery",
                        "agent": c["agent_id"],
                        "fact_key": c["fact_key"],
                        "source": c["source"],
                        "accurate": c["recovered_ok"],
                    },
                )
            )
    rows.sort(key=lambda r: (r[0], r[1]))
    run = tables["runs"].iloc[0]
    ids = {"run_id": str(run["run_id"]), "scenario": str(run["scenario"])}
    for _, _, r in rows:
        yield to_json({**ids, **r})


# --- narrative -----------------------------------------------------------------------------
def _campaign_line(c: Mapping[str, Any] | None) -> str:
    if c is None:
        return "an unknown campaign"
    return (
        f"campaign {c['campaign_id']} ({c['primary_kpi']} KPI, audience "
        f"{str(c['audience_segments']).replace(',', ', ')}, budget {usd(c['budget'])})"
    )


def _fee_lines(tx: pd.DataFrame) -> list[str]:
    paid, got = float(tx["buyer_spend"].sum()), float(tx["seller_revenue"].sum())
    take = paid - got
    pct = take / paid if paid else 0.0
    parts = [f"{c.replace('_', ' ')} {usd(float(tx[c].sum()))}" for c in _FEE_COLS]
    parts = [p for p, c in zip(parts, _FEE_COLS, strict=True) if float(tx[c].sum())]
    return [
        f"- Buyer paid: {usd(paid)}",
        f"- Seller received: {usd(got)}",
        f"- Intermediaries extracted: {usd(take)} ({pct:.1%})"
        + (f": {', '.join(parts)}" if parts else ""),
    ]


def _deal_stories(tables: Mapping[str, pd.DataFrame], events: list[dict], cap: int | None):
    tx = tables["transactions"]
    camps = {int(c["campaign_id"]): c for c in _records(tables["campaigns"])}
    scen = tables["runs"]["scenario"].iloc[0]
    out: list[str] = []
    if scen == "A":  # no negotiated deals: one story per campaign's exchange clearing
        auc = tx[tx["kind"] == "auction"]
        for cid, g in list(auc.groupby("campaign", sort=True))[:cap]:
            imps = int(g["impressions"].sum())
            cpm = float(g["buyer_spend"].sum()) / imps * 1000 if imps else 0.0
            out.append(
                f"### Exchange clearing: campaign {cid}\n\n"
                f"**Buyer**: buyer-{int(g['buyer'].iloc[0])} ran {_campaign_line(camps.get(cid))}."
                f"\n\n**Outcome**: won {len(g):,} hourly auctions on "
                f"{g['seller'].nunique()} publisher(s) for {imps:,} impressions at an "
                f"average {usd(cpm)} CPM (second price, floors).\n\n**Fees**:\n"
                + "\n".join(_fee_lines(g))
            )
        return out
    negs = [e for e in events if e["kind"] == "negotiation" and e.get("agreed")]
    rounds = {(e["buyer"], e["seller"], e["campaign"], e["product"], e["step"]): e for e in negs}
    deals = [e for e in events if e["kind"] == "deal"]
    for e in deals[:cap]:
        neg = rounds.get((e["buyer"], e["seller"], e["campaign"], e["product"], e["step"]))
        n_rounds = neg["rounds"] if neg else "?"
        dtx = tx[(tx["kind"] == "settlement") & (tx["deal"] == e["deal"])]
        delivered = int(dtx["impressions"].sum())
        fees = _fee_lines(dtx) if len(dtx) else ["- Nothing delivered, so nothing paid."]
        out.append(
            f"### Deal completed: deal {e['deal']} (day {e['day']})\n\n"
            f"**Buyer**: {e['buyer']} for {_campaign_line(camps.get(int(e['campaign'])))}.\n\n"
            f"**Seller**: {e['seller']} booked {int(e['impressions']):,} impressions of "
            f"product {e['product']} ({e['type']}).\n\n"
            f"**Outcome**: after {n_rounds} round(s) of negotiation the deal closed at "
            f"{usd(e['price'])} CPM; {delivered:,} impressions were delivered and settled "
            f"over {dtx['day'].nunique()} day(s).\n\n**Fees**:\n" + "\n".join(fees)
        )
    return out


def _deal_of(fact_key: str) -> int | None:
    """The deal id in a ``deal:<id>:<field>`` fact key, else None."""
    parts = fact_key.split(":")
    return int(parts[1]) if len(parts) == 3 and parts[0] == "deal" and parts[1].isdigit() else None


def _hallucination_stories(tables, events: list[dict], cap: int | None) -> list[str]:
    dec = tables["agent_decisions"]
    truth = tables["ground_truth"].set_index("fact_id")["actual_value"]
    inj = dec[dec["injected"]]
    disputes = {(e["deal"], int(e["step"])): e for e in events if e["kind"] == "dispute"}
    out = []
    for e in [e for e in events if e["kind"] == "hallucination"][:cap]:
        m = inj[
            (inj["agent_id"] == e["agent"])
            & (inj["step"] == e["step"])
            & (inj["fact_key"] == e["key"])
        ]
        who = e["agent"].split("-")[0]
        head = f"### Hallucination: {e['agent']} ({who}), day {e['day']}\n\n"
        claim = f"**What it claimed**: `{e['key']}` = {e['claimed']:,.4g} ({e['fabrication']})"
        if m.empty:
            out.append(head + claim + "\n\n**Reality**: no audited claim matched this recall.")
            continue
        row = m.iloc[0]
        actual = float(truth.get(row["claimed_fact_id"], float("nan")))
        off = (e["claimed"] - actual) / actual if actual else float("nan")
        if row["caught_in_run"]:
            impact = "the ledger check caught it before the agent acted; the true value was used"
        elif row["is_hallucination"]:
            impact = (
                f"the {row['decision_type'].replace('_', ' ')} decision used a value "
                f"{abs(off):.1%} {'above' if off > 0 else 'below'} reality"
            )
        else:
            impact = "the fabricated value happened to fall within the audit tolerance"
        deal = _deal_of(e["key"])
        dispute = disputes.get((deal, int(e["step"]))) if deal is not None else None
        if dispute is not None and not row["caught_in_run"]:
            impact += (
                f"; that day's invoice for deal {deal} went to a billing dispute "
                f"({dispute['outcome'].replace('_', ' ')}, {usd(dispute['paid'])} paid of "
                f"{usd(dispute['agreed'])} agreed)"
            )
        out.append(
            head
            + claim
            + f"\n\n**Reality**: {actual:,.4g} (ground truth, checked after the fact)"
            + f"\n\n**Impact**: {impact}."
        )
    return out


def _rot_stories(tables, events: list[dict], cap: int | None) -> list[str]:
    dec = tables["agent_decisions"]
    rec = dec[dec["recovered"]].sort_values("step", kind="stable")
    # every recovery of each (agent, fact), in time order: a loss is answered by the first
    # recovery of that fact at or after the loss
    recoveries: dict[tuple[str, str], list[tuple[int, bool]]] = {}
    for r in rec[["agent_id", "fact_key", "step", "recovered_ok"]].itertuples(index=False):
        recoveries.setdefault((r.agent_id, r.fact_key), []).append(
            (int(r.step), bool(r.recovered_ok))
        )

    def first_after(agent: str, key: str, step: int) -> tuple[int, bool] | None:
        seq = recoveries.get((agent, key), [])
        i = bisect.bisect_left(seq, (step, False))
        return seq[i] if i < len(seq) else None

    out = []
    losses = [e for e in events if e["kind"] in ("context_loss", "restart")]
    for e in losses[:cap]:
        keys = e.get("keys") or []
        if e["kind"] == "restart":
            text = (
                f"### Context rot: {e['agent']} restarted on day {e['day']}\n\n"
                f"**Lost context**: its whole volatile memory ({e.get('facts_lost', 0)} facts)."
            )
            out.append(text)
            continue
        tried = [b for k in keys if (b := first_after(e["agent"], k, int(e["step"])))]
        ok = sum(1 for b in tried if b[1])
        lines = "\n".join(f"- `{k}`" for k in keys[:10])
        if len(keys) > 10:
            lines += f"\n- … and {len(keys) - 10} more"
        if tried:
            result = (
                f"{len(tried)} of {len(keys)} fact(s) were needed again and rebuilt; "
                f"{ok} of them correctly (accuracy {ok / len(tried):.0%})"
            )
        else:
            result = "none of these facts was needed again during the run"
        out.append(
            f"### Context rot: {e['agent']} lost memory on day {e['day']} ({e['cause']})\n\n"
            f"**Lost context**:\n{lines}\n\n**Recovery**: {result}."
        )
    return out


def _dispute_stories(events: list[dict], cap: int | None) -> list[str]:
    out = []
    for e in [e for e in events if e["kind"] == "dispute"][:cap]:
        settled = (
            "settled against the ledger's recorded terms"
            if e["outcome"] == "dispute_ledger"
            else f"unresolved; {usd(e['agreed'] - e['paid'])} written off"
        )
        out.append(
            f"### Dispute: deal {e['deal']}, day {e['day']}\n\n"
            f"{e['seller']} invoiced {usd(e['invoice'])}; {e['buyer']} expected "
            f"{usd(e['expected'])} (agreed terms: {usd(e['agreed'])}). Paid "
            f"{usd(e['paid'])}: {settled}."
        )
    return out


def _daily_digest(tables) -> list[str]:
    out = []
    for d in _records(tables["daily_metrics"]):
        acc = d["state_recovery_accuracy"]
        acc_txt = "no recoveries" if pd.isna(acc) else f"recovery accuracy {acc:.0%}"
        out.append(
            f"- **Day {d['simulation_day']}**: goal attainment {d['daily_goal_attainment']:.3f}, "
            f"{d['context_losses']} facts lost, {d['agent_restart_events']} restarts, "
            f"{acc_txt}, {d['hallucinated_claims']} of {d['claims']} claims wrong, "
            f"gross spend to date {usd(d['gross_spend'])}"
        )
    return out


def render_narrative(tables: Mapping[str, pd.DataFrame], verbosity: str = "key") -> str:
    """The run's narrative as markdown, with stories capped per kind by ``verbosity``."""
    if verbosity not in VERBOSITY:
        raise ValueError(f"verbosity={verbosity!r}: allowed {', '.join(VERBOSITY)}")
    cap = _CAP[verbosity]
    run = tables["runs"].iloc[0]
    cfg = json.loads(run["config"])
    events = _events(tables)
    s = tables["summaries"].iloc[0]
    parts = [
        f"# Narrative: scenario {run['scenario']}, seed {run['seed']}",
        f"{cfg['days']} days, {cfg['n_buyers']} buyers, {cfg['n_sellers']} sellers, "
        f"{cfg['n_buyers'] * cfg['campaigns_per_buyer']} campaigns. Verbosity `{verbosity}`: "
        + ("every story." if cap is None else f"at most {cap} stories of each kind."),
        f"Gross spend {usd(s['gross_spend'])}, net to publishers "
        f"{usd(s['net_to_publishers'])}, intermediary take {s['take_rate']:.1%}; "
        f"{s['hallucinated_decisions']:,} of {s['decisions']:,} decisions relied on a wrong "
        f"fact; {s['facts_lost']:,} facts lost, {s['restarts']} restarts, "
        f"{s['disputes']} disputes.",
    ]
    sections = [
        ("Deals", _deal_stories(tables, events, cap)),
        ("Hallucinations", _hallucination_stories(tables, events, cap)),
        ("Context rot", _rot_stories(tables, events, cap)),
        ("Disputes", _dispute_stories(events, cap)),
    ]
    if verbosity in ("daily", "all"):
        sections.append(("Day by day", _daily_digest(tables)))
    for title, stories in sections:
        if stories:
            parts.append(f"## {title}")
            parts.extend(stories)
    return "\n\n".join(parts) + "\n"


def write_logs(tables: Mapping[str, pd.DataFrame], logs_dir: Path, verbosity: str = "key") -> None:
    """Write ``RUN_ID.events.jsonl`` and (unless quiet) ``RUN_ID.narrative.md`` for one run."""
    logs_dir.mkdir(parents=True, exist_ok=True)
    run_id = tables["runs"]["run_id"].iloc[0]
    with open(logs_dir / f"{run_id}.events.jsonl", "w", encoding="utf-8") as fh:
        for line in event_lines(tables):
            fh.write(line + "\n")
    if verbosity != "quiet":
        text = render_narrative(tables, verbosity)
        (logs_dir / f"{run_id}.narrative.md").write_text(text, encoding="utf-8")

"""Narrative log (markdown stories) of one run, from its tables, and writing a run's logs.

Both logs are rendered from the run's store tables (``run_tables.run_tables``), never from
separate bookkeeping, so every sentence is backed by a row a reader can query. The event log
(:mod:`.event_log`) merges the model's own events with events read off the books.

The narrative follows the plan's "Gap 19" format (deal completed with its fees, fabricated
fact with claim vs reality and its impact, context rot with what was lost, whether it came
back and what followed), built from :mod:`.moments`: every story carries its cost to the
campaign or the publisher, stories are ranked by that cost (dollars, then impressions), and
each subject (a deal, a campaign) is told once. It opens with the run's key moments, the
most consequential stories across kinds. A verbosity level caps each section so a 30-day
run stays readable: ``quiet`` (no narrative), ``key`` (the top few of each kind), ``daily``
(more, plus a digest per day), ``all`` (every story). Scenario A's section of sampled lot
auctions (``auction_log_rate``) tells the exchange's story transaction by transaction.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections import Counter
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TextIO

import duckdb
import pandas as pd

from admarket.market.accounting import FEE_COLUMNS
from admarket.money import plural, usd
from admarket.outputs import VERBOSITY
from admarket.outputs.chunked import ChunkedTable, rows_of_kind
from admarket.outputs.event_log import event_blocks
from admarket.outputs.exchange_moments import auction_moments, clearing_moments
from admarket.outputs.memory_moments import fabrication_moments, rot_moments
from admarket.outputs.moments import Moment, campaign_moments, deal_moments, records, view
from admarket.outputs.store import TABLES

# Stories per kind at each level (None = no cap).
_CAP: dict[str, int | None] = {"quiet": 0, "key": 5, "daily": 20, "all": None}
_FEE_COLS = FEE_COLUMNS


# --- narrative -----------------------------------------------------------------------------
def rank(moments: list[Moment], cap: int | None = None) -> list[Moment]:
    """``moments`` by consequence (dollars, then impressions, then what was at stake, then
    earliest), each subject's cost told once (a story is dropped if a higher-ranked one
    already told the cost of a subject it covers), at most ``cap``."""
    seen: set[str] = set()
    out = []
    key = lambda m: (-m.cost_usd, -m.cost_impressions, -m.stake, m.day, m.subject)  # noqa: E731
    for m in sorted(moments, key=key):
        if seen.intersection(m.subjects):
            continue
        seen.update(m.subjects)
        out.append(m)
    return out if cap is None else out[:cap]


def all_moments(tables: Mapping[str, pd.DataFrame]) -> dict[str, list[Moment]]:
    """Every story of a run, by section title, each list ranked by consequence."""
    tables = view(tables)  # config, events and the claim audit worked out once
    scen = str(tables["runs"]["scenario"].iloc[0])
    if scen == "A":
        sections = {
            "Exchange clearings": clearing_moments(tables),
            "Auctions (a sample)": auction_moments(tables),
        }
    else:
        sections = {"Deals": deal_moments(tables)}
    sections |= {
        "Fabricated facts": fabrication_moments(tables),
        "Context rot": rot_moments(tables),
        "Campaigns over budget or short of their goal": campaign_moments(tables),
    }
    # sampled auctions keep their own order (most contested first): each costs cents
    return {t: ms if t.startswith("Auctions") else rank(ms) for t, ms in sections.items()}


def key_moments(
    tables: Mapping[str, pd.DataFrame],
    n: int = 5,
    kinds: tuple[str, ...] | None = None,
    per_kind: int | None = 2,
    sections: Mapping[str, list[Moment]] | None = None,
) -> list[Moment]:
    """The ``n`` most consequential stories of a run across sections (optionally of some
    ``kinds`` only), one per subject and at most ``per_kind`` of one kind, so the list is
    not five versions of the same story; per-lot auctions are left to their own section."""
    sections = all_moments(tables) if sections is None else sections
    pool = [
        m
        for ms in sections.values()
        for m in ms
        if m.kind != "auction" and (kinds is None or m.kind in kinds) and m.weight > (0, 0)
    ]
    out: list = []
    used: Counter[str] = Counter()
    for m in rank(pool):
        if per_kind is None or used[m.kind] < per_kind:
            out.append(m)
            used[m.kind] += 1
        if len(out) == n:
            break
    return out


def _daily_digest(tables) -> list[str]:
    out = []
    for d in records(tables["daily_metrics"]):
        acc = d["state_recovery_accuracy"]
        acc_txt = "no recoveries" if pd.isna(acc) else f"recovery fidelity {acc:.0%}"
        out.append(
            f"- **Day {d['simulation_day'] + 1}**: goal attainment "
            f"{d['daily_goal_attainment']:.3f}, "
            f"{plural(d['context_losses'], 'fact', grouped=True)} lost, "
            f"{plural(d['agent_restart_events'], 'restart')}, {acc_txt}, "
            f"{d['hallucinated_claims']:,} of {plural(d['claims'], 'claim', grouped=True)} wrong, "
            "gross spend to date "
            f"{usd(d['gross_spend'])}"
        )
    return out


def _totals(tables) -> str:
    s = tables["summaries"].iloc[0]
    text = (
        f"Gross spend {usd(s['gross_spend'])}, net to publishers "
        f"{usd(s['net_to_publishers'])}, take rate {s['take_rate']:.1%}"
    )
    if str(tables["runs"]["scenario"].iloc[0]) != "A":
        settled = rows_of_kind(tables["transactions"], "settlement")
        diff = settled["buyer_spend"] - settled["delivered_value"]
        text += (
            f"; against the agreed prices, buyers paid {usd(float(diff.clip(lower=0).sum()))} "
            f"too much and {usd(float((-diff).clip(lower=0).sum()))} too little; "
            f"{s['hallucinated_decisions']:,} of "
            f"{plural(s['decisions'], 'decision', grouped=True)} used a wrong "
            f"fact; {plural(s['facts_lost'], 'fact', grouped=True)} lost, "
            f"{plural(s['restarts'], 'restart')}, {plural(s['disputes'], 'dispute')}"
        )
    return text + "."


def render_narrative(tables: Mapping[str, pd.DataFrame], verbosity: str = "key") -> str:
    """The run's narrative as markdown: the key moments ranked by what they cost, then each
    kind of story, ranked the same way and capped by ``verbosity``."""
    if verbosity not in VERBOSITY:
        raise ValueError(f"verbosity={verbosity!r}: allowed {', '.join(VERBOSITY)}")
    cap = _CAP[verbosity]
    run = tables["runs"].iloc[0]
    cfg = json.loads(run["config"])
    parts = [
        f"# Narrative: scenario {run['scenario']}, seed {run['seed']}",
        f"{plural(cfg['days'], 'day')} (day 1 … day {cfg['days']}), "
        f"{plural(cfg['n_buyers'], 'buyer')}, {plural(cfg['n_sellers'], 'seller')}, "
        f"{plural(cfg['n_buyers'] * cfg['campaigns_per_buyer'], 'campaign')}. "
        f"Verbosity `{verbosity}`: "
        + ("every story." if cap is None else f"at most {cap} stories of each kind.")
        + " Stories are ranked by what they cost the campaign or the publisher; each subject "
        "appears once. Payments are compared with the agreed price (impressions delivered × "
        "the deal's agreed CPM). The cost after a memory loss is what followed on the deals "
        "and campaigns whose facts were rebuilt wrongly: linked by subject and time, not a "
        "proven cause.",
        _totals(tables),
    ]
    sections = all_moments(tables)
    top = key_moments(tables, cap if cap is not None else 10, sections=sections)
    if top:
        parts.append("## Key moments")
        parts.append(
            "Ranked by cost; what follows an agent's memory loss is linked by subject and time, "
            "not a proven cause (a bill cut to the impressions both sides counted costs as much "
            "without any loss)."
        )
        parts.append("\n".join(f"{i}. {m.line}" for i, m in enumerate(top, 1)))
    for title, ms in sections.items():
        if ms:
            parts.append(f"## {title}")
            parts.extend(m.markdown() for m in (ms if cap is None else ms[:cap]))
    if verbosity in ("daily", "all"):
        parts.append("## Day by day")
        parts.extend(_daily_digest(tables))
    return "\n\n".join(parts) + "\n"


# The tables the narrative reads: every stored table but the ledger, its blobs, the
# negotiations and the per-step metrics and counts it does not use.
NARRATIVE_TABLES = tuple(
    t
    for t in TABLES
    if t not in ("negotiations", "ledger", "ledger_blobs", "event_counts", "step_metrics")
)


def tables_from_store(
    db_path: str | Path, run_id: str, names: tuple[str, ...] = NARRATIVE_TABLES
) -> dict[str, pd.DataFrame]:
    """One run's tables read back from a store (what ``run_tables.run_tables`` gave at write time),
    so its narrative can be told again without re-running it."""
    con = duckdb.connect(str(db_path), read_only=True)
    try:
        have = {r[0] for r in con.execute("SHOW TABLES").fetchall()}
        return {
            t: con.execute(f'SELECT * FROM "{t}" WHERE run_id = ?', [run_id]).df()
            for t in names
            if t in have
        }
    finally:
        con.close()


def write_logs(tables: Mapping[str, pd.DataFrame], logs_dir: Path, verbosity: str = "key") -> None:
    """Write ``RUN_ID.events.jsonl`` and (unless quiet) ``RUN_ID.narrative.md`` for one run
    into ``logs_dir``, made if need be inside its folder, which must exist (a worker writing
    into a result being built must not make the build folder again once it is removed)."""
    logs_dir.mkdir(exist_ok=True)
    # the narrative reads a run's events and settlements whole; a large run's come chunked
    # (see run_tables), and are built here, once its worker has let the model go
    tables = {
        k: v.whole() if isinstance(v, ChunkedTable) and k in ("events", "settlements") else v
        for k, v in tables.items()
    }
    run_id = tables["runs"]["run_id"].iloc[0]
    with _replacing(logs_dir / f"{run_id}.events.jsonl") as fh:
        for block in event_blocks(tables):
            fh.write(block)
    if verbosity != "quiet":
        text = render_narrative(tables, verbosity)
        with _replacing(logs_dir / f"{run_id}.narrative.md") as fh:
            fh.write(text)


@contextlib.contextmanager
def _replacing(path: Path) -> Iterator[TextIO]:
    """A text file written under a name of its own and renamed over ``path`` when done (a
    run tried again after its worker was lost must not interleave with the first try's
    lines); its folder must exist (see :func:`write_logs`)."""
    part = path.with_name(f".{path.name}.{os.getpid()}.part")
    try:
        with open(part, "w", encoding="utf-8") as fh:
            yield fh
        os.replace(part, path)
    finally:
        part.unlink(missing_ok=True)

"""Report sections on campaign goal attainment by component and on negotiations.

Two small, self-contained sections a report can include (``document.build_blocks`` places
them): what each goal-attainment component scored per scenario, with the share of
campaigns at risk and the definitions (from :mod:`admarket.market.kpis`, their one owner),
and how direct negotiations went — how many, how many agreed, in how many rounds, how many
ended in a walk-away or a rejection, and the mix of deal types agreed. Every number is a
mean with its 95% interval across seeds, read from the store's ``summaries`` table.
"""

from __future__ import annotations

import math
from typing import Any

from admarket.market.kpis import AT_RISK, ATTAINMENT_COMPONENTS, COMPONENTS
from admarket.report.data import ReportData
from admarket.report.stats import CI, mean_ci
from admarket.report.wording import score  # 0–1: so is its interval

Block = tuple[str, Any]


def _pct(c: CI) -> str:
    return c.clipped().fmt(".1f", 100, "%")


def _count(c: CI) -> str:
    return c.clipped(0.0, math.inf).fmt(",.1f")  # counts cannot be negative


SET_BY_TIGHTNESS = "input: set by target_tightness"


def at_risk_note(d: ReportData) -> str:
    """Why the at-risk column is an input, not an outcome: ``target_tightness`` sets how far
    below the expected clearing price targets are centred (at 0, half the campaigns are at
    risk by construction); what each scenario makes of those campaigns is the outcome."""
    t = d.param("target_tightness")
    return (
        f"The share at risk is set by target_tightness (an input, here {t}) and the spread "
        "of targets (target_cpm_spread): at 0 targets are centred on the expected price, so "
        "about half the campaigns are at risk by construction. It is the same in every "
        "scenario of a seed; what each scenario makes of those campaigns is the outcome."
    )


def attainment_blocks(d: ReportData) -> list[Block]:
    """Goal attainment by component per scenario, the share at risk, and the definitions."""
    cols = [f"mean_{k}_score" for k in COMPONENTS]
    if not d.scenarios or not set(cols) <= set(d.summaries.columns):
        return []
    # the at-risk share is an input (target_tightness sets it: 50% at 0 by construction),
    # so its column says so rather than sit among the outcomes as if measured
    head = ["Scenario", f"At risk ({SET_BY_TIGHTNESS})", "Delivery", "Price", "Budget"]
    head += ["Pacing", "Primary KPI"]
    rows = [
        [s, _pct(d.ci(s, "at_risk_share")), *(score(d.ci(s, c)) for c in cols)] for s in d.scenarios
    ]
    head.append("Goal attainment")
    for r, s in zip(rows, d.scenarios, strict=True):
        r.append(score(d.ci(s, "mean_goal_attainment")))
    defs = [f"**{k}** — {v}" for k, v in ATTAINMENT_COMPONENTS.items()]
    return [
        ("h2", "Goal attainment by component"),
        ("table", (head, rows)),
        ("p", f"{AT_RISK} {at_risk_note(d)}"),
        ("list", defs),
    ]


def negotiation_blocks(d: ReportData) -> list[Block]:
    """How the direct negotiations of B and C went, per scenario (none in A)."""
    scen = [s for s in d.scenarios if s != "A"]
    if not scen or "negotiations" not in d.summaries.columns:
        return []
    head = ["Scenario", "Negotiations", "Agreed", "PG rounds (mean)", "PG over 1 round"]
    head += ["Walk-aways", "Rejected", "Outbid (PA)", "Deals PG / PD / PA"]
    rows = []
    for s in scen:
        rejected = {
            k: d.per_seed(s, "negotiations_rejected_by_buyer")[k] + v
            for k, v in d.per_seed(s, "negotiations_rejected_by_seller").items()
        }
        mix = " / ".join(_count(d.ci(s, f"deals_{t}")) for t in ("pg", "pd", "pa"))
        rows.append(
            [
                s,
                _count(d.ci(s, "negotiations")),
                _pct(d.ci(s, "agreement_rate")),
                d.ci(s, "mean_rounds_pg").clipped(1.0, math.inf).fmt(".2f"),
                _pct(d.ci(s, "multi_round_share_pg")),
                _count(d.ci(s, "negotiations_walk_away")),
                _count(mean_ci(rejected.values())),
                _count(d.ci(s, "negotiations_outbid")),
                mix,
            ]
        )
    rule = d.param("buyer_rule")
    return [
        ("h2", "Negotiations"),
        (
            "p",
            "Per run: PG deals are bargained round by round to a deadline (the buyer's "
            f"rule: {rule}); PD deals are taken at the seller's fixed price; PA deals are won "
            "in the seller's private auction among the buyers it invited (one row per bid). "
            "A walk-away is the buyer leaving when the seller's last word is above its limit "
            "or its rounds run out; a rejection is the seller refusing an offer still below "
            "its floor on its last round, or (plan rule) the buyer refusing a price more "
            "than 20% above its target. The store's `negotiations` table has every one.",
        ),
        ("table", (head, rows)),
    ]

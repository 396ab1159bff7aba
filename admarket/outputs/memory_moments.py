"""The stories of a run's memory: facts fabricated and acted on, and context lost (decay,
pressure, restarts), each with what followed on the deals and campaigns it touched (the
``Moment`` records of :mod:`.moments`, ranked with them by cost).

As there, a loss followed by a cost on the same subject is told as "afterwards", not
"because": the link is the subject and the time, not a proof of cause.
"""

from __future__ import annotations

import bisect
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from admarket.money import plural, usd
from admarket.outputs.moments import (
    CENT,
    Moment,
    claim_audit,
    events,
    fact_value,
    how_held,
    records,
    run_config,
)


# --- fabricated facts ----------------------------------------------------------------------
def fabrication_moments(tables: Mapping[str, pd.DataFrame]) -> list[Moment]:
    """One story per distinct fabricated value (agent, fact, value), however often it was used,
    with what the decisions that used it cost."""
    cfg = run_config(tables)
    audit = claim_audit(tables)
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
        elif cost >= CENT and parts[-1] == "spent":
            impact = f"the buyer misjudged its campaign's spend by {usd(cost)}"
            cost_txt = f"a {usd(cost)} error in the budget the buyer was pacing against"
        elif cost >= CENT:
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
            f"{how_held(r)}; used in {plural(uses, 'decision')} "
            f"({', '.join(sorted(x.replace('_', ' ') for x in u['decisions']))}).\n\n"
            f"**Reality**: {fact_value(key, r['actual_value'], cfg)} (ground truth, checked "
            f"after the fact).\n\n**Impact**: {impact}.\n\n**Cost**: {cost_txt}."
        )
        line = f"Day {day}, {agent} ({who}) fabricated `{key}`: {cost_txt}."
        covers = (
            (f"{parts[0]}:{parts[1]}",) if cost >= CENT and parts[0] in ("deal", "campaign") else ()
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
    cfg = run_config(tables)
    spd = cfg["steps_per_day"]
    audit = claim_audit(tables)
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
                if amount >= CENT
                else "no misbilling on its deals"
            )
            body = (
                f"**Lost context**: its whole volatile memory ({n:,} facts).\n\n**Afterwards**: "
                "in the next three days it rebuilt "
                f"{plural(len(wrong), 'fact', grouped=True)} wrongly.\n\n"
                f"**Cost afterwards** (next three days): {cost_txt}."
            )
            out.append(
                Moment(
                    "restart",
                    f"restart:{e['agent']}:{step}",
                    day,
                    amount if amount >= CENT else 0.0,
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
                    if amount >= CENT:
                        told.add(f"deal:{parts[1]}")
                        covered.append(f"deal:{parts[1]}")
                        cost += amount
                        costs.append(f"deal {parts[1]} was misbilled by {usd(amount)}")
            elif parts[0] == "campaign" and parts[-1] == "spent" and k not in told:
                amount = over.get(int(parts[1]), 0.0)
                if amount >= CENT:
                    told.add(k)
                    covered.append(f"campaign:{parts[1]}")
                    cost += amount
                    costs.append(f"campaign {parts[1]} ended {usd(amount)} over budget")
        lines = "\n".join(f"- `{k}`" for k in keys[:10])
        if len(keys) > 10:
            lines += f"\n- … and {len(keys) - 10} more"
        result = (
            f"{len(tried)} of {plural(len(keys), 'fact')} {'was' if len(tried) == 1 else 'were'} "
            f"needed again and rebuilt, {ok} correctly"
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
                f"Context rot: {e['agent']} lost {plural(len(keys), 'fact')} on day {day} "
                f"({e['cause']})",
                body,
                f"Day {day}, {e['agent']} forgot {plural(len(keys), 'fact')}: {cost_txt}.",
                float(len(keys)),
                tuple(covered),
            )
        )
    return out

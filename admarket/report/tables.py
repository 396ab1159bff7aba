"""The report's tables, one per research question, with the glossary's labels as headers.

A cell shows a mean with its 95% interval across seeds (none when the value is the same on
every seed). A cell for a mechanism the scenario does not have says so ("— no ledger")
instead of printing a zero that reads like a measurement.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from admarket.money import plain
from admarket.report.data import ReportData, has
from admarket.report.glossary import GLOSSARY, label
from admarket.report.stats import mean_ci
from admarket.report.wording import count, live_campaigns, money, pct, score

Block = tuple[str, Any]  # ("h1"|"h2"|"p"|"list"|"table"|"img", payload)
NO_EXCHANGE, NO_LEDGER, NO_MEMORY = "— no exchange", "— no ledger", "— no volatile memory"
NO_RECON = "— the exchange settles each lot"


def table(header: list[str], rows: list[list[str]]) -> Block:
    """A table block."""
    return ("table", (header, rows))


def _head(*names: str) -> list[str]:
    return ["Scenario", *(label(n)[0].upper() + label(n)[1:] for n in names)]


def fee_table(d: ReportData) -> Block:
    """Gross spend, net to publishers, take and take rate per scenario."""
    cols = ("gross_spend", "net_to_publishers", "intermediary_take", "take_rate")
    rows = [
        [
            s,
            money(d.ci(s, "gross_spend"), nonneg=True),  # amounts: an interval stops at $0
            money(d.ci(s, "net_to_publishers"), nonneg=True),
            money(d.ci(s, "intermediary_take"), nonneg=True),
            pct(d.ci(s, "take_rate")),
        ]
        for s in d.scenarios
    ]
    return table(_head(*cols), rows)


def goal_table(d: ReportData) -> Block:
    """Campaigns, goal hit rates, overspend, fill rate and goal attainment per scenario."""
    rows = [
        [
            s,
            count(d.ci(s, "n_campaigns")),
            pct(d.ci(s, "hit_imp")),
            pct(d.ci(s, "hit_cpm")),
            pct(d.ci(s, "hit_kpi")),
            pct(d.ci(s, "overspent_n")),
            pct(d.ci(s, "fill_rate")),
            score(d.ci(s, "mean_goal_attainment")),
        ]
        for s in d.scenarios
    ]
    cols = ("hit_impression_goal", "hit_cpm_goal", "hit_kpi_goal", "overspent_campaigns")
    head = _head(*cols, "fill_rate", "mean_goal_attainment")
    return table([head[0], "Campaigns per run", *head[1:]], rows)


def rot_table(d: ReportData) -> Block:
    """Goal attainment to date on the first and last day, facts lost, restarts, fidelity."""
    first, last = int(d.daily["simulation_day"].min()), int(d.daily["simulation_day"].max())
    rows = []
    for s in d.scenarios:
        g = d.daily[d.daily["scenario"] == s]
        day = {
            k: mean_ci(g[g["simulation_day"] == k]["daily_goal_attainment"]) for k in (first, last)
        }
        wrong = {
            k: mean_ci(g[g["simulation_day"] == k]["wrong_claim_share"]) for k in (first, last)
        }
        rec = d.ci(s, "recovery_fidelity")
        memory = has(s, "volatile_memory")
        rows.append(
            [
                s,
                score(day[first]),
                score(day[last]),
                pct(wrong[first]) if memory else NO_MEMORY,
                pct(wrong[last]) if memory else NO_MEMORY,
                count(d.ci(s, "facts_lost")) if memory else NO_MEMORY,
                count(d.ci(s, "restarts"), 1) if memory else NO_MEMORY,
                NO_MEMORY if not memory else "n/a (nothing recovered)" if rec.n == 0 else pct(rec),
            ]
        )
    att = label("daily_goal_attainment")
    wrong_l = label("wrong_claim_share")
    head = [
        "Scenario",
        f"{att[0].upper() + att[1:]}, day {first + 1}",
        f"… day {last + 1}",
        f"{wrong_l[0].upper() + wrong_l[1:]}, day {first + 1}",
        f"… day {last + 1}",
    ]
    return table([*head, *_head("facts_lost", "restarts", "recovery_fidelity")[1:]], rows)


def wrong_fact_table(d: ReportData) -> Block:
    """Decisions and claims, and the share of each that was wrong, per scenario."""
    rows = []
    for s in d.scenarios:
        rows.append(
            [
                s,
                count(d.ci(s, "decisions")),
                count(d.ci(s, "hallucinated_decisions")),
                pct(d.ci(s, "wrong_decision_share")),
                count(d.ci(s, "claims")),
                count(d.ci(s, "wrong_claims")),
                pct(d.ci(s, "wrong_claim_share")),
            ]
        )
    cols = ("decisions", "hallucinated_decisions", "wrong_decision_share", "claims")
    return table(_head(*cols, "wrong_claims", "wrong_claim_share"), rows)


def cost_table(d: ReportData) -> Block:
    """Fees and ledger cost per 1,000 impressions, and the ledger's cost per run, split."""
    rows = []
    for s in d.scenarios:
        led = has(s, "ledger")
        # token amounts are never negative: their intervals stop at 0
        sui = d.ci(s, "ledger_cost_sui").clipped(0.0, math.inf)
        wal = d.ci(s, "ledger_cost_wal").clipped(0.0, math.inf)
        split = led and sui.n and not math.isnan(sui.mean)
        rows.append(
            [
                s,
                money(d.ci(s, "exchange_fee_per_mille"), nonneg=True)
                if has(s, "exchange")
                else NO_EXCHANGE,
                "— no agent fee"
                if has(s, "exchange")
                else money(d.ci(s, "agent_fee_per_mille"), nonneg=True),
                money(d.ci(s, "ledger_cost_per_mille"), nonneg=True) if led else NO_LEDGER,
                money(d.ci(s, "ledger_cost_usd"), nonneg=True) if led else NO_LEDGER,
                f"{sui.fmt(',.4f')} ({money(d.ci(s, 'ledger_cost_sui_usd'), nonneg=True)})"
                if split
                else NO_LEDGER
                if not led
                else "n/a",
                f"{wal.fmt(',.4f')} ({money(d.ci(s, 'ledger_cost_wal_usd'), nonneg=True)})"
                if split
                else NO_LEDGER
                if not led
                else "n/a",
            ]
        )
    head = _head("exchange_fee_per_mille", "agent_fee_per_mille", "ledger_cost_per_mille")
    return table(
        [*head, "Ledger cost per run", "Sui gas, SUI (USD)", "Walrus storage, WAL (USD)"], rows
    )


def dispute_table(d: ReportData) -> Block:
    """Settlement outcomes (deal-days per run), disputes and write-offs per scenario."""
    st = d.settlements
    outcomes = sorted(set(st["outcome"]))
    rows = []
    for s in d.scenarios:
        if not has(s, "reconciliation"):
            rows.append([s, NO_RECON, *(["—"] * (len(outcomes) + 2))])
            continue
        row = [s]
        for o in outcomes:
            per = {k: 0.0 for k in d.seeds}
            g = st[(st["scenario"] == s) & (st["outcome"] == o)]
            per.update({int(k): float(v) for k, v in zip(g["seed"], g["n"], strict=True)})
            row.append(count(mean_ci(per.values()), 1))
        row += [
            count(d.ci(s, "disputes"), 1),
            money(d.ci(s, "written_off"), True),
            money(d.ci(s, "overpaid"), True) if "overpaid" in d.summaries.columns else "n/a",
        ]
        rows.append(row)
    head = ["Scenario", *(o.replace("_", " ") for o in outcomes)]
    return table([*head, *(_head("disputes", "written_off", "overpaid")[1:])], rows)


def glossary_table() -> Block:
    """Every measure's label, store name, definition and unit."""
    rows = [
        [t.label, f"`{n}`" + "".join(f", `{a}`" for a in t.aliases), t.definition, t.unit]
        for n, t in GLOSSARY.items()
    ]
    return table(["Term", "Name (and older names)", "Meaning", "Unit"], rows)


def _cell(v: Any) -> str:
    if isinstance(v, float):
        return plain(v)
    if isinstance(v, int) and not isinstance(v, bool):
        return f"{v:,}"
    return str(v)


def df_table(df: pd.DataFrame, max_rows: int = 40) -> Block:
    """A DataFrame as a table block (numbers written by :func:`admarket.money.plain`)."""
    rows = [[_cell(v) for v in r] for r in df.head(max_rows).itertuples(index=False)]
    if len(df) > max_rows:
        rows.append([f"… {len(df) - max_rows} more rows"] + [""] * (len(df.columns) - 1))
    return table([str(c) for c in df.columns], rows)


def live_note(d: ReportData) -> str:
    """Under the context-rot table: how many campaigns each day's goal attainment rests on
    (per seed, the campaigns live that day), so a reader can weigh the first and last day's
    figures; ``""`` when the store does not say."""
    if d.daily.empty:
        return ""
    first, last = int(d.daily["simulation_day"].min()), int(d.daily["simulation_day"].max())
    per = {s: (live_campaigns(d, s, first), live_campaigns(d, s, last)) for s in d.scenarios}
    if not all(a and b for a, b in per.values()):
        return ""
    days = f"day {first + 1}: {{}}; day {last + 1}: {{}}"
    if len(set(per.values())) == 1:  # scenarios share each seed's campaigns
        said = days.format(*next(iter(per.values()))) + " (the same in every scenario)"
    else:
        said = "; ".join(f"{s}: " + days.format(a, b) for s, (a, b) in per.items())
    return (
        "Goal attainment to date averages the campaigns live that day, not all the run's: "
        f"{said}. A day's figure rests on that many campaigns per seed."
    )

"""The report's section on language-model agents (only for stores that have some).

It sets the **measured** hallucination rate of real models — every number a model stated,
graded against ground truth (``llm_statements``) — beside the rule model's **injected**
rate (``hallucination_rate``, an input) and the claim error rates of rule-based and
language-model agents that traded on the same market in the same runs
(``agent_decisions`` split by ``llm_agents.policy``): the first calibration of the rot
model against a real model. It also reports what the models cost (tokens and dollars per
run and per day, ledger lookups) and, at the top of the report, says plainly when a run
**stopped at budget** before its last day, so that a partial result never reads as a
complete one.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from admarket.money import plural, usd

Block = tuple[str, Any]
STOPPED = "stopped at budget"


def wilson(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """The Wilson 95% interval of a proportion ``k``/``n`` (NaN when n is 0)."""
    if n <= 0:
        return math.nan, math.nan
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def _rate(k: int, n: int) -> str:
    if not n:
        return "n/a"
    lo, hi = wilson(k, n)
    return f"{k / n:.1%} [{lo:.1%}, {hi:.1%}]"


@dataclass
class LLMReport:
    """The section's blocks, the stop banner (if any run stopped) and the JSON twin."""

    banner: list[Block] = field(default_factory=list)
    section: list[Block] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)

    def insert_into(self, blocks: list[Block]) -> list[Block]:
        """``blocks`` with the banner before the first section and this section before the
        findings (or at the end)."""
        out = list(blocks)
        first = next((i for i, b in enumerate(out) if b[0] == "h2"), len(out))
        out[first:first] = self.banner
        at = next((i for i, b in enumerate(out) if b == ("h2", "Findings")), len(out))
        out[at:at] = self.section
        return out


def _load(con: duckdb.DuckDBPyConnection) -> dict[str, pd.DataFrame]:
    q = {
        "runs": "SELECT * FROM llm_runs ORDER BY run_id",
        "statements": (
            "SELECT scenario, claim_type, COUNT(*) AS n, SUM(wrong::INT) AS wrong, "
            "SUM(fabricated::INT) AS fabricated, SUM(looked_up::INT) AS looked_up "
            "FROM llm_statements GROUP BY ALL ORDER BY ALL"
        ),
        "claims": (
            "SELECT d.scenario, COALESCE(a.policy, 'rules') AS policy, COUNT(*) AS n, "
            "SUM(d.is_hallucination::INT) AS wrong, SUM(d.injected::INT) AS injected "
            "FROM agent_decisions d LEFT JOIN llm_agents a "
            "ON a.run_id = d.run_id AND a.agent_id = d.agent_id "
            "WHERE d.run_id IN (SELECT run_id FROM llm_runs) GROUP BY ALL ORDER BY ALL"
        ),
        "config": "SELECT scenario, config FROM runs WHERE run_id IN (SELECT run_id FROM llm_runs)",
    }
    return {k: con.execute(v).df() for k, v in q.items()}


def llm_report(store: str | Path | duckdb.DuckDBPyConnection) -> LLMReport | None:
    """The section for the store (its path, or an open connection to it); None when it has no
    language-model agents."""
    if isinstance(store, duckdb.DuckDBPyConnection):
        con, own = store, False
    else:
        con, own = duckdb.connect(str(store), read_only=True), True
    try:
        names = {r[0] for r in con.execute("SHOW TABLES").fetchall()}
        if "llm_runs" not in names:
            return None
        t = _load(con)
    finally:
        if own:
            con.close()
    rep = LLMReport()
    runs = t["runs"]
    scenarios = sorted(runs["scenario"].unique())
    injected_rate = {
        str(r.scenario): json.loads(r.config).get("hallucination_rate")
        for r in t["config"].itertuples()
    }
    stopped = runs[runs["status"] != "complete"]
    if len(stopped):
        which = "; ".join(
            f"scenario {r.scenario} (seed {r.seed}) ran {r.days_run} of {plural(r.days, 'day')}, "
            f"LLM spend {usd(r.usd, 4)} against its budget {usd(r.budget_usd, 4)}"
            for r in stopped.itertuples()
        )
        rep.banner = [
            (
                "p",
                f"**Stopped at budget — not a complete result.** {which}. Every number below "
                "for these runs covers only the days simulated (`--llm-budget-usd`).",
            )
        ]
    rep.section = [("h2", "Language-model agents"), ("p", _intro(runs))]
    rep.section += [_cost_table(runs, scenarios), _rate_table(t, scenarios, injected_rate)]
    rep.section += [("p", _reading()), _type_table(t["statements"], scenarios)]
    rep.data = _json(t, runs, scenarios, injected_rate)
    return rep


def _intro(runs: pd.DataFrame) -> str:
    r = runs.iloc[0]
    agents = ", ".join(
        f"{s}: {int(n)}" for s, n in runs.groupby("scenario")["llm_agents"].max().items()
    )
    return (
        f"Agents of the llm policy asked model `{r.model}` (temperature {r.temperature:g}, "
        f"answers as {r.response_format}) through an OpenAI-compatible endpoint; language-model "
        f"agents per run — {agents}. Their memory is their transcript, cut to the context "
        "window; each phase they state their books, every number of which is graded against "
        "ground truth; in C they can read the ledger with a `ledger_lookup` tool."
    )


def _cost_table(runs: pd.DataFrame, scenarios: list[str]) -> Block:
    rows = []
    for s in scenarios:
        g = runs[runs["scenario"] == s]
        days = max(1, int(g["days_run"].sum()))
        status = ", ".join(sorted(set(g["status"])))
        rows.append(
            [
                s,
                f"{int(g['questions'].sum()):,}",
                f"{int(g['requests'].sum()):,}",
                f"{int(g['prompt_tokens'].sum()):,}",
                f"{int(g['completion_tokens'].sum()):,}",
                usd(g["usd"].sum(), 4),
                usd(g["usd"].sum() / days, 4),
                f"{int(g['lookups'].sum()):,}",
                status,
            ]
        )
    head = ["Scenario", "Questions", "Requests", "Prompt tokens", "Completion tokens", "Cost"]
    return ("table", ([*head, "Cost per day", "Ledger lookups", "Status"], rows))


def _rate_table(t: dict[str, pd.DataFrame], scenarios: list[str], injected: dict) -> Block:
    st, cl = t["statements"], t["claims"]
    rows = []
    for s in scenarios:
        g = st[st["scenario"] == s]
        n, k = int(g["n"].sum()), int(g["wrong"].sum())
        by = {p: cl[(cl["scenario"] == s) & (cl["policy"] == p)] for p in ("llm", "rules")}
        rate = injected.get(s)
        rows.append(
            [
                s,
                f"{n:,}",
                f"{k:,} ({int(g['fabricated'].sum()):,} fabricated)",
                _rate(k, n),
                "n/a" if rate is None else f"{rate:.1%}",
                _rate(int(by["llm"]["wrong"].sum()), int(by["llm"]["n"].sum())),
                _rate(int(by["rules"]["wrong"].sum()), int(by["rules"]["n"].sum())),
            ]
        )
    head = ["Scenario", "Numbers stated", "Wrong", "Measured LLM rate [95% CI]"]
    tail = ["Injected rate (rules, input)", "Claims wrong: LLM agents", "Claims wrong: rule agents"]
    return ("table", ([*head, *tail], rows))


def _reading() -> str:
    return (
        "The measured rate is an outcome: the share of the numbers the models stated that "
        "missed the truth (beyond `audit_tolerance`) or concerned deals they were never told "
        "of, with a Wilson 95% interval over statements. The injected rate is the rule "
        "model's input (`hallucination_rate`); it also corrupts the language-model agents' "
        "numbers when they act on them (a stressor on top: set it to 0 to measure the models "
        "alone). The last two columns grade the facts each kind of agent acted on — with the "
        "losses, reconstructions and (in C) ledger reads of the run — on the same market."
    )


def _type_table(st: pd.DataFrame, scenarios: list[str]) -> Block:
    rows = []
    for kind in sorted(st["claim_type"].unique()):
        row = [str(kind)]
        for s in scenarios:
            g = st[(st["scenario"] == s) & (st["claim_type"] == kind)]
            row.append(_rate(int(g["wrong"].sum()), int(g["n"].sum())))
        rows.append(row)
    return ("table", (["Claim type", *[f"Measured rate, {s}" for s in scenarios]], rows))


def _json(t: dict[str, pd.DataFrame], runs: pd.DataFrame, scenarios: list[str], injected: dict):
    st, cl = t["statements"], t["claims"]
    out: dict[str, Any] = {"runs": json.loads(runs.to_json(orient="records")), "scenarios": {}}
    for s in scenarios:
        g = st[st["scenario"] == s]
        n, k = int(g["n"].sum()), int(g["wrong"].sum())
        claims = {
            p: {
                "claims": int(cl[(cl["scenario"] == s) & (cl["policy"] == p)]["n"].sum()),
                "wrong": int(cl[(cl["scenario"] == s) & (cl["policy"] == p)]["wrong"].sum()),
            }
            for p in ("llm", "rules")
        }
        out["scenarios"][s] = {
            "statements": n,
            "wrong": k,
            "measured_rate": k / n if n else None,
            "measured_rate_ci": list(wilson(k, n)) if n else None,
            "injected_rate": injected.get(s),
            "claims_by_policy": claims,
        }
    return out

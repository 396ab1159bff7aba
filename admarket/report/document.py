"""The comparison report: markdown, a self-contained HTML page and a JSON twin, from a store.

``write_report(db, out_dir)`` reads a store (``report_data.load``), draws the charts
(``report_charts``), computes the findings (``report_findings``) and renders one list of
blocks to ``report.md`` (charts linked from ``charts/``), ``report.html`` (charts embedded
as base64, no external files) and ``report.json`` (every number the report prints).
Sections follow the plan's "Gap 28" template: summary, fee extraction, goal achievement,
context rot, hallucinations, ledger cost, disputes, findings, and the plan's four queries.
``admarket report RUN_DIR`` regenerates it without re-running anything.
"""

from __future__ import annotations

import base64
import datetime as _dt
import html
import json
import math
import os
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd

from admarket.report.charts import draw_all
from admarket.report.data import ReportData, load
from admarket.report.findings import compute_findings
from admarket.report.llm_section import llm_report
from admarket.report.stats import CI, mean_ci

Block = tuple[str, Any]  # ("h1"|"h2"|"p"|"list"|"table"|"img", payload)


def _pct(c: CI) -> str:
    """A share in percent; its interval cannot leave [0%, 100%]."""
    return c.clipped().fmt(".1f", 100, "%")


def _usd(c: CI, spec: str = ",.0f") -> str:
    return c.fmt(spec, pre="$")


def _table(header: list[str], rows: list[list[str]]) -> Block:
    return ("table", (header, rows))


def _fee_table(d: ReportData) -> Block:
    rows = [
        [
            s,
            _usd(d.ci(s, "gross_spend")),
            _usd(d.ci(s, "net_to_publishers")),
            _usd(d.ci(s, "intermediary_take")),
            _pct(d.ci(s, "take_rate")),
        ]
        for s in d.scenarios
    ]
    return _table(["Scenario", "Gross spend", "Net to publishers", "Take", "Take rate"], rows)


def _goal_table(d: ReportData) -> Block:
    rows = [
        [
            s,
            d.ci(s, "n_campaigns").fmt(",.0f"),
            _pct(d.ci(s, "hit_imp")),
            _pct(d.ci(s, "hit_cpm")),
            _pct(d.ci(s, "overspent_n")),
            d.ci(s, "mean_goal_attainment").fmt(".3f"),
        ]
        for s in d.scenarios
    ]
    head = ["Scenario", "Campaigns", "Hit impression goal", "Hit CPM goal", "Overspent"]
    return _table([*head, "Mean goal attainment"], rows)


def _rot_table(d: ReportData) -> Block:
    first, last = int(d.daily["simulation_day"].min()), int(d.daily["simulation_day"].max())
    rows = []
    for s in d.scenarios:
        g = d.daily[d.daily["scenario"] == s]
        day = {
            k: mean_ci(g[g["simulation_day"] == k]["daily_goal_attainment"]) for k in (first, last)
        }
        rec = d.ci(s, "recovery_fidelity")
        rows.append(
            [
                s,
                day[first].fmt(".3f"),
                day[last].fmt(".3f"),
                d.ci(s, "facts_lost").fmt(",.0f"),
                d.ci(s, "restarts").fmt(",.1f"),
                "n/a (nothing to recover)" if rec.n == 0 else _pct(rec),
            ]
        )
    head = ["Scenario", f"Attainment day {first + 1}", f"Attainment day {last + 1}"]
    return _table([*head, "Facts lost", "Restarts", "Recovery fidelity"], rows)


def _hallucination_table(d: ReportData) -> Block:
    rows = []
    for s in d.scenarios:
        c = d.claims[d.claims["scenario"] == s].groupby("seed")[["n", "wrong"]].sum()
        claim_rate = mean_ci(c["wrong"] / c["n"]) if len(c) else mean_ci([])
        rows.append(
            [
                s,
                d.ci(s, "decisions").fmt(",.0f"),
                d.ci(s, "hallucinated_decisions").fmt(",.0f"),
                _pct(d.ci(s, "hallucination_rate")),
                _pct(claim_rate),
            ]
        )
    head = ["Scenario", "Decisions", "Hallucinated decisions", "Decision rate"]
    return _table([*head, "Claim rate (plan query 4)"], rows)


def _cost_table(d: ReportData) -> Block:
    rows = [
        [
            s,
            d.ci(s, "exchange_fee_per_mille").fmt(",.4f", pre="$"),
            d.ci(s, "agent_fee_per_mille").fmt(",.4f", pre="$"),
            d.ci(s, "ledger_cost_per_mille").fmt(".3g", pre="$"),
            _usd(d.ci(s, "ledger_cost_usd"), ",.4f"),
        ]
        for s in d.scenarios
    ]
    head = ["Scenario", "Exchange fees /1k", "Agent fees /1k", "Ledger cost /1k"]
    return _table([*head, "Ledger cost per run"], rows)


def _dispute_table(d: ReportData) -> Block:
    st = d.settlements
    outcomes = sorted(set(st["outcome"]))
    rows = []
    for s in d.scenarios:
        row = [s]
        for o in outcomes:
            per = {k: 0.0 for k in d.seeds}
            g = st[(st["scenario"] == s) & (st["outcome"] == o)]
            per.update({int(k): float(v) for k, v in zip(g["seed"], g["n"], strict=True)})
            row.append(mean_ci(per.values()).fmt(",.1f"))
        row += [d.ci(s, "disputes").fmt(",.1f"), _usd(d.ci(s, "written_off"))]
        rows.append(row)
    return _table(["Scenario", *outcomes, "Disputes", "Written off"], rows)


def _fmt_cell(v: Any) -> str:
    if isinstance(v, float):
        return "" if math.isnan(v) else f"{v:,.4f}"
    return str(v)


def _df_table(df: pd.DataFrame, max_rows: int = 40) -> Block:
    rows = [[_fmt_cell(v) for v in r] for r in df.head(max_rows).itertuples(index=False)]
    if len(df) > max_rows:
        rows.append([f"… {len(df) - max_rows} more rows"] + [""] * (len(df.columns) - 1))
    return _table([str(c) for c in df.columns], rows)


def build_blocks(d: ReportData, charts: list[tuple[str, str]], findings) -> list[Block]:
    """The report as an ordered list of blocks (shared by the markdown and HTML renderers)."""
    n = len(d.seeds)
    cfg = next(iter(d.configs.values()))
    chart = dict((cap, name) for name, cap in charts)
    interval = "n=1, no interval" if n < 2 else f"mean [95% CI] across {n} seeds"

    def img(caption: str) -> Block:
        return ("img", (chart[caption], caption))

    b: list[Block] = [
        ("h1", "admarket simulation report"),
        (
            "p",
            f"Generated {_dt.datetime.now(_dt.UTC).isoformat(timespec='seconds')} from "
            f"{len(d.runs)} runs: scenarios {', '.join(d.scenarios)} × {n} seed(s) "
            f"({', '.join(map(str, d.seeds[:12]))}{' …' if n > 12 else ''}). Every number is "
            f"{interval}; scenarios share each seed's demand and supply (common random "
            "numbers), so differences are paired by seed.",
        ),
        ("h2", "Executive summary"),
        (
            "list",
            [
                f"Campaigns per run: {cfg['n_buyers'] * cfg['campaigns_per_buyer']} "
                f"({cfg['n_buyers']} buyers, {cfg['n_sellers']} sellers)",
                f"Simulation duration: {cfg['days']} days ({cfg['steps_per_day']} steps a day)",
                *[f"Total spend, {s}: {_usd(d.ci(s, 'gross_spend'))}" for s in d.scenarios],
            ],
        ),
        ("h2", "Fee extraction comparison"),
        _fee_table(d),
        img("Fee extraction by scenario"),
        ("h2", "Campaign goal achievement"),
        _goal_table(d),
        img("Campaign goal achievement"),
        ("h2", "Context rot impact"),
        _rot_table(d),
        img("Daily goal attainment over the run (context-rot impact)"),
        ("h2", "Hallucination analysis"),
        (
            "p",
            "A decision is hallucinated when at least one fact it relied on was graded wrong "
            "against ground truth; the claim rate counts the facts themselves.",
        ),
        _hallucination_table(d),
        img("Hallucination heatmap: scenario × agent type × claim type"),
        ("h2", "Blockchain cost analysis"),
        _cost_table(d),
        img("Ledger cost vs exchange fee per 1,000 impressions"),
        ("h2", "Disputes"),
        _dispute_table(d),
        img("Dispute outcomes"),
        ("h2", "Findings"),
    ]
    for i, f in enumerate(findings, 1):
        b.append(("p", f"**{i}. {f.title}** (*{f.label}*). {f.text}"))
        deps = ", ".join(f"{k}={json.dumps(v)}" for k, v in f.depends_on.items())
        b.append(("p", f"Depends on: {deps}."))
    b.append(("h2", "The plan's queries (pooled over seeds)"))
    for name, df in d.plan_queries.items():
        b += [("p", f"`admarket query RUN_DIR --name {name}`"), _df_table(df)]
    b.append(("h2", "Configuration"))
    b.append(("p", "Parameters of the runs (seed varies per run): "))
    b.append(("p", ", ".join(f"{k}={json.dumps(v)}" for k, v in cfg.items() if k != "seed")))
    return _drop_single_notes(b) if n < 2 else b


_SINGLE = " (n=1, no interval)"


def _drop_single_notes(blocks: list[Block]) -> list[Block]:
    """With one seed the intro says "n=1, no interval" once; drop the per-number repeats."""

    def clean(v: Any) -> Any:
        if isinstance(v, str):
            return v.replace(_SINGLE, "")
        if isinstance(v, (list, tuple)):
            return type(v)(clean(x) for x in v)
        return v

    return [(kind, clean(v)) for kind, v in blocks]


# --- rendering -----------------------------------------------------------------------------
def to_markdown(blocks: list[Block]) -> str:
    """Render blocks as GitHub-flavoured markdown (images linked from ``charts/``)."""
    out = []
    for kind, v in blocks:
        if kind == "h1":
            out.append(f"# {v}")
        elif kind == "h2":
            out.append(f"## {v}")
        elif kind == "p":
            out.append(v)
        elif kind == "list":
            out.append("\n".join(f"- {x}" for x in v))
        elif kind == "table":
            head, rows = v
            lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
            lines += ["| " + " | ".join(r) + " |" for r in rows]
            out.append("\n".join(lines))
        elif kind == "img":
            out.append(f"![{v[1]}](charts/{v[0]})")
    return "\n\n".join(out) + "\n"


def _inline(text: str) -> str:
    import re

    t = html.escape(text)
    t = re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", t)
    t = re.sub(r"\*(.+?)\*", r"<em>\1</em>", t)
    return re.sub(r"`(.+?)`", r"<code>\1</code>", t)


def to_html(blocks: list[Block], charts_dir: Path) -> str:
    """Render blocks as one self-contained HTML page (charts embedded as base64 PNG)."""
    body = []
    for kind, v in blocks:
        if kind in ("h1", "h2"):
            body.append(f"<{kind}>{_inline(v)}</{kind}>")
        elif kind == "p":
            body.append(f"<p>{_inline(v)}</p>")
        elif kind == "list":
            body.append("<ul>" + "".join(f"<li>{_inline(x)}</li>" for x in v) + "</ul>")
        elif kind == "table":
            head, rows = v
            h = "".join(f"<th>{_inline(x)}</th>" for x in head)
            r = "".join(
                "<tr>" + "".join(f"<td>{_inline(x)}</td>" for x in row) + "</tr>" for row in rows
            )
            body.append(f"<table><thead><tr>{h}</tr></thead><tbody>{r}</tbody></table>")
        elif kind == "img":
            data = base64.b64encode((charts_dir / v[0]).read_bytes()).decode("ascii")
            body.append(
                f'<figure><img alt="{html.escape(v[1])}" src="data:image/png;base64,{data}">'
                f"<figcaption>{html.escape(v[1])}</figcaption></figure>"
            )
    style = (
        "body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em}"
        "table{border-collapse:collapse;margin:1em 0;font-size:.85em}"
        "td,th{border:1px solid #ccc;padding:.25em .5em;text-align:right}"
        "td:first-child,th:first-child{text-align:left}img{max-width:100%}"
        "figcaption{color:#555;font-size:.85em}"
    )
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f"<title>admarket report</title><style>{style}</style></head><body>"
        + "\n".join(body)
        + "</body></html>\n"
    )


def _replace_text(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=path.parent)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.chmod(tmp, 0o644)  # mkstemp makes it private; a report is meant to be read
    os.replace(tmp, path)


def write_report(db_path: str | Path, out_dir: str | Path) -> dict[str, Any]:
    """Write report.md, report.html, report.json and charts/*.png; returns the JSON dict."""
    out = Path(out_dir)
    d = load(db_path)
    charts = draw_all(d, out / "charts")
    findings = compute_findings(d)
    blocks = build_blocks(d, charts, findings)
    llm = llm_report(db_path)  # language-model agents: a section, and a banner if stopped
    if llm is not None:
        blocks = llm.insert_into(blocks)
    data = {
        "scenarios": d.scenarios,
        "seeds": d.seeds,
        "summaries": json.loads(d.summaries.to_json(orient="records")),
        "findings": [f.to_dict() for f in findings],
        "plan_queries": {
            k: json.loads(v.to_json(orient="records")) for k, v in d.plan_queries.items()
        },
        "charts": [name for name, _ in charts],
    }
    if llm is not None:
        data["llm"] = llm.data
    _replace_text(out / "report.json", json.dumps(data, indent=1) + "\n")
    _replace_text(out / "report.md", to_markdown(blocks))
    _replace_text(out / "report.html", to_html(blocks, out / "charts"))
    return data

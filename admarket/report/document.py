"""The comparison report: markdown, a self-contained HTML page and a JSON twin, from a store.

``write_report(db, out_dir)`` reads a store (:mod:`.data`), draws the charts
(:mod:`.charts`), computes the executive summary and conclusion (:mod:`.summary`) and the
findings (:mod:`.findings`), and renders one list of blocks (tables from :mod:`.tables`) to
``report.md`` (charts linked from ``charts/``), ``report.html`` (charts embedded as base64,
no external files) and ``report.json`` (every number the report prints); ``content=True``
adds one article draft per finding (:mod:`.content`). Sections follow the plan's "Gap 28"
template: executive summary, fee extraction, fee savings per $100K, goal achievement,
context rot, decisions on wrong facts, ledger cost, disputes, findings, conclusion, then a
glossary and the plan's four queries. ``admarket report RUN_DIR`` regenerates it without
re-running anything.
"""

from __future__ import annotations

import base64
import datetime as _dt
import html
import json
from collections.abc import Callable
from concurrent.futures import Executor
from pathlib import Path
from typing import Any

import duckdb

from admarket.atomic import atomic_file
from admarket.errors import UsageError
from admarket.money import plural
from admarket.outputs.store import open_store
from admarket.report.charts import CAPTIONS
from admarket.report.conclusion import Hypothesis, conclusion
from admarket.report.content import write_content
from admarket.report.data import ReportData, read, read_plan_queries
from admarket.report.drawing import start_charts
from admarket.report.findings import Finding, compute_findings
from admarket.report.glossary import FINDING_LABELS, GLOSSARY
from admarket.report.llm_section import llm_report
from admarket.report.market_sections import attainment_blocks, negotiation_blocks
from admarket.report.savings import (
    KEEPS,
    reduction_text,
    savings,
    savings_amount,
    savings_note,
    sides_text,
)
from admarket.report.summary import Point, executive_summary
from admarket.report.tables import (
    Block,
    cost_table,
    df_table,
    dispute_table,
    fee_table,
    glossary_table,
    goal_table,
    live_note,
    rot_table,
    table,
    wrong_fact_table,
)
from admarket.report.wording import money


def _intro(d: ReportData) -> str:
    n = len(d.seeds)
    interval = "n=1, no interval" if n < 2 else f"mean [95% CI] across {n} seeds"
    seeds = ", ".join(map(str, d.seeds[:12])) + (" …" if n > 12 else "")
    text = (
        f"Generated {_dt.datetime.now(_dt.UTC).isoformat(timespec='seconds')} from "
        f"{plural(len(d.runs), 'run')}: scenarios {', '.join(d.scenarios)} × {plural(n, 'seed')} "
        f"({seeds}). "
        f"Every number is {interval}; scenarios share each seed's demand and supply (common "
        "random numbers), so differences are paired by seed."
    )
    if n >= 2:
        text += (
            " A number printed without an interval was the same on every seed (to the "
            "precision shown); a difference marked *not significant* has an interval that "
            "contains zero. An interval end marked *(clipped)* is where the symmetric "
            "interval passed a bound the quantity cannot cross (a share below 0% or above "
            "100%, an amount or count below 0) and was cut there: that end is the bound, not "
            "an estimate — with most seeds at the bound (C's wrong facts) the uncertainty is "
            "skewed, wider on the far side than on the near one. Terms are defined once, in "
            "the glossary at the end."
        )
    return text


def _summary_blocks(d: ReportData, points: list[Point]) -> list[Block]:
    cfg = next(iter(d.configs.values()))
    scale = (
        f"{plural(cfg['n_buyers'] * cfg['campaigns_per_buyer'], 'campaign')} per run "
        f"({plural(cfg['n_buyers'], 'buyer')}, {plural(cfg['n_sellers'], 'seller')}) over "
        f"{plural(cfg['days'], 'day')}; "
        "gross spend per run "
        + ", ".join(f"{s} {money(d.ci(s, 'gross_spend'))}" for s in d.scenarios)
        + "."
    )
    items = [f"{p.text} (*{p.label}*)" for p in points]
    return [("h2", "Executive summary"), ("list", items), ("p", scale)]


def _savings_blocks(d: ReportData) -> list[Block]:
    if "A" not in d.scenarios or len(d.scenarios) < 2:
        return []
    lines = []
    for s in [x for x in ("C", "B") if x in d.scenarios]:
        per, red = savings(d, s)
        lines.append(
            f"Moving from A to {s}: fee reduction {reduction_text(red, s)}; savings per $100K "
            f"of spend {savings_amount(per)} ({sides_text(d, s)})"
        )
    note = f"{savings_note(d)}. {KEEPS}."
    return [("h2", "Fee savings per $100K of spend"), ("list", lines), ("p", note)]


def _conclusion_blocks(hyps: list[Hypothesis]) -> list[Block]:
    if not hyps:
        return []
    rows = [[h.claim, f"**{h.verdict}**", h.evidence, h.rule, h.label] for h in hyps]
    intro = (
        "The plan's hypotheses, tested at the settings of these runs. *Does not hold* means "
        "these runs do not show it at 95% confidence (more seeds can change a verdict that "
        "rests on an interval spanning zero); other settings can give other verdicts."
    )
    head = ["The plan's hypothesis", "At these settings", "Evidence", "Test", "Kind"]
    return [("h2", "Conclusion"), ("p", intro), table(head, rows)]


def _glossary_blocks() -> list[Block]:
    kinds = [f"*{k}*: {v}" for k, v in FINDING_LABELS.items()]
    return [("h2", "Glossary"), glossary_table(), ("p", "Kinds of finding:"), ("list", kinds)]


def build_blocks(
    d: ReportData,
    charts: list[tuple[str, str]],
    findings: list[Finding],
    points: list[Point] | None = None,
    hyps: list[Hypothesis] | None = None,
) -> list[Block]:
    """The report as an ordered list of blocks (shared by the markdown and HTML renderers)."""
    n = len(d.seeds)
    cfg = next(iter(d.configs.values()))
    chart = dict((cap, name) for name, cap in charts)
    points = executive_summary(d) if points is None else points
    hyps = conclusion(d) if hyps is None else hyps

    def img(caption: str) -> Block:
        return ("img", (chart[caption], caption))

    b: list[Block] = [("h1", "admarket simulation report"), ("p", _intro(d))]
    b += _summary_blocks(d, points)
    b += [("h2", "Fee extraction comparison"), fee_table(d), img(CAPTIONS["fee"])]
    b += _savings_blocks(d)
    b += [("h2", "Campaign goal achievement"), goal_table(d), img(CAPTIONS["goal"])]
    b += attainment_blocks(d)
    b += [("h2", "Context rot impact"), rot_table(d)]
    if note := live_note(d):  # the campaigns each day's figure rests on
        b.append(("p", note))
    b.append(img(CAPTIONS["rot"]))
    b += [
        ("h2", "Decisions on wrong facts"),
        (
            "p",
            'Two measures, not one "hallucination rate": the share of decisions that used at '
            "least one wrong fact, and the share of claims (the facts decisions relied on) "
            "that were wrong. A decision relies on several facts, so the first is larger.",
        ),
        wrong_fact_table(d),
        img(CAPTIONS["heatmap"]),
        ("h2", "Blockchain cost analysis"),
        cost_table(d),
        img(CAPTIONS["cost"]),
        ("h2", "Disputes"),
        (
            "p",
            "Each deal-day's invoice settles one way: *agreed* (invoice and the buyer's "
            "expectation match), *underbilled* (the invoice is lower: paid as is), *auto "
            "accepted* (a gap within recon_auto_accept), *split* (a gap within recon_split: "
            "the difference is halved), *dispute ledger* (a larger gap settled at the terms "
            "on C's ledger) or *dispute unresolved* (a larger gap with no shared record: the "
            "buyer pays what it believes plus dispute_recovery of the rest).",
        ),
        dispute_table(d),
        img(CAPTIONS["disputes"]),
        *negotiation_blocks(d),
        ("h2", "Findings"),
    ]
    for i, f in enumerate(findings, 1):
        b.append(("p", f"**{i}. {f.title}** (*{f.label}*). {f.text}"))
        deps = ", ".join(f"{k}={json.dumps(v)}" for k, v in f.depends_on.items())
        b.append(("p", f"Depends on: {deps}."))
    b += _conclusion_blocks(hyps)
    b += _glossary_blocks()
    b.append(("h2", "The plan's queries (pooled over seeds)"))
    for name, df in d.plan_queries.items():
        b += [("p", f"`admarket query RUN_DIR --name {name}`"), df_table(df)]
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
    with atomic_file(path, "w", encoding="utf-8") as fh:
        fh.write(text)


FORMATS = ("md", "html", "json")


def write_report(
    db_path: str | Path,
    out_dir: str | Path,
    formats: tuple[str, ...] | list[str] = FORMATS,
    content: bool = False,
    *,
    store: duckdb.DuckDBPyConnection | None = None,
    executor: Executor | None = None,
    on_read: Callable[[], None] | None = None,
) -> dict[str, Any]:
    """Write the report in ``formats`` (report.md, report.html, report.json; charts/*.png
    always) and, with ``content``, one article draft per finding in ``content/``.

    Returns the JSON dict (every number the report prints), whether or not it is written.
    ``store``: an open connection to the store at ``db_path`` to read instead of opening the
    file (a writer that just filled it); ``on_read`` is called once the report has read all
    it needs from it (the writer may close it then), while the charts may still be drawing.
    ``executor``: draw the charts on its workers (:mod:`.drawing`) instead of here; the
    report is the same to the byte.
    """
    bad = [f for f in formats if f not in FORMATS]
    if bad or not formats:
        raise UsageError(f"--format {','.join(formats)}: choose from {', '.join(FORMATS)}")
    out = Path(out_dir)
    con = open_store(db_path) if store is None else store
    try:
        d = read(con)
        pending = start_charts(d, out / "charts", executor)
        d.plan_queries = read_plan_queries(con)
        llm = llm_report(con)  # language-model agents: a section, and a banner if stopped
    finally:
        if store is None:
            con.close()
    if on_read is not None:
        on_read()
    findings = compute_findings(d)
    points, hyps = executive_summary(d), conclusion(d)
    charts = pending.result()
    data = {
        "scenarios": d.scenarios,
        "seeds": d.seeds,
        "executive_summary": [p.to_dict() for p in points],
        "conclusion": [h.to_dict() for h in hyps],
        "summaries": json.loads(d.summaries.to_json(orient="records")),
        "findings": [f.to_dict() for f in findings],
        "plan_queries": {
            k: json.loads(v.to_json(orient="records")) for k, v in d.plan_queries.items()
        },
        "glossary": {
            n: {"label": t.label, "definition": t.definition, "unit": t.unit}
            for n, t in GLOSSARY.items()
        },
        "charts": [name for name, _ in charts],
    }
    if "md" in formats or "html" in formats:
        blocks = build_blocks(d, charts, findings, points, hyps)
        if llm is not None:
            blocks = llm.insert_into(blocks)
        if "md" in formats:
            _replace_text(out / "report.md", to_markdown(blocks))
        if "html" in formats:
            _replace_text(out / "report.html", to_html(blocks, out / "charts"))
    if llm is not None:
        data["llm"] = llm.data
    if "json" in formats:
        _replace_text(out / "report.json", json.dumps(data, indent=1) + "\n")
    if content:
        write_content(db_path, d, findings, charts, out / "content")
    return data

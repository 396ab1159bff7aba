"""Article drafts (the plan's "content series"): one markdown file per finding in ``content/``.

Each draft is built from the same store and the same :class:`Finding` as the report, so no
number in it is typed by hand: a headline, the quotable numbers with their intervals (the
finding's ``quotes``, each one sentence), the chart, what not to conclude (caveats), the
parameters that drive it with their meaning (from the config's declarations), and a short
excerpt of the narrative — the most consequential story of the kind that illustrates it,
told again from the store for the first seed's run.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from admarket.atomic import atomic_file
from admarket.config import PARAMS
from admarket.money import plural
from admarket.outputs.moments import Moment
from admarket.outputs.narrative import all_moments, rank, tables_from_store
from admarket.report.data import ReportData
from admarket.report.glossary import FINDING_LABELS
from admarket.report.wording import Finding

# finding key → (chart file, scenario and kinds of story that illustrate it)
ILLUSTRATION: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "take_rate": ("fee_extraction.png", "A", ("auction", "clearing")),
    "fee_savings": ("fee_extraction.png", "A", ("clearing",)),
    "net_to_publishers": ("fee_extraction.png", "A", ("clearing",)),
    "goal_attainment": ("goal_achievement.png", "B", ("campaign",)),
    "wrong_facts": ("hallucination_heatmap.png", "B", ("fabrication", "deal")),
    "detection": ("hallucination_heatmap.png", "C", ("fabrication",)),
    "context_rot": ("context_rot.png", "B", ("context_loss", "restart")),
    "ledger_cost": ("cost_per_mille.png", "C", ("deal",)),
    "disputes": ("dispute_outcomes.png", "B", ("deal",)),
}


class _Stories:
    """The stories of each scenario's first-seed run, told once and kept for every draft."""

    def __init__(self, db_path: Path, d: ReportData):
        self.db_path, self.d = db_path, d
        self._cache: dict[str, tuple[dict, list[Moment]]] = {}

    def of(self, scenario: str) -> tuple[dict, list[Moment]]:
        """``(run row, every moment)`` of the first seed's run of ``scenario``."""
        if scenario not in self._cache:
            runs = self.d.runs[self.d.runs["scenario"] == scenario].sort_values(["seed", "run_id"])
            if runs.empty:
                self._cache[scenario] = ({}, [])
            else:
                run = runs.iloc[0].to_dict()
                tables = tables_from_store(self.db_path, str(run["run_id"]))
                moments = [m for ms in all_moments(tables).values() for m in ms]
                self._cache[scenario] = (run, moments)
        return self._cache[scenario]


def _excerpt(stories: _Stories, scenario: str, kinds: tuple[str, ...]) -> str:
    """The top-ranked story of ``kinds`` in the first seed's run of ``scenario``."""
    run, moments = stories.of(scenario)
    pool = [m for m in moments if m.kind in kinds]
    ranked = sorted(rank(pool), key=lambda m: kinds.index(m.kind))  # stable: keeps the rank
    if not ranked:
        return ""
    m = ranked[0]
    quoted = "\n".join(f"> {line}" if line else ">" for line in m.markdown().splitlines())
    return (
        f"## From the run (scenario {scenario}, seed {int(run['seed'])})\n\n{quoted}\n\n"
        f"*Retold from the store: the most consequential story of this kind in run "
        f"`{run['run_id']}` (its narrative log tells it the same way).*\n"
    )


def _assumptions(f: Finding) -> str:
    rows = []
    for name, value in f.depends_on.items():
        p = PARAMS.get(name)
        meaning = p.help if p else ""
        unit = f" ({p.unit})" if p and p.unit else ""
        rows.append(f"| `{name}` | {json.dumps(value)} | {meaning}{unit} |")
    return "| Parameter | Value | What it means |\n|---|---|---|\n" + "\n".join(rows)


def draft(f: Finding, d: ReportData, stories: _Stories) -> str:
    """The markdown draft of one finding."""
    chart, scenario, kinds = ILLUSTRATION.get(f.key, ("", "", ()))
    n = len(d.seeds)
    scope = (
        f"{plural(len(d.runs), 'run')}: scenarios {', '.join(d.scenarios)} × {plural(n, 'seed')}; "
        + ("mean and 95% interval across seeds" if n > 1 else "one seed, no interval")
    )
    parts = [
        f"# {f.headline or f.title}",
        f"*{f.title} — {f.label}: {FINDING_LABELS.get(f.label, '')}*",
        f"*From {scope}.*",
        "## The numbers\n\n" + "\n".join(f"- {q}" for q in f.quotes),
    ]
    if chart:
        parts.append(f"![{f.title}](../charts/{chart})")
    if f.caveats:
        parts.append("## What not to conclude\n\n" + "\n".join(f"- {c}" for c in f.caveats))
    parts.append("## What drives it\n\n" + _assumptions(f))
    if scenario and scenario in d.scenarios:
        excerpt = _excerpt(stories, scenario, kinds)
        if excerpt:
            parts.append(excerpt.rstrip())
    parts.append("## The finding in full\n\n" + f.text)
    parts.append(
        f"*Generated by `admarket report DIR --content` from the run store; every number "
        f"above is in report.json under findings → `{f.key}`.*"
    )
    return "\n\n".join(parts) + "\n"


def write_content(
    db_path: str | Path,
    d: ReportData,
    findings: list[Finding],
    charts: list[tuple[str, str]],
    out_dir: str | Path,
) -> list[Path]:
    """Write ``NN-key.md`` per finding into ``out_dir`` (replacing older drafts); returns
    the paths written."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("*.md"):
        old.unlink()
    paths = []
    stories = _Stories(Path(db_path), d)
    for i, f in enumerate(findings, 1):
        path = out / f"{i:02d}-{f.key.replace('_', '-')}.md"
        with atomic_file(path, "w", encoding="utf-8") as fh:
            fh.write(draft(f, d, stories))
        os.chmod(path, 0o644)  # a draft is meant to be read (mkstemp makes it private)
        paths.append(path)
    return paths

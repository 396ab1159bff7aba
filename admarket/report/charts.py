"""The report's charts (matplotlib, Agg backend, PNG): one per research question.

Every figure shows the mean across seeds with its 95% interval (error bars or a band);
with a single seed it says "n=1, no interval" instead. Scenario colours are fixed hex
values so every chart reads the same way.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only: never needs a display

import matplotlib.pyplot as plt
import numpy as np

from admarket.report.data import ReportData
from admarket.report.stats import CI, mean_ci

COLOURS = {"A": "#d62728", "B": "#ff7f0e", "C": "#2ca02c"}
NAMES = {"A": "A exchange", "B": "B pure A2A", "C": "C ledger A2A"}
_OUTCOME_COLOURS = {
    "agreed": "#2ca02c",
    "underbilled": "#98df8a",
    "auto_accepted": "#1f77b4",
    "split": "#ff7f0e",
    "dispute_ledger": "#9467bd",
    "dispute_unresolved": "#d62728",
}


def _interval_note(d: ReportData) -> str:
    n = len(d.seeds)
    return "n=1, no interval" if n < 2 else f"mean and 95% CI across {n} seeds"


def _err(cis: list[CI], scale: float = 1.0) -> np.ndarray:
    lo = [(c.mean - c.lo) * scale if c.n > 1 else 0.0 for c in cis]
    hi = [(c.hi - c.mean) * scale if c.n > 1 else 0.0 for c in cis]
    return np.nan_to_num(np.array([lo, hi]))


def _save(fig, out: Path, name: str) -> str:
    out.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(out / name, dpi=110)
    plt.close(fig)
    return name


def fee_extraction(d: ReportData, out: Path) -> str:
    """Take rate and net-to-publisher share of gross spend per scenario."""
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.6))
    scen = d.scenarios
    for ax, col, title in (
        (axes[0], "take_rate", "Intermediary take (% of gross spend)"),
        (axes[1], "net_to_publishers", "Net to publishers (USD)"),
    ):
        cis = [d.ci(s, col) for s in scen]
        scale = 100.0 if col == "take_rate" else 1.0
        ax.bar(
            scen,
            [c.mean * scale for c in cis],
            yerr=_err(cis, scale),
            capsize=4,
            color=[COLOURS[s] for s in scen],
        )
        ax.set_title(title, fontsize=10)
    fig.suptitle(f"Fee extraction by scenario ({_interval_note(d)})", fontsize=10)
    return _save(fig, out, "fee_extraction.png")


def goal_achievement(d: ReportData, out: Path) -> str:
    """Share of campaigns hitting impression / CPM goals and mean goal attainment."""
    metrics = (
        ("hit_imp", "hit impression goal"),
        ("hit_cpm", "hit CPM goal"),
        ("mean_goal_attainment", "mean goal attainment"),
    )
    fig, ax = plt.subplots(figsize=(8, 3.8))
    x = np.arange(len(metrics))
    w = 0.8 / max(1, len(d.scenarios))
    for i, s in enumerate(d.scenarios):
        cis = [d.ci(s, col) for col, _ in metrics]
        _bars(ax, x + i * w, cis, w, s)
    ax.set_xticks(x + w * (len(d.scenarios) - 1) / 2, [m[1] for m in metrics])
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("share / score")
    ax.legend(fontsize=8)
    ax.set_title(f"Campaign goal achievement ({_interval_note(d)})", fontsize=10)
    return _save(fig, out, "goal_achievement.png")


def _bars(ax, x: np.ndarray, cis: list, width: float, scenario: str) -> None:
    """One scenario's bars: means with their 95% intervals as error bars."""
    ax.bar(
        x,
        [c.mean for c in cis],
        width,
        yerr=_err(cis),
        capsize=3,
        color=COLOURS[scenario],
        label=NAMES[scenario],
    )


def context_rot(d: ReportData, out: Path) -> str:
    """Per day: goal attainment (the plan's curve) and the share of facts acted on that were
    wrong (the rot itself), per scenario, mean with a 95% band."""
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.8))
    panels = (
        ("daily_goal_attainment", "daily goal attainment", 1.0),
        ("wrong_fact_share", "% of facts acted on that were wrong", 100.0),
    )
    for ax, (col, label, scale) in zip(axes, panels, strict=True):
        for s in d.scenarios:
            g = d.daily[d.daily["scenario"] == s]
            days = sorted(g["simulation_day"].unique())
            cis = [mean_ci(g[g["simulation_day"] == k][col]) for k in days]
            x = np.array(days) + 1
            ax.plot(x, [c.mean * scale for c in cis], color=COLOURS[s], label=NAMES[s])
            if len(d.seeds) > 1:
                ax.fill_between(
                    x,
                    [c.lo * scale for c in cis],
                    [c.hi * scale for c in cis],
                    color=COLOURS[s],
                    alpha=0.2,
                )
        ax.set_xlabel("simulation day")
        ax.set_ylabel(label)
    axes[0].legend(fontsize=8)
    fig.suptitle(f"Context-rot impact over the run ({_interval_note(d)})", fontsize=10)
    return _save(fig, out, "context_rot.png")


def hallucination_heatmap(d: ReportData, out: Path) -> str:
    """Share of claims graded wrong: rows scenario × agent type, columns claim type."""
    c = d.claims
    rows = [(s, a) for s in d.scenarios for a in sorted(c["agent_type"].dropna().unique())]
    cols = sorted(c["claim_type"].dropna().unique())
    mean = np.full((len(rows), len(cols)), np.nan)
    label = [["" for _ in cols] for _ in rows]
    for i, (s, a) in enumerate(rows):
        for j, k in enumerate(cols):
            g = c[(c["scenario"] == s) & (c["agent_type"] == a) & (c["claim_type"] == k)]
            if g.empty or not g["n"].sum():
                continue
            ci = mean_ci(g["wrong"] / g["n"])
            mean[i, j] = ci.mean * 100
            band = "" if ci.n < 2 else f"\n[{ci.lo * 100:.1f}–{ci.hi * 100:.1f}]"
            label[i][j] = f"{ci.mean * 100:.1f}%{band}"
    fig, ax = plt.subplots(figsize=(1.4 * len(cols) + 2.5, 0.7 * len(rows) + 1.6))
    im = ax.imshow(mean, cmap="Reds", vmin=0, aspect="auto")
    for i in range(len(rows)):
        for j in range(len(cols)):
            ax.text(j, i, label[i][j] or "–", ha="center", va="center", fontsize=7)
    ax.set_xticks(range(len(cols)), cols, fontsize=8)
    ax.set_yticks(range(len(rows)), [f"{s} {a}" for s, a in rows], fontsize=8)
    fig.colorbar(im, ax=ax, label="% of claims wrong")
    ax.set_title(f"Hallucinated claims ({_interval_note(d)}; – = none made)", fontsize=10)
    return _save(fig, out, "hallucination_heatmap.png")


def cost_per_mille(d: ReportData, out: Path) -> str:
    """Intermediary / agent fees and ledger cost per 1,000 impressions (log scale)."""
    bars: list[tuple[str, CI, str]] = []
    if "A" in d.scenarios:
        bars.append(("A exchange fees", d.ci("A", "exchange_fee_per_mille"), COLOURS["A"]))
    for s in ("B", "C"):
        if s in d.scenarios:
            bars.append((f"{s} agent fees", d.ci(s, "agent_fee_per_mille"), COLOURS[s]))
    if "C" in d.scenarios:
        bars.append(("C ledger (run)", d.ci("C", "ledger_cost_per_mille"), "#17becf"))
        bars.append(("C ledger unbatched", d.ci("C", "ledger_unbatched_cost_per_mille"), "#7f7f7f"))
    fig, ax = plt.subplots(figsize=(8, 3.8))
    names = [b[0] for b in bars]
    cis = [b[1] for b in bars]
    ax.bar(
        names,
        [max(c.mean, 1e-9) for c in cis],
        yerr=_err(cis),
        capsize=4,
        color=[b[2] for b in bars],
    )
    for i, c in enumerate(cis):
        ax.text(i, max(c.mean, 1e-9), f"${c.mean:.4g}", ha="center", va="bottom", fontsize=8)
    ax.set_yscale("log")
    ax.set_ylabel("USD per 1,000 impressions")
    ax.tick_params(axis="x", labelsize=8)
    ax.set_title(f"Ledger cost vs exchange fee per 1,000 ({_interval_note(d)})", fontsize=10)
    return _save(fig, out, "cost_per_mille.png")


def dispute_outcomes(d: ReportData, out: Path) -> str:
    """Settlement outcomes per run (deal-days) by scenario, mean with 95% CI."""
    st = d.settlements
    scen = [s for s in d.scenarios if s in set(st["scenario"])] or d.scenarios
    outcomes = [o for o in _OUTCOME_COLOURS if o in set(st["outcome"])]
    fig, ax = plt.subplots(figsize=(8, 3.8))
    x = np.arange(len(outcomes))
    w = 0.8 / max(1, len(scen))
    for i, s in enumerate(scen):
        cis = []
        for o in outcomes:
            per = {k: 0.0 for k in d.seeds}
            g = st[(st["scenario"] == s) & (st["outcome"] == o)]
            per.update({int(k): float(v) for k, v in zip(g["seed"], g["n"], strict=True)})
            cis.append(mean_ci(per.values()))
        _bars(ax, x + i * w, cis, w, s)
    ax.set_xticks(x + w * (len(scen) - 1) / 2, [o.replace("_", " ") for o in outcomes])
    ax.tick_params(axis="x", labelsize=8)
    ax.set_yscale("symlog")
    ax.set_ylabel("deal-days per run")
    if outcomes:
        ax.legend(fontsize=8)
    ax.set_title(f"Settlement and dispute outcomes ({_interval_note(d)})", fontsize=10)
    return _save(fig, out, "dispute_outcomes.png")


CHARTS = (
    (fee_extraction, "Fee extraction by scenario"),
    (goal_achievement, "Campaign goal achievement"),
    (context_rot, "Daily goal attainment over the run (context-rot impact)"),
    (hallucination_heatmap, "Hallucination heatmap: scenario × agent type × claim type"),
    (cost_per_mille, "Ledger cost vs exchange fee per 1,000 impressions"),
    (dispute_outcomes, "Dispute outcomes"),
)


def draw_all(d: ReportData, out: Path) -> list[tuple[str, str]]:
    """Draw every chart into ``out``; returns ``(file name, caption)`` pairs."""
    return [(fn(d, out), caption) for fn, caption in CHARTS]

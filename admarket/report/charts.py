"""The report's charts (matplotlib, Agg backend, PNG): one per research question.

Every figure shows the mean across seeds with its 95% interval (error bars or a band),
cut to what the quantity can take (a share stays in [0, 100%], a count at or above zero);
with a single seed it says "n=1, no interval" instead. An end so cut is the bound, not an
estimate, and is marked as such (a ▼ or ▲ on an error bar, a * in a heatmap cell, a note
on a band), with a line in the title saying what the mark means, as the text report marks
it "(clipped)". Scenario colours are fixed hex
values so every chart reads the same way; every panel that draws scenarios has a legend;
labels use the glossary's words; money is written without scientific notation. What
every chart is drawn with (colours, error bars and their cut marks, saving) is
:mod:`.chart_parts`.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from admarket.money import usd_auto, usd_short
from admarket.report.chart_parts import (
    COLOURS,
    NAMES,
    axis_format,
    cut_ends,
    cut_note,
    error_bars,
    interval_note,
    legend_below,
    mark_cut_ends,
    pyplot,
    save_chart,
    whole_number_ticks,
)
from admarket.report.data import ReportData, has
from admarket.report.glossary import GLOSSARY, label
from admarket.report.stats import CI, mean_ci

_OUTCOME_COLOURS = {
    "agreed": "#2ca02c",
    "underbilled": "#98df8a",
    "auto_accepted": "#1f77b4",
    "split": "#ff7f0e",
    "dispute_ledger": "#9467bd",
    "dispute_unresolved": "#d62728",
}
CAPTIONS = {
    "fee": "Fee extraction by scenario",
    "goal": "Campaign goal achievement",
    "rot": "Daily goal attainment over the run (context-rot impact)",
    "heatmap": "Claims that were wrong: scenario × agent type × claim type",
    "cost": "Ledger cost vs exchange fee per 1,000 impressions",
    "disputes": "Dispute outcomes",
}


def fee_extraction(d: ReportData, out: Path) -> str:
    """Take rate and net to publishers per scenario."""
    fig, axes = pyplot().subplots(1, 2, figsize=(9, 3.8))
    scen = d.scenarios
    cut_low = False
    for ax, col, title in (
        (axes[0], "take_rate", "Take rate (% of gross spend)"),
        (axes[1], "net_to_publishers", "Net to publishers per run (USD)"),
    ):
        cis = [d.ci(s, col) for s in scen]
        scale = 100.0 if col == "take_rate" else 1.0
        ax.bar(
            range(len(scen)),
            [c.mean * scale for c in cis],
            yerr=error_bars(cis, scale, lo=0.0),
            capsize=4,
            color=[COLOURS[s] for s in scen],
            tick_label=[NAMES[s] for s in scen],
        )
        cut = mark_cut_ends(ax, range(len(scen)), *cut_ends(cis, scale, lo=0.0))
        cut_low = cut_low or cut[0]
        ax.set_title(title, fontsize=10)
        ax.tick_params(axis="x", labelsize=8)
        if col == "net_to_publishers":
            ax.yaxis.set_major_formatter(axis_format(usd_short))
        else:
            ax.yaxis.set_major_formatter(axis_format(lambda v, _p: f"{v:g}%"))
    note = cut_note(cut_low, False)
    fig.suptitle(
        f"Fee extraction by scenario ({interval_note(d)})" + (f"\n{note}" if note else ""),
        fontsize=10,
    )
    return save_chart(fig, out, "fee_extraction.png")


# the goal chart's y axis holds shares of two different things and a score, all 0–1
GOAL_YLABEL = "share of campaigns or of avails,\nor score (0–1)"


def _unit_0_1(term: str) -> str:
    """The glossary unit of ``term`` as a 0–1 axis reads it: "% of campaigns" → "share of
    campaigns", "score 0–1" → "score"."""
    unit = GLOSSARY[term].unit
    return "score" if unit.startswith("score") else unit.replace("% of", "share of")


def goal_achievement(d: ReportData, out: Path) -> str:
    """Shares of campaigns hitting each goal, fill rate and mean goal attainment."""
    # each group's tick says what its 0–1 value is (the glossary's unit, on a 0–1 axis):
    # a hit rate is a share of campaigns, the fill rate a share of avails, attainment a score
    metrics = tuple(
        (col, f"{label(term)}\n({_unit_0_1(term)})")
        for col, term in (
            ("hit_imp", "hit_impression_goal"),
            ("hit_cpm", "hit_cpm_goal"),
            ("hit_kpi", "hit_kpi_goal"),
            ("fill_rate", "fill_rate"),
            ("mean_goal_attainment", "mean_goal_attainment"),
        )
    )
    fig, ax = pyplot().subplots(figsize=(9, 4.6))
    x = np.arange(len(metrics))
    w = 0.8 / max(1, len(d.scenarios))
    cut = (False, False)
    for i, s in enumerate(d.scenarios):
        cis = [d.ci(s, col) for col, _ in metrics]
        cut = _or(cut, _bars(ax, x + i * w, cis, w, s, lo=0.0, hi=1.0))
    ax.set_xticks(x + w * (len(d.scenarios) - 1) / 2, [m[1].replace(" ", "\n", 1) for m in metrics])
    ax.tick_params(axis="x", labelsize=8)
    ax.set_ylim(0, 1.05)
    ax.set_ylabel(GOAL_YLABEL)
    legend_below(ax, below=-0.21)  # under three lines of tick labels
    note = cut_note(*cut)
    title = f"Campaign goal achievement ({interval_note(d)})"
    ax.set_title(title + (f"\n{note}" if note else ""), fontsize=10)
    return save_chart(fig, out, "goal_achievement.png")


def _or(a: tuple[bool, bool], b: tuple[bool, bool]) -> tuple[bool, bool]:
    return (a[0] or b[0], a[1] or b[1])


def _bars(
    ax, x: np.ndarray, cis: list, width: float, scenario: str, **cut: float
) -> tuple[bool, bool]:
    """One scenario's bars: means with their 95% intervals as error bars, the ends cut at
    a bound marked (:func:`mark_cut_ends`; whether any lower and any upper end was)."""
    ax.bar(
        x,
        [c.mean for c in cis],
        width,
        yerr=error_bars(cis, **cut),
        capsize=3,
        color=COLOURS[scenario],
        label=NAMES[scenario],
    )
    return mark_cut_ends(ax, list(x), *cut_ends(cis, **cut))


def context_rot(d: ReportData, out: Path) -> str:
    """Per day: goal attainment (the plan's curve) and the share of claims that were wrong
    (the rot itself), per scenario, mean with a 95% band."""
    fig, axes = pyplot().subplots(1, 2, figsize=(11, 4.4))
    panels = (
        ("daily_goal_attainment", "goal attainment to date (0–1)", 1.0, d.scenarios),
        (
            "wrong_claim_share",
            "% of claims that were wrong",
            100.0,
            [s for s in d.scenarios if has(s, "volatile_memory")],
        ),
    )
    bounds = (("0", "1"), ("0%", "100%"))  # the panels' 0 and 1, as their axes read them
    notes: list[str] = []
    for ax, (col, ylabel, scale, scen) in zip(axes, panels, strict=True):
        cut = (False, False)
        for s in scen:
            g = d.daily[d.daily["scenario"] == s]
            days = sorted(g["simulation_day"].unique())
            cis = [mean_ci(g[g["simulation_day"] == k][col]).clipped() for k in days]
            xs = np.array(days) + 1
            ax.plot(xs, [c.mean * scale for c in cis], color=COLOURS[s], label=NAMES[s])
            if len(d.seeds) > 1:
                cut = _or(cut, (any(c.lo_cut for c in cis), any(c.hi_cut for c in cis)))
                ax.fill_between(
                    xs,
                    [c.lo * scale for c in cis],
                    [c.hi * scale for c in cis],
                    color=COLOURS[s],
                    alpha=0.15,
                )
        ax.set_xlabel("simulation day (day 1 = first day)")
        # a day is a whole number: a short run's automatic ticks fell between days (1.5)
        ax.xaxis.set_major_locator(whole_number_ticks())
        ax.set_ylabel(ylabel)
        if scen:
            legend_below(ax)
        # a band is drawn day by day: a note, not a mark on every day it meets the bound
        low, high = bounds[len(notes)]
        words = [w for w, c in zip((low, high), cut, strict=True) if c]
        notes.append(
            f"\nband cut at {' and '.join(words)} where it meets it (the bound, not an estimate)"
            if words
            else ""
        )
    axes[0].set_title("Goal attainment of live campaigns" + notes[0], fontsize=9)
    note = (
        "" if all(has(s, "volatile_memory") for s in d.scenarios) else " (A has no memory to lose)"
    )
    axes[1].set_title("The rot: claims that were wrong" + note + notes[1], fontsize=9)
    # both from 0: an axis starting near the lowest value made a small drift look like a
    # collapse; attainment is a 0–1 score, drawn over all of it
    axes[0].set_ylim(0, 1.05)
    axes[1].set_ylim(bottom=0)
    fig.suptitle(f"Context-rot impact over the run ({interval_note(d)})", fontsize=10)
    return save_chart(fig, out, "context_rot.png")


def _text_colour(value: float, vmax: float, cmap) -> str:
    """Black or white, whichever reads better on the cell's colour."""
    from matplotlib.colors import to_rgb  # matplotlib: imported where used (see pyplot)

    r, g, b = to_rgb(cmap(value / vmax if vmax else 0.0))
    return "white" if 0.299 * r + 0.587 * g + 0.114 * b < 0.55 else "black"


def hallucination_heatmap(d: ReportData, out: Path) -> str:
    """Share of claims graded wrong: rows scenario × agent type, columns claim type."""
    c = d.claims
    agents = sorted(c["agent_type"].dropna().unique())
    have_claims = {
        (s, a) for s, a, n in zip(c["scenario"], c["agent_type"], c["n"], strict=True) if n
    }
    rows = [(s, a) for s in d.scenarios for a in agents if (s, a) in have_claims]
    cols = sorted(c["claim_type"].dropna().unique())
    mean = np.full((max(1, len(rows)), max(1, len(cols))), np.nan)
    text = [["" for _ in cols] for _ in rows]
    cut_any = False
    for i, (s, a) in enumerate(rows):
        for j, k in enumerate(cols):
            g = c[(c["scenario"] == s) & (c["agent_type"] == a) & (c["claim_type"] == k)]
            if g.empty or not g["n"].sum():
                continue
            ci = mean_ci(g["wrong"] / g["n"]).clipped()
            mean[i, j] = ci.mean * 100
            lo, hi = f"{ci.lo * 100:.1f}", f"{ci.hi * 100:.1f}"
            band = "" if ci.n < 2 or math.isnan(ci.lo) or lo == hi else f"\n[{lo}–{hi}]"
            if band and (ci.lo_cut or ci.hi_cut):  # an end cut at 0% or 100%: starred
                cut_any = True
                lo += "*" if ci.lo_cut else ""
                hi += "*" if ci.hi_cut else ""
                band = f"\n[{lo}–{hi}]"
            text[i][j] = f"{ci.mean * 100:.1f}%{band}"
    fig, ax = pyplot().subplots(figsize=(1.4 * len(cols) + 2.5, 0.7 * len(rows) + 1.8))
    cmap = pyplot().get_cmap("Reds")
    vmax = max(1.0, float(np.nanmax(mean)) if np.isfinite(mean).any() else 1.0)
    im = ax.imshow(mean, cmap=cmap, vmin=0, vmax=vmax, aspect="auto")
    for i in range(len(rows)):
        for j in range(len(cols)):
            v = mean[i, j]
            colour = "black" if math.isnan(v) else _text_colour(v, vmax, cmap)
            ax.text(j, i, text[i][j] or "–", ha="center", va="center", fontsize=7, color=colour)
    ax.set_xticks(range(len(cols)), cols, fontsize=8)
    ax.set_yticks(range(len(rows)), [f"{s} {a}s" for s, a in rows], fontsize=8)
    ax.set_xlabel("claim type (what the fact was about)", fontsize=8)
    fig.colorbar(im, ax=ax, label="% of claims that were wrong")
    note = "\n* interval end cut at 0% or 100% (the bound, not an estimate)" if cut_any else ""
    ax.set_title(
        f"Claims that were wrong ({interval_note(d)}; – = no claim of that type){note}",
        fontsize=10,
    )
    return save_chart(fig, out, "hallucination_heatmap.png")


def _log_tick(v: float, _pos: object = None) -> str:
    """A log-axis money tick with no trailing zeros: ``$0.0001``, ``$1``, ``$100``."""
    if v <= 0:
        return "$0"
    return f"${v:,.{max(0, -math.floor(math.log10(v) + 1e-9))}f}"


def cost_per_mille(d: ReportData, out: Path) -> str:
    """Intermediary / agent fees and ledger cost per 1,000 impressions (log scale)."""
    bars: list[tuple[str, CI, str]] = []
    if "A" in d.scenarios:
        bars.append(("A exchange fees", d.ci("A", "exchange_fee_per_mille"), COLOURS["A"]))
    for s in ("B", "C"):
        if s in d.scenarios:
            bars.append((f"{s} agent fees", d.ci(s, "agent_fee_per_mille"), COLOURS[s]))
    if "C" in d.scenarios:
        bars.append(
            ("C ledger\n(this run, batched)", d.ci("C", "ledger_cost_per_mille"), "#17becf")
        )
        bars.append(
            (
                "C ledger if unbatched\n(cost model)",
                d.ci("C", "ledger_unbatched_cost_per_mille"),
                "#7f7f7f",
            )
        )
    fig, ax = pyplot().subplots(figsize=(9, 4.2))
    names = [b[0] for b in bars]
    cis = [b[1] for b in bars]
    heights = [max(c.mean, 1e-9) for c in cis]
    ax.bar(names, heights, yerr=error_bars(cis, lo=1e-9), capsize=4, color=[b[2] for b in bars])
    # a cost cannot be below $0: the log axis' floor (1e-9) stands for it
    cut = mark_cut_ends(ax, range(len(cis)), *cut_ends(cis, lo=1e-9))
    for i, c in enumerate(cis):
        ax.text(i, heights[i] * 1.6, usd_auto(c.mean), ha="center", va="bottom", fontsize=8)
    ax.set_yscale("log")
    ax.set_ylim(top=max(heights) * 30)
    ax.yaxis.set_major_formatter(axis_format(_log_tick))
    ax.set_ylabel("USD per 1,000 impressions (log scale)")
    ax.tick_params(axis="x", labelsize=8)
    note = cut_note(cut[0], False, low="$0")
    title = f"Ledger cost vs exchange fee per 1,000 ({interval_note(d)})"
    ax.set_title(title + (f"\n{note}" if note else ""), fontsize=10)
    return save_chart(fig, out, "cost_per_mille.png")


def dispute_outcomes(d: ReportData, out: Path) -> str:
    """Settlement outcomes per run (deal-days) by scenario, mean with 95% CI."""
    st = d.settlements
    scen = [s for s in d.scenarios if has(s, "reconciliation")] or d.scenarios
    outcomes = [o for o in _OUTCOME_COLOURS if o in set(st["outcome"])]
    fig, ax = pyplot().subplots(figsize=(9, 4.2))
    x = np.arange(len(outcomes))
    w = 0.8 / max(1, len(scen))
    cut = (False, False)
    for i, s in enumerate(scen):
        cis = []
        for o in outcomes:
            per = {k: 0.0 for k in d.seeds}
            g = st[(st["scenario"] == s) & (st["outcome"] == o)]
            per.update({int(k): float(v) for k, v in zip(g["seed"], g["n"], strict=True)})
            cis.append(mean_ci(per.values()))
        cut = _or(cut, _bars(ax, x + i * w, cis, w, s, lo=0.0))
    ax.set_xticks(x + w * (len(scen) - 1) / 2, [o.replace("_", " ") for o in outcomes])
    ax.tick_params(axis="x", labelsize=8)
    ax.set_yscale("symlog", linthresh=1.0)
    ax.set_ylim(bottom=0)
    ax.set_ylabel("deal-days per run (log scale)")
    if outcomes:
        legend_below(ax)
    note = "; A: the exchange settles each lot" if "A" in d.scenarios else ""
    title = f"Settlement and dispute outcomes ({interval_note(d)}{note})"
    ax.set_title(title + (f"\n{cut_note(*cut)}" if cut[0] else ""), fontsize=10)
    return save_chart(fig, out, "dispute_outcomes.png")


CHARTS = (
    (fee_extraction, CAPTIONS["fee"]),
    (goal_achievement, CAPTIONS["goal"]),
    (context_rot, CAPTIONS["rot"]),
    (hallucination_heatmap, CAPTIONS["heatmap"]),
    (cost_per_mille, CAPTIONS["cost"]),
    (dispute_outcomes, CAPTIONS["disputes"]),
)


def draw_all(d: ReportData, out: Path) -> list[tuple[str, str]]:
    """Draw every chart into ``out``; returns ``(file name, caption)`` pairs."""
    return [(fn(d, out), caption) for fn, caption in CHARTS]

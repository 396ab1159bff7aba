"""What every chart of the report is drawn with: the scenarios' fixed colours and names,
matplotlib imported on first use (:func:`pyplot`), tick formats, error bars cut to what a
quantity can take and the marks and note that say where they were cut, a legend under the
axes, and saving a chart as PNG.

The report's own charts (:mod:`.charts`), its drivers' chart (:mod:`.drivers`) and its
break-even chart (:mod:`.break_even`) share these, so that every chart reads the same way.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from admarket.report.data import ReportData
from admarket.report.stats import CI

COLOURS = {"A": "#d62728", "B": "#ff7f0e", "C": "#2ca02c"}
NAMES = {"A": "A exchange", "B": "B pure A2A", "C": "C ledger A2A"}


@functools.cache
def pyplot() -> Any:
    """``matplotlib.pyplot`` on the Agg backend (files only: never needs a display),
    imported on first use. Matplotlib costs about as much to import as Mesa, and only the
    commands that draw need it: ``admarket run`` without ``--out`` draws nothing."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def axis_format(fn: Callable[[float, Any], str]) -> Any:
    """A matplotlib tick formatter calling ``fn(value, position)`` (imported on first use)."""
    from matplotlib.ticker import FuncFormatter

    return FuncFormatter(fn)


def whole_number_ticks() -> Any:
    """A matplotlib tick locator that puts ticks on whole numbers only (imported on first
    use)."""
    from matplotlib.ticker import MaxNLocator

    return MaxNLocator(integer=True)


def interval_note(d: ReportData) -> str:
    """What a chart's intervals are, for its title: the mean and 95% CI across the seeds, or
    that one seed has none."""
    n = len(d.seeds)
    return "n=1, no interval" if n < 2 else f"mean and 95% CI across {n} seeds"


def error_bars(
    cis: list[CI], scale: float = 1.0, lo: float = -math.inf, hi: float = math.inf
) -> np.ndarray:
    """Error-bar half-lengths of ``cis`` (× ``scale``), the bars cut to [lo, hi]."""
    down, up = [], []
    for c in cis:
        if c.n > 1 and not math.isnan(c.lo):
            c = c.clipped(lo, hi)
            # from the mean, where the bar ends; an interval cut above a mean below ``lo``
            # (0 on a log axis, where such a bar is drawn at ``lo``) has no part below it
            down.append(max(0.0, c.mean - c.lo) * scale)
            up.append(max(0.0, c.hi - c.mean) * scale)
        else:
            down.append(0.0)
            up.append(0.0)
    return np.nan_to_num(np.array([down, up]))


def cut_ends(
    cis: list[CI], scale: float = 1.0, lo: float = -math.inf, hi: float = math.inf
) -> tuple[list[float | None], list[float | None]]:
    """Where ``error_bars(cis, scale, lo, hi)``'s bars end at a bound they were cut to: per
    interval the cut lower end's height (× ``scale``) or None, and the same for upper ends."""
    lows: list[float | None] = []
    highs: list[float | None] = []
    for c in cis:
        if c.n > 1 and not math.isnan(c.lo):
            c = c.clipped(lo, hi)
            lows.append(c.lo * scale if c.lo_cut else None)
            highs.append(c.hi * scale if c.hi_cut else None)
        else:
            lows.append(None)
            highs.append(None)
    return lows, highs


CUT_ZORDER = 10  # a cut end's mark, above the dots, bars and caps (errorbar: 2-3)


def mark_cut_ends(
    ax: Any, xs: Sequence[float], lows: Sequence[float | None], highs: Sequence[float | None]
) -> tuple[bool, bool]:
    """Mark the interval ends cut at a bound the quantity cannot cross: a small black ▼ at
    each ``(x, low)`` with a ``low`` (None: not cut), a ▲ at each ``(x, high)``. The bar or
    band stops at the bound, which is not an estimate; unmarked it reads as one (the text
    report marks the same ends "(clipped)"). Returns whether any lower and any upper end
    was marked, for the chart's note (:func:`cut_note`)."""
    marked = []
    for ends, marker in ((lows, "v"), (highs, "^")):
        at = [(x, y) for x, y in zip(xs, ends, strict=True) if y is not None]
        if at:
            px, py = zip(*at, strict=True)
            # not clipped by the axes: a bound is often the axis' own limit (0, 1); above
            # every series' dots and bars (zorder), edged in white so a dot under it at the
            # same place (another scenario's mean at 0) cannot hide it
            ax.plot(
                px,
                py,
                linestyle="none",
                marker=marker,
                markersize=6,
                color="black",
                markeredgecolor="white",
                markeredgewidth=0.6,
            )[0].set(clip_on=False, zorder=CUT_ZORDER, label="_cut")
        marked.append(bool(at))
    return marked[0], marked[1]


def cut_note(lower: bool, upper: bool, low: str = "0", high: str = "1") -> str:
    """The note saying what :func:`mark_cut_ends`' marks mean ("" when nothing was cut):
    ``low`` and ``high`` are the bounds as the axis reads them."""
    parts = [f"▼ interval cut at {low}"] if lower else []
    parts += [f"▲ cut at {high}"] if upper else []
    return "; ".join(parts) + " (the bound, not an estimate)" if parts else ""


def legend_below(ax: Any, ncol: int = 3, below: float = -0.16) -> None:
    """A legend under the axes (its top ``below`` × the axes' height under them), where it
    cannot cover bars or interval caps."""
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, below), ncol=ncol, frameon=False)


def save_chart(fig: Any, out: Path, name: str) -> str:
    """Save ``fig`` as the PNG ``out/name`` (``out`` made if need be), close it, and return
    ``name``."""
    out.mkdir(parents=True, exist_ok=True)
    # laid out while it is drawn for the file: one pass (a tight_layout() call first measured
    # every text at screen resolution in a pass of its own, a fifth of a chart's cost)
    fig.set_layout_engine("tight")
    fig.savefig(out / name, dpi=110)
    pyplot().close(fig)
    return name

"""Across-seed statistics for reports and sweeps: mean with a t-based 95% interval.

Seeds are independent replications, so a metric's mean across seeds gets a Student-t 95%
interval (SciPy's Student-t quantile, ``scipy.special.stdtrit``: what ``scipy.stats.t.ppf``
computes, without importing scipy.stats). Scenarios share each
seed's demand and supply (common random numbers), so a difference between two scenarios is
taken seed by seed and its interval is the paired one — much tighter than comparing two
separate intervals. Words such as "higher" or "lower" are derived from the interval, never
written in advance; an interval that contains zero reads "no significant difference".

A quantity that cannot cross a bound (a share below 0% or above 100%, an amount below $0)
gets its interval cut there (:meth:`CI.clipped`). With few seeds, most of them at the bound
(C's wrong-fact share), the uncertainty is skewed and the symmetric interval passes the
bound; the cut end is then the bound, not an estimate, so it is printed marked
:data:`CLIPPED` rather than as if it were one. (Neither usual alternative is honest here: a
percentile bootstrap over 3–10 seeds cannot reach past the seeds' own range, and a Wilson
interval over the claims pooled across seeds ignores how much the seeds differ.)
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np
from scipy.special import stdtrit

# how the report marks an interval end cut to a bound (see the module's docstring)
CLIPPED = " (clipped)"


def t975(df: int) -> float:
    """Student-t 0.975 quantile for ``df`` degrees of freedom (SciPy, which Mesa brings).

    ``stdtrit(df, q)`` is exactly ``scipy.stats.t.ppf(q, df)`` for ``df`` ≥ 1 (that method
    calls it), without the import of scipy.stats, which costs more than a plan-scale run.
    """
    return float(stdtrit(df, 0.975)) if df >= 1 else math.nan


@dataclass(frozen=True)
class CI:
    """Mean of ``n`` values and its 95% interval (NaN bounds when n < 2); ``lo_cut`` and
    ``hi_cut`` say that end was cut to a bound the quantity cannot cross (:meth:`clipped`)."""

    mean: float
    lo: float
    hi: float
    n: int
    lo_cut: bool = False
    hi_cut: bool = False

    @property
    def half(self) -> float:
        """Half-width of the interval (NaN when there is none)."""
        return (self.hi - self.lo) / 2

    @property
    def has_width(self) -> bool:
        """Whether there is an interval to judge a verdict by: two seeds or more that do not
        all agree. One seed has no interval; seeds that all give the same value give a t
        interval of zero width, which carries no information on how much seeds can differ."""
        return self.n >= 2 and not math.isnan(self.lo) and self.hi > self.lo

    @property
    def spans_zero(self) -> bool:
        """Whether the interval contains zero (a difference that is not significant)."""
        return self.n >= 2 and not math.isnan(self.lo) and self.lo <= 0 <= self.hi

    def show(self, one: Callable[[float], str], diff: bool = False, zero_note: bool = True) -> str:
        """``mean [95% CI lo, hi]`` with each number written by ``one``.

        A constant (the interval's ends read the same as the mean) prints the number
        alone: an interval of zero width says nothing. With ``diff``, a difference whose
        interval contains zero is marked "not significant" (one that is zero on every seed
        reads "no difference on any seed", or just the number without ``zero_note``). A
        single value says "n=1, no interval". An end cut to a bound (:meth:`clipped`) is
        marked :data:`CLIPPED`.
        """
        if not self.n or math.isnan(self.mean):
            return "n/a"
        m = one(self.mean)
        if self.n < 2 or math.isnan(self.lo):
            return f"{m} (n={self.n}, no interval)"
        lo, hi = one(self.lo), one(self.hi)
        if lo == hi == m:
            if diff and self.lo == self.hi == 0:
                return f"{m} (no difference on any seed)" if zero_note else m
            return f"{m} (not significant)" if diff and self.spans_zero else m
        lo += CLIPPED if self.lo_cut else ""
        hi += CLIPPED if self.hi_cut else ""
        text = f"{m} [95% CI {lo}, {hi}]"
        if diff and self.spans_zero:
            text += " (not significant)"
        return text

    def fmt(
        self,
        spec: str = ",.2f",
        scale: float = 1.0,
        unit: str = "",
        pre: str = "",
        diff: bool = False,
    ) -> str:
        """``mean [95% CI lo, hi]`` (see :meth:`show`); values × ``scale`` in ``spec``.

        ``pre`` and ``unit`` wrap each number (e.g. ``pre="$"``, ``unit="%"``); a minus
        sign goes before ``pre`` (``-$12``).
        """

        def one(x: float) -> str:
            v = x * scale
            text = f"{abs(v):{spec}}" if pre else f"{v:{spec}}"
            if set(text) <= set("+-0.,"):  # rounds to zero: no "-0.0"
                text = text.replace("-", "+" if "+" in spec else "")
            elif pre and v < 0:
                return f"-{pre}{text.lstrip('+')}{unit}"
            return f"{pre}{text}{unit}"

        return self.show(one, diff)

    def to_dict(self) -> dict[str, float | int | bool | None]:
        """JSON-friendly dict (NaN becomes None). ``lo_cut``/``hi_cut`` say that end is a
        bound the interval was cut at (:meth:`clipped`), not an estimate: what the text
        marks :data:`CLIPPED` and the charts ▼/▲, so a reader of the JSON knows it too."""

        def clean(x: float) -> float | None:
            return None if math.isnan(x) else float(x)

        return {
            "mean": clean(self.mean),
            "lo": clean(self.lo),
            "hi": clean(self.hi),
            "n": self.n,
            "lo_cut": self.lo_cut,
            "hi_cut": self.hi_cut,
        }

    def clipped(self, lo: float = 0.0, hi: float = 1.0) -> CI:
        """The interval cut to a metric's possible range (a share cannot pass 0 or 100%),
        each end that was cut marked as such (``lo_cut``, ``hi_cut``: they stay marked
        when cut again)."""
        if math.isnan(self.lo):
            return self
        return CI(
            self.mean,
            max(lo, self.lo),
            min(hi, self.hi),
            self.n,
            self.lo_cut or self.lo < lo,
            self.hi_cut or self.hi > hi,
        )


def mean_ci(values: Iterable[float]) -> CI:
    """Mean and t-based 95% interval of the finite ``values``."""
    x = np.asarray([v for v in values if v is not None], dtype=float)
    x = x[np.isfinite(x)]
    n = int(x.size)
    if n == 0:
        return CI(math.nan, math.nan, math.nan, 0)
    m = float(x.mean())
    if n < 2:
        return CI(m, math.nan, math.nan, n)
    if x.max() == x.min():
        # the same value on every seed: the interval is that value, of zero width (the
        # mean and std of equal floats can round off it, which would read as a real width)
        v = float(x[0])
        return CI(v, v, v, n)
    h = t975(n - 1) * float(x.std(ddof=1)) / math.sqrt(n)
    return CI(m, m - h, m + h, n)


def paired_diff(a: dict[int, float], b: dict[int, float]) -> CI:
    """Mean of ``a[seed] − b[seed]`` over the seeds both have, with its 95% interval."""
    seeds = sorted(set(a) & set(b))
    return mean_ci(a[s] - b[s] for s in seeds)


def direction(d: CI, more: str = "higher", less: str = "lower") -> str:
    """``more``/``less`` when the interval excludes zero, else "no significant difference".

    A verdict needs an interval with width (:attr:`CI.has_width`): with one seed, or the same
    value on every seed (other than zero), it is "no verdict" and says why — a sign alone,
    or a zero-width interval, says nothing about how far another seed could fall. Zero on
    every seed reads "no difference on any seed", as :meth:`CI.show` writes it.
    """
    if d.n == 0 or math.isnan(d.mean):
        return "not measurable"
    if d.n < 2:
        return "no verdict: 1 seed, no interval"
    if not d.has_width:
        if d.mean == 0:
            return "no difference on any seed"
        return f"no verdict: the same on all {d.n} seeds, no interval"
    if d.lo > 0:
        return more
    if d.hi < 0:
        return less
    return "no significant difference"

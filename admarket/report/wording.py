"""How the report writes a number with its interval, and the record a finding is kept in.

Every number the report prints about a run goes through these helpers, which follow one
set of rules (see :mod:`admarket.money` and :meth:`CI.show`): a constant carries no
interval; a difference whose interval contains zero says "not significant"; shares and
counts never show an interval beyond what they can take (a share stays in [0%, 100%], a
count at or above zero); money has thousands separators and no scientific notation.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from admarket.money import per_mille, plural, round_sig, usd, usd_auto
from admarket.report.data import ReportData
from admarket.report.glossary import ASSUMED, EMERGENT, INPUT
from admarket.report.stats import CI

__all__ = ["ASSUMED", "EMERGENT", "INPUT", "Finding"]


@dataclass
class Finding:
    """One computed finding: text with numbers, its label, and the parameters behind it.

    ``headline`` is a one-line summary for the content drafts; ``quotes`` are the
    quotable sentences (each one number with its interval) and ``caveats`` what a reader
    must not conclude from it.
    """

    key: str
    title: str
    label: str
    text: str
    depends_on: dict[str, Any]
    values: dict[str, Any] = field(default_factory=dict)  # the CIs quoted, for tests/JSON
    headline: str = ""
    quotes: list[str] = field(default_factory=list)
    caveats: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form (CIs as dicts)."""
        vals = {k: v.to_dict() if isinstance(v, CI) else v for k, v in self.values.items()}
        return {
            "key": self.key,
            "title": self.title,
            "label": self.label,
            "text": self.text,
            "headline": self.headline,
            "quotes": self.quotes,
            "caveats": self.caveats,
            "depends_on": self.depends_on,
            "values": vals,
        }


def params(d: ReportData, names: tuple[str, ...] | list[str]) -> dict[str, Any]:
    """The config values of ``names`` (a list where runs differ)."""
    return {n: d.param(n) for n in names}


def has(d: ReportData, *scenarios: str) -> bool:
    """Whether the store holds every one of ``scenarios``."""
    return all(s in d.scenarios for s in scenarios)


def pct(ci: CI) -> str:
    """A share in percent; its interval cannot leave [0%, 100%]."""
    return ci.clipped().fmt(".1f", 100, "%")


def pp(ci: CI) -> str:
    """A difference of shares in percentage points, marked "not significant" if it may be 0."""
    return ci.fmt("+.1f", 100, " pp", diff=True)


def rel(ci: CI) -> str:
    """A relative difference in percent (signed), marked "not significant" if it may be 0."""
    return ci.fmt("+.1f", 100, "%", diff=True)


def score(ci: CI) -> str:
    """A 0–1 score, three decimals; its interval cannot leave [0, 1]."""
    return ci.clipped().fmt(".3f")


def score_diff(ci: CI) -> str:
    """A difference of scores, signed, marked "not significant" if it may be 0."""
    return ci.fmt("+.3f", diff=True)


def count(ci: CI, decimals: int = 0) -> str:
    """A count per run (never below zero), with thousands separators; ``0`` when it is zero
    on every seed."""
    c = ci.clipped(0.0, math.inf)
    if c.n and c.mean == 0 and (c.n < 2 or c.lo == c.hi == 0):
        return "0"
    return c.fmt(f",.{decimals}f")


def _dollars(*xs: float) -> Callable[[float], str]:
    """One money formatter for a number and its interval ends: the precision of the largest
    (whole dollars from $1,000, cents from $1, two digits below a cent); zero is ``$0``."""
    big = max((abs(x) for x in xs if not math.isnan(x)), default=0.0)

    def one(x: float) -> str:
        if x == 0:
            return "$0"
        if big >= 1000:
            return usd(x, 0)
        return usd_auto(x) if big < 0.01 else usd(x, 2)

    return one


def money(ci: CI, nonneg: bool = False) -> str:
    """Dollars with separators (whole dollars from $1,000; tiny amounts to two digits)."""
    c = ci.clipped(0.0, math.inf) if nonneg else ci
    return c.show(_dollars(c.mean, c.lo, c.hi))


def money_diff(ci: CI, signed: bool = True, zero_note: bool = True) -> str:
    """A difference in dollars (signed), marked "not significant" if it may be 0."""
    fmt = _dollars(ci.mean, ci.lo, ci.hi)

    def one(x: float) -> str:
        text = fmt(x)
        return "+" + text if signed and x > 0 and text != "$0" else text

    return ci.show(one, diff=True, zero_note=zero_note)


def judged(ci: CI, text: str, more: str, less: str) -> str:
    """``text`` plus a direction word when the interval excludes zero (``text: more``);
    ``text`` alone when it is marked not significant, is zero on every seed or has no
    interval (one seed, or the same value on every seed: nothing to judge by) — the mark
    says it already."""
    if not ci.has_width or ci.spans_zero:
        return text
    return f"{text}: {more if ci.lo > 0 else less}"


def mille(ci: CI) -> str:
    """A cost per 1,000 impressions, in words (``$0.000016 per 1,000 impressions``)."""
    if ci.n and not math.isnan(ci.mean) and (ci.n < 2 or usd_auto(ci.lo) == usd_auto(ci.hi)):
        return ci.show(usd_auto).replace(usd_auto(ci.mean), per_mille(ci.mean), 1)
    return ci.show(usd_auto) + " per 1,000 impressions"


def times(ci: CI) -> str:
    """A ratio in words with its interval: ``about 98,000× [95% CI 79,000×, 120,000×]``."""
    body = ci.show(lambda x: f"{round_sig(x, 2):,.0f}×" if abs(x) >= 10 else f"{x:.2g}×")
    return "about " + body


def live_campaigns(d: ReportData, scenario: str, day: int) -> str:
    """How many campaigns one day's goal attainment to date averages over, per seed:
    ``n = 8.3 live campaigns per seed, 5–11``, or ``n = 9 live campaigns`` when every seed
    has the same; ``""`` when the store does not say. A day's figure rests on the campaigns
    live that day (a handful, not the run's dozens), which a reader needs to weigh it."""
    g = d.daily[(d.daily["scenario"] == scenario) & (d.daily["simulation_day"] == day)]
    if g.empty or "active_campaigns" not in g.columns or g["active_campaigns"].isna().any():
        return ""
    n = g["active_campaigns"].astype(int)
    if n.min() == n.max():
        every = " on every seed" if len(n) > 1 else ""
        return f"n = {plural(int(n.iloc[0]), 'live campaign')}{every}"
    return f"n = {n.mean():.1f} live campaigns per seed, {n.min()}–{n.max()}"


def day_claims(d: ReportData, scenario: str, day: int) -> str:
    """How many claims one day's share of wrong claims rests on, per seed:
    ``n = 412.5 claims per seed, 380–445``, or ``n = 412 claims on every seed`` when every
    seed has the same; ``""`` when the store does not say. A day's share is of that day's
    claims only — a few hundred, or a handful early in a run — which a reader needs to
    weigh it."""
    g = d.daily[(d.daily["scenario"] == scenario) & (d.daily["simulation_day"] == day)]
    if g.empty or "claims" not in g.columns or g["claims"].isna().any():
        return ""
    n = g["claims"].astype(int)
    if n.min() == n.max():
        every = " on every seed" if len(n) > 1 else ""
        return f"n = {plural(int(n.iloc[0]), 'claim', grouped=True)}{every}"
    return f"n = {n.mean():,.1f} claims per seed, {n.min():,}–{n.max():,}"

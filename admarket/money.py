"""Money, counts, shares and ratios formatted for people: the one owner of how numbers read.

Amounts are kept in integer cents inside the model (:mod:`admarket.market.accounting`);
these helpers only turn numbers into text, everywhere the project shows them. The rules a
reader who quotes one number needs:

- thousands separators (``$1,234,567``), never scientific notation (``$0.000016``, not
  ``$1.6e-05``), with amounts under a cent kept to two significant digits;
- tiny amounts per 1,000 impressions say so (``$0.000016 per 1,000 impressions``);
- ratios in words (``about 98,000×``), rounded to what the data can carry;
- shares as percentages, differences of shares in percentage points (``+3.4 pp``).
"""

from __future__ import annotations

import math

_MINUS = "-"


def _fixed_sig(x: float, sig: int) -> str:
    """``abs(x)`` in fixed notation with ``sig`` significant digits (no exponent)."""
    a = abs(x)
    if a == 0 or not math.isfinite(a):
        return f"{a:g}"
    decimals = max(0, sig - 1 - math.floor(math.log10(a)))
    text = f"{a:,.{decimals}f}"
    return text


def usd(x: float, decimals: int = 2) -> str:
    """``$1,234.56``; amounts under a cent keep two significant digits, never in scientific
    notation (``$0.000016``); negative amounts read ``-$12.00``."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "n/a"
    sign = _MINUS if x < 0 else ""
    a = abs(x)
    if a != 0 and (a < 0.01 or round(a, decimals) == 0):
        return f"{sign}${_fixed_sig(a, 2)}"
    return f"{sign}${a:,.{decimals}f}"


def usd_short(x: float, _pos: object = None) -> str:
    """A compact axis label: ``$1.5M``, ``$20k``, ``$7``, ``-$100k`` (matplotlib formatter
    signature)."""
    sign, a = (_MINUS, -x) if x < 0 else ("", x)
    for div, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if a >= div:
            return f"{sign}${a / div:g}{suffix}"
    if a != 0 and a < 0.01:
        return usd(x)
    return f"{sign}${a:g}"


def usd_auto(x: float) -> str:
    """Money at a precision that suits its size: whole dollars from $1,000, cents below,
    two significant digits below a cent (``$0.000016``), and ``$0`` for nothing."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "n/a"
    a = abs(x)
    if a == 0:
        return "$0"
    if a >= 1000:
        return usd(x, 0)
    if a >= 0.01:
        return usd(x, 2)
    return usd(x)


def per_mille(x: float) -> str:
    """A cost per 1,000 impressions in words: ``$1.58 per 1,000 impressions``,
    ``$0.000016 per 1,000 impressions``."""
    return f"{usd_auto(x)} per 1,000 impressions"


def count(n: float, decimals: int = 0) -> str:
    """A count with thousands separators: ``1,234`` (``decimals`` for means: ``320.7``)."""
    if n is None or (isinstance(n, float) and math.isnan(n)):
        return "n/a"
    return f"{n:,.{decimals}f}"


def plural(n: int, noun: str, nouns: str = "", *, grouped: bool = False) -> str:
    """``n`` with its noun, singular for exactly one: ``1 day``, ``3 days``, ``0 runs``
    (``nouns``: an irregular plural, ``1 entry`` / ``2 entries``; ``grouped``: the number
    with thousands separators, ``1,234 facts``)."""
    number = f"{n:,}" if grouped else f"{n}"
    return f"{number} {noun if n == 1 else nouns or noun + 's'}"


def impressions(n: float) -> str:
    """``1.25M`` or ``480k`` impressions."""
    return f"{n / 1e6:.2f}M" if n >= 1e6 else f"{n / 1e3:.0f}k"


def pct(x: float, decimals: int = 1) -> str:
    """A share as a percentage: ``0.383`` → ``38.3%``."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "n/a"
    return f"{x * 100:.{decimals}f}%"


def pp(x: float, decimals: int = 1) -> str:
    """A difference of two shares in percentage points, signed: ``+34.2 pp``."""
    return f"{x * 100:+.{decimals}f} pp"


def round_sig(x: float, sig: int = 2) -> float:
    """``x`` rounded to ``sig`` significant digits (97,912 → 98,000)."""
    if x == 0 or not math.isfinite(x):
        return x
    return round(x, sig - 1 - math.floor(math.log10(abs(x))))


def ratio(r: float, sig: int = 2) -> str:
    """A ratio in words: ``about 98,000×`` (two significant digits); ``1.5×`` for small ones."""
    if r is None or not math.isfinite(r):
        return "n/a"
    if abs(r) < 10:
        return f"{r:.2g}×" if abs(r) >= 1 else f"{r:.2f}×"
    v = round_sig(r, sig)
    return f"about {v:,.0f}×"


def times_cheaper(expensive: float, cheap: float) -> str:
    """``about 98,000× cheaper`` (``expensive / cheap``); n/a when ``cheap`` is zero."""
    if not cheap or not math.isfinite(cheap) or not math.isfinite(expensive):
        return "n/a (nothing to compare against)"
    r = expensive / cheap
    if r >= 1:
        return f"{ratio(r)} cheaper"
    return f"{ratio(1 / r)} dearer"


def plain(x: float) -> str:
    """A number for a table without scientific notation: whole numbers with separators
    (``20,870,040``), others with up to 4 decimals (``14.9998``), tiny ones with two
    significant digits (``0.000016``). The float formatter of ``admarket query``."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return ""
    if not math.isfinite(x):
        return str(x)
    a = abs(x)
    sign = _MINUS if x < 0 else ""
    if a == int(a) and a < 1e15:
        return f"{sign}{a:,.0f}"
    if a >= 1000:
        return f"{sign}{a:,.2f}"
    if a >= 0.0001:
        return f"{sign}{a:,.4f}"
    return f"{sign}{_fixed_sig(a, 2)}"

"""Money and counts formatted for people: the one owner of how amounts are written.

Amounts are kept in integer cents inside the model (:mod:`admarket.market.accounting`);
these helpers only turn dollars into text, everywhere the project shows money.
"""

from __future__ import annotations


def usd(x: float, decimals: int = 2) -> str:
    """``$1,234.56``; amounts under a cent keep enough digits to be non-zero
    (``$0.000016``)."""
    if x != 0 and abs(x) < 0.01:
        return f"${x:.2g}" if abs(x) >= 1e-6 else f"${x:.1e}"
    return f"-${-x:,.{decimals}f}" if x < 0 else f"${x:,.{decimals}f}"


def usd_short(x: float, _pos: object = None) -> str:
    """A compact axis label: ``$1.5M``, ``$20k``, ``$7`` (matplotlib formatter signature)."""
    for div, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(x) >= div:
            return f"${x / div:g}{suffix}"
    return f"${x:g}"


def impressions(n: float) -> str:
    """``1.25M`` or ``480k`` impressions."""
    return f"{n / 1e6:.2f}M" if n >= 1e6 else f"{n / 1e3:.0f}k"

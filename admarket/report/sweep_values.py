"""How a sweep shows a swept parameter's values: numbers on a numeric axis; anything else —
true/false (``verify_recalls``), a text choice such as ``buyer_rule``, a list such as
``campaign_budgets`` — as categories: evenly spaced points in the order the grid gave them,
each labelled with the value's text (as ``--set`` takes it: a list reads ``10000,25000``,
not as a Python tuple; true/false as ``true`` and ``false``, not at 0 and 1 of a numeric
axis). Used only by the sweep's tables and charts.
"""

from __future__ import annotations

import numbers
from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd


def is_number(value: Any) -> bool:
    """Whether ``value`` sits on a numeric axis: an int or a float, not a bool."""
    return isinstance(value, numbers.Real) and not isinstance(value, bool | np.bool_)


def categorical(values: Iterable[Any]) -> bool:
    """Whether these values are shown as categories: any of them is not a number."""
    return not all(is_number(v) for v in values)


def categories(values: Iterable[Any]) -> list[Any]:
    """The distinct values in the order they first appear (a sweep's rows are in grid
    order, so this is the order the grid gave)."""
    return list(dict.fromkeys(values))


def category_order(values: Iterable[Any]) -> list[Any] | None:
    """:func:`categories` of ``values`` when they are shown as categories, else None (they
    sit on a numeric axis, in ascending order)."""
    values = list(values)
    return categories(values) if categorical(values) else None


def _number_text(x: Any) -> str:
    if isinstance(x, float) and x.is_integer() and abs(x) < 1e15:
        return str(int(x))  # 10000.0 → "10000", as it was given
    return f"{x}"


def value_text(value: Any) -> str:
    """A value as text, as ``--set`` takes it: a list as its numbers joined by commas,
    true/false in lower case, anything else as ``str``."""
    if isinstance(value, tuple | list):
        return ",".join(_number_text(x) for x in value)
    if isinstance(value, bool | np.bool_):
        return "true" if value else "false"
    return f"{value}"


def text_cells(df: pd.DataFrame, columns: Iterable[str]) -> pd.DataFrame:
    """``df`` with the list and true/false values of ``columns`` written as ``--set`` takes
    them (for a CSV file or the console: ``10000,25000``, ``true``), as the charts and
    ``sweep.md`` label them; ``df`` itself when there are none, so a numeric sweep's files
    are what they always were."""
    lists = [
        c
        for c in columns
        if c in df and df[c].map(lambda v: isinstance(v, tuple | list | bool | np.bool_)).any()
    ]
    if not lists:
        return df
    out = df.copy()
    for c in lists:
        out[c] = out[c].map(value_text)
    return out


def storable_values(values: pd.Series) -> pd.Series:
    """One column holding several parameters' values (the drivers table's ``value``): as
    it is while they are of one kind (numbers, true/false, text or lists), else as text,
    which a store column can hold (DuckDB cannot mix, e.g., booleans and numbers)."""
    kinds = {
        "bool" if isinstance(v, bool | np.bool_) else "number" if is_number(v) else type(v)
        for v in values
    }
    return values if len(kinds) <= 1 else values.map(value_text)


def same_value(a: Any, b: Any) -> bool:
    """Whether two swept values are the same setting: numbers compared as numbers (a table's
    value column holds an integer parameter's 1 as 1.0 once any other parameter's value in
    it is a float), true/false and text as written, lists whole."""
    numbers = (int, float, np.integer, np.floating)
    if (
        isinstance(a, numbers)
        and isinstance(b, numbers)
        and not isinstance(a, bool | np.bool_)
        and not isinstance(b, bool | np.bool_)
    ):
        return float(a) == float(b)
    return value_text(a) == value_text(b)


def equals(column: pd.Series, value: Any) -> pd.Series:
    """``column == value``, also for a list value (campaign_budgets), compared whole."""
    if isinstance(value, tuple):
        return column.map(lambda v: v == value).astype(bool)
    return column == value


def category_axis(ax: Any, cats: list[Any]) -> None:
    """Label positions 0, 1, … of ``ax``'s x axis with the categories' text."""
    labels = [value_text(c) for c in cats]
    long = max((len(t) for t in labels), default=0) > 12
    ax.set_xticks(
        range(len(cats)), labels, rotation=30 if long else 0, ha="right" if long else "center"
    )
    ax.set_xlim(-0.5, len(cats) - 0.5)

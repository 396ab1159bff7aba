"""Parameter metadata: each config field's bounds, unit, meaning and group, declared once.

A field of :class:`~admarket.config.MarketConfig` is declared with :func:`param`, which
keeps its default beside its allowed range, unit and one-line meaning. One generic
validator (:func:`check_field`) reads that metadata; the CLI's ``admarket params``, its
``--set`` errors and the explorer's controls are generated from the same declarations, so
a bound or a description is written in exactly one place.
"""

from __future__ import annotations

import dataclasses
import math
import re
from dataclasses import dataclass
from typing import Any

from admarket.errors import ConfigError

# Groups, in the order ``admarket params`` and the explorer list them.
GROUPS = (
    "time and size",
    "supply",
    "demand",
    "exchange fees (A)",
    "direct trading (B, C)",
    "memory and context rot (B, C)",
    "reconciliation",
    "ledger (C)",
    "language-model agents (B, C)",
)

# The bounds (and unit) many parameters share, spread into their declarations: a share
# of something, and a fee, a share of the buyer's gross spend below 1.
SHARE_BOUNDS: dict[str, Any] = {"lo": 0.0, "hi": 1.0}
FEE_BOUNDS: dict[str, Any] = {"lo": 0.0, "hi": 1.0, "hi_open": True, "unit": "share of gross spend"}

# Which scenarios a parameter drives is said once, in its words: a group's name ends with
# them ("ledger (C)"), and a help may narrow them, leading ("C only: …", "B, C: …") or
# trailing ("… (B, C)"). These read that back, so no second table can drift from it.
_LETTERS = r"([A-C](?:, [A-C])*)"
_TRAILING = re.compile(rf"\({_LETTERS}\)$")
_LEADING = re.compile(rf"^{_LETTERS}(?: only)?: ")


@dataclass(frozen=True)
class Param:
    """What a parameter means and which values it may take.

    ``lo``/``hi`` are inclusive bounds unless ``lo_open``/``hi_open``; every numeric
    parameter has finite bounds, so no value can overflow integer cents or impressions.
    ``common`` marks the parameters a user changes most (shown first, unfolded, in the
    explorer).
    """

    help: str
    group: str
    unit: str = ""
    lo: float | None = None
    hi: float | None = None
    lo_open: bool = False
    hi_open: bool = False
    common: bool = False
    step: float | None = None  # explorer slider step; None: derived from the range
    choices: tuple[str, ...] = ()  # the allowed values of a text parameter

    def allowed(self, kind: str) -> str:
        """The allowed values in words, e.g. ``"an integer in [1, 10000]"``."""
        if kind == "bool":
            return "true or false"
        if kind == "str":
            return "one of " + ", ".join(self.choices)
        noun = {"int": "an integer", "float": "a number", "tuple": "a list of numbers"}[kind]
        if self.lo is None and self.hi is None:
            return noun
        left = "(" if self.lo_open else "["
        right = ")" if self.hi_open else "]"
        return f"{noun} in {left}{_num(self.lo)}, {_num(self.hi)}{right}"

    def scenarios(self) -> tuple[str, ...] | None:
        """The scenarios the parameter applies to, as its help or else its group names them
        (``("C",)`` for ``"C only: …"`` or the group ``"ledger (C)"``); None: every one."""
        for m in (_LEADING.match(self.help), _TRAILING.search(self.help)):
            if m:
                return tuple(m[1].split(", "))
        m = _TRAILING.search(self.group)
        return tuple(m[1].split(", ")) if m else None

    def contains(self, x: float) -> bool:
        """Whether ``x`` lies within the bounds."""
        if not math.isfinite(x):
            return False
        if self.lo is not None and (x < self.lo or (self.lo_open and x == self.lo)):
            return False
        return not (self.hi is not None and (x > self.hi or (self.hi_open and x == self.hi)))


def _num(x: float | None) -> str:
    if x is None:
        return "∞"
    short = f"{x:g}"
    if float(short) != x and float(x).is_integer():  # e.g. a seed's 2**32 − 1: exactly
        return f"{int(x)}"
    return short


def field_label(name: str) -> str:
    """A config field's label, as the explorer's controls and the sweep's charts show it:
    its name in words, capitalised ("Decay rate"; ``n_sellers`` reads "Sellers
    (publishers)")."""
    words = name.replace("_", " ")
    for short, long in (("n buyers", "buyers"), ("n sellers", "sellers (publishers)")):
        if words == short:
            words = long
    return words[0].upper() + words[1:]


def param(default: Any, help: str, group: str, **meta: Any) -> Any:
    """Declare a config field: its default plus its :class:`Param` metadata."""
    info = Param(help=help, group=group, **meta)
    if isinstance(default, tuple):
        return dataclasses.field(default=default, metadata={"param": info})
    return dataclasses.field(default=default, metadata={"param": info})


def field_kind(f: dataclasses.Field) -> str:
    """``int``, ``float``, ``bool``, ``str`` or ``tuple``: the declared type of a config field."""
    typ = f.type if isinstance(f.type, str) else f.type.__name__
    return "tuple" if typ.startswith("tuple") else typ


def meta(f: dataclasses.Field) -> Param:
    """The :class:`Param` metadata of a config field."""
    return f.metadata["param"]


def _is_num(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def plain(value: Any) -> Any:
    """A numpy scalar (what pandas, numpy ranges and Mesa's ``batch_run`` hand a Python
    caller: ``np.int64(3)``, ``np.True_``, ``np.float64(0.1)``) as the Python value it holds,
    a tuple's items alike; anything else as it is. Told by its module, so numpy is not
    imported for it."""
    if isinstance(value, tuple):
        return tuple(plain(x) for x in value)
    if type(value).__module__ == "numpy" and getattr(value, "ndim", None) == 0:
        return value.item()
    return value


def not_an_integer(value: Any) -> str:
    """Why ``value`` (a float or a boolean) is refused where an integer is asked ("" if
    it is neither): said before what is allowed, so ``2.0`` is not read as out of range."""
    if isinstance(value, bool):
        return f"{value} is a boolean"
    if isinstance(value, float):
        return f"{value!r} is a float"
    return ""


def check_field(f: dataclasses.Field, value: Any) -> None:
    """Raise :class:`ConfigError` unless ``value`` has the field's type and lies in bounds
    (a numpy scalar is taken as the Python value it holds: :func:`plain`)."""
    kind, info = field_kind(f), meta(f)
    value = plain(value)
    if kind == "int" and (why := not_an_integer(value)):
        raise ConfigError(f.name, value, info.allowed(kind), why)
    if kind == "bool":
        ok = isinstance(value, bool)
    elif kind == "str":
        ok = isinstance(value, str) and value in info.choices
    elif kind == "int":
        ok = isinstance(value, int) and not isinstance(value, bool) and info.contains(value)
    elif kind == "float":
        ok = _is_num(value) and info.contains(float(value))
    else:  # a tuple of numbers, each within the bounds
        ok = (
            isinstance(value, tuple)
            and len(value) > 0
            and all(_is_num(x) and info.contains(float(x)) for x in value)
        )
    if not ok:
        raise ConfigError(f.name, value, info.allowed(kind))


def _floaty(text: str) -> bool:
    """Whether ``text`` reads as a number but not as an integer ("2.0", "1e3")."""
    try:
        int(text)
    except ValueError:
        try:
            float(text)
        except ValueError:
            return False
        return True
    return False


# The spellings of a boolean, as text (``--set``, ``--grid``, a TOML string) or a TOML
# boolean: what its error message promises ("true or false"), and nothing else.
BOOL_TEXT = {"true": True, "false": False}


def coerce(f: dataclasses.Field, value: Any) -> Any:
    """A value as the field's type, by one rule whatever it came from: command-line text
    (``--set``, ``--grid``), a TOML or JSON value, the explorer's controls or a Python
    argument. Only what the field's error message allows is taken: an integer parameter
    takes an integer (``2`` or the text ``"2"``, never ``2.0``); a number parameter any
    number; a boolean ``true`` or ``false`` (a TOML boolean, or that text in any case, never
    ``1`` or ``"yes"``). Anything else is a :class:`ConfigError` naming the field, the value
    and what is allowed (so ``--set n_buyers=2.0`` and ``n_buyers = 2.0`` in a TOML file are
    refused alike, as are ``--set verify_recalls=1`` and ``verify_recalls = 1``)."""
    kind = field_kind(f)
    value = plain(value)  # np.int64(3) is 3 (batch_run, pandas)
    if kind == "int":  # 2.0 is a number, not the integer asked: said so, as is the text "2.0"
        text = value.strip() if isinstance(value, str) else ""
        why = not_an_integer(value) or (not_an_integer(float(text)) if _floaty(text) else "")
        if why:
            raise ConfigError(f.name, value, meta(f).allowed(kind), why)
    try:
        if kind == "int":
            return int(value) if isinstance(value, str) else value
        if kind == "float":
            if isinstance(value, bool):
                raise ValueError
            return float(value) if isinstance(value, str | int) else value
        if kind == "str":
            return value.strip().lower() if isinstance(value, str) else value
        if kind == "bool":
            if isinstance(value, str):
                return BOOL_TEXT[value.strip().lower()]
            return value  # a bool, or anything else for check_field to refuse (a TOML 1)
        if isinstance(value, str):
            value = [float(x) for x in value.split(",") if x.strip()]
        if isinstance(value, list | tuple):
            return tuple(float(x) if _is_num(x) else x for x in value)
        return value
    except (TypeError, ValueError, KeyError, OverflowError):
        raise ConfigError(f.name, value, meta(f).allowed(kind)) from None

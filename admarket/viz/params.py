"""The explorer's parameters, generated from the config's metadata, and how a view is shared.

Every field of :class:`~admarket.config.MarketConfig` becomes a :class:`Control` from its
:class:`~admarket.config.params.Param` (meaning, group, unit, bounds, step): nothing here
restates a bound or a description. The page edits a *draft* of raw values (text as typed);
:func:`validate` turns it into a config or into one message per bad field (the
:class:`~admarket.config.ConfigError` text), so bad input is shown beside its field and never
raised. The same settings travel as a URL query (:func:`to_query`, :func:`from_query`) and as
the ``admarket run`` command that reproduces the run (:func:`cli_command`).
"""

from __future__ import annotations

import dataclasses
import decimal
import math
import re
import shlex
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode

from admarket.config import (
    FIELDS,
    PARAMS,
    SCENARIOS,
    ConfigError,
    MarketConfig,
    load_preset,
    preset_names,
)
from admarket.config.params import (
    GROUPS,
    Param,
    check_field,
    coerce,
    field_kind,
    field_label,
)
from admarket.viz.session import MAX_SEEDS, Settings

SIZE_GROUP = GROUPS[0]  # "time and size": kept when a preset is chosen
SEED_CHOICES = (1, 3, 5)
assert max(SEED_CHOICES) <= MAX_SEEDS


@dataclass(frozen=True)
class Control:
    """One parameter as the explorer shows it: label, unit, widget and range."""

    name: str
    label: str
    help: str
    unit: str
    kind: str  # int, float, bool or tuple
    group: str
    common: bool
    widget: str  # "slider" (a share, dragged), "check" or "text"
    lo: float | None
    hi: float | None
    step: float | None
    allowed: str  # the allowed values in words
    scenarios: tuple[str, ...]  # the scenarios it drives (Param.scenarios; all when unsaid)


def _is_share(kind: str, lo: float | None, hi: float | None) -> bool:
    return kind == "float" and lo is not None and hi is not None and lo >= 0 and hi <= 1


def _allowed(p: Param, kind: str) -> str:
    """The allowed values in words, with integers written out (``[0, 4,294,967,295]``)."""
    if kind != "int" or p.lo is None or p.hi is None:
        return p.allowed(kind)
    left, right = "(" if p.lo_open else "[", ")" if p.hi_open else "]"
    return f"an integer in {left}{int(p.lo):,}, {int(p.hi):,}{right}"


def make_controls() -> dict[str, Control]:
    """A control for every config field, in the config's order."""
    out = {}
    for name, f in FIELDS.items():
        p, kind = PARAMS[name], field_kind(f)
        share = _is_share(kind, p.lo, p.hi)
        widget = "check" if kind == "bool" else "slider" if share and p.common else "text"
        hi = p.hi
        if widget == "slider" and p.hi_open and hi is not None:
            hi = hi - (p.step or 0.01)
        out[name] = Control(
            name=name,
            label=field_label(name),
            help=p.help,
            unit=p.unit,
            kind=kind,
            group=p.group,
            common=p.common,
            widget=widget,
            lo=p.lo,
            hi=hi,
            step=p.step or (0.01 if share else None),
            allowed=_allowed(p, kind),
            scenarios=p.scenarios() or SCENARIOS,
        )
    return out


CONTROLS = make_controls()


def words(name: str) -> str:
    """A field as its label reads mid-sentence ("campaigns per buyer"); other names as is."""
    c = CONTROLS.get(name)
    return c.label[0].lower() + c.label[1:] if c else name


_NAME = re.compile(r"\b[a-z]+(?:_[a-z]+)+\b")


def message(exc: ConfigError) -> str:
    """A :class:`ConfigError` in the sidebar's words: fields by their labels, as shown
    beside them ("invalid buyers = 0", not "invalid n_buyers = 0")."""
    allowed = _NAME.sub(lambda m: words(m[0]), exc.allowed)
    said = f"{exc.reason}; give {allowed}" if exc.reason else allowed
    return f"invalid {words(exc.field)} = {exc.value!r}: {said}"


def unused_in(c: Control, shown: Sequence[str]) -> str:
    """Which scenarios ``shown`` do not use ``c``, in words; ``""`` when every one does.

    ``"not used in scenario A"`` when none does; ``"used in scenario C only"`` when some do
    (side by side).
    """
    used = [s for s in shown if s in c.scenarios]
    if len(used) == len(shown):
        return ""
    if not used:
        return f"not used in {'scenarios' if len(shown) > 1 else 'scenario'} {', '.join(shown)}"
    return f"used in {'scenarios' if len(used) > 1 else 'scenario'} {', '.join(used)} only"


def grouped() -> list[tuple[str, list[Control], list[Control]]]:
    """``(group, common controls, rare controls)`` in the config's group order."""
    out = []
    for g in GROUPS:
        members = [c for c in CONTROLS.values() if c.group == g]
        out.append((g, [c for c in members if c.common], [c for c in members if not c.common]))
    return out


# --- values as text and back ---------------------------------------------------------------
def to_text(value: Any) -> str:
    """A config value as a user would type it (``0.15``, ``42``, ``10000, 25000``)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, tuple | list):
        return ", ".join(to_text(v) for v in value)
    if isinstance(value, float):
        return f"{int(value)}" if value.is_integer() and abs(value) < 1e15 else repr(value)
    return str(value)


def display(name: str, value: Any) -> str:
    """A value with its unit, for a label: ``15% of gross spend``, ``2% per day``, ``5 agents``."""
    c = CONTROLS[name]
    if c.kind == "bool":
        return "on" if value else "off"
    if _is_share(c.kind, c.lo, c.hi) and isinstance(value, int | float):
        pct = f"{value * 100:.3g}%"
        unit = c.unit.removeprefix("share").strip()
        return f"{pct} {unit}".strip()
    text = f"{value:,}" if isinstance(value, int) else to_text(value)
    return f"{text} {c.unit}".strip()


def draft_of(cfg: MarketConfig) -> dict[str, Any]:
    """The draft (raw control values) showing ``cfg``: floats for sliders, bools, text."""
    out: dict[str, Any] = {}
    for name, c in CONTROLS.items():
        value = getattr(cfg, name)
        out[name] = value if c.widget in ("slider", "check") else to_text(value)
    return out


def slider_position(c: Control, value: float) -> float:
    """Where a slider can show ``value``: clamped to its range and snapped to its step, as
    the browser's slider would (to the step's decimals). A value typed between two steps
    (``0.137`` on a 0.005 slider) is handed to the slider at this position: given the exact
    value, the slider rounds it and sends the rounded one back, which overwrote the draft."""
    lo = c.lo or 0.0
    hi = c.hi if c.hi is not None else 1.0
    step = c.step or 0.01
    x = min(max(float(value), lo), hi)
    snapped = math.floor((x - lo) / step + 0.5) * step + lo  # round half up, as JavaScript
    return round(min(snapped, hi), step_decimals(step))


def step_decimals(step: float) -> int:
    """How many decimals a slider's ``step`` has: 3 for ``0.005``, 5 for ``1e-05`` (whose
    text has no point: reading the digits after one made it 0, so every value rounded to a
    whole number), 0 for ``5``. Read from the shortest text of the float, as typed."""
    exponent = decimal.Decimal(str(step)).normalize().as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0


def parse_typed(name: str, text: str) -> tuple[Any, str]:
    """A value typed for parameter ``name``: ``(value, "")``, or ``(None, message)`` naming
    the field and its allowed range when it is not one (the CLI's and the sidebar's rule)."""
    try:
        return parse_field(name, text), ""
    except ConfigError as exc:
        return None, message(exc)


def parse_field(name: str, raw: Any) -> Any:
    """One raw control value as the field's type, checked against its bounds.

    A :class:`ConfigError` names the field and what is allowed (integers written out).
    """
    f = FIELDS[name]
    try:
        value = coerce(f, raw.strip() if isinstance(raw, str) else raw)
        check_field(f, value)
    except ConfigError as exc:
        c = CONTROLS[name]
        if exc.allowed == PARAMS[name].allowed(c.kind):
            raise ConfigError(name, exc.value, c.allowed, exc.reason) from None
        raise
    return value


def validate(draft: dict[str, Any]) -> tuple[MarketConfig | None, dict[str, str]]:
    """The config a draft describes, or ``None`` and a message per bad field.

    Each field is checked on its own first (so every bad field is reported at once), then
    the rules that relate fields (e.g. ``flight_days_max`` ≥ ``flight_days_min``).
    """
    values: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for name, raw in draft.items():
        try:
            values[name] = parse_field(name, raw)
        except ConfigError as exc:
            errors[name] = message(exc)
    if errors:
        return None, errors
    try:
        return dataclasses.replace(MarketConfig(), **values), {}
    except ConfigError as exc:
        return None, {exc.field if exc.field in FIELDS else "seed": message(exc)}


def changed_fields(draft: dict[str, Any], applied: MarketConfig) -> set[str]:
    """Fields whose draft differs from the applied config (bad input counts as changed)."""
    out = set()
    for name, raw in draft.items():
        try:
            if parse_field(name, raw) != getattr(applied, name):
                out.add(name)
        except ConfigError:
            out.add(name)
    return out


def apply_preset(name: str | None, draft: dict[str, Any]) -> dict[str, Any]:
    """The draft after choosing preset ``name`` (None: the defaults): the preset's values,
    keeping the draft's seed, time and market size (so a small classroom market stays small)."""
    out = draft_of(preset_base(name))
    for c in CONTROLS.values():
        if c.group == SIZE_GROUP:
            out[c.name] = draft[c.name]
    return out


def preset_base(preset: str | None) -> MarketConfig:
    """The config a preset starts from (the defaults without one)."""
    return load_preset(preset) if preset else MarketConfig()


def config_diff(cfg: MarketConfig, base: MarketConfig) -> dict[str, Any]:
    """Fields of ``cfg`` that differ from ``base``, in the config's order."""
    return {n: getattr(cfg, n) for n in FIELDS if getattr(cfg, n) != getattr(base, n)}


# --- sharing: the URL and the command line -----------------------------------------------------
def to_query(settings: Settings, *, with_scenario: bool = True) -> str:
    """The URL query that rebuilds ``settings``: scenario, seeds, preset, changed fields."""
    items: list[tuple[str, str]] = []
    if with_scenario:
        items.append(("scenario", ",".join(settings.scenarios)))
    if settings.seeds != 1:
        items.append(("seeds", str(settings.seeds)))
    if settings.preset:
        items.append(("preset", settings.preset))
    diff = config_diff(settings.config, preset_base(settings.preset))
    diff.setdefault("seed", settings.config.seed)
    items += [(k, to_text(v).replace(", ", ",")) for k, v in diff.items()]
    return urlencode(items, safe=",")


def from_query(search: str | None, default: Settings) -> tuple[Settings, list[str]]:
    """Settings from a URL query over ``default``, and a message per ignored item.

    A bad value never stops the page: the item is left out and its message shown. Fields
    fine alone but not together (``flight_days_min=10&flight_days_max=5``) are left out
    together, and only they: the rest of the link is kept.
    """
    problems: list[str] = []
    pairs = parse_qsl(search or "", keep_blank_values=True)
    opts = {k: v for k, v in pairs if k in ("scenario", "seeds", "preset")}
    scenarios, seeds, preset = default.scenarios, default.seeds, default.preset
    if "scenario" in opts:
        wanted = tuple(s.strip().upper() for s in opts["scenario"].split(",") if s.strip())
        if wanted and all(s in SCENARIOS for s in wanted) and len(wanted) == len(scenarios):
            scenarios = wanted
        else:
            problems.append(f"invalid scenario = {opts['scenario']!r}: one of A, B, C")
    if "seeds" in opts:
        if opts["seeds"].strip() in {str(s) for s in SEED_CHOICES}:
            seeds = int(opts["seeds"])
        else:
            allowed = ", ".join(map(str, SEED_CHOICES))
            problems.append(f"invalid seeds = {opts['seeds']!r}: one of {allowed}")
    if "preset" in opts:
        if opts["preset"] in preset_names():
            preset = opts["preset"]
        else:
            problems.append(
                f"invalid preset = {opts['preset']!r}: one of {', '.join(preset_names())}"
            )
    base = preset_base(preset)
    given: dict[str, tuple[str, str]] = {}  # field: (key as written, raw value), each fine alone
    for key, raw in pairs:
        if key in opts:
            continue
        name = key.replace("-", "_")
        if name not in FIELDS:
            problems.append(f"invalid {key} = {raw!r}: unknown parameter (see `admarket params`)")
            continue
        try:
            parse_field(name, raw)
        except ConfigError as exc:
            problems.append(str(exc))
            continue
        given[name] = (key, raw)
    cfg = _relate(base, given, problems)
    return Settings(cfg, scenarios, seeds, preset), problems


def _fields_named(exc: ConfigError) -> set[str]:
    """The fields a rule relating fields is about: the one it names and those its text names,
    in full or, for fees, by their short names (``dsp`` for ``dsp_fee``)."""
    out = {exc.field}
    for name in FIELDS:
        for word in {name, name.removesuffix("_fee")}:
            if re.search(rf"(?<!\w){re.escape(word)}(?!\w)", exc.allowed):
                out.add(name)
    return out


def _relate(
    base: MarketConfig, given: dict[str, tuple[str, str]], problems: list[str]
) -> MarketConfig:
    """``base`` with the link's fields over it (``given``: field → key as written and raw
    value, each fine alone), less those that break a rule relating fields
    (``flight_days_max`` ≥ ``flight_days_min``, fees summing below 1). The link's fields a
    broken rule names are left out, with a message saying which and why, and the rest kept;
    a rule that names none of them (not expected: ``base`` is a valid config) leaves them
    all out, with its message."""
    given = dict(given)
    while True:
        values = {name: parse_field(name, raw) for name, (_key, raw) in given.items()}
        try:
            return dataclasses.replace(base, **values)
        except ConfigError as exc:
            blamed = [name for name in given if name in _fields_named(exc)]
            if not blamed:
                problems.append(str(exc))
                return base
            items = " & ".join(f"{given[n][0]}={given[n][1]}" for n in blamed)
            verb = "together break" if len(blamed) > 1 else "breaks"
            problems.append(f"{items} {verb} a rule: {exc}")
            for name in blamed:
                del given[name]


def cli_command(settings: Settings, *, out: str | None = None) -> str:
    """The ``admarket run`` command that reproduces the first seed's run of ``settings``."""
    parts = ["admarket", "run", "--scenarios", ",".join(s.lower() for s in settings.scenarios)]
    if settings.preset:
        parts += ["--preset", settings.preset]
    parts += ["--seed", str(settings.config.seed)]
    for name, value in config_diff(settings.config, preset_base(settings.preset)).items():
        if name != "seed":
            parts += ["--set", f"{name}={to_text(value).replace(', ', ',')}"]
    if out:
        parts += ["--out", out]
    return " ".join(shlex.quote(p) for p in parts)

"""One validated configuration for a market run.

Every parameter of the model lives in :class:`MarketConfig`: market size, time, fees,
pricing and negotiation, memory and ledger settings. A config is frozen and validated on
construction, so a bad value fails before anything runs, with a message that names the
field, the value and what is allowed.

Configs come from Python keyword arguments, named presets (``admarket/presets/*.toml``),
TOML files, or the CLI, layered in that order: preset < file < explicit overrides.
"""

from __future__ import annotations

import dataclasses
import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

SCENARIOS = ("A", "B", "C")
CHANNELS = ("display", "video", "ctv", "native")
KPIS = ("impressions", "reach", "clicks", "conversions", "viewability")
TIERS = ("public", "seat", "agency", "advertiser")
# Fee parameters: each a share of the buyer's gross spend (inputs, restated as take rates).
EXCHANGE_FEES = ("exchange_fee", "dsp_fee", "adtech_fee", "unknown_delta")
FEE_FIELDS = (*EXCHANGE_FEES, "agent_fee", "protocol_fee")


class ConfigError(ValueError):
    """A configuration value is invalid: names the field, the value and what is allowed."""

    def __init__(self, field_name: str, value: Any, allowed: str):
        self.field = field_name
        self.value = value
        self.allowed = allowed
        super().__init__(f"invalid {field_name} = {value!r}: {allowed}")


@dataclass(frozen=True)
class MarketConfig:
    """Every parameter of one run. Defaults are the plan's (the ``plan`` preset).

    Fees are *inputs*: the take rates they imply are restated, never discovered. Memory,
    hallucination and reconciliation parameters drive the *outcomes* of scenarios B and C.
    """

    # --- time and size -------------------------------------------------------------
    seed: int = 42
    days: int = 30
    steps_per_day: int = 24  # one step = one simulated hour
    n_buyers: int = 5
    n_sellers: int = 5
    campaigns_per_buyer: int = 10
    lot_size: int = 1000  # impressions per lot: one CPM unit
    seller_reach: int = 10  # sellers each buyer has a trading relationship with

    # --- supply (publishers) ---------------------------------------------------------
    daily_avails_min: int = 1_000_000  # per publisher, across its products (plan seed data)
    daily_avails_max: int = 10_000_000
    sellable_share: float = 0.9  # share of forecast avails a seller will commit to deals

    # --- demand (campaigns) ----------------------------------------------------------
    campaign_budgets: tuple[float, ...] = (10_000.0, 25_000.0, 50_000.0, 100_000.0)
    flight_days_min: int = 10
    flight_days_max: int = 30
    max_cpm_markup_min: float = 1.15  # max CPM = target CPM × U(min, max)
    max_cpm_markup_max: float = 1.5

    # --- scenario A: exchange fee stack, shares of the buyer's gross spend (inputs) ---
    exchange_fee: float = 0.15  # SSP / exchange
    dsp_fee: float = 0.0
    adtech_fee: float = 0.0  # agency, advertiser and publisher tech
    unknown_delta: float = 0.0  # the unattributable gap of the ISBA/PwC study

    # --- scenarios B and C: direct trading (inputs) -----------------------------------
    agent_fee: float = 0.05  # residual agent-platform fees (plan: about 5%)
    protocol_fee: float = 0.0  # C only; Alkimi's public claim is 3–8%: 0 keeps C = B + ledger
    max_deals_per_campaign: int = 3
    expected_fill: float = 0.7  # buyer's prior on fill for a seller it has no history with
    min_deal_impressions: int = 10_000  # IAB seller minimum

    # --- memory and context rot (B and C; A reads the exchange's database) --------------
    decay_rate: float = 0.02  # daily probability that a held fact is lost
    memory_capacity: int = 400  # facts an agent can hold; 0 = unlimited (no context pressure)
    restart_rate: float = 0.005  # daily probability an agent process restarts
    restart_growth: float = 0.0  # added to restart_rate per elapsed day
    hallucination_rate: float = 0.05  # share of recalls from volatile memory that are corrupted
    price_deflation_min: float = 0.10
    price_deflation_max: float = 0.30
    inventory_inflation_min: float = 0.10
    inventory_inflation_max: float = 0.50
    verify_recalls: bool = True  # C: check recalled facts against the ledger before acting

    # --- reconciliation and disputes ---------------------------------------------------
    recon_auto_accept: float = 0.02  # gap ≤ 2% of the invoice: pay the invoice
    recon_split: float = 0.10  # gap ≤ 10%: split the difference; above: dispute
    dispute_recovery: float = 0.5  # B: share of a disputed amount eventually paid
    audit_tolerance: float = 0.005  # relative gap at which an audited claim is wrong

    # --- ledger (C) ----------------------------------------------------------------------
    records_per_blob: int = 500
    impressions_per_record: int = 1000  # C's delivery records: calibration's batching
    ledger_record_bytes: int = 256  # one delivery record (deal, lot, time, hash)
    sui_price_usd: float = 3.5
    wal_price_usd: float = 0.4

    def __post_init__(self) -> None:
        _validate(self)

    # ------------------------------------------------------------------------------------
    @property
    def steps(self) -> int:
        """Total number of steps (hours) in the run."""
        return self.days * self.steps_per_day

    @property
    def n_campaigns(self) -> int:
        """Total number of campaigns in the market."""
        return self.n_buyers * self.campaigns_per_buyer

    @property
    def exchange_take(self) -> float:
        """Total fee share of gross spend on the exchange path (an input, restated)."""
        return self.exchange_fee + self.dsp_fee + self.adtech_fee + self.unknown_delta

    def replace(self, **changes: Any) -> MarketConfig:
        """Return a validated copy with ``changes`` applied (unknown names are an error)."""
        return from_mapping(changes, base=self)

    def to_dict(self) -> dict[str, Any]:
        """Plain dict of every parameter (TOML/JSON friendly)."""
        out = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        out["campaign_budgets"] = list(self.campaign_budgets)
        return out


FIELDS: dict[str, dataclasses.Field] = {f.name: f for f in dataclasses.fields(MarketConfig)}


def _check(cond: bool, name: str, value: Any, allowed: str) -> None:
    if not cond:
        raise ConfigError(name, value, allowed)


def _validate(c: MarketConfig) -> None:
    ints_min = {
        "days": 1,
        "steps_per_day": 1,
        "n_buyers": 1,
        "n_sellers": 1,
        "campaigns_per_buyer": 1,
        "lot_size": 1,
        "seller_reach": 1,
        "daily_avails_min": 1,
        "daily_avails_max": 1,
        "flight_days_min": 1,
        "flight_days_max": 1,
        "max_deals_per_campaign": 1,
        "min_deal_impressions": 0,
        "memory_capacity": 0,
        "records_per_blob": 1,
        "impressions_per_record": 1,
        "ledger_record_bytes": 1,
        "seed": 0,
    }
    for name, lo in ints_min.items():
        v = getattr(c, name)
        _check(
            isinstance(v, int) and not isinstance(v, bool) and v >= lo,
            name,
            v,
            f"an integer ≥ {lo}",
        )
    _check(
        c.daily_avails_max >= c.daily_avails_min,
        "daily_avails_max",
        c.daily_avails_max,
        f"≥ daily_avails_min ({c.daily_avails_min})",
    )
    _check(
        c.flight_days_max >= c.flight_days_min,
        "flight_days_max",
        c.flight_days_max,
        f"≥ flight_days_min ({c.flight_days_min})",
    )
    budgets = c.campaign_budgets
    _check(
        isinstance(budgets, tuple)
        and len(budgets) > 0
        and all(isinstance(b, int | float) and not isinstance(b, bool) and b > 0 for b in budgets),
        "campaign_budgets",
        budgets,
        "a non-empty list of positive amounts (USD)",
    )
    unit = {
        "sellable_share": (0.0, 1.0, False),
        "expected_fill": (0.0, 1.0, False),
        "decay_rate": (0.0, 1.0, True),
        "restart_rate": (0.0, 1.0, True),
        "hallucination_rate": (0.0, 1.0, True),
        "dispute_recovery": (0.0, 1.0, True),
    }
    for name, (lo, hi, lo_incl) in unit.items():
        v = getattr(c, name)
        ok = _is_num(v) and (v >= lo if lo_incl else v > lo) and v <= hi
        _check(ok, name, v, f"a number in {'[' if lo_incl else '('}{lo}, {hi}]")
    for name in FEE_FIELDS:
        v = getattr(c, name)
        _check(_is_num(v) and 0.0 <= v < 1.0, name, v, "a fee share in [0, 1)")
    _check(
        c.exchange_take < 1.0,
        "exchange_fee",
        c.exchange_fee,
        "fees on the exchange path must sum to less than 1 "
        f"(exchange + dsp + adtech + unknown_delta = {c.exchange_take:.3f})",
    )
    _check(
        c.agent_fee + c.protocol_fee < 1.0,
        "protocol_fee",
        c.protocol_fee,
        "agent_fee + protocol_fee must be less than 1",
    )
    for name in (
        "restart_growth",
        "recon_auto_accept",
        "recon_split",
        "audit_tolerance",
        "sui_price_usd",
        "wal_price_usd",
    ):
        v = getattr(c, name)
        _check(_is_num(v) and v >= 0, name, v, "a number ≥ 0")
    _check(
        c.recon_split >= c.recon_auto_accept,
        "recon_split",
        c.recon_split,
        f"≥ recon_auto_accept ({c.recon_auto_accept})",
    )
    for lo_name, hi_name in (
        ("price_deflation_min", "price_deflation_max"),
        ("inventory_inflation_min", "inventory_inflation_max"),
        ("max_cpm_markup_min", "max_cpm_markup_max"),
    ):
        lo, hi = getattr(c, lo_name), getattr(c, hi_name)
        _check(_is_num(lo) and lo >= 0, lo_name, lo, "a number ≥ 0")
        _check(_is_num(hi) and hi >= lo, hi_name, hi, f"a number ≥ {lo_name} ({lo})")
    _check(
        c.price_deflation_max < 1.0, "price_deflation_max", c.price_deflation_max, "a share below 1"
    )
    _check(c.max_cpm_markup_min >= 1.0, "max_cpm_markup_min", c.max_cpm_markup_min, "≥ 1")
    _check(isinstance(c.verify_recalls, bool), "verify_recalls", c.verify_recalls, "true or false")


def _is_num(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _coerce(name: str, value: Any) -> Any:
    """Coerce a loosely typed value (CLI string, TOML int for a float) to the field's type."""
    f = FIELDS[name]
    typ = f.type if isinstance(f.type, str) else f.type.__name__
    try:
        if typ == "int":
            if isinstance(value, bool):
                raise ValueError
            if isinstance(value, float):
                if not value.is_integer():
                    raise ValueError
                return int(value)
            return int(value) if isinstance(value, str) else value
        if typ == "float":
            if isinstance(value, bool):
                raise ValueError
            return float(value) if isinstance(value, str | int) else value
        if typ == "bool":
            if isinstance(value, str):
                low = value.strip().lower()
                if low in ("true", "1", "yes", "on"):
                    return True
                if low in ("false", "0", "no", "off"):
                    return False
                raise ValueError
            return value
        if typ.startswith("tuple"):
            if isinstance(value, str):
                value = [float(x) for x in value.split(",") if x.strip()]
            if isinstance(value, list | tuple):
                return tuple(float(x) if _is_num(x) else x for x in value)
            return value
    except (TypeError, ValueError):
        raise ConfigError(name, value, f"a value of type {typ}") from None
    return value


def from_mapping(values: dict[str, Any], base: MarketConfig | None = None) -> MarketConfig:
    """Build a config from ``base`` (default: plan) with ``values`` applied.

    Keys may use dashes or underscores. An unknown key is an error that lists the nearest
    valid names, so a typo in a TOML file or a keyword argument never passes silently.
    """
    base = base or MarketConfig()
    changes: dict[str, Any] = {}
    for raw_key, value in values.items():
        key = raw_key.replace("-", "_")
        if key not in FIELDS:
            import difflib

            near = difflib.get_close_matches(key, FIELDS, n=3)
            hint = f" (did you mean {', '.join(near)}?)" if near else ""
            raise ConfigError(raw_key, value, f"unknown parameter{hint}")
        changes[key] = _coerce(key, value)
    return dataclasses.replace(base, **changes)


def load_toml(
    path: str | Path, base: MarketConfig | None = None, preset: str | None = None
) -> MarketConfig:
    """Load a TOML config file on top of ``base``; a ``[market]`` table or top-level keys."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError("config", str(p), "an existing TOML file") from None
    except OSError as exc:
        raise ConfigError("config", str(p), f"a readable TOML file ({exc.strerror})") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError("config", str(p), f"valid TOML ({exc})") from None
    if "market" in data and isinstance(data["market"], dict):
        extra = set(data) - {"market", "preset"}
        if extra:
            raise ConfigError(
                sorted(extra)[0], data[sorted(extra)[0]], "unknown table or key next to [market]"
            )
        values = dict(data["market"])
    else:
        values = dict(data)
    file_preset = values.pop("preset", data.get("preset"))
    if file_preset is not None:
        if preset is not None and preset != file_preset:
            raise ConfigError(
                "preset",
                file_preset,
                f"the preset given with --preset ({preset}), or only one of them",
            )
        base = load_preset(file_preset, base=None)
    return from_mapping(values, base=base)


def preset_names() -> list[str]:
    """Names of the bundled presets."""
    root = resources.files("admarket") / "presets"
    return sorted(p.name.removesuffix(".toml") for p in root.iterdir() if p.name.endswith(".toml"))


def load_preset(name: str, base: MarketConfig | None = None) -> MarketConfig:
    """Load a bundled preset by name (``plan``, ``isba-pwc-2020``, ``ana-2023``, ...)."""
    names = preset_names()
    if name not in names:
        raise ConfigError("preset", name, f"one of {', '.join(names)}")
    text = (resources.files("admarket") / "presets" / f"{name}.toml").read_text(encoding="utf-8")
    data = tomllib.loads(text)
    values = dict(data.get("market", {}))
    return from_mapping(values, base=base)


def preset_source(name: str) -> str:
    """The ``source`` line of a preset: which calibration row it follows."""
    text = (resources.files("admarket") / "presets" / f"{name}.toml").read_text(encoding="utf-8")
    return str(tomllib.loads(text).get("source", ""))


def build_config(
    preset: str | None = None, config_file: str | Path | None = None, **overrides: Any
) -> MarketConfig:
    """Layer a preset, a TOML file and keyword overrides into one validated config."""
    cfg = load_preset(preset) if preset else MarketConfig()
    if config_file is not None:
        cfg = load_toml(config_file, base=cfg, preset=preset)
    return from_mapping({k: v for k, v in overrides.items() if v is not None}, base=cfg)

"""Configuration: the model's fixed vocabularies (:mod:`.vocabulary`), every parameter
declared once (:mod:`.params`: what a declaration holds; :mod:`.market_params` and
:mod:`.direct_params`: the declarations), the validated :class:`MarketConfig`
(:mod:`.market_config`), and presets and TOML files (:mod:`.presets`)."""

from admarket.config.market_config import FIELDS, PARAMS, MarketConfig, from_mapping
from admarket.config.presets import (
    build_config,
    load_preset,
    load_toml,
    preset_names,
    preset_source,
)
from admarket.config.vocabulary import (
    BUY_SIDE_FEES,
    BUYER_RULES,
    CHANNELS,
    EXCHANGE_FEES,
    FEE_FIELDS,
    KPIS,
    SCENARIOS,
    SELL_SIDE_FEES,
    TIERS,
)
from admarket.errors import ConfigError


def check_scenarios(scenarios: list[str] | tuple[str, ...]) -> list[str]:
    """The scenarios as a list of distinct letters (case ignored), or a ConfigError."""
    out = [str(s).upper() for s in scenarios]
    if not out or any(s not in SCENARIOS for s in out) or len(set(out)) != len(out):
        raise ConfigError("scenarios", list(scenarios), "distinct letters among A, B, C")
    return out


__all__ = [
    "BUYER_RULES",
    "BUY_SIDE_FEES",
    "CHANNELS",
    "EXCHANGE_FEES",
    "FEE_FIELDS",
    "FIELDS",
    "KPIS",
    "PARAMS",
    "SCENARIOS",
    "SELL_SIDE_FEES",
    "TIERS",
    "ConfigError",
    "MarketConfig",
    "build_config",
    "check_scenarios",
    "from_mapping",
    "load_preset",
    "load_toml",
    "preset_names",
    "preset_source",
]

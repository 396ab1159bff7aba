"""Configuration: every parameter declared once (:mod:`.params`), the validated
:class:`MarketConfig` (:mod:`.market_config`), and presets and TOML files (:mod:`.presets`)."""

from admarket.config.market_config import (
    BUY_SIDE_FEES,
    BUYER_RULES,
    CHANNELS,
    EXCHANGE_FEES,
    FEE_FIELDS,
    FIELDS,
    KPIS,
    PARAMS,
    SCENARIOS,
    SELL_SIDE_FEES,
    TIERS,
    MarketConfig,
    from_mapping,
)
from admarket.config.presets import (
    build_config,
    load_preset,
    load_toml,
    preset_names,
    preset_source,
)
from admarket.errors import ConfigError

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
    "from_mapping",
    "load_preset",
    "load_toml",
    "preset_names",
    "preset_source",
]

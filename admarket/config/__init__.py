"""Configuration: every parameter declared once (:mod:`.params`), the validated
:class:`MarketConfig` (:mod:`.market_config`), and presets and TOML files (:mod:`.presets`)."""

from admarket.config.market_config import (
    CHANNELS,
    EXCHANGE_FEES,
    FEE_FIELDS,
    FIELDS,
    KPIS,
    PARAMS,
    SCENARIOS,
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
    "CHANNELS",
    "EXCHANGE_FEES",
    "FEE_FIELDS",
    "FIELDS",
    "KPIS",
    "PARAMS",
    "SCENARIOS",
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

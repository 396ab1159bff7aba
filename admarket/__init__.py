"""admarket: a Mesa agent-based model of the programmatic advertising market.

Compares three ways of trading ad inventory — through a fee-taking exchange (A), directly
between AI agents with volatile memory (B), and directly with a hash-chained ledger behind
them (C) — with results that emerge from the mechanics and reproduce from a seed.
"""

from admarket.config import ConfigError, MarketConfig, build_config
from admarket.model import MarketModel

__version__ = "0.1.0"
__all__ = ["ConfigError", "MarketConfig", "MarketModel", "build_config"]

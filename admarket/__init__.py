"""admarket: a Mesa agent-based model of the programmatic advertising market.

Compares three ways of trading ad inventory — through a fee-taking exchange (A), directly
between AI agents with volatile memory (B), and directly with a hash-chained ledger behind
them (C) — with results that emerge from the mechanics and reproduce from a seed.

``MarketModel`` (with Mesa and pandas behind it) is loaded on first use, so the command
line's help and argument errors stay quick.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from admarket.config import MarketConfig, build_config
from admarket.errors import ConfigError
from admarket.version import __version__

if TYPE_CHECKING:  # pragma: no cover
    from admarket.model import MarketModel

__all__ = ["ConfigError", "MarketConfig", "MarketModel", "__version__", "build_config"]


def __getattr__(name: str) -> Any:
    if name == "MarketModel":
        from admarket.model import MarketModel

        return MarketModel
    raise AttributeError(f"module 'admarket' has no attribute {name!r}")

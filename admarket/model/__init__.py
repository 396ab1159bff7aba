"""The Mesa model of the market and what its DataCollector records."""

from admarket.model.market_model import MarketModel

__all__ = ["MarketModel"]

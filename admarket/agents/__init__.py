"""The market's agents: buyers, sellers and (scenario A) the exchange."""

from admarket.agents.buyer import BuyerAgent
from admarket.agents.exchange import ExchangeAgent
from admarket.agents.seller import SellerAgent
from admarket.agents.trader import TraderAgent

__all__ = ["BuyerAgent", "ExchangeAgent", "SellerAgent", "TraderAgent"]

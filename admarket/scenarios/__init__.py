"""The three trading designs as objects (:mod:`.designs`: exchange, direct A2A, ledger-backed
A2A, and their registry) and where each lets agents recover lost facts (:mod:`.records`)."""

from admarket.scenarios.designs import (
    DESIGNS,
    DirectDesign,
    ExchangeDesign,
    LedgerDesign,
    TradingDesign,
    design_class,
)

__all__ = [
    "DESIGNS",
    "DirectDesign",
    "ExchangeDesign",
    "LedgerDesign",
    "TradingDesign",
    "design_class",
]

"""Hallucination injection: the plan's three ways an agent's recall goes wrong.

At a configurable rate (default 5% of recalls from volatile memory), a recalled value is
replaced by a fabricated one: an **inventory** figure inflated by 10–50%, a **price**
deflated by 10–30% (making a deal look better than it is), or a **history** fact
fabricated (a success rate of 80–95% with a counterpart). Each agent draws from its own
stream, so the same agent in scenarios B and C sees the same sequence of draws.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from admarket.config import MarketConfig

INJECTABLE = ("price", "inventory", "history")


@dataclass(frozen=True)
class Injection:
    """A fabricated value and what kind of fabrication it was."""

    value: float
    kind: str  # "price_deflated", "inventory_inflated", "history_fabricated"


class HallucinationInjector:
    """Corrupts a share of recalls, by claim type, from one agent's stream."""

    def __init__(self, config: MarketConfig, rng: np.random.Generator):
        self.rate = config.hallucination_rate
        self.cfg = config
        self.rng = rng
        self.injected = 0
        self._block = np.empty(0)
        self._next = 0

    def _uniform(self) -> float:
        # draws come in blocks: one numpy call per 4,096 recalls instead of one per recall
        if self._next == self._block.size:
            self._block, self._next = self.rng.random(4096), 0
        self._next += 1
        return float(self._block[self._next - 1])

    def maybe_corrupt(self, claim_type: str, value: float) -> Injection | None:
        """With probability ``rate``, return a fabricated replacement for ``value``."""
        if self.rate <= 0 or claim_type not in INJECTABLE:
            return None
        if self._uniform() >= self.rate:
            return None
        x = self._uniform()
        self.injected += 1
        c = self.cfg
        if claim_type == "price":
            d = c.price_deflation_min + x * (c.price_deflation_max - c.price_deflation_min)
            return Injection(round(value * (1.0 - d), 2), "price_deflated")
        if claim_type == "inventory":
            f = c.inventory_inflation_min + x * (
                c.inventory_inflation_max - c.inventory_inflation_min
            )
            return Injection(float(np.floor(value * (1.0 + f) + 1)), "inventory_inflated")
        return Injection(round(0.80 + 0.15 * x, 4), "history_fabricated")

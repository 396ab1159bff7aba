"""Hallucination injection: the plan's three ways an agent's recall goes wrong.

At a configurable rate (default 5% of recalls from volatile memory), a recalled value is
replaced by a fabricated one: an **inventory** figure inflated by 10–50%, a **price**
deflated by 10–30% (making a deal look better than it is), or a **history** fact
fabricated (a success rate of 80–95% with a counterpart). Every draw is keyed
to (agent, fact, moment), so B and C agree on every recall they share.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from admarket.config import MarketConfig
from admarket.streams import HALLUCINATION, keyed_prefix, keyed_uniform_text

INJECTABLE = ("price", "inventory", "history")


@dataclass(frozen=True)
class Injection:
    """A fabricated value and what kind of fabrication it was."""

    value: float
    kind: str  # "price_deflated", "inventory_inflated", "history_fabricated"


def _corruptible(rate: float) -> frozenset[str]:
    """The claim types an injector of ``rate`` may corrupt (none when it never does)."""
    return frozenset(INJECTABLE) if rate > 0 else frozenset()


class HallucinationInjector:
    """Corrupts a share of recalls, by claim type, from one agent's stream."""

    def __init__(self, config: MarketConfig, salt: str):
        self.rate = config.hallucination_rate
        self.cfg = config
        self.salt = salt  # seed and agent
        self._key = keyed_prefix(salt, HALLUCINATION)  # of every draw of this agent's
        # the claim types this injector may corrupt: callers skip the call for the others
        # (most claims are terms, volume or delivery; millions a run at scale)
        self.corrupts = _corruptible(self.rate)

    def __setstate__(self, state: dict) -> None:
        # a checkpoint from before ``corrupts`` was kept: work it out again
        self.__dict__.update(state)
        if "corrupts" not in state:
            self.corrupts = _corruptible(self.rate)

    def maybe_corrupt(self, claim_type: str, value: float, key: str, step: int) -> Injection | None:
        """With probability ``rate``, return a fabricated replacement for ``value``.

        The draw is keyed to (agent, fact, step): an agent recalling the same fact at the
        same moment in B and in C hallucinates, or not, in both.
        """
        if claim_type not in self.corrupts:
            return None
        # keyed_uniform(salt, HALLUCINATION, key, step), then (..., step, "size")
        text = f"{self._key}{key}|{step}"
        if keyed_uniform_text(text) >= self.rate:
            return None
        x = keyed_uniform_text(f"{text}|size")
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

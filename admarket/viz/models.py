"""The models the explorer drives, and what it remembers between steps to draw them.

:class:`ExplorerModel` is :class:`~admarket.MarketModel` as SolaraViz rebuilds it on Reset:
the trading design is the ``scenario_id`` keyword (Mesa's Reset passes its own ``Scenario``
object as ``scenario``, which is ignored here) and the seed may arrive as text from an input
box. :class:`CompareModel` runs A, B and C on one seed and steps them together.
:class:`MarketWatch` follows one market step by step, incrementally: recent spend per edge
(for edge widths) and which agents have acted on fabricated facts (for node marks).
"""

from __future__ import annotations

from collections import deque
from typing import Any

import numpy as np
from mesa import Model

from admarket.config import SCENARIOS, ConfigError
from admarket.model import MarketModel

RECENT_STEPS = 24  # edge width shows spend over the last simulated day


def coerce_seed(value: Any) -> int:
    """An integer seed from an int or from text typed into a box (``" 7 "``, ``"7.0"``)."""
    if isinstance(value, bool):
        raise ConfigError("seed", value, "an integer ≥ 0")
    if isinstance(value, int):
        return value
    try:
        number = float(str(value).strip())
    except ValueError:
        raise ConfigError("seed", value, "an integer ≥ 0") from None
    if not number.is_integer() or number < 0:
        raise ConfigError("seed", value, "an integer ≥ 0")
    return int(number)


class MarketWatch:
    """Per-step memory of one market for drawing: recent edge spend and hallucinating agents.

    Each :meth:`observe` reads only what is new since the last call: the edge spend vector
    (one pass over the fixed edge list), events appended since the last cursor, and bad
    decisions only when their count has grown.
    """

    def __init__(self, model: MarketModel, window: int = RECENT_STEPS):
        self.model = model
        self.edges: list[tuple[str, str]] = list(model.graph.edges)
        self.via_exchange = np.array(
            [model.graph.edges[e]["path"] == "exchange" for e in self.edges], dtype=bool
        )
        self._history: deque[np.ndarray] = deque(maxlen=window + 1)
        self._history.append(self._spend())
        self.hallucinated: set[str] = set()
        self._event_cursor = 0
        self._bad_seen: set[int] = set()
        self.observe()

    def _spend(self) -> np.ndarray:
        g = self.model.graph
        return np.fromiter(
            (g.edges[e]["spend"] for e in self.edges), dtype=float, count=len(self.edges)
        )

    def observe(self) -> None:
        """Take in one step: snapshot edge spend, mark agents that acted on fabricated facts."""
        m = self.model
        if m.steps:
            self._history.append(self._spend())
        records = m.events.records
        for r in records[self._event_cursor :]:
            if r["kind"] == "hallucination":
                self.hallucinated.add(r["agent"])
        self._event_cursor = len(records)
        bad = m.claims.bad_decisions
        if len(bad) > len(self._bad_seen):
            new = bad - self._bad_seen
            self._bad_seen |= new
            self.hallucinated.update(m.claims.decision_agent[d] for d in new)

    @property
    def recent_spend(self) -> np.ndarray:
        """USD that flowed along each edge (in ``edges`` order) over the recent window."""
        return self._history[-1] - self._history[0]


class ExplorerModel(MarketModel):
    """A market as the explorer runs it: ``scenario_id`` keyword, text seed, a watch."""

    def __init__(
        self, scenario_id: str = "A", seed: Any = 42, *, scenario: Any = None, **params: Any
    ):
        # ``scenario`` is Mesa's Scenario object that SolaraViz's Reset adds: not ours.
        super().__init__(scenario_id, seed=coerce_seed(seed), **params)
        self.watch = MarketWatch(self)

    @property
    def markets(self) -> dict[str, ExplorerModel]:
        """The markets to draw, by scenario: just this one."""
        return {self.scenario_id: self}

    def step(self) -> None:
        """Advance one simulated hour and let the watch take it in."""
        super().step()
        self.watch.observe()


class CompareModel(Model):
    """Scenarios A, B and C on the same seed and parameters, stepping together."""

    def __init__(self, seed: Any = 42, *, scenario: Any = None, **params: Any):
        seed = coerce_seed(seed)
        super().__init__(rng=seed)
        self.markets: dict[str, ExplorerModel] = {
            s: ExplorerModel(s, seed=seed, **params) for s in SCENARIOS
        }
        self.config = self.markets["A"].config
        self.running = True

    def step(self) -> None:
        """Advance every market that is still running by one simulated hour."""
        for m in self.markets.values():
            if m.running:
                m.step()
        self.running = any(m.running for m in self.markets.values())

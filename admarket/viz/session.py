"""The runs one explorer page drives: a market per scenario and seed, and one clock.

A :class:`Session` is built from :class:`Settings` (the applied config, the scenarios shown
and how many seeds). Every market advances together, and never past the end of the run:
:meth:`Session.advance_to` clamps, so a render interval that does not divide the run's
length ends exactly on its last hour. :func:`clock_label` names the moment shown ("day 3,
14:00", "end of day 30 — run complete"). A :class:`Watch` follows the first seed of each
scenario step by step and remembers what the pictures need: the day each agent last lost
facts, restarted or acted on a wrong fact (so marks can fade), the spend along each edge
over the last day, and what the exchange did each day (scenario A's own events).
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from admarket.config import SCENARIOS, ConfigError, MarketConfig
from admarket.model import MarketModel

NEVER = -(10**6)  # "last day" of something that has not happened
MAX_SEEDS = 5
SEED_LIMIT = 2**32  # seeds are taken modulo this (MarketConfig's bound is 2**32 - 1)


@dataclass(frozen=True)
class Settings:
    """What a page's runs are built from: the config, the scenarios shown, the seeds.

    ``seeds`` > 1 runs ``config.seed``, ``config.seed + 1``, … of every scenario side by
    side (their spread is drawn as a band); the first seed is the one drawn in detail.
    ``preset`` names the bundled preset the config started from, if any.
    """

    config: MarketConfig = field(default_factory=MarketConfig)
    scenarios: tuple[str, ...] = ("B",)
    seeds: int = 1
    preset: str | None = None

    def __post_init__(self) -> None:
        if not self.scenarios or any(s not in SCENARIOS for s in self.scenarios):
            raise ConfigError("scenario", ",".join(self.scenarios), "one of A, B, C")
        if not 1 <= self.seeds <= MAX_SEEDS:
            raise ConfigError("seeds", self.seeds, f"an integer in [1, {MAX_SEEDS}]")

    def seed_list(self) -> list[int]:
        """The seeds run, first seed first."""
        return [(self.config.seed + i) % SEED_LIMIT for i in range(self.seeds)]


def clock_time(step: int, steps_per_day: int) -> str:
    """Time of day at the start of hour-step ``step`` within its day: ``"14:00"``."""
    minutes = (step % steps_per_day) * 1440 // steps_per_day
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def event_time(step: int, steps_per_day: int) -> str:
    """When an event logged at ``step`` happened: ``"day 3, 14:00"`` (days count from 1)."""
    return f"day {step // steps_per_day + 1}, {clock_time(step, steps_per_day)}"


def clock_label(steps: int, steps_per_day: int, days: int) -> str:
    """The moment after ``steps`` steps: ``"day 1, 00:00 (start)"``, ``"day 3, 14:00"``,
    ``"end of day 4"`` or ``"end of day 30 — run complete"``; never a day past the run."""
    if steps <= 0:
        return "day 1, 00:00 (start)"
    if steps >= steps_per_day * days:
        return f"end of day {days} — run complete"
    if steps % steps_per_day == 0:
        return f"end of day {steps // steps_per_day}"
    return f"day {steps // steps_per_day + 1}, {clock_time(steps, steps_per_day)}"


def next_stop(steps: int, interval: int, total: int) -> int:
    """The next frame after ``steps`` when drawing every ``interval`` steps: the next
    multiple of ``interval``, or the run's end, whichever comes first."""
    if interval < 1:
        raise ValueError(f"render interval must be ≥ 1 step, not {interval}")
    return min(total, (steps // interval + 1) * interval)


def _length(minutes: float) -> str:
    return f"{minutes:g} minutes" if minutes < 60 else f"{minutes / 60:g} hours"


def intervals(steps_per_day: int) -> dict[str, int]:
    """Render intervals the controls offer, in steps, each named by the time it spans: every
    hour (or, when an hour is not a whole number of steps, every step and its length), every
    6 hours when that is whole, every day and every week."""
    spd = steps_per_day
    choices: list[tuple[str, int]] = []
    if spd % 24 == 0:
        choices.append(("every hour", spd // 24))
    else:
        choices.append((f"every step ({_length(1440 / spd)})", 1))
    if spd % 4 == 0:
        choices.append(("every 6 hours", spd // 4))
    choices += [("every day", spd), ("every week", 7 * spd)]
    # One name per interval: the later, plainer one (at 4 steps a day, "every 6 hours").
    out: dict[str, int] = {}
    for label, steps in choices:
        out = {k: v for k, v in out.items() if v != steps}
        out[label] = steps
    return out


@dataclass
class DayTally:
    """What the market turned over in one day (or the day so far): the exchange's view."""

    day: int  # 0-based
    auction_lots: int  # lots sold in the exchange's auctions (A)
    gross: float  # buyers' spend, USD
    fees: dict[str, float]  # fees taken, USD, by fee name
    net: float  # to publishers, USD
    complete: bool = True


class Watch:
    """Per-step memory of one market for drawing, kept incrementally.

    ``last_lost``, ``last_restart`` and ``last_wrong`` hold, for every trading agent (buyers
    then sellers), the last day it lost facts, restarted, or made a decision on a wrong fact;
    ``days`` holds a :class:`DayTally` per finished day.
    """

    def __init__(self, model: MarketModel, window: int | None = None):
        self.model = model
        self.spd = model.config.steps_per_day
        self.agents = [*model.buyers, *model.sellers]
        self.names = [a.name for a in self.agents]
        self.index = {n: i for i, n in enumerate(self.names)}
        n = len(self.agents)
        self.last_lost = np.full(n, NEVER)
        self.last_restart = np.full(n, NEVER)
        self.last_wrong = np.full(n, NEVER)
        self.lost_today = np.zeros(n, dtype=np.int64)
        self.lost_share = np.zeros(n)  # share of its memory each agent lost on its last loss day
        g = model.graph
        self.edges: list[tuple[str, str]] = list(g.edges)
        self.via_exchange = np.array([g.edges[e]["path"] == "exchange" for e in self.edges])
        self._spend_history: deque[np.ndarray] = deque(maxlen=(window or self.spd) + 1)
        self._spend_history.append(self._spend())
        self._event_cursor = 0
        self._decision_cursor = 0
        self._bad_seen = 0
        self.days: list[DayTally] = []
        self._day_start = self._totals()
        self.observe()

    # --- what is read from the model --------------------------------------------------------
    def _spend(self) -> np.ndarray:
        e = self.model.graph.edges
        return np.fromiter((e[x]["spend"] for x in self.edges), float, len(self.edges))

    def _totals(self) -> dict[str, Any]:
        acc = self.model.accounts
        return {
            "lots": self.model.events.counts["auction_wins"],
            "gross": acc.gross,
            "fees": dict(acc.fees),
            "net": acc.net_to_publishers,
        }

    def _tally(self, day: int, complete: bool) -> DayTally:
        now, was = self._totals(), self._day_start
        return DayTally(
            day=day,
            auction_lots=now["lots"] - was["lots"],
            gross=(now["gross"] - was["gross"]) / 100,
            fees={k: (v - was["fees"].get(k, 0)) / 100 for k, v in now["fees"].items()},
            net=(now["net"] - was["net"]) / 100,
            complete=complete,
        )

    def observe(self) -> None:
        """Take in the step just taken (call after every step)."""
        m = self.model
        if m.steps:
            self._spend_history.append(self._spend())
        day = max(m.steps - 1, 0) // self.spd
        n = len(self.agents)
        lost = np.fromiter((a.lost_today for a in self.agents), np.int64, n)
        restarted = np.fromiter((a.restarted_today for a in self.agents), bool, n)
        self.lost_today = lost
        if lost.any():
            held = np.fromiter((len(a.memory) for a in self.agents), np.int64, n)
            hit = lost > 0
            self.lost_share[hit] = lost[hit] / np.maximum(lost[hit] + held[hit], 1)
            self.last_lost[hit] = day
        self.last_restart[restarted] = day
        records = m.events.records
        for r in records[self._event_cursor :]:
            if r["kind"] == "hallucination" and r.get("agent") in self.index:
                i = self.index[r["agent"]]
                self.last_wrong[i] = max(self.last_wrong[i], r["step"] // self.spd)
        self._event_cursor = len(records)
        self._observe_decisions()
        if m.steps and m.steps % self.spd == 0:
            self.days.append(self._tally(m.steps // self.spd - 1, complete=True))
            self._day_start = self._totals()

    def _observe_decisions(self) -> None:
        cl = self.model.claims
        bad = cl.bad_decisions
        if len(bad) == self._bad_seen:
            self._decision_cursor = len(cl.decision_agent)
            return
        start = self._decision_cursor
        new = [d for d in range(start, len(cl.decision_agent)) if d in bad]
        if len(new) < len(bad) - self._bad_seen:  # an older decision turned bad: rescan
            new = list(bad)
        for d in new:
            i = self.index.get(cl.decision_agent[d])
            if i is not None:
                self.last_wrong[i] = max(self.last_wrong[i], cl.decision_step[d] // self.spd)
        self._bad_seen = len(bad)
        self._decision_cursor = len(cl.decision_agent)

    # --- what the pictures ask for ----------------------------------------------------------
    @property
    def recent_spend(self) -> np.ndarray:
        """USD along each edge (in ``edges`` order) over the last simulated day."""
        return self._spend_history[-1] - self._spend_history[0]

    @property
    def today(self) -> int:
        """The day (0-based) of the last step taken; 0 before the first."""
        return max(self.model.steps - 1, 0) // self.spd

    def today_so_far(self) -> DayTally | None:
        """The current, unfinished day's tally (None at a day boundary)."""
        if self.model.steps % self.spd == 0:
            return None
        return self._tally(self.today, complete=False)


class Session:
    """Every market of a page (scenario × seed), advancing together on one clock."""

    def __init__(self, settings: Settings):
        self.settings = settings
        cfg = settings.config
        self.runs: dict[str, list[MarketModel]] = {
            s: [MarketModel(s, cfg.replace(seed=seed)) for seed in settings.seed_list()]
            for s in settings.scenarios
        }
        self.watches = {s: Watch(models[0]) for s, models in self.runs.items()}
        self.lock = threading.RLock()

    # --- the clock --------------------------------------------------------------------------
    @property
    def config(self) -> MarketConfig:
        """The applied config (first seed)."""
        return self.settings.config

    @property
    def markets(self) -> dict[str, MarketModel]:
        """The first seed's market of each scenario: the one drawn in detail."""
        return {s: models[0] for s, models in self.runs.items()}

    @property
    def steps(self) -> int:
        """Steps (hours) taken so far; every market has taken the same number."""
        return next(iter(self.runs.values()))[0].steps

    @property
    def total(self) -> int:
        """Steps in the whole run."""
        return self.config.steps

    @property
    def at_end(self) -> bool:
        """Whether the run is complete."""
        return self.steps >= self.total

    def label(self) -> str:
        """The moment shown, in words."""
        return clock_label(self.steps, self.config.steps_per_day, self.config.days)

    def advance_to(self, target: int, halt: Callable[[], bool] | None = None) -> int:
        """Step every market up to step ``target`` (clamped to the run); returns steps taken.

        ``halt`` (Pause) is asked before each step: when it says so, the advance ends there,
        between two hours, with every market on the same step and its watch up to date (a
        large market takes seconds a day, too long to wait for the end of the advance)."""
        with self.lock:
            n = max(0, min(target, self.total) - self.steps)
            for i in range(n):
                if halt is not None and halt():
                    return i
                for s, models in self.runs.items():
                    for m in models:
                        m.step()
                    self.watches[s].observe()
            return n

    def advance(self, hours: int) -> int:
        """Step every market ``hours`` steps, or to the end; returns steps taken."""
        return self.advance_to(self.steps + hours)

"""An agent's volatile working memory, and the three ways it loses facts.

A trading agent (an LLM agent in the real system) holds the facts it acts on in its
context: deal terms, delivery and spend to date, counterpart history. Facts are lost by
mechanisms, each with its own parameter and each switchable off:

* **decay** — each day every held fact survives with probability 1 − decay_rate (drawn
  once, when the fact is stored, as a geometric lifetime keyed to the agent, the fact and
  the day: the same fact stored on the same day lives as long in B as in C);
* **context pressure** — the memory holds at most ``capacity`` facts; storing one more
  pushes out the least recently used, so rot grows with the load an agent carries;
* **restarts** — a restart wipes the whole memory.

Facts are keyed by strings such as ``"deal:17:price"``; a fact may carry a *tag* (the
campaign or product it belongs to) so that an agent can list the deals it still knows of.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from dataclasses import dataclass

from admarket.streams import MEMORY, keyed_prefix, keyed_uniform_text


@dataclass
class MemoryStats:
    """Counters of what a memory has held and lost, by cause."""

    stored: int = 0
    lost_decay: int = 0
    lost_pressure: int = 0
    lost_restart: int = 0
    restarts: int = 0

    @property
    def lost(self) -> int:
        """Facts lost by any mechanism."""
        return self.lost_decay + self.lost_pressure + self.lost_restart


class ContextMemory:
    """Least-recently-used fact store with decay, capacity pressure and restarts."""

    def __init__(self, capacity: int = 0, decay_rate: float = 0.0, salt: str = ""):
        self.capacity = capacity  # 0 = unlimited
        self.decay_rate = decay_rate
        self.salt = salt  # seed and agent: what makes this memory's decay draws its own
        self._key = keyed_prefix(salt, MEMORY)  # of every decay draw of this memory's
        self._facts: OrderedDict[str, float] = OrderedDict()
        self._expiry: dict[str, int] = {}  # key → the day whose decay pass removes it
        # day → keys stored to expire that day (some may have gone since, or come back
        # with another expiry): a decay pass looks at its day's keys, not every held fact
        self._due: dict[int, list[str]] = {}
        self._tags: dict[str, tuple[str, int]] = {}  # key → (group, tag)
        self._index: dict[tuple[str, int], dict[int, int]] = {}  # (group, tag) → {id: n held}
        # keys held once and lost since (decay, pressure, restart), not held again: what
        # tells a lost fact from one never learned, so only the first counts as recovered
        self._forgotten: set[str] = set()
        self.stats = MemoryStats()

    def __setstate__(self, state: dict) -> None:
        # a checkpoint from before expiries were filed by day: file them now
        self.__dict__.update(state)
        if "_due" not in state:
            self._due = {}
            for key, expiry in self._expiry.items():
                self._due.setdefault(expiry, []).append(key)

    def __len__(self) -> int:
        return len(self._facts)

    def __contains__(self, key: str) -> bool:
        return key in self._facts

    def forgot(self, key: str) -> bool:
        """Whether ``key`` was held and has been lost since (by decay, context pressure or a
        restart) without being held again; False for a fact never held."""
        return key in self._forgotten

    def peek(self, key: str) -> float | None:
        """The held value of ``key`` without marking it used (None if not held): for a
        look that is not a recall, so it moves nothing the memory will lose next."""
        return self._facts.get(key)

    def get(self, key: str) -> float | None:
        """The held value of ``key`` (marking it recently used), or None if not held."""
        v = self._facts.get(key)
        if v is not None:
            self._facts.move_to_end(key)
        return v

    def store(
        self, key: str, value: float, group: str = "", tag: int = -1, day: int = 0
    ) -> list[str]:
        """Hold ``value`` under ``key`` (on ``day``); returns the keys pushed out by context
        pressure.

        ``group`` and ``tag`` file the fact for :meth:`ids`: a deal fact stored with group
        ``"deal"`` and tag = its campaign can be listed by campaign.
        """
        if key in self._facts:
            self._facts[key] = value
            self._facts.move_to_end(key)
            return []
        self._facts[key] = value
        self._forgotten.discard(key)
        self.stats.stored += 1
        if self.decay_rate > 0:
            expiry = self._expiry[key] = day + 1 + self._lifetime(key, day)
            self._due.setdefault(expiry, []).append(key)
        if group:
            self._tags[key] = (group, tag)
            ident = int(key.split(":", 2)[1])
            bucket = self._index.setdefault((group, tag), {})
            bucket[ident] = bucket.get(ident, 0) + 1
        pushed: list[str] = []
        if self.capacity and len(self._facts) > self.capacity:
            while len(self._facts) > self.capacity:
                old, _ = self._facts.popitem(last=False)
                self._unindex(old)
                pushed.append(old)
            self._forgotten.update(pushed)
            self.stats.lost_pressure += len(pushed)
        return pushed

    def ids(self, group: str, tag: int) -> list[int]:
        """Ids (the number after the first colon) of ``group`` facts held under ``tag``."""
        return sorted(self._index.get((group, tag), ()))

    def _lifetime(self, key: str, day: int) -> int:
        """Decay passes a fact stored on ``day`` survives: geometric in 1 − decay_rate."""
        if self.decay_rate >= 1:
            return 0
        u = keyed_uniform_text(f"{self._key}{key}|{day}")  # keyed_uniform(salt, MEMORY, key, day)
        return int(math.log(u) / math.log1p(-self.decay_rate))

    def decay(self, day: int) -> list[str]:
        """The decay pass of ``day``: lose every fact whose lifetime has run out."""
        if self.decay_rate <= 0 or not self._facts:
            return []
        expiry, due = self._expiry, set[str]()
        for d in [d for d in self._due if d <= day]:
            due.update(k for k in self._due.pop(d) if expiry.get(k, day + 1) <= day)
        if len(due) > 1:  # least recently used first, as the memory holds them
            lost: list[str] = []
            for k in self._facts:
                if k in due:
                    lost.append(k)
                    if len(lost) == len(due):
                        break
        else:
            lost = list(due)
        for k in lost:
            del self._facts[k]
            self._unindex(k)
        self._forgotten.update(lost)
        self.stats.lost_decay += len(lost)
        return lost

    def wipe(self) -> int:
        """A process restart: every fact is gone. Returns how many were held."""
        n = len(self._facts)
        self._forgotten.update(self._facts)
        self._facts.clear()
        self._expiry.clear()
        self._due.clear()
        self._tags.clear()
        self._index.clear()
        self.stats.lost_restart += n
        self.stats.restarts += 1
        return n

    def _unindex(self, key: str) -> None:
        self._expiry.pop(key, None)
        gt = self._tags.pop(key, None)
        if gt is None:
            return
        ident = int(key.split(":", 2)[1])
        bucket = self._index[gt]
        bucket[ident] -= 1
        if bucket[ident] == 0:
            del bucket[ident]

"""The run's event log: what happened, in order, as machine-readable records.

Agents and the engine emit events (deals, negotiations, context losses, restarts,
hallucinations acted on, disputes, ledger blobs, campaign stops). High-volume happenings
(auction wins, recoveries) are counted rather than logged one by one, so a 30-day run at
scale keeps a log a person can still read. The store writes the log as JSON Lines and the
narrative log is rendered from it.
"""

from __future__ import annotations

from collections import Counter
from typing import Any


class EventLog:
    """An append-only list of events plus counters of high-volume happenings."""

    def __init__(self, steps_per_day: int):
        self.steps_per_day = steps_per_day
        self.records: list[dict[str, Any]] = []
        self.counts: Counter[str] = Counter()

    def emit(self, step: int, kind: str, **fields: Any) -> None:
        """Log one event at ``step``."""
        self.records.append(
            {"step": step, "day": step // self.steps_per_day, "kind": kind, **fields}
        )
        self.counts[kind] += 1

    def count(self, kind: str, n: int = 1) -> None:
        """Count ``n`` happenings of ``kind`` without logging each."""
        self.counts[kind] += n

    def of_kind(self, kind: str) -> list[dict[str, Any]]:
        """All logged events of one kind."""
        return [r for r in self.records if r["kind"] == kind]

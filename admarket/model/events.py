"""The run's event log: what happened, in order, as machine-readable records.

Agents and the engine emit events (deals, negotiations, context losses, restarts,
hallucinations acted on, disputes, ledger blobs, campaign stops). High-volume happenings
(auction wins, recoveries) are counted rather than logged one by one, so a 30-day run at
scale keeps a log a person can still read. The store writes the log as JSON Lines and the
narrative log is rendered from it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

from admarket.record_sequence import RecordSequence


class EventRecords(RecordSequence):
    """The logged events, in order: a sequence of dicts to its readers, held as tuples.

    An event is kept as ``(field names, step, kind, *values)``, its field names one shared
    tuple per shape of event: a large C run logs ~170,000 events, which as dicts took about
    three times the memory. A read builds ``{"step", "day", "kind", **fields}`` exactly as
    :meth:`EventLog.emit` used to store it (``day`` is ``step // steps_per_day``)."""

    def __init__(self, steps_per_day: int):
        self.steps_per_day = steps_per_day
        self._rows: list[tuple] = []
        self._shapes: dict[tuple[str, ...], tuple[str, ...]] = {}

    def append(self, step: int, kind: str, fields: dict[str, Any]) -> None:
        """Keep one event (``fields``: its fields beyond step, day and kind)."""
        names = tuple(fields)
        names = self._shapes.setdefault(names, names)
        self._rows.append((names, step, kind, *fields.values()))

    def _record(self, i: int) -> dict[str, Any]:
        row = self._rows[i]
        names, step, kind = row[0], row[1], row[2]
        return {
            "step": step,
            "day": step // self.steps_per_day,
            "kind": kind,
            **dict(zip(names, row[3:], strict=True)),
        }

    def __len__(self) -> int:
        return len(self._rows)

    def __eq__(self, other: object) -> bool:
        if (
            isinstance(other, EventRecords)
            and self.steps_per_day == other.steps_per_day
            and self._rows == other._rows
        ):
            return True  # equal without building the records
        return super().__eq__(other)  # else as the lists of dicts compare

    def steps(self) -> Iterator[int]:
        """Every event's step, in order (without building its record)."""
        return (r[1] for r in self._rows)


class EventLog:
    """An append-only list of events plus counters of high-volume happenings."""

    def __init__(self, steps_per_day: int):
        self.steps_per_day = steps_per_day
        self.records = EventRecords(steps_per_day)
        self.counts: Counter[str] = Counter()

    def emit(self, step: int, kind: str, **fields: Any) -> None:
        """Log one event at ``step``."""
        self.records.append(step, kind, fields)
        self.counts[kind] += 1

    def count(self, kind: str, n: int = 1) -> None:
        """Count ``n`` happenings of ``kind`` without logging each."""
        self.counts[kind] += n

    def of_kind(self, kind: str) -> list[dict[str, Any]]:
        """All logged events of one kind."""
        return [r for r in self.records if r["kind"] == kind]

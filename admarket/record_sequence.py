"""A read-only sequence of records (dicts) built on read from compact storage.

Logs a large run keeps by the hundred thousand (settlements, events) store their records
as columns or tuples, and hand each back as the dict it stood for: readers index, slice,
iterate and compare them as they would the list of dicts.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, overload


class RecordSequence(Sequence[dict[str, Any]]):
    """Subclasses give ``__len__`` and ``_record(i)`` for ``0 <= i < len``."""

    def _record(self, i: int) -> dict[str, Any]:
        raise NotImplementedError

    @overload
    def __getitem__(self, i: int) -> dict[str, Any]: ...
    @overload
    def __getitem__(self, i: slice) -> list[dict[str, Any]]: ...
    def __getitem__(self, i: int | slice) -> dict[str, Any] | list[dict[str, Any]]:
        if isinstance(i, slice):
            return [self._record(j) for j in range(*i.indices(len(self)))]
        n = len(self)
        if not -n <= i < n:
            raise IndexError(f"record {i} out of range ({n} records)")
        return self._record(i % n)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return (self._record(i) for i in range(len(self)))

    def __eq__(self, other: object) -> bool:
        """Equal to a list (or another sequence of records) of the same dicts, in order."""
        if not isinstance(other, list | RecordSequence):
            return NotImplemented
        return len(other) == len(self) and all(a == b for a, b in zip(self, other, strict=True))

    __hash__ = None  # type: ignore[assignment]  # mutable, like the list it stands for

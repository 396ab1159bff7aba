"""The settlement log: one record per settled deal-day, held by column.

B and C settle every delivering deal every evening: a large C run (500 × 200) settles
~114,000 deal-days. As dicts of Python numbers they took ~85 MB; here each field is a
column (integers and money in typed arrays, names and outcomes as references to shared
strings), about 130 bytes a record. A record reads back as the dict it was appended as:
the same keys in the same order, the same values and types.
"""

from __future__ import annotations

from array import array
from typing import Any

from admarket.record_sequence import RecordSequence

# Every field of a record, in order, and how its column holds it: "q" an int64 array (the
# value must be an int), "d" a float64 array (a float), "" a list (a str).
FIELDS: dict[str, str] = {
    "step": "q",
    "deal": "q",
    "campaign": "q",
    "buyer": "",
    "seller": "",
    "seller_lots": "q",
    "buyer_lots": "q",
    "billed_lots": "q",
    "invoice": "d",
    "expected": "d",
    "agreed": "d",
    "paid": "d",
    "outcome": "",
    "gap": "d",
    "disputed": "d",
    "unresolved": "d",
}
_TYPE = {"q": int, "d": float, "": str}
_NAMES = tuple(FIELDS)
_INT64 = range(-(2**63), 2**63)


class SettlementLog(RecordSequence):
    """Settled deal-days in the order they were settled; a list of dicts to its readers
    (``len``, iteration, an index or a slice)."""

    def __init__(self) -> None:
        self._columns: list[array | list] = [array(c) if c else [] for c in FIELDS.values()]

    def append(self, record: dict[str, Any]) -> None:
        """Add one settled deal-day; ValueError naming the field if ``record`` lacks one,
        has another, or holds a value its column cannot give back exactly."""
        if tuple(record) != _NAMES:  # the same fields in the same order
            raise ValueError(f"settlement record fields {list(record)}; expected {list(FIELDS)}")
        for name, code in FIELDS.items():
            value = record[name]
            if type(value) is not _TYPE[code]:  # an int in a float column would read back 1.0
                raise ValueError(
                    f"settlement field {name}={value!r} is a {type(value).__name__}; "
                    f"its column holds {_TYPE[code].__name__}s"
                )
            if code == "q" and value not in _INT64:
                raise ValueError(f"settlement field {name}={value!r}: outside 64-bit integers")
        for name, column in zip(FIELDS, self._columns, strict=True):
            column.append(record[name])

    def __len__(self) -> int:
        return len(self._columns[0])

    def _record(self, i: int) -> dict[str, Any]:
        return {name: column[i] for name, column in zip(FIELDS, self._columns, strict=True)}

    def column(self, name: str) -> array | list:
        """One field of every record, in order (the log's own column: do not modify it)."""
        return self._columns[list(FIELDS).index(name)]

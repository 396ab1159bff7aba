"""The report of a run or comparison: read from the store (:mod:`.data`), statistics with
intervals (:mod:`.stats`), computed findings (:mod:`.findings`), charts (:mod:`.charts`)
and the markdown/HTML/JSON document (:mod:`.document`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from admarket.report.document import write_report

__all__ = ["write_report"]


def __getattr__(name: str) -> Any:
    # the document (matplotlib's charts, DuckDB's store) only when a report is written:
    # importing a light part such as the glossary must not load it
    if name == "write_report":
        from admarket.report.document import write_report

        return write_report
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

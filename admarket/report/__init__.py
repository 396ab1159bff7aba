"""The report of a run or comparison: read from the store (:mod:`.data`), statistics with
intervals (:mod:`.stats`), computed findings (:mod:`.findings`), charts (:mod:`.charts`)
and the markdown/HTML/JSON document (:mod:`.document`)."""

from admarket.report.document import write_report

__all__ = ["write_report"]

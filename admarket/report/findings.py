"""The report's findings, computed from a store's numbers — none is written in advance.

Each finding states numbers with 95% intervals across seeds (paired by seed where two
scenarios are compared: they share demand and supply), lists the parameter values it
depends on (read from the runs' configs), and is labelled an *input restated* (a fee rate
coming back out of the books), an *emergent outcome* (something the mechanics produced) or
a number that *follows from an assumption* (the ledger's cost model). Direction words come
from the intervals, and a difference whose interval contains zero says "not significant".
A finding whose scenarios are missing from the store is skipped. The finders live in
:mod:`.findings_fees` (money), :mod:`.savings` (fee savings), :mod:`.findings_memory`
(memory and outcomes) and :mod:`.findings_ledger` (what drives C).
"""

from __future__ import annotations

from admarket.report.data import ReportData
from admarket.report.findings_fees import (
    disputes,
    ledger_cost,
    net_to_publishers,
    take_rate,
)
from admarket.report.findings_ledger import ledger_drivers
from admarket.report.findings_memory import context_rot, detection, goal_attainment, wrong_facts
from admarket.report.savings import fee_savings
from admarket.report.wording import ASSUMED, EMERGENT, INPUT, Finding

__all__ = ["ASSUMED", "EMERGENT", "FINDERS", "INPUT", "Finding", "compute_findings"]

FINDERS = (
    take_rate,
    fee_savings,
    net_to_publishers,
    goal_attainment,
    wrong_facts,
    detection,
    context_rot,
    ledger_cost,
    disputes,
    ledger_drivers,
)


def compute_findings(d: ReportData) -> list[Finding]:
    """Every finding the store's scenarios allow, in report order."""
    return [f for f in (fn(d) for fn in FINDERS) if f is not None]

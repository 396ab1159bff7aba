"""Named measures a finished run adds to its summary row, beside the model's own numbers.

``MarketModel.summary()`` gives the headline counters; this module adds the measures the
glossary (:mod:`admarket.report.glossary`) names that are not among them, computed from the
same finished model, so the store, the CLI's table and the report use one vocabulary:

- ``wrong_decision_share`` and ``wrong_claim_share``: the two measures the old word
  "hallucination rate" mixed up (``hallucination_rate`` stays, equal to the first);
- ``fill_rate``: impressions delivered as a share of the avails publishers offered;
- ``hit_kpi_goal``: campaigns that reached their primary-KPI target;
- ``ledger_cost_sui`` / ``ledger_cost_wal`` (and their USD values): C's ledger cost split
  into Sui gas and Walrus storage, over the ledger's entry blobs and its delivery-record
  blobs (the latter re-priced with the run's own cost model, blob by blob).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from admarket.model.reporters import fill_rate
from admarket.scenarios.ledger_records import LedgerRecords

if TYPE_CHECKING:  # pragma: no cover
    from admarket.model import MarketModel


def ledger_tokens(m: MarketModel) -> tuple[float, float]:
    """C's ledger cost in SUI and in WAL (0, 0 without a ledger; NaN if it cannot be split).

    Entry blobs carry their own SUI/WAL costs. Delivery records fill blobs of
    ``records_per_blob`` records and the last, partial one is sealed at the end of the run,
    so their blobs are re-priced here from the record count; the USD total must match what
    the run charged, else the split is not reported (NaN) rather than guessed.
    """
    rec = m.records
    if m.ledger is None or not isinstance(rec, LedgerRecords):
        return 0.0, 0.0
    led = m.ledger
    sui, wal = float(led.total_sui), float(led.total_wal)
    n, per = int(rec.delivery_records), int(led.records_per_blob)
    full, rem = divmod(n, per)
    usd = 0.0
    for blobs, size in ((full, per), (1 if rem else 0, rem)):
        if blobs:
            c = led.cost_model.blob_cost(size * int(rec.record_bytes))
            sui, wal, usd = sui + blobs * c.sui, wal + blobs * c.wal, usd + blobs * c.usd
    if not math.isclose(usd, float(rec.record_blobs_usd), rel_tol=1e-9, abs_tol=1e-12):
        return math.nan, math.nan
    return sui, wal


def derived_measures(m: MarketModel, summary: dict[str, Any]) -> dict[str, Any]:
    """The glossary's measures not in ``summary`` (``m.summary()``), for one finished run."""
    cfg = m.config
    claims, decisions = summary["claims"], summary["decisions"]
    sui, wal = ledger_tokens(m)
    return {
        "wrong_decision_share": summary["hallucinated_decisions"] / decisions
        if decisions
        else math.nan,
        "wrong_claim_share": summary["wrong_claims"] / claims if claims else math.nan,
        "fill_rate": float(fill_rate(m)),
        "hit_kpi_goal": int(m.campaign_outcomes()["hit_kpi_goal"].sum()),
        "ledger_cost_sui": sui,
        "ledger_cost_wal": wal,
        "ledger_cost_sui_usd": sui * cfg.sui_price_usd,
        "ledger_cost_wal_usd": wal * cfg.wal_price_usd,
    }


def full_summary(m: MarketModel) -> dict[str, Any]:
    """``m.summary()`` plus :func:`derived_measures`: every named headline measure of a run."""
    s = m.summary()
    return {**s, **derived_measures(m, s)}

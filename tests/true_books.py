"""The true-books C: scenario C whose ledger is written from the model's true books.

Before issue 10, C's ledger was written from the engine's books, so it could never be
wrong. Today C's agents write what they *hold*. :class:`TrueBooksDesign` is C with that
old rule put back, as a test oracle: every fact an author writes is replaced by its true
value at the moment of writing (the auditor's :meth:`ClaimLog.grade`), and every
replacement that changed a value is counted. It goes through the public extension point
(a :class:`TradingDesign` subclass passed as the scenario), so the model is not patched.

The null test (``tests/test_ledger_faults.py``) runs C and the true-books C side by side
on a faultless ledger (every fault 0, no count discrepancy, every write sealed at once):
the agents then hold — and write — the truth, so the two must trade identically and the
oracle must replace no value. With a fault on, it must find values to replace: that is
what makes the test able to fail.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pandas as pd

from admarket import MarketModel
from admarket.scenarios.designs import LedgerDesign
from admarket.scenarios.ledger_records import LedgerRecords
from admarket.scenarios.records import Records

CASES: dict[str, dict[str, Any]] = {
    "small": {"n_buyers": 3, "n_sellers": 3, "campaigns_per_buyer": 4, "days": 5},
    "plan": {},  # 30 days, 5 buyers x 5 sellers, seed 42
    "rot": {  # heavy memory loss: many recoveries from the ledger
        "n_buyers": 3,
        "n_sellers": 3,
        "campaigns_per_buyer": 4,
        "days": 10,
        "seed": 7,
        "decay_rate": 0.1,
        "restart_rate": 0.1,
        "hallucination_rate": 0.2,
    },
}
# The null ledger: no faults, no count discrepancy, every write sealed (readable) at once.
NULL_LEDGER = {
    "count_discrepancy": 0.0,
    "ledger_read_failure": 0.0,
    "ledger_write_failure": 0.0,
    "ledger_flush_hours": 0,
}
SETTLEMENT_FIELDS = ("step", "deal", "campaign", "invoice", "expected", "agreed", "paid", "outcome")


class TrueBooksRecords(LedgerRecords):
    """C's ledger, but every fact written is the truth at the time of writing."""

    def __init__(self, model: MarketModel, *args: Any):
        super().__init__(*args)
        self.model = model
        self.facts_written = 0
        self.facts_replaced: list[tuple[str, float, float]] = []  # (key, author's, true)

    def write(self, kind: str, payload: dict, author: str, step: int) -> bool:
        facts = payload.get("facts")
        if facts:
            true = {}
            for key, held in facts.items():
                value, _ = self.model.claims.grade(key, held)
                value = held if value != value else value  # NaN: a fact with no truth
                if value != held:
                    self.facts_replaced.append((key, held, value))
                true[key] = value
            self.facts_written += len(facts)
            payload = {**payload, "facts": true}
        return super().write(kind, payload, author, step)


class TrueBooksDesign(LedgerDesign):
    """Scenario C with its ledger written from the true books (see the module)."""

    def make_records(self) -> Records:
        made = super().make_records()
        assert isinstance(made, LedgerRecords)
        return TrueBooksRecords(self.model, made.ledger, self.model.config, self.model.events)


def run_case(design: Any, params: dict[str, Any], **extra: Any) -> MarketModel:
    """``design`` (``"C"`` or :class:`TrueBooksDesign`) on ``params`` with the null ledger
    (``extra`` overrides it)."""
    return MarketModel(design, **params, **{**NULL_LEDGER, **extra}).run()


def digest(df: pd.DataFrame) -> str:
    """SHA-256 of a frame's rows (floats by repr, so the check is exact)."""
    rows = df.astype(object).where(df.notna(), None).values.tolist()
    text = json.dumps([list(df.columns), rows], default=repr, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def fingerprint(m: MarketModel) -> dict[str, Any]:
    """What the null test compares: the summary and digests of trades and claims."""
    tx = m.transactions()
    trades = tx[tx["kind"] != "ledger_fee"].reset_index(drop=True)
    sett = pd.DataFrame([{k: s[k] for k in SETTLEMENT_FIELDS} for s in m.settlements])
    summary = {k: (None if isinstance(v, float) and v != v else v) for k, v in m.summary().items()}
    return {
        "summary": summary,
        "trades": digest(trades),
        "campaigns": digest(m.campaign_outcomes()),
        "settlements": digest(sett),
        "claim_audit": digest(m.claim_audit()),
    }

"""The recorded reference of scenario C's trades, for the null test of the agent-written ledger.

Before C's ledger was written by its agents (issue 10), C wrote the model's true books into
the ledger. ``tests/data/c_reference.json`` holds what that C traded on a few configurations:
its summary numbers and digests of its trades, campaign outcomes, settlements and claim
audit. The null test (``tests/test_ledger_faults.py``) runs today's C with every ledger fault
at 0, no count discrepancy and sealing on every write, and checks that it trades exactly so.

Regenerate (``python -m tests.c_reference --write``) only when C's trades are meant to change;
the file was first written from the code before issue 10, commit 8cca7c7.
"""

from __future__ import annotations

import argparse
import hashlib
import json
from pathlib import Path
from typing import Any

import pandas as pd

from admarket import MarketModel
from admarket.config import FIELDS

PATH = Path(__file__).parent / "data" / "c_reference.json"
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


def digest(df: pd.DataFrame) -> str:
    """SHA-256 of a frame's rows (floats by repr, so the check is exact)."""
    rows = df.astype(object).where(df.notna(), None).values.tolist()
    text = json.dumps([list(df.columns), rows], default=repr, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def run_case(params: dict[str, Any]) -> MarketModel:
    """C on ``params``, with the null ledger where this version of the model has its knobs."""
    null = {k: v for k, v in NULL_LEDGER.items() if k in FIELDS}
    return MarketModel("C", **params, **null).run()


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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--write", action="store_true", help=f"rewrite {PATH.name}")
    args = ap.parse_args()
    ref = {name: {"params": p, **fingerprint(run_case(p))} for name, p in CASES.items()}
    text = json.dumps(ref, indent=1, sort_keys=True) + "\n"
    if args.write:
        PATH.write_text(text, encoding="utf-8")
        print(f"wrote {PATH}")
    else:
        print(text)


if __name__ == "__main__":
    main()

"""Ledger append and verify throughput: entries per second, CPU time, min of 5 runs.

Each append signs the entry (Ed25519) and each verify checks every signature, so both are
bounded by the signature's cost (tens of microseconds to sign, more to verify).

python benchmarks/ledger.py [--entries 20000]
"""

from __future__ import annotations

import argparse
import time

from admarket.ledger.chain import Ledger
from admarket.ledger.keys import Keyring


def _append(n: int) -> Ledger:
    ledger = Ledger(keyring=Keyring(0, ["seller-1"]))
    for i in range(n):
        payload = {"deal": i % 50, "imps": 1000, "facts": {f"deal:{i % 50}:delivered": i}}
        ledger.append("delivery", payload, "seller-1", i // 100)
    return ledger


def main() -> None:
    ap = argparse.ArgumentParser(description=" ".join(__doc__.split("\n\n")[0].split()))
    ap.add_argument("--entries", type=int, default=20_000)
    n = ap.parse_args().entries
    appends, verifies = [], []
    for _ in range(5):
        t0 = time.process_time()
        ledger = _append(n)
        t1 = time.process_time()
        assert ledger.verify().ok
        t2 = time.process_time()
        appends.append(t1 - t0)
        verifies.append(t2 - t1)
    print(
        f"{n:,} entries: append {min(appends):.3f} s ({n / min(appends):,.0f}/s), "
        f"verify {min(verifies):.3f} s ({n / min(verifies):,.0f}/s) CPU, min of 5"
    )


if __name__ == "__main__":
    main()

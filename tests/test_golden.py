"""The golden results: `compare --days 30 --seeds 3` at defaults, fingerprinted table by table.

A refactor must leave every store table (every row) and report.json unchanged. A change
to the mechanics that moves the numbers on purpose regenerates ``tests/golden/golden.json``
(``python -m tests.golden.fingerprint --write``) in the same commit, naming the mechanism.
"""

from __future__ import annotations

import json

from tests.golden.fingerprint import GOLDEN, run_golden


def test_results_match_the_golden_fingerprint(tmp_path):
    want = json.loads(GOLDEN.read_text(encoding="utf-8"))
    got = run_golden(tmp_path / "golden")
    changed = {
        name: {"want": want["tables"].get(name), "got": fp}
        for name, fp in got["tables"].items()
        if want["tables"].get(name) != fp
    }
    missing = sorted(set(want["tables"]) - set(got["tables"]))
    assert not missing, f"tables gone from the store: {missing}"
    assert not changed, "store tables changed:\n" + json.dumps(changed, indent=1)[:4000]
    assert got["report_json"] == want["report_json"], "report.json changed"

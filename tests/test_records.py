"""Shared records: which keep what agents write (the settlement skips building the rest)."""

from __future__ import annotations

from admarket import MarketModel
from admarket.scenarios.records import NoSharedRecords, Records


def test_records_keep_writes_exactly_when_their_class_has_its_own_write_or_cosign():
    """B's records drop every write, so settlement builds none of their payloads; records
    that keep writes — C's ledger, or a new design's that overrides either method — are
    never skipped, whether or not they say so."""
    assert [MarketModel(s).records.keeps_writes for s in "ABC"] == [False, False, True]
    assert not NoSharedRecords().keeps_writes

    class Writes(Records):
        def write(self, kind, payload, author, step):
            return True

    class Cosigns(NoSharedRecords):
        def cosign(self, kind, payload, views, step):
            return True

    assert Writes().keeps_writes and Cosigns().keeps_writes

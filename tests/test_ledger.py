"""Tests for the scenario C ledger (hash chain, blobs, persistence) and its cost model."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from admarket.ledger.chain import (
    ENTRY_KINDS,
    GENESIS_HASH,
    Ledger,
    LedgerEntry,
    LedgerFormatError,
    verify_entries,
    verify_file,
)
from admarket.ledger.cost import LedgerCostModel

KINDS = sorted(ENTRY_KINDS)
SLOW_OK = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def build(n: int, records_per_blob: int = 4, **kw) -> Ledger:
    """A ledger of ``n`` entries cycling through kinds, authors and deal facts."""
    ledger = Ledger(records_per_blob=records_per_blob, **kw)
    for i in range(n):
        deal = i % 5
        payload = {"deal": deal, "cpm": 2.0 + i / 10, "tags": ["a", i], "facts": {}}
        payload["facts"] = {f"deal:{deal}:cpm": 2.0 + i / 10, f"deal:{deal}:count": i}
        ledger.append(KINDS[i % len(KINDS)], payload, f"agent-{i % 3}", i // 3)
    return ledger


def expected_hash(e: LedgerEntry) -> str:
    """The hash as the spec defines it, computed independently of the module."""
    body = {f: getattr(e, f) for f in ("entry_id", "blob_id", "kind", "payload", "author")}
    body |= {"step": e.step, "prev_hash": e.prev_hash}
    text = json.dumps(body, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def rewrite_hashes(entries: list[LedgerEntry], start: int) -> list[LedgerEntry]:
    """Forge a consistent chain from ``start`` on, as an attacker who recomputes hashes would."""
    out = entries[:start]
    for e in entries[start:]:
        prev = out[-1].hash if out else GENESIS_HASH
        e = dataclasses.replace(e, prev_hash=prev, hash="")
        out.append(dataclasses.replace(e, hash=expected_hash(e)))
    return out


# --- chain -------------------------------------------------------------------------------


def test_chain_links_and_hash_definition():
    ledger = build(10)
    entries = ledger.entries
    assert entries[0].prev_hash == GENESIS_HASH
    for i, e in enumerate(entries):
        assert e.entry_id == i
        assert e.hash == expected_hash(e)
        if i:
            assert e.prev_hash == entries[i - 1].hash
    assert ledger.head_hash == entries[-1].hash
    assert ledger.verify().ok and ledger.verify().first_bad is None


def test_non_ascii_content_hashes_per_spec():
    ledger = Ledger()
    e = ledger.append("quote", {"note": "café ☕", "nested": {"ü": [1, None, True]}}, "über", 0)
    assert e.hash == expected_hash(e)
    assert ledger.verify().ok


def test_empty_ledger_verifies():
    result = Ledger().verify()
    assert result.ok and result.n_entries == 0 and result.reason == "ok"


@SLOW_OK
@given(
    n=st.integers(2, 30),
    rpb=st.integers(1, 7),
    data=st.data(),
    field=st.sampled_from(["payload", "author", "kind", "step", "blob_id", "hash", "prev_hash"]),
)
def test_editing_any_field_names_that_entry(n, rpb, data, field):
    ledger = build(n, rpb)
    k = data.draw(st.integers(0, n - 1))
    entries = list(ledger.entries)
    e = entries[k]
    new = {
        "payload": {**e.payload, "cpm": e.payload["cpm"] + 0.01},
        "author": e.author + "x",
        "kind": KINDS[(KINDS.index(e.kind) + 1) % len(KINDS)],
        "step": e.step + 1,
        "blob_id": e.blob_id + 1,
        "hash": "f" * 64 if e.hash != "f" * 64 else "e" * 64,
        "prev_hash": "a" * 64,
    }[field]
    entries[k] = dataclasses.replace(e, **{field: new})
    result = verify_entries(entries, ledger.blobs)
    assert not result.ok
    assert result.first_bad == k, result.reason


@SLOW_OK
@given(n=st.integers(3, 30), data=st.data())
def test_deleting_reordering_inserting_detected(n, data):
    entries = list(build(n, 4).entries)
    k = data.draw(st.integers(0, n - 2))
    deleted = entries[:k] + entries[k + 1 :]
    assert verify_entries(deleted).first_bad == k
    j = data.draw(st.integers(k + 1, n - 1))
    swapped = list(entries)
    swapped[k], swapped[j] = swapped[j], swapped[k]
    assert verify_entries(swapped).first_bad == k
    inserted = [*entries[:k], entries[k], *entries[k:]]  # a replayed duplicate
    result = verify_entries(inserted)
    assert not result.ok and result.first_bad in (k, k + 1)


def test_dropping_the_tail_needs_an_anchor():
    ledger = build(12, 4)  # three sealed blobs
    entries = list(ledger.entries)
    assert verify_entries(entries[:-1]).ok  # a bare chain cannot see a dropped tail...
    result = verify_entries(entries[:-1], ledger.blobs)  # ...the blob anchors can
    assert not result.ok and result.first_bad == 11


def test_recomputed_hashes_caught_by_blob_anchor():
    ledger = build(20, 5)
    entries = list(ledger.entries)
    entries[7] = dataclasses.replace(entries[7], payload={**entries[7].payload, "cpm": 0.01})
    forged = rewrite_hashes(entries, 7)
    assert verify_entries(forged).ok  # consistent forgery: the chain alone is fooled
    result = verify_entries(forged, ledger.blobs)
    assert not result.ok and result.first_bad == 5  # first entry of the rewritten blob


def test_mutating_callers_payload_after_append_is_harmless():
    ledger = Ledger()
    payload = {"price": 3.0, "facts": {"deal:1:price": 3.0}}
    ledger.append("accept", payload, "buyer-1", 0)
    payload["price"] = 99.0
    payload["facts"]["deal:1:price"] = 99.0
    assert ledger[0].payload["price"] == 3.0
    assert ledger.latest("deal:1:price") == 3.0
    assert ledger.verify().ok


@pytest.mark.parametrize(
    "payload, exc",
    [
        ({"a": (1, 2)}, TypeError),
        ({"a": {1, 2}}, TypeError),
        ({1: "int key"}, TypeError),
        ({"a": {"b": object()}}, TypeError),
        ({"a": [1, float("nan")]}, ValueError),
        ({"a": float("inf")}, ValueError),
        ({"facts": {"x": "high"}}, TypeError),
        ({"facts": {"x": True}}, TypeError),
        ({"facts": [1]}, TypeError),
        (["not", "a", "dict"], TypeError),
    ],
)
def test_append_rejects_non_json_payloads(payload, exc):
    ledger = build(3)
    with pytest.raises(exc):
        ledger.append("quote", payload, "a", 0)
    assert ledger.n_entries == 3 and ledger.verify().ok  # nothing half-written


def test_append_rejects_bad_kind_author_step():
    ledger = Ledger()
    with pytest.raises(ValueError, match="kind"):
        ledger.append("bribe", {}, "a", 0)
    with pytest.raises(TypeError, match="author"):
        ledger.append("quote", {}, 7, 0)
    with pytest.raises(ValueError, match="step"):
        ledger.append("quote", {}, "a", -1)
    with pytest.raises(ValueError, match="records_per_blob"):
        Ledger(records_per_blob=0)


# --- facts -------------------------------------------------------------------------------


def test_latest_returns_most_recent_value():
    ledger = Ledger()
    assert ledger.latest("deal:1:price") is None
    ledger.append("proposal", {"facts": {"deal:1:price": 4.0}}, "buyer", 0)
    ledger.append("counter", {"facts": {"deal:1:price": 5.5, "deal:2:price": 1}}, "seller", 1)
    ledger.append("delivery", {"impressions": 10}, "seller", 2)
    assert ledger.latest("deal:1:price") == 5.5
    assert ledger.latest("deal:2:price") == 1.0
    assert ledger.facts_with_prefix("deal:1:") == {"deal:1:price": 5.5}


@settings(max_examples=80, deadline=None)
@given(
    updates=st.lists(
        st.tuples(
            st.sampled_from(["deal:1:price", "deal:1:qty", "deal:12:price", "cmp:3:x", "solo"]),
            st.integers(-1000, 1000),
        ),
        max_size=30,
    ),
    prefix=st.sampled_from(["deal:1:", "deal:1", "deal:1:p", "deal:", "", "cmp:3:", "x:9:", "s"]),
)
def test_fact_index_matches_brute_force(updates, prefix):
    ledger = Ledger(records_per_blob=3)
    truth: dict[str, float] = {}
    for step, (key, value) in enumerate(updates):
        ledger.append("delivery", {"facts": {key: value}}, "s", step)
        truth[key] = float(value)
    for key, value in truth.items():
        assert ledger.latest(key) == value
    want = {k: v for k, v in truth.items() if k.startswith(prefix)}
    assert ledger.facts_with_prefix(prefix) == want


# --- blobs and costs ---------------------------------------------------------------------


def test_blobs_seal_at_records_per_blob_and_on_request():
    ledger = build(7, records_per_blob=3)
    assert [e.blob_id for e in ledger.entries] == [0, 0, 0, 1, 1, 1, 2]
    assert ledger.n_blobs == 2 and [b.n_entries for b in ledger.blobs] == [3, 3]
    sealed = ledger.seal_blob()
    assert sealed is not None and sealed.blob_id == 2 and sealed.n_entries == 1
    assert sealed.last_hash == ledger.head_hash
    assert ledger.seal_blob() is None  # nothing open
    e = ledger.append("settlement", {"ok": True}, "buyer", 9)
    assert e.blob_id == 3


def test_blob_bytes_and_costs_add_up():
    model = LedgerCostModel()
    ledger = build(23, records_per_blob=5, cost_model=model)
    ledger.seal_blob()
    for blob in ledger.blobs:
        members = [e for e in ledger.entries if e.blob_id == blob.blob_id]
        size = sum(len(_body_text(e)) for e in members)
        assert blob.payload_bytes == size
        assert blob.cost == model.blob_cost(size)
    assert ledger.total_usd == pytest.approx(math.fsum(b.cost.usd for b in ledger.blobs))
    assert ledger.total_sui == pytest.approx(math.fsum(b.cost.sui for b in ledger.blobs))
    assert ledger.total_wal == pytest.approx(math.fsum(b.cost.wal for b in ledger.blobs))
    assert ledger.total_usd > 0


def _body_text(e: LedgerEntry) -> str:
    body = {k: v for k, v in dataclasses.asdict(e).items() if k != "hash"}
    return json.dumps(body, sort_keys=True, separators=(",", ":"))


def test_default_costs_reproduce_calibration_orders_of_magnitude():
    """calibration.md: one tx per impression ≈ a display CPM; ~1,000/record ≈ a cent."""
    m = LedgerCostModel()
    record = 300  # bytes of one canonical ledger entry, as build() produces
    unbatched = m.per_impression_record_cost_per_mille(record)
    per_record = m.batched_cost_per_mille(record, impressions_per_record=1000, records_per_blob=1)
    batched = m.batched_cost_per_mille(record, impressions_per_record=1000, records_per_blob=500)
    assert 1.0 <= unbatched <= 10.0  # display-CPM territory, $ per 1,000 impressions
    assert 0.001 <= per_record <= 0.05  # "around a cent per 1,000"
    assert batched <= per_record < 0.10
    assert batched < unbatched / 50
    assert unbatched == m.batched_cost_per_mille(record, 1, 1)


def test_cost_model_directions():
    m = LedgerCostModel()
    assert m.sui_tx_cost_sui(250) > m.sui_tx_cost_sui(0) > 0
    kept = dataclasses.replace(m, delete_objects=False)
    assert kept.blob_cost(1000).sui > m.blob_cost(1000).sui  # no rebate -> dearer
    assert m.blob_cost(10 * 2**20).wal > m.blob_cost(1000).wal  # bigger blob, more storage
    longer = dataclasses.replace(m, walrus_epochs=6)
    assert longer.blob_cost(1000).wal > m.blob_cost(1000).wal
    small = m.blob_cost(0)
    assert small.encoded_bytes == m.walrus_metadata_bytes  # metadata even for an empty blob
    per_blob = [m.batched_cost_per_mille(300, 1, r) for r in (1, 10, 100, 1000)]
    assert per_blob == sorted(per_blob, reverse=True)  # batching only ever helps


@pytest.mark.parametrize(
    "field, value",
    [
        ("sui_price_usd", 0.0),
        ("wal_price_usd", -1.0),
        ("reference_gas_price_mist", float("nan")),
        ("computation_units_per_tx", 0),
        ("computation_units_per_tx", 1.5),
        ("storage_rebate", 1.5),
        ("storage_units_per_byte", -1.0),
        ("object_bytes", -1),
        ("walrus_encoding_factor", 0.5),
        ("walrus_metadata_bytes", -5),
        ("walrus_price_wal_per_mib_epoch", float("inf")),
        ("walrus_epochs", 0),
        ("walrus_epochs", 54),
        ("sui_txs_per_store", 0),
        ("delete_objects", 1),
        ("sui_price_usd", "3.5"),
        ("walrus_epochs", True),
    ],
)
def test_cost_model_rejects_bad_parameters(field, value):
    with pytest.raises(ValueError, match=field):
        LedgerCostModel(**{field: value})


def test_cost_methods_reject_bad_arguments():
    m = LedgerCostModel()
    with pytest.raises(ValueError):
        m.blob_cost(-1)
    with pytest.raises(TypeError):
        m.sui_tx_cost_sui(2.5)
    with pytest.raises(ValueError, match="records_per_blob"):
        m.batched_cost_per_mille(300, 1000, 0)


# --- persistence -------------------------------------------------------------------------


def test_save_load_round_trip(tmp_path):
    ledger = build(11, 4, cost_model=LedgerCostModel(sui_price_usd=2.0))
    path = tmp_path / "ledger.jsonl"
    ledger.save(path)
    loaded = Ledger.load(path)
    assert loaded.entries == ledger.entries
    assert loaded.blobs == ledger.blobs
    assert loaded.cost_model == ledger.cost_model
    assert loaded.records_per_blob == 4
    assert (loaded.total_sui, loaded.total_wal, loaded.total_usd) == (
        ledger.total_sui,
        ledger.total_wal,
        ledger.total_usd,
    )
    assert loaded.facts_with_prefix("deal:") == ledger.facts_with_prefix("deal:")
    assert loaded.verify().ok and verify_file(path).ok
    # The open blob is restored too: both continue identically.
    for led in (ledger, loaded):
        led.append("settlement", {"paid": 10.5}, "buyer", 99)
    assert loaded.entries == ledger.entries and loaded.blobs == ledger.blobs
    assert loaded.verify().ok
    assert [p.name for p in tmp_path.iterdir()] == ["ledger.jsonl"]  # no temp files left


def test_file_layout(tmp_path):
    path = tmp_path / "l.jsonl"
    build(5, 2).save(path)
    lines = path.read_text().splitlines()
    header, trailer = json.loads(lines[0]), json.loads(lines[-1])
    assert header["format"] == "admarket-ledger" and header["version"] == 1
    assert header["records_per_blob"] == 2 and "sui_price_usd" in header["cost_model"]
    assert len(lines) == 1 + 5 + 1
    assert json.loads(lines[1])["entry_id"] == 0
    assert trailer["trailer"]["n_entries"] == 5 and len(trailer["trailer"]["blobs"]) == 2


def test_failed_save_keeps_previous_file(tmp_path, monkeypatch):
    path = tmp_path / "l.jsonl"
    build(3).save(path)
    before = path.read_text()

    def boom(*_args):
        raise OSError("disk full")

    monkeypatch.setattr("admarket.ledger.chain.os.replace", boom)
    with pytest.raises(OSError):
        build(6).save(path)
    assert path.read_text() == before
    assert [p.name for p in tmp_path.iterdir()] == ["l.jsonl"]


def _edit_line(path, k: int, edit) -> None:
    """Apply ``edit`` to the JSON object of entry ``k`` (file line k + 2) and rewrite it."""
    lines = path.read_text().splitlines()
    row = json.loads(lines[k + 1])
    edit(row)
    lines[k + 1] = json.dumps(row, sort_keys=True, separators=(",", ":"))
    path.write_text("\n".join(lines) + "\n")


@SLOW_OK
@given(n=st.integers(1, 25), data=st.data())
def test_tampered_file_names_first_bad_entry(tmp_path_factory, n, data):
    path = tmp_path_factory.mktemp("t") / "l.jsonl"
    build(n, 4).save(path)
    assert verify_file(path).ok
    k = data.draw(st.integers(0, n - 1))
    how = data.draw(st.sampled_from(["payload", "author", "kind", "step", "unknown_kind"]))

    def edit(row):
        if how == "payload":
            row["payload"]["deal"] += 1
        elif how == "author":
            row["author"] = "mallory"
        elif how == "kind":
            row["kind"] = "dispute" if row["kind"] != "dispute" else "quote"
        elif how == "step":
            row["step"] += 24
        else:
            row["kind"] = "bribe"

    _edit_line(path, k, edit)
    result = verify_file(path)
    assert not result.ok and result.first_bad == k, result.reason


def test_deleted_or_swapped_lines_in_file_detected(tmp_path):
    path = tmp_path / "l.jsonl"
    build(10, 4).save(path)
    lines = path.read_text().splitlines()
    for k in (0, 4, 9):  # first, a middle one, and the last entry (needs the trailer anchor)
        path.write_text("\n".join(lines[: k + 1] + lines[k + 2 :]) + "\n")
        result = verify_file(path)
        assert not result.ok and result.first_bad == k, (k, result.reason)
    swapped = list(lines)
    swapped[3], swapped[6] = swapped[6], swapped[3]  # entries 2 and 5
    path.write_text("\n".join(swapped) + "\n")
    assert verify_file(path).first_bad == 2


def test_load_errors_are_clear(tmp_path):
    with pytest.raises(LedgerFormatError, match="no ledger file"):
        Ledger.load(tmp_path / "missing.jsonl")
    path = tmp_path / "l.jsonl"
    build(4).save(path)
    lines = path.read_text().splitlines()
    cases = {
        "not JSON": [lines[0], "{oops", *lines[2:]],
        "header": ['{"format": "something-else"}', *lines[1:]],
        "version": [lines[0].replace('"version":1', '"version":2'), *lines[1:]],
        "trailer": lines[:-1],
        "bad entry": [lines[0], lines[1].replace('"step":0', '"step":"0"'), *lines[2:]],
    }
    for match, content in cases.items():
        path.write_text("\n".join(content) + "\n")
        with pytest.raises(LedgerFormatError, match=match):
            Ledger.load(path)
    path.write_text("")
    with pytest.raises(LedgerFormatError):
        Ledger.load(path)
    path.write_text("\n".join([lines[0], lines[1].replace("2.0", "NaN", 1), *lines[2:]]))
    with pytest.raises(LedgerFormatError, match="NaN"):
        Ledger.load(path)
    result = verify_file(tmp_path / "missing.jsonl")
    assert not result.ok and "format error" in result.reason


def test_bad_entry_line_reported_by_verify_file(tmp_path):
    path = tmp_path / "l.jsonl"
    build(6).save(path)
    _edit_line(path, 3, lambda row: row.update(step="late"))
    result = verify_file(path)
    assert not result.ok and result.first_bad == 3


# --- volume (its speed is measured in benchmarks/ledger.py, not here) ---------------------


def test_twenty_thousand_entries_batch_into_blobs_and_verify():
    ledger = Ledger()
    for i in range(20_000):
        payload = {"deal": i % 50, "imps": 1000, "facts": {f"deal:{i % 50}:delivered": i}}
        ledger.append("delivery", payload, "seller-1", i // 100)
    assert ledger.n_blobs == 40 and ledger.verify().ok

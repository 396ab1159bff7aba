"""The scenario C ledger: signed hash chain, blobs and seals, readability, file, cost model.

Tampering, kind by kind, is tested in tests/test_ledger_tamper.py; the ledger in the model
(its faults, the null tests) in tests/test_ledger_faults.py.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import pickle

import numpy as np
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from admarket.errors import LedgerFormatError
from admarket.ledger.canonical import canonical, decoder, plain_copy_text
from admarket.ledger.chain import Ledger
from admarket.ledger.cost import LedgerCostModel
from admarket.ledger.entry import (
    FIELD_TYPES,
    SEAL,
    TWO_PARTY,
    LedgerEntry,
    Signatures,
    entry_tail,
    entry_text,
    entry_texts,
    genesis_hash,
    hashed_text,
    required_signers,
    signed_text,
)
from admarket.ledger.file import read_ledger_file, verify_file
from admarket.ledger.keys import STORAGE_SIGNER, Keyring
from admarket.outputs.run_tables import to_json

ONE_PARTY = ["accept", "counter", "delivery", "proposal", "quote", "settlement"]
AGENTS = ["agent-0", "agent-1", "agent-2", "buyer-1", "seller-1", "über", "s"]
KEYS = Keyring(7, AGENTS)
SLOW_OK = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def build(n: int, records_per_blob: int = 4, **kw) -> Ledger:
    """A ledger of ``n`` entries cycling through kinds and authors; every fifth a booking
    co-signed by buyer-1 and seller-1."""
    ledger = Ledger(records_per_blob=records_per_blob, keyring=KEYS, **kw)
    for i in range(n):
        deal = i % 5
        facts = {f"deal:{deal}:cpm": 2.0 + i / 10, f"deal:{deal}:count": i}
        if i % 5 == 4:
            payload = {"deal": deal, "buyer": "buyer-1", "seller": "seller-1", "facts": facts}
            ledger.append("booking", payload, "seller-1", i // 3)
        else:
            payload = {"deal": deal, "cpm": 2.0 + i / 10, "tags": ["a", i], "facts": facts}
            ledger.append(ONE_PARTY[i % len(ONE_PARTY)], payload, f"agent-{i % 3}", i // 3)
    return ledger


def data(ledger: Ledger) -> list[LedgerEntry]:
    """The entries that are not seals."""
    return [e for e in ledger.entries if e.kind != SEAL]


def expected_hash(e: LedgerEntry) -> str:
    """The hash as the spec defines it, computed independently of the module."""
    body = {k: v for k, v in e.to_row().items() if k != "hash"}  # payload decoded
    text = json.dumps(body, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def signature_ok(ledger: Ledger, e: LedgerEntry, signer: str) -> bool:
    """Check one signature with the cryptography package (OpenSSL), a second implementation
    of what signed it (libsodium), from the header's key."""
    body = e.to_row()
    del body["hash"], body["signatures"]
    message = json.dumps(body, sort_keys=True, separators=(",", ":")).encode()
    key = Ed25519PublicKey.from_public_bytes(bytes.fromhex(ledger.header["keys"][signer]))
    try:
        key.verify(bytes.fromhex(e.signatures[signer]), message)
    except Exception:
        return False
    return True


# --- chain and signatures --------------------------------------------------------------------


def test_chain_links_hashes_and_signatures_per_spec():
    ledger = build(10)
    entries = ledger.entries
    assert entries[0].prev_hash == ledger.genesis == genesis_hash(ledger.header)
    for i, e in enumerate(entries):
        assert e.entry_id == i and e.hash == expected_hash(e)
        if i:
            assert e.prev_hash == entries[i - 1].hash
        want = {STORAGE_SIGNER} if e.kind == SEAL else {e.author}
        if e.kind in TWO_PARTY:
            want = {"buyer-1", "seller-1"}
        assert set(e.signatures) == want
        assert all(signature_ok(ledger, e, s) for s in want)
    assert ledger.head_hash == entries[-1].hash
    assert ledger.verify().ok and ledger.verify().first_bad is None


def test_spliced_entry_texts_equal_the_canonical_texts():
    # the ledger encodes a payload once and splices it into the signed and hashed texts
    ledger = build(10)
    ledger.append("quote", {"note": "café ☕", "q": '"payload":0'}, "über", 9)
    for e in ledger.entries:
        args = (e.entry_id, e.blob_id, e.kind, canonical(e.payload), e.author, e.step)
        assert entry_texts(*args, e.prev_hash, None) == signed_text(e)
        assert entry_texts(*args, e.prev_hash, e.signatures) == hashed_text(e)
        assert entry_text(e, signed=True) == signed_text(e) and entry_text(e) == hashed_text(e)


def test_signatures_write_the_same_members_as_a_dict_of_their_items():
    """The ledger's Signatures write their JSON members from the raw bytes; the text is the
    one the generic path writes for the same signer -> hex dict, in sorted signer order
    whatever order the signers were given in (and with names that need escaping)."""
    raw = bytes(range(64)) + bytes(range(64, 128)) + bytes(range(128, 192))
    for signers in (("seller-1",), ("buyer-1", "seller-1"), ("z\u00e9", 'a"b', "m")):
        sigs = Signatures(signers, raw[: 64 * len(signers)])
        assert entry_tail("{", 3, sigs) == entry_tail("{", 3, dict(sigs.items()))
        names = list(json.loads(entry_tail("{", 3, sigs))["signatures"])
        assert names == sorted(signers)


def test_entries_read_from_a_file_splice_the_same_texts(tmp_path):
    """Entries loaded from a file (their payload text encoded from the file's JSON) give
    the same spliced texts as the reference texts, and the file verifies."""
    ledger = build(12)
    ledger.append("quote", {"note": "café ☕", "big": 2**70, "x": -0.0, "e": 1e-300}, "über", 9)
    ledger.seal_blob()
    ledger.save(tmp_path / "l.jsonl")
    _, entries, _ = read_ledger_file(tmp_path / "l.jsonl")
    assert entries == list(ledger.entries)
    for e in entries:
        assert entry_text(e, signed=True) == signed_text(e) and entry_text(e) == hashed_text(e)
    assert verify_file(tmp_path / "l.jsonl").ok


def test_keys_are_deterministic_per_seed_and_agent_and_signatures_too():
    a, b, c = Keyring(7, AGENTS), Keyring(7, AGENTS), Keyring(8, AGENTS)
    assert a.public == b.public and a.public != c.public
    assert len(set(a.public.values())) == len(a.public)  # one key per signer
    assert build(7).entries == build(7).entries  # Ed25519 is deterministic


def test_non_ascii_content_hashes_per_spec():
    ledger = Ledger(keyring=KEYS)
    e = ledger.append("quote", {"note": "café ☕", "nested": {"ü": [1, None, True]}}, "über", 0)
    assert e.hash == expected_hash(e) and signature_ok(ledger, e, "über")
    assert ledger.verify().ok


def test_empty_ledger_verifies_and_its_head_is_the_genesis():
    ledger = Ledger(keyring=KEYS)
    result = ledger.verify(anchor=(0, ledger.genesis))
    assert result.ok and result.n_entries == 0 and ledger.head_hash == ledger.genesis


def test_append_refuses_unknown_signers_and_non_parties():
    ledger = Ledger(keyring=KEYS)
    with pytest.raises(ValueError, match="no signing key"):
        ledger.append("quote", {}, "mallory", 0)
    with pytest.raises(ValueError, match="not a party"):
        ledger.append("booking", {"buyer": "buyer-1", "seller": "seller-1"}, "agent-0", 0)
    with pytest.raises(ValueError, match="no signing key"):  # the other party has no key
        ledger.append("invoice", {"buyer": "mallory", "seller": "seller-1"}, "seller-1", 0)
    with pytest.raises(ValueError, match="kind"):
        ledger.append(SEAL, {}, STORAGE_SIGNER, 0)  # only seal_blob writes seals
    assert ledger.n_entries == 0


def test_mutating_callers_payload_after_append_is_harmless():
    ledger = Ledger(keyring=KEYS)
    payload = {"price": 3.0, "facts": {"deal:1:price": 3.0}}
    ledger.append("accept", payload, "buyer-1", 0)
    payload["price"] = 99.0
    payload["facts"]["deal:1:price"] = 99.0
    ledger.seal_blob()
    assert ledger[0].payload["price"] == 3.0
    assert ledger.latest("deal:1:price") == 3.0
    assert ledger.verify().ok
    ledger[0].payload["price"] = 7.0  # a read is a new dict: the entry keeps its text
    assert ledger[0].payload == {"price": 3.0, "facts": {"deal:1:price": 3.0}}


def test_an_entry_keeps_its_payload_as_canonical_text_and_gives_back_its_fields():
    ledger = build(10)
    for e in ledger.entries:
        assert e.payload_text == canonical(e.payload)
        row = e.to_row()
        assert list(row) == list(FIELD_TYPES) and type(row["payload"]) is dict
        assert LedgerEntry.of(**row) == e


def test_an_entrys_signatures_read_as_the_dict_a_file_holds():
    """The ledger keeps signatures as raw bytes under shared signer names; they read, compare,
    pickle and print as the dict of hex signatures a ledger file holds (its JSON alike)."""
    ledger = build(12)
    two_party = [e for e in ledger.entries if len(e.signatures) == 2]
    assert two_party and all(type(e.signatures) is Signatures for e in ledger.entries)
    keyring = ledger.keyring
    for e in ledger.entries:
        sigs = e.signatures
        as_dict = {s: keyring.sign(s, entry_text(e, signed=True).encode()) for s in sigs}
        assert sigs == as_dict and as_dict == sigs  # both ways
        assert dict(sigs) == as_dict and list(sigs) == sorted(as_dict) and len(sigs) == len(as_dict)
        assert sigs.items() == as_dict.items() and repr(sigs) == repr(as_dict)
        assert list(sigs.items()) == list(as_dict.items())  # in the signers' sorted order
        assert to_json(sigs) == to_json(as_dict)  # the store's JSON columns take it as is
        assert (
            pickle.loads(pickle.dumps(sigs)) == sigs
            and json.loads(canonical(e.to_row()))["signatures"] == as_dict
        )
        with pytest.raises(KeyError):
            sigs["nobody"]
    forged = dict(two_party[0].signatures) | {next(iter(two_party[0].signatures)): "00" * 64}
    assert two_party[0].signatures != forged
    # the parties' names are one tuple across their entries
    names = {id(e.signatures._signers) for e in two_party if set(e.signatures) == set(forged)}
    assert len(names) == 1
    with pytest.raises(ValueError, match="64 bytes"):
        Signatures(("a", "b"), b"\0" * 64)


def test_a_ledger_checkpointed_before_signer_names_were_shared_goes_on_the_same(tmp_path):
    """A checkpoint from before the shared signer names (format 6 as first written) holds
    a ledger whose entries' signatures are dicts, without the names' table: it resumes, and
    goes on as one that never stopped, to the same file byte for byte."""
    older, same = build(9), build(9)
    older._entries[:] = [dataclasses.replace(e, signatures=dict(e.signatures)) for e in older]
    del older.__dict__["_signer_sets"]
    resumed = pickle.loads(pickle.dumps(older))
    assert type(resumed[0].signatures) is dict
    payload = {"deal": 7, "buyer": "buyer-1", "seller": "seller-1", "facts": {}}
    for ledger in (resumed, same):
        ledger.append("booking", payload, "buyer-1", 5)
    assert resumed.entries == same.entries and resumed.verify().ok
    resumed.save(tmp_path / "resumed.jsonl")
    same.save(tmp_path / "same.jsonl")
    assert (tmp_path / "resumed.jsonl").read_bytes() == (tmp_path / "same.jsonl").read_bytes()


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
        ledger.append("quote", payload, "agent-0", 0)
    assert ledger.n_entries == 3 and ledger.verify().ok  # nothing half-written


_JSON_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=6)
)
_JSON = st.recursive(
    _JSON_SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4)
    ),
    max_leaves=20,
)


@SLOW_OK
@given(st.dictionaries(st.text(max_size=5), _JSON, max_size=6))
def test_payload_copy_equals_its_canonical_text_decoded(payload):
    """The ledger copies a plain payload without decoding it; the copy must be what the
    decoding path gave: equal values of the same types, keys in the same (sorted) order."""
    copy, text = plain_copy_text(payload)
    decoded = decoder.decode(text)
    assert text == canonical(payload)
    assert canonical(copy) == text
    assert repr(copy) == repr(decoded)  # same types, values (incl. -0.0) and key order
    assert copy is not payload


_STDLIB = json.JSONEncoder(sort_keys=True, separators=(",", ":"), allow_nan=False)


def _outcome(encode, value):
    try:
        return encode(value)
    except (TypeError, ValueError) as exc:
        return type(exc), str(exc)


_ODD = st.sampled_from([float("nan"), float("inf"), (1, 2), object(), {1: "a", "b": 2}])


@SLOW_OK
@given(st.dictionaries(st.text(max_size=5), _JSON | _ODD, max_size=6), st.booleans())
def test_canonical_is_the_stdlib_encoder_text_errors_included(payload, circular):
    """canonical keeps one C encoder per thread: it must give the stdlib encoder's text or
    error for any value, and a failed encoding (e.g. a circular one) must not leave markers
    behind that fail the next."""
    if circular:
        payload["self"] = [payload]
    got = _outcome(canonical, payload)
    want = _outcome(_STDLIB.encode, payload)
    if isinstance(want, str):
        assert got == want
    else:  # the same error (an unorderable key's message may name its types either way)
        assert got[0] is want[0]
    assert canonical({"after": [1, 2.5, "x"]}) == '{"after":[1,2.5,"x"]}'
    assert canonical("text") == _STDLIB.encode("text")


@pytest.mark.parametrize(
    "payload",
    [
        {"buyer": "b-1", "seller": "s-1"},
        {"buyer": "s-1", "seller": "b-1"},
        {"buyer": "x", "seller": "x"},
        {"buyer": "b-1"},
        {"seller": 3, "buyer": "b"},
        {},
    ],
)
def test_two_party_signers_are_the_sorted_named_parties(payload):
    parties = {payload.get("buyer"), payload.get("seller")}
    want = tuple(sorted(p for p in parties if isinstance(p, str)))
    assert required_signers("invoice", payload, "anyone") == want


def test_payload_copy_of_non_exact_types_takes_the_decoding_path():
    """Values JSON coerces are judged as before: a numpy float is accepted and stored as a
    plain float (also inside a list), a tuple or a numpy integer is refused."""
    copy, _ = plain_copy_text({"a": np.float64(1.5), "b": [np.float64(2.0)]})
    assert copy == {"a": 1.5, "b": [2.0]}
    assert type(copy["a"]) is float and type(copy["b"][0]) is float
    for bad in ({"a": (1, 2)}, {"a": [np.int64(3)]}):
        with pytest.raises(TypeError):
            plain_copy_text(bad)


def test_append_rejects_bad_kind_author_step():
    ledger = Ledger(keyring=KEYS)
    with pytest.raises(ValueError, match="kind"):
        ledger.append("bribe", {}, "agent-0", 0)
    with pytest.raises(TypeError, match="author"):
        ledger.append("quote", {}, 7, 0)
    with pytest.raises(ValueError, match="step"):
        ledger.append("quote", {}, "agent-0", -1)
    with pytest.raises(ValueError, match="records_per_blob"):
        Ledger(records_per_blob=0)


# --- readability: only sealed entries are read ---------------------------------------------


def test_facts_become_readable_when_their_blob_is_sealed():
    ledger = Ledger(records_per_blob=100, keyring=KEYS)
    assert ledger.latest("deal:1:price") is None
    ledger.append("proposal", {"facts": {"deal:1:price": 4.0}}, "buyer-1", 0)
    ledger.append("counter", {"facts": {"deal:1:price": 5.5, "deal:2:price": 1}}, "seller-1", 1)
    assert ledger.latest("deal:1:price") is None and ledger.open_entries == 2  # not sealed
    assert ledger.open_since == 0
    ledger.seal_blob(step=3)
    assert ledger.latest("deal:1:price") == 5.5 and ledger.latest("deal:2:price") == 1.0
    assert ledger.facts_with_prefix("deal:1:") == {"deal:1:price": 5.5}
    assert ledger.open_entries == 0 and ledger.open_since is None
    assert ledger[-1].kind == SEAL and ledger[-1].step == 3


@settings(max_examples=60, deadline=None)
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
    ledger = Ledger(records_per_blob=3, keyring=KEYS)
    truth: dict[str, float] = {}
    for step, (key, value) in enumerate(updates):
        ledger.append("delivery", {"facts": {key: value}}, "s", step)
        truth[key] = float(value)
    ledger.seal_blob()
    for key, value in truth.items():
        assert ledger.latest(key) == value
    want = {k: v for k, v in truth.items() if k.startswith(prefix)}
    assert ledger.facts_with_prefix(prefix) == want
    assert ledger.readable_facts() == truth


# --- blobs, seals and costs ------------------------------------------------------------------


def test_blobs_seal_at_records_per_blob_and_on_request():
    ledger = build(7, records_per_blob=3)
    kinds = [(e.blob_id, e.kind == SEAL) for e in ledger.entries]
    assert kinds == [(0, False)] * 3 + [(0, True)] + [(1, False)] * 3 + [(1, True), (2, False)]
    assert ledger.n_blobs == 2 and [b.n_entries for b in ledger.blobs] == [3, 3]
    sealed = ledger.seal_blob()
    assert sealed is not None and sealed.blob_id == 2 and sealed.n_entries == 1
    assert sealed.last_hash == ledger[-2].hash  # the last data entry; the seal follows it
    assert ledger.seal_blob() is None  # nothing open
    e = ledger.append("settlement", {"ok": True}, "buyer-1", 9)
    assert e.blob_id == 3
    assert ledger.verify().ok


def test_blob_bytes_costs_and_seals_add_up():
    model = LedgerCostModel()
    ledger = build(23, records_per_blob=5, cost_model=model)
    ledger.seal_blob()
    seals = [e for e in ledger.entries if e.kind == SEAL]
    assert len(seals) == ledger.n_blobs == 5
    for blob, seal in zip(ledger.blobs, seals, strict=True):
        members = [e for e in data(ledger) if e.blob_id == blob.blob_id]
        size = sum(len(_hashed_text(e)) for e in members)
        assert blob.payload_bytes == size and blob.n_entries == len(members)
        assert blob.cost == model.blob_cost(size)
        assert seal.payload["cost"] == dataclasses.asdict(blob.cost)
        assert seal.payload["last_hash"] == members[-1].hash == blob.last_hash
    assert ledger.total_usd == pytest.approx(math.fsum(b.cost.usd for b in ledger.blobs))
    assert ledger.total_sui == pytest.approx(math.fsum(b.cost.sui for b in ledger.blobs))
    assert ledger.total_wal == pytest.approx(math.fsum(b.cost.wal for b in ledger.blobs))
    assert ledger.total_usd > 0


def _hashed_text(e: LedgerEntry) -> str:
    body = {k: v for k, v in e.to_row().items() if k != "hash"}
    return json.dumps(body, sort_keys=True, separators=(",", ":"))


def test_default_costs_reproduce_calibration_orders_of_magnitude():
    """calibration.md: one tx per impression ≈ a display CPM; ~1,000/record ≈ a cent."""
    m = LedgerCostModel()
    record = 300  # bytes of one canonical ledger entry
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


# --- the file ------------------------------------------------------------------------------


def test_save_load_round_trip(tmp_path):
    ledger = build(11, 4, cost_model=LedgerCostModel(sui_price_usd=2.0), meta={"seed": 7})
    path = tmp_path / "ledger.jsonl"
    ledger.save(path)
    loaded = Ledger.load(path)
    assert loaded.entries == ledger.entries and loaded.blobs == ledger.blobs
    assert loaded.header == ledger.header and loaded.genesis == ledger.genesis
    assert loaded.cost_model == ledger.cost_model and loaded.records_per_blob == 4
    assert (loaded.total_sui, loaded.total_wal, loaded.total_usd) == (
        ledger.total_sui,
        ledger.total_wal,
        ledger.total_usd,
    )
    assert loaded.readable_facts() == ledger.readable_facts()
    assert loaded.open_entries == ledger.open_entries == 3  # 11 entries, blobs of 4
    assert loaded.verify().ok and verify_file(path).ok
    # With the signers' keys the open blob continues identically; without, nothing is signed.
    resumed = Ledger.load(path, keyring=KEYS)
    for led in (ledger, resumed):
        led.append("settlement", {"paid": 10.5}, "buyer-1", 99)
        led.seal_blob()
    assert resumed.entries == ledger.entries and resumed.verify().ok
    with pytest.raises(ValueError, match="no signing key"):
        loaded.append("settlement", {"paid": 10.5}, "buyer-1", 99)
    with pytest.raises(LedgerFormatError, match="keyring"):
        Ledger.load(path, keyring=Keyring(8, AGENTS))
    assert [p.name for p in tmp_path.iterdir()] == ["ledger.jsonl"]  # no temp files left


def test_file_layout(tmp_path):
    path = tmp_path / "l.jsonl"
    ledger = build(5, 2, meta={"seed": 7})
    path_lines = (ledger.save(path), path.read_text().splitlines())[1]
    header, trailer = json.loads(path_lines[0]), json.loads(path_lines[-1])
    assert header["format"] == "admarket-ledger" and header["version"] == 2
    assert header["records_per_blob"] == 2 and "sui_price_usd" in header["cost_model"]
    assert set(header["keys"]) == {*AGENTS, STORAGE_SIGNER} and header["meta"] == {"seed": 7}
    assert len(path_lines) == 1 + ledger.n_entries + 1 == 1 + 5 + 2 + 1  # two seals
    assert json.loads(path_lines[1])["entry_id"] == 0
    assert trailer == {"trailer": {"n_entries": 7, "head_hash": ledger.head_hash}}


def test_failed_save_keeps_previous_file(tmp_path, monkeypatch):
    path = tmp_path / "l.jsonl"
    build(3).save(path)
    before = path.read_text()

    def boom(*_args):
        raise OSError("disk full")

    monkeypatch.setattr("admarket.atomic.os.replace", boom)
    with pytest.raises(OSError):
        build(6).save(path)
    assert path.read_text() == before
    assert [p.name for p in tmp_path.iterdir()] == ["l.jsonl"]


def test_load_errors_are_clear(tmp_path):
    with pytest.raises(LedgerFormatError, match="no ledger file"):
        Ledger.load(tmp_path / "missing.jsonl")
    path = tmp_path / "l.jsonl"
    build(4).save(path)
    lines = path.read_text().splitlines()
    cases = {
        "not a ledger": ['{"format": "something-else"}', *lines[1:]],
        "version": [lines[0].replace('"version":2', '"version":1'), *lines[1:]],
        "cut short": lines[:-1],
        "bad entry": [lines[0], lines[1].replace('"step":0', '"step":"0"'), *lines[2:]],
        "NaN": [lines[0], lines[1].replace("2.0", "NaN", 1), *lines[2:]],
    }
    for match, content in cases.items():
        path.write_text("\n".join(content) + "\n")
        with pytest.raises(LedgerFormatError, match=match):
            Ledger.load(path)
    path.write_text("")
    with pytest.raises(LedgerFormatError, match="not a ledger"):
        Ledger.load(path)


# --- volume (its speed is measured in benchmarks/ledger.py, not here) ---------------------


def test_five_thousand_entries_batch_into_blobs_and_verify():
    ledger = Ledger(keyring=KEYS)
    for i in range(5_000):
        payload = {"deal": i % 50, "imps": 1000, "facts": {f"deal:{i % 50}:delivered": i}}
        ledger.append("delivery", payload, "seller-1", i // 100)
    assert ledger.n_blobs == 10 and ledger.n_entries == 5_010 and ledger.verify().ok

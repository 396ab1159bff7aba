"""Tamper evidence, one test per kind of tampering, on a saved ledger file.

The attacker edits the file. Without any agent's key (an outsider) every kind of edit is
caught from the file alone, at the first bad entry. An insider holding keys (here: anyone
who knows the seed, from which keys are derived) can re-sign; then the file alone still
catches what breaks a link, a seal or a signature it cannot make, and the anchor published
outside the file (entry count and head hash) catches a cut tail and a consistent rewrite.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json

import pytest

from admarket.cli import main
from admarket.ledger.chain import Ledger
from admarket.ledger.cost import LedgerCostModel
from admarket.ledger.entry import (
    SEAL,
    LedgerEntry,
    SealedBlob,
    hashed_text,
    seal_payload,
    signed_text,
)
from admarket.ledger.file import verify_file
from admarket.ledger.keys import Keyring
from tests.test_ledger import AGENTS, KEYS, build

N = 14  # data entries in blobs of 4: seals at chain positions 4, 9, 14 and 17 (18 entries)


@pytest.fixture
def saved(tmp_path):
    """A saved ledger (everything sealed), its path and its anchor (n_entries, head)."""
    ledger = build(N, 4, meta={"seed": 7})
    ledger.seal_blob()
    path = tmp_path / "ledger.jsonl"
    ledger.save(path)
    return ledger, path, (ledger.n_entries, ledger.head_hash)


def rows(path) -> tuple[str, list[dict], dict]:
    lines = path.read_text().splitlines()
    return lines[0], [json.loads(x) for x in lines[1:-1]], json.loads(lines[-1])


def write(path, header: str, entries: list[dict], trailer: dict | None = None) -> None:
    """Rewrite the file; ``trailer`` None: a trailer that matches the entries (as a careful
    attacker would write it)."""
    if trailer is None:
        head = entries[-1]["hash"] if entries else None
        trailer = {"trailer": {"n_entries": len(entries), "head_hash": head}}
    text = [header, *(json.dumps(r, sort_keys=True, separators=(",", ":")) for r in entries)]
    path.write_text("\n".join([*text, json.dumps(trailer)]) + "\n")


def entry(row: dict) -> LedgerEntry:
    return LedgerEntry.of(**row)


def rehash(row: dict, keyring: Keyring | None = None) -> dict:
    """Recompute ``row``'s hash (re-signing first with ``keyring``, if the attacker has it)."""
    e = entry(row)
    if keyring is not None:
        message = signed_text(e).encode()
        sigs = {s: keyring.sign(s, message) for s in e.signatures}
        e = dataclasses.replace(e, signatures=sigs)
    e = dataclasses.replace(e, hash=hashlib.sha256(hashed_text(e).encode()).hexdigest())
    return e.to_row()


def relink(entries: list[dict], start: int, keyring: Keyring | None = None) -> list[dict]:
    """Re-link and re-hash every entry from ``start`` on (re-signing with ``keyring``)."""
    out = [dict(r) for r in entries]
    for i in range(start, len(out)):
        out[i]["entry_id"] = i
        if i:
            out[i]["prev_hash"] = out[i - 1]["hash"]
        out[i] = rehash(out[i], keyring)
    return out


def bad_at(path, anchor=None) -> tuple[int | None, str]:
    r = verify_file(path, anchor)
    assert r.readable and not r.ok, r
    return r.first_bad, r.reason


def data_positions(entries: list[dict]) -> list[int]:
    return [i for i, r in enumerate(entries) if r["kind"] != SEAL]


def test_the_saved_ledger_is_intact_alone_and_against_its_anchor(saved):
    _, path, anchor = saved
    assert verify_file(path).ok and verify_file(path, anchor).ok
    assert verify_file(path, (None, anchor[1])).ok  # the head hash alone


@pytest.mark.parametrize(
    "field", ["payload", "author", "kind", "step", "blob_id", "entry_id", "prev_hash", "hash"]
)
@pytest.mark.parametrize("k", [0, 5, 9, 16])  # 16 is the last seal
def test_editing_any_field_names_that_entry(saved, field, k):
    _, path, _ = saved
    header, entries, trailer = rows(path)
    r = entries[k]
    r[field] = {
        "payload": {**r["payload"], "deal": 99},
        "author": "agent-2" if r["author"] != "agent-2" else "agent-1",
        "kind": "quote" if r["kind"] != "quote" else "accept",
        "step": r["step"] + 1,
        "blob_id": r["blob_id"] + 1,
        "entry_id": r["entry_id"] + 1,
        "prev_hash": "a" * 64,
        "hash": "f" * 64,
    }[field]
    write(path, header, entries, trailer)
    assert bad_at(path)[0] == k


@pytest.mark.parametrize("k", [0, 5, 10])
def test_edit_and_rehash_one_entry(saved, k):
    _, path, _ = saved
    header, entries, _ = rows(path)
    entries[k]["payload"]["cpm"] = 0.01
    outsider = [*entries[:k], rehash(entries[k]), *entries[k + 1 :]]
    write(path, header, outsider)
    assert bad_at(path) == (k, bad_at(path)[1]) and "signature" in bad_at(path)[1]
    # an insider re-signs it too: the next entry no longer links to it
    insider = [*entries[:k], rehash(entries[k], KEYS), *entries[k + 1 :]]
    write(path, header, insider)
    first, reason = bad_at(path)
    assert first == k + 1 and "link" in reason


def test_relinking_the_suffix(saved):
    _, path, _ = saved
    header, entries, _ = rows(path)
    entries[5]["payload"]["cpm"] = 0.01
    write(path, header, relink(entries, 5))  # an outsider cannot re-sign
    assert bad_at(path)[0] == 5
    # an insider re-signs every entry (even the seals): the next seal no longer matches its
    # blob, whose bytes changed
    write(path, header, relink(entries, 5, Keyring(7, AGENTS)))
    first, reason = bad_at(path)
    assert entries[first]["kind"] == SEAL and first == 9 and "does not match" in reason


@pytest.mark.parametrize("k", [0, 5, 15])
def test_deleting_an_entry(saved, k):
    _, path, _ = saved
    header, entries, _ = rows(path)
    write(path, header, entries[:k] + entries[k + 1 :])
    assert bad_at(path)[0] == k


def test_swapping_two_entries(saved):
    _, path, _ = saved
    header, entries, _ = rows(path)
    entries[2], entries[6] = entries[6], entries[2]
    write(path, header, entries)
    assert bad_at(path)[0] == 2


def test_duplicating_an_entry(saved):
    _, path, _ = saved
    header, entries, _ = rows(path)
    write(path, header, [*entries[:6], entries[5], *entries[6:]])
    assert bad_at(path)[0] == 6


def test_dropping_the_last_entry(saved):
    _, path, anchor = saved
    header, entries, trailer = rows(path)
    n = len(entries)
    write(path, header, entries[:-1], trailer)  # the trailer still says n
    first, reason = bad_at(path)
    assert first == n - 1 and "truncated" in reason
    write(path, header, entries[:-1])  # trailer rewritten: an unsealed tail is a valid file
    assert verify_file(path).ok
    first, reason = bad_at(path, anchor)  # ...but not against the published anchor
    assert first == n - 1 and "truncated" in reason
    assert bad_at(path, (None, anchor[1]))[0] is None  # head hash alone: cut or rewritten


def _forged(entries: list[dict], blob: int, at: int, author: str = "agent-1") -> dict:
    """A correctly linked and hashed entry the attacker inserts at position ``at``."""
    prev = entries[at - 1]["hash"]
    row = {
        "entry_id": at,
        "blob_id": blob,
        "kind": "delivery",
        "payload": {"facts": {"deal:1:delivered": 10**6}},
        "author": author,
        "step": entries[at - 1]["step"],
        "prev_hash": prev,
        "signatures": {author: "00" * 64},
        "hash": "",
    }
    return rehash(row)


def test_appending_a_forged_entry_to_the_last_sealed_blob(saved):
    _, path, _ = saved
    header, entries, _ = rows(path)
    seal = len(entries) - 1
    blob = entries[seal]["blob_id"]
    forged = _forged(entries, blob, seal)
    write(path, header, relink([*entries[:seal], forged, entries[seal]], seal + 1))
    assert bad_at(path)[0] == seal  # the forged entry's signature
    insider = rehash(forged, KEYS)  # signed with agent-1's own key: the seal no longer fits
    write(path, header, relink([*entries[:seal], insider, entries[seal]], seal + 1, KEYS))
    first, reason = bad_at(path)
    assert first == seal + 1 and "seal" in reason


def test_appending_a_forged_entry_in_a_new_blob(saved):
    _, path, anchor = saved
    header, entries, _ = rows(path)
    n = len(entries)
    forged = _forged([*entries, {}], entries[-1]["blob_id"] + 1, n)
    write(path, header, [*entries, forged])
    assert bad_at(path)[0] == n  # forged signature, trailer rewritten or not
    # an insider appends an entry signed with its own key: the file alone cannot object
    write(path, header, [*entries, rehash(forged, KEYS)])
    assert verify_file(path).ok
    first, reason = bad_at(path, anchor)
    assert first == n and "appended" in reason
    # ...and it cannot seal the new blob without the storage network's key
    signed = rehash(forged, KEYS)
    size = len(hashed_text(entry(signed)))
    cost = LedgerCostModel(**json.loads(header)["cost_model"]).blob_cost(size)
    blob = SealedBlob(forged["blob_id"], 1, size, cost, signed["hash"])
    seal = {**entries[-1], "entry_id": n + 1, "blob_id": blob.blob_id, "prev_hash": signed["hash"]}
    seal = rehash({**seal, "payload": seal_payload(blob)}, Keyring(99, []))  # its own "walrus"
    write(path, header, [*entries, signed, seal])
    first, reason = bad_at(path)
    assert first == n + 1 and "signature of 'walrus'" in reason


def test_editing_a_blob_cost(saved):
    _, path, _ = saved
    header, entries, _ = rows(path)
    k = next(i for i, r in enumerate(entries) if r["kind"] == SEAL)
    entries[k]["payload"]["cost"]["usd"] = 999_999.0
    write(path, header, entries)
    assert bad_at(path)[0] == k
    write(path, header, relink(entries, k, Keyring(7, AGENTS)))  # re-hashed, not re-sealable
    assert bad_at(path)[0] == k


def test_editing_the_cost_model_or_keys_in_the_header(saved):
    _, path, _ = saved
    header, entries, _ = rows(path)
    h = json.loads(header)
    for edit in (
        lambda x: x["cost_model"].update(sui_price_usd=1000.0),
        lambda x: x["keys"].update({"agent-1": Keyring(99, ["agent-1"]).public["agent-1"]}),
        lambda x: x.update(records_per_blob=5),
    ):
        changed = json.loads(header)
        edit(changed)
        write(path, json.dumps(changed), entries)
        first, reason = bad_at(path)
        assert first == 0 and "header" in reason
    assert h["format"] == "admarket-ledger"


def test_editing_the_trailer(saved):
    _, path, _ = saved
    header, entries, trailer = rows(path)
    n = len(entries)
    for t, first in (((n - 3), n - 4), ((n + 2), n)):
        write(path, header, entries, {"trailer": {**trailer["trailer"], "n_entries": t}})
        assert bad_at(path)[0] == first
    write(path, header, entries, {"trailer": {"n_entries": n, "head_hash": "0" * 64}})
    assert bad_at(path)[0] == n - 1


def test_a_consistent_rewrite_passes_alone_and_fails_against_the_anchor(saved, tmp_path):
    original, path, anchor = saved
    # everything rewritten with every key (the seed is known): a different, valid ledger
    forged = Ledger(4, keyring=KEYS, meta={"seed": 7})
    for e in original.entries:
        if e.kind != SEAL:
            payload = {**e.payload, "cpm": 0.01} if e.entry_id == 5 else e.payload
            forged.append(e.kind, payload, e.author, e.step)
    forged.seal_blob()
    forged.save(path)
    assert forged.n_entries == anchor[0] and forged.head_hash != anchor[1]
    assert verify_file(path).ok  # the file alone is fooled
    first, reason = bad_at(path, anchor)
    assert first == anchor[0] - 1 and "rewritten" in reason


# --- signatures -------------------------------------------------------------------------------


def test_an_entry_signed_by_the_wrong_agent_is_rejected(saved):
    _, path, _ = saved
    header, entries, _ = rows(path)
    k = next(i for i, r in enumerate(entries) if r["author"] == "agent-1")
    e = entry(entries[k])
    wrong = KEYS.sign("agent-2", signed_text(e).encode())  # a real signature, wrong signer
    entries[k] = rehash({**entries[k], "signatures": {"agent-1": wrong}})
    write(path, header, relink(entries, k + 1, Keyring(7, AGENTS)))
    first, reason = bad_at(path)
    assert first == k and "signature of 'agent-1'" in reason
    entries[k] = rehash({**entries[k], "signatures": {"agent-2": wrong}})  # named as agent-2
    write(path, header, relink(entries, k + 1, Keyring(7, AGENTS)))
    first, reason = bad_at(path)
    assert first == k and "signed by" in reason


def test_a_two_party_fact_needs_both_signatures(saved):
    _, path, _ = saved
    header, entries, _ = rows(path)
    k = next(i for i, r in enumerate(entries) if r["kind"] == "booking")
    assert set(entries[k]["signatures"]) == {"buyer-1", "seller-1"}
    only_seller = {"seller-1": entries[k]["signatures"]["seller-1"]}
    entries[k] = rehash({**entries[k], "signatures": only_seller})
    write(path, header, entries)
    first, reason = bad_at(path)
    assert first == k and "must be by" in reason


# --- the command line: exit codes and anchors -------------------------------------------------


def test_verify_ledger_exit_codes_and_anchors(saved, tmp_path, capsys):
    _, path, (n, head) = saved
    assert main(["verify-ledger", str(path)]) == 0
    assert "without an anchor" in capsys.readouterr().out
    assert main(["verify-ledger", str(path), "--anchor", f"{n}:{head}"]) == 0
    assert main(["verify-ledger", str(path), "--anchor", head]) == 0
    assert main(["verify-ledger", str(path), "--anchor", f"{n + 1}:{head}"]) == 1
    assert "TAMPERED at entry" in capsys.readouterr().err
    header, entries, _ = rows(path)
    write(path, header, entries[:-2])  # cut at a seal, trailer rewritten: passes alone
    assert main(["verify-ledger", str(path)]) == 0
    assert main(["verify-ledger", str(path), "--anchor", f"{n}:{head}"]) == 1
    assert f"TAMPERED at entry {n - 2}: chain truncated" in capsys.readouterr().err
    for bad in (tmp_path / "nope.jsonl", tmp_path):
        assert main(["verify-ledger", str(bad)]) == 2
    other = tmp_path / "other.txt"
    other.write_text("hello\n")
    assert main(["verify-ledger", str(other)]) == 2
    assert "not a ledger" in capsys.readouterr().err
    assert main(["verify-ledger", str(path), "--anchor", "xyz"]) == 2

"""Verifying a ledger: what the entries alone prove, and what needs an anchor kept elsewhere.

``verify_chain`` walks the chain from the genesis hash (the header's hash) and stops at the
first fault, naming the entry and the reason. Per entry it checks: the position
(``entry_id``), the link to the previous hash, the kind, the blob it claims (entries of a
sealed blob never follow its seal), every required signature against the public keys the
header carries (and no other), the recomputed hash, and for a ``seal`` entry that the
blob's entry count, bytes, last hash and cost recompute from its entries and the header's
cost model.

That proves, from the file alone, that every entry is as its signers signed it, in the
order written, with nothing inserted, removed, reordered or re-costed before the last entry
present — *relative to the keys and header in the file*. It cannot prove the file is the
whole ledger (entries cut after a seal, with the trailer rewritten to match) nor that it is
*the* ledger (everything rewritten consistently, with new keys). For those, compare with an
anchor published outside the file — the entry count and head hash printed by ``admarket
run`` and kept in the run store: ``anchor=(n_entries, head_hash)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from admarket.ledger.canonical import NO_FACTS, sha256
from admarket.ledger.cost import LedgerCostModel
from admarket.ledger.entry import (
    ENTRY_KINDS,
    SEAL,
    TWO_PARTY,
    LedgerEntry,
    SealedBlob,
    entry_text,
    genesis_hash,
    required_signers,
    seal_payload,
)
from admarket.ledger.keys import STORAGE_SIGNER, PublicKeys


@dataclass(frozen=True)
class VerifyResult:
    """Outcome of a verify pass.

    ``ok``: intact. Otherwise ``first_bad`` is the 0-based chain position of the first
    fault (None when no entry can be named) and ``reason`` says what is wrong. ``readable``
    is False when the input is not a ledger at all or cannot be read (exit code 2).
    """

    ok: bool
    n_entries: int
    first_bad: int | None
    reason: str
    readable: bool = True
    head_hash: str = ""


class _Walk:
    """State of a walk along the chain: the open blob and what its entries add up to."""

    def __init__(self, header: dict):
        self.prev = genesis_hash(header)
        self.keys = PublicKeys(header.get("keys", {}))
        self.header = header
        self.blob = 0  # id of the open (unsealed) blob
        self.count = self.bytes = 0
        self.last = ""

    def fault(self, i: int, e: LedgerEntry) -> str | None:
        """The reason entry ``i`` is bad, or None (and the walk advances past it)."""
        if e.entry_id != i:
            return f"entry_id {e.entry_id} at position {i}, expected {i}"
        if e.prev_hash != self.prev:
            where = "the header's hash" if i == 0 else "the previous entry's hash"
            return f"prev_hash of entry {i} does not link to {where}"
        if e.kind not in ENTRY_KINDS:
            return f"unknown kind {e.kind!r} in entry {i}"
        if e.blob_id != self.blob:
            return f"entry {i} claims blob {e.blob_id} but blob {self.blob} is the open one"
        reason = self._signatures(i, e) or self._hash(i, e)
        if reason is None and e.kind == SEAL:
            reason = self._seal(i, e)
        if reason is None:
            self.prev = e.hash
        return reason

    def _signatures(self, i: int, e: LedgerEntry) -> str | None:
        # only a two-party entry's signers depend on its payload: decode it only then
        payload = e.payload if e.kind in TWO_PARTY else NO_FACTS
        need = required_signers(e.kind, payload, e.author)
        if not need or (e.kind != SEAL and e.author not in need):
            return f"entry {i}: author {e.author!r} is not a party to its {e.kind}"
        if e.kind == SEAL and e.author != STORAGE_SIGNER:
            return f"entry {i}: a seal must be written by {STORAGE_SIGNER!r}"
        if sorted(e.signatures) != list(need):
            return f"entry {i} is signed by {sorted(e.signatures)}, must be by {list(need)}"
        message = entry_text(e, signed=True).encode()
        for signer in need:
            if signer not in self.keys:
                return f"entry {i}: signer {signer!r} has no public key in the header"
            sig = e.signatures[signer]
            if not isinstance(sig, str) or not self.keys.verify(signer, sig, message):
                return f"entry {i}: signature of {signer!r} does not verify (forged or edited)"
        return None

    def _hash(self, i: int, e: LedgerEntry) -> str | None:
        text = entry_text(e)
        if sha256(text) != e.hash:
            return f"hash mismatch in entry {i}: content edited"
        if e.kind != SEAL:
            self.count += 1
            self.bytes += len(text)
            self.last = e.hash
        return None

    def _seal(self, i: int, e: LedgerEntry) -> str | None:
        if self.count == 0:
            return f"entry {i} seals blob {self.blob}, which holds no entries"
        try:
            cost = LedgerCostModel(**self.header["cost_model"]).blob_cost(self.bytes)
        except (KeyError, TypeError, ValueError) as exc:
            return (
                f"seal of blob {self.blob} (entry {i}): the header's cost model is invalid: {exc}"
            )
        want = seal_payload(SealedBlob(self.blob, self.count, self.bytes, cost, self.last))
        if e.payload != want:
            diff = sorted(k for k in want if e.payload.get(k) != want[k])
            return f"seal of blob {self.blob} (entry {i}) does not match its entries: {diff}"
        self.blob += 1
        self.count = self.bytes = 0
        return None


def _against(
    entries: Sequence[LedgerEntry], n: int | None, head: str, what: str
) -> tuple[int | None, str] | None:
    """A fault of the chain against a count and head hash (the trailer or an anchor); with
    no count, the head hash alone is looked for."""
    have = len(entries)
    if n is None:
        at = next((i for i, e in enumerate(entries) if e.hash == head), None)
        if at is None:
            return None, (
                f"the {what}'s head hash is nowhere in the chain: it was cut short or "
                "rewritten (give the entry count too, N:HASH, to tell which)"
            )
        n = at + 1
    if have < n:
        return have, f"chain truncated: {have} entries, the {what} says {n}"
    if n == 0:
        return (0, f"{have} entries where the {what} says none") if have else None
    if entries[n - 1].hash != head:
        return n - 1, f"the chain does not reach the {what}'s head hash (rewritten at or before)"
    if have > n:
        return n, f"entries beyond the {what}: {have - n} appended after it"
    return None


def verify_chain(
    entries: Sequence[LedgerEntry],
    header: dict,
    *,
    trailer: tuple[int, str] | None = None,
    anchor: tuple[int | None, str] | None = None,
) -> VerifyResult:
    """Verify ``entries`` from ``header``'s genesis; optionally against the file's
    ``trailer`` and an external ``anchor``, each ``(n_entries, head_hash)`` (an anchor's
    count may be None: then only its head hash is checked).

    The first fault found walking the chain is reported where it occurs (an edit whose own
    hash was recomputed surfaces at its signature check, or at the next entry's link); a
    trailer or anchor fault, which only a dropped tail, an appended entry or a consistent
    rewrite produces, at the first position it leaves unproven.
    """
    head = entries[-1].hash if entries else genesis_hash(header)
    n_have = len(entries)
    walk = _Walk(header)
    for i, e in enumerate(entries):
        reason = walk.fault(i, e)
        if reason is not None:
            return VerifyResult(False, n_have, i, reason, head_hash=head)
    for what, pin in (("trailer", trailer), ("published anchor", anchor)):
        if pin is not None:
            fault = _against(entries, pin[0], pin[1], what)
            if fault is not None:
                return VerifyResult(False, n_have, fault[0], fault[1], head_hash=head)
    return VerifyResult(True, n_have, None, "ok", head_hash=head)

"""Scenario C's shared ledger: an append-only, hash-chained, signed log batched into blobs.

A proxy for Sui objects + Walrus blobs. Each entry is signed by its author (both parties
for a two-party fact) with the author's Ed25519 key and hashed over its content, its
signatures and the previous entry's hash; the first entry links to the hash of the header
(format, batching, cost model, signers' public keys). Entries fill an open blob; sealing it
(when full, or when the writer flushes) costs it with :class:`LedgerCostModel` and appends
a ``seal`` entry — the on-chain record of the blob, signed by the storage network — that
states the blob's entry count, bytes, last hash and cost. See :mod:`.entry` for what is
signed and hashed and :mod:`.verify` for what a verify pass proves.

**Readability.** An entry becomes readable only once its blob is sealed: the fact index
behind :meth:`Ledger.latest` holds sealed entries' facts only. An agent that wrote a fact
into the open blob and then lost its memory cannot read the fact back until the seal.

File format (:mod:`.file`): JSON Lines of canonical JSON — the header, one line per entry,
then a trailer ``{"trailer": {"n_entries": N, "head_hash": H}}``.
"""

from __future__ import annotations

import os
from dataclasses import asdict
from typing import IO

from admarket.errors import LedgerFormatError
from admarket.ledger.canonical import (
    canonical,
    checked_facts,
    plain_copy,
    plain_copy_text,
    sha256,
)
from admarket.ledger.cost import BlobCost, LedgerCostModel
from admarket.ledger.entry import (
    ENTRY_KINDS,
    SEAL,
    LedgerEntry,
    SealedBlob,
    Signatures,
    entry_head,
    entry_tail,
    genesis_hash,
    hashed_text,
    header_for,
    required_signers,
    seal_payload,
)
from admarket.ledger.file import read_ledger_file, verify_file, write_ledger, write_ledger_file
from admarket.ledger.keys import STORAGE_SIGNER, Keyring
from admarket.ledger.verify import VerifyResult, verify_chain

__all__ = ["ENTRY_KINDS", "Ledger", "LedgerEntry", "SealedBlob", "VerifyResult", "verify_file"]


def _group(key: str) -> str | None:
    """Index group of a key: its prefix up to the second colon ("deal:17:price" -> "deal:17:")."""
    first = key.find(":")
    second = key.find(":", first + 1) if first >= 0 else -1
    return key[: second + 1] if second >= 0 else None


class Ledger:
    """Append-only signed hash chain with blob batching, cost accounting and a fact index."""

    def __init__(
        self,
        records_per_blob: int = 500,
        cost_model: LedgerCostModel | None = None,
        keyring: Keyring | None = None,
        meta: dict | None = None,
    ):
        """Empty ledger sealing a blob every ``records_per_blob`` entries (or on request).

        ``keyring`` holds the signers' keys (None: only the storage network, so no agent
        can write); ``meta`` (plain JSON, e.g. the run's seed) goes into the header.
        """
        rpb = records_per_blob
        if isinstance(rpb, bool) or not isinstance(rpb, int) or rpb < 1:
            raise ValueError(f"records_per_blob={rpb!r} out of range; allowed integers >= 1")
        self.records_per_blob = records_per_blob
        self.cost_model = cost_model if cost_model is not None else LedgerCostModel()
        self.keyring = keyring if keyring is not None else Keyring(0, ())
        self.header = header_for(
            rpb, asdict(self.cost_model), self.keyring.public, plain_copy(meta or {})
        )
        self.genesis = genesis_hash(self.header)
        self._entries: list[LedgerEntry] = []
        self._signer_sets: dict[tuple[str, ...], tuple[str, ...]] = {}  # one tuple per parties
        self._blobs: list[SealedBlob] = []
        self._open_count = self._open_bytes = 0
        self._open_facts: list[dict] = []  # facts of open-blob entries, readable on seal
        self.open_since: int | None = None  # step of the open blob's first entry
        self._latest: dict[str, float] = {}
        # Secondary index for facts_with_prefix: _group(key) -> {key: latest value}.
        self._groups: dict[str, dict[str, float]] = {}
        self._bucket_of: dict[str, dict[str, float]] = {}  # key -> its group's dict
        self.total_sui = self.total_wal = self.total_usd = 0.0

    def __setstate__(self, state: dict) -> None:
        # a checkpoint written before signer names were shared has no table of them
        self.__dict__.update(state)
        self.__dict__.setdefault("_signer_sets", {})

    def __len__(self) -> int:
        return len(self._entries)

    def __getitem__(self, i: int) -> LedgerEntry:
        return self._entries[i]

    @property
    def entries(self) -> tuple[LedgerEntry, ...]:
        """All entries in chain order, seals included (a copy; ``ledger[i]`` in hot loops)."""
        return tuple(self._entries)

    @property
    def blobs(self) -> tuple[SealedBlob, ...]:
        """Sealed blobs in order, each with its cost, for attributing ledger spend."""
        return tuple(self._blobs)

    @property
    def n_entries(self) -> int:
        """Entries in the chain, seal entries included (the anchor's count)."""
        return len(self._entries)

    @property
    def n_blobs(self) -> int:
        return len(self._blobs)

    @property
    def open_entries(self) -> int:
        """Entries written but not yet sealed (not yet readable)."""
        return self._open_count

    @property
    def head_hash(self) -> str:
        """Hash of the last entry (the genesis hash when empty): with ``n_entries``, the
        anchor to publish outside the file."""
        return self._entries[-1].hash if self._entries else self.genesis

    def append(self, kind: str, payload: dict, author: str, step: int) -> LedgerEntry:
        """Sign and chain a new entry into the open blob and return it; seals it when full.

        ``payload`` must be a dict of JSON values (else TypeError/ValueError, nothing
        written); it is kept as its canonical text, so later changes to the dict do not
        reach the ledger. A two-party kind must name ``"buyer"`` and
        ``"seller"`` in its payload, and ``author`` must be one of them; both sign.
        ``payload["facts"]`` (str -> number), if present, becomes readable on the seal.
        """
        if kind not in ENTRY_KINDS or kind == SEAL:
            raise ValueError(f"kind={kind!r}: allowed kinds are {sorted(ENTRY_KINDS - {SEAL})}")
        if not isinstance(author, str):
            raise TypeError(f"author must be a str, got {type(author).__name__}")
        if isinstance(step, bool) or not isinstance(step, int) or step < 0:
            raise ValueError(f"step={step!r} out of range; allowed integers >= 0")
        copy, text = plain_copy_text(payload)
        facts = checked_facts(copy)
        signers = required_signers(kind, copy, author)
        if author not in signers:
            raise ValueError(f"author {author!r} is not a party to this {kind} ({signers})")
        missing = [s for s in signers if s not in self.keyring]
        if missing:
            raise ValueError(f"no signing key for {missing}: not a registered agent")
        entry = self._chain(kind, text, author, int(step), len(self._blobs), signers)
        self._open_count += 1
        self._open_bytes += entry[1]
        self._open_facts.append(facts)
        if self.open_since is None:
            self.open_since = int(step)
        if self._open_count >= self.records_per_blob:
            self.seal_blob()
        return entry[0]

    def _chain(
        self,
        kind: str,
        payload_text: str,
        author: str,
        step: int,
        blob: int,
        signers: tuple,
    ) -> tuple[LedgerEntry, int]:
        """Sign, hash and append one entry; returns it and the size of its hashed text.

        ``payload_text`` is the payload's canonical JSON: the signed and hashed texts are built
        around it (:func:`entry_head`, :func:`entry_tail`), so a payload is encoded once,
        not three times, and the part both texts share is built once.
        """
        eid, prev = len(self._entries), self.head_hash
        head = entry_head(eid, blob, kind, payload_text, author, prev)  # shared by both texts
        message = entry_tail(head, step, None).encode()
        # the same parties sign many entries: their names are kept once (see Signatures)
        signers = self._signer_sets.setdefault(signers, signers)
        sign = self.keyring.sign_bytes
        signatures = Signatures(signers, b"".join([sign(s, message) for s in signers]))
        text = entry_tail(head, step, signatures)
        # the payload is kept as its text (see LedgerEntry); the copy served its facts
        entry = LedgerEntry(
            eid, blob, kind, payload_text, author, step, prev, signatures, sha256(text)
        )
        self._entries.append(entry)
        return entry, len(text)

    def seal_blob(self, step: int | None = None) -> SealedBlob | None:
        """Seal and cost the open blob, append its seal entry and make its entries readable;
        None if it holds no entries. ``step``: when (default: its last entry's step)."""
        if self._open_count == 0:
            return None
        last = self._entries[-1]
        cost = self.cost_model.blob_cost(self._open_bytes)
        blob = SealedBlob(len(self._blobs), self._open_count, self._open_bytes, cost, last.hash)
        when = last.step if step is None else max(int(step), last.step)
        payload = seal_payload(blob)
        signer = (STORAGE_SIGNER,)
        self._chain(SEAL, canonical(payload), STORAGE_SIGNER, when, blob.blob_id, signer)
        self._record_blob(blob)
        for facts in self._open_facts:
            self._index(facts)
        self._open_facts.clear()
        self._open_count = self._open_bytes = 0
        self.open_since = None
        return blob

    def _record_blob(self, blob: SealedBlob) -> None:
        self._blobs.append(blob)
        self.total_sui += blob.cost.sui
        self.total_wal += blob.cost.wal
        self.total_usd += blob.cost.usd

    def _index(self, facts: dict) -> None:
        for key, value in facts.items():
            value = float(value)
            self._latest[key] = value
            bucket = self._bucket_of.get(key)
            if bucket is None:  # first sighting of this key: find its group once
                bucket = self._groups.setdefault(_group(key) or "", {})
                self._bucket_of[key] = bucket
            bucket[key] = value

    def latest(self, fact_key: str) -> float | None:
        """Most recent *readable* (sealed) value of ``fact_key``, or None (O(1))."""
        return self._latest.get(fact_key)

    def readable_facts(self) -> dict[str, float]:
        """Every fact key with its latest readable value (a copy)."""
        return dict(self._latest)

    def facts_with_prefix(self, prefix: str) -> dict[str, float]:
        """Latest readable values of all facts whose key starts with ``prefix``.

        Facts are indexed by their key up to the second colon, so a prefix with at least two
        colons costs only the size of that group; shorter prefixes scan every fact key.
        """
        group = _group(prefix)
        if group is None:
            return {k: v for k, v in self._latest.items() if k.startswith(prefix)}
        bucket = self._groups.get(group, {})
        if group == prefix:
            return dict(bucket)
        return {k: v for k, v in bucket.items() if k.startswith(prefix)}

    def verify(self, anchor: tuple[int, str] | None = None) -> VerifyResult:
        """Recompute the whole chain (links, signatures, hashes, seals), optionally against
        an external ``anchor`` of ``(n_entries, head_hash)``."""
        return verify_chain(self._entries, self.header, anchor=anchor)

    def save(self, path: str | os.PathLike) -> None:
        """Write the ledger as JSON Lines (see :mod:`.file`), atomically via os.replace."""
        write_ledger_file(path, self.header, self._entries)

    def write(self, fh: IO[str]) -> None:
        """Write the ledger as :meth:`save` does into the open text file ``fh`` (which the
        caller flushes and closes): ``admarket run --ledger-out`` writes into the staged
        copy it holds locked, so no other file is ever made on the way."""
        write_ledger(fh, self.header, self._entries)

    @classmethod
    def load(cls, path: str | os.PathLike, keyring: Keyring | None = None) -> Ledger:
        """Read a ledger written by ``save``; raises LedgerFormatError, does not verify.

        Blobs are rebuilt from the seal entries; sealed entries' facts are readable; the
        entries after the last seal form the open blob. Without ``keyring`` (the signers'
        keys) the ledger can be read and verified but not appended to.
        """
        header, entries, _ = read_ledger_file(path)
        try:
            return cls._rebuild(header, entries, keyring)
        except (KeyError, TypeError, ValueError) as exc:
            raise LedgerFormatError(f"{path}: cannot rebuild the ledger: {exc}") from exc

    @classmethod
    def _rebuild(cls, header: dict, entries: list[LedgerEntry], keyring: Keyring | None) -> Ledger:
        if keyring is not None and keyring.public != header["keys"]:
            raise ValueError("the keyring's public keys are not the ones the file carries")
        ledger = cls(
            header["records_per_blob"],
            LedgerCostModel(**header["cost_model"]),
            keyring,
            header.get("meta", {}),
        )
        ledger.header, ledger.genesis = header, genesis_hash(header)
        for e in entries:
            ledger._entries.append(e)
            if e.kind == SEAL:
                p = e.payload
                cost = BlobCost(**p["cost"])
                blob = SealedBlob(
                    p["blob"], p["n_entries"], p["payload_bytes"], cost, p["last_hash"]
                )
                ledger._record_blob(blob)
                for facts in ledger._open_facts:
                    ledger._index(facts)
                ledger._open_facts.clear()
                ledger._open_count = ledger._open_bytes = 0
                ledger.open_since = None
            else:
                ledger._open_count += 1
                ledger._open_bytes += len(hashed_text(e))
                ledger._open_facts.append(checked_facts(e.payload))
                if ledger.open_since is None:
                    ledger.open_since = e.step
        return ledger

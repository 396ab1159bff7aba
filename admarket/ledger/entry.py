"""What a ledger entry is, who must sign it, and exactly which text is signed and hashed.

An entry (:class:`LedgerEntry`) carries its position (``entry_id``), its Walrus blob, its
kind, its payload, its author, the step it was written, the previous entry's hash, the
signatures of its signers and its own hash. Two texts are derived from it:

* the **signed text**: canonical JSON of every field but ``signatures`` and ``hash`` —
  what each signer signs with Ed25519;
* the **hashed text**: the signed fields plus ``signatures`` — what ``hash`` is the SHA-256
  of. Its length is the entry's size in its blob.

Who must sign (:func:`required_signers`): the author of a one-party entry (a message, a
delivery count, a buyer's books); both named parties of a two-party entry (deal terms at
booking, an invoice, a failed co-sign); the storage network of a ``seal`` entry, the
on-chain record that certifies a sealed blob (entry count, bytes, last hash and cost).

The chain starts from the **genesis hash**, the SHA-256 of the ledger's header (format,
batching, cost model, signers' public keys, run metadata): change any of it and entry 0
no longer links.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from json.encoder import encode_basestring_ascii as _string
from operator import itemgetter

from admarket.ledger.canonical import canonical, decoder, sha256
from admarket.ledger.cost import BlobCost
from admarket.ledger.keys import STORAGE_SIGNER

FORMAT, VERSION = "admarket-ledger", 2
SEAL = "seal"
# Facts both parties must sign: deal terms at booking, the invoice at settlement, and the
# record that a co-sign failed (both sign that they disagree, and on what).
TWO_PARTY = frozenset({"booking", "invoice", "cosign_failure"})
ENTRY_KINDS = frozenset(
    {
        "quote",
        "proposal",
        "counter",
        "accept",
        "booking",
        "delivery",
        "settlement",
        "dispute",
        "invoice",
        "cosign_failure",
        SEAL,
    }
)
# A ledger file row's fields (LedgerEntry.to_row) and their JSON types, in order.
FIELD_TYPES: dict[str, type] = {
    "entry_id": int,
    "blob_id": int,
    "kind": str,
    "payload": dict,
    "author": str,
    "step": int,
    "prev_hash": str,
    "signatures": dict,
    "hash": str,
}
_SIGNED = ("entry_id", "blob_id", "kind", "payload", "author", "step", "prev_hash")


SIGNATURE_BYTES = 64  # an Ed25519 signature
_second = itemgetter(1)


class Signatures(Mapping):
    """An entry's signatures as the ledger writes them: signer → hex Ed25519 signature.

    A mapping like the dict a ledger file holds (equal to it, item for item), kept as the
    sorted signer names (a tuple the ledger shares between entries of the same parties) and
    the raw 64-byte signatures in one bytes object, hex only when read: 174 bytes an entry
    instead of 426 as a dict of hex strings (C at 200 × 100 over 30 days, 82,463 entries).
    """

    __slots__ = ("_raw", "_signers")

    def __init__(self, signers: tuple[str, ...], raw: bytes):
        if len(raw) != SIGNATURE_BYTES * len(signers):
            raise ValueError(f"{len(raw)} bytes for {len(signers)} signatures of 64 bytes")
        self._signers, self._raw = signers, raw

    def __getitem__(self, signer: str) -> str:
        try:
            i = self._signers.index(signer)
        except ValueError:
            raise KeyError(signer) from None
        return self._raw[SIGNATURE_BYTES * i : SIGNATURE_BYTES * (i + 1)].hex()

    def __iter__(self) -> Iterator[str]:
        return iter(self._signers)

    def members_text(self) -> str:
        """The members of this mapping's canonical JSON object, without its braces:
        ``"signer":"hex"`` by sorted signer (what :func:`entry_tail` writes for any mapping,
        built here from the raw bytes without going through the mapping's items)."""
        raw, n = self._raw, SIGNATURE_BYTES
        return ",".join(
            f'{_string(s)}:"{raw[n * i : n * (i + 1)].hex()}"'
            for i, s in sorted(enumerate(self._signers), key=_second)
        )

    def __len__(self) -> int:
        return len(self._signers)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Signatures):
            return self._signers == other._signers and self._raw == other._raw
        return isinstance(other, Mapping) and dict(self) == dict(other)

    __hash__ = None  # type: ignore[assignment]  # equal to a dict, so unhashable like one

    def __repr__(self) -> str:
        return repr(dict(self))

    def __reduce__(self):
        return Signatures, (self._signers, self._raw)


@dataclass(frozen=True, slots=True)
class LedgerEntry:
    """One ledger record; ``hash`` = SHA-256 of its hashed text (see the module docstring).

    The payload is held as its canonical JSON text (``payload_text``) and decoded when read
    (:attr:`payload`, a new dict each time): a large C run holds ~180,000 entries, and a
    payload as text takes about a fifth of the memory it takes as a dict. An entry from a
    ledger file's fields (payload a dict) is :meth:`of`; :meth:`to_row` gives them back.
    """

    entry_id: int
    blob_id: int
    kind: str
    payload_text: str
    author: str
    step: int
    prev_hash: str
    signatures: Mapping  # Signatures as the ledger writes them; a dict as a file gives them
    hash: str

    @classmethod
    def of(
        cls,
        entry_id: int,
        blob_id: int,
        kind: str,
        payload: dict,
        author: str,
        step: int,
        prev_hash: str,
        signatures: dict,
        hash: str,
    ) -> LedgerEntry:
        """The entry with these fields, as a ledger file holds them (``payload`` a dict)."""
        return cls(
            entry_id, blob_id, kind, canonical(payload), author, step, prev_hash, signatures, hash
        )

    @property
    def payload(self) -> dict:
        """The payload, decoded from its canonical text (a new dict on every read)."""
        return decoder.decode(self.payload_text)

    def to_row(self) -> dict:
        """The entry's fields as a ledger file holds them (``payload`` decoded,
        ``signatures`` a dict)."""
        row = {f: self.payload if f == "payload" else getattr(self, f) for f in FIELD_TYPES}
        row["signatures"] = dict(row["signatures"])
        return row


@dataclass(frozen=True)
class SealedBlob:
    """A sealed blob: its entries, bytes, cost, and the hash of its last entry.

    ``payload_bytes`` is the summed size of its entries' hashed text, i.e. what the Walrus
    blob holds; ``cost`` is ``cost_model.blob_cost(payload_bytes)``. Its ``seal`` entry in
    the chain records all of it, signed by the storage network.
    """

    blob_id: int
    n_entries: int
    payload_bytes: int
    cost: BlobCost
    last_hash: str


def required_signers(kind: str, payload: dict, author: str) -> tuple[str, ...]:
    """The signers an entry of ``kind`` must carry, sorted (see the module docstring)."""
    if kind == SEAL:
        return (STORAGE_SIGNER,)
    if kind in TWO_PARTY:
        buyer, seller = payload.get("buyer"), payload.get("seller")
        if type(buyer) is str and type(seller) is str:  # the usual case, sorted directly
            if buyer == seller:
                return (buyer,)
            return (buyer, seller) if buyer < seller else (seller, buyer)
        parties = {buyer, seller}
        return tuple(sorted(p for p in parties if isinstance(p, str)))
    return (author,)


def signed_text(e: LedgerEntry) -> str:
    """Canonical JSON of the fields each signer signs (built from the decoded payload: the
    reference the spliced texts of :func:`entry_texts` are tested against)."""
    row = e.to_row()
    return canonical({name: row[name] for name in _SIGNED})


def hashed_text(e: LedgerEntry) -> str:
    """Canonical JSON of every field but ``hash``; ``hash`` is its SHA-256."""
    row = e.to_row()
    return canonical({name: row[name] for name in (*_SIGNED, "signatures")})


def entry_text(e: LedgerEntry, signed: bool = False) -> str:
    """:func:`hashed_text` (or, ``signed``, :func:`signed_text`) of ``e``, spliced around its
    payload's text instead of decoding and encoding it again (what verification uses, once
    every signature is known to be a str: the splice writes signatures as strings)."""
    sigs = None if signed else e.signatures
    return entry_texts(
        e.entry_id, e.blob_id, e.kind, e.payload_text, e.author, e.step, e.prev_hash, sigs
    )


def entry_texts(
    entry_id: int,
    blob_id: int,
    kind: str,
    payload_text: str,
    author: str,
    step: int,
    prev_hash: str,
    signatures: Mapping | None,
) -> str:
    """The signed text (``signatures`` None) or the hashed text of an entry, built around
    the payload's canonical text ``payload_text`` so that the payload is encoded once.

    Equal, character for character, to :func:`signed_text` / :func:`hashed_text` of the
    entry: the fields are written in sorted key order with the same compact separators,
    and canonical JSON nests a value's text unchanged (tests/test_ledger.py checks this).
    """
    head = entry_head(entry_id, blob_id, kind, payload_text, author, prev_hash)
    return entry_tail(head, step, signatures)


def entry_head(
    entry_id: int, blob_id: int, kind: str, payload_text: str, author: str, prev_hash: str
) -> str:
    """The opening both texts of an entry share: every field up to ``prev_hash``."""
    # ints are their decimal text in JSON and strings go through the encoder's own
    # (C) string escaper: a full encoder call per scalar cost more than the rest
    return (
        f'{{"author":{_string(author)},"blob_id":{int(blob_id)},'
        f'"entry_id":{int(entry_id)},"kind":{_string(kind)},'
        f'"payload":{payload_text},"prev_hash":{_string(prev_hash)},'
    )


def entry_tail(head: str, step: int, signatures: Mapping | None) -> str:
    """The signed text (``signatures`` None) or the hashed text from ``entry_head``'s
    opening: the ledger builds the opening once for both."""
    if signatures is None:
        return f'{head}"step":{int(step)}}}'
    # signer -> hex signature: both strings, in sorted order
    if isinstance(signatures, Signatures):  # what the ledger writes: from its raw bytes
        sigs = signatures.members_text()
    else:
        sigs = ",".join(f"{_string(k)}:{_string(v)}" for k, v in sorted(signatures.items()))
    return f'{head}"signatures":{{{sigs}}},"step":{int(step)}}}'


def seal_payload(blob: SealedBlob) -> dict:
    """The payload of ``blob``'s seal entry (what verification recomputes and compares)."""
    cost = blob.cost
    return {
        "blob": blob.blob_id,
        "n_entries": blob.n_entries,
        "payload_bytes": blob.payload_bytes,
        "last_hash": blob.last_hash,
        "cost": {
            "sui": cost.sui,
            "wal": cost.wal,
            "usd": cost.usd,
            "encoded_bytes": cost.encoded_bytes,
        },
    }


def genesis_hash(header: dict) -> str:
    """The hash entry 0 links to: SHA-256 of the canonical header."""
    return sha256(canonical(header))


def header_for(records_per_blob: int, cost_model: dict, keys: dict, meta: dict) -> dict:
    """A ledger file's header (everything the chain is anchored to at its start)."""
    return {
        "format": FORMAT,
        "version": VERSION,
        "records_per_blob": records_per_blob,
        "cost_model": cost_model,
        "keys": dict(sorted(keys.items())),
        "meta": meta,
    }

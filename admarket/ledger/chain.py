"""Scenario C's shared ledger: an append-only, hash-chained log batched into blobs.

A proxy for Sui objects + Walrus blobs. Each entry's SHA-256 covers its content and the
previous hash, so editing, deleting, inserting or reordering entries breaks the chain and
``verify()`` names the first bad one. Entries fill an open blob, sealed and costed (with
:class:`LedgerCostModel`) when full or on request; each sealed blob keeps the chain head
at sealing (``last_hash``), as its Sui object would on chain, which also catches what a
chain alone cannot: dropped tail entries, or an edit with every later hash recomputed.
Agents recover lost memory through the fact index (``payload["facts"]`` -> ``latest``).

File format, JSON Lines of canonical JSON (sorted keys, compact): a header line
``{"format": "admarket-ledger", "version": 1, "records_per_blob": N, "cost_model": {..}}``,
one line per entry (every LedgerEntry field), then a trailer standing in for on-chain
state, ``{"trailer": {"n_entries": N, "head_hash": H, "blobs": [SealedBlob, ...]}}``.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from admarket.atomic import atomic_file
from admarket.errors import LedgerFormatError
from admarket.ledger.cost import BlobCost, LedgerCostModel

FORMAT, VERSION = "admarket-ledger", 1
GENESIS_HASH = "0" * 64
ENTRY_KINDS = frozenset(
    {"quote", "proposal", "counter", "accept", "booking", "delivery", "settlement", "dispute"}
)
_FIELD_TYPES = {"entry_id": int, "blob_id": int, "kind": str, "payload": dict, "author": str}
_FIELD_TYPES |= {"step": int, "prev_hash": str, "hash": str}  # LedgerEntry's fields, in order


@dataclass(frozen=True)
class LedgerEntry:
    """One ledger record; ``hash`` = SHA-256 of the canonical JSON of all other fields."""

    entry_id: int
    blob_id: int
    kind: str
    payload: dict
    author: str
    step: int
    prev_hash: str
    hash: str


@dataclass(frozen=True)
class SealedBlob:
    """A sealed blob: entry count, bytes, cost, and the chain head its Sui object anchors.

    ``payload_bytes`` is the summed size of its entries' canonical JSON (hashed fields), i.e.
    what the Walrus blob would hold; ``cost`` is ``cost_model.blob_cost(payload_bytes)``.
    """

    blob_id: int
    n_entries: int
    payload_bytes: int
    cost: BlobCost
    last_hash: str


@dataclass(frozen=True)
class VerifyResult:
    """Outcome of a verify pass; ``first_bad`` is the 0-based chain position of the first fault."""

    ok: bool
    n_entries: int
    first_bad: int | None
    reason: str


def _no_constants(name: str) -> float:
    raise ValueError(f"{name} is not valid JSON")


def _refuse(obj: object) -> object:
    raise TypeError(f"{type(obj).__name__} is not JSON")


# One reusable C-accelerated encoder; canonical = sorted keys, compact, ASCII, finite floats.
_canonical = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), allow_nan=False, default=_refuse
).encode
_decoder = json.JSONDecoder(parse_constant=_no_constants)  # reused: NaN/Infinity refused
_decode = _decoder.raw_decode  # no whitespace scans: canonical text has none
_quoted = functools.lru_cache(maxsize=1 << 16)(json.dumps)  # authors and kinds repeat
_NO_FACTS: dict = {}
_HASHED = ("entry_id", "blob_id", "kind", "payload", "author", "step", "prev_hash")


def _body(e: LedgerEntry) -> str:
    """Canonical JSON of the hashed fields; its length is the entry's size in a blob."""
    return _canonical({name: getattr(e, name) for name in _HASHED})


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _check_json(value: object, where: str) -> None:
    """Raise TypeError/ValueError naming the first part of ``value`` that is not plain JSON."""
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"{where}: non-finite float {value!r} is not valid JSON")
    if isinstance(value, list):
        for i, v in enumerate(value):
            _check_json(v, f"{where}[{i}]")
    elif isinstance(value, dict):
        for k, v in value.items():
            if not isinstance(k, str):
                raise TypeError(f"{where}: dict key {k!r} is not a str")
            _check_json(v, f"{where}.{k}")
    elif not (value is None or isinstance(value, str | int | float)):
        raise TypeError(f"{where}: {type(value).__name__} is not a JSON scalar, list or dict")


def _checked_facts(payload: dict) -> dict:
    """``payload["facts"]`` if it maps str -> number; payloads here come from json.loads."""
    facts = payload.get("facts", _NO_FACTS)
    if type(facts) is not dict:
        raise TypeError("payload['facts'] must be a dict of str -> number")
    for k, v in facts.items():
        if type(v) is not int and type(v) is not float:  # exact types: bool is not a number
            raise TypeError(f"payload['facts'][{k!r}]={v!r} is not a number")
    return facts


def _group(key: str) -> str | None:
    """Index group of a key: its prefix up to the second colon ("deal:17:price" -> "deal:17:")."""
    first = key.find(":")
    second = key.find(":", first + 1) if first >= 0 else -1
    return key[: second + 1] if second >= 0 else None


def _entry_fault(i: int, e: LedgerEntry, prev_hash: str, prev_blob: int) -> str | None:
    if e.entry_id != i:
        return f"entry_id {e.entry_id} at position {i}, expected {i}"
    if e.prev_hash != prev_hash:
        return f"prev_hash of entry {i} does not link to the previous entry's hash"
    if e.blob_id < prev_blob:
        return f"blob_id {e.blob_id} of entry {i} decreases from {prev_blob}"
    if e.kind not in ENTRY_KINDS:
        return f"unknown kind {e.kind!r} in entry {i}"
    if _sha(_body(e)) != e.hash:
        return f"hash mismatch in entry {i}: content edited"
    return None


def verify_entries(
    entries: Sequence[LedgerEntry],
    blobs: Sequence[SealedBlob] = (),
    anchor: tuple[int, str] | None = None,
) -> VerifyResult:
    """Walk a chain and report its first fault, if any; the pure core of ``Ledger.verify``.

    Checks, per position i: entry_id == i, prev_hash links to entry i-1's hash (genesis for
    i = 0), blob ids never decrease, the kind is known, and the hash recomputes. Then each
    sealed blob's anchor (entry count, last hash) and the optional ``anchor`` (n, head hash)
    recorded when the file was saved. A chain fault is reported where it occurs (an edit
    whose own hash was recomputed surfaces at the next entry); an anchor fault, which only
    a consistent forgery or a dropped tail produces, at the first position it leaves
    unproven (a dropped tail: the first missing position).
    """
    n_have = len(entries)
    prev_hash, prev_blob = GENESIS_HASH, 0
    spans: dict[int, list] = {}  # blob_id -> [first position, count, last hash]
    for i, e in enumerate(entries):
        reason = _entry_fault(i, e, prev_hash, prev_blob)
        if reason is not None:
            return VerifyResult(False, n_have, i, reason)
        prev_hash, prev_blob = e.hash, e.blob_id
        span = spans.setdefault(e.blob_id, [i, 0, ""])
        span[1] += 1
        span[2] = e.hash
    faults: list[tuple[int, str]] = []
    start = 0  # first position not covered by a matching blob anchor
    for b in blobs:
        first, count, last = spans.get(b.blob_id, [start, 0, ""])
        if first != start or count != b.n_entries or last != b.last_hash:
            dropped = count < b.n_entries and start + count == n_have  # the chain just ends
            pos = n_have if dropped else start
            faults.append((pos, f"blob {b.blob_id} does not match its anchor"))
            break
        start += count
    if anchor is not None:
        n, head = anchor
        if n_have < n:
            faults.append((n_have, f"chain truncated: {n_have} entries, {n} anchored"))
        elif (entries[n - 1].hash if n else GENESIS_HASH) != head:
            faults.append((min(start, max(n - 1, 0)), "chain head does not match the anchor"))
    if faults:
        return VerifyResult(False, n_have, *min(faults))
    return VerifyResult(True, n_have, None, "ok")


class Ledger:
    """Append-only hash-chained ledger with blob batching, cost accounting and a fact index."""

    def __init__(self, records_per_blob: int = 500, cost_model: LedgerCostModel | None = None):
        """Empty ledger sealing a blob every ``records_per_blob`` entries; None = default costs."""
        rpb = records_per_blob
        if isinstance(rpb, bool) or not isinstance(rpb, int) or rpb < 1:
            raise ValueError(f"records_per_blob={rpb!r} out of range; allowed integers >= 1")
        self.records_per_blob = records_per_blob
        self.cost_model = cost_model if cost_model is not None else LedgerCostModel()
        self._entries: list[LedgerEntry] = []
        self._blobs: list[SealedBlob] = []
        self._open_count = self._open_bytes = 0
        self._latest: dict[str, float] = {}
        # Secondary index for facts_with_prefix: _group(key) -> {key: latest value}; keys with
        # fewer than two colons share group "", which no prefix query reads.
        self._groups: dict[str, dict[str, float]] = {}
        self._bucket_of: dict[str, dict[str, float]] = {}  # key -> its group's dict
        self._anchor: tuple[int, str] | None = None  # (n, head) from a loaded file's trailer
        self.total_sui = self.total_wal = self.total_usd = 0.0

    def __len__(self) -> int:
        return len(self._entries)

    def __getitem__(self, i: int) -> LedgerEntry:
        return self._entries[i]

    @property
    def entries(self) -> tuple[LedgerEntry, ...]:
        """All entries in chain order (a copy; use ``ledger[i]`` in hot loops)."""
        return tuple(self._entries)

    @property
    def blobs(self) -> tuple[SealedBlob, ...]:
        """Sealed blobs in order, each with its cost, for attributing ledger spend."""
        return tuple(self._blobs)

    @property
    def n_entries(self) -> int:
        return len(self._entries)

    @property
    def n_blobs(self) -> int:
        return len(self._blobs)

    @property
    def head_hash(self) -> str:
        return self._entries[-1].hash if self._entries else GENESIS_HASH

    def append(self, kind: str, payload: dict, author: str, step: int) -> LedgerEntry:
        """Chain a new entry onto the ledger and return it; seals the open blob when full.

        ``payload`` must be a dict of JSON values (str keys; str/int/float/bool/None, lists,
        dicts) — anything else raises TypeError. It is deep-copied, so later changes to the
        caller's dict cannot corrupt the chain. ``payload["facts"]`` (str -> number), if
        present, updates the fact index read by ``latest`` and ``facts_with_prefix``.
        """
        if kind not in ENTRY_KINDS:
            raise ValueError(f"kind={kind!r}: allowed kinds are {sorted(ENTRY_KINDS)}")
        if not isinstance(author, str):
            raise TypeError(f"author must be a str, got {type(author).__name__}")
        if isinstance(step, bool) or not isinstance(step, int) or step < 0:
            raise ValueError(f"step={step!r} out of range; allowed integers >= 0")
        step = int(step)  # store a plain int (not an IntEnum) so a reloaded copy compares equal
        if not isinstance(payload, dict):
            raise TypeError(f"payload must be a dict, got {type(payload).__name__}")
        # Fast path: C encoder + decoder give the canonical text and a private deep copy; the
        # copy differs from the input only if JSON coerced something (tuples, non-str keys).
        try:
            payload_json = _canonical(payload)
            copy = _decode(payload_json)[0]
            plain = copy == payload
        except (TypeError, ValueError):
            plain = False
        if not plain:
            _check_json(payload, "payload")
            raise TypeError("payload is not plain JSON")  # defensive: _check_json raised already
        facts = _checked_facts(copy)
        entry_id, blob_id, prev = len(self._entries), len(self._blobs), self.head_hash
        # Same text as _body() of the finished entry (keys in sorted order); verify() rechecks.
        body = (
            f'{{"author":{_quoted(author)},"blob_id":{blob_id},"entry_id":{entry_id},'
            f'"kind":{_quoted(kind)},"payload":{payload_json},"prev_hash":"{prev}",'
            f'"step":{step}}}'
        )
        entry = LedgerEntry(entry_id, blob_id, kind, copy, author, step, prev, _sha(body))
        self._entries.append(entry)
        self._index(facts)
        self._open_count += 1
        self._open_bytes += len(body)
        if self._open_count >= self.records_per_blob:
            self.seal_blob()
        return entry

    def _index(self, facts: dict) -> None:
        for key, value in facts.items():
            value = float(value)
            self._latest[key] = value
            bucket = self._bucket_of.get(key)
            if bucket is None:  # first sighting of this key: find its group once
                bucket = self._groups.setdefault(_group(key) or "", {})
                self._bucket_of[key] = bucket
            bucket[key] = value

    def seal_blob(self) -> SealedBlob | None:
        """Seal and cost the open blob (e.g. at end of day); None if it holds no entries."""
        if self._open_count == 0:
            return None
        cost = self.cost_model.blob_cost(self._open_bytes)
        blob = SealedBlob(
            len(self._blobs), self._open_count, self._open_bytes, cost, self.head_hash
        )
        self._blobs.append(blob)
        self.total_sui += cost.sui
        self.total_wal += cost.wal
        self.total_usd += cost.usd
        self._open_count = self._open_bytes = 0
        return blob

    def latest(self, fact_key: str) -> float | None:
        """Most recently recorded value of ``fact_key``, or None if never recorded (O(1))."""
        return self._latest.get(fact_key)

    def facts_with_prefix(self, prefix: str) -> dict[str, float]:
        """Latest values of all facts whose key starts with ``prefix`` (e.g. ``"deal:17:"``).

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

    def verify(self) -> VerifyResult:
        """Recompute the whole chain and check it against the sealed-blob and file anchors."""
        return verify_entries(self._entries, self._blobs, self._anchor)

    def save(self, path: str | os.PathLike) -> None:
        """Write the ledger as JSON Lines (see module docstring), atomically via os.replace."""
        path = Path(path)
        header = {"format": FORMAT, "version": VERSION, "records_per_blob": self.records_per_blob}
        header["cost_model"] = asdict(self.cost_model)
        trailer = {"n_entries": len(self), "head_hash": self.head_hash}
        trailer["blobs"] = [asdict(b) for b in self._blobs]
        with atomic_file(path, "w", encoding="utf-8") as fh:
            fh.write(_canonical(header) + "\n")
            for e in self._entries:
                fh.write(_canonical({f: getattr(e, f) for f in _FIELD_TYPES}) + "\n")
            fh.write(_canonical({"trailer": trailer}) + "\n")

    @classmethod
    def load(cls, path: str | os.PathLike) -> Ledger:
        """Read a ledger written by ``save``; raises LedgerFormatError, does not verify."""
        try:
            lines = Path(path).read_text(encoding="utf-8").splitlines()
        except (FileNotFoundError, IsADirectoryError) as exc:
            raise LedgerFormatError(f"no ledger file at {path}") from exc
        rows = []
        for n, line in enumerate(lines):
            try:
                rows.append(_decoder.decode(line))
            except ValueError as exc:  # includes JSONDecodeError; NaN/Infinity are refused too
                idx = n - 1 if 0 < n < len(lines) - 1 else None
                raise LedgerFormatError(f"{path}:{n + 1}: not JSON ({exc})", idx) from exc
        header, trailer = (rows[0], rows[-1]) if rows else (None, None)
        if not isinstance(header, dict) or header.get("format") != FORMAT:
            raise LedgerFormatError(f"{path}: first line is not an {FORMAT} header")
        if header.get("version") != VERSION:
            raise LedgerFormatError(f"{path}: unsupported version {header.get('version')!r}")
        if len(rows) < 2 or not isinstance(trailer, dict) or set(trailer) != {"trailer"}:
            raise LedgerFormatError(f"{path}: missing trailer line (file truncated?)")
        try:
            ledger = cls(header["records_per_blob"], LedgerCostModel(**header["cost_model"]))
            t = trailer["trailer"]
            ledger._anchor = (int(t["n_entries"]), str(t["head_hash"]))
            for b in t["blobs"]:
                b = dict(b, cost=BlobCost(**b["cost"]))
                ledger._blobs.append(SealedBlob(**b))
        except (KeyError, TypeError, ValueError) as exc:
            raise LedgerFormatError(f"{path}: bad header or trailer: {exc}") from exc
        for b in ledger._blobs:  # same order of additions as seal_blob, so totals match exactly
            ledger.total_sui += b.cost.sui
            ledger.total_wal += b.cost.wal
            ledger.total_usd += b.cost.usd
        for i, row in enumerate(rows[1:-1]):
            try:
                if not isinstance(row, dict) or set(row) != set(_FIELD_TYPES):
                    raise TypeError("fields differ from a ledger entry's")
                for name, typ in _FIELD_TYPES.items():  # exact types: JSON gives no subclasses
                    if type(row[name]) is not typ:
                        raise TypeError(f"{name}={row[name]!r} is not a {typ.__name__}")
                ledger._entries.append(LedgerEntry(**row))
                ledger._index(_checked_facts(row["payload"]))
            except TypeError as exc:
                raise LedgerFormatError(f"{path}:{i + 2}: bad entry: {exc}", i) from exc
        sealed = sum(b.n_entries for b in ledger._blobs)
        for e in ledger._entries[sealed:]:  # the open blob's entries, still to be sealed
            ledger._open_count += 1
            ledger._open_bytes += len(_body(e))
        return ledger


def verify_file(path: str | os.PathLike) -> VerifyResult:
    """Load and verify a saved ledger; a format error is reported as a failed result."""
    try:
        return Ledger.load(path).verify()
    except LedgerFormatError as exc:
        return VerifyResult(False, 0, exc.entry_index, f"format error: {exc}")

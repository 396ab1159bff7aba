"""Scenario C's records: a ledger that agents write, that can fail, and that they read back.

What goes on the ledger is what its author *holds* when it writes — its negotiation
messages, the deal terms it agreed, its ad server's delivery counts, its invoice, its own
books — never the model's true books. Each entry is signed by its author; a two-party fact
(deal terms at booking, the invoice at settlement) is signed by both parties only when
their views agree, and otherwise the failed co-sign is itself recorded (both sign what
each holds), logged as a ``cosign_failed`` event, and the parties reconcile.

The ledger is imperfect in three ways, each a parameter with its own keyed random draws:

* ``ledger_read_failure``: a query gets no answer (the agent falls back on its own memory,
  as in B: it reconstructs what it lost and checks nothing);
* ``ledger_write_failure``: an entry is never written (the author does not know);
* ``ledger_flush_hours``: the open blob is sealed once its oldest entry has waited this
  many hours (0: on every write); only sealed entries are readable, so an agent that loses
  its memory before the seal cannot recover what it wrote since. Batching saves cost
  (fewer blobs) and costs recoverability; both come out of the run.

Delivery is also recorded at impression level (one record per ``impressions_per_record``)
in blobs of their own, so an impression can be traced to its blob; they are costed, not
read.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np

from admarket.config import MarketConfig
from admarket.ledger.chain import Ledger
from admarket.scenarios.records import Records
from admarket.streams import (
    LEDGER_READ,
    LEDGER_WRITE,
    keyed_prefix,
    keyed_uniform_text,
)

if TYPE_CHECKING:  # pragma: no cover
    from admarket.model.events import EventLog


ADD_CHUNK = 1 << 20  # terms summed per numpy call: bounds the temporary array (8 MiB)


def add_repeatedly(total: float, x: float, times: int, chunk: int = ADD_CHUNK) -> float:
    """``total`` after ``x`` is added to it ``times`` times, one addition after another —
    the same float, bit for bit, as a loop of ``total += x`` (``np.add.accumulate`` adds in
    order, unlike ``sum``), at numpy's speed when ``times`` is large; ``chunk`` terms at a
    time."""
    if times <= 16:
        for _ in range(times):
            total += x
        return total
    while times > 0:
        k = min(times, chunk)
        terms = np.full(k + 1, x)
        terms[0] = total
        total = float(np.add.accumulate(terms, out=terms)[-1])
        times -= k
    return total


class LedgerRecords(Records):
    """Scenario C: facts agents wrote and signed on the ledger, and its deal index."""

    name = "ledger"

    def __init__(self, ledger: Ledger, cfg: MarketConfig, events: EventLog | None = None):
        self.ledger = ledger
        self.events = events
        self.seed = cfg.seed
        self.read_failure = cfg.ledger_read_failure
        self._read_key = keyed_prefix(self.seed, LEDGER_READ)  # of every read-failure draw
        self._write_key = keyed_prefix(self.seed, LEDGER_WRITE)  # of every write-failure draw
        self.write_failure = cfg.ledger_write_failure
        self.flush_hours = cfg.ledger_flush_hours
        self._by_campaign: dict[int, list[int]] = {}
        self._by_product: dict[int, list[int]] = {}
        self._indexed = 0  # chain position up to which sealed bookings are indexed
        self._seq = (-1, 0)  # (step, write attempts in it): keys the write-failure draws
        # fact key -> the attempt of its latest write when that write is not readable: still
        # in the open blob, or lost (see behind); a seal clears the written ones
        self._unread: dict[str, int] = {}
        self._attempts = 0
        self._unsealed: list[tuple[int, tuple[str, ...]]] = []  # (attempt, fact keys) open
        self.reads_failed = self.writes_failed = self.cosign_failures = 0
        # Impression-level delivery records (traceable impression → blob → Sui object).
        self.impressions_per_record = cfg.impressions_per_record
        self.record_bytes = cfg.ledger_record_bytes
        self.delivery_records = 0
        self.record_blobs = 0
        self.record_blobs_usd = 0.0
        self._open_records = 0

    # --- reading ------------------------------------------------------------------------------
    def reachable(self, reader: str, query: str, step: int) -> bool:
        """Whether ``reader``'s query gets an answer (fails with ``ledger_read_failure``)."""
        if self.read_failure <= 0:
            return True
        # keyed_uniform(seed, LEDGER_READ, reader, query, step), the prefix built once
        u = keyed_uniform_text(f"{self._read_key}{reader}|{query}|{step}")
        if u >= self.read_failure:
            return True
        self.reads_failed += 1
        if self.events is not None:
            self.events.count("ledger_read_failed")
        return False

    def read(self, reader: str, key: str, step: int) -> float | None:
        """``reader``'s query for fact ``key`` (see :meth:`Records.read`), with the ledger
        looked up directly: C verifies every recall with a read, ~580k of them at 100x50."""
        return self.ledger.latest(key) if self.reachable(reader, key, step) else None

    def value(self, key: str) -> float | None:
        """The most recent readable (sealed) value written for ``key``."""
        return self.ledger.latest(key)

    def facts(self) -> dict[str, float]:
        """Every fact on the ledger with its latest readable value."""
        return self.ledger.readable_facts()

    def deals_of_campaign(self, campaign: int) -> list[int]:
        """Every deal whose booking for ``campaign`` is on the ledger and readable."""
        return list(self._by_campaign.get(campaign, ()))

    def deals_of_product(self, product: int) -> list[int]:
        """Every deal whose booking on ``product`` is on the ledger and readable."""
        return list(self._by_product.get(product, ()))

    # --- writing ------------------------------------------------------------------------------
    def write(self, kind: str, payload: dict, author: str, step: int) -> bool:
        """Append ``author``'s signed entry unless the write fails; whether it was written."""
        facts = tuple(payload.get("facts") or ())
        if facts:  # its parties now hold newer values of these than the ledger can show
            self._attempts += 1
            for key in facts:
                self._unread[key] = self._attempts
        if self._lost(kind, author, step):
            return False
        self.ledger.append(kind, payload, author, step)
        if facts:
            self._unsealed.append((self._attempts, facts))
        if self.flush_hours == 0:
            self.ledger.seal_blob(step)
        self._index_sealed()
        return True

    def behind(self, key: str) -> bool:
        """Whether the latest write of ``key`` is not readable (in the open blob, or lost),
        so the ledger's value of it is older than what that write held. Every fact an agent
        checks is one it wrote or learned as that write was made (its own books; deal terms
        it co-signed; a delivery count it was invoiced for), so the agent knows the ledger
        is behind it there — an entry's step is on the ledger — though not whether its
        write was lost or is waiting for its seal. An agent checks a recall against the
        ledger only where the ledger is not behind (see ``TraderAgent._act_on``)."""
        return key in self._unread

    def cosign(self, kind: str, payload: dict, views: Mapping[str, object], step: int) -> bool:
        """Both parties sign ``payload`` (written by the seller) if their views agree.

        Otherwise the co-sign fails visibly: a ``cosign_failure`` entry, signed by both,
        records each party's view, a ``cosign_failed`` event is logged, and False tells the
        caller to reconcile.
        """
        buyer, seller = payload["buyer"], payload["seller"]
        first = next(iter(views.values()))
        if all(v == first for v in views.values()):
            self.write(kind, payload, seller, step)
            return True
        self.cosign_failures += 1
        ids = {k: v for k, v in payload.items() if k not in ("facts", "lines")}
        self.write("cosign_failure", {**ids, "of": kind, "views": dict(views)}, buyer, step)
        if self.events is not None:
            self.events.emit(step, "cosign_failed", of=kind, **ids)
        return False

    def _lost(self, kind: str, author: str, step: int) -> bool:
        """Whether this write attempt fails (keyed on author, kind, step and attempt)."""
        if self.write_failure <= 0:
            return False
        at, n = self._seq
        self._seq = (step, n + 1 if at == step else 0)
        # keyed_uniform(seed, LEDGER_WRITE, author, kind, step, attempt), prefix built once
        u = keyed_uniform_text(f"{self._write_key}{author}|{kind}|{step}|{self._seq[1]}")
        if u >= self.write_failure:
            return False
        self.writes_failed += 1
        if self.events is not None:
            self.events.emit(step, "ledger_write_lost", agent=author, entry=kind)
        return True

    # --- sealing ------------------------------------------------------------------------------
    def end_step(self, step: int) -> None:
        """Seal the open blob once its oldest entry has waited ``ledger_flush_hours``."""
        since = self.ledger.open_since
        if since is not None and step + 1 - since >= self.flush_hours:
            self.ledger.seal_blob(step)
            self._index_sealed()

    def close(self, step: int) -> None:
        """Seal everything still open (the end of the run)."""
        self.ledger.seal_blob(step)
        self._index_sealed()
        if self._open_records:
            self._seal_records(self._open_records)

    def _index_sealed(self) -> None:
        """Add newly sealed bookings to the deal index agents list their deals from, and
        mark the facts of newly sealed writes readable."""
        ledger = self.ledger
        if self._unsealed and not ledger.open_entries:  # a seal made every write readable
            unread = self._unread
            for attempt, keys in self._unsealed:
                for key in keys:
                    if unread.get(key) == attempt:  # still its latest write
                        del unread[key]
            self._unsealed.clear()
        upto = len(ledger) - ledger.open_entries
        for i in range(self._indexed, upto):
            e = ledger[i]
            if e.kind == "booking":
                p = e.payload
                self._by_campaign.setdefault(p["campaign"], []).append(p["deal"])
                self._by_product.setdefault(p["product"], []).append(p["deal"])
        self._indexed = max(self._indexed, upto)

    # --- impression-level delivery records -------------------------------------------------
    def add_delivery_records(self, impressions: int) -> int:
        """Store the records covering ``impressions``; returns how many were written."""
        n = -(-impressions // self.impressions_per_record)
        self.delivery_records += n
        self._open_records += n
        per_blob = self.ledger.records_per_blob
        full = self._open_records // per_blob
        if full:
            # every full blob holds per_blob records, so each costs the same: one cost, added
            # once per blob in order (the running total a blob-by-blob loop would give, to the
            # last digit), without a Python iteration per blob — at one impression per record
            # and one record per blob that loop ran once per impression
            usd = self.ledger.cost_model.blob_cost(per_blob * self.record_bytes).usd
            self.record_blobs += full
            self.record_blobs_usd = add_repeatedly(self.record_blobs_usd, usd, full)
            self._open_records -= full * per_blob
        return n

    def _seal_records(self, n: int) -> None:
        """Seal one blob of the ``n`` open records (the last, partial blob at close)."""
        cost = self.ledger.cost_model.blob_cost(n * self.record_bytes)
        self.record_blobs += 1
        self.record_blobs_usd += cost.usd
        self._open_records -= n

    # --- what it holds and costs -------------------------------------------------------------
    @property
    def n_entries(self) -> int:  # type: ignore[override]
        """Ledger entries written so far (seal entries included)."""
        return self.ledger.n_entries

    @property
    def n_seals(self) -> int:
        """Sealed blobs of ledger entries so far."""
        return self.ledger.n_blobs

    @property
    def total_usd(self) -> float:  # type: ignore[override]
        """Everything C's records cost so far: ledger entry blobs and delivery-record blobs."""
        return self.ledger.total_usd + self.record_blobs_usd

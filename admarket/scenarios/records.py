"""Where an agent turns when its own memory fails: the one place the scenarios differ.

* **A — ExchangeDatabase**: the exchange's central database holds every campaign's spend
  and delivery; buyers read it (exact) and keep no state of their own.
* **B — NoSharedRecords**: nothing outside the agents' volatile memory; a lost fact must be
  reconstructed from what the agent still holds.
* **C — LedgerRecords**: every negotiation, booking, delivery and settlement is written to
  a hash-chained ledger (:class:`admarket.ledger.chain.Ledger`); agents read recorded facts back
  and list their deals from it.

Each keeper answers ``value(key)`` for a fact key such as ``"deal:17:price"`` (None when
it has no record) and lists deals by campaign or product. They are given to agents as the
scenario's recovery source; none of them is the ground truth the auditor uses.
"""

from __future__ import annotations

from admarket.ledger.chain import Ledger
from admarket.market.accounting import Accounts


class Records:
    """Shared records an agent can turn to; the base has none (writes go nowhere, reads
    find nothing, nothing is costed)."""

    name = "none"
    n_entries = 0  # ledger entries written
    delivery_records = 0  # impression-level delivery records written
    total_usd = 0.0  # what keeping the records has cost

    def value(self, key: str) -> float | None:
        """The recorded value of fact ``key``, or None when there is no record."""
        return None

    def write(self, kind: str, payload: dict, author: str, step: int) -> None:
        """Record an event (nothing is recorded here)."""

    def add_delivery_records(self, impressions: int) -> int:
        """Record delivered impressions at impression level; returns records written."""
        return 0

    def deals_of_campaign(self, campaign: int) -> list[int] | None:
        """None: an agent can only list the deals it remembers."""
        return None

    def deals_of_product(self, product: int) -> list[int] | None:
        """None: a seller can only list the deals it remembers."""
        return None


class NoSharedRecords(Records):
    """Scenario B: nothing outside the agents' volatile memory."""


class ExchangeDatabase(Records):
    """Scenario A: the exchange's database of campaign spend and delivery (exact)."""

    name = "exchange_db"

    def __init__(self, accounts: Accounts):
        self._accounts = accounts

    def value(self, key: str) -> float | None:
        """Campaign spend (USD) or delivery (lots) as the exchange recorded it."""
        entity, ident, attr = key.split(":", 2)
        if entity != "campaign":
            return None
        c = int(ident)
        if attr == "spent":
            return self._accounts.spent[c] / 100.0
        if attr == "delivered":
            return float(self._accounts.delivered[c])
        return None


class LedgerRecords(Records):
    """Scenario C: facts recorded on the hash-chained ledger, and its deal index."""

    name = "ledger"

    def __init__(self, ledger: Ledger, impressions_per_record: int = 1000, record_bytes: int = 256):
        self.ledger = ledger
        self._by_campaign: dict[int, list[int]] = {}
        self._by_product: dict[int, list[int]] = {}
        # Impression-level delivery records (traceable impression → blob → Sui object),
        # one per ``impressions_per_record`` impressions, batched into Walrus blobs of the
        # ledger's ``records_per_blob``; the daily ledger entries anchor them.
        self.impressions_per_record = impressions_per_record
        self.record_bytes = record_bytes
        self.delivery_records = 0
        self.record_blobs = 0
        self.record_blobs_usd = 0.0
        self._open_records = 0

    def add_delivery_records(self, impressions: int) -> int:
        """Store the records covering ``impressions``; returns how many were written."""
        n = -(-impressions // self.impressions_per_record)
        self.delivery_records += n
        self._open_records += n
        per_blob = self.ledger.records_per_blob
        while self._open_records >= per_blob:
            self._seal_records(per_blob)
        return n

    def seal_records(self) -> None:
        """Store a final, partly filled blob of delivery records (end of run)."""
        if self._open_records:
            self._seal_records(self._open_records)

    def _seal_records(self, n: int) -> None:
        cost = self.ledger.cost_model.blob_cost(n * self.record_bytes)
        self.record_blobs += 1
        self.record_blobs_usd += cost.usd
        self._open_records -= n

    @property
    def n_entries(self) -> int:  # type: ignore[override]
        """Ledger entries written so far."""
        return self.ledger.n_entries

    @property
    def total_usd(self) -> float:  # type: ignore[override]
        """Everything C's records cost so far: ledger entry blobs and delivery-record blobs."""
        return self.ledger.total_usd + self.record_blobs_usd

    def value(self, key: str) -> float | None:
        """The most recent value recorded on the ledger for ``key``."""
        return self.ledger.latest(key)

    def write(self, kind: str, payload: dict, author: str, step: int) -> None:
        """Append an entry; bookings also feed the deal index agents list deals from."""
        self.ledger.append(kind, payload, author, step)
        if kind == "booking":
            self._by_campaign.setdefault(payload["campaign"], []).append(payload["deal"])
            self._by_product.setdefault(payload["product"], []).append(payload["deal"])

    def deals_of_campaign(self, campaign: int) -> list[int]:
        """Every deal booked for ``campaign``, as recorded on the ledger."""
        return list(self._by_campaign.get(campaign, ()))

    def deals_of_product(self, product: int) -> list[int]:
        """Every deal booked on ``product``, as recorded on the ledger."""
        return list(self._by_product.get(product, ()))

"""Where an agent turns when its own memory fails: the one place the scenarios differ.

* **A — ExchangeDatabase**: the exchange's central database holds every campaign's spend
  and delivery; buyers read it (exact) and keep no state of their own.
* **B — NoSharedRecords**: nothing outside the agents' volatile memory; a lost fact must be
  reconstructed from what the agent still holds.
* **C — LedgerRecords** (:mod:`admarket.scenarios.ledger_records`): agents write what they
  hold — messages, deal terms, delivery counts, invoices, their books — to a signed,
  hash-chained ledger, and read recorded facts back and list their deals from it; reads and
  writes can fail and entries are readable only once sealed.

Each keeper answers ``value(key)`` for a fact key such as ``"deal:17:price"`` (None when
it has no record) and lists deals by campaign or product; ``read(reader, key, step)`` is an
agent's query, which in C may fail (None: the agent falls back on its own memory). They are
given to agents as the scenario's recovery source; none of them is the ground truth the
auditor uses.
"""

from __future__ import annotations

from collections.abc import Mapping

from admarket.market.accounting import Accounts


class Records:
    """Shared records an agent can turn to; the base has none (writes go nowhere, reads
    find nothing, nothing is costed)."""

    name = "none"
    n_entries = 0  # ledger entries written
    delivery_records = 0  # impression-level delivery records written
    total_usd = 0.0  # what keeping the records has cost
    reads_failed = writes_failed = cosign_failures = 0  # C's ledger faults so far

    @property
    def keeps_writes(self) -> bool:
        """Whether writes and co-signs go anywhere (the class has its own ``write`` or
        ``cosign``): callers skip building payloads that would be dropped. Worked out from
        the class, so a new design's records that keep writes can never have them skipped."""
        cls = type(self)
        return cls.write is not Records.write or cls.cosign is not Records.cosign

    def facts(self) -> dict[str, float]:
        """Every fact the records hold, with its latest readable value (none here)."""
        return {}

    def value(self, key: str) -> float | None:
        """The recorded value of fact ``key``, or None when there is no record."""
        return None

    def reachable(self, reader: str, query: str, step: int) -> bool:
        """Whether ``reader``'s query of the records at ``step`` gets an answer (always here)."""
        return True

    def behind(self, key: str) -> bool:
        """Whether a newer write of fact ``key`` than the records can show is pending: the
        value they give is older than what its parties hold (never here: no writes)."""
        return False

    def read(self, reader: str, key: str, step: int) -> float | None:
        """``reader``'s query for fact ``key``: its recorded value, or None when there is no
        record or the query gets no answer."""
        return self.value(key) if self.reachable(reader, key, step) else None

    def write(self, kind: str, payload: dict, author: str, step: int) -> bool:
        """Record an entry written by ``author``; whether it was recorded (nothing is here)."""
        return False

    def cosign(self, kind: str, payload: dict, views: Mapping[str, object], step: int) -> bool:
        """Record a two-party fact signed by both parties (``payload`` names ``buyer`` and
        ``seller``) if their ``views`` (party -> what it holds) agree; whether they did.
        Without shared records there is nothing to sign: the parties agree to proceed."""
        return True

    def end_step(self, step: int) -> None:
        """The end of a step: flush what is due (nothing here)."""

    def close(self, step: int) -> None:
        """The end of the run: flush everything."""

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

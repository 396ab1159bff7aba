"""The three ways of trading ad inventory, each a design object that owns what differs.

A :class:`TradingDesign` decides, for one model: where agents recover facts they no longer
hold (its *records*), which fees are charged on a trade, whether agents hold state of their
own, whether recalled facts are checked against shared records, how each hour's trade
happens and what closes each day. :class:`~admarket.model.MarketModel` asks its design and
never branches on the scenario's name.

* :class:`ExchangeDesign` (A): buyers bid in the exchange's auctions each hour; the
  exchange's database is the record; agents hold no state; the exchange fee stack applies.
* :class:`DirectDesign` (B): buyers and sellers trade directly; agents hold every fact in
  volatile memory; nothing shared to recover from; publishers' ad servers deliver booked
  deals each hour and each evening deals are invoiced and reconciled; an agent fee applies.
* :class:`LedgerDesign` (C): direct trading whose agents write what they hold — messages,
  deal terms, delivery counts, invoices, their books — to a signed, hash-chained ledger
  they recover from (and, with ``verify_recalls``, check recalls against); two-party facts
  are co-signed; reads and writes can fail and entries are readable once sealed
  (:mod:`admarket.scenarios.ledger_records`); the ledger's cost is billed to sellers; its
  agent fee is its own parameter (``ledger_agent_fee``).

A new design is one subclass and one line in :data:`DESIGNS`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

import numpy as np

from admarket.agents.exchange import ExchangeAgent
from admarket.config import EXCHANGE_FEES, MarketConfig
from admarket.errors import ConfigError
from admarket.ledger.chain import Ledger
from admarket.ledger.cost import LedgerCostModel
from admarket.ledger.keys import Keyring, agent_signers
from admarket.market.settlement import bill_ledger_cost, settle_day
from admarket.scenarios.ledger_records import LedgerRecords
from admarket.scenarios.records import ExchangeDatabase, NoSharedRecords, Records

if TYPE_CHECKING:  # pragma: no cover
    from admarket.model.market_model import MarketModel

Flow = tuple[tuple[str, str], float]  # ((from node, to node), amount in cents)


class TradingDesign:
    """What a way of trading decides; one instance per model (it may hold state)."""

    letter: ClassVar[str]
    title: ClassVar[str]
    agents_hold_state: ClassVar[bool] = True
    via_exchange: ClassVar[bool] = False  # the market graph routes spend through an exchange

    def __init__(self, model: MarketModel):
        self.model = model
        self.records: Records = self.make_records()
        self.exchange: ExchangeAgent | None = None

    # --- what the design is made of ----------------------------------------------------
    def make_records(self) -> Records:
        """Where agents turn for a fact they no longer hold."""
        return NoSharedRecords()

    def fee_rates(self, cfg: MarketConfig) -> dict[str, float]:
        """Fees on a direct trade, each a share of the buyer's gross spend (inputs)."""
        return {"agent_fee": cfg.agent_fee}

    @property
    def verify_recalls(self) -> bool:
        """Whether agents check a recalled value against shared records before acting."""
        return False

    @property
    def ledger(self) -> Ledger | None:
        """The design's ledger, if it keeps one."""
        return None

    def add_agents(self) -> None:
        """Create agents beyond buyers and sellers (the exchange, in A)."""

    # --- the day ---------------------------------------------------------------------------
    def morning(self, day: int) -> None:
        """Before buyers plan: sellers rebuild their view of committed inventory."""
        m = self.model
        m.refresh_owed_rate()
        for s in m.sellers:
            s.refresh_inventory_view()

    def trade_hour(self, t: int) -> None:
        """The hour's trade: publishers' ad servers deliver booked deals."""
        m = self.model
        ids, _ = m.book.deliver(t, m.market.hourly_avails[:, t])
        if ids.size:
            m.events.count("deliveries", int(ids.size))

    def evening(self, day: int) -> None:
        """The day's close: invoice, reconcile and pay today's deliveries."""
        settle_day(self.model)

    def end_step(self, t: int) -> None:
        """The end of step ``t``: the records flush what is due."""
        self.records.end_step(t)

    def close(self) -> None:
        """The end of the run."""

    # --- views -----------------------------------------------------------------------------
    def delivered_lots(self) -> int:
        """Lots delivered so far (today's included, before the evening settles them)."""
        b = self.model.book
        return int(b.delivered[: b.n].sum())

    def flows(self, buyers: np.ndarray, sellers: np.ndarray, gross: np.ndarray, net: np.ndarray):
        """Spend per market-graph edge (cents): buyer → seller for a direct deal."""
        n_s = self.model.config.n_sellers
        # summed per pair present (a dense buyers × sellers array was 80 MB at 10x), in input
        # order as bincount sums, so the same totals
        keys, inv = np.unique(buyers * n_s + sellers, return_inverse=True)
        pair = np.bincount(inv.ravel(), weights=gross, minlength=keys.size)
        return [
            ((f"buyer-{k // n_s}", f"seller-{k % n_s}"), amount)
            for k, amount in zip(keys.tolist(), pair.tolist(), strict=True)
            if amount
        ]


class ExchangeDesign(TradingDesign):
    """A — buyers bid through an exchange that takes its fee stack; its database is exact."""

    letter = "A"
    title = "exchange"
    agents_hold_state = False
    via_exchange = True

    def make_records(self) -> Records:
        return ExchangeDatabase(self.model.accounts)

    def fee_rates(self, cfg: MarketConfig) -> dict[str, float]:
        return {name: getattr(cfg, name) for name in EXCHANGE_FEES}

    def add_agents(self) -> None:
        self.exchange = ExchangeAgent(self.model, self.fee_rates(self.model.config))

    def morning(self, day: int) -> None:
        """Nothing to rebuild: the exchange's database is the sellers' view."""

    def trade_hour(self, t: int) -> None:
        assert self.exchange is not None
        self.exchange.clear_hour()

    def evening(self, day: int) -> None:
        """Auctions settle as they clear: nothing to invoice."""

    def delivered_lots(self) -> int:
        return int(self.model.accounts.delivered.sum())

    def flows(self, buyers: np.ndarray, sellers: np.ndarray, gross: np.ndarray, net: np.ndarray):
        """Buyers pay the exchange gross; the exchange pays sellers net."""
        cfg = self.model.config
        by_buyer = np.bincount(buyers, weights=gross, minlength=cfg.n_buyers)
        by_seller = np.bincount(sellers, weights=net, minlength=cfg.n_sellers)
        buy, sell = np.flatnonzero(by_buyer), np.flatnonzero(by_seller)
        out = [
            ((f"buyer-{b}", "exchange"), amount)
            for b, amount in zip(buy.tolist(), by_buyer[buy].tolist(), strict=True)
        ]
        return out + [
            (("exchange", f"seller-{s}"), amount)
            for s, amount in zip(sell.tolist(), by_seller[sell].tolist(), strict=True)
        ]


class DirectDesign(TradingDesign):
    """B — buyer and seller agents trade directly from their own volatile memory."""

    letter = "B"
    title = "pure A2A"


class LedgerDesign(DirectDesign):
    """C — direct trading backed by a hash-chained ledger agents recover from."""

    letter = "C"
    title = "ledger-backed A2A"

    def __init__(self, model: MarketModel):
        super().__init__(model)
        self.cents_billed = 0  # ledger cost billed to sellers so far

    def make_records(self) -> Records:
        """A ledger whose signers are every buyer and seller agent (keys from the seed)."""
        cfg = self.model.config
        cost = LedgerCostModel(sui_price_usd=cfg.sui_price_usd, wal_price_usd=cfg.wal_price_usd)
        agents = agent_signers(cfg.n_buyers, cfg.n_sellers)
        meta = {"scenario": self.letter, "seed": cfg.seed}
        ledger = Ledger(cfg.records_per_blob, cost, Keyring(cfg.seed, agents), meta)
        return LedgerRecords(ledger, cfg, self.model.events)

    def fee_rates(self, cfg: MarketConfig) -> dict[str, float]:
        """C's own agent fee (``ledger_agent_fee``) and the protocol fee."""
        return {"agent_fee": cfg.ledger_agent_fee, "protocol_fee": cfg.protocol_fee}

    @property
    def verify_recalls(self) -> bool:
        return self.model.config.verify_recalls

    @property
    def ledger(self) -> Ledger:
        assert isinstance(self.records, LedgerRecords)
        return self.records.ledger

    def evening(self, day: int) -> None:
        super().evening(day)
        self._bill()

    def close(self) -> None:
        self.records.close(self.model.t)
        self._bill()

    def _bill(self) -> None:
        # whole cents, carrying the fraction so the total matches the ledger's cost
        assert isinstance(self.records, LedgerRecords)
        cost = round(self.records.total_usd * 100) - self.cents_billed
        if cost > 0:
            self.cents_billed += cost
            bill_ledger_cost(self.model, cost)


# The registry: scenario letter → design. A fourth design is one more line.
DESIGNS: dict[str, type[TradingDesign]] = {
    d.letter: d for d in (ExchangeDesign, DirectDesign, LedgerDesign)
}


def design_class(design: str | type[TradingDesign]) -> type[TradingDesign]:
    """The design class for a scenario letter (any case) or a :class:`TradingDesign` class."""
    if isinstance(design, type) and issubclass(design, TradingDesign):
        return design
    if isinstance(design, str) and design.upper() in DESIGNS:
        return DESIGNS[design.upper()]
    raise ConfigError("scenario", design, f"one of {', '.join(DESIGNS)} or a TradingDesign class")

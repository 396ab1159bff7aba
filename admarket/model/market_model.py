"""MarketModel: the programmatic advertising market under one of three trading designs.

* **A — exchange**: buyers bid through an exchange's second-price auctions; the exchange
  takes its fee stack and holds all state in its database.
* **B — pure A2A**: buyer and seller agents trade directly (discover, quote, negotiate,
  book, deliver, invoice) holding their state in volatile memory that decays, overflows
  and restarts, so they sometimes act on reconstructed or fabricated facts.
* **C — ledger-backed A2A**: the same direct trading, with every event written to a
  hash-chained ledger that agents recover from and settle disputes against.

One step is one simulated hour. Each morning agents lose memory (B, C), sellers rebuild
their inventory view and buyers plan; each hour the exchange clears (A) or ad servers
deliver booked deals (B, C); each evening deals are invoiced and reconciled (B, C) and the
day's metrics are recorded. All three scenarios of one seed trade in the same market.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
from mesa import Model
from mesa.datacollection import DataCollector

from admarket.agents import BuyerAgent, ExchangeAgent, SellerAgent
from admarket.config import SCENARIOS, ConfigError, MarketConfig
from admarket.ledger.chain import ENTRY_KINDS, Ledger
from admarket.ledger.cost import LedgerCostModel
from admarket.market.accounting import Accounts
from admarket.market.deals import DealBook
from admarket.market.generation import generate_market
from admarket.market.kpis import campaign_outcomes
from admarket.market.negotiation import Outcome
from admarket.market.settlement import charge_ledger, settle_day
from admarket.memory.ground_truth import ClaimLog, GroundTruth
from admarket.model.events import EventLog
from admarket.model.metrics import daily_row, summary
from admarket.model.reporters import AGENT_REPORTERS, MODEL_REPORTERS
from admarket.scenarios.records import ExchangeDatabase, LedgerRecords, NoSharedRecords

# negotiation message → event / ledger entry kind (walk-aways and rejections are not
# ledger entry kinds: nothing was agreed, the event log still has them)
_MESSAGE_KIND = {
    "propose": "proposal",
    "counter": "counter",
    "final_offer": "counter",
    "accept": "accept",
    "reject": "reject",
    "walk_away": "walk_away",
}


class MarketModel(Model):
    """The ad market under scenario ``"A"``, ``"B"`` or ``"C"``.

    Parameters are the fields of :class:`~admarket.config.market_config.MarketConfig`, as keyword
    arguments (``MarketModel("B", n_buyers=20, decay_rate=0.05)``) or a whole ``config``.
    ``rng`` (as passed by Mesa's ``batch_run``) is taken as the seed.
    """

    def __init__(
        self,
        scenario: str = "A",
        config: MarketConfig | None = None,
        *,
        rng: int | None = None,
        **params: Any,
    ):
        if not isinstance(scenario, str) or scenario.upper() not in SCENARIOS:
            raise ConfigError("scenario", scenario, f"one of {', '.join(SCENARIOS)}")
        if rng is not None:
            params["seed"] = rng
        cfg = (config or MarketConfig()).replace(**params) if params else (config or MarketConfig())
        super().__init__(rng=cfg.seed)
        self.config, self.scenario_id = cfg, scenario.upper()
        self.market = mk = generate_market(cfg)
        self.t = 0
        self.accounts = Accounts(mk.n_campaigns, mk.n_products, cfg.n_sellers, cfg.n_buyers)
        self.book = DealBook(mk.hour_weight, mk.cum_weight)
        self.events = EventLog(cfg.steps_per_day)
        self.agents_deciding = False
        self._truth = GroundTruth(self)
        self.claims = ClaimLog(self._truth, cfg.audit_tolerance)
        self.agents_hold_state = self.scenario_id != "A"
        self.ledger: Ledger | None = None
        if self.scenario_id == "A":
            self.records = ExchangeDatabase(self.accounts)
        elif self.scenario_id == "B":
            self.records = NoSharedRecords()
        else:
            cost = LedgerCostModel(sui_price_usd=cfg.sui_price_usd, wal_price_usd=cfg.wal_price_usd)
            self.ledger = Ledger(cfg.records_per_blob, cost)
            self.records = LedgerRecords(
                self.ledger, cfg.impressions_per_record, cfg.ledger_record_bytes
            )
        self.verify_with_ledger = self.scenario_id == "C" and cfg.verify_recalls
        self.campaign_stopped = np.zeros(mk.n_campaigns, dtype=bool)
        self.graph = mk.graph(with_exchange=self.scenario_id == "A")
        self.buyers = [BuyerAgent(self, b) for b in range(cfg.n_buyers)]
        self.sellers = [SellerAgent(self, s) for s in range(cfg.n_sellers)]
        self.exchange = ExchangeAgent(self) if self.scenario_id == "A" else None
        reach = mk.adjacency[mk.campaign_buyer][:, mk.product_seller]  # (campaign, product)
        self._candidates = [np.nonzero(row)[0].tolist() for row in mk.eligible & reach]
        self._ledger_cents_charged = 0
        self.fee_rates = {"agent_fee": cfg.agent_fee}
        if self.scenario_id == "C":
            self.fee_rates["protocol_fee"] = cfg.protocol_fee
        self.settlements: list[dict[str, Any]] = []
        self.daily: list[dict[str, Any]] = []
        self._day_start = {
            "lost": 0,
            "restarts": 0,
            "recovered": 0,
            "recovered_ok": 0,
            "claims": 0,
            "wrong": 0,
        }
        self._owed_rate = np.zeros(mk.n_products)
        self._offered = 0  # lots of avails offered so far (for the fill rate)
        # Model KPIs every hour; per-agent values at each day's close (they only change
        # in the morning and evening, and copying every agent's values hourly is the
        # costliest part of collection at scale).
        self.datacollector = DataCollector(model_reporters=MODEL_REPORTERS)
        self.agent_datacollector = DataCollector(agenttype_reporters=AGENT_REPORTERS)
        self._mem_cache: tuple[int, dict[str, int]] = (-1, {})
        self.running = True
        self.datacollector.collect(self)

    # --- views ----------------------------------------------------------------------------
    @property
    def ground_truth(self) -> GroundTruth:
        """What really happened; readable between steps, never by agents mid-decision."""
        return self._truth

    @property
    def day(self) -> int:
        """Current simulated day (0-based)."""
        return self.t // self.config.steps_per_day

    def offered_lots(self) -> int:
        """Lots of avails publishers have offered so far."""
        return self._offered

    def candidate_products(self, campaign: int) -> list[int]:
        """Products a buyer can trade directly for a campaign: on the graph and eligible."""
        return self._candidates[campaign]

    def true_available(self, p: int, days: float) -> float:
        """Lots product ``p`` can really still commit over ``days`` (ground truth)."""
        cap = float(self.market.daily_avails[p]) * self.config.sellable_share
        return float(math.floor(max(0.0, cap - self._owed_rate[p]) * days))

    def book_deal(self, **terms: Any) -> int:
        """Book a deal in the true deal book (the seller mints it) and return its id."""
        d = self.book.book(**terms)
        spd = self.config.steps_per_day
        self._owed_rate[terms["product"]] += terms["volume"] / max(
            (terms["end"] - self.t) / spd, 1.0 / spd
        )
        return d

    def _refresh_owed_rate(self) -> None:
        """True lots per day each product still owes its deals (recomputed each morning;
        bookings add to it as they happen)."""
        b, spd, t, n = self.book, self.config.steps_per_day, self.t, self.book.n
        on = b.end[:n] > t
        settled = b.delivered[:n] - b.day_delivered[:n]
        owed = np.maximum(b.volume[:n] - settled, 0)
        left = np.maximum((b.end[:n] - t) / spd, 1.0 / spd)
        # (astype: bincount of an empty array comes back as integers)
        self._owed_rate = np.bincount(
            b.product[:n][on], weights=(owed / left)[on], minlength=self.market.n_products
        ).astype(float)

    # --- the clock --------------------------------------------------------------------------
    def step(self) -> None:
        """Advance one simulated hour."""
        spd = self.config.steps_per_day
        if self.steps > self.config.steps:
            raise RuntimeError(
                f"the run has ended: it is {self.config.days} days ({self.config.steps} steps) long"
            )
        self.t = t = self.steps - 1
        self._offered += int(self.market.hourly_avails[:, t].sum())
        if t % spd == 0:
            self._morning(t // spd)
        if self.exchange is not None:
            self.exchange.clear_hour()
        else:
            self._deliver(t)
        if t % spd == spd - 1:
            self._evening(t // spd)
        self.datacollector.collect(self)
        if self.steps >= self.config.steps:
            self.running = False
            self._close()

    def run(self, progress: Any = None) -> MarketModel:
        """Run every remaining step; ``progress`` (e.g. a tqdm bar) is advanced per step."""
        while self.running:
            self.step()
            if progress is not None:
                progress.update(1)
        return self

    def _morning(self, day: int) -> None:
        self.agents_deciding = True
        try:
            traders = [*self.buyers, *self.sellers]
            for a in traders:
                a.lose_memory(day)
            if self.agents_hold_state:
                self._refresh_owed_rate()
                for s in self.sellers:
                    s.refresh_inventory_view()
            self.agents_by_type[BuyerAgent].shuffle_do("plan_day")
        finally:
            self.agents_deciding = False

    def _deliver(self, t: int) -> None:
        supply = self.market.hourly_avails[:, t]
        ids, _ = self.book.deliver(t, supply)
        if ids.size:
            self.events.count("deliveries", int(ids.size))

    def _evening(self, day: int) -> None:
        if self.agents_hold_state:
            self.agents_deciding = True
            try:
                settle_day(self)
                charge_ledger(self)
            finally:
                self.agents_deciding = False
        self.daily.append(daily_row(self, day))
        self.agent_datacollector.collect(self)

    def _close(self) -> None:
        charge_ledger(self, final=True)

    # --- bookkeeping shared with agents -----------------------------------------------------
    def add_flow(
        self, buyers: np.ndarray, sellers: np.ndarray, gross: np.ndarray, net: np.ndarray
    ) -> None:
        """Add spend to the market graph's edges so that deal flow can be drawn."""
        n_b, n_s = self.config.n_buyers, self.config.n_sellers
        if self.scenario_id == "A":
            by_buyer = np.bincount(buyers, weights=gross, minlength=n_b)
            by_seller = np.bincount(sellers, weights=net, minlength=n_s)
            flows = [((f"buyer-{b}", "exchange"), by_buyer[b]) for b in np.nonzero(by_buyer)[0]]
            flows += [(("exchange", f"seller-{s}"), by_seller[s]) for s in np.nonzero(by_seller)[0]]
        else:
            pair = np.bincount(buyers * n_s + sellers, weights=gross, minlength=n_b * n_s)
            flows = [
                ((f"buyer-{k // n_s}", f"seller-{k % n_s}"), pair[k]) for k in np.nonzero(pair)[0]
            ]
        edges = self.graph.edges
        for (u, v), amount in flows:
            e = edges[u, v]
            e["spend"] += float(amount) / 100.0
            e["last_step"] = self.t

    def log_negotiation(
        self,
        buyer,
        seller,
        campaign: int,
        product: int,
        deal_type: str,
        ask: float,
        outcome: Outcome,
    ) -> None:
        """Log each message of a negotiation (quote, proposals, counters, the close) and,
        in C, write each to the ledger."""
        t = self.t
        base = {"campaign": campaign, "product": product, "type": deal_type}
        messages = [("quote", seller.name, {**base, "price": ask})]
        for mv in outcome.moves:
            kind = _MESSAGE_KIND[mv.action]
            author = buyer.name if mv.actor == "buyer" else seller.name
            messages.append((kind, author, {**base, "action": mv.action, "price": mv.price}))
        for kind, author, payload in messages:
            self.events.emit(t, kind, agent=author, **payload)
            if self.ledger is not None and kind in ENTRY_KINDS:
                self.records.write(kind, payload, author, t)
        self.events.emit(
            t,
            "negotiation",
            buyer=buyer.name,
            seller=seller.name,
            **base,
            agreed=outcome.agreed,
            price=outcome.price,
            rounds=outcome.rounds,
        )

    def memory_totals(self) -> dict[str, int]:
        """Facts held and lost, and restarts, summed over every trading agent."""
        if self._mem_cache[0] == self.steps:  # memory changes only at day boundaries
            return self._mem_cache[1]
        held = lost = restarts = 0
        for a in (*self.buyers, *self.sellers):
            held += len(a.memory)
            lost += a.memory.stats.lost
            restarts += a.memory.stats.restarts
        totals = {"held": held, "lost": lost, "restarts": restarts}
        self._mem_cache = (self.steps, totals)
        return totals

    # --- results ------------------------------------------------------------------------------
    def campaign_outcomes(self) -> pd.DataFrame:
        """Per-campaign delivery, spend, eCPM, goals hit and goal-attainment score."""
        acc = self.accounts
        df = campaign_outcomes(
            self.market, acc.spent, acc.delivered, acc.delivered_pc, self.config.lot_size
        )
        df.insert(0, "scenario", self.scenario_id)
        return df

    def transactions(self) -> pd.DataFrame:
        """Every transaction row (auction wins, deal settlements, ledger fees), USD."""
        df = self.accounts.transactions(self.config.steps_per_day)
        df.insert(0, "scenario", self.scenario_id)
        return df

    def daily_metrics(self) -> pd.DataFrame:
        """One row per simulated day: attainment, context rot, recovery, hallucinations."""
        df = pd.DataFrame(self.daily)
        df.insert(0, "scenario", self.scenario_id)
        return df

    def claim_audit(self) -> pd.DataFrame:
        """Every claim agents acted on, graded against ground truth."""
        df = self.claims.frame()
        df.insert(0, "scenario", self.scenario_id)
        return df

    def summary(self) -> dict[str, float]:
        """Headline numbers of the run (the CLI's table)."""
        return summary(self)

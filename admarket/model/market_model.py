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
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from mesa import Model
from mesa.datacollection import DataCollector

if TYPE_CHECKING:  # pragma: no cover
    from mesa.experimental.scenarios import Scenario

    from admarket.llm.session import LLMSession

from admarket.agents import BuyerAgent, ExchangeAgent, SellerAgent
from admarket.config import FIELDS, MarketConfig
from admarket.errors import ConfigError
from admarket.ledger.chain import Ledger
from admarket.llm.roster import PolicyRoster
from admarket.market.accounting import Accounts
from admarket.market.deals import PG, DealBook, owed_per_day
from admarket.market.generation import generate_market
from admarket.market.kpis import PacingTracker, campaign_outcomes
from admarket.market.settlement_log import SettlementLog
from admarket.memory.ground_truth import ClaimLog, GroundTruth
from admarket.model.events import EventLog
from admarket.model.metrics import DayStart, daily_row, summary
from admarket.model.negotiations import NegotiationLog
from admarket.model.reporters import AGENT_REPORTERS, MODEL_REPORTERS
from admarket.money import plural
from admarket.scenarios.designs import TradingDesign, design_class
from admarket.scenarios.records import Records


class MarketModel(Model):
    """The ad market under one trading design: ``"A"``, ``"B"``, ``"C"`` or a
    :class:`~admarket.scenarios.TradingDesign` class.

    Parameters are the fields of :class:`~admarket.config.MarketConfig`, as keyword
    arguments (``MarketModel("B", n_buyers=20, decay_rate=0.05)``) or a whole ``config``.
    ``rng`` (as passed by Mesa's ``batch_run``) is taken as the seed. ``scenario`` is Mesa's
    own :class:`~mesa.experimental.scenarios.Scenario` (as SolaraViz passes it): its values
    are applied as parameters and its ``rng`` as the seed. ``llm`` is the language-model
    session that agents with the ``llm`` policy ask (``llm_buyers``/``llm_sellers``; see
    :mod:`admarket.llm`).
    """

    def __init__(
        self,
        design: str | type[TradingDesign] = "A",
        config: MarketConfig | None = None,
        *,
        rng: int | None = None,
        scenario: Scenario | None = None,
        llm: LLMSession | None = None,
        **params: Any,
    ):
        design_cls = design_class(design)
        if isinstance(scenario, str):
            raise ConfigError(
                "scenario",
                scenario,
                "Mesa's Scenario object; the trading design is the first argument "
                "(MarketModel('B', ...) or design='B')",
            )
        if scenario is not None:
            params = {**{k: v for k, v in scenario if k in FIELDS}, **params}
            rng = scenario.rng if rng is None and isinstance(scenario.rng, int) else rng
        if rng is not None:
            params["seed"] = rng
        cfg = (config or MarketConfig()).replace(**params) if params else (config or MarketConfig())
        super().__init__(rng=cfg.seed)
        self.config, self.scenario_id = cfg, design_cls.letter
        self.market = mk = generate_market(cfg)
        self.t = 0
        self.accounts = Accounts(mk.n_campaigns, mk.n_products, cfg.n_sellers, cfg.n_buyers)
        self.book = DealBook(mk.hour_weight, mk.cum_weight)
        self.events = EventLog(cfg.steps_per_day)
        self.agents_deciding = False
        self._truth = GroundTruth(self)
        self.claims = ClaimLog(self._truth, cfg.audit_tolerance)
        self.design = design_cls(self)
        self._keep_design_flags()
        self.fee_rates = self.design.fee_rates(cfg)
        self.campaign_stopped = np.zeros(mk.n_campaigns, dtype=bool)
        self.graph = mk.graph(with_exchange=self.design.via_exchange)
        self.buyers = [BuyerAgent(self, b) for b in range(cfg.n_buyers)]
        self.sellers = [SellerAgent(self, s) for s in range(cfg.n_sellers)]
        self.policies = PolicyRoster(self, llm)  # rule-based, or language-model agents
        self.design.add_agents()
        self._candidates: list[list[int] | None] = [None] * mk.n_campaigns  # filled on demand
        self.seller_of: list[int] = mk.product_seller.tolist()  # product -> its seller's index
        self.settlements = SettlementLog()  # one record per settled deal-day (B and C)
        # (since, upto) -> seller -> buyers: unpaid_disputes' answer, the same for every seller
        self._disputes: tuple[tuple[int, int], dict[str, list[str]]] = ((0, 0), {})
        self.negotiations = NegotiationLog(self)
        self.pacing = PacingTracker(mk)
        self.daily: list[dict[str, Any]] = []
        self._day_start = DayStart()
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

    # --- what the design decides --------------------------------------------------------------
    def _keep_design_flags(self) -> None:
        """What the design decides, kept as plain attributes (not properties that ask the
        design): agents read them on every claim, millions of times a run at scale.
        ``records``: where agents recover facts they no longer hold; ``ledger``: C's
        hash-chained ledger (else None); ``agents_hold_state``: whether agents keep (and
        lose) facts in memory of their own; ``verify_with_ledger``: whether they check
        recalled values against the shared records before acting."""
        self.records: Records = self.design.records
        self.ledger: Ledger | None = self.design.ledger
        self.agents_hold_state: bool = self.design.agents_hold_state
        self.verify_with_ledger: bool = self.design.verify_recalls

    def __setstate__(self, state: dict) -> None:
        # a checkpoint from before the design's flags were kept as attributes: keep them now
        self.__dict__.update(state)
        if "agents_hold_state" not in state:
            self._keep_design_flags()

    @property
    def exchange(self) -> ExchangeAgent | None:
        """The exchange agent, when the design trades through one (A)."""
        return self.design.exchange

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
        """Products a buyer can trade directly for a campaign: on the graph and eligible
        (ascending; worked out on first asking, from the campaign's eligible pairs)."""
        found = self._candidates[campaign]
        if found is None:
            mk = self.market
            p = mk.eligible_products(campaign)
            direct = mk.adjacency[mk.campaign_buyer[campaign], mk.product_seller[p]]
            found = self._candidates[campaign] = p[direct].tolist()
        return found

    def unpaid_disputes(self, since: int) -> dict[str, list[str]]:
        """Seller name -> the buyers that left one of its invoices unpaid in an unresolved
        dispute, in ``settlements[since:]``. Every seller asks each morning from the same
        position, so the settlements are scanned once per morning, not once per seller."""
        log = self.settlements
        upto = len(log)
        if self._disputes[0] != (since, upto):
            found: dict[str, list[str]] = {}
            outcome, seller, buyer = (log.column(k) for k in ("outcome", "seller", "buyer"))
            for i in range(since, upto):
                if outcome[i] == "dispute_unresolved":
                    found.setdefault(seller[i], []).append(buyer[i])
            self._disputes = ((since, upto), found)
        return self._disputes[1]

    def true_available(self, p: int, days: float) -> float:
        """Lots product ``p`` can really still commit over ``days`` (ground truth)."""
        cap = float(self.market.daily_avails[p]) * self.config.sellable_share
        return float(math.floor(max(0.0, cap - self._owed_rate[p]) * days))

    def book_deal(self, **terms: Any) -> int:
        """Book a deal in the true deal book (the seller mints it) and return its id."""
        d = self.book.book(**terms)
        if terms["dtype"] == PG:  # only guaranteed deals reserve inventory
            self._owed_rate[terms["product"]] += owed_per_day(
                terms["volume"], terms["end"], self.t, self.config.steps_per_day
            )
        return d

    def refresh_owed_rate(self) -> None:
        """True lots per day each product still owes its guaranteed deals (recomputed each
        morning; bookings add to it as they happen)."""
        b, spd, t, n = self.book, self.config.steps_per_day, self.t, self.book.n
        on = (b.end[:n] > t) & (b.dtype[:n] == PG)
        settled = b.delivered[:n] - b.day_delivered[:n]
        owed = np.maximum(b.volume[:n] - settled, 0)
        rate = owed_per_day(owed, b.end[:n], t, spd)
        # (astype: bincount of an empty array comes back as integers)
        self._owed_rate = np.bincount(
            b.product[:n][on], weights=rate[on], minlength=self.market.n_products
        ).astype(float)

    # --- the clock --------------------------------------------------------------------------
    def step(self) -> None:
        """Advance one simulated hour."""
        spd = self.config.steps_per_day
        if self.steps > self.config.steps:
            raise RuntimeError(
                f"the run has ended: it is {plural(self.config.days, 'day')} "
                f"({plural(self.config.steps, 'step')}) long"
            )
        self.t = t = self.steps - 1
        self._offered += int(self.market.hourly_avails[:, t].sum())
        if t % spd == 0:
            self._morning(t // spd)
        self.design.trade_hour(t)
        if t % spd == spd - 1:
            self._evening(t // spd)
        self.design.end_step(t)
        self.datacollector.collect(self)
        if self.steps >= self.config.steps or self.policies.stop_after(t):
            self.running = False
            self.design.close()

    def run(self, progress: Any = None) -> MarketModel:
        """Run every remaining step; ``progress`` (e.g. a tqdm bar) is advanced per step."""
        while self.running:
            self.step()
            if progress is not None:
                progress.update(1)
        return self

    def _morning(self, day: int) -> None:
        with self._deciding():
            for a in (*self.buyers, *self.sellers):
                a.lose_memory(day)
            self.policies.before_phase("morning")
            self.design.morning(day)
            self.agents_by_type[BuyerAgent].shuffle_do("plan_day")
            for s in self.sellers:  # private auctions clear once every buyer has bid
                s.clear_private_auctions()

    def _evening(self, day: int) -> None:
        with self._deciding():
            self.policies.before_phase("evening")
            self.design.evening(day)
        self.pacing.update(self.accounts.delivered, self.t)
        row, self._day_start = daily_row(self, day, self._day_start)
        self.daily.append(row)
        self.agent_datacollector.collect(self)

    @contextmanager
    def _deciding(self) -> Iterator[None]:
        """Agents decide inside: ground truth is closed to them (see GroundTruth)."""
        self.agents_deciding = True
        try:
            yield
        finally:
            self.agents_deciding = False

    # --- bookkeeping shared with agents -----------------------------------------------------
    def add_flow(
        self, buyers: np.ndarray, sellers: np.ndarray, gross: np.ndarray, net: np.ndarray
    ) -> None:
        """Add spend to the market graph's edges so that deal flow can be drawn."""
        edges, t = self.__dict__.get("_edge_attrs"), self.t
        if edges is None:  # A adds flows hourly (~700 edges at 500 x 200): networkx's views
            # of each edge took ~0.3 s of A's ~17 s there
            edges = {}
            self._edge_attrs: dict[tuple[str, str], dict] = edges
            for u, v, attrs in self.graph.edges(data=True):
                edges[u, v] = edges[v, u] = attrs  # the graph's own dicts
        for key, amount in self.design.flows(buyers, sellers, gross, net):
            e = edges[key]
            e["spend"] += amount / 100.0
            e["last_step"] = t

    def memory_totals(self) -> dict[str, int]:
        """Facts held and lost, and restarts, summed over every trading agent."""
        if self._mem_cache[0] == self.steps:  # memory changes only at day boundaries
            return self._mem_cache[1]
        held = lost = restarts = 0
        for a in (*self.buyers, *self.sellers):
            held += len(a.memory) + a.policy.held()
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
            self.market,
            acc.spent,
            acc.delivered,
            acc.delivered_pc,
            self.config.lot_size,
            self.pacing.score(),
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

    def negotiations_frame(self) -> pd.DataFrame:
        """Every negotiation (PG bargains, PD takes, PA bids) and how it ended."""
        df = self.negotiations.frame(self.config.steps_per_day)
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

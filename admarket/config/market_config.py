"""One validated configuration for a market run: :class:`MarketConfig`.

Every parameter of the model is a field declared with :func:`~admarket.config.params.param`:
its default, bounds, unit and meaning in one place. A config is frozen and validated on
construction — each field by the generic bounds check, then the few rules that relate
fields to each other — so a bad value fails before anything runs, with a message that
names the field, the value and what is allowed.
"""

from __future__ import annotations

import dataclasses
import difflib
from dataclasses import dataclass
from typing import Any

from admarket.config.params import GROUPS, Param, check_field, coerce, meta, param, plain
from admarket.errors import ConfigError

SCENARIOS = ("A", "B", "C")
CHANNELS = ("display", "video", "ctv", "native")
KPIS = ("impressions", "reach", "clicks", "conversions", "viewability")
TIERS = ("public", "seat", "agency", "advertiser")
# Fee parameters: each a share of the buyer's gross spend (inputs, restated as take rates).
# Who bears them on the exchange path: buy-side fees come off the buyer's working media
# before it bids; sell-side fees come off the clearing price before the seller is paid.
BUY_SIDE_FEES = ("dsp_fee", "adtech_fee")
SELL_SIDE_FEES = ("exchange_fee", "sell_adtech_fee", "unknown_delta")
EXCHANGE_FEES = ("exchange_fee", "dsp_fee", "adtech_fee", "sell_adtech_fee", "unknown_delta")
FEE_FIELDS = (*EXCHANGE_FEES, "agent_fee", "protocol_fee")
# The buyer's negotiation rule: the IAB reference buyer's threshold strategy, or the plan's
# "accept within 10% of target, counter within 20%, reject above" (plan, Gap 3).
BUYER_RULES = ("iab", "plan")

_T, _S, _D, _X, _A, _M, _R, _L, _LLM = GROUPS
_SHARE = {"lo": 0.0, "hi": 1.0}
_FEE = {"lo": 0.0, "hi": 1.0, "hi_open": True, "unit": "share of gross spend"}


@dataclass(frozen=True)
class MarketConfig:
    """Every parameter of one run. Defaults are the plan's (the ``plan`` preset).

    Fees are *inputs*: the take rates they imply are restated, never discovered. Memory,
    hallucination and reconciliation parameters drive the *outcomes* of scenarios B and C.
    ``admarket params`` lists every field with its range, unit and meaning.
    """

    # --- time and size -------------------------------------------------------------
    seed: int = param(
        42, "random seed: the whole run is determined by it", _T, lo=0, hi=2**32 - 1, common=True
    )
    days: int = param(30, "simulated days", _T, unit="days", lo=1, hi=366, common=True)
    steps_per_day: int = param(
        24,
        "steps per simulated day (a step lasts a day ÷ this: 24 = an hour, 96 = 15 minutes)",
        _T,
        unit="steps",
        lo=1,
        hi=1440,
    )
    n_buyers: int = param(
        5, "buyers (advertisers or agencies)", _T, unit="agents", lo=1, hi=20_000, common=True
    )
    n_sellers: int = param(
        5, "sellers (publishers)", _T, unit="agents", lo=1, hi=10_000, common=True
    )
    campaigns_per_buyer: int = param(
        10, "campaigns each buyer runs", _T, unit="campaigns", lo=1, hi=1_000, common=True
    )
    # A's exchange prices each lot in whole cents: below 100 impressions a lot at a few
    # dollars' CPM is a few cents or none, and rounding gave impressions away (lot_size=1:
    # 22 M impressions for $0)
    lot_size: int = param(
        1000,
        "impressions per lot: one CPM unit (at least 100: each lot is priced in whole cents)",
        _T,
        unit="impressions",
        lo=100,
        hi=1_000_000,
    )
    seller_reach: int = param(
        10,
        "sellers each buyer has a direct trading relationship with (B, C)",
        _T,
        unit="sellers",
        lo=1,
        hi=10_000,
    )

    # --- supply (publishers) ---------------------------------------------------------
    daily_avails_min: int = param(
        1_000_000,
        "smallest publisher's daily impressions, across its products",
        _S,
        unit="impressions/day",
        lo=1,
        hi=10**11,
    )
    daily_avails_max: int = param(
        10_000_000,
        "largest publisher's daily impressions",
        _S,
        unit="impressions/day",
        lo=1,
        hi=10**11,
    )
    sellable_share: float = param(
        0.9,
        "share of forecast avails a seller will commit to deals",
        _S,
        unit="share",
        lo=0.0,
        lo_open=True,
        hi=1.0,
    )
    seller_floor_share: float = param(
        0.7,
        "a product's floor CPM as a share of its base CPM (IAB synced-inventory rule)",
        _S,
        unit="× base CPM",
        lo=0.0,
        lo_open=True,
        hi=1.0,
    )

    # --- demand (campaigns) ----------------------------------------------------------
    campaign_budgets: tuple[float, ...] = param(
        (10_000.0, 25_000.0, 50_000.0, 100_000.0),
        "campaign budgets drawn from (comma-separated)",
        _D,
        unit="USD",
        lo=1.0,
        hi=1e9,
    )
    flight_days_min: int = param(10, "shortest campaign flight", _D, unit="days", lo=1, hi=366)
    flight_days_max: int = param(30, "longest campaign flight", _D, unit="days", lo=1, hi=366)
    target_tightness: float = param(
        0.0,
        "how far below its expected clearing price a campaign's median target CPM is set "
        "(0: at it, half the campaigns at risk; 0.1: 10% below; negative: looser)",
        _D,
        unit="share of expected CPM",
        lo=-1.0,
        hi=0.9,
        step=0.05,
    )
    target_cpm_spread: float = param(
        0.24,
        "target CPM = expected clearing CPM × (1 − tightness) × U(1 − spread, 1 + spread) "
        "(calibration: display open $4.41 vs PMP $7.15 is ±24% about their midpoint)",
        _D,
        unit="share",
        lo=0.0,
        hi=0.9,
    )
    max_cpm_markup_min: float = param(
        1.15,
        "max CPM = target CPM × U(min, max): lower end",
        _D,
        unit="× target CPM",
        lo=1.0,
        hi=10.0,
    )
    max_cpm_markup_max: float = param(
        1.5, "max CPM markup: upper end", _D, unit="× target CPM", lo=1.0, hi=10.0
    )

    # --- scenario A: exchange fee stack, shares of the buyer's gross spend (inputs) ---
    exchange_fee: float = param(0.15, "SSP / exchange fee", _X, common=True, **_FEE)
    dsp_fee: float = param(0.0, "DSP fee (buy side: off the buyer's bid)", _X, **_FEE)
    adtech_fee: float = param(
        0.0, "buy-side ad tech: agency and advertiser tech fees (off the buyer's bid)", _X, **_FEE
    )
    sell_adtech_fee: float = param(
        0.0, "sell-side ad tech: publisher tech fees (off the clearing price)", _X, **_FEE
    )
    unknown_delta: float = param(
        0.0,
        "the unattributable gap of the ISBA/PwC study, lost between DSP and SSP (off the "
        "clearing price)",
        _X,
        **_FEE,
    )
    auction_log_rate: float = param(
        0.001,
        "share of A's lot auctions written to the event log (bids, winner, clearing price, "
        "floor, fee); drawn from its own random stream, so it changes no other result",
        _X,
        unit="share of auctions",
        step=0.001,
        **_SHARE,
    )

    # --- scenarios B and C: direct trading (inputs) -----------------------------------
    agent_fee: float = param(
        0.05,
        "residual agent-platform fee on direct deals (plan: about 5%)",
        _A,
        common=True,
        **_FEE,
    )
    ledger_agent_fee: float = param(
        0.02,
        "C: agent-platform fee on direct deals (plan: C's take about 2%, 'Sui gas "
        "estimation + minimal fees'); set it to agent_fee and C differs from B only by its ledger",
        _A,
        **_FEE,
    )
    protocol_fee: float = param(
        0.0, "C only: ledger protocol fee on top of ledger_agent_fee", _A, **_FEE
    )
    buyer_rule: str = param(
        "iab",
        "buyer negotiation rule: iab (threshold: open at target, raise each round, accept "
        "at or below the reservation price) or plan (accept ≤ 10% over target, counter "
        "≤ 20%, reject above)",
        _A,
        choices=BUYER_RULES,
    )
    buyer_rounds: int = param(
        5,
        "rounds a buyer negotiates before walking away (IAB buyer profiles: 3, 5 or 10)",
        _A,
        unit="rounds",
        lo=1,
        hi=50,
    )
    floor_fill_sensitivity: float = param(
        0.2,
        "seller floor × (1 + this × (believed sell-through − 0.5)): full products price up, "
        "empty ones down",
        _A,
        unit="× floor",
        lo=0.0,
        hi=1.0,
    )
    floor_late_discount: float = param(
        0.1,
        "seller floor cut on unsold inventory as the selling period runs out: × (1 − this × "
        "unsold share × elapsed share)",
        _A,
        unit="× floor",
        lo=0.0,
        hi=0.9,
    )
    max_deals_per_campaign: int = param(
        3, "live deals a campaign may hold at once", _A, unit="deals", lo=1, hi=100
    )
    expected_fill: float = param(
        0.7,
        "buyer's prior on fill for a seller it has no history with",
        _A,
        unit="share",
        lo=0.0,
        lo_open=True,
        hi=1.0,
    )
    min_deal_impressions: int = param(
        10_000,
        "smallest deal a seller accepts (IAB seller minimum)",
        _A,
        unit="impressions",
        lo=0,
        hi=10**10,
    )

    # --- memory and context rot (B and C; A reads the exchange's database) --------------
    decay_rate: float = param(
        0.02,
        "daily probability that a held fact is lost",
        _M,
        unit="per day",
        common=True,
        step=0.005,
        **_SHARE,
    )
    memory_capacity: int = param(
        400,
        "facts an agent can hold; 0 = unlimited (no context pressure)",
        _M,
        unit="facts",
        lo=0,
        hi=10**7,
    )
    restart_rate: float = param(
        0.005,
        "daily probability an agent process restarts (wiping memory)",
        _M,
        unit="per day",
        common=True,
        step=0.005,
        **_SHARE,
    )
    restart_growth: float = param(
        0.0, "added to restart_rate per elapsed day", _M, unit="per day²", lo=0.0, hi=1.0
    )
    hallucination_rate: float = param(
        0.05,
        "share of recalls from volatile memory that are corrupted",
        _M,
        unit="share of recalls",
        common=True,
        **_SHARE,
    )
    price_deflation_min: float = param(
        0.10,
        "a hallucinated price is deflated by at least",
        _M,
        unit="share",
        lo=0.0,
        hi=1.0,
        hi_open=True,
    )
    price_deflation_max: float = param(
        0.30, "… and at most", _M, unit="share", lo=0.0, hi=1.0, hi_open=True
    )
    inventory_inflation_min: float = param(
        0.10, "hallucinated inventory is inflated by at least", _M, unit="share", lo=0.0, hi=100.0
    )
    inventory_inflation_max: float = param(
        0.50, "… and at most", _M, unit="share", lo=0.0, hi=100.0
    )
    verify_recalls: bool = param(
        True, "C: check recalled facts against the ledger before acting", _M
    )

    # --- reconciliation and disputes ---------------------------------------------------
    recon_auto_accept: float = param(
        0.02,
        "B, C: invoice gap paid as invoiced (share of the invoice)",
        _R,
        unit="share",
        lo=0.0,
        hi=1.0,
    )
    recon_split: float = param(
        0.10,
        "B, C: larger gaps up to this are split; above it, a dispute",
        _R,
        unit="share",
        lo=0.0,
        hi=1.0,
    )
    dispute_recovery: float = param(
        0.5, "B: share of a disputed amount eventually paid", _R, unit="share", **_SHARE
    )
    # Impression counts: the publisher's ad server and the buyer's verification count apart.
    # calibration.md ("Impression discrepancy" row): the IAB recommends a 10% tolerance on
    # the publisher's count (IAB UK discrepancy guidelines; IAB Canada glossary: publishers'
    # counts tend to be higher); 8–12% is commonly quoted as normal, some networks say up to
    # 15%. Each deal-day's gap is drawn uniformly in [0, count_discrepancy] (the shape is an
    # assumption); the buyer counts fewer. A is unaffected: the exchange is the one counter.
    count_discrepancy: float = param(
        0.15,
        "B, C: largest gap of the buyer's impression count below the publisher's",
        _R,
        unit="share of the publisher's count",
        lo=0.0,
        hi=0.9,
    )
    count_tolerance: float = param(
        0.10,
        "B, C: counts within this gap bill the publisher's count; beyond, the buyer's plus the gap",
        _R,
        unit="share of the publisher's count",
        lo=0.0,
        hi=0.9,
    )
    audit_tolerance: float = param(
        0.005,
        "relative gap at which an audited claim counts as wrong",
        _R,
        unit="share",
        lo=0.0,
        hi=1.0,
    )

    # --- ledger (C) ----------------------------------------------------------------------
    records_per_blob: int = param(
        500,
        "ledger entries and delivery records batched per Walrus blob",
        _L,
        unit="records",
        lo=1,
        hi=10**7,
        common=True,
    )
    impressions_per_record: int = param(
        1000, "impressions covered by one delivery record", _L, unit="impressions", lo=1, hi=10**9
    )
    ledger_record_bytes: int = param(
        256, "size of one delivery record (deal, lot, time, hash)", _L, unit="bytes", lo=1, hi=10**6
    )
    # Faults of the ledger itself. No public figure gives them: the defaults are assumptions,
    # small but not zero, so that C's result is not perfect by construction; `admarket sweep
    # --one-at-a-time --grid ledger_read_failure=...` shows what each one drives.
    # read: 1% of queries unanswered (a timeout or rate limit at the agent's RPC endpoint);
    # write: 0.1% of entries lost, about the chance an agent restarts between deciding and
    # submitting (restart_rate 0.5%/day over a few writes per agent per day);
    # flush: blobs sealed at the end of the hour they were opened in (the model's step).
    ledger_read_failure: float = param(
        0.01,
        "C: probability a ledger query gets no answer (the agent falls back on its memory)",
        _L,
        unit="per query",
        **_SHARE,
    )
    ledger_write_failure: float = param(
        0.001,
        "C: probability an entry an agent writes is never recorded",
        _L,
        unit="per entry",
        **_SHARE,
    )
    ledger_flush_hours: int = param(
        1,
        "C: hours an entry waits before its blob is sealed and readable (0: on every write)",
        _L,
        unit="hours",
        lo=0,
        hi=24 * 366,
    )
    sui_price_usd: float = param(
        3.5, "SUI token price", _L, unit="USD", lo=0.0, lo_open=True, hi=1e6
    )
    wal_price_usd: float = param(
        0.4, "WAL token price", _L, unit="USD", lo=0.0, lo_open=True, hi=1e6
    )

    # --- language-model agents (B, C; admarket.llm) --------------------------------------
    # Off by default. Which endpoint and model answer are run options (``admarket run
    # --llm-base-url/--llm-model``), not parameters: they never change a rule-based run.
    llm_buyers: bool = param(
        False, "buyers decide with a language model (the llm policy) instead of rules", _LLM
    )
    llm_sellers: bool = param(
        False, "sellers decide with a language model (the llm policy) instead of rules", _LLM
    )
    llm_agents: int = param(
        0,
        "agents of each llm role that use the model, sampled by seed; 0 = all of them",
        _LLM,
        unit="agents",
        lo=0,
        hi=20_000,
    )
    llm_context_tokens: int = param(
        8000,
        "an llm agent's context window: system prompt + transcript + question; the oldest "
        "transcript lines are dropped beyond it",
        _LLM,
        unit="tokens",
        lo=512,
        hi=10**7,
    )
    llm_prompt_usd_per_mtok: float = param(
        0.25,
        "price of prompt (input) tokens (default: the plan's Claude 3 Haiku; 0 for a local model)",
        _LLM,
        unit="USD per million tokens",
        lo=0.0,
        hi=1e4,
    )
    llm_completion_usd_per_mtok: float = param(
        1.25,
        "price of completion (output) tokens",
        _LLM,
        unit="USD per million tokens",
        lo=0.0,
        hi=1e4,
    )

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if plain(value) is not value:  # a numpy scalar (batch_run, pandas): kept as Python's
                value = plain(value)
                object.__setattr__(self, f.name, value)  # (frozen)
            check_field(f, value)
        _check_relations(self)

    # ------------------------------------------------------------------------------------
    @property
    def steps(self) -> int:
        """Total number of steps (hours) in the run."""
        return self.days * self.steps_per_day

    @property
    def n_campaigns(self) -> int:
        """Total number of campaigns in the market."""
        return self.n_buyers * self.campaigns_per_buyer

    @property
    def exchange_take(self) -> float:
        """Total fee share of gross spend on the exchange path (an input, restated)."""
        return sum(getattr(self, f) for f in EXCHANGE_FEES)

    @property
    def buy_side_take(self) -> float:
        """Share of gross spend the buy side (DSP, buyer ad tech) keeps before the bid."""
        return sum(getattr(self, f) for f in BUY_SIDE_FEES)

    def replace(self, **changes: Any) -> MarketConfig:
        """Return a validated copy with ``changes`` applied (unknown names are an error)."""
        return from_mapping(changes, base=self)

    def to_dict(self) -> dict[str, Any]:
        """Plain dict of every parameter (TOML/JSON friendly).

        Parameters of the language-model group are left out while they are at their
        defaults, so a rule-based run's recorded config (and its hash) is what it was before
        the group existed; ``from_mapping`` fills them back in.
        """
        out = {
            f.name: getattr(self, f.name)
            for f in dataclasses.fields(self)
            if meta(f).group != _LLM or getattr(self, f.name) != f.default
        }
        out["campaign_budgets"] = list(self.campaign_budgets)
        return out


FIELDS: dict[str, dataclasses.Field] = {f.name: f for f in dataclasses.fields(MarketConfig)}
PARAMS: dict[str, Param] = {name: meta(f) for name, f in FIELDS.items()}


def _check(cond: bool, name: str, value: Any, allowed: str) -> None:
    if not cond:
        raise ConfigError(name, value, allowed)


def _check_relations(c: MarketConfig) -> None:
    """The rules that relate one field to another (bounds of single fields are generic)."""
    for lo_name, hi_name in (
        ("daily_avails_min", "daily_avails_max"),
        ("flight_days_min", "flight_days_max"),
        ("price_deflation_min", "price_deflation_max"),
        ("inventory_inflation_min", "inventory_inflation_max"),
        ("max_cpm_markup_min", "max_cpm_markup_max"),
        ("recon_auto_accept", "recon_split"),
    ):
        lo, hi = getattr(c, lo_name), getattr(c, hi_name)
        _check(hi >= lo, hi_name, hi, f"≥ {lo_name} ({lo})")
    _check(
        c.exchange_take < 1.0,
        "exchange_fee",
        c.exchange_fee,
        "fees on the exchange path must sum to less than 1 "
        f"(exchange + dsp + adtech + sell_adtech + unknown_delta = {c.exchange_take:.3f})",
    )
    _check(
        c.agent_fee + c.protocol_fee < 1.0,
        "protocol_fee",
        c.protocol_fee,
        "agent_fee + protocol_fee must be less than 1",
    )
    _check(
        c.ledger_agent_fee + c.protocol_fee < 1.0,
        "protocol_fee",
        c.protocol_fee,
        "ledger_agent_fee + protocol_fee must be less than 1",
    )


def from_mapping(values: dict[str, Any], base: MarketConfig | None = None) -> MarketConfig:
    """Build a config from ``base`` (default: plan) with ``values`` applied.

    Keys may use dashes or underscores. An unknown key is an error that lists the nearest
    valid names, so a typo in a TOML file or a keyword argument never passes silently.
    """
    base = base or MarketConfig()
    changes: dict[str, Any] = {}
    for raw_key, value in values.items():
        key = str(raw_key).replace("-", "_")
        if key not in FIELDS:
            near = difflib.get_close_matches(key, FIELDS, n=3)
            hint = f"did you mean {', '.join(near)}? " if near else ""
            raise ConfigError(raw_key, value, f"unknown parameter ({hint}see `admarket params`)")
        changes[key] = coerce(FIELDS[key], value)
    return dataclasses.replace(base, **changes)

"""The parameters of direct trading, scenarios B and C (:class:`DirectTradingParams`):
negotiation and fees, agents' memory and context rot, reconciliation and disputes, C's
ledger, and language-model agents.

Each is a field declared with :func:`~admarket.config.params.param`: its default, bounds,
unit and meaning in one place. :class:`~admarket.config.market_config.MarketConfig`
combines these with the market's parameters (:mod:`.market_params`) and validates them.
"""

from __future__ import annotations

from dataclasses import dataclass

from admarket.config.params import FEE_BOUNDS, GROUPS, SHARE_BOUNDS, param
from admarket.config.vocabulary import BUYER_RULES

_A, _M, _R, _L, _LLM = GROUPS[4:]


@dataclass(frozen=True)
class DirectTradingParams:
    """How B's and C's agents trade directly: negotiation and fees (inputs), then what
    drives B's and C's outcomes: memory, hallucination, reconciliation, C's ledger, and the
    language-model agents (off by default)."""

    # --- scenarios B and C: direct trading (inputs) -----------------------------------
    agent_fee: float = param(
        0.05,
        "residual agent-platform fee on direct deals (plan: about 5%)",
        _A,
        common=True,
        **FEE_BOUNDS,
    )
    ledger_agent_fee: float = param(
        0.02,
        "C: agent-platform fee on direct deals (plan: C's take about 2%, 'Sui gas "
        "estimation + minimal fees'); set it to agent_fee and C differs from B only by its ledger",
        _A,
        **FEE_BOUNDS,
    )
    protocol_fee: float = param(
        0.0, "C only: ledger protocol fee on top of ledger_agent_fee", _A, **FEE_BOUNDS
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
        **SHARE_BOUNDS,
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
        **SHARE_BOUNDS,
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
        **SHARE_BOUNDS,
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
    trust_cap: bool = param(
        True,
        "B, C: a seller treats a buyer that left one of its invoices unpaid in an unresolved "
        "dispute as unknown from then on (IAB trust cap: public tier — list prices, fewest "
        "rounds, no private auctions); false: every buyer keeps its own tier",
        _R,
    )
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
        0.5, "B: share of a disputed amount eventually paid", _R, unit="share", **SHARE_BOUNDS
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
        **SHARE_BOUNDS,
    )
    ledger_write_failure: float = param(
        0.001,
        "C: probability an entry an agent writes is never recorded",
        _L,
        unit="per entry",
        **SHARE_BOUNDS,
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

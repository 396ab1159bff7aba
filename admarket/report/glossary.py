"""One vocabulary: every measure the project reports, named and defined once.

``GLOSSARY`` maps a measure's name — the store column where one exists — to its label (the
words every table, chart and CLI line uses), its definition and its unit. The report's
glossary section, the CLI's tables and the content drafts read from here; the explorer can
too (``GLOSSARY[name].label``). ``FINDING_LABELS`` defines the three kinds of finding.

"Hallucination rate" is deliberately not a term: it meant two different things (a share of
decisions and a share of claims). The two measures are ``wrong_decision_share`` and
``wrong_claim_share``; the old names survive only where the plan's SQL needs them, listed
as aliases.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Term:
    """A measure: its label, what it means, its unit, and older names it replaces."""

    label: str
    definition: str
    unit: str
    aliases: tuple[str, ...] = ()


_T = Term
# Where "written off" comes from (glossary, findings and summary say the same)
WRITTEN_OFF_SOURCES = (
    "bills cut to the impressions both sides counted (the impression-count discrepancy, "
    "count_discrepancy, in B and C alike), invoices below the agreed price, and disputes "
    "nobody could settle (B has no shared record to settle them against)"
)


GLOSSARY: dict[str, Term] = {
    # --- money and fees --------------------------------------------------------------
    "gross_spend": _T(
        "gross spend",
        "What buyers paid for the impressions delivered, before any fee comes out.",
        "USD per run",
    ),
    "net_to_publishers": _T(
        "net to publishers",
        "What publishers received after every fee and ledger cost.",
        "USD per run",
    ),
    "intermediary_take": _T(
        "intermediary take",
        "Gross spend minus net to publishers: everything exchanges, agent platforms and the "
        "ledger kept.",
        "USD per run",
    ),
    "take_rate": _T(
        "take rate",
        "Intermediary take as a share of gross spend. An input restated: it is the configured "
        "fee stack coming back out of the books.",
        "% of gross spend",
        ("take_rate_pct",),
    ),
    "fee_reduction": _T(
        "fee reduction",
        "How much smaller a scenario's take rate is than A's, as a share of A's: "
        "(take rate of A − take rate) / take rate of A; negative when the scenario takes "
        "more than A (it costs more in fees).",
        "% of A's take rate",
    ),
    "savings_per_100k": _T(
        "fee savings per $100K of spend",
        "Fees not taken from $100,000 of gross spend by trading this way instead of through "
        "the exchange: (take rate of A − take rate) × $100,000. Who keeps them: what A's "
        "buy-side fees (dsp_fee, adtech_fee) would have taken stays with buyers, the rest "
        "with sellers (A's sell-side fees and all of B's and C's fees come off the seller's "
        "share); at the default fees, only the exchange fee, the sellers keep all of it. Fees "
        "only — it says nothing about what each way of trading delivers.",
        "USD per $100,000 of gross spend",
    ),
    "exchange_fee_per_mille": _T(
        "exchange fees per 1,000 impressions",
        "What A's fee stack (exchange/SSP, DSP, buy- and sell-side ad tech, unknown delta) "
        "took per 1,000 "
        "impressions delivered.",
        "USD per 1,000 impressions",
    ),
    "agent_fee_per_mille": _T(
        "agent fees per 1,000 impressions",
        "What the agent-platform fee (plus C's protocol fee) took per 1,000 impressions "
        "delivered in B and C.",
        "USD per 1,000 impressions",
    ),
    "ledger_cost_usd": _T(
        "ledger cost",
        "What C paid to keep its ledger: Sui gas for the on-chain objects plus Walrus storage "
        "for the blobs of entries and delivery records, at the configured token prices. A "
        "result of the cost model and its batching parameters.",
        "USD per run",
    ),
    "ledger_cost_sui": _T(
        "Sui gas", "The gas part of the ledger cost, in SUI tokens.", "SUI per run"
    ),
    "ledger_cost_wal": _T(
        "Walrus storage", "The storage part of the ledger cost, in WAL tokens.", "WAL per run"
    ),
    "ledger_cost_sui_usd": _T(
        "Sui gas in USD", "Sui gas at the configured SUI price.", "USD per run"
    ),
    "ledger_cost_wal_usd": _T(
        "Walrus storage in USD", "Walrus storage at the configured WAL price.", "USD per run"
    ),
    "ledger_cost_per_mille": _T(
        "ledger cost per 1,000 impressions",
        "The ledger cost divided by the impressions delivered, × 1,000.",
        "USD per 1,000 impressions",
    ),
    # --- delivery and goals ------------------------------------------------------------
    "impressions": _T("impressions delivered", "Impressions delivered and paid for.", "per run"),
    "fill_rate": _T(
        "fill rate",
        "Impressions delivered as a share of all the impressions publishers offered over the "
        "run (their avails).",
        "% of avails",
    ),
    "mean_goal_attainment": _T(
        "goal attainment",
        "Each campaign's score from 0 to 1 as an advertiser judges it — delivery against "
        "target, CPM against target, budget adherence (overspend counts against, never for), "
        "delivery within the flight and the primary KPI — averaged over the campaigns.",
        "score 0–1",
        ("avg_goal_attainment", "goal_attainment_score"),
    ),
    "daily_goal_attainment": _T(
        "goal attainment to date",
        "Goal attainment of the campaigns live that day, scored on their whole flight so far "
        "against how far through it they are: a score to date, not the day's own "
        "performance (pacing is a running average, and an overspend zeroes the budget "
        "component for the rest of the flight).",
        "score 0–1",
    ),
    "hit_impression_goal": _T(
        "impression-goal hit rate",
        "Share of campaigns that delivered at least their target impressions within budget "
        "(an overspent campaign counts only the share of its impressions its budget bought, "
        "as in goal attainment).",
        "% of campaigns",
    ),
    "hit_cpm_goal": _T(
        "CPM-goal hit rate",
        "Share of campaigns whose actual CPM was at or below their target CPM.",
        "% of campaigns",
    ),
    "hit_kpi_goal": _T(
        "primary-KPI hit rate",
        "Share of campaigns that reached the target of their primary KPI (impressions, reach, "
        "clicks, conversions or viewability) within budget, counted as for the impression "
        "goal.",
        "% of campaigns",
    ),
    "overspent_campaigns": _T(
        "overspent campaigns",
        "Share of campaigns that spent beyond their budget.",
        "% of campaigns",
    ),
    "overspend_usd": _T(
        "spend beyond budgets",
        "Money campaigns spent beyond their budgets, summed over campaigns.",
        "USD per run",
    ),
    "pg_shortfall_impressions": _T(
        "guaranteed impressions undelivered",
        "Impressions booked in programmatic-guaranteed deals that had ended but were never "
        "delivered (deals paused by their own buyer excluded). They occur with no memory "
        "loss at all (the no-rot preset), so they are not a cost of context rot alone.",
        "impressions per run",
    ),
    # --- memory and context rot --------------------------------------------------------
    "facts_lost": _T(
        "facts lost",
        "Facts dropped from agents' working memory by decay, context pressure or restarts.",
        "facts per run",
        ("context_losses",),
    ),
    "restarts": _T(
        "restarts",
        "Agent processes that restarted, wiping their volatile memory.",
        "restarts per run",
        ("agent_restart_events",),
    ),
    "recovery_fidelity": _T(
        "recovery fidelity",
        "Share of lost facts an agent needed again and recovered — read back from the ledger "
        "in C, reconstructed from what it still held in B — whose value matched the truth.",
        "% of recoveries",
        ("state_recovery_accuracy",),
    ),
    # --- decisions on wrong facts ------------------------------------------------------
    "decisions": _T(
        "decisions",
        "Choices agents made (plan, offer, invoice, pay an invoice, …), each relying on one "
        "or more facts.",
        "decisions per run",
    ),
    "claims": _T(
        "claims",
        "The facts decisions relied on, one per fact per decision: the unit of the "
        "ground-truth audit.",
        "claims per run",
    ),
    "wrong_decision_share": _T(
        "decisions that used a wrong fact",
        "Share of decisions at least one of whose claims the ground-truth audit graded wrong. "
        "Called the hallucination rate in earlier reports.",
        "% of decisions",
        ("hallucination_rate",),
    ),
    "hallucinated_decisions": _T(
        "decisions on a wrong fact",
        "Decisions at least one of whose claims the audit graded wrong.",
        "decisions per run",
    ),
    "wrong_claim_share": _T(
        "claims that were wrong",
        "Share of claims the audit graded wrong (more than audit_tolerance from the truth). "
        "The plan's query 4 reports this × 100 as hallucination_rate, with total_decisions "
        "counting claims.",
        "% of claims",
        ("hallucination_rate (plan query 4)", "wrong_fact_share"),
    ),
    "wrong_claims": _T(
        "wrong claims",
        "Claims the audit graded wrong.",
        "claims per run",
        ("hallucinated_claims", "hallucinated_decisions (plan query 4)"),
    ),
    "injected": _T(
        "fabricated recalls",
        "Recalls from volatile memory the hallucination mechanism corrupted (inventory "
        "inflated, price deflated, deal history fabricated).",
        "recalls per run",
    ),
    "detection_recall": _T(
        "fabrications detected",
        "Share of fabricated recalls detected — graded wrong by the audit after the fact, or "
        "caught in the run before use.",
        "% of fabricated recalls",
    ),
    "caught_before_use": _T(
        "caught before use",
        "Share of fabricated recalls a check against the ledger caught before the agent "
        "acted. Set by inputs, not an outcome: C catches one whenever its ledger query is "
        "answered and the ledger is not behind on that fact, so its share is about 1 − "
        "ledger_read_failure at hourly sealing and few lost writes (less with later sealing, "
        "ledger_flush_hours, or more lost writes, ledger_write_failure); B has no ledger and "
        "catches none by construction.",
        "% of fabricated recalls",
        ("caught_by_ledger",),
    ),
    # --- billing -------------------------------------------------------------------------
    "agreed_value": _T(
        "agreed value",
        "Impressions delivered × the deal's agreed CPM ÷ 1,000: what a delivery should cost.",
        "USD",
    ),
    "disputes": _T(
        "disputes",
        "Deal-days whose invoice and the buyer's expectation differed by more than the split "
        "band (recon_split), so the bill went to dispute.",
        "deal-days per run",
    ),
    "written_off": _T(
        "written off",
        "Delivered value left unpaid: on each deal-day paid below the agreed value of what "
        f"the seller delivered, the shortfall. It comes from {WRITTEN_OFF_SOURCES}.",
        "USD per run",
    ),
    "overpaid": _T(
        "paid beyond the agreed value",
        "What buyers paid above the agreed value of what was delivered.",
        "USD per run",
    ),
    "net_misbilling": _T(
        "net shortfall to sellers",
        "Written off minus paid beyond the agreed value: what sellers lost on balance.",
        "USD per run",
    ),
}

INPUT = "input restated"
EMERGENT = "emergent outcome"
ASSUMED = "follows from an assumption"
FINDING_LABELS: dict[str, str] = {
    INPUT: "A parameter the user set, coming back out of the books (e.g. a fee rate as a take "
    "rate). Not a discovery of the model.",
    EMERGENT: "Produced by the mechanics in the run (memory loss, negotiation, auctions, "
    "reconciliation); not true by construction.",
    ASSUMED: "Set by a modelling assumption rather than by the run (e.g. the ledger cost model "
    "and its batching, or that the ledger is read back exactly); change the assumption and "
    "the number changes.",
}


def label(name: str) -> str:
    """The label of measure ``name`` (the name itself if it is not in the glossary)."""
    term = GLOSSARY.get(name)
    return term.label if term else name


def as_rows() -> list[tuple[str, str, str, str]]:
    """``(label, name, definition, unit)`` per measure, in glossary order (for tables)."""
    return [(t.label, n, t.definition, t.unit) for n, t in GLOSSARY.items()]

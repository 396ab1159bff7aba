"""The seller's price waterfall, its floor, and per-tier negotiation terms (IAB seller agent).

Base CPM → minus the buyer tier's discount → minus a volume discount (only for tiers that
get one) → clamped to the global floor ($1). Numbers are from the IAB reference agents as
summarised in ``shared/reference/iab-agentic-trading.md``.

The floor a seller negotiates down to is not fixed (plan, Gap 3: "floor price based on
historical fill rate, time, buyer tier"): :func:`seller_floor` starts from the product's
floor (``seller_floor_share`` × base), moves it with the seller's *believed* sell-through
(a full product prices up, an empty one down), cuts it on unsold inventory as the selling
period runs out, and applies the buyer tier's discount like the rest of the rate card.
Because sell-through is what the seller remembers having committed, a seller that forgot its
commitments prices too low as well as overselling.

Deal types: **PG** is negotiated and guaranteed (reserved inventory, a floor 1.2× higher);
**PD** is offered at the fixed tier price with no volume reserved, delivered after PG;
**PA** is a private auction among the buyers a seller invites (tiers from ``seat`` up),
unreserved, delivered last, its floor 85% of the tier price.
"""

from __future__ import annotations

from dataclasses import dataclass

GLOBAL_FLOOR_CPM = 1.0
PG_FLOOR_MULTIPLIER = 1.2  # guaranteed deals carry a higher floor
PA_FLOOR_SHARE = 0.85  # a private auction's floor relative to the tier price
PA_COMPARE_MARKUP = 1.2  # buyers mark PA floors up 20% when comparing with fixed prices
PA_MIN_TIER = 1  # index into TIERS: sellers invite seat, agency and advertiser buyers to PAs
DEAL_TYPES = ("PG", "PD", "PA")
DEAL_TYPE_SCORE = {"PG": 100.0, "PD": 70.0, "PA": 40.0}
# Volume discounts (impressions → discount), applied to agency and advertiser tiers.
VOLUME_DISCOUNTS = ((50_000_000, 0.20), (20_000_000, 0.15), (10_000_000, 0.10), (5_000_000, 0.05))


@dataclass(frozen=True)
class TierTerms:
    """Pricing and negotiation terms a seller grants one identity tier."""

    discount: float
    volume_discounts: bool
    max_rounds: int
    round_cap: float  # max concession per round, share of base
    total_cap: float  # max total concession, share of base
    buyer_share: float  # share of the gap the seller moves toward the buyer


TIER_TERMS = {
    "public": TierTerms(0.00, False, 3, 0.03, 0.08, 0.30),
    "seat": TierTerms(0.05, False, 4, 0.04, 0.12, 0.40),
    "agency": TierTerms(0.10, True, 5, 0.05, 0.15, 0.50),
    "advertiser": TierTerms(0.15, True, 6, 0.06, 0.20, 0.65),
}


def volume_discount(impressions: int) -> float:
    """Discount for a deal of ``impressions`` (5M → 5%, 10M → 10%, 20M → 15%, 50M → 20%)."""
    for threshold, disc in VOLUME_DISCOUNTS:
        if impressions >= threshold:
            return disc
    return 0.0


def quote_price(base_cpm: float, tier: str, impressions: int) -> float:
    """The seller's quoted CPM for a buyer of ``tier`` asking for ``impressions``."""
    terms = TIER_TERMS[tier]
    price = base_cpm * (1.0 - terms.discount)
    if terms.volume_discounts:
        price *= 1.0 - volume_discount(impressions)
    return round(max(GLOBAL_FLOOR_CPM, price), 2)


def seller_floor(
    floor_cpm: float,
    tier: str,
    sell_through: float,
    elapsed: float,
    *,
    fill_sensitivity: float,
    late_discount: float,
) -> float:
    """The lowest CPM a seller accepts from a buyer of ``tier`` on a product right now.

    ``floor_cpm`` is the product's reference floor; ``sell_through`` the share of its
    sellable avails the seller believes committed (0–1); ``elapsed`` the share of the
    selling period gone (0–1). Floor × (1 + fill_sensitivity × (sell_through − 0.5)) ×
    (1 − late_discount × unsold share × elapsed) × (1 − tier discount), never below $1.
    """
    fill = min(1.0, max(0.0, sell_through))
    factor = (1.0 + fill_sensitivity * (fill - 0.5)) * (1.0 - late_discount * (1 - fill) * elapsed)
    price = floor_cpm * factor * (1.0 - TIER_TERMS[tier].discount)
    return round(max(GLOBAL_FLOOR_CPM, price), 2)


def deal_terms(deal_type: str, quote: float, floor_cpm: float) -> tuple[float, float]:
    """(asking price, floor) of a deal type, given the tier quote and the seller's floor.

    PG: asks the quote (at least the PG floor), negotiable down to floor × 1.2. PD: the
    quote, fixed (the floor is the price). PA: the auction's floor (85% of the quote, at
    least the seller's floor), which is also its reserve price.
    """
    if deal_type == "PG":
        floor = floor_cpm * PG_FLOOR_MULTIPLIER
        return round(max(quote, floor), 2), round(floor, 2)
    if deal_type == "PD":
        price = round(max(quote, floor_cpm), 2)
        return price, price
    floor = round(max(floor_cpm, quote * PA_FLOOR_SHARE), 2)
    return floor, floor

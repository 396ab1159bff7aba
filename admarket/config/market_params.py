"""The market's parameters, common to every scenario: time and size, supply, demand, and
scenario A's exchange fee stack (:class:`MarketParams`).

Each is a field declared with :func:`~admarket.config.params.param`: its default, bounds,
unit and meaning in one place. :class:`~admarket.config.market_config.MarketConfig`
combines these with the direct-trading parameters (:mod:`.direct_params`) and validates
them.
"""

from __future__ import annotations

from dataclasses import dataclass

from admarket.config.params import FEE_BOUNDS, GROUPS, SHARE_BOUNDS, param

_T, _S, _D, _X = GROUPS[:4]


@dataclass(frozen=True)
class MarketParams:
    """The market's size and timing, its supply and demand, and A's exchange fees: the
    parameters every scenario shares (A's fees are inputs, restated as take rates)."""

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
    exchange_fee: float = param(0.15, "SSP / exchange fee", _X, common=True, **FEE_BOUNDS)
    dsp_fee: float = param(0.0, "DSP fee (buy side: off the buyer's bid)", _X, **FEE_BOUNDS)
    adtech_fee: float = param(
        0.0,
        "buy-side ad tech: agency and advertiser tech fees (off the buyer's bid)",
        _X,
        **FEE_BOUNDS,
    )
    sell_adtech_fee: float = param(
        0.0, "sell-side ad tech: publisher tech fees (off the clearing price)", _X, **FEE_BOUNDS
    )
    unknown_delta: float = param(
        0.0,
        "the unattributable gap of the ISBA/PwC study, lost between DSP and SSP (off the "
        "clearing price)",
        _X,
        **FEE_BOUNDS,
    )
    auction_log_rate: float = param(
        0.001,
        "share of A's lot auctions written to the event log (bids, winner, clearing price, "
        "floor, fee); drawn from its own random stream, so it changes no other result",
        _X,
        unit="share of auctions",
        step=0.001,
        **SHARE_BOUNDS,
    )

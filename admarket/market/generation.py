"""The market a run trades in: publishers, products, buyers, campaigns and hourly supply.

Everything here is drawn from the ``MARKET`` and ``SUPPLY`` streams of the seed, so all
three scenarios of one seed see the same demand and supply (common random numbers). The
market is plain numpy arrays, indexed by product and by campaign, so that clearing and
delivery can be vectorised.

Prices are calibrated from ``shared/reference/calibration.md`` ("CPMs"): each product's
*expected clearing CPM* is drawn from its channel's market range — display $4.41–7.15 (ANA
Q2 2025, open market vs PMP), online video $13–14, CTV $20–30 (the ~$25 typical of a
$20–40 range), native $8–12 (no market benchmark: the IAB example catalog's floor 8 /
base 12). Its rate card (base CPM) is set so that this expected price sits midway between
the floor (``seller_floor_share`` × base, IAB synced-inventory rule) and the average tier
quote (0.915 × base: IAB tier discounts 0/5/10/15% at this model's tier mix) —
``CLEARING_SHARE`` = 0.81. Campaign target CPMs are drawn around the expected clearing price
of the supply they can buy, so that a real share of campaigns is at risk (see
:func:`_targets`). Outcome rates per impression (clicks, conversions, viewability) are the
calibration's "Campaign outcomes" rows (:mod:`admarket.market.calibration` cites each).
Audience segments and budgets follow the plan's seed-data generator.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import networkx as nx
import numpy as np

from admarket.config import CHANNELS, KPIS, TIERS, MarketConfig
from admarket.market.calibration import (
    CLEARING_CPM,
    CLEARING_SHARE,
    CTR,
    CVR,
    TRAFFIC_SHARE,
    VIEWABILITY,
)
from admarket.market.eligibility import (
    SupplyStats,
    benchmark_table,
    pair_coverage,
    supply_stats,
)
from admarket.streams import MARKET, SUPPLY, stream

SEGMENTS = (
    "sports_enthusiasts",
    "tech_early_adopters",
    "luxury_shoppers",
    "auto_intenders",
    "travel_planners",
    "health_conscious",
)
PUBLISHER_NAMES = (
    "Premium News Network",
    "Sports Media Group",
    "Entertainment Hub",
    "Tech Review Sites",
    "Lifestyle Network",
)
# Hourly traffic shape (share of a day's impressions per hour, 24 values): a night trough
# and an evening peak, as web traffic typically has.
DIURNAL = np.array(
    [
        0.6,
        0.45,
        0.35,
        0.3,
        0.3,
        0.4,
        0.6,
        0.85,
        1.0,
        1.05,
        1.05,
        1.1,
        1.15,
        1.1,
        1.05,
        1.05,
        1.1,
        1.2,
        1.35,
        1.45,
        1.5,
        1.4,
        1.1,
        0.8,
    ]
)
TIER_WEIGHTS = (0.1, 0.3, 0.4, 0.2)  # public, seat, agency, advertiser


@dataclass(frozen=True)
class Market:
    """Arrays describing one generated market (read-only by convention)."""

    config: MarketConfig
    # sellers
    seller_names: tuple[str, ...]
    seller_segments: np.ndarray  # (n_sellers,) bitmask over SEGMENTS
    # products: one per (seller, channel) the seller sells
    product_seller: np.ndarray  # (n_products,) int
    product_channel: np.ndarray  # (n_products,) int index into CHANNELS
    base_cpm: np.ndarray  # (n_products,) float USD: the rate card
    floor_cpm: np.ndarray  # seller_floor_share × base
    clearing_cpm: np.ndarray  # (n_products,) expected clearing CPM (calibrated)
    daily_avails: np.ndarray  # (n_products,) declared lots per day (the rate card)
    hourly_avails: np.ndarray  # (n_products, steps) realised lots per hour
    kpi_rate: np.ndarray  # (n_products, len(KPIS)) outcome units per impression
    audience: np.ndarray  # (n_products,) unique users reachable (for the reach KPI)
    # buyers
    buyer_tier: np.ndarray  # (n_buyers,) int index into TIERS
    adjacency: np.ndarray  # (n_buyers, n_sellers) bool: trading relationships
    # campaigns
    campaign_buyer: np.ndarray  # (n_campaigns,) int
    budget: np.ndarray  # USD
    start_step: np.ndarray
    end_step: np.ndarray  # exclusive
    kpi: np.ndarray  # int index into KPIS
    target_cpm: np.ndarray
    max_cpm: np.ndarray
    channels: np.ndarray  # (n_campaigns,) bitmask over CHANNELS
    segments: np.ndarray  # (n_campaigns,) bitmask over SEGMENTS
    target_impressions: np.ndarray  # budget / target CPM × 1000
    kpi_target: np.ndarray  # target in the campaign's primary KPI units
    expected_cpm: np.ndarray  # (n_campaigns,) median expected clearing CPM of its supply
    at_risk: np.ndarray  # (n_campaigns,) bool: target CPM below expected_cpm
    # (campaign, product) pairs that can trade — channel and audience match — sorted by
    # campaign then product; campaign c owns pair_offsets[c]:pair_offsets[c + 1]
    # (:mod:`admarket.market.eligibility`)
    pair_c: np.ndarray  # (n_pairs,) int32
    pair_p: np.ndarray  # (n_pairs,) int32
    pair_offsets: np.ndarray  # (n_campaigns + 1,) int64
    hour_weight: np.ndarray  # (steps,) traffic weight of each step
    cum_weight: np.ndarray  # (steps + 1,) cumulative weights, cum_weight[0] = 0

    @property
    def n_products(self) -> int:
        """Number of (seller, channel) products."""
        return len(self.product_seller)

    @property
    def n_campaigns(self) -> int:
        """Number of campaigns."""
        return len(self.campaign_buyer)

    def eligible_products(self, campaign: int) -> np.ndarray:
        """Products campaign ``campaign`` can buy, ascending (a view of ``pair_p``)."""
        return self.pair_p[self.pair_offsets[campaign] : self.pair_offsets[campaign + 1]]

    def pair_coverage(self, lo: int = 0, hi: int | None = None) -> np.ndarray:
        """Share of the campaign's segments its product's seller covers, for pairs
        ``lo:hi`` (float64; computed on demand rather than stored per pair)."""
        sl = slice(lo, hi)
        return pair_coverage(
            self.segments,
            self.seller_segments,
            self.pair_c[sl],
            self.product_seller[self.pair_p[sl]],
        )

    def graph(self, with_exchange: bool) -> nx.Graph:
        """The market network: buyers, sellers and (for A) the exchange, with spend 0."""
        g = nx.Graph()
        cfg = self.config
        for b in range(cfg.n_buyers):
            g.add_node(f"buyer-{b}", kind="buyer", index=b, tier=TIERS[self.buyer_tier[b]])
        for s in range(cfg.n_sellers):
            g.add_node(f"seller-{s}", kind="seller", index=s, name=self.seller_names[s])
        if with_exchange:
            g.add_node("exchange", kind="exchange", index=0)
            for b in range(cfg.n_buyers):
                g.add_edge(f"buyer-{b}", "exchange", spend=0.0, path="exchange")
            for s in range(cfg.n_sellers):
                g.add_edge("exchange", f"seller-{s}", spend=0.0, path="exchange")
        else:
            for b, s in zip(*np.nonzero(self.adjacency), strict=True):
                g.add_edge(f"buyer-{b}", f"seller-{s}", spend=0.0, path="direct")
        return g


def _mask(rng: np.random.Generator, n_items: int, k_lo: int, k_hi: int, size: int) -> np.ndarray:
    """``size`` random bitmasks each with k in [k_lo, k_hi] of ``n_items`` bits set."""
    out = np.zeros(size, dtype=np.int64)
    for i in range(size):
        k = int(rng.integers(k_lo, k_hi + 1))
        for j in rng.choice(n_items, size=k, replace=False):
            out[i] |= 1 << int(j)
    return out


def hour_weights(cfg: MarketConfig) -> np.ndarray:
    """Traffic weight of each step: the diurnal shape resampled to steps_per_day, × days."""
    spd = cfg.steps_per_day
    x = (np.arange(spd) + 0.5) * 24.0 / spd
    day = np.interp(x, np.arange(24) + 0.5, DIURNAL, period=24)
    day = day / day.sum()
    return np.tile(day, cfg.days)


def generate_market(cfg: MarketConfig) -> Market:
    """Draw the market for ``cfg.seed``: identical for every scenario of that seed.

    Publishers and products, then buyers and their relationships, then campaigns, all from
    one stream in that order (so each part's draws stay put when another part changes
    shape); hourly supply comes from a stream of its own.
    """
    rng = stream(cfg.seed, MARKET)
    products = _draw_products(rng, cfg)
    buyers = _draw_buyers(rng, cfg)
    draws = _draw_campaigns(rng, cfg)
    stats = supply_stats(draws, products)
    campaigns = _targets(cfg, draws, stats)
    hw = hour_weights(cfg)
    return Market(
        config=cfg,
        **products,
        **buyers,
        **campaigns,
        pair_c=stats.pair_c,
        pair_p=stats.pair_p,
        pair_offsets=stats.pair_offsets,
        hourly_avails=_hourly_supply(cfg, products["daily_avails"], hw),
        hour_weight=hw,
        cum_weight=np.concatenate([[0.0], np.cumsum(hw)]),
    )


def _publisher_names(n_s: int) -> tuple[str, ...]:
    k = len(PUBLISHER_NAMES)
    return tuple(PUBLISHER_NAMES[i % k] + ("" if i < k else f" {i // k + 1}") for i in range(n_s))


def _draw_products(rng: np.random.Generator, cfg: MarketConfig) -> dict[str, Any]:
    """Publishers and their products: channels, CPMs, floors, avails, KPI rates, audience."""
    n_s = cfg.n_sellers
    seller_segments = _mask(rng, len(SEGMENTS), 2, 4, n_s)
    pub_daily = rng.integers(cfg.daily_avails_min, cfg.daily_avails_max + 1, size=n_s)
    p_seller, p_channel = [], []
    for s in range(n_s):
        # every publisher sells display; two to three further channels at random
        extra = rng.choice([1, 2, 3], size=int(rng.integers(1, 3)), replace=False)
        for ch in sorted({0, *map(int, extra)}):
            p_seller.append(s)
            p_channel.append(ch)
    product_seller = np.array(p_seller, dtype=np.int64)
    product_channel = np.array(p_channel, dtype=np.int64)
    n_p = len(product_seller)
    lo = np.array([CLEARING_CPM[CHANNELS[c]][0] for c in product_channel])
    hi = np.array([CLEARING_CPM[CHANNELS[c]][1] for c in product_channel])
    clearing_cpm = np.round(rng.uniform(lo, hi), 2)
    base_cpm = np.round(clearing_cpm / CLEARING_SHARE, 2)
    share = np.array([TRAFFIC_SHARE[CHANNELS[c]] for c in product_channel])
    share_sum = np.bincount(product_seller, weights=share, minlength=n_s)
    daily_imps = pub_daily[product_seller] * share / share_sum[product_seller]
    quality = rng.lognormal(0.0, 0.25, size=n_p)
    kpi_rate = np.zeros((n_p, len(KPIS)))
    kpi_rate[:, KPIS.index("impressions")] = 1.0
    kpi_rate[:, KPIS.index("reach")] = 1.0  # reach is computed from audience saturation
    ctr = np.array([CTR[CHANNELS[c]] for c in product_channel]) * quality
    kpi_rate[:, KPIS.index("clicks")] = ctr
    kpi_rate[:, KPIS.index("conversions")] = ctr * CVR
    view = np.array([VIEWABILITY[CHANNELS[c]] for c in product_channel])
    kpi_rate[:, KPIS.index("viewability")] = np.clip(view * quality, 0.0, 1.0)
    return {
        "seller_names": _publisher_names(n_s),
        "seller_segments": seller_segments,
        "product_seller": product_seller,
        "product_channel": product_channel,
        "base_cpm": base_cpm,
        "floor_cpm": np.round(base_cpm * cfg.seller_floor_share, 2),
        "clearing_cpm": clearing_cpm,
        "daily_avails": np.maximum(1, np.round(daily_imps / cfg.lot_size)).astype(np.int64),
        "kpi_rate": kpi_rate,
        "audience": daily_imps * rng.uniform(2.0, 6.0, size=n_p),
    }


def _draw_buyers(rng: np.random.Generator, cfg: MarketConfig) -> dict[str, Any]:
    """Buyers' identity tiers and their direct trading relationships with sellers."""
    n_b, n_s = cfg.n_buyers, cfg.n_sellers
    buyer_tier = rng.choice(len(TIERS), size=n_b, p=TIER_WEIGHTS)
    reach = min(cfg.seller_reach, n_s)
    adjacency = np.zeros((n_b, n_s), dtype=bool)
    for b in range(n_b):
        adjacency[b, rng.choice(n_s, size=reach, replace=False)] = True
    return {"buyer_tier": buyer_tier, "adjacency": adjacency}


def _draw_campaigns(rng: np.random.Generator, cfg: MarketConfig) -> dict[str, Any]:
    """Campaigns' draws: budget, flight, primary KPI, channels, audience, and the spreads of
    target CPM and max-CPM markup (turned into prices by :func:`_targets`)."""
    n_c, spd = cfg.n_campaigns, cfg.steps_per_day
    budget = rng.choice(np.array(cfg.campaign_budgets, dtype=float), size=n_c)
    fmax = min(cfg.flight_days_max, cfg.days)
    fmin = min(cfg.flight_days_min, fmax)
    flight = rng.integers(fmin, fmax + 1, size=n_c)
    start_day = rng.integers(0, cfg.days - flight + 1)
    kpi = rng.integers(0, len(KPIS), size=n_c)
    channels = _mask(rng, len(CHANNELS), 1, 3, n_c)
    segments = _mask(rng, len(SEGMENTS), 1, 2, n_c)
    spread = cfg.target_cpm_spread
    return {
        "campaign_buyer": np.repeat(np.arange(cfg.n_buyers), cfg.campaigns_per_buyer),
        "budget": budget,
        "start_step": start_day * spd,
        "end_step": (start_day + flight) * spd,
        "kpi": kpi,
        "channels": channels,
        "segments": segments,
        "target_draw": rng.uniform(1.0 - spread, 1.0 + spread, size=n_c),
        "markup_draw": rng.uniform(cfg.max_cpm_markup_min, cfg.max_cpm_markup_max, size=n_c),
    }


def _targets(cfg: MarketConfig, draws: dict[str, Any], stats: SupplyStats) -> dict[str, Any]:
    """Campaign prices and goals, derived from the supply each campaign can buy.

    A campaign's *expected CPM* is the median expected clearing price of the impressions it
    can buy (eligible products weighted by their daily avails; with none, the traffic-weighted
    channel midpoints). Its target CPM is that × (1 − ``target_tightness``) × its spread
    draw; max CPM = target × its markup draw; target impressions = budget / target CPM ×
    1000. It is *at risk* when its target CPM is below its expected CPM: at the median price
    of its supply its budget cannot buy its impression goal.
    """
    out = {k: v for k, v in draws.items() if not k.endswith("_draw")}
    ch_bits = (draws["channels"][:, None] >> np.arange(len(CHANNELS))) & 1
    expected = stats.median_cpm
    mid = np.array([np.mean(CLEARING_CPM[ch]) for ch in CHANNELS])
    traffic = ch_bits * np.array([TRAFFIC_SHARE[ch] for ch in CHANNELS])
    fallback = (traffic * mid).sum(axis=1) / traffic.sum(axis=1)
    expected = np.where(np.isnan(expected), fallback, expected)
    target_cpm = np.maximum(
        0.01, np.round(expected * (1.0 - cfg.target_tightness) * draws["target_draw"], 2)
    )
    budget = draws["budget"]
    target_impressions = np.floor(budget / target_cpm * 1000.0).astype(np.int64)
    bench = _benchmark_rates(stats, traffic)
    kpi = _judgeable_kpi(draws["kpi"], bench)
    out.update(
        kpi=kpi,
        target_cpm=target_cpm,
        max_cpm=np.round(target_cpm * draws["markup_draw"], 2),
        target_impressions=target_impressions,
        kpi_target=_kpi_targets(bench, kpi, target_impressions),
        expected_cpm=np.round(expected, 4),
        at_risk=target_cpm < np.round(expected, 2),
    )
    return out


def _benchmark_rates(stats: SupplyStats, traffic: np.ndarray) -> np.ndarray:
    """Each campaign's benchmark outcome per impression (campaign × KPI): its channels'
    calibrated rates, weighted by the supply it can buy (else by channel traffic)."""
    fallback = traffic @ benchmark_table()
    total = stats.supply_total[:, None]
    return np.where(
        total > 0,
        stats.supply_rates / np.maximum(total, 1e-12),
        fallback / traffic.sum(axis=1)[:, None],
    )


def _judgeable_kpi(kpi: np.ndarray, bench: np.ndarray) -> np.ndarray:
    """A click or conversion goal on supply that cannot be clicked (CTV alone) is judged on
    reach instead (calibration: judge CTV on completion or reach, not clicks)."""
    clicks = KPIS.index("clicks")
    unclickable = (bench[:, clicks] <= 0) & np.isin(kpi, [clicks, KPIS.index("conversions")])
    return np.where(unclickable, KPIS.index("reach"), kpi)


def _kpi_targets(bench: np.ndarray, kpi: np.ndarray, target_impressions: np.ndarray):
    """Benchmark rate of each campaign's supply × its target impressions, in KPI units."""
    kpi_target = target_impressions * bench[np.arange(len(kpi)), kpi]
    # reach target: half the target impressions as unique users (frequency of 2)
    return np.where(kpi == KPIS.index("reach"), target_impressions / 2.0, kpi_target)


def _hourly_supply(cfg: MarketConfig, daily_avails: np.ndarray, hw: np.ndarray) -> np.ndarray:
    """Realised lots per product and hour: Poisson around the declared rate × diurnal weight."""
    sup = stream(cfg.seed, SUPPLY)
    expected = daily_avails[:, None].astype(float) * hw[None, :]
    return sup.poisson(expected).astype(np.int64)

"""Campaign KPIs and the goal-attainment score.

A campaign's primary KPI is impressions, reach, clicks, conversions or viewable
impressions. What it achieved comes from what was delivered on which products: clicks,
conversions and viewability at each product's rates; reach from audience saturation
(``audience × (1 − e^(−impressions / audience))`` per product). Its target is the target
impressions (budget / target CPM × 1000) at the benchmark rate of its channels.

The goal-attainment score (0–1) weighs three things a buyer is judged on:
``0.5 × min(1, KPI achieved within budget / KPI target) + 0.25 × min(1, target CPM /
effective CPM) + 0.25 × min(1, budget / spend)`` — delivery first, then price, then budget
discipline. An overspent campaign loses twice: only the budget's share of what it achieved
counts (overspending cannot buy attainment), and its budget term falls. A campaign that
delivered nothing scores 0 on price. The same formula applied to the flight elapsed so far
gives the daily curves.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from admarket.config import CHANNELS, KPIS
from admarket.market.generation import SEGMENTS, Market

REACH = KPIS.index("reach")


def kpi_achieved(market: Market, delivered_pc: np.ndarray, lot_size: int) -> np.ndarray:
    """Each campaign's achieved primary KPI, from lots delivered per product."""
    imps = delivered_pc.astype(float) * lot_size
    rates = market.kpi_rate[:, market.kpi].T  # (n_campaigns, n_products)
    achieved = (imps * rates).sum(axis=1)
    r = market.kpi == REACH
    aud = market.audience[None, :]
    achieved[r] = (aud * -np.expm1(-imps[r] / aud)).sum(axis=1)
    return achieved


def attainment(
    market: Market,
    spent_usd: np.ndarray,
    delivered_lots: np.ndarray,
    achieved: np.ndarray,
    lot_size: int,
    progress: np.ndarray | None = None,
) -> np.ndarray:
    """Goal-attainment score per campaign; ``progress`` scales targets to flight elapsed."""
    prog = np.ones(market.n_campaigns) if progress is None else progress
    target = market.kpi_target * prog
    # only what was bought within budget counts: overspending cannot buy attainment
    within = np.where(spent_usd > market.budget, market.budget / np.maximum(spent_usd, 1e-9), 1.0)
    kpi_part = np.where(
        target > 0, np.minimum(1.0, achieved * within / np.maximum(target, 1e-12)), 1.0
    )
    imps = delivered_lots * lot_size
    ecpm = np.where(imps > 0, spent_usd / np.maximum(imps, 1) * 1000.0, np.inf)
    cpm_part = np.where(imps > 0, np.minimum(1.0, market.target_cpm / ecpm), 0.0)
    budget_part = np.where(
        spent_usd > 0, np.minimum(1.0, market.budget / np.maximum(spent_usd, 1e-9)), 1.0
    )
    return 0.5 * kpi_part + 0.25 * cpm_part + 0.25 * budget_part


def flight_progress(market: Market, t: int) -> np.ndarray:
    """Share of each campaign's flight traffic elapsed by the end of step ``t`` (0–1)."""
    cw, s, e = market.cum_weight, market.start_step, market.end_step
    done = cw[np.clip(t + 1, s, e)] - cw[s]
    return np.clip(done / (cw[e] - cw[s]), 0.0, 1.0)


def campaign_outcomes(
    market: Market,
    spent_cents: np.ndarray,
    delivered_lots: np.ndarray,
    delivered_pc: np.ndarray,
    lot_size: int,
) -> pd.DataFrame:
    """One row per campaign: targets, delivery, spend, eCPM, goals hit and attainment."""
    spent = spent_cents / 100.0
    achieved = kpi_achieved(market, delivered_pc, lot_size)
    imps = delivered_lots * lot_size
    ecpm = np.where(imps > 0, spent / np.maximum(imps, 1) * 1000.0, np.nan)
    score = attainment(market, spent, delivered_lots, achieved, lot_size)
    chan = [",".join(ch for i, ch in enumerate(CHANNELS) if m >> i & 1) for m in market.channels]
    segs = [",".join(sg for i, sg in enumerate(SEGMENTS) if m >> i & 1) for m in market.segments]
    spd = market.config.steps_per_day
    return pd.DataFrame(
        {
            "campaign_id": np.arange(market.n_campaigns),
            "buyer_id": market.campaign_buyer,
            "primary_kpi": [KPIS[k] for k in market.kpi],
            "channels": chan,
            "audience_segments": segs,
            "start_day": market.start_step // spd,
            "end_day": market.end_step // spd,
            "budget": market.budget,
            "spend": spent,
            "target_impressions": market.target_impressions,
            "actual_impressions": imps,
            "target_cpm": market.target_cpm,
            "max_cpm": market.max_cpm,
            "actual_cpm": ecpm,
            "kpi_target": market.kpi_target,
            "kpi_achieved": achieved,
            "hit_impression_goal": imps >= market.target_impressions,
            "hit_cpm_goal": (imps > 0) & (ecpm <= market.target_cpm),
            "hit_kpi_goal": achieved >= market.kpi_target,
            "overspent": spent > market.budget + 0.005,
            "goal_attainment_score": score,
        }
    )

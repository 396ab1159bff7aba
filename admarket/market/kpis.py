"""Campaign outcomes and goal attainment, judged as an advertiser judges a campaign.

**Measured outcomes.** What a campaign got is measured from the impressions delivered on
each product: clicks are drawn from the impressions at the product's click-through rate,
conversions from the clicks at the conversion rate, viewable impressions at the product's
viewable share (binomial draws; see :mod:`admarket.market.calibration` for the rates), and
reach is the expected number of unique users reached (``audience × (1 − e^(−impressions /
audience))`` per product). The draws are keyed to (seed, campaign, product, measure), never
to a scenario or a day, so two scenarios that delivered the same impressions measure the
same clicks, and a campaign's measures only grow as its delivery does.

**Goal attainment.** Five components, each 0–1 (:data:`ATTAINMENT_COMPONENTS` defines them,
for the report's glossary), and their mean, the ``goal_attainment_score``. Overspend is a
failure, never a gain: an overspent campaign fails its budget goal, and only the budget's
share of what it bought counts toward delivery and its KPI. The same formulas applied to
the flight elapsed so far (targets scaled by the share of the flight's traffic gone) give
the daily curves.

**At risk.** A campaign is at risk when its target CPM is below the median expected clearing
price of the supply it can buy (:data:`AT_RISK`): at that price its budget cannot buy its
impression goal, so a mechanism that wastes money or misprices shows in its score.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.special import ndtri

try:  # the Boost quantile and CDF that scipy.stats.binom calls; importing them skips
    # scipy.stats, whose import (it builds every distribution's docstring) costs more than a
    # plan-scale run
    from scipy.special._ufuncs import _binom_cdf, _binom_ppf
except ImportError:  # pragma: no cover - a SciPy without them: binom_ppf falls back to binom.ppf
    _binom_cdf = _binom_ppf = None

from admarket.config import CHANNELS, KPIS
from admarket.market.calibration import CVR
from admarket.market.generation import SEGMENTS, Market
from admarket.market.pair_counts import PairCounts
from admarket.streams import OUTCOME, keyed_uniforms

REACH = KPIS.index("reach")
COMPONENTS = ("delivery", "cpm", "budget", "pacing", "kpi")
# The glossary entries the report prints (one owner for the definitions).
ATTAINMENT_COMPONENTS = {
    "delivery_score": "Delivery: impressions bought within budget ÷ target impressions "
    "(budget ÷ target CPM × 1,000), capped at 1. An overspent campaign counts only the "
    "budget's share of what it got.",
    "cpm_score": "Price: target CPM ÷ effective CPM paid (spend ÷ impressions × 1,000), "
    "capped at 1; 0 when nothing was delivered.",
    "budget_score": "Budget adherence: 1 when spend ≤ budget (to the cent), else 0. "
    "Overspend is a failure, never a gain.",
    "pacing_score": "Delivery within the flight: the mean, over the flight's days so far, of "
    "impressions delivered to date ÷ target impressions due to date (target × share of the "
    "flight's traffic elapsed), each day capped at 1.",
    "kpi_score": "Primary KPI: measured KPI within budget ÷ KPI target, capped at 1. The "
    "KPI target is the target impressions × the benchmark rate of the campaign's supply "
    "(reach: half the target impressions as unique users).",
    "goal_attainment_score": "Goal attainment: the mean of the five components (delivery, "
    "price, budget, pacing, primary KPI), 0–1.",
}
KPI_MEASURES = {
    "actual_impressions": "impressions delivered",
    "clicks": "clicks drawn from the delivered impressions at each product's click-through "
    "rate (binomial; CTV is not clickable)",
    "conversions": "conversions drawn from the clicks at the conversion rate per click",
    "viewable_impressions": "viewable impressions drawn at each product's viewable share",
    "reach": "expected unique users reached: audience × (1 − e^(−impressions / audience)) "
    "per product",
}
AT_RISK = (
    "A campaign is at risk when its target CPM is below expected_cpm, the median expected "
    "clearing CPM of the supply it can buy (eligible products weighted by daily avails): "
    "at that price its budget cannot buy its impression goal."
)
_EXACT_BELOW = 50.0  # binomial means below this are drawn exactly, above by normal quantile


def binom_ppf(q: np.ndarray, n: np.ndarray, p: np.ndarray) -> np.ndarray:
    """``scipy.stats.binom.ppf(q, n, p)``, value for value, without importing scipy.stats.

    The same Boost quantile on the same arguments, and scipy's handling of the rest: ``q``
    of 0 gives -1 and of 1 gives ``n``; ``n`` not a whole number ≥ 0, ``p`` outside [0, 1]
    or ``q`` outside [0, 1] give NaN (tests/test_kpis.py checks equality on a large sample
    with every edge case).
    """
    if _binom_ppf is None:  # pragma: no cover - see the import above
        from scipy.stats import binom

        return binom.ppf(q, n, p)
    q, n, p = np.broadcast_arrays(np.asarray(q), np.asarray(n), np.asarray(p))
    valid = (n >= 0) & (n == np.round(n)) & (p >= 0) & (p <= 1)
    out = np.full(q.shape, np.nan)
    out[valid & (q == 0)] = -1.0
    top = valid & (q == 1)
    out[top] = n[top]
    inner = valid & (q > 0) & (q < 1)
    out[inner] = _binom_ppf(q[inner], n[inner], p[inner]) + 0  # + loc, as scipy adds it
    return out


# A CDF this close (relative) to the level asked for is too close to call by searching:
# such a level is left to the Boost quantile itself (see small_mean_quantile)
_NEAR_A_STEP = 1e-10
_MAX_STEPS = 12  # steps searched from the estimate; a draw needing more goes to Boost


def small_mean_quantile(q: np.ndarray, n: np.ndarray, p: np.ndarray) -> np.ndarray:
    """:func:`binom_ppf` value for value, about twice as fast where the means ``n·p`` are
    below 50 (a KPI draw's): the least ``k`` whose binomial CDF reaches ``q``, found by
    stepping from the Cornish-Fisher estimate with Boost's CDF (two or three CDF
    evaluations where the Boost quantile's root search takes many).

    Left to :func:`binom_ppf` itself: a ``q`` within 1e-10 (relative) of the CDF at the
    answer or at the step below it; one whose answer is more than 12 steps from the
    estimate; and anything outside the search's domain (``q`` not inside (0, 1), ``n`` not
    a whole number > 0, ``p`` not in (0, 1], a mean of 50 or more). So the two can differ
    only if the Boost quantile is not the least ``k`` whose CDF reaches ``q`` away from a
    step; tests/test_imports.py checks them equal on 1.2 M draws, at steps too.
    """
    qa, na, pa = np.broadcast_arrays(np.asarray(q), np.asarray(n), np.asarray(p))
    if _binom_cdf is None:  # pragma: no cover - see the import above
        return binom_ppf(qa, na, pa)
    with np.errstate(invalid="ignore"):  # NaN and infinite arguments go to binom_ppf
        searched = (qa > 0) & (qa < 1) & (na > 0) & (na == np.round(na)) & (pa > 0) & (pa <= 1)
        searched &= na * pa < _EXACT_BELOW
    out = np.empty(qa.shape)
    q, n, p = qa[searched], na[searched], pa[searched]
    mean = n * p
    sd = np.sqrt(mean * (1.0 - p))
    z = ndtri(q)
    with np.errstate(divide="ignore", invalid="ignore"):  # sd is 0 where p is 1
        skew = np.where(sd > 0, (1.0 - 2.0 * p) / sd, 0.0)
    guess = mean + sd * (z + (z * z - 1.0) * skew / 6.0)
    k = np.clip(np.ceil(guess - 0.5), 0.0, n) + 0.0  # (+ 0.0: never a -0.0)
    cdf = _binom_cdf(k, n, p)
    far = np.zeros(k.shape, dtype=bool)  # answers more than _MAX_STEPS from the estimate
    up = np.flatnonzero(cdf < q)  # below the level: step up until the CDF reaches it
    for _ in range(_MAX_STEPS):
        if not up.size:
            break
        k[up] += 1.0
        cdf[up] = _binom_cdf(k[up], n[up], p[up])
        up = up[cdf[up] < q[up]]
    far[up] = True
    below = np.full(k.shape, -1.0)  # the CDF one step down (-1 below k = 0)
    on = k > 0
    below[on] = _binom_cdf(k[on] - 1.0, n[on], p[on])
    down = np.flatnonzero(~far & (below >= q))  # the step below reaches it too: step down
    for _ in range(_MAX_STEPS):
        if not down.size:
            break
        k[down] -= 1.0
        cdf[down] = below[down]
        kd = k[down]
        below[down] = np.where(kd > 0, _binom_cdf(kd - 1.0, n[down], p[down]), -1.0)
        down = down[below[down] >= q[down]]
    far[down] = True
    boost = far | (cdf - q <= _NEAR_A_STEP * q) | (q - below <= _NEAR_A_STEP * q)
    if boost.any():
        k[boost] = binom_ppf(q[boost], n[boost], p[boost])
    out[searched] = k
    rest = ~searched
    if rest.any():
        out[rest] = binom_ppf(qa[rest], na[rest], pa[rest])
    return out


def _binomial(u: np.ndarray, n: np.ndarray, p: np.ndarray) -> np.ndarray:
    """The ``u``-quantile of Binomial(n, p), elementwise (monotone in n for a fixed u):
    exact where the mean is small, the normal approximation where it is large."""
    mean = n * p
    out = np.zeros(n.shape)
    small = (mean < _EXACT_BELOW) & (n > 0) & (p > 0)
    if small.any():
        out[small] = small_mean_quantile(u[small], n[small], p[small])
    big = mean >= _EXACT_BELOW
    if big.any():
        sd = np.sqrt(mean[big] * (1.0 - p[big]))
        out[big] = np.clip(np.rint(mean[big] + ndtri(u[big]) * sd), 0, n[big])
    return out


def measured_outcomes(
    market: Market, delivered_pc: PairCounts, lot_size: int
) -> dict[str, np.ndarray]:
    """Per campaign: impressions, reach, clicks, conversions and viewable impressions."""
    n_c = market.n_campaigns
    seed = market.config.seed
    rate = market.kpi_rate
    names = ("impressions", "reach", "clicks", "conversions", "viewability")
    totals = {name: np.zeros(n_c) for name in names}
    # a block of whole campaigns at a time: the same sums (see PairCounts.nonzero_blocks)
    for c, p, lots in delivered_pc.nonzero_blocks():
        imps = lots.astype(float) * lot_size
        clicks = _binomial(
            keyed_uniforms(seed, OUTCOME, c, p, 0), imps, rate[p, KPIS.index("clicks")]
        )
        conv = _binomial(keyed_uniforms(seed, OUTCOME, c, p, 1), clicks, np.full(c.size, CVR))
        view = _binomial(
            keyed_uniforms(seed, OUTCOME, c, p, 2), imps, rate[p, KPIS.index("viewability")]
        )
        aud = market.audience[p]
        reach = aud * -np.expm1(-imps / aud)
        for name, x in zip(names, (imps, reach, clicks, conv, view), strict=True):
            totals[name] += np.bincount(c, weights=x, minlength=n_c)
    return totals


def kpi_achieved(
    market: Market,
    delivered_pc: PairCounts,
    lot_size: int,
    campaigns: np.ndarray | None = None,
) -> np.ndarray:
    """Each campaign's measured primary KPI, from lots delivered per product: what
    :func:`measured_outcomes` gives for that KPI, value for value, drawing only each
    campaign's own KPI (conversions draw their clicks first). The draws are keyed by
    (campaign, product, outcome), so leaving the others out changes none of them, and each
    campaign's pairs are summed in the same order. ``campaigns``: a boolean mask; only
    those campaigns are measured (the rest read 0), each to the same value as unmasked."""
    out = np.zeros(market.n_campaigns)
    # A block of whole campaigns at a time: the same sums (see PairCounts.nonzero_blocks),
    # and a 10x market's 32 M pairs are never all expanded at once (1.6 GB a day). Each
    # pair's value is kept in the counter's memo until its count changes: the value is
    # a function of the pair and its count alone (keyed draws), so a kept one is the one
    # drawn again, and only the pairs that traded since the last read are drawn.
    memo_key = ("primary_kpi", _Same(market), lot_size)
    for c, p, lots, memo in delivered_pc.memo_blocks(memo_key):
        keep = lots != 0  # a zero count is not a pair (as nonzero() reads the table)
        if campaigns is not None:
            keep &= campaigns[c]
        stale = keep & np.isnan(memo)
        memo[stale] = _primary_values(market, c[stale], p[stale], lots[stale], lot_size)
        out += np.bincount(c[keep], weights=memo[keep], minlength=out.size)
    return out


class _Same:
    """A memo key part equal only to a key part of the same object. It holds the object,
    so while the memo lives no other object can take its id (a key of ``id(market)``
    alone could match a later market built in the freed memory)."""

    __slots__ = ("obj",)

    def __init__(self, obj: object):
        self.obj = obj

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Same) and other.obj is self.obj

    def __hash__(self) -> int:
        return id(self.obj)


def _primary_values(
    market: Market, c: np.ndarray, p: np.ndarray, lots: np.ndarray, lot_size: int
) -> np.ndarray:
    """Each pair's contribution to its campaign's primary KPI (see :func:`kpi_achieved`)."""
    kpi = market.kpi[c]
    imps = lots.astype(float) * lot_size
    seed, rate = market.config.seed, market.kpi_rate
    value = np.zeros(c.size)
    on = kpi == KPIS.index("impressions")
    value[on] = imps[on]
    on = kpi == KPIS.index("reach")
    aud = market.audience[p[on]]
    value[on] = aud * -np.expm1(-imps[on] / aud)
    on = kpi == KPIS.index("viewability")
    value[on] = _binomial(
        keyed_uniforms(seed, OUTCOME, c[on], p[on], 2),
        imps[on],
        rate[p[on], KPIS.index("viewability")],
    )
    on = (kpi == KPIS.index("clicks")) | (kpi == KPIS.index("conversions"))
    clicks = _binomial(
        keyed_uniforms(seed, OUTCOME, c[on], p[on], 0), imps[on], rate[p[on], KPIS.index("clicks")]
    )
    conv = kpi[on] == KPIS.index("conversions")
    clicks[conv] = _binomial(
        keyed_uniforms(seed, OUTCOME, c[on][conv], p[on][conv], 1),
        clicks[conv],
        np.full(int(conv.sum()), CVR),
    )
    value[on] = clicks
    return value


@dataclass(frozen=True)
class Attainment:
    """Goal-attainment components per campaign (each 0–1) and their mean, ``score``."""

    delivery: np.ndarray
    cpm: np.ndarray
    budget: np.ndarray
    pacing: np.ndarray
    kpi: np.ndarray

    @property
    def score(self) -> np.ndarray:
        """The goal-attainment score: the mean of the five components."""
        return (self.delivery + self.cpm + self.budget + self.pacing + self.kpi) / 5.0


def within_budget(budget: np.ndarray, spent_usd: np.ndarray) -> np.ndarray:
    """The share of each campaign's delivery its budget bought: 1 unless it overspent, then
    budget ÷ spend. Only that share counts toward a goal (attainment and the goals hit), so
    overspending can never buy one."""
    return np.where(spent_usd > budget + 0.005, budget / np.maximum(spent_usd, 1e-9), 1.0)


def attainment(
    market: Market,
    spent_usd: np.ndarray,
    delivered_lots: np.ndarray,
    achieved: np.ndarray,
    lot_size: int,
    pacing: np.ndarray,
    progress: np.ndarray | None = None,
) -> Attainment:
    """Goal-attainment components per campaign; ``progress`` scales targets to the flight
    elapsed (daily curves); ``pacing`` is the campaign's pacing score so far."""
    prog = np.ones(market.n_campaigns) if progress is None else progress
    over = spent_usd > market.budget + 0.005
    within = within_budget(market.budget, spent_usd)
    imps = delivered_lots * float(lot_size)

    def share(got: np.ndarray, target: np.ndarray) -> np.ndarray:
        return np.where(target > 0, np.minimum(1.0, got / np.maximum(target, 1e-12)), 1.0)

    ecpm = np.where(imps > 0, spent_usd / np.maximum(imps, 1) * 1000.0, np.inf)
    return Attainment(
        delivery=share(imps * within, market.target_impressions * prog),
        cpm=np.where(imps > 0, np.minimum(1.0, market.target_cpm / ecpm), 0.0),
        budget=np.where(over, 0.0, 1.0),
        pacing=pacing,
        kpi=share(achieved * within, market.kpi_target * prog),
    )


def flight_progress(market: Market, t: int) -> np.ndarray:
    """Share of each campaign's flight traffic elapsed by the end of step ``t`` (0–1)."""
    cw, s, e = market.cum_weight, market.start_step, market.end_step
    done = cw[np.clip(t + 1, s, e)] - cw[s]
    return np.clip(done / (cw[e] - cw[s]), 0.0, 1.0)


class PacingTracker:
    """Each campaign's delivery within its flight, day by day: at each day's close, delivered
    to date ÷ target due to date (capped at 1), averaged over the flight's days so far."""

    def __init__(self, market: Market):
        self.market = market
        self.total = np.zeros(market.n_campaigns)
        self.days = np.zeros(market.n_campaigns, dtype=np.int64)

    def update(self, delivered_lots: np.ndarray, t: int) -> None:
        """Add the day that closes at step ``t``."""
        mk = self.market
        on = (mk.start_step <= t) & (t < mk.end_step)
        due = mk.target_impressions / mk.config.lot_size * flight_progress(mk, t)
        ratio = np.where(due > 0, np.minimum(1.0, delivered_lots / np.maximum(due, 1e-12)), 1.0)
        self.total[on] += ratio[on]
        self.days[on] += 1

    def score(self) -> np.ndarray:
        """Pacing score per campaign so far (1 for a flight not started)."""
        return np.where(self.days > 0, self.total / np.maximum(self.days, 1), 1.0)


def campaign_outcomes(
    market: Market,
    spent_cents: np.ndarray,
    delivered_lots: np.ndarray,
    delivered_pc: PairCounts,
    lot_size: int,
    pacing: np.ndarray,
) -> pd.DataFrame:
    """One row per campaign: targets, delivery, spend, eCPM, measured outcomes, goals hit,
    each attainment component and the goal-attainment score."""
    spent = spent_cents / 100.0
    measured = measured_outcomes(market, delivered_pc, lot_size)
    achieved = np.stack([measured[k] for k in KPIS], axis=1)[
        np.arange(market.n_campaigns), market.kpi
    ]
    imps = delivered_lots * lot_size
    ecpm = np.where(imps > 0, spent / np.maximum(imps, 1) * 1000.0, np.nan)
    att = attainment(market, spent, delivered_lots, achieved, lot_size, pacing)
    within = within_budget(market.budget, spent)
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
            "expected_cpm": market.expected_cpm,
            "at_risk": market.at_risk,
            "actual_cpm": ecpm,
            "kpi_target": market.kpi_target,
            "kpi_achieved": achieved,
            "clicks": measured["clicks"],
            "conversions": measured["conversions"],
            "viewable_impressions": measured["viewability"],
            "reach": measured["reach"],
            # goals are hit by what the budget bought, as attainment counts them
            "hit_impression_goal": imps * within >= market.target_impressions,
            "hit_cpm_goal": (imps > 0) & (ecpm <= market.target_cpm),
            "hit_kpi_goal": achieved * within >= market.kpi_target,
            "hit_budget_goal": att.budget == 1.0,
            "overspent": spent > market.budget + 0.005,
            **{f"{k}_score": getattr(att, k) for k in COMPONENTS},
            "goal_attainment_score": att.score,
        }
    )

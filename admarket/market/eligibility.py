"""Which products each campaign can buy, kept as sparse (campaign, product) pairs.

A campaign can buy a product when the product's channel is one of the campaign's and the
product's seller covers at least half of the campaign's audience segments. About a third
of all (campaign, product) cells qualify, so a 10x market (50,000 campaigns × ~5,000
products) has ~80 million pairs: a dense (campaign × product) array of them, with its
coverage and price weights, needed 8 GB. Here only the eligible pairs are kept:
``pair_c``/``pair_p`` sorted by campaign then product (the order ``np.nonzero`` of the
dense array gives) with per-campaign ``pair_offsets`` (campaign c owns
``offsets[c]:offsets[c + 1]``).

Eligibility depends only on a campaign's (channels, segments) combination, so the dense
rows are worked out once per combination — a few hundred — and the pairs spread from them.
What campaign pricing needs from the supply a campaign can buy — the weighted median
clearing CPM and the avails-weighted benchmark outcome rates — is computed with the same
dense row operations as on the full array, so the numbers are the same to the last bit
(tests/test_eligibility.py checks it against the dense definition).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from admarket.config import CHANNELS
from admarket.market.calibration import CTR, CVR, VIEWABILITY

CHUNK_CELLS = 1 << 22  # (campaign, product) cells per block: ~4 M, a few tens of MB each
BLOCK_ROWS = 16  # campaigns per block are a multiple of this (see campaign_blocks)


def popcount(x: np.ndarray) -> np.ndarray:
    """Set bits of each (non-negative) integer: numpy's own kernel where it has one (2.0+),
    150× faster than the per-element loop at a large market's campaigns × products."""
    x = np.asarray(x)
    if hasattr(np, "bitwise_count"):  # uint8 counts: an eighth of int64's memory
        return np.bitwise_count(x)
    return np.array([int(v).bit_count() for v in np.ravel(x)], dtype=np.int64).reshape(x.shape)


@dataclass(frozen=True)
class SupplyStats:
    """Eligible pairs and, per campaign, the supply it can buy (see the module docstring)."""

    pair_c: np.ndarray  # (n_pairs,) int32 campaign, sorted by (campaign, product)
    pair_p: np.ndarray  # (n_pairs,) int32 product
    pair_offsets: np.ndarray  # (n_campaigns + 1,) int64: campaign c's pairs start here
    median_cpm: np.ndarray  # (n_campaigns,) avails-weighted median clearing CPM (NaN: none)
    supply_rates: np.ndarray  # (n_campaigns, KPI) avails-weighted sums of benchmark rates
    supply_total: np.ndarray  # (n_campaigns,) daily avails of the eligible products


def campaign_blocks(n_campaigns: int, n_products: int, cells: int = CHUNK_CELLS):
    """``(lo, hi)`` campaign ranges of about ``cells`` (campaign, product) cells each, in
    whole multiples of :data:`BLOCK_ROWS` campaigns.

    The multiple keeps the avails-weighted benchmark rates (a BLAS matrix product) equal to
    the last bit to one product over all campaigns: the BLAS kernel computes rows in
    groups, and a block boundary off the group grid puts rows in its odd-row tail path,
    whose summation order differs (tests/test_eligibility.py checks). That holds with
    single-threaded BLAS. A market of more than one block (over ~4 M cells) on a
    multi-threaded BLAS can differ in the last bits of a few rows, because the threads split
    a short last block's rows differently; the dense product it replaces had the same
    weakness (its last bits depended on the BLAS thread count too). On one machine either is
    the same on every run.
    """
    rows = max(1, cells // max(1, n_products)) // BLOCK_ROWS * BLOCK_ROWS or BLOCK_ROWS
    return [(lo, min(lo + rows, n_campaigns)) for lo in range(0, n_campaigns, rows)]


def eligible_block(
    campaigns: dict[str, Any], products: dict[str, Any], lo: int, hi: int
) -> np.ndarray:
    """Dense eligibility of campaigns ``lo:hi`` (rows) × every product: the channel matches
    and ≥ 50% of the campaign's segments are covered (2 × covered ≥ segments, exactly)."""
    segments = campaigns["segments"][lo:hi]
    chan_ok = (campaigns["channels"][lo:hi, None] >> products["product_channel"][None, :]) & 1
    seller_segments = products["seller_segments"][products["product_seller"]]
    covered = popcount(segments[:, None] & seller_segments[None, :])
    return (chan_ok == 1) & (2 * covered.astype(np.int16) >= popcount(segments)[:, None])


def pair_coverage(
    segments: np.ndarray, seller_segments: np.ndarray, c: np.ndarray, p_seller: np.ndarray
) -> np.ndarray:
    """Share of campaign ``c``'s segments its pair's seller covers (pairs given by campaign
    and the product's seller), as float64: covered / segments of the campaign."""
    covered = popcount(segments[c] & seller_segments[p_seller])
    return covered / popcount(segments)[c].astype(np.float64)


def _weighted_median(values: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """Per row of ``weight`` (campaign × product), the weighted median of ``values``
    (NaN for a row with no weight)."""
    order = np.argsort(values, kind="stable")
    cum = np.cumsum(weight[:, order], axis=1)
    total = cum[:, -1]
    first = (cum >= total[:, None] / 2.0).argmax(axis=1)
    return np.where(total > 0, values[order][first], np.nan)


def benchmark_table() -> np.ndarray:
    """(channel, KPI) calibrated outcome per impression: impressions, reach (0: computed
    from audience), clicks, conversions, viewability."""
    return np.array([[1.0, 0.0, CTR[ch], CTR[ch] * CVR, VIEWABILITY[ch]] for ch in CHANNELS])


def campaign_types(campaigns: dict[str, Any]) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """The distinct (channels, segments) combinations among campaigns, and each campaign's
    combination: eligibility depends on nothing else, so it is worked out once per type
    (at most 2^channels × 2^segments = 1,024; a few hundred in practice)."""
    channels, segments = campaigns["channels"], campaigns["segments"]
    key = (channels.astype(np.int64) << 32) | segments
    _, first, inv = np.unique(key, return_index=True, return_inverse=True)
    return {"channels": channels[first], "segments": segments[first]}, inv.ravel()


def _pairs(eligible: np.ndarray, kind: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pairs of campaigns whose type is ``kind``, given each type's dense eligibility row:
    (pair_c, pair_p, offsets), sorted by campaign then product."""
    products = [np.flatnonzero(row).astype(np.int32) for row in eligible]
    counts = eligible.sum(axis=1)[kind]
    offsets = np.zeros(kind.size + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    pair_c = np.repeat(np.arange(kind.size, dtype=np.int32), counts)
    pair_p = np.concatenate([np.zeros(0, np.int32), *(products[t] for t in kind.tolist())])
    return pair_c, pair_p, offsets


def supply_stats(
    campaigns: dict[str, Any], products: dict[str, Any], cells: int = CHUNK_CELLS
) -> SupplyStats:
    """Eligible pairs and each campaign's supply statistics.

    Everything is worked out per campaign type (:func:`campaign_types`) with the same dense
    row operations as on the full (campaign × product) array, then spread to campaigns;
    the benchmark rates' matrix product alone is taken over blocks of the full array (rows
    gathered from the types), because BLAS's summation order depends on a row's place in
    the matrix (see :func:`campaign_blocks`).
    """
    types, kind = campaign_types(campaigns)
    n_c, n_p = kind.size, len(products["product_channel"])
    eligible = eligible_block(types, products, 0, len(types["segments"]))
    weight = eligible * products["daily_avails"][None, :].astype(float)
    per_product = benchmark_table()[products["product_channel"]]
    rates = np.zeros((n_c, per_product.shape[1]))
    for lo, hi in campaign_blocks(n_c, n_p, cells):
        rates[lo:hi] = weight[kind[lo:hi]] @ per_product
    pair_c, pair_p, offsets = _pairs(eligible, kind)
    return SupplyStats(
        pair_c=pair_c,
        pair_p=pair_p,
        pair_offsets=offsets,
        median_cpm=_weighted_median(products["clearing_cpm"], weight)[kind],
        supply_rates=rates,
        supply_total=weight.sum(axis=1)[kind],
    )

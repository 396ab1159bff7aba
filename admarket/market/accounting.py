"""Money and delivery accounting: the true books of every campaign and seller.

Money is kept in integer cents so that conservation holds exactly: for every transaction
row, buyer spend = seller revenue + every fee. Fees are shares of the buyer's gross spend,
each rounded to the cent, and the seller receives the remainder. Rows are appended in
vectorised batches and turned into a pandas DataFrame (the store's ``transactions``
table) at the end.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from admarket.config import FEE_FIELDS
from admarket.market.pair_counts import PairCounts

FEE_COLUMNS = (*FEE_FIELDS, "ledger_fee")
KINDS = ("auction", "settlement", "ledger_fee")


def cents(cpm: ArrayLike, lots: ArrayLike, lot_size: int) -> np.ndarray:
    """Value in cents of ``lots`` at ``cpm`` (USD per 1,000 impressions), rounded."""
    return np.rint(np.asarray(cpm) * 100.0 * np.asarray(lots) * lot_size / 1000.0).astype(np.int64)


def cents_of(cpm: float, lots: int, lot_size: int) -> int:
    """:func:`cents` of one deal's lots, in plain Python (the evening settlement calls it
    per deal, where numpy's per-call cost on scalars was the bulk of the work). Same
    float64 arithmetic in the same order and the same half-to-even rounding as
    ``np.rint``, so the same cents (tests/test_auction.py checks it)."""
    return round(float(cpm) * 100.0 * lots * lot_size / 1000.0)


def split_fees(
    gross: np.ndarray, rates: dict[str, float]
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Split gross cents into fees (each rounded) and the seller's remainder."""
    fees = {name: np.rint(gross * rate).astype(np.int64) for name, rate in rates.items() if rate}
    seller = gross - sum(fees.values(), np.zeros_like(gross))
    return fees, seller


class Accounts:
    """True per-campaign and per-seller totals plus the transaction rows."""

    def __init__(self, n_campaigns: int, n_products: int, n_sellers: int, n_buyers: int):
        self.spent = np.zeros(n_campaigns, dtype=np.int64)  # cents paid by each campaign
        self.delivered = np.zeros(n_campaigns, dtype=np.int64)  # lots delivered
        self.delivered_pc = PairCounts(n_campaigns, n_products)  # lots per pair (sparse)
        self.seller_revenue = np.zeros(n_sellers, dtype=np.int64)  # cents, net of all fees
        self.fees = dict.fromkeys(FEE_COLUMNS, 0)
        self.gross = 0
        self.write_off = 0  # cents of delivered value never paid (B disputes, under-billing)
        self.overpaid = 0  # cents paid beyond the agreed value
        self.hist_delivered = np.zeros((n_buyers, n_sellers))  # lots, settled
        self.hist_expected = np.zeros((n_buyers, n_sellers))  # lots, paced expectation
        self._rows: list[dict[str, np.ndarray]] = []

    def record(
        self,
        *,
        step: int,
        kind: str,
        campaign: np.ndarray,
        buyer: np.ndarray,
        seller: np.ndarray,
        product: np.ndarray,
        deal: np.ndarray,
        lots: np.ndarray,
        cpm: np.ndarray,
        gross: np.ndarray,
        fees: dict[str, np.ndarray],
        net: np.ndarray,
        value: np.ndarray,
        lot_size: int,
    ) -> None:
        """Append a batch of transaction rows and update the running totals."""
        n = len(gross)
        if n == 0:
            return
        row: dict[str, np.ndarray] = {
            "step": np.full(n, step, dtype=np.int64),
            "kind": np.full(n, KINDS.index(kind), dtype=np.int8),
            "campaign": campaign,
            "buyer": buyer,
            "seller": seller,
            "product": product,
            "deal": deal,
            "impressions": lots * lot_size,
            "cpm": cpm,
            "buyer_spend": gross,
            "seller_revenue": net,
            "delivered_value": value,
        }
        for name in FEE_COLUMNS:
            row[name] = fees.get(name, np.zeros(n, dtype=np.int64))
            self.fees[name] += int(row[name].sum())
        self._rows.append(row)
        self.gross += int(gross.sum())
        np.add.at(self.seller_revenue, seller, net)

    @property
    def net_to_publishers(self) -> int:
        """Cents received by sellers, net of every fee and ledger cost."""
        return int(self.seller_revenue.sum())

    @property
    def take(self) -> int:
        """Cents kept by intermediaries (fees and ledger costs)."""
        return int(sum(self.fees.values()))

    def transactions(self, steps_per_day: int) -> pd.DataFrame:
        """All transaction rows, money in USD, as the store's ``transactions`` table."""
        cols = [
            "step",
            "kind",
            "campaign",
            "buyer",
            "seller",
            "product",
            "deal",
            "impressions",
            "cpm",
            "buyer_spend",
            "seller_revenue",
            *FEE_COLUMNS,
            "delivered_value",
        ]
        if not self._rows:
            return pd.DataFrame({c: pd.Series(dtype=float) for c in ["day", *cols]})
        data = {c: np.concatenate([r[c] for r in self._rows]) for c in cols}
        df = pd.DataFrame(data)
        df.insert(1, "day", df["step"] // steps_per_day)
        df["kind"] = pd.Categorical.from_codes(df["kind"], KINDS)
        for c in ("buyer_spend", "seller_revenue", *FEE_COLUMNS, "delivered_value"):
            df[c] = df[c] / 100.0
        return df

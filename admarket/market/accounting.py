"""Money and delivery accounting: the true books of every campaign and seller.

Money is kept in integer cents so that conservation holds exactly: for every transaction
row, buyer spend = seller revenue + every fee. Fees are shares of the buyer's gross spend,
each rounded to the cent, and the seller receives the remainder. Rows are appended in
vectorised batches and turned into a pandas DataFrame (the store's ``transactions``
table) at the end. The exchange's hourly rows, most of a run's rows in scenario A, are kept
as the few columns the others follow from (:class:`AuctionRows`).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from admarket.config import FEE_FIELDS
from admarket.market.pair_counts import PairCounts

FEE_COLUMNS = (*FEE_FIELDS, "ledger_fee")
# what a transaction row says was traded and paid (its other columns: step, kind, the fees
# and the delivered value)
TRADE_COLUMNS = (
    "campaign",
    "buyer",
    "seller",
    "product",
    "deal",
    "impressions",
    "cpm",
    "buyer_spend",
    "seller_revenue",
)
KINDS = ("auction", "settlement", "ledger_fee")
# the columns kept in cents and written in USD
MONEY_COLUMNS = ("buyer_spend", "seller_revenue", *FEE_COLUMNS, "delivered_value")
# the columns filled from the batches (the table adds step, day and kind)
_FILLED = (*TRADE_COLUMNS, *FEE_COLUMNS, "delivered_value")
TRANSACTION_COLUMNS = ("step", "day", "kind", *_FILLED)  # the table's, in order


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


@dataclass(frozen=True, eq=False)
class RowBatch:
    """Transaction rows of one kind recorded at one step, every column given."""

    step: int
    kind: str
    data: dict[str, np.ndarray]

    @property
    def size(self) -> int:
        """Number of rows."""
        return len(self.data["buyer_spend"])

    def columns(self) -> dict[str, np.ndarray]:
        """The rows' columns (``step`` and ``kind`` are added by the caller)."""
        return self.data

    def column(self, name: str) -> np.ndarray:
        """One of :meth:`columns`."""
        return self.data[name]

    def columns_of_none(self) -> dict[str, np.ndarray]:
        """The columns of none of the rows: their dtypes, for the table's."""
        return {c: v[:0] for c, v in self.data.items()}


@dataclass(frozen=True, eq=False)
class AuctionRows:
    """One hour's exchange rows, one per cleared (campaign, product), kept in three columns.

    Such a row is fixed by its pair key, its lots and its gross cents: the buyer and seller
    are the campaign's and the product's, there is no deal, the row's CPM is its average
    price, the fees are the gross's shares, the seller's net is the remainder and the
    delivered value is the gross. Keeping ~7 bytes a row instead of ~150 is what bounds A's
    memory at the large markets (19 million rows in 30 days at 500 × 200, more at 5,000 ×
    2,000): each column is kept in the narrowest integer type that holds this hour's
    values, and widened back to 64 bits when read, so :meth:`columns` recomputes the rest
    with the same arithmetic and the table is the same to the last bit.
    """

    step: int
    pair: np.ndarray  # campaign * n_products + product (narrowed, see _narrow)
    lots: np.ndarray  # (narrowed)
    gross: np.ndarray  # cents (narrowed)
    n_products: int
    buyer_of: np.ndarray  # each campaign's buyer (shared, not copied)
    seller_of: np.ndarray  # each product's seller (shared, not copied)
    fee_rates: dict[str, float]
    lot_size: int

    kind = "auction"

    @property
    def size(self) -> int:
        """Number of rows."""
        return len(self.gross)

    def columns_of_none(self) -> dict[str, np.ndarray]:
        """The columns of none of the rows: their dtypes, for the table's."""
        return replace(self, pair=self.pair[:0], lots=self.lots[:0], gross=self.gross[:0]).columns()

    def columns(self) -> dict[str, np.ndarray]:
        """Every column of the rows, as :meth:`Accounts.record` would have kept them."""
        pair, gross = _wide(self.pair), _wide(self.gross)
        c, p = pair // self.n_products, pair % self.n_products
        lots = _wide(self.lots)
        fees, net = split_fees(gross, self.fee_rates)
        return {
            "campaign": c,
            "buyer": self.buyer_of[c],
            "seller": self.seller_of[p],
            "product": p,
            "deal": np.full(c.size, -1),
            "impressions": lots * self.lot_size,
            "cpm": gross / (lots * self.lot_size / 1000.0) / 100.0,
            "buyer_spend": gross,
            "seller_revenue": net,
            **_fee_columns(fees, c.size),
            "delivered_value": gross,
        }

    def column(self, name: str) -> np.ndarray:
        """One of :meth:`columns`, computed alone (the same arithmetic, so the same values):
        a table read a column at a time would otherwise expand every column of every hour
        for each one it reads."""
        if name in ("campaign", "buyer"):
            c = _wide(self.pair) // self.n_products
            return c if name == "campaign" else self.buyer_of[c]
        if name in ("product", "seller"):
            p = _wide(self.pair) % self.n_products
            return p if name == "product" else self.seller_of[p]
        if name in ("buyer_spend", "delivered_value"):
            return _wide(self.gross)
        if name == "impressions":
            return _wide(self.lots) * self.lot_size
        if name == "seller_revenue" or name in FEE_COLUMNS:
            fees, net = split_fees(_wide(self.gross), self.fee_rates)
            return net if name == "seller_revenue" else _fee_columns(fees, self.gross.size)[name]
        return self.columns()[name]


def _fee_columns(fees: dict[str, np.ndarray], n: int) -> dict[str, np.ndarray]:
    return {name: fees.get(name, np.zeros(n, dtype=np.int64)) for name in FEE_COLUMNS}


_NARROW = tuple(np.iinfo(t) for t in (np.int8, np.int16, np.int32))


def _narrow(values: np.ndarray) -> np.ndarray:
    """Integer ``values`` in the narrowest of int8, int16 and int32 that holds them all
    (unchanged if none does): an hour's lots are a few per row, its gross cents and pair
    keys fit 32 bits up to the large markets, and A keeps tens of millions of such rows."""
    if values.size == 0:
        return values.astype(np.int8)
    lo, hi = int(values.min()), int(values.max())
    for info in _NARROW:
        if info.min <= lo and hi <= info.max:
            return values.astype(info.dtype)
    return values


def _wide(values: np.ndarray) -> np.ndarray:
    """Narrowed integers back as int64, the type the table's columns have."""
    return values.astype(np.int64, copy=False)


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
        self._batches: list[RowBatch | AuctionRows] = []

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
        data: dict[str, np.ndarray] = {
            "campaign": campaign,
            "buyer": buyer,
            "seller": seller,
            "product": product,
            "deal": deal,
            "impressions": lots * lot_size,
            "cpm": cpm,
            "buyer_spend": gross,
            "seller_revenue": net,
            **_fee_columns(fees, n),
            "delivered_value": value,
        }
        self._batches.append(RowBatch(step, kind, data))
        self._add_totals(gross, fees, seller, net)

    def record_auction(
        self,
        *,
        step: int,
        pair: np.ndarray,
        n_products: int,
        lots: np.ndarray,
        gross: np.ndarray,
        fees: dict[str, np.ndarray],
        net: np.ndarray,
        buyer_of: np.ndarray,
        seller_of: np.ndarray,
        fee_rates: dict[str, float],
        lot_size: int,
    ) -> None:
        """Append an hour's exchange rows (one per cleared campaign × product pair, keyed
        ``campaign * n_products + product``; ``fees`` and ``net`` are ``gross`` split by
        ``fee_rates``) and update the running totals; see :class:`AuctionRows`."""
        if len(gross) == 0:
            return
        self._batches.append(
            AuctionRows(
                step,
                _narrow(pair),
                _narrow(lots),
                _narrow(gross),
                n_products,
                buyer_of,
                seller_of,
                dict(fee_rates),
                lot_size,
            )
        )
        self._add_totals(gross, fees, seller_of[pair % n_products], net)

    def _add_totals(
        self, gross: np.ndarray, fees: dict[str, np.ndarray], seller: np.ndarray, net: np.ndarray
    ) -> None:
        for name in FEE_COLUMNS:
            if name in fees:
                self.fees[name] += int(fees[name].sum())
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

    @property
    def n_rows(self) -> int:
        """Rows of the transactions table."""
        return sum(b.size for b in self._batches)

    def transactions(self, steps_per_day: int) -> pd.DataFrame:
        """All transaction rows, money in USD, as the store's ``transactions`` table."""
        if not self._batches:
            return pd.DataFrame(
                {c: pd.Series(dtype=float) for c in ("day", "step", "kind", *_FILLED)}
            )
        return self._frame(self._batches, steps_per_day, self._dtypes())

    def transaction_chunks(self, steps_per_day: int, max_rows: int) -> Iterator[pd.DataFrame]:
        """The rows of :meth:`transactions` in order, as frames of whole batches, at most
        ``max_rows`` rows each (a larger batch is a frame of its own), every frame with the
        whole table's dtypes: stacked, they are that table. A large A run's table is ~20 M
        rows (4 GB); written chunk by chunk it is never held whole."""
        if not self._batches:
            yield self.transactions(steps_per_day)
            return
        dtypes = self._dtypes()
        group: list[RowBatch | AuctionRows] = []
        rows = 0
        for b in self._batches:
            if group and rows + b.size > max_rows:
                yield self._frame(group, steps_per_day, dtypes)
                group, rows = [], 0
            group.append(b)
            rows += b.size
        yield self._frame(group, steps_per_day, dtypes)

    @property
    def steps_ascend(self) -> bool:
        """Whether the rows are in step order (batches are recorded as the steps pass)."""
        steps = [b.step for b in self._batches]
        return all(a <= b for a, b in itertools.pairwise(steps))

    def transaction_column(self, name: str, steps_per_day: int) -> np.ndarray:
        """Column ``name`` of :meth:`transactions` as its ``to_numpy()`` gives it (``kind``
        as its texts), built alone: a large A run's whole table is 4 GB, a column 155 MB."""
        if not self._batches:
            return self.transactions(steps_per_day)[name].to_numpy()
        if name in ("step", "day", "kind"):
            sizes = [b.size for b in self._batches]
            if name == "kind":
                codes = np.repeat([KINDS.index(b.kind) for b in self._batches], sizes)
                return np.array(KINDS, dtype=object)[codes]
            steps = np.repeat(np.array([b.step for b in self._batches], np.int64), sizes)
            return steps if name == "step" else steps // steps_per_day
        return self._filled_column(name)

    def column_total(self, name: str) -> float:
        """The sum of money column ``name`` of :meth:`transactions` (USD), the same to the
        last bit, without building the table: only that column, and not even that when no
        row can charge it (a large A run has ~20 M rows, and a summary needs only the agent
        fees' totals, which A never charges)."""
        if name not in MONEY_COLUMNS:
            raise ValueError(f"column_total: {name!r} is not a money column of transactions")
        if not any(_may_be_nonzero(b, name) for b in self._batches):
            return 0.0  # a column of +0.0 (or no rows at all) sums to +0.0
        # the table's column exactly (same dtype, same order), summed as pandas sums it
        return float(self._filled_column(name).sum())

    def _filled_column(self, name: str) -> np.ndarray:
        """A cent or count column of the table, alone (cents in USD, as the table has them)."""
        column = _filled([name], self._batches, self._dtypes())[name]
        return column / 100.0 if name in MONEY_COLUMNS else column

    def _dtypes(self) -> dict[str, np.dtype]:
        """Each cent or count column's dtype in the table: the one all batches' fit in."""
        nones = [b.columns_of_none() for b in self._batches]
        return {c: np.result_type(*(d[c].dtype for d in nones)) for c in _FILLED}

    @staticmethod
    def _frame(
        batches: list[RowBatch | AuctionRows], steps_per_day: int, dtypes: dict[str, np.dtype]
    ) -> pd.DataFrame:
        """The table's rows of ``batches``, its columns in ``dtypes`` (money in USD)."""
        out = _filled(list(_FILLED), batches, dtypes)
        n = len(out["campaign"])
        steps = np.empty(n, np.int64)
        kinds = np.empty(n, np.int8)
        at = 0
        for b in batches:
            steps[at : at + b.size] = b.step
            kinds[at : at + b.size] = KINDS.index(b.kind)
            at += b.size
        data: dict[str, object] = {"step": steps, "day": steps // steps_per_day}
        data["kind"] = pd.Categorical.from_codes(kinds, KINDS)
        for c in _FILLED:
            data[c] = out.pop(c) / 100.0 if c in MONEY_COLUMNS else out.pop(c)
        return pd.DataFrame(data, copy=False)


def _filled(
    names: list[str], batches: list[RowBatch | AuctionRows], dtypes: dict[str, np.dtype]
) -> dict[str, np.ndarray]:
    """Columns ``names`` of every row of ``batches``, batch after batch, in ``dtypes``.

    Each column is allocated once and filled batch by batch, and the table is made without
    copying them: the peak is about one table (a large A run has ~20 M rows), where joining
    per-batch copies left the heap holding two."""
    sizes = [b.size for b in batches]
    out = {c: np.empty(sum(sizes), dtypes[c]) for c in names}
    at = 0
    for b, n in zip(batches, sizes, strict=True):
        if len(names) == 1:  # (one column alone: an hour's exchange rows expand only it)
            out[names[0]][at : at + n] = b.column(names[0])
        else:
            cols = b.columns()
            for c in names:
                out[c][at : at + n] = cols[c]
        at += n
    return out


def _may_be_nonzero(batch: RowBatch | AuctionRows, name: str) -> bool:
    """Whether ``batch`` may hold a non-zero value in column ``name`` (False: all zeros)."""
    if isinstance(batch, AuctionRows):  # split_fees charges only a non-zero rate
        return name not in FEE_COLUMNS or bool(batch.fee_rates.get(name))
    return bool(batch.column(name).any())

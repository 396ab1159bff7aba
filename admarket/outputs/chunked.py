"""A large table handed over as frames to write one after the other, never held whole."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass

import pandas as pd


@dataclass(frozen=True, eq=False)
class ChunkedTable:
    """A run's large table as frames to write one after the other, never held whole (A's
    transactions: :func:`~admarket.outputs.run_tables.run_tables` with ``chunk_rows``).

    Only :func:`~admarket.outputs.store_writer.spool_tables` writes it chunk by chunk;
    whatever must hold the table (the event and narrative logs, a run sent to the parent)
    builds it with :meth:`whole` (:func:`held_whole`). The frames, stacked, are
    :meth:`whole`: the same rows in the same order with the same dtypes."""

    rows: int
    n_columns: int
    chunks: Callable[[], Iterator[pd.DataFrame]]
    whole: Callable[[], pd.DataFrame]

    def __len__(self) -> int:
        return self.rows

    @property
    def size(self) -> int:
        """Cells (rows × columns), as ``DataFrame.size``."""
        return self.rows * self.n_columns


def held_whole(tables: Mapping[str, object]) -> dict[str, object]:
    """``tables`` with every :class:`ChunkedTable` built whole (a DataFrame)."""
    return {k: v.whole() if isinstance(v, ChunkedTable) else v for k, v in tables.items()}

"""A run's frames tagged with its ids and typed as the store keeps them.

Every store table starts with ``run_id``, ``scenario`` and ``seed`` (:data:`ID_COLUMNS`),
and keeps texts as plain strings (DuckDB VARCHAR, never ENUM).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

ID_COLUMNS = ["run_id", "scenario", "seed"]


def run_id_for(scenario: str, seed: int, point: int | None = None) -> str:
    """A run id that sorts by (point, seed, scenario) and is stable across processes."""
    head = f"p{point:04d}-" if point is not None else ""
    return f"{head}s{seed:06d}-{scenario}"


def plain(df: pd.DataFrame) -> pd.DataFrame:
    """Categoricals and object columns as plain strings, so DuckDB sees VARCHAR, not ENUM."""
    for col in df.columns:
        dt = df[col].dtype
        if isinstance(dt, pd.CategoricalDtype) or dt is np.dtype(object):
            df[col] = df[col].astype("string")
    return df


def with_ids(df: pd.DataFrame, run_id: str, scenario: str, seed: int) -> pd.DataFrame:
    """``df`` with the run's id columns first (any it had replaced), texts plain."""
    # a shallow copy: the columns below are inserted, dropped or replaced, never written
    # into, so the caller's frame is untouched without copying every value (A's
    # transactions at 500 x 200 are ~3 GB)
    df = df.copy(deep=False)
    for col in ID_COLUMNS:
        if col in df.columns:
            df = df.drop(columns=col)
    df.insert(0, "seed", seed)
    df.insert(0, "scenario", scenario)
    df.insert(0, "run_id", run_id)
    return plain(df)

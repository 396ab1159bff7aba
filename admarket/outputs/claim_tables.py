"""The claim audit's store tables: ``agent_decisions`` (one row per fact a decision relied
on, graded) and ``ground_truth`` (each claimed fact's true value), built whole or a chunk of
claims at a time (C's claims at 500 × 200 are millions of rows).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

import pandas as pd

from admarket.outputs.chunked import ChunkedTable, stacked_column
from admarket.outputs.run_ids import ID_COLUMNS, plain, with_ids

if TYPE_CHECKING:  # pragma: no cover
    from admarket.model import MarketModel


def _fact_ids(audit: pd.DataFrame, run_id: str) -> pd.Series:
    """``RUN_ID:CLAIM_ID``: the key joining ``agent_decisions`` to ``ground_truth``."""
    return run_id + ":" + audit["claim_id"].astype("int64").astype(str)


def decision_table(audit: pd.DataFrame, ids: tuple[str, str, int], spd: int) -> pd.DataFrame:
    """``agent_decisions``: one row per fact a decision relied on, graded (claims as
    :meth:`~admarket.memory.ground_truth.ClaimLog.frame` gives them, or a slice)."""
    frame = pd.DataFrame(
        {
            "decision_id": audit["decision_id"],
            "claim_id": audit["claim_id"],
            "step": audit["step"],
            "day": audit["step"] // spd,
            "agent_id": audit["agent_id"],
            "agent_type": audit["agent_type"],
            "decision_type": audit["decision_type"],
            "claim_type": audit["claim_type"],
            "claimed_fact_id": _fact_ids(audit, ids[0]),
            "fact_key": audit["fact_key"],
            "claimed_value": audit["claimed_value"],
            "source": audit["source"],
            "decision_basis_verified": ~audit["is_hallucination"].astype(bool),
            "is_hallucination": audit["is_hallucination"].astype(bool),
            "injected": audit["injected"].astype(bool),
            "injection_kind": audit["injection_kind"],
            "caught_in_run": audit["caught_in_run"].astype(bool),
            "recovered": audit["recovered"].astype(bool),
            "recovered_ok": audit["recovered_ok"].astype(bool),
        }
    )
    return with_ids(frame, *ids)


_DECISION_COLUMNS = len(ID_COLUMNS) + 19  # (the frame above)


def truth_table(
    audit: pd.DataFrame, ids: tuple[str, str, int], fact_id: pd.Series | None = None
) -> pd.DataFrame:
    """``ground_truth``: each claim's fact and its true value (no scenario column);
    ``fact_id``: the claims' fact ids if already built (``agent_decisions`` has them)."""
    run_id, _, seed = ids
    return plain(
        pd.DataFrame(
            {
                "fact_id": _fact_ids(audit, run_id) if fact_id is None else fact_id,
                "run_id": run_id,
                "seed": seed,
                "step": audit["step"],
                "fact_key": audit["fact_key"],
                "actual_value": audit["actual_value"],
            }
        )
    )


_TRUTH_COLUMNS = 6
_TRUTH_READS = ("claim_id", "step", "fact_key", "actual_value")  # what truth_table reads


# A row of agent_decisions takes about twice the memory of a transaction's (624 vs 332
# bytes as a frame: nine texts, not three), so the claims go in chunks of a quarter of the
# rows (~40 MB; 250 k claims were ~155 MB, the largest allocation of C's write at 500 × 200)
CLAIM_CHUNK_SHARE = 4


def claim_chunk_rows(chunk_rows: int) -> int:
    """Claims in a chunk of ``agent_decisions``/``ground_truth`` for ``chunk_rows`` rows of
    transactions a chunk."""
    return max(1, chunk_rows // CLAIM_CHUNK_SHARE)


def chunked_claims(
    m: MarketModel, ids: tuple[str, str, int], chunk_rows: int
) -> tuple[ChunkedTable, ChunkedTable]:
    """``agent_decisions`` and ``ground_truth`` as chunks of :func:`claim_chunk_rows` claims
    each (C's claims at 500 × 200 are millions of rows: ~1 GB as frames), the model not kept
    (the claim log without its ground truth, which holds the model)."""
    claims, spd = m.claims.detached(), m.config.steps_per_day
    rows = claim_chunk_rows(chunk_rows)

    def table(
        build: Callable[[pd.DataFrame], pd.DataFrame],
        n_columns: int,
        reads: tuple[str, ...] | None = None,
    ) -> ChunkedTable:
        """``reads``: the claim columns ``build`` uses (None: all of them)."""

        def chunks() -> Iterator[pd.DataFrame]:
            for audit in claims.frames(rows, reads):
                yield build(audit)

        return ChunkedTable(
            len(claims),
            n_columns,
            chunks,
            lambda: build(claims.frame(reads)),
            stacked_column(chunks),
            claims.steps_ascend,
        )

    return (
        table(lambda audit: decision_table(audit, ids, spd), _DECISION_COLUMNS),
        table(lambda audit: truth_table(audit, ids), _TRUTH_COLUMNS, _TRUTH_READS),
    )

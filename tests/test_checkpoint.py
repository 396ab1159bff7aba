"""Checkpoint and resume: a resumed run is the uninterrupted run, bit for bit."""

from __future__ import annotations

import pandas as pd
import pytest

from admarket import MarketModel
from admarket.cli import main
from admarket.cli.run import resume, run_scenarios
from admarket.model.checkpoint import CheckpointError, load_checkpoint, save_checkpoint

KW = {"n_buyers": 3, "n_sellers": 3, "campaigns_per_buyer": 4, "days": 4, "seed": 11}


def _same(a: MarketModel, b: MarketModel) -> None:
    assert a.summary() == b.summary()
    pd.testing.assert_frame_equal(a.transactions(), b.transactions())
    pd.testing.assert_frame_equal(a.claim_audit(), b.claim_audit())
    pd.testing.assert_frame_equal(
        a.datacollector.get_model_vars_dataframe(), b.datacollector.get_model_vars_dataframe()
    )
    assert a.events.records == b.events.records
    if a.ledger is not None:
        assert a.ledger.head_hash == b.ledger.head_hash and b.ledger.verify().ok


@pytest.mark.parametrize("scenario", ["B", "C"])
def test_resuming_from_any_checkpoint_gives_the_uninterrupted_result(scenario, tmp_path):
    from admarket.config import build_config

    cfg = build_config(**KW)
    (whole,) = run_scenarios(
        cfg, [scenario], progress=False, checkpoint_every=1, checkpoint_dir=tmp_path
    )
    files = sorted(tmp_path.glob("*.ckpt"))
    assert len(files) == 3  # after days 1, 2 and 3; the run ends after day 4
    for f in files:
        _same(whole, resume(f, progress=False))


def test_corrupt_foreign_and_missing_checkpoints_are_clear_errors(tmp_path, capsys):
    m = MarketModel("B", **KW)
    m.step()
    good = save_checkpoint(m, tmp_path / "x.ckpt")
    assert load_checkpoint(good).steps == 1
    assert not list(tmp_path.glob(".*.tmp"))  # written atomically, no leftovers
    data = bytearray(good.read_bytes())
    data[-10] ^= 0xFF
    bad = tmp_path / "bad.ckpt"
    bad.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="corrupt"):
        load_checkpoint(bad)
    foreign = tmp_path / "foreign.ckpt"
    foreign.write_text("hello\n")
    with pytest.raises(CheckpointError, match="not an admarket checkpoint"):
        load_checkpoint(foreign)
    for path in (bad, foreign, tmp_path / "missing.ckpt"):
        assert main(["resume", str(path), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "does not exist" in err and "corrupt" in err


def test_checkpoint_every_must_be_positive(capsys):
    assert main(["run", "--days", "1", "--checkpoint-every", "0", "--no-progress"]) == 2
    assert "--checkpoint-every" in capsys.readouterr().err


def test_resumed_store_equals_the_uninterrupted_store(tmp_path):
    """Through the CLI: `resume --out` writes the same tables as `run --out`."""
    from admarket.outputs.store import query

    args = ["--days", "3", "--buyers", "2", "--sellers", "2", "--seed", "5", "--no-progress"]
    whole, part = tmp_path / "whole", tmp_path / "resumed"
    assert (
        main(
            [
                "run",
                "--scenarios",
                "c",
                *args,
                "--out",
                str(whole),
                "--checkpoint-every",
                "1",
                "--checkpoint-dir",
                str(tmp_path / "ck"),
            ]
        )
        == 0
    )
    ckpt = sorted((tmp_path / "ck").glob("*.ckpt"))[0]
    assert main(["resume", str(ckpt), "--no-progress", "--out", str(part)]) == 0
    for table in (
        "transactions",
        "campaigns",
        "daily_metrics",
        "agent_decisions",
        "ledger",
        "events",
        "summaries",
    ):
        a = query(whole, f"SELECT * EXCLUDE (run_id) FROM {table} ORDER BY ALL")
        b = query(part, f"SELECT * EXCLUDE (run_id) FROM {table} ORDER BY ALL")
        pd.testing.assert_frame_equal(a, b, obj=table)

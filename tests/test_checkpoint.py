"""Checkpoint and resume: a resumed run is the uninterrupted run, bit for bit."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from admarket import MarketModel, __version__
from admarket.cli import main
from admarket.cli.run import resume, run_scenarios
from admarket.model.checkpoint import (
    CheckpointError,
    checkpoint_name,
    config_hash,
    load_checkpoint,
    save_checkpoint,
)

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


@pytest.mark.parametrize("scenario", ["A", "B", "C"])
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


@pytest.mark.parametrize("scenario", ["B", "C"])
def test_a_checkpoint_from_before_the_kept_flags_resumes_to_the_same_result(scenario, tmp_path):
    """A model saved by the code before the design's flags, the injector's ``corrupts`` and
    the memory's filing by day were kept as attributes has none of them: it resumes all the
    same (each object works them out again), to the uninterrupted result."""
    from admarket.config import build_config

    cfg = build_config(**KW)
    whole = MarketModel(scenario, cfg).run()
    old = MarketModel(scenario, cfg)
    for _ in range(2 * cfg.steps_per_day):
        old.step()
    for name in ("records", "ledger", "agents_hold_state", "verify_with_ledger"):
        delattr(old, name)
    for agent in [*old.buyers, *old.sellers]:
        del agent.injector.corrupts
        del agent.memory._due
    path = tmp_path / checkpoint_name(old)
    save_checkpoint(old, path)
    _same(whole, resume(path, progress=False))


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


def _rewrite_header(path, **changes) -> None:
    line, _, payload = path.read_bytes().partition(b"\n")
    header = {**json.loads(line), **changes}
    path.write_bytes(json.dumps(header, sort_keys=True).encode() + b"\n" + payload)


def test_names_carry_the_config_hash_so_configs_never_mix(tmp_path):
    from admarket.config import build_config

    names = set()
    for fee in (0.1, 0.2):
        cfg = build_config(**{**KW, "days": 2, "agent_fee": fee})
        run_scenarios(cfg, ["B"], progress=False, checkpoint_every=1, checkpoint_dir=tmp_path)
        names |= {p.name for p in tmp_path.glob("*.ckpt")}
    assert len(names) == 2  # same scenario, seed and day; two configs, two files
    for name in names:
        assert name.startswith(f"scenario-B-seed-{KW['seed']}-cfg-") and name.endswith(
            "-day-001.ckpt"
        )
        f = tmp_path / name
        assert f"-cfg-{config_hash(json.loads(f.read_bytes().split(b'\n')[0])['config'])}-" in name


def test_resume_checks_the_package_version_and_the_config_hash(tmp_path, capsys):
    m = MarketModel("B", **KW)
    m.step()
    path = save_checkpoint(m, tmp_path / "b.ckpt")
    other = save_checkpoint(MarketModel("B", **{**KW, "days": 5}), tmp_path / "other.ckpt")

    _rewrite_header(path, package_version="0.0.1")
    with pytest.raises(CheckpointError, match=r"written by admarket 0\.0\.1"):
        load_checkpoint(path)
    _rewrite_header(path, package_version=__version__, config={**m.config.to_dict(), "days": 9})
    with pytest.raises(CheckpointError, match="config does not match its config hash"):
        load_checkpoint(path)
    # a header made consistent for another config over this payload: caught after loading
    head = json.loads(other.read_bytes().split(b"\n")[0])
    _rewrite_header(path, config=head["config"], config_hash=head["config_hash"])
    with pytest.raises(CheckpointError, match="not the header's config"):
        load_checkpoint(path)
    assert main(["resume", str(path), "--no-progress"]) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1


def test_saving_never_overwrites_a_file_that_is_not_a_checkpoint(tmp_path):
    m = MarketModel("B", **KW)
    mine = tmp_path / checkpoint_name(m)
    mine.write_text("my own file")
    with pytest.raises(CheckpointError, match="will not overwrite"):
        save_checkpoint(m, mine)
    assert mine.read_text() == "my own file"

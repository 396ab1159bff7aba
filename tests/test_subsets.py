"""Every output path works for every subset of scenarios: run, compare, sweep, resume --out."""

from __future__ import annotations

import json

import pytest

from admarket.batch import compare, sweep
from admarket.cli import main
from admarket.config import build_config
from admarket.outputs.manifest import check_complete
from admarket.outputs.store import QUERY_NAMES, query, query_sql

SUBSETS = ["a", "b", "c", "a,b", "a,c", "b,c"]
KW = {"n_buyers": 2, "n_sellers": 2, "campaigns_per_buyer": 3, "days": 2}
ARGS = ["--buyers", "2", "--sellers", "2", "--campaigns-per-buyer", "3", "--days", "2"]


def _letters(subset: str) -> list[str]:
    return subset.upper().split(",")


def _check_store(out, letters: list[str], runs: int) -> None:
    manifest = check_complete(out)
    assert manifest["runs"] == runs
    got = query(out, "SELECT DISTINCT scenario FROM summaries ORDER BY 1")["scenario"]
    assert list(got) == letters
    for name in QUERY_NAMES:  # the plan's queries run on any subset
        query(out, query_sql(name))
    report = json.loads((out / "report.json").read_text())
    assert report["scenarios"] == letters


@pytest.mark.parametrize("subset", SUBSETS)
def test_run_out(subset, tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["run", *ARGS, "--scenarios", subset, "--no-progress", "--out", str(out)]) == 0
    _check_store(out, _letters(subset), len(_letters(subset)))
    if subset in ("a", "b,c"):  # the report rebuilt from the store (each takes a second)
        assert main(["report", str(out)]) == 0
        _check_store(out, _letters(subset), len(_letters(subset)))
    capsys.readouterr()


@pytest.mark.parametrize("subset", SUBSETS)
def test_compare_out(subset, tmp_path):
    out = tmp_path / "cmp"
    summ = compare(build_config(**KW), [1], _letters(subset), out=out)
    assert len(summ) == len(_letters(subset))
    _check_store(out, _letters(subset), len(_letters(subset)))


@pytest.mark.parametrize("subset", SUBSETS)
def test_sweep_out(subset, tmp_path):
    out = tmp_path / "sweep"
    letters = _letters(subset)
    tidy = sweep(build_config(**KW), {"exchange_fee": [0.1, 0.3]}, [1], letters, out=out)
    manifest = check_complete(out)
    assert manifest["kind"] == "sweep" and len(query(out, "FROM sweep")) == len(tidy)
    pairs = "A" in letters and len(letters) == 2
    be = query(out, "FROM break_even")
    assert len(be) == (2 if pairs else 0)
    assert (out / "break_even.csv").is_file() == pairs
    assert "exchange_fee" in be.columns  # the table keeps its columns even when empty
    text = (out / "sweep.md").read_text()
    assert ("break-even" in text) if pairs else ("No break-even table" in text)


@pytest.mark.parametrize("scenario", ["a", "b", "c"])
def test_resume_out(scenario, tmp_path, capsys):
    ck, whole, part = tmp_path / "ck", tmp_path / "whole", tmp_path / "resumed"
    run = ["run", *ARGS, "--scenarios", scenario, "--no-progress", "--out", str(whole)]
    assert main([*run, "--checkpoint-every", "1", "--checkpoint-dir", str(ck)]) == 0
    (ckpt,) = sorted(ck.glob("*.ckpt"))
    assert main(["resume", str(ckpt), "--no-progress", "--out", str(part)]) == 0
    _check_store(part, [scenario.upper()], 1)
    for table in ("transactions", "campaigns", "settlements", "ledger", "events"):
        a = query(whole, f"SELECT * EXCLUDE (run_id) FROM {table} ORDER BY ALL")
        b = query(part, f"SELECT * EXCLUDE (run_id) FROM {table} ORDER BY ALL")
        assert a.equals(b), table
    capsys.readouterr()

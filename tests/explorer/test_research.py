"""What a researcher takes away: the daily metrics as CSV, and the full report for the
parameters on screen (the same folder ``admarket run --out`` writes)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pandas as pd
import pytest

from admarket import MarketConfig, MarketModel
from admarket.viz.research import REPORTS_ENV, daily_csv, report_complete, report_dir, write_report
from admarket.viz.session import Session, Settings

TINY = MarketConfig(n_buyers=2, n_sellers=2, campaigns_per_buyer=2, days=2, seed=5)


def test_daily_csv_holds_every_market_and_seed_so_far() -> None:
    s = Session(Settings(TINY, ("A", "B"), seeds=2))
    s.advance(30)
    df = pd.read_csv(io.StringIO(daily_csv(s)))
    assert sorted(set(zip(df.scenario, df.seed, strict=True))) == [
        ("A", 5), ("A", 6), ("B", 5), ("B", 6)
    ]  # fmt: skip
    assert set(df.simulation_day) == {0}  # only the first day has closed
    direct = MarketModel("B", TINY).run()
    mine = df[(df.scenario == "B") & (df.seed == 5)].drop(columns=["scenario", "seed"])
    theirs = direct.daily_metrics().drop(columns=["scenario"]).iloc[:1]
    pd.testing.assert_frame_equal(mine.reset_index(drop=True), theirs, check_dtype=False)


def test_the_report_is_written_once_per_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(REPORTS_ENV, str(tmp_path))
    settings = Settings(TINY, ("B",))
    said: list[str] = []
    out, fresh = write_report(settings, said.append)
    assert fresh and out == report_dir(settings) and out.parent == tmp_path
    assert report_complete(out)
    assert (out / "report.html").is_file() and (out / "admarket.duckdb").is_file()
    report = json.loads((out / "report.json").read_text())
    assert "A" in json.dumps(report) and "C" in json.dumps(report)
    assert any("scenario C" in m for m in said)
    again, fresh = write_report(settings)
    assert again == out and not fresh  # same parameters: the finished report is reused
    other = report_dir(Settings(TINY.replace(seed=6), ("B",)))
    assert other != out

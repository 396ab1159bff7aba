"""Report generation end to end: files, charts, findings, and numbers equal to the store's."""

from __future__ import annotations

import json

import pytest

from admarket import build_config
from admarket.batch import compare
from admarket.cli import main
from admarket.outputs.store import query
from admarket.report.stats import direction, mean_ci, paired_diff

SMALL = {"n_buyers": 3, "n_sellers": 3, "campaigns_per_buyer": 4, "days": 3, "seed": 11}
CHARTS = {
    "fee_extraction.png",
    "goal_achievement.png",
    "context_rot.png",
    "hallucination_heatmap.png",
    "cost_per_mille.png",
    "dispute_outcomes.png",
}


@pytest.fixture(scope="module")
def compared(tmp_path_factory):
    """A, B, C × 3 seeds on a small market, written with its report."""
    out = tmp_path_factory.mktemp("cmp")
    compare(build_config(**SMALL), [11, 12, 13], processes=1, out=out)
    return out


def test_report_files_exist_and_html_is_self_contained(compared):
    for name in ("report.md", "report.html", "report.json", "COMPLETE", "admarket.duckdb"):
        assert (compared / name).is_file(), name
    assert {p.name for p in (compared / "charts").iterdir()} == CHARTS
    html = (compared / "report.html").read_text()
    assert html.count("data:image/png;base64,") == len(CHARTS)
    assert 'src="charts/' not in html and "http" not in html.split("<body>")[1]
    md = (compared / "report.md").read_text()
    for chart in CHARTS:
        assert f"(charts/{chart})" in md


def test_report_numbers_equal_store_numbers(compared):
    data = json.loads((compared / "report.json").read_text())
    md = (compared / "report.md").read_text()
    per_seed = query(compared, "SELECT scenario, seed, take_rate FROM summaries ORDER BY ALL")
    take = next(f for f in data["findings"] if f["key"] == "take_rate")
    for s in ("A", "B", "C"):
        ci = mean_ci(per_seed[per_seed["scenario"] == s]["take_rate"])
        assert take["values"][s]["mean"] == pytest.approx(ci.mean)
        assert take["values"][s]["n"] == 3
        lo, hi = f"{ci.lo * 100:.1f}%", f"{ci.hi * 100:.1f}%"
        if lo == hi:  # the same on every seed: the number alone, never an empty interval
            assert f"{ci.mean * 100:.1f}%" in md and f"[95% CI {lo}, {hi}]" not in md
        else:
            assert f"{ci.mean * 100:.1f}% [95% CI {lo}, {hi}]" in md
    gross = query(compared, "SELECT AVG(gross_spend) AS g FROM summaries WHERE scenario='B'")
    assert f"${gross['g'].iloc[0]:,.0f} [95% CI" in md
    # the plan's queries appear in the report exactly as the store answers them
    fee = query(compared, _plan("fee_extraction"))
    assert data["plan_queries"]["fee_extraction"] == json.loads(fee.to_json(orient="records"))


def _plan(name: str) -> str:
    from admarket.outputs.store import query_sql

    return query_sql(name)


def test_findings_are_labelled_with_parameters(compared):
    data = json.loads((compared / "report.json").read_text())
    findings = data["findings"]
    assert len(findings) >= 5
    assert {f["label"] for f in findings} <= {
        "input restated",
        "emergent outcome",
        "follows from an assumption",
    }
    assert any(f["label"] == "input restated" for f in findings)
    assert any(f["label"] == "emergent outcome" for f in findings)
    cfg = build_config(**SMALL).to_dict()
    for f in findings:
        assert f["depends_on"], f["key"]
        for k, v in f["depends_on"].items():
            assert v == json.loads(json.dumps(cfg[k])), (f["key"], k)
    md = (compared / "report.md").read_text()
    assert md.count("Depends on:") == len(findings)


def test_report_command_regenerates_without_rerunning(compared, capsys):
    before = (compared / "report.json").read_text()
    (compared / "report.md").unlink()
    assert main(["report", str(compared)]) == 0
    assert (compared / "report.md").is_file()
    after = json.loads((compared / "report.json").read_text())
    assert after["findings"] == json.loads(before)["findings"]


def test_single_seed_report_says_no_interval(tmp_path):
    compare(build_config(**SMALL), [5], ["A", "B"], out=tmp_path)
    md = (tmp_path / "report.md").read_text()
    assert "n=1, no interval" in md
    assert "[95% CI" not in md
    # the fee savings' spread across seeds cannot be measured on one: it says so ($0.00
    # would read as a measured spread of nothing)
    assert "one seed here; across seeds it would move only by" in md
    assert "moves by at most" not in md


def test_mean_ci_and_direction():
    ci = mean_ci([1.0, 2.0, 3.0])
    assert ci.mean == 2.0 and ci.half == pytest.approx(4.302652729911275 / 3**0.5)  # t(0.975, 2)
    assert mean_ci([4.0]).n == 1 and "n=1, no interval" in mean_ci([4.0]).fmt()
    up = paired_diff({1: 2.0, 2: 3.0, 3: 4.0}, {1: 1.0, 2: 2.1, 3: 2.9})
    assert direction(up) == "higher"
    assert direction(paired_diff({1: 1.0, 2: 2.0}, {1: 2.0, 2: 1.0})) == (
        "no significant difference"
    )
    assert direction(paired_diff({1: 0.0, 2: 0.1}, {1: 1.0, 2: 1.2})) == "lower"


class _Params:
    """A stand-in for ReportData with only what ``_c_reason`` reads: the runs' config."""

    def __init__(self, **values):
        self.values = {"verify_recalls": True, "ledger_flush_hours": 1, **values}

    def param(self, name, scenarios=None):
        return self.values[name]


def test_cs_wrong_facts_are_by_construction_only_at_a_perfect_ledger():
    """C's near-zero wrong facts follow from the assumptions only when every read is
    answered, every write kept and entries are readable within the hour; with the default
    faults (1% of reads, 0.1% of writes) what is left is an outcome of them (the report
    said "a ledger that is read back exactly" and labelled it an assumption at any faults)."""
    from admarket.report.summary import _c_reason

    perfect = _Params(ledger_read_failure=0, ledger_write_failure=0)
    text, why = _c_reason(perfect)
    assert why == "follows from an assumption" and "every write kept" in text
    faulty = _Params(ledger_read_failure=0.01, ledger_write_failure=0.001)
    text, why = _c_reason(faulty)
    assert why == "emergent outcome" and "ledger_read_failure=0.01" in text
    assert "read back exactly" not in text
    late = _Params(ledger_read_failure=0, ledger_write_failure=0, ledger_flush_hours=24)
    assert _c_reason(late)[1] == "emergent outcome"
    unchecked = _Params(ledger_read_failure=0, ledger_write_failure=0, verify_recalls=False)
    assert _c_reason(unchecked) == (".", "emergent outcome")


def test_b_is_said_to_fall_behind_c_only_when_the_gap_widens():
    """'B falls behind C rather than falling itself' was printed whenever B's own trend was
    flat, even with no gap at all (no-rot)."""
    import pandas as pd

    from admarket.report.conclusion import _own_trends
    from admarket.report.stats import mean_ci

    days = range(10)
    rows = [
        # B's own slope per seed: -0.001, 0, +0.001 a day (flat on average); C rises
        (s, seed, day, 0.8 + (0.01 if s == "C" else 0.001 * (seed - 2)) * day)
        for s in ("B", "C")
        for seed in (1, 2, 3)
        for day in days
    ]
    d = type("D", (), {})()
    d.daily = pd.DataFrame(
        rows, columns=["scenario", "seed", "simulation_day", "daily_goal_attainment"]
    )
    widening = mean_ci([-0.010, -0.011, -0.009])
    assert "B falls behind C" in _own_trends(d, 10, widening)
    none = mean_ci([0.0, 0.0, 0.0])
    text = _own_trends(d, 10, none)
    assert "B falls behind C" not in text and "on their own, B's trend is" in text


def test_every_report_module_is_under_400_lines():
    # the project keeps modules under ~400 lines: one concern each, readable in one sitting
    from pathlib import Path

    import admarket.report as report

    root = Path(report.__file__).parent
    long = {p.name: n for p in root.glob("*.py") if (n := len(p.read_text().splitlines())) >= 400}
    assert not long, f"report modules of 400 lines or more: {long}"

"""A sweep over a text parameter (buyer_rule) or a list parameter (campaign_budgets) is
published like a numeric one: its tables list each grid value as given, in grid order, and
its charts draw the values as categories. A value given twice is refused before any run."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

import admarket.batch.grid as grid_module
import admarket.report.break_even as break_even_module
from admarket import build_config
from admarket.batch import parse_grid, sweep
from admarket.cli import main
from admarket.config import ConfigError
from admarket.outputs.store import COMPLETE_MARKER, query
from admarket.outputs.sweep_journal import journal_path
from admarket.report.sweep_values import categorical, categories, category_order, value_text
from tests.study_stops import stopping_after

TINY = ["--days", "1", "--buyers", "1", "--sellers", "1", "--seeds", "1"]
QUIET = ["--processes", "1", "--no-progress"]
RUN_ALL = grid_module.iter_results


def _sweep(out: Path, *args: str) -> int:
    return main(["sweep", *TINY, *QUIET, *args, "--out", str(out)])


def _column(path: Path, name: str) -> list[str]:
    with path.open(newline="") as f:
        return [row[name] for row in csv.DictReader(f)]


def _published(out: Path) -> None:
    for name in ("sweep.csv", "sweep.md", "break_even.csv", "charts/break_even.png"):
        assert (out / name).is_file(), name
    assert (out / "charts" / "drivers.png").is_file()
    assert (out / COMPLETE_MARKER).is_file()
    assert not journal_path(out).exists()  # published: the journal is gone


def test_a_text_grid_is_published_with_its_values_in_grid_order(tmp_path):
    out = tmp_path / "g1"
    assert _sweep(out, "--grid", "buyer_rule=plan,iab") == 0
    _published(out)
    assert list(dict.fromkeys(_column(out / "sweep.csv", "buyer_rule"))) == ["plan", "iab"]
    assert list(dict.fromkeys(_column(out / "break_even.csv", "buyer_rule"))) == ["plan", "iab"]
    stored = query(out, "SELECT DISTINCT point, buyer_rule FROM sweep ORDER BY point")
    assert list(stored["buyer_rule"]) == ["plan", "iab"]
    md = (out / "sweep.md").read_text()
    # iab is buyer_rule's default: the base point, marked so (as the drivers tables do)
    assert "| plan | B |" in md and "| iab (base) | B |" in md
    assert md.index("| plan | B |") < md.index("| iab (base) | B |")  # grid order, not a–z
    drivers = query(out, "FROM drivers")  # what drives C: the grid's order too
    assert list(dict.fromkeys(drivers["value"])) == ["plan", "iab"]


def _list_sweep(out: Path, given: str) -> tuple[list[str], list[list[float]], str]:
    """Publish a sweep of ``campaign_budgets=given``; its values as sweep.csv writes them,
    as the store holds them (by point), and sweep.md."""
    assert _sweep(out, "--grid", f"campaign_budgets={given}") == 0
    _published(out)
    written = list(dict.fromkeys(_column(out / "sweep.csv", "campaign_budgets")))
    stored = query(out, "SELECT DISTINCT point, campaign_budgets FROM sweep ORDER BY point")
    return written, [list(v) for v in stored["campaign_budgets"]], (out / "sweep.md").read_text()


def test_a_list_grid_is_published_with_each_value_as_given(tmp_path):
    out = tmp_path / "g3"
    written, stored, md = _list_sweep(out, "10000,20000")
    assert written == ["10000", "20000"]
    assert set(_column(out / "drivers.csv", "value")) == {"10000", "20000"}
    assert "| 10000 | B |" in md and "| 20000 | C |" in md and "(10000.0,)" not in md
    assert stored == [[10000.0], [20000.0]]


def test_text_and_number_grids_one_at_a_time_without_a(tmp_path):
    """Two kinds in one drivers table (its value column) are stored as text."""
    out = tmp_path / "o"
    grid = ["--grid", "buyer_rule=plan,iab", "--grid", "decay_rate=0.1,0.2"]
    assert _sweep(out, *grid, "--one-at-a-time", "--scenarios", "b,c") == 0
    assert (out / "charts" / "drivers.png").is_file()
    drivers = query(out, "FROM drivers")
    # decay_rate's slice holds the base point (iab, 0.02) beside the grid's values
    assert list(dict.fromkeys(drivers["value"])) == ["plan", "iab", "0.02", "0.1", "0.2"]


def test_a_boolean_and_a_number_one_at_a_time(tmp_path):
    """true/false beside numbers in the drivers' value column used to fail to be stored."""
    out = tmp_path / "b"
    grid = ["--grid", "verify_recalls=true,false", "--grid", "decay_rate=0.1,0.2"]
    assert _sweep(out, *grid, "--one-at-a-time", "--scenarios", "b,c") == 0
    assert set(query(out, "FROM drivers")["parameter"]) == {"verify_recalls", "decay_rate"}


def test_a_list_grid_beside_a_number_grid(tmp_path):
    out = tmp_path / "x"
    grid = ["--grid", "decay_rate=0.1,0.2", "--grid", "campaign_budgets=20000,10000"]
    assert _sweep(out, *grid, "--scenarios", "a,c") == 0
    points = query(out, "SELECT DISTINCT point, decay_rate, campaign_budgets FROM sweep")
    assert len(points) == 4
    assert list(dict.fromkeys(_column(out / "break_even.csv", "campaign_budgets"))) == [
        "20000",
        "10000",
    ]


def test_a_stopped_text_sweep_resumes_and_publishes(tmp_path, monkeypatch):
    out = tmp_path / "r"
    cfg = build_config(n_buyers=1, n_sellers=1, days=1)
    grid = {"buyer_rule": ["iab", "plan"]}
    monkeypatch.setattr(grid_module, "iter_results", stopping_after(RUN_ALL, 4, []))
    with pytest.raises(KeyboardInterrupt):
        sweep(cfg, grid, [42], out=out)
    assert journal_path(out).is_file() and not out.exists()
    monkeypatch.setattr(grid_module, "iter_results", RUN_ALL)
    assert _sweep(out, "--grid", "buyer_rule=iab,plan", "--resume") == 0
    _published(out)
    assert list(dict.fromkeys(_column(out / "sweep.csv", "buyer_rule"))) == ["iab", "plan"]


@pytest.mark.parametrize(
    ("given", "repeated"),
    [
        ("decay_rate=0.1,0.1", "decay_rate repeats 0.1"),
        ("decay_rate=0.1,0.2,0.10", "decay_rate repeats 0.1 (as 0.10)"),
        ("buyer_rule=iab,plan,iab", "buyer_rule repeats iab"),
        ("campaign_budgets=10000,1e4", "campaign_budgets repeats 10000 (as 1e4)"),
    ],
)
def test_a_repeated_grid_value_is_refused_before_anything_runs(
    tmp_path, monkeypatch, capsys, given, repeated
):
    def never(*args, **kwargs):
        raise AssertionError("a run started")

    monkeypatch.setattr(grid_module, "iter_results", never)
    out = tmp_path / "d"
    assert _sweep(out, "--grid", given) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and repeated in err, err
    assert not out.exists() and not journal_path(out).exists()
    name, values = given.split("=")
    with pytest.raises(ConfigError, match="each value once"):
        sweep(build_config(days=1), {name: values.split(",")}, [1], out=tmp_path / "api")


def test_values_as_categories():
    assert categorical(["iab", "plan"]) and categorical([(1.0,), (2.0,)])
    assert not categorical([0.1, 2, np.int64(3), np.float64(0.5)])
    # true/false are categories in grid order, not 1 and 0 on a numeric axis
    assert categorical([True, False]) and categorical([np.bool_(True), np.bool_(False)])
    assert category_order([True, False, True]) == [True, False]
    assert categories(["plan", "iab", "plan"]) == ["plan", "iab"]
    assert value_text((10000.0, 25000.5)) == "10000,25000.5"
    assert [value_text(v) for v in (0.1, 48, True, np.bool_(False), "iab")] == [
        "0.1",
        "48",
        "true",
        "false",
        "iab",
    ]


def test_a_true_false_grid_is_drawn_and_tabled_as_categories(tmp_path, monkeypatch):
    drawn = []
    monkeypatch.setattr(break_even_module, "category_axis", lambda ax, cats: drawn.append(cats))
    out = tmp_path / "tf"
    assert _sweep(out, "--grid", "verify_recalls=true,false", "--scenarios", "a,c") == 0
    assert drawn == [[True, False], [True, False]]  # both panels, in grid order
    md = (out / "sweep.md").read_text()
    assert md.index("| true (base) | C |") < md.index("| false | C |")
    # one spelling in every file, as --set takes it; the store keeps true/false values
    for name in ("sweep.csv", "break_even.csv"):
        assert list(dict.fromkeys(_column(out / name, "verify_recalls"))) == ["true", "false"]
    assert set(query(out, "FROM sweep")["verify_recalls"]) == {True, False}


def test_a_list_value_of_several_numbers_is_one_bracketed_grid_value(tmp_path):
    written, stored, md = _list_sweep(tmp_path / "lists", "[10000,20000],[5000]")
    assert written == ["10000,20000", "5000"]
    assert stored == [[10000.0, 20000.0], [5000.0]]
    assert "| 10000,20000 | B |" in md


def test_parse_grid_reads_brackets():
    assert parse_grid(["campaign_budgets=[1,2], [3] ,4", "decay_rate=0.1"]) == {
        "campaign_budgets": ["1,2", "3", "4"],
        "decay_rate": ["0.1"],
    }


@pytest.mark.parametrize(
    ("given", "says"),
    [
        ("campaign_budgets=[1,2", "brackets that pair up"),
        ("campaign_budgets=1,2]", "brackets that pair up"),
        ("campaign_budgets=[[1]]", "brackets that pair up"),
        ("campaign_budgets=[1]2", "a value wholly in brackets"),
        ("campaign_budgets=[10000,25000] [5000]", "a value wholly in brackets"),
        ("campaign_budgets=[1][2]", "a value wholly in brackets"),
        ("campaign_budgets=[],[5000]", "at least one number inside '[]'"),
        ("campaign_budgets=[ , ],[5000]", "at least one number inside '[ , ]'"),
        ("exchange_fee=[0.1,0.2]", "brackets only around a list parameter's value; exchange"),
        ("exchange_fee=[0.1],[0.2]", "exchange_fee is a float: exchange_fee=V1,V2,..."),
        (
            "campaign_budgets=[10000,25000],[10000,25000.0]",
            "= 'campaign_budgets=[10000,25000],[10000,25000.0]': each value once",
        ),
    ],
)
def test_bad_brackets_in_a_grid_are_one_line_errors(tmp_path, capsys, given, says):
    out = tmp_path / "bad"
    assert _sweep(out, "--grid", given) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and says in err, err
    assert not out.exists()

"""sweep: tidy results over a grid, break-even against A, and its files."""

from __future__ import annotations

import pandas as pd
import pytest

from admarket import MarketModel, build_config
from admarket.batch import break_even, parse_grid, sweep
from admarket.cli import main
from admarket.config import ConfigError
from admarket.money import usd_auto
from admarket.outputs.store import COMPLETE_MARKER, query

SMALL = {"n_buyers": 3, "n_sellers": 3, "campaigns_per_buyer": 4, "days": 2}


@pytest.fixture(scope="module")
def swept(tmp_path_factory):
    out = tmp_path_factory.mktemp("sweep")
    grid = {"exchange_fee": [0.0, 0.2], "decay_rate": [0.0, 0.1]}
    tidy = sweep(build_config(**SMALL), grid, [1, 2], ["A", "B", "C"], out=out)
    return tidy, out


def test_tidy_table_has_one_row_per_point_scenario_seed(swept):
    tidy, _ = swept
    assert len(tidy) == 4 * 3 * 2
    assert {"point", "exchange_fee", "decay_rate", "scenario", "seed"} <= set(tidy.columns)
    assert tidy.groupby("point")[["exchange_fee", "decay_rate"]].nunique().max().max() == 1


def test_exchange_fee_is_restated_in_a_take_rate(swept):
    tidy, _ = swept
    a = tidy[tidy["scenario"] == "A"]
    assert (a[a["exchange_fee"] == 0.0]["intermediary_take"] == 0).all()  # null test
    assert a[a["exchange_fee"] == 0.2]["take_rate"].to_numpy() == pytest.approx(0.2, abs=1e-3)
    # B never touches the exchange: its outcome does not depend on the exchange fee
    b = tidy[(tidy["scenario"] == "B")].set_index(["decay_rate", "seed", "exchange_fee"])
    assert b.xs(0.0, level="exchange_fee")["gross_spend"].equals(
        b.xs(0.2, level="exchange_fee")["gross_spend"]
    )


def test_break_even_pairs_each_scenario_with_a(swept):
    tidy, out = swept
    be = break_even(tidy, ["exchange_fee", "decay_rate"])
    assert len(be) == 4 * 2 and set(be["scenario"]) == {"B", "C"}
    row = be[(be["scenario"] == "B") & (be["exchange_fee"] == 0.2) & (be["decay_rate"] == 0.0)]
    a = tidy[(tidy["scenario"] == "A") & (tidy["exchange_fee"] == 0.2) & (tidy["decay_rate"] == 0)]
    b = tidy[(tidy["scenario"] == "B") & (tidy["exchange_fee"] == 0.2) & (tidy["decay_rate"] == 0)]
    diff = b["net_to_publishers"].to_numpy() - a["net_to_publishers"].to_numpy()
    assert row["net_to_publishers_diff"].iloc[0] == pytest.approx(diff.mean())
    for name in (
        "sweep.csv",
        "break_even.csv",
        "sweep.md",
        "charts/break_even.png",
        COMPLETE_MARKER,
    ):
        assert (out / name).is_file(), name
    assert len(query(out, "FROM sweep")) == len(tidy)
    assert len(query(out, "FROM runs")) == len(tidy)


def test_the_sweep_tables_show_what_each_scenario_wrote_off(swept):
    """The compare report's dispute table shows each scenario's written-off amount; the
    sweep's break-even table (store, CSV and sweep.md) shows it beside the differences
    from A: the mean of the scenario's runs at the point, with its interval."""
    _, out = swept
    be = query(out, "FROM break_even")
    runs = query(out, "FROM sweep")
    for _, row in be.iterrows():
        at = runs[(runs["point"] == row["point"]) & (runs["scenario"] == row["scenario"])]
        assert row["written_off"] == pytest.approx(at["written_off"].mean())
        assert row["written_off_lo"] <= row["written_off"] <= row["written_off_hi"]
    assert (be["written_off"] > 0).any()  # B and C do write off
    assert "written_off" in pd.read_csv(out / "break_even.csv")
    md = (out / "sweep.md").read_text()
    assert "| written off (USD per run) |" in md
    b = be[be["written_off"] > 0].iloc[0]
    # an interval cut at $0 says so (a short sweep's intervals are wide)
    cut = " (clipped)" if b["written_off_lo"] == 0 else ""
    assert f"| {b['written_off']:,.0f} [{b['written_off_lo']:,.0f}{cut}, " in md


def test_grid_parsing_and_validation():
    assert parse_grid(["exchange-fee=0.1, 0.2", "decay_rate=0.05"]) == {
        "exchange_fee": ["0.1", "0.2"],
        "decay_rate": ["0.05"],
    }
    for bad in (["exchange_fee"], ["exchange_fee="]):
        with pytest.raises(ConfigError):
            parse_grid(bad)
    with pytest.raises(ConfigError):
        sweep(build_config(**SMALL), {"exchange_fe": ["0.1"]}, [1])
    with pytest.raises(ConfigError):
        sweep(build_config(**SMALL), {"decay_rate": ["2"]}, [1])


def test_sweep_command(tmp_path, capsys):
    args = ["sweep", "--buyers", "3", "--sellers", "3", "--campaigns-per-buyer", "4"]
    args += ["--days", "2", "--scenarios", "a,c", "--grid", "exchange_fee=0.1,0.3"]
    args += ["--seeds", "2", "--processes", "1", "--no-progress", "--out", str(tmp_path / "s")]
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "net_to_publishers_vs_A" in printed
    assert main(["sweep", "--grid", "nope=1"]) == 2
    # the plan's queries read a run's tables: on a sweep, say so, not DuckDB's catalog error
    capsys.readouterr()
    assert main(["query", str(tmp_path / "s"), "--name", "fee_extraction"]) == 2
    err = capsys.readouterr().err
    assert "is not one (a sweep? see its sweep.md)" in err and "Catalog" not in err
    assert main(["query", str(tmp_path / "s"), "--sql", "SELECT count(*) AS n FROM sweep"]) == 0


def test_one_at_a_time_takes_a_swept_parameters_base_from_set(tmp_path, capsys):
    """The main job's ledger sweep sets each fault's base with --set and sweeps it with
    --grid: one at a time that is the base the others vary from, not a conflict."""
    out = tmp_path / "s"
    args = ["sweep", "--buyers", "2", "--sellers", "2", "--campaigns-per-buyer", "2"]
    args += ["--days", "1", "--scenarios", "b", "--one-at-a-time", "--seeds", "1"]
    args += ["--set", "decay_rate=0", "--grid", "decay_rate=0,0.1"]
    args += ["--grid", "hallucination_rate=0,0.2", "--processes", "1", "--no-progress"]
    assert main([*args, "--out", str(out)]) == 0
    tidy = pd.read_csv(out / "sweep.csv")
    assert set(tidy.loc[tidy.hallucination_rate == 0.2, "decay_rate"]) == {0.0}
    assert set(tidy.decay_rate) == {0.0, 0.1}


def test_one_at_a_time_sweep_shows_what_drives_c(tmp_path):
    """Each ledger fault varied alone from a perfect ledger, B beside C: a table, a chart and
    a section whose C zeros at the perfect ledger follow from the assumptions."""
    cfg = build_config(**SMALL, ledger_read_failure=0.0, ledger_write_failure=0.0)
    grid = {"ledger_read_failure": [0.0, 0.5], "ledger_flush_hours": [1, 48]}
    tidy = sweep(cfg, grid, [1, 2], ["B", "C"], out=tmp_path, one_at_a_time=True)
    assert len(tidy) == 4 * 2 * 2 and set(tidy["scenario"]) == {"B", "C"}
    assert len(query(tmp_path, "FROM runs")) == 3 * 2 * 2  # the base point ran once
    drivers = query(tmp_path, "FROM drivers ORDER BY parameter, value, scenario")
    assert set(drivers["parameter"]) == set(grid)
    perfect = drivers[(drivers["parameter"] == "ledger_read_failure") & (drivers["value"] == 0)]
    c = perfect[perfect["scenario"] == "C"].iloc[0]
    b = perfect[perfect["scenario"] == "B"].iloc[0]
    assert c["wrong_fact_share"] == 0 and c["label"] == "follows from the assumptions"
    assert b["wrong_fact_share"] > 0 and c["seeds"] == 2  # the base point counted once
    faulty = drivers[(drivers["scenario"] == "C") & (drivers["value"] != 0)]
    faulty = faulty[~((faulty["parameter"] == "ledger_flush_hours") & (faulty["value"] == 1))]
    assert (faulty["label"] == "emergent outcome").all()
    # what each run wrote off, as the compare report shows it: the mean of the store's runs
    runs = query(tmp_path, "FROM sweep")
    at = runs[(runs["ledger_read_failure"] == 0.5) & (runs["scenario"] == "C")]
    row = drivers[(drivers["value"] == 0.5) & (drivers["scenario"] == "C")].iloc[0]
    assert row["written_off"] == pytest.approx(at["written_off"].mean())
    md = (tmp_path / "sweep.md").read_text()
    assert "What drives C" in md and "charts/drivers.png" in md
    assert "written off (USD per run)" in md
    assert (tmp_path / "charts" / "drivers.png").is_file() and (tmp_path / "drivers.csv").is_file()


def test_a_swept_parameter_named_like_an_outcome_keeps_its_values(tmp_path):
    """hallucination_rate is a parameter and an outcome: the swept values stay in their
    column, the outcome goes to hallucination_rate_outcome (it used to overwrite them)."""
    grid = {"hallucination_rate": [0.0, 0.5]}
    tidy = sweep(build_config(**SMALL), grid, [1], ["B"], out=tmp_path / "s")
    assert sorted(tidy["hallucination_rate"]) == [0.0, 0.5]
    out = tidy.set_index("hallucination_rate")["hallucination_rate_outcome"]
    run = MarketModel("B", build_config(**SMALL, hallucination_rate=0.5), rng=1)
    run.run()
    assert out.loc[0.5] == run.summary()["hallucination_rate"]  # the outcome, as measured
    assert "hallucination_rate_outcome" in query(tmp_path / "s", "SELECT * FROM sweep").columns


@pytest.mark.parametrize(
    ("grid", "missing"),
    [
        # neither grid holds the other's base value: no slice at all
        (["decay_rate=0.1,0.2", "verify_recalls=false"], "decay_rate, verify_recalls"),
        # verify_recalls' grid holds its base (true): decay_rate's slice exists, not its own
        (["decay_rate=0.1,0.2", "verify_recalls=true,false"], "verify_recalls"),
    ],
)
def test_a_cartesian_sweep_says_which_parameters_what_drives_c_leaves_out(
    tmp_path, capsys, grid, missing
):
    """What drives C reads each parameter where the others sit at base; a cartesian grid
    without the base values has no such point for some: the console and sweep.md say so,
    instead of leaving them out without a word."""
    out = tmp_path / "s"
    args = ["sweep", "--days", "1", "--buyers", "1", "--sellers", "1", "--seeds", "1"]
    args += ["--processes", "1", "--no-progress", "--out", str(out)]
    assert main([*args, *(x for g in grid for x in ("--grid", g))]) == 0
    said = f"What drives C leaves out {missing}: it reads each swept parameter where the others "
    assert said in capsys.readouterr().out
    md = (out / "sweep.md").read_text()
    assert said in md and md.count("## What drives C") == 1
    assert "(decay_rate=0.02, verify_recalls=true)" in md


def test_a_sweep_with_every_slice_says_nothing_left_out(tmp_path, capsys):
    out = tmp_path / "s"
    args = ["sweep", "--days", "1", "--buyers", "1", "--sellers", "1", "--seeds", "1"]
    args += ["--processes", "1", "--no-progress", "--out", str(out), "--one-at-a-time"]
    assert main([*args, "--grid", "decay_rate=0.1", "--grid", "verify_recalls=false"]) == 0
    assert "leaves out" not in capsys.readouterr().out
    assert "leaves out" not in (out / "sweep.md").read_text()


def test_the_python_sweep_refuses_language_model_roles_before_any_run(tmp_path):
    """The CLI refused them in --grid; the API's sweep ran the first point, failed at the
    next and left a journal no --resume could finish."""
    out = tmp_path / "s"
    with pytest.raises(ConfigError, match="language-model agents run with `admarket run"):
        sweep(build_config(**SMALL), {"llm_buyers": [False, True]}, [1], ["B"], out=out)
    assert list(tmp_path.iterdir()) == []


def test_the_console_prints_what_drives_c_written_off_as_money(tmp_path, capsys):
    """The drivers table's written_off is dollars, printed as the run command prints money
    ($1,491 or $12.34), not with the shares' four decimals (1,491.4300)."""
    grid = ["--grid", "ledger_read_failure=0,0.5"]
    tiny = ["--days", "1", "--buyers", "1", "--sellers", "1", "--seeds", "2"]
    args = ["sweep", *tiny, *grid, "--scenarios", "b,c", "--one-at-a-time"]
    assert main([*args, "--processes", "1", "--no-progress", "--out", str(tmp_path)]) == 0
    printed = capsys.readouterr().out.split("what drives C")[1].splitlines()[2:]
    drivers = query(tmp_path, "FROM drivers")
    assert len(printed) >= len(drivers)
    for line, value in zip(printed, drivers["written_off"], strict=False):
        assert usd_auto(value) in line.split() and f"{value:,.4f}" not in line, line


def test_the_console_prints_the_break_even_money_as_money(tmp_path, capsys):
    """The break-even table's dollar columns (publishers' net against A, written off) print
    as money ($1,491, -$4,496), not with the shares' three decimals (-4,495.607)."""
    tiny = ["--days", "1", "--buyers", "1", "--sellers", "1", "--seeds", "2"]
    args = ["sweep", *tiny, "--grid", "exchange_fee=0.1,0.3", "--scenarios", "a,c"]
    assert main([*args, "--processes", "1", "--no-progress", "--out", str(tmp_path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    header = next(i for i, line in enumerate(lines) if "net_to_publishers_diff" in line)
    table = query(tmp_path, "FROM break_even")
    printed = lines[header + 1 : header + 1 + len(table)]
    for line, row in zip(printed, table.itertuples(), strict=True):
        for value in (row.net_to_publishers_diff, row.written_off):
            assert usd_auto(value) in line.split() and f"{value:,.3f}" not in line, line


def test_the_sweep_csvs_flag_each_interval_end_cut_at_a_bound(tmp_path):
    """report.json says which interval ends were cut at a bound (``lo_cut``/``hi_cut``);
    drivers.csv and break_even.csv carry the same flags as columns, so a reader of the CSV
    knows an end at 0 is the bound, not an estimate. Each flag is the one the interval of
    the sweep's own runs gets when cut to the metric's range."""
    from admarket.report.drivers import _RANGE, DRIVER_METRICS
    from admarket.report.stats import mean_ci

    out = tmp_path / "cuts"
    args = ["sweep", "--days", "1", "--buyers", "2", "--sellers", "2", "--seeds", "2"]
    args += ["--grid", "ledger_read_failure=0,0.3", "--one-at-a-time", "--processes", "1"]
    assert main([*args, "--no-progress", "--out", str(out)]) == 0
    runs = pd.read_csv(out / "sweep.csv")
    drivers = pd.read_csv(out / "drivers.csv")
    be = pd.read_csv(out / "break_even.csv")
    metrics = [m for m, *_ in DRIVER_METRICS]
    for m in [*metrics, "written_off"]:
        assert {f"{m}_lo_cut", f"{m}_hi_cut"} <= set(drivers.columns), m
    assert {"written_off_lo_cut", "written_off_hi_cut"} <= set(be.columns)
    bounds = _RANGE | {"written_off": (0.0, float("inf"))}
    seen = False
    for table, key in ((drivers, "value"), (be, "ledger_read_failure")):
        for _, row in table.iterrows():
            at = runs[
                (runs["ledger_read_failure"] == row[key]) & (runs["scenario"] == row["scenario"])
            ]
            for m in metrics if table is drivers else ["written_off"]:
                ci = mean_ci(at[m].astype(float)).clipped(*bounds[m])
                assert (row[f"{m}_lo_cut"], row[f"{m}_hi_cut"]) == (ci.lo_cut, ci.hi_cut)
                seen |= ci.lo_cut
    assert seen  # two seeds: wide intervals, some cut at 0

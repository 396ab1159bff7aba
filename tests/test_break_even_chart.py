"""The sweep's break-even chart: a one-at-a-time sweep is drawn one row of panels per swept
parameter, over the slice where the others sit at base (its points vary one parameter each:
on one shared axis they all sat at the first parameter's base value); a cartesian sweep is
one row against the first parameter, a series per value of the others; either way the
figure has one legend, below the panels, not one per panel squeezing them."""

from __future__ import annotations

import re
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd
import pytest

import admarket.report.break_even as break_even_module
from admarket.cli import main
from admarket.outputs.store import query
from admarket.report.break_even import break_even_chart
from admarket.report.drivers import parameter_label
from admarket.report.sweep_values import value_text

TINY = ["--days", "1", "--buyers", "1", "--sellers", "1", "--seeds", "1"]
QUIET = ["--processes", "1", "--no-progress"]
# each grid holds its base value (decay_rate 0.02, verify_recalls true): a one-at-a-time
# sweep meets the base point under both parameters
GRID = ["--grid", "decay_rate=0.02,0.2", "--grid", "verify_recalls=true,false"]


@pytest.fixture
def panels(monkeypatch) -> list[tuple[str, str, list[str], list[str]]]:
    """Each panel drawn: (x parameter, metric, x values as text, series' other params)."""
    drawn = []
    real = break_even_module._panel

    def spy(ax, be, x_name, others, m):
        drawn.append((x_name, m, [value_text(v) for v in be[x_name]], list(others)))
        return real(ax, be, x_name, others, m)

    monkeypatch.setattr(break_even_module, "_panel", spy)
    return drawn


def _sweep(out: Path, *args: str) -> None:
    assert (
        main(["sweep", *TINY, *QUIET, *GRID, "--scenarios", "a,c", *args, "--out", str(out)]) == 0
    )
    assert (out / "charts" / "break_even.png").is_file()


def test_one_at_a_time_is_a_row_per_parameter_over_its_slice(tmp_path, panels, capsys):
    capsys.readouterr()
    _sweep(tmp_path / "oat", "--one-at-a-time")
    # the console's break-even table lists the base point once too
    assert len(re.findall(r"0\.020\s+true\s+C ", capsys.readouterr().out)) == 1
    # each row: its parameter's values, the base point once, never a point where the other
    # parameter moved
    assert [(x, m) for x, m, *_ in panels] == [
        ("decay_rate", "net_to_publishers"),
        ("decay_rate", "mean_goal_attainment"),
        ("verify_recalls", "net_to_publishers"),
        ("verify_recalls", "mean_goal_attainment"),
    ]
    assert sorted(panels[0][2]) == ["0.02", "0.2"]
    assert panels[2][2] == ["true", "false"]
    assert all(others == [] for *_, others in panels)
    # sweep.md's table lists the base point once too
    md = (tmp_path / "oat" / "sweep.md").read_text()
    # the base point is marked (base), as the drivers tables mark theirs; no other row is
    assert md.count("| 0.02 (base) | true (base) | C |") == 1
    assert md.count("| 0.2 | true | C |") == 1
    assert md.split("## What drives C")[0].count("(base) |") == 2
    assert "The base point, every swept parameter at its base value, is marked" in md


def test_a_cartesian_sweep_is_one_row_against_the_first_parameter(tmp_path, panels):
    _sweep(tmp_path / "cart")
    assert [(x, m) for x, m, *_ in panels] == [
        ("decay_rate", "net_to_publishers"),
        ("decay_rate", "mean_goal_attainment"),
    ]
    assert sorted(panels[0][2]) == ["0.02", "0.02", "0.2", "0.2"]  # a point per series
    assert panels[0][3] == ["verify_recalls"]


def _break_even(n_series: int) -> pd.DataFrame:
    """A break-even table of ``n_series`` C series (values of ``other``) at two fees."""
    rows = []
    for i in range(n_series):
        for fee in (0.1, 0.2):
            row = {"point": i, "exchange_fee": fee, "other": float(i), "scenario": "C"}
            for m in break_even_module.BREAK_EVEN:
                row |= {f"{m}_diff": 0.1 * i, f"{m}_lo": -1.0, f"{m}_hi": 1.0 + i}
            rows.append(row)
    return pd.DataFrame(rows)


@pytest.mark.parametrize("n_series", [1, 12])
def test_one_legend_below_the_panels_and_the_figure_grows_with_it(tmp_path, monkeypatch, n_series):
    figures = []
    monkeypatch.setattr(plt, "close", figures.append)  # keep the figure to look at it
    try:
        break_even_chart(_break_even(n_series), ["exchange_fee", "other"], tmp_path / "be.png")
        (fig,) = figures
        assert len(fig.legends) == 1 and all(ax.get_legend() is None for ax in fig.axes)
        assert len(fig.legends[0].get_texts()) == n_series  # each series once
        grown = fig.get_figheight()
    finally:
        for fig in figures:
            fig.clf()
    assert (tmp_path / "be.png").is_file()
    # twelve series take four legend rows of three: the panels keep their height
    assert grown == pytest.approx(0.6 + 3.6 + 0.2 * -(-n_series // 3))


def test_a_one_at_a_time_row_keeps_its_grid_order(tmp_path, panels):
    """buyer_rule's base value (iab) is met first under verify_recalls; its row still reads
    plan, iab as the grid gave them, in both charts."""
    out = tmp_path / "order"
    grid = ["--grid", "verify_recalls=true,false", "--grid", "buyer_rule=plan,iab"]
    args = ["sweep", *TINY, *QUIET, *grid, "--one-at-a-time", "--out", str(out)]
    assert main(args) == 0
    rows = {x: values for x, m, values, _ in panels if m == "net_to_publishers"}
    assert rows["buyer_rule"][:2] == ["plan", "plan"] and rows["buyer_rule"][-2:] == [
        "iab",
        "iab",
    ]
    assert list(dict.fromkeys(rows["verify_recalls"])) == ["true", "false"]
    drivers = query(out, "SELECT value FROM drivers WHERE parameter = 'buyer_rule'")
    assert list(dict.fromkeys(drivers["value"])) == ["plan", "iab"]


def test_the_chart_and_table_label_parameters_as_the_drivers_chart_does(tmp_path):
    """Axis labels, legend and sweep.md's table headers read "Exchange fee (share of
    spend)", as drivers.png does (drivers.parameter_label, from the config), not
    ``exchange_fee``."""
    be = _break_even(2).rename(columns={"other": "decay_rate"})
    params = ["exchange_fee", "decay_rate"]
    figures = []
    real = plt.close
    try:
        plt.close = figures.append  # keep the figure to look at it
        break_even_chart(be, params, tmp_path / "be.png")
    finally:
        plt.close = real
    (fig,) = figures
    fee, decay = (parameter_label(p) for p in params)
    assert fee != "exchange_fee" and decay != "decay_rate"
    assert {ax.get_xlabel() for ax in fig.axes} == {fee}
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert legend == [f"C ledger A2A, {decay} = 0.0", f"C ledger A2A, {decay} = 1.0"]
    fig.clf()
    verdicts = {f"{m}_vs_A": "no significant difference" for m in break_even_module.BREAK_EVEN}
    md = break_even_module.sweep_markdown(be.assign(seeds=2, **verdicts), params, 2)
    header = next(line for line in md.splitlines() if line.startswith("| "))
    assert header.startswith(f"| {fee} | {decay} | scenario |")


def _tidy_pairs(c_minus_a: dict[int, float]) -> pd.DataFrame:
    """A sweep's tidy rows at one point: A and C on each seed, C − A = ``c_minus_a[seed]``."""
    rows = []
    for seed, gap in c_minus_a.items():
        for s, v in (("A", 1.0), ("C", 1.0 + gap)):
            rows.append(
                {"point": 0, "exchange_fee": 0.1, "scenario": s, "seed": seed}
                | {m: v for m in break_even_module.BREAK_EVEN}
                | {"written_off": 0.0}
            )
    return pd.DataFrame(rows)


@pytest.mark.parametrize(
    ("gaps", "verdict", "shown", "hollow_drawn"),
    [
        ({1: 0.05}, "no verdict: 1 seed, no interval", "(n=1, no interval)", True),
        (
            {1: 0.05, 2: 0.05},
            "no verdict: the same on all 2 seeds, no interval",
            "(the same on all 2 seeds, no interval)",
            True,
        ),
        # three equal floats: their mean and std round off the value (std ~1e-17), which
        # read as an interval of some width and gave "beats A"
        (
            {1: 0.667, 2: 0.667, 3: 0.667},
            "no verdict: the same on all 3 seeds, no interval",
            "(the same on all 3 seeds, no interval)",
            True,
        ),
        (
            {1: 0.0, 2: 0.0, 3: 0.0},
            "no difference on any seed",
            "(no difference on any seed)",
            False,
        ),
        ({1: 0.04, 2: 0.05, 3: 0.06}, "beats A", "[+", False),
    ],
)
def test_beats_a_needs_an_interval_with_width(tmp_path, gaps, verdict, shown, hollow_drawn):
    """One seed, or seeds that all give the same difference, leave no interval to judge by:
    no "beats A" (it was "beats A (single seed…)", and a zero-width interval above zero
    was "beats A" outright), the table says why and the chart draws the point hollow. Zero
    on every seed is a verdict of its own: no difference on any seed."""
    be = break_even_module.break_even(_tidy_pairs(gaps), ["exchange_fee"])
    (row,) = be.to_dict("records")
    assert row["mean_goal_attainment_vs_A"] == verdict
    md = break_even_module.sweep_markdown(be, ["exchange_fee"], len(gaps))
    line = next(x for x in md.splitlines() if x.startswith("| 0.1 | C |"))
    assert shown in line and f"| {verdict} |" in line
    figures = []
    real = plt.close
    try:
        plt.close = figures.append  # keep the figure to look at it
        break_even_chart(be, ["exchange_fee"], tmp_path / "be.png")
    finally:
        plt.close = real
    (fig,) = figures
    title = fig.get_suptitle()
    hollow = [ln for ax in fig.axes for ln in ax.lines if ln.get_markerfacecolor() == "white"]
    assert hollow_drawn == bool(hollow)
    assert hollow_drawn == ("hollow: no interval, no verdict" in title)
    fig.clf()

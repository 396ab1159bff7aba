"""The report's charts as drawn: axis labels and limits, read from the figure each chart
builds (captured when the chart closes it), never from pixels."""

from __future__ import annotations

import pandas as pd
import pytest

from admarket import build_config
from admarket.batch import compare
from admarket.report import charts
from admarket.report.data import ReportData, load
from admarket.report.drivers import driver_table, drivers_chart, drivers_markdown
from admarket.report.glossary import label
from admarket.viz.params import CONTROLS

SMALL = {"n_buyers": 3, "n_sellers": 3, "campaigns_per_buyer": 4, "days": 3, "seed": 11}


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> ReportData:
    """A, B, C × 2 seeds on a small market, as the report reads it."""
    out = tmp_path_factory.mktemp("cmp")
    compare(build_config(**SMALL), [11, 12], processes=1, out=out)
    return load(out / "admarket.duckdb")


@pytest.fixture
def figures(monkeypatch) -> list:
    """Every figure a chart closes (after drawing and saving it), in order."""
    closed: list = []
    plt = charts.pyplot()
    real = plt.close

    def keep(fig=None):
        closed.append(fig)
        return real(fig)

    monkeypatch.setattr(plt, "close", keep)
    return closed


def test_the_goal_chart_names_what_each_of_its_series_is_a_share_of(data, figures, tmp_path):
    """The chart shows hit rates (of campaigns), the fill rate (of avails) and a score:
    the y label covers all three, and each group's tick says which it is."""
    charts.goal_achievement(data, tmp_path)
    (ax,) = figures[0].axes
    ylabel = ax.get_ylabel()
    assert "campaigns" in ylabel and "avails" in ylabel and "score" in ylabel
    ticks = [t.get_text().replace("\n", " ") for t in ax.get_xticklabels()]
    assert any(label("fill_rate") in t and "share of avails" in t for t in ticks), ticks
    assert sum("share of campaigns" in t for t in ticks) == 3, ticks
    assert any(label("mean_goal_attainment") in t and "(score)" in t for t in ticks), ticks
    assert (tmp_path / "goal_achievement.png").is_file()


def _tidy() -> pd.DataFrame:
    """A one-at-a-time sweep's rows: decay_rate and ledger_read_failure each varied alone
    (base 0.02 and 0), B and C on two seeds."""
    rows = []
    points = [(0.02, 0.0), (0.1, 0.0), (0.02, 0.05)]
    for point, (decay, read) in enumerate(points):
        for scen in ("B", "C"):
            for seed in (1, 2):
                rows.append(
                    {
                        "point": point,
                        "decay_rate": decay,
                        "ledger_read_failure": read,
                        "scenario": scen,
                        "seed": seed,
                        "wrong_fact_share": 0.01 * seed if scen == "B" else 0.0,
                        "disputes": float(seed),
                        "mean_goal_attainment": 0.6 + 0.01 * seed,
                        "written_off": 10.0 * seed,
                    }
                )
    return pd.DataFrame(rows)


def test_the_drivers_chart_labels_each_parameter_as_the_explorer_does(figures, tmp_path):
    """Its x axes read "Decay rate (per day)", not ``decay_rate``: the config's label and
    unit, one source with the explorer."""
    params = ["decay_rate", "ledger_read_failure"]
    base = {"decay_rate": 0.02, "ledger_read_failure": 0.0}
    table = driver_table(_tidy(), params, base)
    drivers_chart(table, tmp_path / "drivers.png")
    xlabels = {ax.get_xlabel() for ax in figures[0].axes}
    assert xlabels == {"Decay rate (per day)", "Ledger read failure (per query)"}
    assert {CONTROLS[p].label for p in params} == {x.split(" (")[0] for x in xlabels}
    md = drivers_markdown(table, base)
    assert "### Decay rate (`decay_rate`)" in md


def test_the_drivers_tables_say_which_value_is_the_base(tmp_path):
    """A one-at-a-time sweep whose grids hold the base values lists the base point under
    each parameter: not a duplicate (the runs are run once) but the reference each table
    reads its other values against, which the table marks and the text says."""
    params = ["decay_rate", "ledger_read_failure"]
    base = {"decay_rate": 0.02, "ledger_read_failure": 0.0}
    md = drivers_markdown(driver_table(_tidy(), params, base), base)
    decay, read = md.split("### Decay rate")[1].split("### Ledger read failure")
    for s in ("B", "C"):
        assert f"| 0.02 (base) | {s} |" in decay and f"| 0.1 | {s} |" in decay
        assert f"| 0.0 (base) | {s} |" in read and f"| 0.05 | {s} |" in read
    assert md.count("(base) |") == 4
    # C's wrong-fact share is 0 on every seed: the number alone, not "0.00 [0.00, 0.00]"
    assert "| 0.02 (base) | C | 0.00 | " in decay and "[0.00, 0.00]" not in md
    assert "the reference point its other values are read against" in md


def test_the_context_rot_chart_starts_both_axes_at_zero(data, figures, tmp_path):
    """Goal attainment drawn from 0 (its axis started near the lowest value, which made a
    drift of a few hundredths look like a collapse) over its whole 0–1 range; the share of
    wrong claims from 0 too."""
    charts.context_rot(data, tmp_path)
    attainment, wrong = figures[0].axes[:2]
    assert attainment.get_ylim() == (0.0, 1.05)
    assert wrong.get_ylim()[0] == 0.0


def test_the_context_rot_chart_ticks_whole_days(data, figures, tmp_path):
    """A 3-day run's day axis reads 1, 2, 3: no tick between days (1.5, 2.5)."""
    charts.context_rot(data, tmp_path)
    for ax in figures[0].axes:
        lo, hi = ax.get_xlim()
        ticks = [t for t in ax.get_xticks() if lo <= t <= hi]
        assert ticks and all(float(t).is_integer() for t in ticks), ticks


def _cut_marks(ax) -> list[tuple[str, float, float]]:
    """The cut-end marks drawn on ``ax``: (marker, x, y) of each."""
    return [
        (line.get_marker(), float(x), float(y))
        for line in ax.get_lines()
        if line.get_label() == "_cut"
        for x, y in zip(line.get_xdata(), line.get_ydata(), strict=True)
    ]


def test_the_goal_chart_marks_each_interval_end_cut_at_a_bound(data, figures, tmp_path):
    """A hit rate whose interval passed 0 (or 1) is drawn to the bound: that end carries a
    ▼ (▲) and the title says what the mark means; an uncut end carries none."""
    charts.goal_achievement(data, tmp_path)
    (ax,) = figures[0].axes
    cis = [data.ci(s, c) for s in data.scenarios for c in ("hit_imp", "hit_cpm", "fill_rate")]
    cut = [c.clipped(0.0, 1.0) for c in cis]
    assert any(c.lo_cut for c in cut)  # (the small market has some)
    marks = _cut_marks(ax)
    assert {(m, y) for m, _, y in marks} <= {("v", 0.0), ("^", 1.0)}
    lows = sum(c.lo_cut for c in cut)
    assert len([m for m in marks if m[0] == "v"]) >= lows > 0
    assert "▼ interval cut at 0" in ax.get_title()


def test_the_drivers_chart_marks_interval_ends_cut_at_zero(figures, tmp_path):
    """B's wrong-fact share on two seeds has an interval passing 0%, cut there: a ▼ at 0
    on that end and the note in the title; the paired C − B gap has no bound, no mark."""
    params = ["decay_rate", "ledger_read_failure"]
    table = driver_table(_tidy(), params, {"decay_rate": 0.02, "ledger_read_failure": 0.0})
    assert (table["wrong_fact_share_lo"] == 0).any()
    drivers_chart(table, tmp_path / "drivers.png")
    fig = figures[0]
    share, _, paired = fig.axes[:3]
    assert ("v", 0.02, 0.0) in {(m, round(x, 6), y) for m, x, y in _cut_marks(share)}
    assert _cut_marks(paired) == []
    assert "▼ interval cut at 0" in fig.get_suptitle()
    # one legend, the figure's, outside every panel (inside one it could cover a point),
    # naming the scenarios and not the marks
    assert all(ax.get_legend() is None for ax in fig.axes)
    (legend,) = fig.legends
    assert [t.get_text() for t in legend.texts] == ["B pure A2A", "C ledger A2A"]
    fig.canvas.draw()
    box = legend.get_window_extent()
    assert not any(box.overlaps(ax.get_window_extent()) for ax in fig.axes)
    # the ▼ is drawn above every dot and bar: a mean at 0 cannot hide it
    for ax in fig.axes:
        marks = [ln for ln in ax.lines if ln.get_label() == "_cut"]
        rest = [a for a in [*ax.lines, *ax.collections] if a.get_label() != "_cut"]
        assert all(m.get_zorder() > a.get_zorder() for m in marks for a in rest)


def test_the_heatmap_and_bands_say_where_an_interval_was_cut(data, figures, tmp_path):
    """The heatmap stars a cell's interval end cut at 0% (and says what * means); the
    context-rot band that meets 0% says it was cut there."""
    charts.hallucination_heatmap(data, tmp_path)
    ax = figures[0].axes[0]
    cells = [t.get_text() for t in ax.texts]
    assert any("[0.0*–" in c for c in cells), cells
    assert "* interval end cut at 0% or 100%" in ax.get_title()
    charts.context_rot(data, tmp_path)
    rot = figures[1].axes[1]
    assert "band cut at 0%" in rot.get_title()


def test_the_drivers_tables_say_a_one_seed_value_rests_on_one_seed():
    """With one seed there is no interval: each value says "n=1, no interval", as the
    written-off column and the rest of the report do — not a bare number that reads like a
    measured constant."""
    params = ["decay_rate", "ledger_read_failure"]
    base = {"decay_rate": 0.02, "ledger_read_failure": 0.0}
    one = _tidy().query("seed == 1")
    md = drivers_markdown(driver_table(one, params, base), base)
    row = next(x for x in md.splitlines() if x.startswith("| 0.1 | B |"))
    assert row == (
        "| 0.1 | B | 1.00 (n=1, no interval) | 1.0 (n=1, no interval) | 10 (n=1, no interval) "
        "| 0.610 (n=1, no interval) | — | — |"
    )
    row = next(x for x in md.splitlines() if x.startswith("| 0.1 | C |"))
    assert "| 0.00 (n=1, no interval) |" in row and "| +0.0000 (n=1, no interval) |" in row
    # two seeds: intervals, and no "n=1" anywhere
    assert "n=1" not in drivers_markdown(driver_table(_tidy(), params, base), base)


def test_an_integer_parameters_base_is_marked_when_its_column_holds_floats():
    """The main job's ledger sweep lists ledger_flush_hours' base (1) under a value column
    that also holds float parameters, so it reads 1.0: compared as text, "1.0" was not the
    base "1" and the flush table had no base row marked."""
    tidy = _tidy().rename(columns={"decay_rate": "ledger_flush_hours"})
    tidy["ledger_flush_hours"] = tidy["ledger_flush_hours"].map({0.02: 1, 0.1: 24})
    params = ["ledger_flush_hours", "ledger_read_failure"]
    base = {"ledger_flush_hours": 1, "ledger_read_failure": 0.0}
    md = drivers_markdown(driver_table(tidy, params, base), base)
    flush = md.split("### Ledger flush hours")[1].split("### Ledger read failure")[0]
    assert "| 1.0 (base) | B |" in flush and "| 24.0 | B |" in flush
    assert md.count("(base) |") == 4

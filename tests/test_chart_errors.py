"""Error bars of the report's charts: never negative, whatever the interval."""

from __future__ import annotations

import math

import numpy as np

from admarket.cli import main
from admarket.report.chart_parts import error_bars
from admarket.report.stats import CI


def test_error_bars_start_from_the_bar_as_drawn_and_are_never_negative():
    """An interval cut to ``lo`` above a mean below it (a mean of 0 on a log axis) must not
    make a negative bar length (matplotlib refuses the chart); a bar drawn at its mean has
    its interval measured from there, the cut part gone."""
    cis = [CI(0.0, -0.2, 0.4, 2), CI(1.0, 0.5, 1.5, 3), CI(2.0, math.nan, math.nan, 1)]
    err = error_bars(cis, lo=1e-9)
    assert (err >= 0).all()
    np.testing.assert_allclose(err[:, 0], [0.0, 0.4], rtol=0, atol=1e-12)
    np.testing.assert_allclose(err[:, 1], [0.5, 0.5])
    np.testing.assert_allclose(err[:, 2], [0.0, 0.0])
    # a negative mean on an axis cut at 0 (net to publishers): up from the mean to hi
    np.testing.assert_allclose(error_bars([CI(-1.0, -3.0, 2.0, 4)], lo=0.0)[:, 0], [0.0, 3.0])


def test_a_compare_where_nothing_was_delivered_on_some_seed_publishes(tmp_path):
    """One buyer with two campaigns and one seller, one day: on one seed a scenario
    delivers nothing, so a per-1,000-impressions mean is 0 with an interval below it (the
    ledger-cost chart failed and nothing was published)."""
    out = tmp_path / "c"
    args = ["compare", "--buyers", "1", "--sellers", "1", "--campaigns-per-buyer", "2"]
    args += ["--days", "1", "--seeds", "2", "--seed-start", "1", "--no-progress"]
    assert main([*args, "--out", str(out), "--processes", "1"]) == 0
    assert (out / "charts" / "cost_per_mille.png").is_file()

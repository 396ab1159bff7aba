"""Numbers formatted for people: money without scientific notation, ratios in words, no
interval on a constant, "not significant" on every difference whose interval spans zero."""

from __future__ import annotations

import math

import pandas as pd
from hypothesis import given
from hypothesis import strategies as st

from admarket.batch.cluster import Cluster
from admarket.money import (
    per_mille,
    plain,
    plural,
    ratio,
    times_cheaper,
    usd,
    usd_auto,
    usd_short,
)
from admarket.report.break_even import break_even, sweep_markdown
from admarket.report.drivers import interval_text
from admarket.report.stats import mean_ci
from admarket.report.wording import count, money, money_diff, pct, pp, score


def test_money_has_separators_and_tiny_amounts_stay_readable():
    assert usd(2087004.2) == "$2,087,004.20"
    assert usd(1.61e-5) == "$0.000016"
    assert usd(-3.2) == "-$3.20"
    assert usd(0.4, 0) == "$0.40"  # a non-zero amount never rounds to $0
    assert per_mille(1.61e-5) == "$0.000016 per 1,000 impressions"
    assert per_mille(1.5804) == "$1.58 per 1,000 impressions"
    assert usd_auto(0) == "$0" and usd_auto(1234.4) == "$1,234" and usd_auto(3.321) == "$3.32"
    assert usd_short(-100_000) == "-$100k" and usd_short(2_500_000) == "$2.5M"


def test_a_count_of_one_is_singular():
    assert plural(1, "day") == "1 day" and plural(2, "day") == "2 days"
    assert plural(0, "run") == "0 runs" and plural(1, "finished run") == "1 finished run"
    assert (
        plural(1, "entry", "entries") == "1 entry" and plural(3, "entry", "entries") == "3 entries"
    )
    assert (
        plural(1234, "fact", grouped=True) == "1,234 facts" and plural(1234, "fact") == "1234 facts"
    )
    assert plural(1, "question", grouped=True) == "1 question"


def test_a_cluster_and_a_sweep_of_one_are_singular():
    assert Cluster(local_workers=1).describe() == "a LocalCluster of 1 worker"
    one = {"point": 0, "exchange_fee": 0.1, "seed": 1, "mean_goal_attainment": 0.5}
    tidy = pd.DataFrame(
        [{**one, "scenario": s, "net_to_publishers": v} for s, v in (("A", 1.0), ("B", 2.0))]
    )
    be = break_even(tidy, ["exchange_fee"])
    assert "(1 seed per point)" in sweep_markdown(be, ["exchange_fee"], 1)


def test_ratios_in_words():
    assert ratio(97_912.3) == "about 98,000×"
    assert ratio(99_500) == "about 100,000×"
    assert times_cheaper(1.58, 1.61e-5) == "about 98,000× cheaper"
    assert times_cheaper(1.0, 0.0).startswith("n/a")


@given(st.floats(min_value=-1e12, max_value=1e12, allow_nan=False))
def test_no_scientific_notation_anywhere(x):
    for text in (usd(x), usd_auto(x), plain(x), per_mille(abs(x))):
        assert "e+" not in text and "e-" not in text, text


def test_query_cells_are_plain():
    assert plain(2.087004e07) == "20,870,040"
    assert plain(14.99981) == "14.9998"
    assert plain(131.0) == "131"
    assert plain(1.6e-5) == "0.000016"
    assert plain(float("nan")) == ""


def test_a_constant_has_no_interval():
    for text in (
        count(mean_ci([50, 50, 50])),
        pct(mean_ci([0.15, 0.15, 0.1500001])),
        money(mean_ci([3.32, 3.32, 3.32])),
    ):
        assert "[95% CI" not in text, text
    assert count(mean_ci([50, 50, 50])) == "50"
    assert pct(mean_ci([0.15, 0.15, 0.1500001])) == "15.0%"


def test_a_difference_spanning_zero_is_not_significant():
    spans = mean_ci([-6825.0, 20704.0, 3000.0])
    assert spans.spans_zero
    assert money_diff(spans).endswith("(not significant)")
    assert pp(mean_ci([-0.01, 0.02, 0.005])).endswith("(not significant)")
    clear = mean_ci([5.0, 6.0, 7.0])
    assert "not significant" not in money_diff(clear)
    assert money_diff(mean_ci([0.0, 0.0, 0.0])) == "$0 (no difference on any seed)"
    # a near-zero difference that rounds to a constant is still marked
    assert pp(mean_ci([-1e-6, 1e-6, 0.0])).endswith("(not significant)")


def test_single_seed_and_bounded_quantities():
    assert pct(mean_ci([0.4])) == "40.0% (n=1, no interval)"
    # a share's interval cannot leave [0, 100%], a score's [0, 1], a count's [0, ∞)
    assert "-" not in pct(mean_ci([0.0, 0.01, 0.3]))
    hi = score(mean_ci([0.9, 1.0, 1.0])).split(", ")[1].rstrip("]")
    assert hi == "1.000 (clipped)"  # cut at 1, and marked so
    assert "-" not in count(mean_ci([0.0, 0.0, 900.0]))
    assert not math.isnan(mean_ci([1.0, 2.0]).lo)


def test_the_attainment_table_keeps_each_score_interval_within_0_and_1():
    """Every goal-attainment component is 0–1; so is its interval in the report's table
    (the budget column read "0.995 [95% CI 0.979, 1.011]")."""
    from admarket.market.kpis import COMPONENTS
    from admarket.report.data import ReportData
    from admarket.report.market_sections import attainment_blocks

    budget = [1.0, 1.0, 0.985, 1.0]
    rows = {"scenario": ["B"] * 4, "seed": [1, 2, 3, 4], "at_risk_share": [0.2] * 4}
    rows |= {f"mean_{k}_score": budget for k in COMPONENTS}
    rows["mean_goal_attainment"] = budget
    empty = pd.DataFrame()
    data = ReportData(empty, pd.DataFrame(rows), empty, empty, empty, empty)
    table = dict(attainment_blocks(data))["table"]
    cells = table[1][0][2:]
    assert len(cells) == len(COMPONENTS) + 1
    for cell in cells:
        assert cell.endswith(", 1.000 (clipped)]"), cell


def test_an_interval_cut_at_a_bound_says_so():
    """A share with most seeds at 0 (C's wrong facts): the symmetric interval passes below
    0% and is cut there; the cut end is the bound, not an estimate, and is marked so (it
    read "0.0%" as if the data put it there). An end inside the range is not marked, a
    cut end stays marked when cut again, and a share's end cut at 100% is marked too."""
    skewed = mean_ci([0.0, 0.0, 0.0, 0.02])
    assert pct(skewed) == "0.5% [95% CI 0.0% (clipped), 2.1%]"
    assert pct(mean_ci([0.2, 0.3, 0.25])) == "25.0% [95% CI 12.6%, 37.4%]"
    assert "(clipped)" not in pct(mean_ci([0.0, 0.0, 0.0]))  # zero on every seed: a constant
    twice = skewed.clipped(0.0, math.inf).clipped()
    assert twice.lo == 0.0 and twice.lo_cut and not twice.hi_cut
    assert pct(mean_ci([1.0, 1.0, 0.9])).endswith(", 100.0% (clipped)]")
    assert count(mean_ci([0.0, 0.0, 900.0])) == "300 [95% CI 0 (clipped), 1,591]"
    # the sweep's stored tables keep only the cut ends: an end at the bound with the mean
    # off it was cut
    assert interval_text(0.005, 0.0, 0.021, ".1f", (0.0, 1.0), 100) == "0.5 [0.0 (clipped), 2.1]"
    assert interval_text(0.0, 0.0, 0.0, ".1f", (0.0, 1.0)) == "0.0 [0.0, 0.0]"

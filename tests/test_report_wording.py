"""Report wording that says what a number is: who keeps a fee saving, which figures are set
by inputs, what a count rule and a trend test measure (review of the report's honesty)."""

from __future__ import annotations

import json

import pytest

from admarket import build_config
from admarket.batch import compare
from admarket.report.data import load

SMALL = {"n_buyers": 3, "n_sellers": 3, "campaigns_per_buyer": 4, "days": 3, "seed": 11}


@pytest.fixture(scope="module")
def compared(tmp_path_factory):
    """A, B, C × 2 seeds on a small market at the default fees, with its report."""
    out = tmp_path_factory.mktemp("cmp")
    compare(build_config(**SMALL), [11, 12], processes=1, out=out)
    return out


def _md(out) -> str:
    return (out / "report.md").read_text()


def _finding(out, key: str) -> dict:
    data = json.loads((out / "report.json").read_text())
    return next(f for f in data["findings"] if f["key"] == key)


def test_fee_savings_say_who_keeps_them(compared):
    """At the default fees every fee saved, A → B or C, is a sell-side fee (the exchange fee
    off the clearing price; B's and C's agent fees off the seller's share), yet the report
    called the saving "what a buyer does not pay in fees". It now splits it: buyers keep $0,
    sellers the rest, in the text, the summary, the section and report.json."""
    md = _md(compared)
    assert "buyer does not pay" not in md and "a buyer does not pay" not in md.lower()
    fee = _finding(compared, "fee_savings")
    for s in ("B", "C"):
        per = fee["values"][f"{s}_savings_per_100k"]["mean"]
        assert fee["values"][f"{s}_savings_buy_side_per_100k"] == 0.0
        assert fee["values"][f"{s}_savings_sell_side_per_100k"] == pytest.approx(per)
        assert f"buyers keep $0, sellers keep ${per:,.0f}" in fee["text"]
    assert "sellers keep" in md.split("## Fee savings per $100K of spend")[1].split("##")[0]
    # the take-rate text lists A's whole stack, sell-side ad tech included
    assert "sell-side ad tech" in _finding(compared, "take_rate")["text"]


def test_buy_side_fees_saved_stay_with_buyers(compared):
    """With a buy-side fee in A's stack, that part of the saving is the buyers'."""
    d = load(compared / "admarket.duckdb")
    d.configs["A"] = {**d.configs["A"], "dsp_fee": 0.05, "adtech_fee": 0.03}
    from admarket.report.savings import savings, savings_sides, sides_text

    buy, sell = savings_sides(d, "C")
    assert buy == pytest.approx(8_000.0)
    assert buy + sell == pytest.approx(savings(d, "C")[0].mean)
    assert sides_text(d, "C").startswith("buyers keep $8,000, sellers keep $")


def test_caught_before_use_is_labelled_as_set_by_ledger_read_failure(compared):
    """C's share of fabrications caught before use is about 1 − ledger_read_failure and B's
    0% holds by construction, yet the report called it "the outcome that differs by
    scenario". It now names the input, labels the finding as following from assumptions,
    and lists ledger_read_failure among what it depends on."""
    det = _finding(compared, "detection")
    assert "outcome that differs by scenario" not in det["text"]
    assert "about 1 − ledger_read_failure" in det["text"]
    assert "0% by construction" in det["text"].split("B: ")[1].split("; C: ")[0]
    assert det["label"] == "follows from an assumption"
    assert "ledger_read_failure" in det["depends_on"]
    assert "ledger_read_failure" in det["headline"]
    glossary = _md(compared).split("## Glossary")[1]
    row = next(line for line in glossary.splitlines() if line.startswith("| caught before use"))
    assert "ledger_read_failure" in row and "by construction" in row
    # a recall is checked only where the ledger is not behind on the fact, so later sealing
    # and lost writes lower the share too: the finding depends on them and says so
    assert {"ledger_flush_hours", "ledger_write_failure"} <= set(det["depends_on"])
    assert "ledger_flush_hours" in det["text"] and "ledger_flush_hours" in row


def test_undelivered_pg_impressions_are_not_called_a_cost_of_rot(compared):
    """PG impressions go undelivered with every memory mechanism off too (the no-rot preset
    leaves 39,000 / 24,000 / 0 on seeds 42–44), yet the report listed them under "what
    acting on lost or fabricated facts cost". They are now stated as undelivered PG
    impressions, with a note that they occur without any rot."""
    text = _finding(compared, "wrong_facts")["text"]
    assert "What acting on lost or fabricated facts cost" not in text
    assert "(PG) impressions undelivered when their deals closed" in text
    assert "occur without any memory loss too" in text
    glossary = _md(compared).split("## Glossary")[1]
    row = next(ln for ln in glossary.splitlines() if ln.startswith("| guaranteed impressions"))
    assert "no-rot" in row


def test_count_rule_is_worded_as_the_model_bills(compared):
    """Counts differ on nearly every deal-day; count_disputes counts only gaps beyond
    count_tolerance, and the bill is then the buyer's count ÷ (1 − tolerance), yet the report
    said the counts "differed and the bill was cut to the lower count"."""
    text = _finding(compared, "ledger_drivers")["text"]
    assert "cut to the lower count" not in text
    assert "more than count_tolerance (0.1) below the publisher's" in text
    assert "the buyer's count ÷ (1 − count_tolerance)" in text


def test_trends_are_of_goal_attainment_to_date_and_say_what_was_tested(compared):
    """'Daily' goal attainment is a score to date (pacing a running average, an overspend
    zeroing the budget component for good); "B's performance degrades over time — holds"
    rested on B falling behind C while B's own trend may be flat; "C stays stable — holds"
    meant only that no significant decline was found. The report now says "goal attainment
    to date", states the B hypothesis as the gap it tests, and gives C's passing verdict as
    "no significant decline found (not evidence of stability)"."""
    md = _md(compared)
    # the store's column keeps its name; the chart's title is pinned by test_compare
    rest = md.replace("`daily_goal_attainment`", "").replace("![Daily goal attainment over", "")
    assert "daily goal attainment" not in rest.lower()
    glossary = md.split("## Glossary")[1]
    row = next(ln for ln in glossary.splitlines() if "`daily_goal_attainment`" in ln)
    assert row.startswith("| goal attainment to date |") and "running average" in row
    assert "goal attainment to date" in _finding(compared, "context_rot")["text"]
    data = json.loads((compared / "report.json").read_text())
    hyps = {h["key"]: h for h in data["conclusion"]}
    assert hyps["B_degrades"]["claim"].startswith("B falls behind C over time")
    assert "B's own trend is not tested" in hyps["B_degrades"]["rule"]
    assert hyps["C_stable"]["verdict"] != "holds"
    assert "not stability" in hyps["C_stable"]["rule"]


def test_c_stable_never_reads_holds():
    """The rule passes on any interval not wholly below zero; the verdict says just that."""
    from admarket.report.conclusion import FAILS, NO_DECLINE, _trend_verdict
    from admarket.report.stats import mean_ci

    assert _trend_verdict(mean_ci([-0.01, 0.0, 0.012]), False) == NO_DECLINE
    assert _trend_verdict(mean_ci([0.01, 0.011, 0.012]), False) == NO_DECLINE
    assert _trend_verdict(mean_ci([-0.01, -0.011, -0.012]), False) == FAILS
    assert NO_DECLINE == "no significant decline found (not evidence of stability)"


def test_at_risk_share_is_labelled_an_input(compared):
    """The at-risk share is 50% by construction at target_tightness 0, yet it sat among the
    goal-attainment outcomes with an interval as if measured. Its column now says it is an
    input set by target_tightness, and the note beneath says why."""
    section = _md(compared).split("## Goal attainment by component")[1].split("\n## ")[0]
    header = next(ln for ln in section.splitlines() if ln.startswith("| Scenario"))
    assert "At risk (input: set by target_tightness)" in header
    assert "set by target_tightness (an input, here 0.0)" in section
    assert "by construction" in section

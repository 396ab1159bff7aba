"""What the explorer draws: the feed in words (de-duplicated, timestamped, dollars), the
charts' rows and legends (complete; panels that do not apply say so), the graph's marks."""

from __future__ import annotations

import json
import re

import pytest

from admarket import MarketConfig
from admarket.config import FEE_FIELDS, from_mapping, load_preset
from admarket.money import usd_auto
from admarket.viz.charts import (
    MONEY_LABEL,
    PANELS,
    legend,
    not_applicable,
    panel_rows,
    panel_spec,
)
from admarket.viz.feed import FEE_NAMES, fact_in_words, feed_html, feed_lines, scoreboard_rows
from admarket.viz.graph import (
    busiest_edge,
    graph_data,
    graph_legend,
    graph_shape,
    graph_spec,
    memory_rows,
)
from admarket.viz.html import edge_caption
from admarket.viz.info import GLOSSARY, TRY, info_html
from admarket.viz.session import Session, Settings
from admarket.viz.stage import _scoreboard
from admarket.viz.vega import encode

ROT = MarketConfig(
    n_buyers=4, n_sellers=4, campaigns_per_buyer=4, days=6, hallucination_rate=0.3,
    restart_rate=0.1,
)  # fmt: skip


@pytest.fixture(scope="module")
def finished() -> Session:
    s = Session(Settings(ROT, ("A", "B", "C"), seeds=2))
    s.advance_to(s.total)
    return s


def test_feed_lines_are_unique_timestamped_and_in_dollars(finished: Session) -> None:
    m, w = finished.markets["B"], finished.watches["B"]
    lines = feed_lines(m, w, 200)
    assert len(lines) >= 50
    keys = [(line.step, line.html) for line in lines]
    assert len(keys) == len(set(keys)), "a line repeats within an hour"
    assert [line.step for line in lines] == sorted((line.step for line in lines), reverse=True)
    html = feed_html(m, lines)
    stamps = re.findall(r"day (\d+), (\d\d):00", html)
    assert stamps and all(1 <= int(d) <= ROT.days and int(h) < 24 for d, h in stamps)
    assert "day 7" not in html  # never a day past the end
    assert "e+0" not in html and ":price" not in html  # numbers and facts in words
    assert "$" in html and "CPM" in html
    assert any(line.count > 1 for line in lines) or len(set(keys)) == len(keys)
    assert any(line.kind == "wrong" for line in lines)


def test_a_feed_tells_the_exchanges_days(finished: Session) -> None:
    m, w = finished.markets["A"], finished.watches["A"]
    lines = feed_lines(m, w, 50)
    days = [line for line in lines if line.kind == "exchange"]
    assert len(days) == ROT.days
    text = " ".join(line.html for line in days)
    assert "auction lots" in text and "in fees" in text and "publishers received" in text
    total = sum(t.auction_lots for t in w.days)
    assert total == m.events.counts["auction_wins"]


def test_every_fee_is_named_in_words() -> None:
    # isba-pwc-2020's sell-side fee once reached the feed as "sell_adtech_fee"
    assert set(FEE_NAMES) == set(FEE_FIELDS)
    assert len(set(FEE_NAMES.values())) == len(FEE_NAMES)
    assert all("_" not in name for name in FEE_NAMES.values())
    s = Session(Settings(load_preset("isba-pwc-2020", ROT), ("A",)))
    s.advance_to(2 * s.config.steps_per_day)
    days = [x.html for x in feed_lines(s.markets["A"], s.watches["A"], 50) if x.kind == "exchange"]
    text = " ".join(days)
    assert "sell-side ad-tech fees $" in text and "buy-side ad-tech fees $" in text
    assert not any(field in text for field in FEE_FIELDS), text


def test_facts_are_named_in_words() -> None:
    assert fact_in_words("deal:133:price") == "the price (CPM) of deal 133"
    assert fact_in_words("fill:3:1") == "how well seller 1 has delivered to buyer 3 (fill rate)"
    names = {"seller-1": "Daily Planet"}
    assert "how well Daily Planet has" in fact_in_words("fill:3:1", lambda n: names.get(n, n))
    assert fact_in_words("unknown:thing") == "unknown thing"
    assert fact_in_words("avail:4:1") == "the lots product 4 can still sell over 1 day"
    assert fact_in_words("avail:4:3.0").endswith("over 3 days")
    assert fact_in_words("avail:4:2.5").endswith("over 2.5 days")


def test_scoreboard_says_na_where_a_number_does_not_apply(finished: Session) -> None:
    rows = dict(scoreboard_rows(finished.markets))
    assert rows["facts lost"][0] == "n/a" and rows["facts lost"][1] != "n/a"
    assert rows["ledger cost"][:2] == ["n/a", "n/a"] and rows["ledger cost"][2].startswith("$")
    assert rows["auction lots cleared"][0] != "n/a"


def test_scoreboard_leaves_out_a_share_of_nothing_and_a_score_not_taken() -> None:
    # "take rate 0.0%" before any spend and "goal attainment 0.0%" before the first close
    # were read as results; the charts draw no line there.
    s = Session(Settings(ROT, ("A", "B", "C")))
    seen = set()
    for step in (0, 1, s.config.steps_per_day - 1, s.config.steps_per_day):
        s.advance_to(step)
        rows = dict(scoreboard_rows(s.markets))
        closed = step >= s.config.steps_per_day
        for i, m in enumerate(s.markets.values()):
            spent = m.datacollector.model_vars["gross_spend"][-1] > 0
            seen.add(spent)
            assert (rows["take rate"][i] != "–") == spent, (step, i, rows["take rate"])
            assert (rows["goal attainment (last close)"][i] != "–") == closed, (step, i)
    assert seen == {False, True}  # both cases were met
    assert all(v.endswith("%") for v in rows["take rate"] + rows["goal attainment (last close)"])


def test_scoreboard_says_which_seed_it_shows(finished: Session) -> None:
    # With several seeds the scoreboard showed the first seed's numbers unlabelled.
    first, *others = finished.settings.seed_list()
    assert others and all(m.config.seed == first for m in finished.markets.values())
    assert f"so far, seed {first} (first of {1 + len(others)})</th>" in _scoreboard(finished)
    one = Session(Settings(ROT, ("B",)))
    assert "so far</th>" in _scoreboard(one)


@pytest.mark.parametrize("by_scenario", [False, True])
def test_chart_rows_match_the_legend_and_encode_as_json(
    finished: Session, by_scenario: bool
) -> None:
    scenarios = ("A", "B", "C") if by_scenario else ("B",)
    runs = {s: finished.runs[s] for s in scenarios}
    for panel in PANELS:
        items = legend(panel, scenarios, by_scenario)
        blocks = panel_rows(panel, runs, by_scenario)
        assert [b["k"] for b in blocks] == [i.key for i in items]  # legend complete, exact
        for b in blocks:
            assert len(b["x"]) == len(b["v"]) == len(b["lo"]) == len(b["hi"]) == b["__n"]
            assert b["x"][-1] == ROT.days
            assert all(lo is None or lo <= hi for lo, hi in zip(b["lo"], b["hi"], strict=True))
        json.loads(encode({"rows": blocks}))  # strict JSON: no NaN
        spec = panel_spec(panel, items, ROT.days, True, dark=False)
        sizes = re.findall(r'"(?:\w*[fF]ontSize)": (\d+)', json.dumps(spec))
        assert sizes and all(int(s) >= 12 for s in sizes)


def test_y_axes_label_counts_money_and_shares_without_si_prefixes() -> None:
    # An SI prefix misstates small values: $0.10 read "$100m", 0.8 disputes "800m".
    axes = {}
    for p in PANELS:
        spec = panel_spec(p, legend(p, ("C",), False), 6, False, False)
        axes[p.key] = spec["layer"][-1]["encoding"]["y"]["axis"]
    for key in ("facts", "restarts", "wrong", "disputes"):  # whole numbers, whole steps
        assert axes[key]["format"] == ",.0f" and axes[key]["tickMinStep"] == 1, key
    for key in ("spend", "ledger"):  # cents below $1,000, a prefix only from $1,000 up
        assert axes[key]["labelExpr"] == MONEY_LABEL and "format" not in axes[key], key
    assert (
        "'$,.2f'" in MONEY_LABEL
        and "abs(datum.value) >= 1000 ? format(datum.value, '$.3~s')" in MONEY_LABEL
    )
    for key in ("take", "goal"):  # a decimal: 1% and 1.5% are two labels, not "1%" twice
        assert axes[key]["format"] == ".1~%", key
    assert all(a["title"] is None for a in axes.values())


def test_panels_that_do_not_apply_say_so() -> None:
    memory = next(p for p in PANELS if p.key == "facts")
    assert legend(memory, ("A",), False) == []
    assert "A" in not_applicable(memory, ("A",)) and "memory" in not_applicable(memory, ("A",))
    assert not_applicable(memory, ("B",)) == ""
    ledger = next(p for p in PANELS if p.key == "ledger")
    assert [i.key for i in legend(ledger, ("A", "B", "C"), True)] == ["C: ledger cost"]
    assert not_applicable(ledger, ("A", "B", "C")).startswith("Not drawn for A and B")


def test_undefined_values_are_gaps_not_zeros(finished: Session) -> None:
    take = next(p for p in PANELS if p.key == "take")
    goal = next(p for p in PANELS if p.key == "goal")
    t = panel_rows(take, {"A": finished.runs["A"]}, False)[0]
    assert t["v"][0] is None and t["v"][-1] == pytest.approx(0.15, abs=1e-3)
    g = panel_rows(goal, {"B": finished.runs["B"]}, False)[0]
    assert all(v is None for v in g["v"][:24]) and g["v"][24] is not None


def test_graph_marks_are_todays_and_fade(finished: Session) -> None:
    m, w = finished.markets["B"], finished.watches["B"]
    data = graph_data(m, w, dark=False)
    assert len(data["nodes"]) == 8 and len(data["edges"]) == m.graph.number_of_edges()
    for node, i in zip(data["nodes"], range(8), strict=True):
        for kind, last in (("restart", w.last_restart), ("wrong", w.last_wrong)):
            age = w.today - last[i]
            assert node[kind] == (max(0.0, 1 - age / 4) if age < 10**5 else 0.0)
    assert any(n["wrong"] == 1.0 for n in data["nodes"])
    spec = graph_spec(graph_shape(m, False, False))
    assert {layer["data"]["name"] for layer in spec["layer"]} == {"edges", "nodes"}
    nodes = graph_data(finished.markets["A"], finished.watches["A"], True)["nodes"]
    assert any(n["label"] == "exchange" for n in nodes)


def test_the_graph_caption_says_in_dollars_what_the_thickest_edge_carried(
    finished: Session,
) -> None:
    # Widths are relative to the day's busiest edge: the caption gives that edge's dollars.
    for s in ("A", "B", "C"):
        m, w = finished.markets[s], finished.watches[s]
        edges = graph_data(m, w, dark=False)["edges"]
        top = busiest_edge(w)
        assert top == pytest.approx(w.recent_spend.max()) and top > 0
        assert edges[-1]["w"] == max(e["w"] for e in edges)  # the thickest line is that edge
        text = edge_caption(top, m.exchange is not None)
        assert f"thickest line is <b>{usd_auto(top)}</b>" in text, text
        assert "US dollars along the edge over the last 24 simulated hours" in text
        assert "Edge colour: the path" in text
        assert ("exchange → seller" in text) == (s == "A"), text
    assert "none yet" in edge_caption(0.0, False)


def test_graph_legend_lists_every_mark_that_can_appear() -> None:
    labels = " ".join(m.label for m in graph_legend(True, True, True))
    for word in ("buyer", "seller", "exchange", "direct", "lost facts", "restarted", "wrong"):
        assert word in labels
    assert "restarted" not in " ".join(m.label for m in graph_legend(True, False, False))


def test_memory_bars_add_up_to_each_agents_memory(finished: Session) -> None:
    m, w = finished.markets["C"], finished.watches["C"]
    rows, caption = memory_rows(m, w)
    assert caption == ""
    for a in w.agents:
        mine = {r["part"]: r["n"] for r in rows if r["o"] == w.index[a.name]}
        assert mine["held now"] == len(a.memory)
        assert mine["lost today"] + mine["lost before today"] == a.memory.stats.lost


def test_every_term_the_pictures_use_is_in_the_glossary() -> None:
    terms = {t.lower() for t in GLOSSARY}
    used = {
        "take rate", "buyers' spend", "net to publishers", "goal attainment", "facts held",
        "facts lost", "restart", "recovery", "decision on a wrong fact", "caught by the ledger",
        "dispute", "written off", "ledger cost", "cpm", "fabricated fact", "band",
        "auction lots cleared", "exchange (ssp) fee", "programmatic-guaranteed (pg)",
        "walked away", "memory decay", "fill rate", "live campaign",
    }  # fmt: skip
    assert used <= terms, used - terms
    html = info_html()
    for heading in ("What is modelled", "What to notice", "What to try", "Terms"):
        assert heading in html


def _b_and_c(cfg: MarketConfig) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    s = Session(Settings(cfg, ("B", "C")))
    s.advance_to(s.total)
    return s.markets["B"].datacollector.model_vars, s.markets["C"].datacollector.model_vars


def test_the_null_experiment_info_suggests_is_what_the_model_does() -> None:
    # Info once said hallucination and decay at 0 (or no-rot) make B and C trade alike:
    # restarts and a full memory still cost B facts, and no-rot keeps C's 2% agent fee.
    assert (
        "<i>no-rot</i> preset" in TRY and "<b>ledger agent fee</b> to the <b>agent fee</b>" in TRY
    )
    base = MarketConfig(days=10)
    same_fee = {"ledger_agent_fee": base.agent_fee}
    b, c = _b_and_c(from_mapping(same_fee, base=load_preset("no-rot", base)))
    for column in b:  # everything but the ledger and the money it costs
        if column not in ("net_to_publishers", "intermediary_take", "take_rate", "ledger_entries",
                          "ledger_cost_usd"):  # fmt: skip
            assert b[column] == c[column], column
    assert c["ledger_cost_usd"][-1] > 0
    assert b["net_to_publishers"][-1] - c["net_to_publishers"][-1] == pytest.approx(
        c["ledger_cost_usd"][-1], abs=0.01
    )
    b, c = _b_and_c(load_preset("no-rot", base))  # C's own fee: a lower take rate
    assert c["take_rate"][-1] < b["take_rate"][-1] - 0.02
    rot_left = {**same_fee, "hallucination_rate": 0.0, "decay_rate": 0.0}
    b, c = _b_and_c(from_mapping(rot_left, base=base))
    assert b["gross_spend"] != c["gross_spend"]
    assert "<b>hallucination rate</b> to 0 and <b>decay rate</b> to 0" not in TRY

"""Language-model agents on a market, answering from the fake endpoint: grading, the ledger
tool, token accounting, determinism, and the stressors on top."""

from __future__ import annotations

import pandas as pd
import pytest

from admarket.llm.tables import llm_frames
from tests.llm.helpers import QUIET, run_llm


def statements(m) -> pd.DataFrame:
    return llm_frames(m)["llm_statements"]


def test_a_faithful_model_states_its_books_right(fake):
    m = run_llm("B", fake(), **QUIET)
    st = statements(m)
    assert len(st) > 50 and not st["wrong"].any()
    claims = m.claim_audit()
    from_model = claims[claims["source"] == "llm"]
    assert len(from_model) > 20 and not from_model["is_hallucination"].any()


def test_wrong_numbers_become_graded_hallucinations(fake):
    m = run_llm("B", fake(wrong_rate=1.0), **QUIET)
    st = statements(m)
    first = st[(st["task"] == "books") & (st["step"] == st[st["task"] == "books"]["step"].min())]
    assert len(first) > 5 and first["wrong"].all()  # every number it altered is caught
    claims = m.claim_audit()
    acted = claims[claims["source"] == "llm"]
    assert acted["is_hallucination"].mean() > 0.5
    assert m.summary()["hallucinated_decisions"] > 0
    # the auditor's grade is the truth's: wrong exactly when it misses beyond the tolerance
    gap = (st["stated"] - st["actual"]).abs()
    tol = (st["actual"].abs() * m.config.audit_tolerance).clip(lower=0.01)
    graded = st[~st["fabricated"] & st["actual"].notna()]
    assert (graded["wrong"] == (gap > tol)[graded.index]).all()


def test_omitted_facts_are_lost_and_recovered_as_the_design_allows(fake):
    b = run_llm("B", fake(omit_rate=1.0), **QUIET)
    c = run_llm("C", fake(omit_rate=1.0, lookup_rate=0.0), **QUIET)
    books = [statements(m).query("task == 'books'") for m in (b, c)]
    assert len(books[0]) == len(books[1]) == 0  # avails are still answered
    src_b, src_c = (
        set(m.claim_audit().query("claim_type != 'inventory'")["source"]) for m in (b, c)
    )
    assert "reconstructed" in src_b and "llm" not in src_b
    assert "ledger" in src_c and "llm" not in src_c


def test_ledger_lookups_correct_wrong_numbers_in_c(fake):
    srv_b, srv_c = fake(wrong_rate=0.3), fake(wrong_rate=0.3, lookup_rate=1.0)
    b, c = run_llm("B", srv_b, **QUIET), run_llm("C", srv_c, **QUIET)
    sb, sc = statements(b), statements(c)
    rate_b, rate_c = sb["wrong"].mean(), sc["wrong"].mean()
    assert rate_b > 0.15 and rate_c < rate_b / 2
    looked = sc[sc["looked_up"] & sc["fact_key"].str.contains(":(?:price|volume)$")]
    assert len(looked) > 10 and not looked["wrong"].any()  # on the ledger: read right
    agents = llm_frames(c)["llm_agents"]
    assert agents["lookups"].sum() > 0 == llm_frames(b)["llm_agents"]["lookups"].sum()
    assert "llm_ledger" in set(c.claim_audit()["source"])
    no_tool = run_llm("C", fake(wrong_rate=0.3, lookup_rate=0.0), **QUIET)
    assert statements(no_tool)["wrong"].mean() > rate_c  # without looking, no correction


def test_token_accounting_adds_up(fake):
    srv = fake(wrong_rate=0.2, omit_rate=0.1)
    m = run_llm("C", srv)
    t = llm_frames(m)
    calls, agents, run = t["llm_calls"], t["llm_agents"], t["llm_runs"].iloc[0]
    # what the endpoint reported, request by request
    assert calls["requests"].sum() == len(srv.served.requests) == run["requests"]
    assert calls["prompt_tokens"].sum() == srv.served.prompt_tokens == run["prompt_tokens"]
    assert calls["completion_tokens"].sum() == srv.served.completion_tokens
    # per agent and per day add up to the run
    llm = agents[agents["policy"] == "llm"]
    assert llm["prompt_tokens"].sum() == run["prompt_tokens"]
    assert llm["completion_tokens"].sum() == run["completion_tokens"]
    by_day = calls.groupby("day")["usd"].sum()
    assert by_day.sum() == pytest.approx(run["usd"]) and len(by_day) == m.config.days
    cfg = m.config
    price = (
        run["prompt_tokens"] * cfg.llm_prompt_usd_per_mtok
        + run["completion_tokens"] * cfg.llm_completion_usd_per_mtok
    ) / 1e6
    assert run["usd"] == pytest.approx(price) and llm["usd"].sum() == pytest.approx(price)
    assert run["lookups"] == llm["lookups"].sum() > 0


def test_concurrency_does_not_change_results(fake):
    srv = fake(wrong_rate=0.2, omit_rate=0.1)
    one = run_llm("C", srv, concurrency=1)
    many = run_llm("C", srv, concurrency=8)
    pd.testing.assert_frame_equal(one.claim_audit(), many.claim_audit())
    pd.testing.assert_frame_equal(statements(one), statements(many))
    assert one.summary() == many.summary()


def test_a_mixed_market_compares_both_policies(fake):
    m = run_llm("B", fake(wrong_rate=0.2), llm_sellers=False, llm_agents=1)
    agents = llm_frames(m)["llm_agents"].set_index("agent_id")["policy"].to_dict()
    assert sorted(agents.values()) == ["llm", "rules", "rules", "rules"]
    llm_buyer = next(a for a, p in agents.items() if p == "llm")
    claims = m.claim_audit()
    assert set(claims[claims["agent_id"] == llm_buyer]["source"]) & {"llm"}
    others = claims[claims["agent_id"] != llm_buyer]
    assert not set(others["source"]) & {"llm", "llm_ledger"}


def test_restarts_wipe_the_transcript_and_a_small_window_drops_lines(fake):
    srv = fake()
    wiped = llm_frames(run_llm("B", srv, **{**QUIET, "restart_rate": 1.0}))["llm_agents"]
    assert wiped["lines_wiped"].sum() > 0 and wiped["lines_held"].max() > 0
    narrow = run_llm("B", srv, **QUIET, llm_context_tokens=650)
    agents = llm_frames(narrow)["llm_agents"]
    assert agents["lines_dropped"].sum() > 0
    wide = llm_frames(run_llm("B", srv, **QUIET))["llm_agents"]
    assert wide["lines_dropped"].sum() == 0
    assert narrow.summary()["facts_lost"] > 0


def test_injections_stay_on_top_of_the_model(fake):
    srv = fake()
    m = run_llm("B", srv, **{**QUIET, "hallucination_rate": 0.5})
    claims = m.claim_audit()
    injected = claims[claims["injected"] & (claims["source"] == "llm")]
    assert len(injected) > 0 and injected["is_hallucination"].all()
    assert not statements(m)["wrong"].any()  # what the model said was right; acting on it
    # the injector corrupted it (graded against the claim, not the statement)

"""Memory, context rot, hallucination, audit, reconciliation and the ledger in the model.

These tests prove the scenario differences come from mechanisms: switch the mechanisms
off and B and C trade identically; make the ledger fail and C's recovery is no longer
perfect (it is measured, not assigned); turn decay up and B degrades. The ledger's own
faults are tested in tests/test_ledger_faults.py.
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from admarket import MarketModel, build_config
from admarket.agents import BuyerAgent
from admarket.memory.ground_truth import GroundTruthAccessError

SMALL = {"n_buyers": 4, "n_sellers": 4, "campaigns_per_buyer": 5, "days": 20}
# An ideal ledger: no read or write failures, every entry readable within the hour.
IDEAL = {"ledger_read_failure": 0.0, "ledger_write_failure": 0.0, "ledger_flush_hours": 1}


def _trades(m: MarketModel) -> pd.DataFrame:
    tx = m.transactions()
    tx = tx[tx["kind"] != "ledger_fee"].drop(columns="scenario").reset_index(drop=True)
    return tx


def test_null_mechanisms_off_b_and_c_trade_identically(finished_run):
    """With equal agent fees (an input, set equal to isolate the ledger) and every memory
    mechanism off, C is B plus the ledger's cost."""
    b = finished_run("B", "no-rot")
    c = finished_run("C", "no-rot", ledger_agent_fee=b.config.agent_fee)
    pd.testing.assert_frame_equal(_trades(b), _trades(c))
    pd.testing.assert_frame_equal(
        b.campaign_outcomes().drop(columns="scenario"),
        c.campaign_outcomes().drop(columns="scenario"),
    )
    sb, sc = b.summary(), c.summary()
    assert sb["hallucinated_decisions"] == sc["hallucinated_decisions"] == 0
    assert sb["disputes"] == sc["disputes"] == 0 and sb["facts_lost"] == 0
    # nothing lost, nothing recovered: a fact looked up before it was ever held (a
    # campaign's spend before its first invoice) is learned, not recovered
    assert sb["recoveries"] == sc["recoveries"] == 0
    # C differs only by the ledger's cost, which comes out of the publishers' share
    ledger = c.accounts.fees["ledger_fee"]
    assert ledger > 0
    assert c.accounts.take - b.accounts.take == ledger
    assert b.accounts.net_to_publishers - c.accounts.net_to_publishers == ledger


def test_the_agent_fee_moves_money_not_trades(finished_run):
    """At the default fees (B 5%, C 2%) and no rot, B and C still make the same trades: the
    fee comes off the seller's side of each settlement, so only fees and publishers' revenue
    differ, by the fee difference applied to the same spend."""
    b, c = finished_run("B", "no-rot"), finished_run("C", "no-rot")
    assert b.config.agent_fee != c.config.ledger_agent_fee
    cols = ["step", "campaign", "seller", "deal", "impressions", "cpm", "buyer_spend"]
    pd.testing.assert_frame_equal(_trades(b)[cols], _trades(c)[cols])
    spend = b.accounts.gross
    gap = (b.config.agent_fee - c.config.ledger_agent_fee) * spend
    assert b.accounts.fees["agent_fee"] - c.accounts.fees["agent_fee"] == pytest.approx(
        gap, abs=len(_trades(b))
    )


def test_with_mechanisms_on_b_degrades_and_c_recovers(plan_runs, finished_run):
    sb, sc = plan_runs["B"].summary(), plan_runs["C"].summary()
    assert sb["facts_lost"] > 0 and sc["facts_lost"] > 0  # both lose memory
    assert sb["recoveries"] > 0 and sc["recoveries"] > 0
    assert sb["recovery_fidelity"] < 0.9  # reconstruction is often wrong
    assert sc["recovery_fidelity"] > sb["recovery_fidelity"]
    # C's default ledger fails now and then: fewer bad decisions than B, but not none
    assert 0 < sc["hallucinated_decisions"] < sb["hallucinated_decisions"] / 5
    assert sb["injected_acted_on"] == sb["injected"] > 0  # acted on in B
    assert sc["caught_by_ledger"] > 0 and sc["injected_acted_on"] < sc["injected"] / 5
    assert 0 < sc["written_off"] < sb["written_off"]
    # With an ideal ledger every fabrication is caught, unless it happened to be right —
    # which follows from the assumptions: authors wrote what they held, and it was right.
    ideal = finished_run("C", None, **IDEAL)
    si = ideal.summary()
    assert si["recovery_fidelity"] == 1.0 and si["hallucinated_decisions"] == 0
    ac = ideal.claim_audit()
    inj = ac[ac["injected"]]
    assert len(inj) == si["injected"] > 0 and si["caught_by_ledger"] > 0
    assert (inj["caught_in_run"] | ~inj["is_hallucination"]).all()


def test_c_recovery_fidelity_is_measured_not_assigned():
    """A ledger that loses writes makes C's recovery wrong, and the audit sees it."""
    kw = {**SMALL, **IDEAL, "seed": 3, "restart_rate": 0.1}
    ideal = MarketModel("C", **kw).run().summary()
    lossy = MarketModel("C", **{**kw, "ledger_write_failure": 0.2}).run().summary()
    assert ideal["recovery_fidelity"] == 1.0
    assert lossy["recoveries"] > 0 and lossy["recovery_fidelity"] < 1.0
    assert lossy["hallucinated_decisions"] > 0 and lossy["ledger_facts_wrong"] > 0


def test_b_degrades_monotonically_as_decay_rises():
    """Averaged over seeds, more decay → lower recovery fidelity, more bad decisions."""
    fidelity, bad = [], []
    for rate in (0.0, 0.05, 0.2):
        runs = [
            MarketModel("B", seed=s, decay_rate=rate, **SMALL).run().summary() for s in range(3)
        ]
        fidelity.append(np.nanmean([r["recovery_fidelity"] for r in runs]))
        bad.append(np.mean([r["hallucination_rate"] for r in runs]))
    assert fidelity[0] > fidelity[1] > fidelity[2]
    assert bad[0] < bad[1] < bad[2]


def test_more_load_with_less_capacity_means_more_context_loss():
    lost = [
        MarketModel("B", seed=1, memory_capacity=cap, decay_rate=0.0, restart_rate=0.0, **SMALL)
        .run()
        .summary()["facts_lost"]
        for cap in (0, 200, 50)
    ]
    assert lost[0] == 0 < lost[1] < lost[2]


def test_forgotten_commitments_make_guaranteed_deals_under_deliver():
    def pg_shortfall(m):
        b, n = m.book, m.book.n
        done = (b.end[:n] <= m.t + 1) & (b.dtype[:n] == 0)
        return float(((b.volume[:n] - b.delivered[:n]) * done).sum())

    b = [pg_shortfall(MarketModel("B", seed=s, decay_rate=0.1, **SMALL).run()) for s in range(3)]
    c = [pg_shortfall(MarketModel("C", seed=s, decay_rate=0.1, **SMALL).run()) for s in range(3)]
    assert sum(b) > sum(c)


def test_agents_cannot_read_ground_truth(monkeypatch, small):
    m = MarketModel("B", **small)

    def peek(self):
        self.model.ground_truth.read("campaign:0:spent")

    monkeypatch.setattr(BuyerAgent, "plan_day", peek)
    with pytest.raises(GroundTruthAccessError):
        m.step()
    monkeypatch.undo()
    assert m.ground_truth.read("campaign:0:spent") == 0.0  # the auditor may, between steps


def test_audit_grades_claims_against_truth(plan_runs):
    a = plan_runs["B"].claim_audit()
    s = plan_runs["B"].summary()
    assert len(a) == s["claims"] and int(a["is_hallucination"].sum()) == s["wrong_claims"]
    exact = a["claimed_value"] == a["actual_value"]
    assert not a.loc[exact, "is_hallucination"].any()  # a true claim is never flagged
    injected = a[a["injected"]]
    assert len(injected) == s["injected"] > 0
    assert injected["is_hallucination"].mean() > 0.9  # the plan's detection target
    assert set(injected["injection_kind"]) <= {
        "price_deflated",
        "inventory_inflated",
        "history_fabricated",
    }
    per_decision = a.groupby("decision_id")["is_hallucination"].any()
    assert int(per_decision.sum()) == s["hallucinated_decisions"]


def test_exchange_reads_are_exact_in_a(plan_runs):
    a = plan_runs["A"].claim_audit()
    assert len(a) > 0 and set(a["source"].unique()) == {"exchange_db"}
    assert not a["is_hallucination"].any()


def test_hallucination_off_means_nothing_injected(small):
    s = MarketModel("B", hallucination_rate=0.0, **small).run().summary()
    assert s["injected"] == 0


def test_ledger_verifies_after_a_run_and_tampering_is_caught_by_the_cli(tmp_path):
    ledger = tmp_path / "ledger.jsonl"
    cmd = [sys.executable, "-m", "admarket"]
    run = subprocess.run(
        [
            *cmd,
            "run",
            "--scenarios",
            "c",
            "--days",
            "2",
            "--buyers",
            "2",
            "--sellers",
            "2",
            "--no-progress",
            "--ledger-out",
            str(ledger),
        ],
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stderr
    ok = subprocess.run([*cmd, "verify-ledger", str(ledger)], capture_output=True, text=True)
    assert ok.returncode == 0 and "intact" in ok.stdout
    lines = ledger.read_text().splitlines()
    lines[3] = (
        lines[3].replace('"price":', '"price":1', 1)
        if '"price":' in lines[3]
        else lines[3].replace('"step":', '"step":9', 1)
    )
    ledger.write_text("\n".join(lines) + "\n")
    bad = subprocess.run([*cmd, "verify-ledger", str(ledger)], capture_output=True, text=True)
    assert bad.returncode == 1 and "TAMPERED" in bad.stderr


def test_ledger_cost_is_charged_and_batching_makes_it_cheap(plan_runs):
    c = plan_runs["C"]
    assert c.ledger.verify().ok and c.ledger.n_entries > 0
    s = c.summary()
    assert s["ledger_cost_usd"] == pytest.approx(c.records.total_usd, abs=0.01)
    assert s["delivery_records"] == pytest.approx(s["impressions"] / 1000, rel=0.01)
    unbatched = c.ledger.cost_model.per_impression_record_cost_per_mille(256)
    assert s["ledger_cost_per_mille"] < unbatched / 100


def test_batching_effect_emerges_in_the_run():
    """Fewer impressions per record or fewer records per blob → a costlier ledger."""
    kw = {**SMALL, "days": 3, "seed": 5}
    cost = {
        (ipr, rpb): MarketModel("C", impressions_per_record=ipr, records_per_blob=rpb, **kw)
        .run()
        .summary()["ledger_cost_per_mille"]
        for ipr, rpb in ((1000, 500), (1000, 1), (100, 1))
    }
    assert cost[(1000, 500)] < cost[(1000, 1)] < cost[(100, 1)]
    assert 0.001 < cost[(1000, 1)] < 0.05  # about a cent per 1,000, as calibrated


def test_disputes_settle_against_the_ledger_in_c_only(plan_runs):
    outcomes_b = [s["outcome"] for s in plan_runs["B"].settlements]
    outcomes_c = [s["outcome"] for s in plan_runs["C"].settlements]
    assert "dispute_unresolved" in outcomes_b and "dispute_ledger" not in outcomes_b
    # in C a dispute is settled by the co-signed terms unless the ledger query fails
    assert outcomes_c.count("dispute_unresolved") < outcomes_b.count("dispute_unresolved") / 10
    cfg = build_config(hallucination_rate=0.0)
    assert cfg.recon_split > cfg.recon_auto_accept


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_c_with_an_ideal_ledger_acts_on_no_wrong_fact_in_small_markets(seed):
    """With an ideal ledger and the check on, every fact C acts on matches the truth (incl.
    day 0). This follows from the assumptions, it is not a discovery: what the agents wrote
    was right, every read was answered and every entry readable when needed."""
    m = MarketModel(
        "C", n_buyers=3, n_sellers=3, campaigns_per_buyer=4, days=3, seed=seed, **IDEAL
    ).run()
    a = m.claim_audit()
    assert len(a) > 0 and not a["is_hallucination"].any()
    assert m.summary()["ledger_facts_wrong"] == 0


def test_b_and_c_share_the_dice_for_restarts():
    """Common random numbers: the same agents restart on the same days in B and C."""
    kw = {**SMALL, "seed": 0, "restart_rate": 0.05}

    def restarts(scenario):
        m = MarketModel(scenario, **kw).run()
        return [(e["day"], e["agent"]) for e in m.events.of_kind("restart")]

    assert restarts("B") == restarts("C") and len(restarts("B")) > 0


def test_unpaid_disputes_per_seller_match_a_scan_of_every_settlement(plan_runs):
    """Sellers learn who left their invoices unpaid from one shared scan per morning; it must
    name exactly the buyers a scan of every settlement, seller by seller, names."""
    m = plan_runs["B"]
    found = m.unpaid_disputes(0)
    assert found, "the plan run has unresolved disputes to find"
    for s in m.sellers:
        want = {
            r["buyer"]
            for r in m.settlements
            if r["seller"] == s.name and r["outcome"] == "dispute_unresolved"
        }
        assert set(found.get(s.name, ())) == want
        assert s.distrusted <= want  # what it distrusts came from these (before the last day)
    assert m.unpaid_disputes(len(m.settlements)) == {}


def test_the_trust_cap_is_what_makes_bs_unpaid_disputes_cost_it():
    """Null: with ``trust_cap`` off no seller demotes a buyer, and with nothing disputed the
    switch changes no trade. Dose-response: hallucinations cost B's goal attainment more
    with the cap on (a buyer that short-pays on a fabricated price loses its tier) than off
    (5 seeds: 0 -> 0.2 hallucination costs 0.045 with it, 0.014 without)."""
    off = MarketModel("B", **SMALL, seed=0, trust_cap=False).run()
    on = MarketModel("B", **SMALL, seed=0).run()
    assert on.summary()["disputes"] > 0 and any(s.distrusted for s in on.sellers)
    assert not any(s.distrusted for s in off.sellers)
    calm = {**SMALL, "seed": 0}
    pd.testing.assert_frame_equal(
        _trades(MarketModel("B", build_config("no-rot", **calm)).run()),
        _trades(MarketModel("B", build_config("no-rot", **calm, trust_cap=False)).run()),
    )

    def cost(trust_cap: bool) -> float:
        att = [
            np.mean(
                [
                    MarketModel("B", **SMALL, seed=s, trust_cap=trust_cap, hallucination_rate=h)
                    .run()
                    .summary()["mean_goal_attainment"]
                    for s in range(5)
                ]
            )
            for h in (0.0, 0.2)
        ]
        return att[0] - att[1]

    assert cost(True) > cost(False) > 0

"""Memory, context rot, hallucination, audit, reconciliation and the ledger in the model.

These tests prove the scenario differences come from mechanisms: switch the mechanisms
off and B and C trade identically; corrupt the ledger and C's "perfect" recovery is no
longer perfect (it is measured, not assigned); turn decay up and B degrades.
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
from admarket.scenarios.records import LedgerRecords

SMALL = {"n_buyers": 4, "n_sellers": 4, "campaigns_per_buyer": 5, "days": 20}


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


def test_with_mechanisms_on_b_degrades_and_c_recovers(plan_runs):
    sb, sc = plan_runs["B"].summary(), plan_runs["C"].summary()
    assert sb["facts_lost"] > 0 and sc["facts_lost"] > 0  # both lose memory
    assert sb["recoveries"] > 0 and sc["recoveries"] > 0
    assert sb["recovery_fidelity"] < 0.9  # reconstruction is often wrong
    assert sc["recovery_fidelity"] == 1.0  # measured against ground truth, see below
    assert sb["hallucinated_decisions"] > 0 and sc["hallucinated_decisions"] == 0
    # in C every fabrication is caught by the ledger check, unless it happened to be right
    ac = plan_runs["C"].claim_audit()
    inj = ac[ac["injected"]]
    assert len(inj) == sc["injected"] > 0 and sc["caught_by_ledger"] > 0
    assert (inj["caught_in_run"] | ~inj["is_hallucination"]).all()
    assert sb["injected_acted_on"] == sb["injected"] > 0  # and acted on in B
    assert sb["written_off"] > 0 and sc["written_off"] == 0


def test_c_recovery_fidelity_is_measured_not_assigned(monkeypatch):
    """A ledger that answers wrongly makes C's recovery wrong, and the audit sees it."""
    real = LedgerRecords.value

    def corrupted(self, key):
        v = real(self, key)
        return v * 0.5 if v is not None and key.endswith(":price") else v

    monkeypatch.setattr(LedgerRecords, "value", corrupted)
    s = MarketModel("C", seed=3, verify_recalls=False, **SMALL).run().summary()
    assert s["recoveries"] > 0 and s["recovery_fidelity"] < 1.0
    assert s["hallucinated_decisions"] > 0


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
    outcomes_b = {s["outcome"] for s in plan_runs["B"].settlements}
    outcomes_c = {s["outcome"] for s in plan_runs["C"].settlements}
    assert "dispute_unresolved" in outcomes_b and "dispute_unresolved" not in outcomes_c
    cfg = build_config(hallucination_rate=0.0)
    assert cfg.recon_split > cfg.recon_auto_accept


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_c_acts_on_no_wrong_fact_in_small_markets(seed):
    """With the ledger check on, every fact C acts on matches the truth (incl. day 0)."""
    m = MarketModel("C", n_buyers=3, n_sellers=3, campaigns_per_buyer=4, days=3, seed=seed).run()
    a = m.claim_audit()
    assert len(a) > 0 and not a["is_hallucination"].any()


def test_c_with_an_empty_ledger_is_b(monkeypatch):
    """Everything C gains comes through the ledger: a ledger that answers nothing (and no
    recall check) gives B's trades exactly, mechanisms on — C only pays for the ledger."""
    kw = {**SMALL, "seed": 3, "decay_rate": 0.1, "restart_rate": 0.05}
    b = MarketModel("B", **kw).run()
    monkeypatch.setattr(LedgerRecords, "value", lambda self, key: None)
    monkeypatch.setattr(LedgerRecords, "deals_of_campaign", lambda self, c: None)
    monkeypatch.setattr(LedgerRecords, "deals_of_product", lambda self, p: None)
    c = MarketModel("C", verify_recalls=False, ledger_agent_fee=b.config.agent_fee, **kw).run()
    assert b.summary()["disputes"] > 0 and b.summary()["hallucinated_decisions"] > 0
    pd.testing.assert_frame_equal(_trades(b), _trades(c))
    assert [s["outcome"] for s in b.settlements] == [s["outcome"] for s in c.settlements]
    assert c.summary()["ledger_cost_usd"] > 0


def test_b_and_c_share_the_dice_for_restarts():
    """Common random numbers: the same agents restart on the same days in B and C."""
    kw = {**SMALL, "seed": 0, "restart_rate": 0.05}

    def restarts(scenario):
        m = MarketModel(scenario, **kw).run()
        return [(e["day"], e["agent"]) for e in m.events.of_kind("restart")]

    assert restarts("B") == restarts("C") and len(restarts("B")) > 0

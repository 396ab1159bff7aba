"""C's ledger in the model: agents write it, it can fail, and C earns (or loses) its result.

All through the public API, no patching: the null tests (a faultless ledger trades as the
C whose ledger is written from the true books; a ledger that never answers gives B's trades),
the dose-response of each fault, C without the recall check between B and checked C, the
co-sign failures, sealing and readability, and the impression-count discrepancy.
"""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from admarket import MarketModel, build_config
from admarket.ledger.chain import Ledger
from admarket.ledger.keys import Keyring
from admarket.market.reconciliation import billable_lots, buyer_count
from admarket.model.events import EventLog
from admarket.scenarios.ledger_records import ADD_CHUNK, LedgerRecords, add_repeatedly
from tests.true_books import CASES, TrueBooksDesign, fingerprint, run_case

SMALL = {"n_buyers": 4, "n_sellers": 4, "campaigns_per_buyer": 5, "days": 15}
SEEDS = range(5)
FAULTS = {"ledger_read_failure": 0.0, "ledger_write_failure": 0.0, "ledger_flush_hours": 1}


def _trades(m: MarketModel) -> pd.DataFrame:
    tx = m.transactions()
    return tx[tx["kind"] != "ledger_fee"].drop(columns="scenario").reset_index(drop=True)


@functools.cache
def _summaries(scenario: str, params: tuple) -> tuple[dict, ...]:
    kw = dict(params)
    return tuple(MarketModel(scenario, seed=s, **SMALL, **kw).run().summary() for s in SEEDS)


def _mean(scenario: str, key: str, **kw) -> float:
    """``key`` averaged over the seeds (runs cached per scenario and parameters)."""
    return float(np.mean([r[key] for r in _summaries(scenario, tuple(sorted(kw.items())))]))


# --- null tests ------------------------------------------------------------------------------


@pytest.mark.parametrize("case", list(CASES))
def test_a_faultless_ledger_of_truthful_authors_trades_as_the_true_books_c(case):
    """Every fault 0, no count discrepancy, every write sealed at once: C trades exactly as
    the C whose ledger is written from the model's true books (``tests/true_books.py``) —
    because what its agents hold, and so write, is then the truth: the oracle replaces no
    value, and the two ledgers are the same, entry for entry."""
    c = run_case("C", CASES[case])
    true = run_case(TrueBooksDesign, CASES[case])
    assert true.records.facts_written > 0 and true.records.facts_replaced == []
    assert fingerprint(c) == fingerprint(true)
    assert c.ledger.head_hash == true.ledger.head_hash
    s = c.summary()
    assert s["ledger_facts_wrong"] == 0 and s["ledger_facts"] > 0
    assert s["cosign_failures"] == s["ledger_reads_failed"] == s["ledger_writes_lost"] == 0


@pytest.mark.parametrize(
    "fault",
    [{"ledger_read_failure": 0.3}, {"ledger_write_failure": 0.2}, {"ledger_flush_hours": 72}],
)
def test_the_true_books_oracle_finds_what_a_faulty_ledger_makes_its_authors_write(fault):
    """The null test above can fail: with a fault on, some author writes a value that is
    not the truth, the oracle replaces it, and the two Cs trade differently. (Seed 8: on
    the rot case's own seed 7 the read faults' 3 wrong facts happen to change no trade;
    they did while a dispute's ledger look-up shared the failed check's draw.)"""
    case = {**CASES["rot"], "seed": 8}
    c = run_case("C", case, **fault)
    true = run_case(TrueBooksDesign, case, **fault)
    assert true.records.facts_replaced
    assert fingerprint(c)["trades"] != fingerprint(true)["trades"]


@pytest.mark.parametrize("kw", [{"seed": 3}, {"seed": 5, "decay_rate": 0.1, "restart_rate": 0.05}])
def test_a_ledger_that_never_answers_gives_bs_trades(kw):
    """Everything C gains comes through reading the ledger: with every query unanswered its
    agents fall back on their memory and trade exactly as B's (C only pays for the ledger)."""
    b = MarketModel("B", **SMALL, **kw).run()
    # at equal agent fees (C's is its own parameter): fees never change a trade, only who
    # keeps the money, and the frames compared here include the sellers' revenue
    fee = b.config.agent_fee
    c = MarketModel("C", **SMALL, **kw, ledger_read_failure=1.0, ledger_agent_fee=fee).run()
    assert b.summary()["hallucinated_decisions"] > 0
    pd.testing.assert_frame_equal(_trades(b), _trades(c))
    assert [s["outcome"] for s in b.settlements] == [s["outcome"] for s in c.settlements]
    assert c.summary()["ledger_cost_usd"] > 0 and c.summary()["ledger_reads_failed"] > 0


# --- dose-response ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name, values",
    [
        ("ledger_read_failure", (0.0, 0.1, 0.5)),
        ("ledger_write_failure", (0.0, 0.05, 0.3)),
        ("ledger_flush_hours", (1, 24, 72)),
    ],
)
def test_c_degrades_monotonically_in_each_ledger_fault(name, values):
    """Averaged over five seeds, more of a fault → more facts acted on wrongly and more
    disputes (the other faults off)."""
    wrong, disputes = [], []
    for v in values:
        kw = {**FAULTS, name: v}
        wrong.append(_mean("C", "wrong_fact_share", **kw))
        disputes.append(_mean("C", "disputes", **kw))
    assert wrong[0] < wrong[1] < wrong[2], wrong
    assert disputes[0] <= disputes[1] < disputes[2], disputes


@pytest.mark.parametrize("read_failure", [0.2, 0.5])
def test_a_dispute_is_settled_on_the_ledger_when_its_own_query_is_answered(read_failure):
    """A dispute's look-up of the agreed price is a query of its own: it is answered with
    probability 1 − ``ledger_read_failure``, whatever became of the buyer's check that let
    the wrong price through (that check failing is what makes C's disputes). Keyed like the
    check, it failed whenever the check had, and about 70% of disputes went unsettled at
    either failure rate (5 seeds: 18 of 26 at 0.2, 50 of 74 at 0.5)."""
    outcomes = [
        s["outcome"]
        for seed in SEEDS
        for s in MarketModel(
            "C", seed=seed, **SMALL, **{**FAULTS, "ledger_read_failure": read_failure}
        )
        .run()
        .settlements
        if s["outcome"].startswith("dispute")
    ]
    n, settled = len(outcomes), outcomes.count("dispute_ledger")
    answered = 1 - read_failure
    assert n >= 20, outcomes
    # within three binomial standard deviations of the answered share
    assert abs(settled / n - answered) < 3 * (answered * read_failure / n) ** 0.5, (settled, n)


def test_a_ledger_behind_what_an_agent_holds_does_not_overwrite_it():
    """Sealed late (48 hours), the ledger's value of a fact is often older than what its
    parties hold (the latest write still in the open blob). An agent checks only where the
    ledger is not behind, so a check rarely turns a right recall wrong: over 5 seeds 39 of
    314 catches of a recall nobody fabricated ended wrong, each from a value its author held
    wrong. Checked against whatever was sealed, 3,519 of 3,812 were."""
    caught = wrong = 0
    for seed in SEEDS:
        kw = {**FAULTS, "ledger_flush_hours": 48}
        audit = MarketModel("C", seed=seed, **SMALL, **kw).run().claim_audit()
        caught += int(audit["caught_in_run"].sum())
        wrong += int(
            (audit["caught_in_run"] & audit["is_hallucination"] & ~audit["injected"]).sum()
        )
    assert caught > 100 and wrong < 0.25 * caught, (wrong, caught)


def test_behind_marks_a_fact_whose_latest_write_is_not_readable():
    """A write makes its facts' ledger values stale until its blob is sealed; a lost write
    until a later write of the fact is sealed."""
    m = MarketModel("C", **SMALL, seed=0, **FAULTS)
    rec = m.records
    books = {"buyer": "buyer-0", "facts": {"campaign:0:spent": 10.0}}
    assert not rec.behind("campaign:0:spent")
    rec.write("settlement", books, "buyer-0", 0)
    assert rec.behind("campaign:0:spent") and rec.value("campaign:0:spent") is None
    rec.end_step(0)
    assert not rec.behind("campaign:0:spent") and rec.value("campaign:0:spent") == 10.0
    rec.write_failure = 1.0  # the next write is lost: the ledger stays behind it
    assert not rec.write("settlement", {**books, "facts": {"campaign:0:spent": 20.0}}, "buyer-0", 1)
    rec.end_step(1)
    assert rec.behind("campaign:0:spent") and rec.value("campaign:0:spent") == 10.0
    rec.write_failure = 0.0
    rec.write("settlement", {**books, "facts": {"campaign:0:spent": 30.0}}, "buyer-0", 2)
    rec.end_step(2)
    assert not rec.behind("campaign:0:spent") and rec.value("campaign:0:spent") == 30.0


@pytest.mark.parametrize("seal", ["flush_hours=0", "full blob", "close"])
def test_every_seal_makes_its_writes_readable_and_no_longer_behind(seal):
    """Sealing on every write, sealing a blob as it fills inside the append, and the seal at
    the end of the run each clear the facts they make readable."""
    m = MarketModel("C", **SMALL, seed=0, **{**FAULTS, "ledger_flush_hours": 72})
    rec = m.records
    if seal == "flush_hours=0":
        rec.flush_hours = 0
    if seal == "full blob":
        rec.ledger.records_per_blob = 2
    books = {"buyer": "buyer-0", "facts": {"campaign:0:spent": 10.0}}
    rec.write("settlement", books, "buyer-0", 0)
    if seal == "full blob":
        assert rec.behind("campaign:0:spent")
        rec.write("settlement", {**books, "facts": {"campaign:1:spent": 5.0}}, "buyer-0", 0)
    if seal == "close":
        assert rec.behind("campaign:0:spent")
        rec.close(0)
    assert not rec.behind("campaign:0:spent") and rec.value("campaign:0:spent") == 10.0


def test_an_agent_lists_the_deals_it_holds_beside_those_the_ledger_lists():
    """A booking whose write was lost (or is not sealed yet) is still a deal its parties
    hold: listing the ledger's deals alone dropped it from planning and the seller's
    commitments."""
    m = MarketModel("C", **SMALL, seed=1, ledger_write_failure=0.3, ledger_read_failure=0.0)
    m.run()
    missing = 0
    for agent, tags, listed in [
        *((b, b.campaigns, m.records.deals_of_campaign) for b in m.buyers),
        *((s, s.products, m.records.deals_of_product) for s in m.sellers),
    ]:
        for tag in tags:
            held = set(agent.memory.ids("deal", tag))
            assert held <= set(agent.known_deals(tag))
            missing += len(held - set(listed(tag)))
    assert missing > 0  # deals the ledger does not list, which the agents still know


def test_c_without_the_recall_check_sits_between_b_and_checked_c():
    for key in ("wrong_fact_share", "hallucination_rate"):
        b = _mean("B", key)
        unchecked = _mean("C", key, verify_recalls=False)
        checked = _mean("C", key)
        assert b > unchecked > checked, (key, b, unchecked, checked)


# --- co-signs, sealing, readability -----------------------------------------------------------


def test_failed_co_signs_are_visible_in_the_log_and_the_ledger_and_reconciled(finished_run):
    m = finished_run("C", None, ledger_write_failure=0.0)
    s = m.summary()
    events = m.events.of_kind("cosign_failed")
    entries = [e for e in m.ledger.entries if e.kind == "cosign_failure"]
    assert s["cosign_failures"] == len(events) == len(entries) > 0
    e = entries[0]
    assert set(e.signatures) == {e.payload["buyer"], e.payload["seller"]}  # both sign
    views = e.payload["views"]
    assert views[e.payload["seller"]] != views[e.payload["buyer"]]
    following = m.ledger[e.entry_id + 1]  # the settled invoice, co-signed after reconciling
    assert following.kind == "invoice" and set(following.signatures) == set(e.signatures)
    assert m.ledger.verify().ok


def test_entries_are_readable_only_once_sealed():
    keys = Keyring(1, ["buyer-0", "seller-0"])
    cfg = build_config(ledger_flush_hours=24, ledger_read_failure=0.0, ledger_write_failure=0.0)
    rec = LedgerRecords(Ledger(500, keyring=keys), cfg, EventLog(24))
    assert rec.write("delivery", {"facts": {"deal:0:delivered": 5.0}}, "seller-0", 30)
    for t in range(30, 53):
        rec.end_step(t)
        assert rec.value("deal:0:delivered") is None  # in the open blob: unreadable
    rec.end_step(53)  # 24 hours after the entry was written
    assert rec.value("deal:0:delivered") == 5.0 and rec.ledger.n_blobs == 1


def _records(**kw) -> LedgerRecords:
    cfg = build_config(**kw)
    return LedgerRecords(Ledger(cfg.records_per_blob, keyring=Keyring(1, [])), cfg)


@pytest.mark.parametrize(("per_record", "per_blob"), [(1, 1), (1, 7), (1000, 500), (100, 1)])
def test_delivery_records_are_sealed_and_costed_as_blob_by_blob(per_record, per_blob):
    """Delivery records fill blobs of ``records_per_blob``; every full blob is costed, in
    order, as sealing them one at a time does — to the last digit — and the rest wait."""
    rec = _records(impressions_per_record=per_record, records_per_blob=per_blob)
    cost = rec.ledger.cost_model.blob_cost(per_blob * rec.record_bytes).usd
    blobs, usd, open_, written = 0, 0.0, 0, 0
    for impressions in (0, 1, 999, 5_000, 123_457, 3, 1_400_000, 1):
        n = rec.add_delivery_records(impressions)
        assert n == -(-impressions // per_record)
        written, open_ = written + n, open_ + n
        while open_ >= per_blob:  # the reference: one blob at a time
            blobs, usd, open_ = blobs + 1, usd + cost, open_ - per_blob
        assert (rec.record_blobs, rec.record_blobs_usd) == (blobs, usd)
    assert rec.delivery_records == written and blobs > 1
    rec.close(0)  # the last, partial blob is sealed at the end
    assert rec.record_blobs == blobs + (open_ > 0)


@settings(max_examples=300, deadline=None)
@given(
    total=st.floats(0, 1e12),
    x=st.floats(0, 1e6),
    times=st.integers(0, 400),
    chunk=st.sampled_from([1, 3, 64, ADD_CHUNK]),
)
def test_adding_repeatedly_is_a_loop_of_additions(total, x, times, chunk):
    """The delivery records' running cost: the same float a loop of ``+=`` gives, whatever
    the chunk size of the numpy additions."""
    expected = total
    for _ in range(times):
        expected += x
    assert add_repeatedly(total, x, times, chunk) == expected


def test_one_record_per_impression_and_per_blob_runs(monkeypatch):
    """The costliest batching allowed (a record, and a blob, per impression) is a run like
    any other: one blob per delivered impression, costed at once (it took a loop step
    each: a blob is sealed one at a time only at the end, when it is partial)."""
    sealed_one_at_a_time = []
    seal = LedgerRecords._seal_records
    monkeypatch.setattr(
        LedgerRecords,
        "_seal_records",
        lambda self, n: sealed_one_at_a_time.append(n) or seal(self, n),
    )
    m = MarketModel("C", **{**SMALL, "days": 2}, impressions_per_record=1, records_per_blob=1)
    s = m.run().summary()
    assert s["impressions"] > 10**5 and sealed_one_at_a_time == []  # no partial blob of 1
    assert m.records.delivery_records == m.records.record_blobs == s["impressions"]


def test_batching_saves_cost_and_costs_recoverability():
    """Sealing less often makes fewer blobs (cheaper) and leaves more lost facts unrecoverable."""
    kw = {**SMALL, **FAULTS, "seed": 2, "restart_rate": 0.2}
    hourly = MarketModel("C", **kw).run()
    daily3 = MarketModel("C", **{**kw, "ledger_flush_hours": 72}).run()
    assert daily3.ledger.n_blobs < hourly.ledger.n_blobs
    assert daily3.records.ledger.total_usd < hourly.records.ledger.total_usd

    def from_ledger(m: MarketModel) -> float:
        a = m.claim_audit()
        rec = a[a["recovered"]]
        return float((rec["source"] == "ledger").mean())

    assert from_ledger(daily3) < from_ledger(hourly)


def test_lost_writes_and_failed_reads_are_counted():
    m = MarketModel("C", **SMALL, seed=1, ledger_write_failure=0.1, ledger_read_failure=0.1).run()
    s = m.summary()
    assert s["ledger_writes_lost"] == len(m.events.of_kind("ledger_write_lost")) > 0
    assert s["ledger_reads_failed"] == m.events.counts["ledger_read_failed"] > 0
    assert m.ledger.verify().ok  # a ledger with holes is still an intact chain


# --- impression counts -----------------------------------------------------------------------


def test_count_rule_bills_the_publishers_count_within_tolerance_and_is_continuous():
    assert billable_lots(100, 95, 0.10) == 100 and billable_lots(100, 90, 0.10) == 100
    assert billable_lots(100, 81, 0.10) == 90  # 81 / 0.9
    assert billable_lots(100, 100, 0.10) == 100 and billable_lots(100, 120, 0.10) == 100
    assert billable_lots(100, 89, 0.0) == 89
    billed = [billable_lots(1000, v, 0.1) for v in range(700, 1001)]
    assert billed == sorted(billed) and max(np.diff(billed)) <= 2  # no jump at the tolerance
    assert buyer_count(1000, 0.15, 0.5) == 925 and buyer_count(1000, 0.0, 0.9) == 1000


def test_counts_differ_in_b_and_c_alike_and_not_in_a():
    kw = {**SMALL, "seed": 4}
    b = MarketModel("B", build_config("no-rot", **kw)).run()
    c = MarketModel("C", build_config("no-rot", **kw)).run()
    sb, sc = pd.DataFrame(b.settlements), pd.DataFrame(c.settlements)
    cols = ["deal", "seller_lots", "buyer_lots", "billed_lots", "paid"]
    pd.testing.assert_frame_equal(sb[cols], sc[cols])  # the same dice, the same bills
    assert (sb["buyer_lots"] < sb["seller_lots"]).mean() > 0.5
    assert b.summary()["count_disputes"] == c.summary()["count_disputes"] > 0
    none = MarketModel("B", build_config("no-rot", **kw, count_discrepancy=0.0)).run()
    assert none.summary()["count_disputes"] == 0 and none.summary()["written_off"] == 0
    assert b.summary()["written_off"] > 0  # publishers absorb gaps beyond the tolerance
    a0 = MarketModel("A", **kw, count_discrepancy=0.0).run()
    a1 = MarketModel("A", **kw, count_discrepancy=0.5).run()
    pd.testing.assert_frame_equal(a0.transactions(), a1.transactions())  # one counter in A

"""The books' totals read without building the transactions table equal the table's sums."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from admarket.market.accounting import FEE_COLUMNS, MONEY_COLUMNS, Accounts, split_fees

RATES = st.sampled_from(
    [{}, {"exchange_fee": 0.2}, {"agent_fee": 0.15, "protocol_fee": 0.0}, {"agent_fee": 1 / 3}]
)


@settings(max_examples=60, deadline=None)
@given(
    batches=st.lists(
        st.tuples(
            st.booleans(),  # an exchange hour (AuctionRows) or a batch given in full
            st.lists(st.integers(0, 10**9), min_size=1, max_size=40),  # gross cents
            RATES,
        ),
        max_size=6,
    )
)
def test_a_money_columns_total_equals_the_tables_sum_to_the_bit(batches):
    """``column_total`` is the pandas sum of the table's column, bit for bit, whichever
    batches charged which fee (a column every batch leaves at zero is not even built)."""
    n_products, n_campaigns = 4, 6
    buyer_of, seller_of = np.arange(n_campaigns) % 3, np.array([0, 1, 1, 2])
    acc = Accounts(n_campaigns, n_products, 3, 3)
    for step, (auction, gross_list, rates) in enumerate(batches):
        gross = np.array(gross_list, dtype=np.int64)
        fees, net = split_fees(gross, rates)
        pair = np.arange(gross.size, dtype=np.int64) % (n_campaigns * n_products)
        lots = np.ones(gross.size, dtype=np.int64)
        if auction:
            acc.record_auction(
                step=step, pair=pair, n_products=n_products, lots=lots, gross=gross, fees=fees,
                net=net, buyer_of=buyer_of, seller_of=seller_of, fee_rates=rates, lot_size=1000,
            )  # fmt: skip
        else:
            c, p = pair // n_products, pair % n_products
            acc.record(
                step=step, kind="settlement", campaign=c, buyer=buyer_of[c], seller=seller_of[p],
                product=p, deal=np.zeros(c.size, dtype=np.int64), lots=lots,
                cpm=gross / 100.0, gross=gross, fees=fees, net=net, value=gross, lot_size=1000,
            )  # fmt: skip
    table = acc.transactions(24)
    for name in MONEY_COLUMNS:
        want = float(table[name].sum())
        got = acc.column_total(name)
        assert got.hex() == want.hex(), name  # the same bits (+0.0 and -0.0 told apart)


def test_each_scenarios_money_totals_equal_its_tables_sums(plan_runs, finished_run):
    """On real runs: every money column of A, B and C, including the agent and protocol
    fees that B and C charge and A does not (the protocol fee is 0 by default: a C run
    that charges it is added)."""
    charged = set()
    for m in (*plan_runs.values(), finished_run("C", protocol_fee=0.01, days=5)):
        table = m.transactions()
        for name in MONEY_COLUMNS:
            want = float(table[name].sum())
            assert m.accounts.column_total(name).hex() == want.hex(), (m.scenario_id, name)
            charged |= {name} if want else set()
    assert {"agent_fee", "protocol_fee", "exchange_fee"} <= charged  # the cases were met


def test_a_column_that_is_not_money_is_refused():
    with pytest.raises(ValueError, match="'campaign' is not a money column"):
        Accounts(1, 1, 1, 1).column_total("campaign")
    assert set(FEE_COLUMNS) <= set(MONEY_COLUMNS)


def test_a_runs_summary_rows_do_not_build_its_transactions_table(plan_runs, monkeypatch):
    """``compare`` without ``--out`` and sweeps send only these rows: building the table
    (20 M rows, ~4 GB in a large A run) just for two fee totals was the summaries' peak.
    The rows are the same as those of the full tables."""
    from admarket.outputs.run_tables import run_summary_tables, run_tables

    full = {s: run_tables(m)["summaries"] for s, m in plan_runs.items()}

    def refuse(self, steps_per_day):
        raise AssertionError("the summary rows built the transactions table")

    monkeypatch.setattr(Accounts, "transactions", refuse)
    for s, m in plan_runs.items():
        got = run_summary_tables(m)["summaries"]
        assert got.equals(full[s]), s
    assert full["B"]["agent_fee_per_mille"].iloc[0] > 0  # a non-zero total was compared


@pytest.mark.parametrize("dtype", [np.int8, np.int16, np.int32, np.int64])
def test_kept_integers_are_narrowed_and_read_back_unchanged(dtype):
    """A's hourly rows are kept in the narrowest integer type holding them (~7 bytes a row
    instead of 20) and read back as the int64 values they were."""
    from admarket.market.accounting import _narrow, _wide

    info = np.iinfo(dtype)
    for values in ([info.min, 0, info.max], [info.max], [info.min]):
        given_ = np.array(values, dtype=np.int64)
        kept = _narrow(given_)
        assert kept.dtype == dtype  # a narrower type cannot hold info.min or info.max
        assert _wide(kept).dtype == np.int64 and _wide(kept).tolist() == values
    # one past the range needs the next type
    if dtype != np.int64:
        assert _narrow(np.array([int(info.max) + 1])).itemsize > np.dtype(dtype).itemsize
    assert _narrow(np.zeros(0, dtype=np.int64)).size == 0

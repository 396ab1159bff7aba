"""The streamed event log equals the plain one: every line built as a dict, then one sort."""

from __future__ import annotations

import json

import numpy as np
import pytest

from admarket import MarketModel, build_config
from admarket.market.accounting import FEE_COLUMNS
from admarket.outputs import event_log
from admarket.outputs.event_log import event_blocks, event_lines
from admarket.outputs.moments import events, records
from admarket.outputs.run_tables import run_tables, to_json

SMALL = {"n_buyers": 3, "n_sellers": 3, "campaigns_per_buyer": 4, "days": 3, "seed": 7}
# memory loss and ledger faults, so that C's log has recoveries, failed reads and more
ROT = {"decay_rate": 0.1, "restart_rate": 0.1, "hallucination_rate": 0.2}


def _reference_lines(tables) -> list[str]:
    """The log as first written: each kind's rows as dicts, then sorted by (step, kind's
    place, row) — model events, transactions (a line and its fee line), ledger, recoveries."""
    rows = [(int(e["step"]), 0, i, e) for i, e in enumerate(events(tables))]
    for i, t in enumerate(records(tables.get("transactions"))):
        kind = {"auction": "auction", "settlement": "delivery"}.get(t["kind"], "fee")
        if kind != "fee":
            fields = ("campaign", "buyer", "seller", "product", "deal", "impressions", "cpm")
            line = {"step": t["step"], "day": t["day"], "kind": kind}
            line |= {c: t[c] for c in (*fields, "buyer_spend", "seller_revenue")}
            rows.append((int(t["step"]), 1, 2 * i, line))
        fees = {c: t[c] for c in FEE_COLUMNS if t[c]}
        if fees:
            fee = {"step": t["step"], "day": t["day"], "kind": "fee", "on": t["kind"]}
            fee |= {"campaign": t["campaign"], "seller": t["seller"], "deal": t["deal"], **fees}
            rows.append((int(t["step"]), 1, 2 * i + 1, fee))
    for i, e in enumerate(records(tables.get("ledger"))):
        keep = {"entry_id": e["entry_id"], "blob_id": e["blob_id"], "entry_kind": e["kind"]}
        line = {"step": e["step"], "day": e["day"], "kind": "ledger_write", **keep}
        rows.append((int(e["step"]), 2, i, line | {"author": e["author"], "hash": e["hash"]}))
    dec = tables.get("agent_decisions")
    if dec is not None and not dec.empty:
        for i, c in enumerate(records(dec[dec["recovered"]])):
            line = {"step": c["step"], "day": c["day"], "kind": "recovery"}
            line |= {"agent": c["agent_id"], "fact_key": c["fact_key"], "source": c["source"]}
            rows.append((int(c["step"]), 3, i, line | {"accurate": c["recovered_ok"]}))
    rows.sort(key=lambda r: r[:3])
    run = tables["runs"].iloc[0]
    ids = {"run_id": str(run["run_id"]), "scenario": str(run["scenario"])}
    return [to_json({**ids, **r}) for *_, r in rows]


@pytest.fixture(scope="module")
def tables() -> dict[str, dict]:
    cfg = build_config(**SMALL, **ROT, ledger_read_failure=0.2)
    return {s: run_tables(MarketModel(s, cfg).run()) for s in "ABC"}


@pytest.mark.parametrize("scenario", list("ABC"))
@pytest.mark.parametrize("chunk", [7, 50_000])
def test_the_streamed_log_is_the_plain_one_line_for_line(tables, scenario, chunk, monkeypatch):
    monkeypatch.setattr(event_log, "CHUNK_ROWS", chunk)
    got = list(event_lines(tables[scenario]))
    assert got == _reference_lines(tables[scenario])
    # the blocks the log file is written from are the same lines, each ending in a newline
    assert "".join(event_blocks(tables[scenario])) == "".join(f"{x}\n" for x in got)
    kinds = {json.loads(x)["kind"] for x in got}
    assert {"fee"} <= kinds and ({"auction"} <= kinds if scenario == "A" else True)
    if scenario == "C":
        assert {"ledger_write", "recovery", "delivery"} <= kinds


@pytest.mark.parametrize("scenario", list("ABC"))
@pytest.mark.parametrize("chunk_rows", [1, 97, 10**9])
def test_logs_read_from_a_chunked_table_are_the_whole_tables_logs(
    scenario, chunk_rows, tmp_path, monkeypatch
):
    """A spooling worker's logs read the transactions a chunk (the event log) or a column
    (A's narrative) at a time: both files are byte for byte those of the whole table, for
    steps split over chunks (chunks of one batch) or not, and with no whole table built."""
    from admarket.market.accounting import Accounts
    from admarket.outputs.chunked import ChunkedTable
    from admarket.outputs.narrative import write_logs

    cfg = build_config(**SMALL, **ROT, ledger_read_failure=0.2)
    m = MarketModel(scenario, cfg).run()
    whole = run_tables(m)
    write_logs(whole, tmp_path / "whole", "all")
    chunked = {**whole, "transactions": run_tables(m, chunk_rows=chunk_rows)["transactions"]}
    assert isinstance(chunked["transactions"], ChunkedTable)
    assert chunked["transactions"].steps_ascend  # a run records its rows in step order

    def refuse(self, steps_per_day):
        raise AssertionError("the logs built the whole transactions table")

    monkeypatch.setattr(Accounts, "transactions", refuse)
    write_logs(chunked, tmp_path / "chunked", "all")
    files = sorted(p.name for p in (tmp_path / "whole").iterdir())
    assert len(files) == 2 and files == sorted(p.name for p in (tmp_path / "chunked").iterdir())
    for name in files:
        got, want = (tmp_path / "chunked" / name), (tmp_path / "whole" / name)
        assert got.read_bytes() == want.read_bytes(), name


def test_a_chunked_table_out_of_step_order_is_logged_from_the_whole_table(tables):
    """Chunks are read in turn only when the rows are in step order; otherwise the event log
    sorts the whole table, as it does any table."""
    from dataclasses import replace

    from admarket.outputs.chunked import ChunkedTable

    tx = tables["A"]["transactions"].iloc[::-1].reset_index(drop=True)  # later steps first

    def no_chunks():
        raise AssertionError("read chunk by chunk")

    table = ChunkedTable(len(tx), tx.shape[1], no_chunks, lambda: tx, tx.__getitem__, False)
    assert list(event_lines({**tables["A"], "transactions": table})) == list(
        event_lines({**tables["A"], "transactions": tx})
    )
    ascending = replace(table, steps_ascend=True)
    with pytest.raises(AssertionError, match="read chunk by chunk"):
        list(event_lines({**tables["A"], "transactions": ascending}))


def test_tables_out_of_step_order_are_put_in_step_order_stably(tables, monkeypatch):
    """Rows of one kind that are not in time order (a table read back in another order)
    are sorted by step, keeping their order within a step, as the plain sort does."""
    monkeypatch.setattr(event_log, "CHUNK_ROWS", 5)
    shuffled = dict(tables["C"])
    for name in ("transactions", "ledger", "agent_decisions"):
        df = shuffled[name]
        shuffled[name] = df.iloc[::-1].reset_index(drop=True)  # later steps first
    got = list(event_lines(shuffled))
    assert got == _reference_lines(shuffled)
    assert got != list(event_lines(tables["C"]))  # within a step the order did change


def test_fee_columns_that_are_not_plain_numbers_take_the_sure_way(tables):
    """Object-typed fee columns (a table read back by another tool) are encoded line by
    line from dicts, and still give the plain log."""
    odd = dict(tables["B"])
    odd["transactions"] = odd["transactions"].astype({FEE_COLUMNS[0]: object})
    assert list(event_lines(odd)) == _reference_lines(odd)


@pytest.mark.parametrize(
    ("values", "in_cents"),
    [
        (np.array([0.0, 0.01, 0.05, 0.1, 0.5, 1.0, 12.3, 12.34, 99.99, 100.0, 1234567.89]), True),
        (np.random.default_rng(3).integers(0, 10**6, 20_000) / 100.0, True),  # money
        (np.random.default_rng(4).integers(0, 10**14 - 1, 20_000) / 100.0, True),  # < 10^12
        (np.array([10**14 - 1, 1, 7]) / 100.0, True),  # the largest amount taken in cents
        (np.array([1e12, 0.5]), False),  # too large
        (np.array([-0.01, 0.5]), False),  # negative
        (np.array([-0.0, 0.5]), False),  # -0.0: repr writes its sign
        (np.array([0.001, 0.5]), False),  # not whole cents
        (np.random.default_rng(5).random(1000) * 40.0, False),  # CPMs: any float
        (np.array([0.1 + 0.2, 1 / 3, 5e-324, 1.7976931348623157e308]), False),
        (np.array([0.07, 12.34], dtype=np.float32), False),  # a float32's repr is longer
    ],
)
def test_json_texts_of_floats_are_their_repr(values, in_cents):
    """Money columns take a faster way (whole cents written out): every text must still
    be exactly what the JSON encoder writes."""
    assert (event_log._cents_texts(values) is not None) == in_cents
    assert event_log._json_texts(values).tolist() == [to_json(v) for v in values.tolist()]

"""The run store: schema, the plan's four queries, logs, and refusing incomplete results."""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import replace

import duckdb
import numpy as np
import pandas as pd
import pytest

from admarket import MarketModel, __version__, build_config
from admarket.cli import main
from admarket.cli.run import run_scenarios
from admarket.outputs.chunked import ChunkedTable, column_of
from admarket.outputs.claim_tables import claim_chunk_rows
from admarket.outputs.event_log import event_lines
from admarket.outputs.manifest import check_complete
from admarket.outputs.narrative import render_narrative
from admarket.outputs.publish import publish
from admarket.outputs.run_ids import with_ids
from admarket.outputs.run_tables import concat_tables, record_chunk_rows, run_tables
from admarket.outputs.store import (
    COMPLETE_MARKER,
    QUERY_NAMES,
    STORE_NAME,
    TABLES,
    query,
    query_sql,
    write_tables,
)
from admarket.outputs.store_writer import SENT_WHOLE, SpooledTable, StoreWriter, spool_tables

SMALL = {"n_buyers": 3, "n_sellers": 3, "campaigns_per_buyer": 4, "days": 3, "seed": 7}


@pytest.fixture(scope="module")
def stored(tmp_path_factory):
    """A, B and C on one small market, written with ``run --out`` semantics."""
    out = tmp_path_factory.mktemp("run")
    models = run_scenarios(build_config(**SMALL), ["A", "B", "C"], progress=False, out=str(out))
    return out, {m.scenario_id: m for m in models}


def test_every_table_exists_with_run_scenario_seed(stored):
    out, _ = stored
    names = set(query(out, "SHOW TABLES")["name"])
    assert set(TABLES) <= names
    for t in TABLES:
        cols = set(query(out, f"DESCRIBE {t}")["column_name"])
        assert {"run_id", "seed"} <= cols, t
        # ground_truth omits scenario so the plan's hallucination query stays unambiguous
        assert ("scenario" in cols) == (t != "ground_truth"), t


def test_plan_query_columns_exist(stored):
    out, _ = stored
    need = {
        "transactions": {"buyer_spend", "seller_revenue", "scenario"},
        "campaigns": {"actual_impressions", "target_impressions", "actual_cpm", "target_cpm"},
        "daily_metrics": {"simulation_day", "daily_goal_attainment", "agent_restart_events"},
        "agent_decisions": {"agent_type", "decision_basis_verified", "claimed_fact_id"},
        "ground_truth": {"fact_id"},
    }
    for t, cols in need.items():
        assert cols <= set(query(out, f"DESCRIBE {t}")["column_name"]), t


def test_runs_table_holds_config_seed_version(stored):
    out, models = stored
    runs = query(out, "SELECT * FROM runs ORDER BY scenario")
    assert list(runs["scenario"]) == ["A", "B", "C"]
    assert set(runs["status"]) == {"complete"}
    assert set(runs["package_version"]) == {__version__}
    for r in runs.itertuples():
        assert json.loads(r.config) == json.loads(json.dumps(models[r.scenario].config.to_dict()))
        assert r.seed == SMALL["seed"]


def test_fee_extraction_query_matches_model(stored):
    out, models = stored
    df = query(out, query_sql("fee_extraction")).set_index("scenario")
    for s, m in models.items():
        summ = m.summary()
        assert df.loc[s, "gross_spend"] == pytest.approx(summ["gross_spend"])
        assert df.loc[s, "net_to_publisher"] == pytest.approx(summ["net_to_publishers"])
        assert df.loc[s, "take_rate_pct"] == pytest.approx(summ["take_rate"] * 100)


def test_goal_achievement_query_matches_model(stored):
    out, models = stored
    df = query(out, query_sql("goal_achievement")).set_index("scenario")
    for s, m in models.items():
        summ = m.summary()
        assert df.loc[s, "total_campaigns"] == summ["campaigns"]
        assert df.loc[s, "hit_impression_goal"] == summ["hit_impression_goal"]
        assert df.loc[s, "hit_cpm_goal"] == summ["hit_cpm_goal"]
        assert df.loc[s, "avg_goal_attainment"] == pytest.approx(summ["mean_goal_attainment"])


def test_context_rot_query_has_one_row_per_scenario_day(stored):
    out, models = stored
    df = query(out, query_sql("context_rot"))
    assert len(df) == 3 * SMALL["days"]
    b = df[df["scenario"] == "B"]
    assert b["context_losses"].sum() == models["B"].summary()["facts_lost"]
    a = df[df["scenario"] == "A"]
    assert a["context_losses"].sum() == 0 and a["recovery_fidelity"].isna().all()


def test_hallucination_query_matches_claim_audit(stored):
    out, models = stored
    df = query(out, query_sql("hallucination_rate"))
    for s, m in models.items():
        audit = m.claim_audit()
        g = df[df["scenario"] == s]
        assert g["total_decisions"].sum() == len(audit)
        assert g["hallucinated_decisions"].sum() == int(audit["is_hallucination"].sum())
    assert df[df["scenario"] == "C"]["hallucinated_decisions"].sum() == 0


def test_ledger_and_events_are_stored_exactly(stored):
    out, models = stored
    c = models["C"]
    led = query(out, "SELECT entry_id, hash, payload FROM ledger ORDER BY entry_id")
    assert len(led) == c.ledger.n_entries
    assert list(led["hash"]) == [e.hash for e in c.ledger.entries]
    assert json.loads(led["payload"].iloc[0]) == c.ledger.entries[0].payload
    ev = query(out, "SELECT scenario, COUNT(*) AS n FROM events GROUP BY scenario")
    counts = dict(zip(ev["scenario"], ev["n"], strict=True))
    for s, m in models.items():
        assert counts.get(s, 0) == len(m.events.records)


def test_event_log_and_narrative_come_from_real_events(stored):
    out, models = stored
    logs = out / "logs"
    lines = (logs / f"s{SMALL['seed']:06d}-C.events.jsonl").read_text().splitlines()
    recs = [json.loads(x) for x in lines]
    kinds = {r["kind"] for r in recs}
    assert {"deal", "delivery", "fee", "ledger_write"} <= kinds
    steps = [r["step"] for r in recs]
    assert steps == sorted(steps)
    assert sum(r["kind"] == "ledger_write" for r in recs) == models["C"].ledger.n_entries
    text = (logs / f"s{SMALL['seed']:06d}-B.narrative.md").read_text()
    assert "## Deals" in text and "Deal completed" in text


def test_narrative_verbosity_caps_stories():
    m_tables = run_tables(MarketModel("B", build_config(**{**SMALL, "days": 4})).run())
    key = render_narrative(m_tables, "key")
    full = render_narrative(m_tables, "all")
    assert key.count("### Deal completed") <= 5
    assert full.count("### Deal completed") == (m_tables["events"]["kind"] == "deal").sum()
    assert "Day by day" in render_narrative(m_tables, "daily") and "Day by day" not in key
    assert sum(1 for _ in event_lines(m_tables)) > len(m_tables["events"])


def test_cli_query_prints_tables(stored, capsys):
    out, _ = stored
    for name in QUERY_NAMES:
        assert main(["query", str(out), "--name", name]) == 0
        assert "scenario" in capsys.readouterr().out
    assert main(["query", str(out), "--sql", "SELECT COUNT(*) AS n FROM runs"]) == 0
    assert capsys.readouterr().out.split() == ["n", "3"]
    assert main(["query", str(out), "--sql", "SELECT nope FROM runs"]) == 2
    assert "query failed" in capsys.readouterr().err


def test_readers_refuse_a_directory_without_complete_marker(stored, tmp_path, capsys):
    out, _ = stored
    copy = tmp_path / "copy"
    copy.mkdir()
    (copy / STORE_NAME).write_bytes((out / STORE_NAME).read_bytes())
    assert not (copy / COMPLETE_MARKER).exists()
    assert main(["query", str(copy), "--name", "fee_extraction"]) == 2
    assert "COMPLETE" in capsys.readouterr().err
    assert main(["report", str(copy)]) == 2
    assert main(["report", str(tmp_path / "missing")]) == 2


def test_query_reads_the_store_and_nothing_else(stored, tmp_path, capsys):
    out, _ = stored
    report = out / "report.md"
    before = report.read_bytes()
    outside = tmp_path / "outside.csv"
    outside.write_text("a,b\n1,2\n")
    for sql in (
        f"COPY (SELECT 'x') TO '{report}'",
        f"COPY runs TO '{tmp_path / 'leak.csv'}'",
        f"SELECT * FROM read_csv('{outside}')",
        "SELECT * FROM read_csv('/etc/passwd')",
        "INSTALL httpfs",
        "LOAD httpfs",
        f"ATTACH '{tmp_path / 'other.duckdb'}' AS other",
        "SET enable_external_access = true",
        "SET threads = 4",
        "CREATE TABLE extra AS SELECT 1 AS x",
        "DELETE FROM runs",
    ):
        assert main(["query", str(out), "--sql", sql]) == 2, sql
        err = capsys.readouterr().err.strip()
        assert err.startswith("admarket: error: query failed") and len(err.splitlines()) == 1
    assert report.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["outside.csv"]
    check_complete(out)  # every file of the result as it was written
    assert len(query(out, "SELECT * FROM runs")) == 3


def test_report_and_status_on_what_is_not_a_result_say_so(tmp_path, capsys):
    """``report`` on a folder of the user's says it is not a result (not the advice for an
    output folder) and leaves it alone; ``status`` on a file says it is not a folder."""
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "x").write_text("mine")
    assert main(["report", str(mine)]) == 2
    err = capsys.readouterr().err
    assert "no COMPLETE marker" in err and "new or empty folder" not in err
    assert [p.name for p in mine.iterdir()] == ["x"]
    assert main(["status", str(mine / "x")]) == 2
    assert capsys.readouterr().err.strip().endswith("x: not a folder")


def test_a_query_without_a_statement_is_one_line(stored, capsys):
    """SQL with no statement that returns rows ("", ";", a comment alone) is a one-line
    error, exit 2, not a traceback."""
    out, _ = stored
    for sql in ("", ";", "-- nothing", "  \n"):
        assert main(["query", str(out), "--sql", sql]) == 2, repr(sql)
        err = capsys.readouterr().err.strip()
        assert err == "admarket: error: query failed: the SQL holds no statement that returns rows"


def test_float_sums_in_the_store_are_the_same_every_time(tmp_path):
    """One thread per read: SUM over a million doubles adds in table order, so its last
    digit does not depend on how DuckDB splits the work (with several threads it does)."""
    rng = np.random.default_rng(0)
    values = pd.DataFrame({"x": rng.random(1_000_000) * 1e4})
    publish(tmp_path / "r", lambda t: write_tables(t / STORE_NAME, {"t": values}), {"kind": "run"})
    sums = {
        float(query(tmp_path / "r", "SELECT SUM(x) AS s FROM t")["s"].iloc[0]) for _ in range(6)
    }
    assert len(sums) == 1
    assert sums.pop() == pytest.approx(values["x"].sum(), rel=1e-12)


# --- the streaming writer -------------------------------------------------------------------
def _read_all(db) -> dict[str, tuple[list, pd.DataFrame]]:
    import duckdb

    con = duckdb.connect(str(db), read_only=True)
    try:
        names = [r[0] for r in con.execute("SHOW TABLES").fetchall()]
        return {
            n: (
                con.execute(f'DESCRIBE "{n}"').fetchall(),
                con.execute(f'SELECT * FROM "{n}"').df(),
            )
            for n in names
        }
    finally:
        con.close()


@pytest.fixture(scope="module")
def three_runs(stored):
    _, models = stored
    return [run_tables(models[s]) for s in "ABC"]


@pytest.mark.parametrize("flush_cells", [1, 10**9])
@pytest.mark.parametrize("order", [[0, 1, 2, 3, 4, 5], [5, 3, 4, 0, 2, 1]])
@pytest.mark.parametrize("spool_cells", [None, 1, 20_000])  # none, every table, the larger
def test_streamed_store_equals_one_write_whatever_the_order_and_chunks(
    three_runs, tmp_path, flush_cells, order, spool_cells
):
    runs = [three_runs[i % 3] for i in range(6)]
    write_tables(tmp_path / "ref.duckdb", concat_tables(runs))
    w = StoreWriter(tmp_path / "s.duckdb", flush_cells=flush_cells)
    spooled = 0
    for i in order:
        run = runs[i]
        if spool_cells is not None:  # as a worker leaves them (outputs.spool)
            run = spool_tables(run, tmp_path / f"run{i}.duckdb", spool_cells)
            spooled += sum(isinstance(t, SpooledTable) for t in run.values())
        w.add(i, run)
    w.finish()
    assert (spooled > 0) == (spool_cells is not None)
    assert not list(tmp_path.glob("run*.duckdb"))  # each copied in, then deleted
    ref, got = _read_all(tmp_path / "ref.duckdb"), _read_all(tmp_path / "s.duckdb")
    assert set(got) == set(ref)
    for name, (types, frame) in ref.items():
        assert got[name][0] == types, name
        pd.testing.assert_frame_equal(got[name][1], frame, obj=name)


def test_a_run_that_spools_a_table_spools_its_other_large_ones_with_it(three_runs, tmp_path):
    """Once a run has a table to spool, its other tables from ``companion_cells`` up go into
    the same file (sent whole, C's ledger, settlements and events at 500 × 200 were ~170 MB
    pickled beside themselves: the worker's peak), smaller ones stay frames; and a run with
    no table to spool spools none, however low the companions' bar. The store is the one
    the frames make."""
    run = three_runs[2]  # C: every table filled
    sizes = {k: v.size for k, v in run.items() if k not in SENT_WHOLE and len(v)}
    ranked = sorted(sizes.values())
    bar = ranked[len(ranked) // 2]  # the median table's cells: some go, some stay
    assert ranked[0] < bar < ranked[-1]
    out = spool_tables(run, tmp_path / "r.duckdb", min_cells=ranked[-1], companion_cells=bar)
    assert {k for k, v in out.items() if isinstance(v, SpooledTable)} == {
        k for k, n in sizes.items() if n >= bar
    }
    kept = spool_tables(run, tmp_path / "n.duckdb", min_cells=ranked[-1] + 1, companion_cells=1)
    assert all(kept[k] is run[k] for k in run) and not (tmp_path / "n.duckdb").exists()
    write_tables(tmp_path / "ref.duckdb", concat_tables([run]))
    w = StoreWriter(tmp_path / "s.duckdb")
    w.add(0, out)
    w.finish()
    ref, got = _read_all(tmp_path / "ref.duckdb"), _read_all(tmp_path / "s.duckdb")
    assert set(got) == set(ref)
    for name, (types, frame) in ref.items():
        assert got[name][0] == types, name
        pd.testing.assert_frame_equal(got[name][1], frame, obj=name)


def test_spooling_keeps_small_and_header_tables_as_frames(three_runs, tmp_path):
    run = three_runs[2]  # C: every table filled
    out = spool_tables(run, tmp_path / "r.duckdb", min_cells=1)
    assert isinstance(out["runs"], pd.DataFrame) and isinstance(out["summaries"], pd.DataFrame)
    assert isinstance(out["agent_decisions"], SpooledTable)
    assert out["agent_decisions"].cells == run["agent_decisions"].size
    untouched = spool_tables(run, tmp_path / "none.duckdb", min_cells=10**12)
    assert all(untouched[k] is run[k] for k in run)
    assert not (tmp_path / "none.duckdb").exists()  # nothing to spool: no file


@pytest.mark.parametrize("chunk_rows", [1, 997, 10**9])
def test_a_table_spooled_chunk_by_chunk_makes_the_store_a_whole_one_does(
    stored, three_runs, tmp_path, chunk_rows
):
    """A worker that spools writes A's transactions a chunk of whole hours at a time, never
    holding the table: the store is the same as from the frame (values and types), and a
    chunked table it does not spool is sent whole."""
    _, models = stored
    chunked = [  # (the other tables as they were: a new run_tables has a new created_at)
        {
            **three_runs[i],
            "transactions": run_tables(models[s], chunk_rows=chunk_rows)["transactions"],
        }
        for i, s in enumerate("ABC")
    ]
    tx = chunked[0]["transactions"]
    assert isinstance(tx, ChunkedTable) and len(tx) == len(three_runs[0]["transactions"])
    assert tx.size == three_runs[0]["transactions"].size
    frames = list(tx.chunks())
    assert len(frames) > 1 if chunk_rows < len(tx) else len(frames) == 1
    pd.testing.assert_frame_equal(
        pd.concat(frames, ignore_index=True), tx.whole(), check_exact=True
    )
    pd.testing.assert_frame_equal(tx.whole(), three_runs[0]["transactions"], check_exact=True)
    for name, values in tx.whole().items():  # each column alone, as the narrative reads it
        alone = column_of(tx, name)
        assert alone.dtype == values.to_numpy().dtype and np.array_equal(alone, values), name
    write_tables(tmp_path / "ref.duckdb", concat_tables(three_runs))
    w = StoreWriter(tmp_path / "s.duckdb")
    for i, run in enumerate(chunked):
        out = spool_tables(run, tmp_path / f"run{i}.duckdb", min_cells=1)
        assert isinstance(out["transactions"], SpooledTable)
        w.add(i, out)
    w.finish()
    ref, got = _read_all(tmp_path / "ref.duckdb"), _read_all(tmp_path / "s.duckdb")
    assert set(got) == set(ref)
    for name, (types, frame) in ref.items():
        assert got[name][0] == types, name
        pd.testing.assert_frame_equal(got[name][1], frame, obj=name, check_exact=True)
    kept = spool_tables(chunked[0], tmp_path / "none.duckdb", min_cells=10**12)
    pd.testing.assert_frame_equal(
        kept["transactions"], three_runs[0]["transactions"], check_exact=True
    )
    assert not (tmp_path / "none.duckdb").exists()


@pytest.mark.parametrize("chunk_rows", [1, 997, 10**9])
@pytest.mark.parametrize("which", ["every", "A's", "none"])  # which are written in chunks
@pytest.mark.parametrize("order", [[0, 1, 2, 3, 4, 5], [5, 3, 4, 0, 2, 1]])
def test_the_writer_takes_a_chunked_table_as_a_whole_one_without_building_it(
    stored, three_runs, tmp_path, whole_builds, chunk_rows, which, order
):
    """A run stored in this process (``run --out``, a one-process ``compare``) hands the
    writer its transactions as a ChunkedTable: from ``chunked_cells`` up the writer appends
    it a chunk at a time after the frames of the runs before it and before those after it,
    never building it whole; a smaller one is built and stacked with them. Either way the
    store is the one whole frames make, whatever order the runs arrive in (with A's alone
    in chunks, B's and C's frames come between them)."""
    _, models = stored
    sizes = [three_runs[i]["transactions"].size for i in range(3)]
    assert sizes[0] > max(sizes[1:])  # A's is the largest
    chunked_cells = {"every": 1, "A's": sizes[0], "none": 10**12}[which]
    chunked = [
        {
            **three_runs[i],
            "transactions": run_tables(models[s], chunk_rows=chunk_rows)["transactions"],
        }
        for i, s in enumerate("ABC")
    ]
    runs = [chunked[i % 3] for i in range(6)]
    write_tables(tmp_path / "ref.duckdb", concat_tables([three_runs[i % 3] for i in range(6)]))
    built = whole_builds
    w = StoreWriter(tmp_path / "s.duckdb", flush_cells=10**9, chunked_cells=chunked_cells)
    for i in order:
        w.add(i, runs[i])
    w.finish()
    assert len(built) == {"every": 0, "A's": 4, "none": 6}[which]
    ref, got = _read_all(tmp_path / "ref.duckdb"), _read_all(tmp_path / "s.duckdb")
    assert set(got) == set(ref)
    for name, (types, frame) in ref.items():
        assert got[name][0] == types, name
        pd.testing.assert_frame_equal(got[name][1], frame, obj=name, check_exact=True)


def test_run_out_never_builds_a_runs_whole_transactions_table(
    stored, tmp_path, monkeypatch, whole_builds, whole_claim_builds
):
    """``run --out`` stores each run's transactions and claims, and its logs read them, a
    chunk at a time once they are large (here: from one cell up, in 100-row chunks): the
    result is the one whole tables make — every table, every log byte, the report — and no
    run's whole transactions or claims table is ever built."""
    import admarket.outputs.store_writer as sw

    ref, _ = stored
    monkeypatch.setattr(sw, "SPOOL_CELLS", 1)
    monkeypatch.setattr(sw, "CHUNK_ROWS", 100)
    built = whole_builds
    out = tmp_path / "chunked"
    run_scenarios(build_config(**SMALL), ["A", "B", "C"], progress=False, out=str(out))
    assert built == []
    assert len(MarketModel("A", build_config(**SMALL)).run().transactions()) > 100
    got, want = _read_all(out / STORE_NAME), _read_all(ref / STORE_NAME)
    # claims that fit in one chunk are built whole (once): here A's; B's and C's are not
    per_run = want["agent_decisions"][1].groupby("scenario").size()
    assert list(per_run[per_run > 100].index) == ["B", "C"] and whole_claim_builds == [1]
    assert set(got) == set(want)
    for name, (types, frame) in want.items():
        assert got[name][0] == types, name
        if name == "runs":  # created_at is the wall clock
            frame, got[name] = (
                frame.drop(columns="created_at"),
                (
                    types,
                    got[name][1].drop(columns="created_at"),
                ),
            )
        pd.testing.assert_frame_equal(got[name][1], frame, obj=name, check_exact=True)
    logs = sorted(p.name for p in (ref / "logs").iterdir())
    assert len(logs) == 6 and logs == sorted(p.name for p in (out / "logs").iterdir())
    for name in logs:
        assert (out / "logs" / name).read_bytes() == (ref / "logs" / name).read_bytes(), name
    assert (out / "report.json").read_bytes() == (ref / "report.json").read_bytes()


def test_a_spooling_worker_never_builds_a_runs_whole_transactions_table(tmp_path, whole_builds):
    """The memory bound: a spooling worker writes a run's transactions a chunk at a time and
    its logs read them a chunk (the event log) or a column (the narrative) at a time, so it
    never holds the whole table (A's is 4 GB at 500 × 200), logged run or not; a run it
    cannot spool is sent whole."""
    from admarket.batch.pool import Task, run_task
    from admarket.outputs.spool import LOGS_WRITTEN, Spool

    (tmp_path / "spool").mkdir()
    (tmp_path / "logs").mkdir()
    kwargs = {"design": "A", "config": build_config(days=2), "rng": 1}
    rows = len(MarketModel(**kwargs).run().transactions())
    built = whole_builds
    built.clear()  # (that one was the reference's)
    spool = Spool(str(tmp_path / "spool"), str(tmp_path / "logs"), None, 1, chunk_rows=100)
    quiet = run_task(Task(0, 0, kwargs, spool=spool))["tables"]
    assert isinstance(quiet["transactions"], SpooledTable) and built == []
    assert LOGS_WRITTEN not in quiet
    con = duckdb.connect(quiet["transactions"].path, read_only=True)
    try:
        n = con.execute("SELECT COUNT(*) FROM transactions").fetchone()[0]
    finally:
        con.close()
    assert n == rows > 100  # every row, in more than one chunk
    logged = replace(spool, verbosity="all")
    out = run_task(Task(1, 0, kwargs, spool=logged))["tables"]
    assert out[LOGS_WRITTEN] is True and isinstance(out["transactions"], SpooledTable)
    assert built == [] and len(list((tmp_path / "logs").iterdir())) == 2
    # DuckDB cannot create the spool file (a folder squats its name): sent whole
    (tmp_path / "spool" / f".run-000002.duckdb.{os.getpid()}.part").mkdir()
    sent = run_task(Task(2, 0, kwargs, spool=spool))["tables"]
    assert isinstance(sent["transactions"], pd.DataFrame) and built == [1]
    assert len(sent["transactions"]) == rows


def test_a_spooling_worker_never_builds_a_runs_whole_claims(tmp_path, whole_claim_builds):
    """C's claims (``agent_decisions`` and ``ground_truth``: millions of rows at 500 × 200,
    about 1 GB as frames) and its ledger, events and settlements (~300 MB) go from the
    run's claim log and lists of records into the spool file a chunk at a time, and its
    logs read them a chunk at a time too (the narrative the events and settlements whole):
    the spooled tables are the ones the whole frames make (values and types), the logs the
    ones whole tables write."""
    from admarket.batch.pool import Task, run_task
    from admarket.outputs.narrative import write_logs
    from admarket.outputs.spool import LOGS_WRITTEN, Spool

    kwargs = {"design": "C", "config": build_config(days=3), "rng": 1}
    model = MarketModel(**kwargs).run()
    ref = run_tables(model)
    assert len(ref["agent_decisions"]) > 1000  # more than ten 100-row chunks
    chunked = run_tables(model, chunk_rows=100)
    records = ("ledger", "events", "settlements")
    per_chunk = {name: record_chunk_rows(name, 100) for name in records}
    for name in ("agent_decisions", "ground_truth", *records):
        table = chunked[name]
        assert isinstance(table, ChunkedTable) and table.steps_ascend
        assert (len(table), table.size) == (len(ref[name]), ref[name].size), name
        frames = list(table.chunks())
        assert len(frames) == -(-len(table) // per_chunk.get(name, claim_chunk_rows(100))) > 1
        whole = pd.concat(frames)
        pd.testing.assert_frame_equal(whole, ref[name], check_exact=True, obj=name)
        pd.testing.assert_frame_equal(table.whole(), ref[name], check_exact=True, obj=name)
        for column in {
            "agent_decisions": ("step", "fact_key", "claimed_value"),
            "ground_truth": ("step", "fact_key", "seed"),
            "ledger": ("step", "payload", "run_id"),
            "events": ("seq", "fields", "kind"),
            "settlements": ("day", "outcome", "paid"),
        }[name]:
            values = ref[name][column].to_numpy()
            alone = column_of(table, column)
            assert alone.dtype == values.dtype and np.array_equal(alone, values), column
    whole = spool_tables(ref, tmp_path / "whole.duckdb", min_cells=1)
    assert isinstance(whole["agent_decisions"], SpooledTable)
    (tmp_path / "ref_logs").mkdir()
    write_logs(ref, tmp_path / "ref_logs", "all")
    for folder in ("spool", "logs"):
        (tmp_path / folder).mkdir()
    whole_claim_builds.clear()  # (those were the reference's)
    spool = Spool(str(tmp_path / "spool"), str(tmp_path / "logs"), "all", 1, chunk_rows=100)
    out = run_task(Task(0, 0, kwargs, spool=spool))["tables"]
    assert whole_claim_builds == [] and out[LOGS_WRITTEN] is True
    got, want = _read_all(out["agent_decisions"].path), _read_all(tmp_path / "whole.duckdb")
    for name in ("agent_decisions", "ground_truth", *records):
        assert isinstance(out[name], SpooledTable)
        assert got[name][0] == want[name][0], name
        pd.testing.assert_frame_equal(got[name][1], want[name][1], obj=name, check_exact=True)
    names = sorted(p.name for p in (tmp_path / "ref_logs").iterdir())
    assert names == sorted(p.name for p in (tmp_path / "logs").iterdir()) and len(names) == 2
    for name in names:
        assert (tmp_path / "logs" / name).read_bytes() == (
            tmp_path / "ref_logs" / name
        ).read_bytes()


def test_chunked_tables_do_not_keep_their_model():
    """A worker lets its model go before writing the run's tables (``run_task``): the
    chunked transactions, claims, ledger, events and settlements hold the books, the claim
    log and the model's lists of records, not the model (the claim log's ground truth reads
    the model, so the tables get the log without it)."""
    import gc
    import weakref

    model = MarketModel("C", build_config(days=3), rng=1).run()
    tables = run_tables(model, chunk_rows=100)
    chunked = ("agent_decisions", "ground_truth", "ledger", "events", "settlements")
    assert all(isinstance(tables[n], ChunkedTable) for n in chunked)
    gone = weakref.ref(model)
    del model
    gc.collect()
    assert gone() is None
    for name in chunked:  # still readable without it
        frames = list(tables[name].chunks())
        assert sum(map(len, frames)) == len(tables[name]) > 50, name


@pytest.mark.parametrize("large", [True, False])
def test_a_worker_collects_a_large_runs_model_before_writing_its_tables(
    tmp_path, monkeypatch, large
):
    """``run_task`` lets its model go before the run's tables are written. The model is a
    web of reference cycles, which ``del`` alone does not free: a run with a table large
    enough to be written a chunk at a time (here from one cell up) is collected first; a
    small run's model is left to Python's collector (a collection costs ~0.1 s a run)."""
    import gc
    import weakref

    import admarket.outputs.store_writer as sw
    from admarket.batch.pool import Task, run_task
    from admarket.outputs.spool import Spool

    if large:
        monkeypatch.setattr(sw, "SPOOL_CELLS", 1)
    models: list = []
    real_init = MarketModel.__init__

    def init(self, *a, **k):
        real_init(self, *a, **k)
        models.append(weakref.ref(self))

    monkeypatch.setattr(MarketModel, "__init__", init)
    alive: list[bool] = []
    real_take = Spool.take
    monkeypatch.setattr(
        Spool,
        "take",
        lambda self, *a: (alive.append(models[-1]() is not None), real_take(self, *a))[1],
    )
    for folder in ("spool", "logs"):
        (tmp_path / folder).mkdir()
    spool = Spool(str(tmp_path / "spool"), str(tmp_path / "logs"), None, 1, chunk_rows=100)
    kwargs = {"design": "C", "config": build_config(days=2), "rng": 1}
    gc.disable()  # only run_task's own collection may free the model
    try:
        run_task(Task(0, 0, kwargs, spool=spool))
    finally:
        gc.enable()
    assert alive == [not large]


def test_a_chunked_table_too_small_to_spool_is_sent_whole_beside_a_spooled_one(stored, tmp_path):
    """A B or C run whose claims are spooled and whose transactions are below both bars
    (the spooling one and the companions'): the transactions go to the parent as a frame,
    built whole."""
    _, models = stored
    tables = run_tables(models["C"], chunk_rows=1000)
    assert isinstance(tables["transactions"], ChunkedTable)
    cells = tables["transactions"].size + 1
    assert tables["agent_decisions"].size >= cells  # the claims are the larger
    out = spool_tables(tables, tmp_path / "r.duckdb", min_cells=cells, companion_cells=cells)
    assert isinstance(out["agent_decisions"], SpooledTable)
    pd.testing.assert_frame_equal(
        out["transactions"], run_tables(models["C"])["transactions"], check_exact=True
    )


@pytest.mark.parametrize("spool", [False, True])
def test_a_later_chunk_widens_types_and_adds_columns_as_pandas_would(tmp_path, spool):
    runs = [
        {"events": pd.DataFrame({"x": [1, 2], "s": [None, None]})},
        {"events": pd.DataFrame({"x": [1.5, np.nan], "s": ["a", None], "y": [True, False]})},
        {"events": pd.DataFrame({"x": [3], "s": ["b"], "y": [False]})},
    ]
    write_tables(tmp_path / "ref.duckdb", concat_tables(runs))
    w = StoreWriter(tmp_path / "s.duckdb", flush_cells=1)
    for i, r in enumerate(runs):
        w.add(i, spool_tables(r, tmp_path / f"r{i}.duckdb", 1) if spool else r)
    w.finish()
    ref, got = _read_all(tmp_path / "ref.duckdb"), _read_all(tmp_path / "s.duckdb")
    assert got["events"][0] == ref["events"][0]
    assert [t for _, t, *_ in got["events"][0]] == ["DOUBLE", "VARCHAR", "BOOLEAN"]
    pd.testing.assert_frame_equal(got["events"][1], ref["events"][1])


@pytest.mark.parametrize("flush_cells", [1, 10**9])
@pytest.mark.parametrize("spool", [False, True])
def test_a_column_some_runs_lack_gets_the_type_of_one_write_whatever_the_chunks(
    tmp_path, flush_cells, spool
):
    """An integer column missing from some runs is NULL in their rows: one write of every
    run (pandas) makes it DOUBLE, so a chunked write must too, whether the runs lacking it
    come before or after."""
    runs = [
        {"events": pd.DataFrame({"x": [1, 2], "late": [7, 8]})},
        {"events": pd.DataFrame({"x": [3], "c": [5], "b": [True], "s": ["a"]})},
        {"events": pd.DataFrame({"x": [4], "late": [9]})},
    ]
    write_tables(tmp_path / "ref.duckdb", concat_tables(runs))
    w = StoreWriter(tmp_path / "s.duckdb", flush_cells=flush_cells)
    for i, r in enumerate(runs):
        w.add(i, spool_tables(r, tmp_path / f"r{i}.duckdb", 1) if spool else r)
    w.finish()
    ref, got = _read_all(tmp_path / "ref.duckdb"), _read_all(tmp_path / "s.duckdb")
    assert got["events"][0] == ref["events"][0]
    assert {c: t for c, t, *_ in got["events"][0]}["c"] == "DOUBLE"
    pd.testing.assert_frame_equal(got["events"][1], ref["events"][1])


def test_a_table_that_is_neither_a_frame_nor_a_spool_file_is_an_error_not_left_out(
    three_runs, tmp_path
):
    w = StoreWriter(tmp_path / "s.duckdb")
    w.add(0, {**three_runs[0], "transactions": "s000001-A.transactions"})
    with pytest.raises(TypeError, match="internal error: table transactions of a run is"):
        w.finish()


def test_the_closing_checkpoint_leaves_earlier_row_groups_as_they_are(tmp_path):
    """The study's checkpoints leave under-filled row groups; the store's closing checkpoint
    does not merge them (DuckDB's vacuum rewrote most of the claims tables there, a second
    of the serial tail for one last run's rows). The rows and their order are one write's."""
    runs = [
        {
            "agent_decisions": pd.DataFrame(
                {"run_id": f"r{i}", "fact_key": [f"deal:{j}:price" for j in range(3000)]}
            ).assign(x=np.arange(3000.0) + i)
        }
        for i in range(4)
    ]
    w = StoreWriter(tmp_path / "s.duckdb", flush_cells=1)
    for i, r in enumerate(runs):
        w.add(i, r)
        if i < len(runs) - 1:  # as the study's automatic checkpoints do; the last run's
            w.con.execute("CHECKPOINT")  # rows wait for the closing one
    w.finish()
    write_tables(tmp_path / "ref.duckdb", concat_tables(runs))
    with duckdb.connect(str(tmp_path / "s.duckdb"), read_only=True) as con:
        groups = con.execute(
            "SELECT count(DISTINCT row_group_id) FROM pragma_storage_info('agent_decisions')"
        ).fetchone()
        got = con.execute("SELECT * FROM agent_decisions").df()
    assert groups is not None and groups[0] > 1  # a vacuum would have made them one
    with duckdb.connect(str(tmp_path / "ref.duckdb"), read_only=True) as con:
        pd.testing.assert_frame_equal(got, con.execute("SELECT * FROM agent_decisions").df())


def test_the_writer_keeps_no_run_it_has_written(three_runs, tmp_path):
    import gc
    import weakref

    w = StoreWriter(tmp_path / "s.duckdb", flush_cells=1)
    refs = []
    for i in range(4):
        run = {k: v.copy() for k, v in three_runs[i % 3].items()}
        refs.append(weakref.ref(run["agent_decisions"]))
        w.add(i, run)
        del run
    gc.collect()
    assert all(r() is None for r in refs)  # written and let go, not held to the end
    late = {k: v.copy() for k, v in three_runs[0].items()}
    ahead = weakref.ref(late["events"])
    w.add(5, late)  # run 4 has not arrived: run 5 waits for it
    del late
    gc.collect()
    assert ahead() is not None
    with pytest.raises(ValueError, match="added twice"):
        w.add(5, three_runs[0])
    with pytest.raises(ValueError, match=r"runs \[4\] never arrived"):
        w.finish()


def test_a_table_empty_in_every_run_takes_the_first_runs_frame(three_runs, tmp_path):
    runs = [three_runs[0], three_runs[1]]  # A and B: no ledger
    write_tables(tmp_path / "ref.duckdb", concat_tables(runs))
    w = StoreWriter(tmp_path / "s.duckdb")
    for i, r in enumerate(runs):
        w.add(i, r)
    w.finish()
    ref, got = _read_all(tmp_path / "ref.duckdb"), _read_all(tmp_path / "s.duckdb")
    assert set(got) == set(ref) and len(got["ledger"][1]) == 0
    assert got["ledger"][0] == ref["ledger"][0]


def test_a_chunked_table_empty_in_every_run_is_created_like_an_empty_frame(three_runs, tmp_path):
    empty = three_runs[0]["transactions"].iloc[:0]
    table = ChunkedTable(
        0, empty.shape[1], lambda: iter(()), lambda: empty, lambda n: empty[n].to_numpy(), True
    )
    runs = [{**three_runs[i], "transactions": empty} for i in (0, 1)]
    write_tables(tmp_path / "ref.duckdb", concat_tables(runs))
    w = StoreWriter(tmp_path / "s.duckdb")
    for i, r in enumerate(runs):
        w.add(i, {**r, "transactions": table})
    w.finish()
    ref, got = _read_all(tmp_path / "ref.duckdb"), _read_all(tmp_path / "s.duckdb")
    assert got["transactions"][0] == ref["transactions"][0] and len(got["transactions"][1]) == 0


def test_stamping_a_frame_with_the_run_ids_leaves_the_callers_frame_as_it_was():
    """``with_ids`` copies shallowly (a large run's tables are gigabytes): the caller's
    frame keeps its columns, values and dtypes, and writing into the stamped one does not
    reach it."""
    m = MarketModel("B", build_config(**{**SMALL, "days": 2})).run()
    tx = m.transactions()
    before = tx.copy()
    stamped = with_ids(tx, "r", "B", 7)
    assert list(stamped.columns[:3]) == ["run_id", "scenario", "seed"]
    stamped.loc[0, "buyer_spend"] = -1.0
    stamped["kind"] = "changed"
    pd.testing.assert_frame_equal(tx, before)


def test_a_worker_that_does_not_see_the_build_folder_sends_its_run_and_makes_nothing(
    three_runs, tmp_path
):
    """A worker on another machine without the disk, or one still finishing after a failed
    study removed its build folder, sends its tables and leaves the logs to the parent: it
    never makes the folder (it would be left behind)."""
    from admarket.outputs.spool import LOGS_WRITTEN, Spool

    build = tmp_path / "build"
    (build / "spool").mkdir(parents=True)
    (build / "logs").mkdir()
    logged = Spool(str(build / "spool"), str(build / "logs"), "key", min_cells=1)
    out = logged.take(three_runs[1], 7)
    assert out[LOGS_WRITTEN] is True and isinstance(out["agent_decisions"], SpooledTable)
    assert [p.name for p in (build / "spool").iterdir()] == ["run-000007.duckdb"]
    assert sorted(p.suffix for p in (build / "logs").iterdir()) == [".jsonl", ".md"]
    quiet = Spool(str(build / "spool"), str(build / "logs"), None, min_cells=10**12)
    assert LOGS_WRITTEN not in quiet.take(three_runs[0], 8)  # not a logged run
    shutil.rmtree(build)
    sent = logged.take(three_runs[1], 9)
    assert LOGS_WRITTEN not in sent  # the parent writes them
    assert all(sent[k] is v for k, v in three_runs[1].items()) and len(sent) == len(three_runs[1])
    assert not build.exists()


@pytest.mark.parametrize("fails", ["logs", "spool"])
def test_a_worker_that_cannot_write_the_build_folder_sends_its_run(
    three_runs, tmp_path, monkeypatch, fails
):
    """A worker that sees the result being built but cannot write there (a read-only shared
    disk, another user) sends its tables and leaves the logs to the parent, leaving nothing
    half-written behind."""
    import admarket.outputs.spool as spool_module
    from admarket.outputs.spool import LOGS_WRITTEN, Spool

    def refused(*a, **k):
        raise PermissionError(13, "Permission denied")

    build = tmp_path / "build"
    (build / "spool").mkdir(parents=True)
    (build / "logs").mkdir()
    if fails == "logs":
        monkeypatch.setattr(spool_module, "write_logs", refused)
    else:  # DuckDB cannot create the spool file (its own IOException, not an OSError)
        (build / "spool" / f".run-000003.duckdb.{os.getpid()}.part").mkdir()
    sent = Spool(str(build / "spool"), str(build / "logs"), "key", min_cells=1).take(
        three_runs[1], 3
    )
    assert LOGS_WRITTEN not in sent  # the parent writes them (again, the same, if written)
    assert all(sent[k] is v for k, v in three_runs[1].items()) and len(sent) == len(three_runs[1])
    assert [p.name for p in (build / "spool").iterdir() if not p.is_dir()] == []


def test_what_lost_tries_left_is_removed(tmp_path):
    """On a Dask cluster a worker lost while writing leaves a ``.part`` file, and a spool
    file its DuckDB write-ahead log (the run is done again elsewhere), and a try taken for
    lost may still finish after its rerun was copied in or sent: none of it may fail the
    study or end up in the result."""
    from admarket.outputs.results import _remove_work_folders
    from admarket.outputs.spool import SPOOL_DIR

    (tmp_path / SPOOL_DIR).mkdir()
    (tmp_path / "logs").mkdir()
    (tmp_path / SPOOL_DIR / ".run-000001.duckdb.77.part").write_text("half")
    (tmp_path / SPOOL_DIR / ".run-000001.duckdb.77.part.wal").write_text("its DuckDB log")
    (tmp_path / SPOOL_DIR / ".run-000001.duckdb.77.part.tmp").mkdir()  # its spill folder
    (tmp_path / SPOOL_DIR / ".run-000001.duckdb.77.part.tmp" / "spill.block").write_text("x")
    (tmp_path / "logs" / ".s000001-A.events.jsonl.77.part").write_text("half")
    (tmp_path / "logs" / "s000001-A.events.jsonl").write_text("{}\n")
    _remove_work_folders(tmp_path)
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["logs", "s000001-A.events.jsonl"]
    (tmp_path / SPOOL_DIR).mkdir()
    # a try taken for lost that finished after its rerun was copied in: the same rows again
    (tmp_path / SPOOL_DIR / "run-000003.duckdb").write_text("copied in from the rerun")
    # a try taken for lost whose rerun, on a worker without the disk, sent its tables
    (tmp_path / SPOOL_DIR / "run-000004.duckdb").write_text("its rerun came as frames")
    _remove_work_folders(tmp_path)
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["logs", "s000001-A.events.jsonl"]

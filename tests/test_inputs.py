"""Inputs bounded up front: every example of garbage from the fault-injection run is one
line, exit code 2, nothing written; the market's memory is estimated before allocating;
flags that cannot apply are refused; a corrupt store is one line for report and query."""

from __future__ import annotations

import math
import os
from pathlib import Path

import pytest

from admarket.cli import main
from admarket.config import FIELDS, PARAMS, build_config
from admarket.config.params import field_kind
from admarket.config.sizing import (
    CHUNKED_TABLE_CAMPAIGN_DAY_BYTES,
    CHUNKED_WRITE_BYTES,
    WRITER_BASE_BYTES,
    check_memory,
    chunked_table_bytes,
    estimate_bytes,
    table_bytes,
)
from admarket.errors import ConfigError
from admarket.model import MarketModel
from admarket.model.checkpoint import checkpoint_name, save_checkpoint
from admarket.outputs import publish as pub
from admarket.outputs.spool import Spool

TINY = ["--days", "1", "--buyers", "1", "--sellers", "1", "--no-progress"]


def tiny(*given: str) -> list[str]:
    """TINY without the options ``given`` sets itself (an option given twice is refused)."""
    keep = [i for i in range(0, 6, 2) if TINY[i] not in given]
    return [x for i in keep for x in TINY[i : i + 2]] + TINY[6:]


def _refused(argv: list[str], tmp_path: Path, capsys, fragment: str) -> str:
    """Run ``argv`` in ``tmp_path``: exit 2, one line containing ``fragment``, nothing new."""
    before = sorted(p.name for p in tmp_path.iterdir())
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse's own errors
        code = exc.code
    err = capsys.readouterr().err.strip()
    assert code == 2, (argv, err)
    assert len(err.splitlines()) == 1, err
    assert fragment in err, (fragment, err)
    assert sorted(p.name for p in tmp_path.iterdir()) == before, argv
    return err


@pytest.fixture
def here(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.mark.parametrize(
    ("extra", "fragment"),
    [
        (["--set", "max_cpm_markup_max=1e308"], "max_cpm_markup_max"),
        (["--set", "campaign_budgets=1e17"], "campaign_budgets"),
        (["--set", "campaign_budgets=1e308"], "campaign_budgets"),
        (["--set", "decay_rate=inf"], "decay_rate"),
        (["--set", "exchange_fee=nan"], "exchange_fee"),
        (["--set", "sui_price_usd=0"], "sui_price_usd"),
        (["--set", "daily_avails_max=1e19"], "daily_avails_max"),
        (["--set", "lot_size=99999999999999999999999"], "lot_size"),
        (["--buyers", "1000000000"], "n_buyers"),
        (["--days", "100000"], "days"),
        (["--preset", ""], "invalid preset = ''"),
        (["--scenarios", ""], "scenarios"),
    ],
)
def test_garbage_values_are_refused_before_anything_runs(extra, fragment, here, capsys):
    _refused(["run", *tiny(*extra), "--out", str(here / "out"), *extra], here, capsys, fragment)


def test_every_numeric_parameter_has_finite_bounds():
    for name, info in PARAMS.items():
        if field_kind(FIELDS[name]) in ("bool", "str"):  # true/false, or one of named choices
            continue
        assert info.lo is not None and info.hi is not None, name
        assert math.isfinite(info.lo) and math.isfinite(info.hi), name


def test_the_largest_market_within_bounds_cannot_overflow_int64_cents():
    lim = {n: PARAMS[n].hi for n in PARAMS}
    campaigns = lim["n_buyers"] * lim["campaigns_per_buyer"]
    assert campaigns * lim["campaign_budgets"] * 100 < 2**63  # every budget spent, in cents
    impressions = lim["n_sellers"] * lim["daily_avails_max"] * lim["days"]
    assert impressions < 2**63


@pytest.mark.parametrize(
    "content",
    [b"\x00\xff\xfe\x89PNG\r\n\x1a\n", b"\x00\x00n_buyers = 3\n", "[market]\nn_buyers = 3\n\x00"],
)
def test_binary_toml_is_one_line(content, here, capsys):
    f = here / "bin.toml"
    f.write_bytes(content if isinstance(content, bytes) else content.encode())
    _refused(["run", *TINY, "--config", str(f), "--out", str(here / "o")], here, capsys, "TOML")


def test_a_market_too_large_for_memory_is_refused_with_estimate_and_limit(here, capsys):
    argv = ["run", *tiny("--buyers", "--sellers"), "--buyers", "20000", "--sellers", "10000"]
    argv += ["--campaigns-per-buyer", "1000", "--out", str(here / "o")]
    err = _refused(argv, here, capsys, "market size")
    assert "TiB" in err and "by admarket's estimate" in err and "of memory available" in err
    cfg = build_config(n_buyers=100, n_sellers=50)
    need = estimate_bytes(cfg)
    assert check_memory(cfg, limit=need) == need
    with pytest.raises(ConfigError, match="for 4 runs at once"):
        check_memory(cfg, concurrent=4, limit=need * 3)
    assert estimate_bytes(cfg.replace(days=60)) > need > estimate_bytes(cfg.replace(n_sellers=5))
    one = build_config(n_buyers=1, n_sellers=1, campaigns_per_buyer=1, days=1)
    with pytest.raises(ConfigError, match="1 buyer × 1 campaign, 1 seller, 1 day"):
        check_memory(one, limit=1)


@pytest.mark.parametrize(
    ("scenario", "n_buyers", "n_sellers", "days"),
    # at 300 x 150 over a day: pairs and campaigns matter (A's one-day flights bid the most
    # an hour); over 30 days: campaign-days
    [
        ("A", 40, 30, 5),
        ("B", 40, 30, 5),
        ("C", 40, 30, 5),
        ("A", 300, 150, 1),
        ("A", 1000, 500, 1),
        ("A", 300, 150, 30),
        ("B", 300, 150, 1),
        ("B", 60, 30, 30),
        ("C", 60, 30, 30),
    ],
)
def test_the_estimate_covers_a_measured_run(scenario, n_buyers, n_sellers, days, peak_kib):
    """A run's measured peak memory (its own process) stays under its scenario's estimate,
    within 4× of it, and under the estimate for any scenario."""
    kw = {"n_buyers": n_buyers, "n_sellers": n_sellers, "campaigns_per_buyer": 10, "days": days}
    peak = 1024 * peak_kib(
        "from admarket import MarketModel, build_config; "
        f"MarketModel({scenario!r}, build_config(**{kw!r})).run()"
    )
    cfg = build_config(**kw)
    assert peak < estimate_bytes(cfg, scenario) < 4 * peak
    assert estimate_bytes(cfg, scenario) <= estimate_bytes(cfg)


def test_a_job_is_checked_against_the_scenarios_it_runs(here, capsys, monkeypatch):
    """A market whose A run would not fit, but whose B run does, is refused for A and runs
    for B (``run``); ``compare`` and ``sweep`` count the scenarios they were given."""
    import admarket.batch.comparison as comparison
    import admarket.batch.grid as grid
    import admarket.config.sizing as sizing

    cfg = build_config(days=1, n_buyers=1, n_sellers=1)
    b, a = estimate_bytes(cfg, "B"), estimate_bytes(cfg, "A")
    assert b < estimate_bytes(cfg, "C") < a == estimate_bytes(cfg) == estimate_bytes(cfg, "a")
    with pytest.raises(ValueError, match="scenario='D': allowed A, B, C"):
        estimate_bytes(cfg, "D")
    monkeypatch.setattr(sizing, "available_bytes", lambda: b)
    err = _refused(["run", *TINY, "--scenarios", "a"], here, capsys, "market size")
    assert "counted as scenario" not in err
    err = _refused(["run", *TINY, "--scenarios", "b,c"], here, capsys, "market size")
    assert "for 2 runs at once by admarket's estimate (each run counted as scenario C's)" in err
    assert err.endswith("fewer days or fewer --scenarios")
    assert main(["run", *TINY, "--scenarios", "b"]) == 0
    out = capsys.readouterr().out
    assert "scenario B" in out and "scenario A" not in out

    seen = []

    def record(cfg, at_once, **kw):
        seen.append(kw["scenarios"])
        raise ConfigError("market size", "x", "recorded")

    monkeypatch.setattr(comparison, "check_memory", record)
    monkeypatch.setattr(grid, "check_memory", record)
    with pytest.raises(ConfigError, match="recorded"):
        comparison.compare(cfg, [0, 1], scenarios=("b", "C"), processes=2)
    with pytest.raises(ConfigError, match="recorded"):
        grid.sweep(cfg, {"decay_rate": [0.1, 0.2]}, [0], scenarios=("c",), processes=2)
    assert seen == [["B", "C"], ["C"]]


@pytest.mark.parametrize(("n_buyers", "n_sellers", "days"), [(40, 30, 5), (100, 50, 10)])
def test_the_estimate_with_tables_covers_a_run_and_its_tables(n_buyers, n_sellers, days, peak_kib):
    """A run of A (the most rows) and its store tables built whole (what a worker that
    cannot spool sends) are under the estimate with one run's tables whole, which also caps
    the chunked estimate."""
    kw = {"n_buyers": n_buyers, "n_sellers": n_sellers, "campaigns_per_buyer": 10, "days": days}
    peak = 1024 * peak_kib(
        "from admarket import MarketModel, build_config; "
        "from admarket.outputs.run_tables import run_tables; "
        f"run_tables(MarketModel('A', build_config(**{kw!r})).run())"
    )
    cfg = build_config(**kw)
    with_tables = estimate_bytes(cfg) + table_bytes(cfg)
    assert peak < with_tables < 4 * peak
    assert check_memory(cfg, 2, limit=10**15, writing=2) == 2 * (
        estimate_bytes(cfg) + chunked_table_bytes(cfg)
    )


@pytest.mark.parametrize(("n_buyers", "n_sellers", "days"), [(40, 30, 5), (60, 30, 90)])
def test_the_estimate_with_chunked_tables_covers_a_run_writing_them(
    n_buyers, n_sellers, days, peak_kib, tmp_path
):
    """What a compare worker spooling a run holds: the run, its tables with the
    transactions a chunk at a time, DuckDB writing them, and its logs reading them. (The
    store in this process writes them the same way, but its measured peaks are in
    docs/performance-history.md, not pinned here.) Measured for A (the
    most rows) and C (the most claims): the estimate, one for any scenario, covers both and
    is within 5× of the larger. The larger market (54,000 campaign-days, 2 M transaction
    rows) is past the size where the chunked estimate is the smaller one: from there the
    estimate's chunk and claims terms are what is checked."""
    kw = {"n_buyers": n_buyers, "n_sellers": n_sellers, "campaigns_per_buyer": 10, "days": days}
    # the smaller market's runs get logs too (read a chunk or a column at a time)
    verbosity = "key" if days == 5 else None
    peaks = []
    for scenario in ("A", "C"):
        folder = tmp_path / scenario
        (folder / "spool").mkdir(parents=True)
        (folder / "logs").mkdir()
        spool = Spool(str(folder / "spool"), str(folder / "logs"), verbosity, min_cells=1)
        peaks.append(
            1024
            * peak_kib(
                "from admarket import MarketModel, build_config; "
                "from admarket.outputs.run_tables import run_tables; "
                "from admarket.outputs.spool import Spool; "
                f"m = MarketModel({scenario!r}, build_config(**{kw!r})).run(); "
                f"{spool!r}.take(run_tables(m, chunk_rows={spool.chunk_rows}), 0)"
            )
        )
        assert len(list((folder / "spool").iterdir())) == 1
        assert len(list((folder / "logs").iterdir())) == (2 if verbosity else 0)
    cfg = build_config(**kw)
    for scenario, peak in zip(("A", "C"), peaks, strict=True):
        assert peak < estimate_bytes(cfg, scenario) + chunked_table_bytes(cfg)
    assert max(peaks) < estimate_bytes(cfg) + chunked_table_bytes(cfg) < 5 * max(peaks)
    chunked = CHUNKED_WRITE_BYTES + CHUNKED_TABLE_CAMPAIGN_DAY_BYTES * cfg.n_campaigns * days
    assert chunked_table_bytes(cfg) == WRITER_BASE_BYTES + min(chunked, table_bytes(cfg))
    assert (chunked < table_bytes(cfg)) == (days == 90)  # both cases are met


@pytest.mark.parametrize(
    ("processes", "seeds", "logs", "out", "want"),
    [
        (1, 2, "first", True, {"writing": 1}),  # in this process: a chunk at a time too
        (2, 2, "first", True, {"writing": 2}),  # workers: a chunk at a time, logs or not
        (4, 2, "all", True, {"writing": 4}),
        (2, 2, "none", True, {"writing": 2}),
        (2, 2, "first", False, {"writing": 0}),  # no result: no tables
    ],
)
def test_compare_counts_every_run_writing_its_tables_a_chunk_at_a_time(
    monkeypatch, tmp_path, processes, seeds, logs, out, want
):
    """Every run of a compare with a result writes its tables (and its logs read them) the
    largest a chunk at a time, in a worker as in this process, and the memory check counts
    each so; without a result no tables are built."""
    import admarket.batch.comparison as comparison

    seen = []

    def record(cfg, at_once, **kw):
        seen.append((at_once, kw))
        raise ConfigError("market size", "x", "recorded")

    monkeypatch.setattr(comparison, "check_memory", record)
    want = {**want, "scenarios": ["A", "B", "C"]}
    target = tmp_path / "o" if out else None
    with pytest.raises(ConfigError, match="recorded"):
        comparison.compare(
            build_config(), list(range(seeds)), processes=processes, out=target, logs=logs
        )
    assert seen == [(min(processes, 3 * seeds), want)]
    assert not (tmp_path / "o").exists()


def test_flags_that_cannot_apply_are_refused(here, capsys):
    out = str(here / "o")
    cases = [
        (["run", *TINY, "--checkpoint-dir", "ck"], "--checkpoint-dir applies only with"),
        (["run", *TINY, "--checkpoint-every", "0"], "--checkpoint-every"),
        (["run", *TINY, "--scenarios", "a", "--ledger-out", "l.jsonl"], "scenario c"),
        (["compare", *TINY, "--seed", "3", "--seed-start", "4", "--out", out], "--seed-start"),
        (["compare", *TINY, "--logs", "none", "--verbosity", "all", "--out", out], "--logs"),
        (["sweep", *TINY, "--grid", "decay_rate=0.1", "--grid", "decay-rate=0.2"], "once"),
        (["query", out, "--name", "fee_extraction", "--max-rows", "0"], "--max-rows"),
        (["explore", "--port", "70000"], "1-65535"),
    ]
    for argv, fragment in cases:
        _refused(argv, here, capsys, fragment)


@pytest.fixture
def checkpoint(tmp_path):
    m = MarketModel("B", build_config(n_buyers=2, n_sellers=2, campaigns_per_buyer=2, days=3))
    for _ in range(m.config.steps_per_day):
        m.step()
    return save_checkpoint(m, tmp_path / "ck" / checkpoint_name(m))


def test_resume_refuses_flags_its_checkpoint_cannot_use(checkpoint, here, capsys):
    _refused(["resume", str(checkpoint), "--checkpoint-every", "-1"], here, capsys, "≥ 1")
    err = _refused(
        ["resume", str(checkpoint), "--ledger-out", str(here / "F")], here, capsys, "scenario C"
    )
    assert "is scenario B" in err


def test_ledger_out_never_overwrites_a_file_that_is_not_a_ledger(here, capsys):
    f = here / "notes.txt"
    f.write_text("mine")
    _refused(["run", *TINY, "--scenarios", "c", "--ledger-out", str(f)], here, capsys, "ledger")
    assert f.read_text() == "mine"


def _fake_result(folder: Path, store: bytes) -> Path:
    def build(tmp: Path) -> None:
        (tmp / "admarket.duckdb").write_bytes(store)

    pub.publish(folder, build, {"kind": "run", "runs": 1})
    return folder


def test_a_corrupt_store_is_one_line_for_report_and_query(here, capsys):
    bad = _fake_result(here / "bad", os.urandom(300_000))
    _refused(["query", str(bad), "--name", "fee_extraction"], here, capsys, "store")
    _refused(["report", str(bad)], here, capsys, "store")
    empty = _fake_result(here / "empty", b"")
    _refused(["query", str(empty), "--sql", "SELECT 1"], here, capsys, "not a valid DuckDB")
    # a real store cut short: its size no longer matches the marker
    assert main(["run", *TINY, "--scenarios", "a", "--out", str(here / "real")]) == 0
    capsys.readouterr()
    db = here / "real" / "admarket.duckdb"
    db.write_bytes(db.read_bytes()[: db.stat().st_size // 2])
    _refused(["query", str(here / "real"), "--name", "fee_extraction"], here, capsys, "changed")
    _refused(["report", str(here / "real")], here, capsys, "changed")

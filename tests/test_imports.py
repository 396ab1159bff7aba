"""What the command line loads, and the SciPy shortcuts that keep it light.

Structural, never timed: each check runs a fresh interpreter and looks at ``sys.modules``.
``admarket --help`` and argument errors must not load the model's stack (Mesa, pandas) nor
the heavy modules only some commands use (scipy.stats, matplotlib, DuckDB); ``admarket run``
without ``--out`` needs Mesa and pandas but not scipy.stats, matplotlib, DuckDB, the report
or the batch runners. The functions that replace scipy.stats calls are checked value for
value against them.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy.stats import binom
from scipy.stats import t as student_t

import admarket.market.kpis as kpis
from admarket.market.kpis import binom_ppf, small_mean_quantile
from admarket.report.stats import t975

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("scipy.stats", "matplotlib", "duckdb", "mesa", "pandas")
# what a command needs no part of before it runs: the heavy modules, and the modules of
# the model, the store and the report
LIGHT_ONLY = (
    *HEAVY,
    "admarket.model",
    "admarket.outputs.store",
    "admarket.outputs.run_tables",
    "admarket.report",
)

_PROBE = """
import json, runpy, sys
sys.argv = ["admarket", *json.loads(sys.argv[1])]
code = 0
try:
    runpy.run_module("admarket", run_name="__main__")
except SystemExit as exc:
    code = exc.code
print(json.dumps({"code": code, "modules": sorted(sys.modules)}), file=sys.__stderr__)
"""


def _loaded(argv: list[str], tmp_path: Path) -> tuple[int, set[str]]:
    """Run ``python -m admarket ARGV`` in a fresh interpreter: its exit code and the names
    of every module it had loaded when it exited."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "MPLBACKEND": "Agg"}
    r = subprocess.run(
        [sys.executable, "-c", _PROBE, json.dumps(argv)],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    report = json.loads(r.stderr.strip().splitlines()[-1])
    return report["code"], set(report["modules"])


def _heavy(modules: set[str], names: tuple[str, ...]) -> list[str]:
    return sorted(n for n in names if n in modules or any(m.startswith(n + ".") for m in modules))


def test_importing_the_command_line_loads_nothing_heavy(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    r = subprocess.run(
        [
            sys.executable,
            "-c",
            "import json, sys, admarket.cli.main; print(json.dumps(sorted(sys.modules)))",
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        check=True,
    )
    assert _heavy(set(json.loads(r.stdout)), LIGHT_ONLY) == []


@pytest.mark.parametrize(
    "argv",
    [
        ["--help"],
        ["run", "--help"],
        ["run", "--days", "0"],  # a bad value: one line, exit 2
        ["run", "--scenarios", "d"],
        ["compare", "--out", "x", "--set", "decay_rat=0.1"],
        ["sweep", "--grid", "exchange_fee=0.1", "--buyers", "0"],
        ["run", "--bogus"],  # argparse's own error
    ],
)
def test_help_and_argument_errors_load_nothing_heavy(argv, tmp_path):
    code, modules = _loaded(argv, tmp_path)
    assert code == (0 if argv[-1] == "--help" else 2)
    assert _heavy(modules, LIGHT_ONLY) == []
    assert not (tmp_path / "x").exists()


# what only publishing (--out) or a study needs
NOT_FOR_RUN = (
    "scipy.stats",
    "matplotlib",
    "duckdb",
    "admarket.outputs.publish",
    "admarket.outputs.results",
    "admarket.outputs.run_tables",
    "admarket.outputs.store",
    "admarket.report.document",
    "admarket.batch",
)


def test_run_without_out_loads_neither_the_store_nor_the_report(tmp_path):
    code, modules = _loaded(
        ["run", "--days", "2", "--buyers", "2", "--sellers", "2", "--no-progress"], tmp_path
    )
    assert code == 0
    assert {"mesa", "pandas", "admarket.model", "admarket.report.glossary"} <= modules
    assert _heavy(modules, NOT_FOR_RUN) == []


def test_run_with_out_loads_the_store_and_the_report(tmp_path):
    # the other side of the check above: the same probe sees them when they are used
    code, modules = _loaded(
        ["run", "--days", "1", "--buyers", "2", "--sellers", "2", "--no-progress", "--out", "r"],
        tmp_path,
    )
    assert code == 0
    assert (tmp_path / "r" / "COMPLETE").is_file()
    assert {"duckdb", "admarket.outputs.results", "admarket.report.document"} <= modules


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    """Bit for bit (NaN where NaN, the same sign of zero)."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return a.shape == b.shape and bool(np.all(a.view(np.uint64) == b.view(np.uint64)))


def _binom_edges() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every edge of a binomial quantile's arguments, crossed: q at and beyond its ends, n
    and p at and beyond theirs, NaNs, infinities."""
    tiny = np.nextafter(0.0, 1.0)
    qs = [0.0, tiny, 1e-300, 1e-12, 0.5, 1 - 1e-16, np.nextafter(1.0, 0.0), 1.0]
    qs += [-0.1, 1.1, np.nan, -np.inf, np.inf]
    ns = [0.0, 1.0, 2.0, 49.0, 1e9, 2.5, -1.0, np.nan, np.inf]
    ps = [0.0, tiny, 1e-9, 0.3, 1 - 1e-16, 1.0, -0.1, 1.1, np.nan]
    q, n, p = (a.ravel() for a in np.meshgrid(qs, ns, ps, indexing="ij"))
    return q, n, p


def test_binom_ppf_is_scipy_stats_binom_ppf_value_for_value():
    rng = np.random.default_rng(15)
    size = 400_000
    u = rng.random(size)
    # n: whole numbers spread over 0 … 10^7 (log-uniform), as delivered impressions are
    n = np.floor(10.0 ** rng.uniform(0, 7, size)) - 1.0
    # p: rates from 1e-9 to 1, and the means the KPI draws use (n·p < 50) in abundance
    p = 10.0 ** rng.uniform(-9, 0, size)
    small = rng.random(size) < 0.5
    p[small] = np.minimum(1.0, rng.uniform(0, 50, small.sum()) / np.maximum(n[small], 1))
    got, want = binom_ppf(u, n, p), binom.ppf(u, n, p)
    assert _same(got, want)
    q, n, p = _binom_edges()
    with np.errstate(all="ignore"):
        assert _same(binom_ppf(q, n, p), binom.ppf(q, n, p))
    assert _same(binom_ppf(q[:0], n[:0], p[:0]), binom.ppf(q[:0], n[:0], p[:0]))  # empty


def test_the_small_mean_quantile_is_binom_ppf_value_for_value(monkeypatch):
    """The KPI draws' search (least k whose CDF reaches q, stepped to from an estimate) gives
    what the Boost quantile gives: on draws like the KPI's, at the CDF's steps and beside
    them, past its domain and at every edge. Any answer it cannot confirm goes to the Boost
    quantile, so equality alone would hold for a search that confirmed nothing: it must also
    answer all but a few of the KPI-like draws itself."""
    rng = np.random.default_rng(16)
    size = 200_000
    n = np.floor(10.0 ** rng.uniform(0, 7, size))
    p = np.minimum(1.0, rng.uniform(0, 50, size) / n)  # means below 50, as the KPI's are
    q = (rng.integers(0, 2**53, size) + 0.5) / 2**53  # as keyed draws are: inside (0, 1)
    handed: list[int] = []

    def counted(q, n, p):
        handed.append(np.size(q))
        return binom_ppf(q, n, p)

    monkeypatch.setattr(kpis, "binom_ppf", counted)
    got = small_mean_quantile(q, n, p)
    monkeypatch.undo()
    assert _same(got, binom.ppf(q, n, p))
    assert sum(handed) < 0.001 * size, sum(handed)  # (~1,000 with no step down)
    beyond = np.minimum(1.0, rng.uniform(50, 60, size) / n)  # means past the search's domain
    assert _same(small_mean_quantile(q, n, beyond), binom.ppf(q, n, beyond))
    # levels at the CDF's steps, one ulp either side, and 1e-9 either side
    k = np.floor(rng.random(size) * np.minimum(n, 80))
    at = binom.cdf(k, n, p)
    for level in (at, np.nextafter(at, 0), np.nextafter(at, 1), at * (1 - 1e-9), at * (1 + 1e-9)):
        level = np.minimum(level, 1.0)
        assert _same(small_mean_quantile(level, n, p), binom.ppf(level, n, p))
    q, n, p = _binom_edges()
    with np.errstate(all="ignore"):
        assert _same(small_mean_quantile(q, n, p), binom.ppf(q, n, p))
    assert _same(small_mean_quantile(q[:0], n[:0], p[:0]), binom.ppf(q[:0], n[:0], p[:0]))


def test_t975_is_scipy_stats_t_ppf_value_for_value():
    for df in [*range(1, 2000), 10_000, 10**6, 10**9]:
        assert _same(t975(df), float(student_t.ppf(0.975, df))), df
    assert np.isnan(t975(0))

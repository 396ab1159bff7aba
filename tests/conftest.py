"""Shared fixtures: finished plan-scale runs are cached per session (each takes ~1 s)."""

from __future__ import annotations

import functools
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from admarket import MarketModel, build_config

# Property tests draw the same examples on every run, so the gate that passed here passes
# on CI; ADMARKET_HYPOTHESIS=explore draws fresh ones each run, to look for failures no one
# has seen (a failure found that way becomes an @example of its test). Neither profile times
# a test: Hypothesis's per-example deadline and its "generation is slow" health check are
# wall-clock limits, which failed a property test on a loaded machine, not a property.
_UNTIMED = {"deadline": None, "suppress_health_check": [HealthCheck.too_slow]}
settings.register_profile("gate", derandomize=True, database=None, **_UNTIMED)
settings.register_profile("explore", derandomize=False, **_UNTIMED)
_PROFILE = os.environ.get("ADMARKET_HYPOTHESIS", "gate")
if _PROFILE not in ("gate", "explore"):
    raise pytest.UsageError(f"ADMARKET_HYPOTHESIS={_PROFILE!r}: allowed gate, explore")
settings.load_profile(_PROFILE)


@functools.cache
def finished(scenario: str, preset: str | None = None, **overrides) -> MarketModel:
    """A finished run of ``scenario`` (cached: treat it as read-only)."""
    return MarketModel(scenario, build_config(preset, **overrides)).run()


@pytest.fixture(scope="session")
def finished_run():
    """The cached ``finished(scenario, preset, **overrides)`` runner."""
    return finished


@pytest.fixture(scope="session")
def plan_runs() -> dict[str, MarketModel]:
    """Scenarios A, B and C at plan scale (5 × 5 × 10, 30 days, seed 42)."""
    return {s: finished(s) for s in "ABC"}


@pytest.fixture
def small():
    """Keyword arguments of a small, short market for fast tests."""
    return {"n_buyers": 3, "n_sellers": 3, "campaigns_per_buyer": 4, "days": 5}


def _peak_kib(code: str) -> int:
    """Run ``code`` in a fresh interpreter (this checkout's admarket) and return its peak
    memory in KiB: VmHWM, the process's own peak (ru_maxrss would include a forked parent's)."""
    code += "\nprint(open('/proc/self/status').read().split('VmHWM:')[1].split()[0])"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert r.returncode == 0, r.stderr
    return int(r.stdout.split()[-1])


@pytest.fixture(scope="session")
def peak_kib():
    """``peak_kib(code)``: the peak memory (KiB) of a fresh process running ``code``."""
    return _peak_kib


@pytest.fixture
def spooled_parts(monkeypatch) -> list:
    """Every SpooledTable a StoreWriter of this process copies in, in order, and every table
    spooled from then on (``SPOOL_CELLS`` lowered to one cell and ``CHUNK_ROWS`` to 100
    rows: workers read them from the task's Spool, which the parent fills)."""
    import admarket.outputs.store_writer as sw

    copied: list = []
    real = sw.StoreWriter._append_spooled
    monkeypatch.setattr(
        sw.StoreWriter,
        "_append_spooled",
        lambda self, part: (copied.append(part), real(self, part)),
    )
    monkeypatch.setattr(sw, "SPOOL_CELLS", 1)
    monkeypatch.setattr(sw, "CHUNK_ROWS", 100)  # A's transactions spooled in many chunks
    return copied


@pytest.fixture
def whole_builds(monkeypatch) -> list:
    """One item per whole transactions table built from a run's books from now on
    (``Accounts.transactions``): a path that must read them a chunk at a time asserts none."""
    from admarket.market.accounting import Accounts

    built: list = []
    real = Accounts.transactions
    monkeypatch.setattr(
        Accounts, "transactions", lambda self, spd: (built.append(1), real(self, spd))[1]
    )
    return built


@pytest.fixture
def whole_claim_builds(monkeypatch) -> list:
    """One item per run's claims built whole from now on (``ClaimLog.frame``: the rows of
    ``agent_decisions`` and ``ground_truth``): a path that must read them a chunk at a time
    asserts none."""
    from admarket.memory.ground_truth import ClaimLog

    built: list = []
    real = ClaimLog.frame
    monkeypatch.setattr(
        ClaimLog, "frame", lambda self, *args: (built.append(1), real(self, *args))[1]
    )
    return built

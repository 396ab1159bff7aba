"""How much memory a market will need, checked before anything is allocated.

Every parameter is bounded on its own (:mod:`.params`), but their product is not: 20,000
buyers × 1,000 campaigns each × 10,000 sellers is within every bound and needs terabytes.
:func:`estimate_bytes` is an estimate of one run's peak memory, from the arrays that grow
with the market — the eligible (campaign, product) pairs (about a third of all cells),
(product × hour) supply, per-campaign working sets and the per-campaign-day transactions,
books, claims and events — with terms of its own for each scenario (:data:`FOOTPRINTS`):
A holds the most per pair and per campaign (its hourly auctions), C the most per
campaign-day (claims, ledger). They are calibrated on measured peaks of A, B and C from
40 × 30 to 5,000 × 2,000 markets and from 1 to 90 days (``tests/test_inputs.py`` checks
each scenario's estimate stays above its measured peaks, and within 4× of them).
:func:`check_memory` refuses a job whose estimate exceeds the memory this machine has
available, naming both.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from admarket.config.market_config import MarketConfig
from admarket.errors import ConfigError
from admarket.money import plural

# interpreter, numpy, pandas, scipy, Mesa, PyNaCl: A at 40 × 30 (5 days) peaked at
# 208 MiB on the development machine and 218 MiB on CI's, almost all of it this base (128 MiB
# in the thirteenth session, imports now lazier; kept for machines whose libraries load larger)
BASE_BYTES = 210 * 2**20
# eligible (campaign, product) pairs: a campaign can buy about a third of all products
# (0.32-0.33 measured from 5 x 5 to 5,000 x 2,000; bounded above by this share)
ELIGIBLE_SHARE = 0.4
SUPPLY_BYTES = 16  # per (product, step): hourly avails and their expectation


@dataclass(frozen=True)
class Footprint:
    """What one run of a scenario holds per eligible pair, per campaign and per
    campaign-day, above :data:`BASE_BYTES` and the supply."""

    pair_bytes: int
    campaign_bytes: int
    campaign_day_bytes: int
    # per campaign, divided by the shortest flight in days: an hour's bids grow with a
    # campaign's lots per hour, its budget over its flight (A's one-day flights peak highest)
    paced_bytes: int = 0


FOOTPRINTS = {
    # A: each pair holds its campaign and product (int32), A's spread position (float64) and
    # ~3 bytes of the index over those positions (StartIndex; ~19 bytes an actual pair, 16
    # an estimated one, of which there are more: ELIGIBLE_SHARE); each campaign its books,
    # pacing and delivery counts (32 KiB) and an hour's bids, ~100 bytes a bid while they
    # are drawn, deduplicated, sorted and cleared — a campaign's lots per hour, so 64 KiB
    # over its flight in days; each campaign-day its exchange rows (~130 (campaign,
    # product, hour) rows at 500 x 200 in ~7 bytes each; more at 5,000 x 2,000, where a
    # campaign can buy ten times the products). Refitted in the fifteenth session on A's
    # peaks at 300 x 150 over 1, 3, 10 and 30 days (371, 244, 250, 277 MiB), 1,000 x 500
    # over 1 and 5 (1,042, 611), 500 x 200 over 30 (379) and 5,000 x 2,000 over 30 (4,804
    # MiB; 1,499 once built): estimates 1.2-2.3x those peaks (the terms were 48 bytes a
    # pair and 96 KiB a campaign whatever its flight, 3.1x at 5,000 x 2,000)
    "A": Footprint(16, 32 * 1024, 3 * 1024, paced_bytes=64 * 1024),
    # B and C keep the pairs (campaign and product) but bid on none of them; a campaign's
    # deals, memory and negotiations are its working set, and each campaign-day adds its
    # claims, settlements and events (and C's ledger entries). Refitted in the thirteenth
    # session, once these were held compactly, on peaks at 100 x 50, 200 x 100 and 500 x 200
    # over 30 days (B 177, 253, 468 MiB; C 208, 305, 613), 300 x 150 and 1,000 x 500 over
    # one day (B 162, 291; C 179, 347) and 5,000 x 2,000 over 30 days (B 3,823, C 5,351
    # MiB): estimates 1.3-1.7x those peaks (they were 1.7-2.8x with 4 KiB (B) and 8 KiB (C)
    # a campaign-day, fitted before)
    "B": Footprint(16, 16 * 1024, 2 * 1024),
    "C": Footprint(16, 24 * 1024, 4 * 1024),
}
# per campaign and day, once a finished run's store tables are built whole: A's
# transactions table has 110-160 rows per campaign-day at ~180 bytes each (A at 100 x 50,
# 30 days: 215 MiB for the run, 893 MiB with its tables)
TABLE_CAMPAIGN_DAY_BYTES = 32 * 1024
# per run whose tables are being written (a compare worker spooling them, or the store in
# this process: run --out, a one-process compare): A's transactions, B's and C's claims and
# C's ledger, events and settlements go a chunk (~25-80 MB) at a time while DuckDB's writer
# caches up to 128 MB (a worker's spool file 64 MB), and its logs read them a chunk or a
# column at a time; only the smaller tables (campaigns, negotiations, the per-step and
# per-day metrics) are built whole. Measured above the run (a run, then the same run and
# its spool, each in a fresh process, 30 days): A ~200-245 MiB at every size from 40 x 30
# up; B 148, 128 and 36 MiB and C 146, 133 and 45 MiB at 100 x 50, 200 x 100 and 500 x 200
# (C was 300, 355 and ~470 MiB before its claims went in smaller chunks and its ledger,
# events and settlements in chunks at all). The term is an upper bound for every scenario.
CHUNKED_WRITE_BYTES = 320 * 2**20
# and whatever the size, DuckDB and the log writers loaded (A at 40 x 30 over 5 days with
# logs peaked 350 MiB: 70 MiB above the run's estimate, tables included)
WRITER_BASE_BYTES = 96 * 2**20
# (4 KiB while C's ledger, ~1.4 KiB a campaign-day, was built whole; kept above the
# measured write, which no longer grows with the market, for the whole tables' share)
CHUNKED_TABLE_CAMPAIGN_DAY_BYTES = 1024
PRODUCTS_PER_SELLER = 3  # every seller sells display plus one or two other channels


def table_bytes(cfg: MarketConfig) -> int:
    """Estimated memory of one finished run's store tables (any scenario), in bytes."""
    return TABLE_CAMPAIGN_DAY_BYTES * cfg.n_campaigns * cfg.days


def chunked_table_bytes(cfg: MarketConfig) -> int:
    """Estimated memory of one finished run's store tables and logs as they are written
    (the transactions a chunk at a time: in a spooling worker, or by the store in this
    process), in bytes; never more than the tables whole, plus the writers."""
    chunked = CHUNKED_WRITE_BYTES + CHUNKED_TABLE_CAMPAIGN_DAY_BYTES * cfg.n_campaigns * cfg.days
    return WRITER_BASE_BYTES + min(table_bytes(cfg), chunked)


def estimate_bytes(cfg: MarketConfig, scenario: str | None = None) -> int:
    """Estimated peak memory of one run of ``cfg``, in bytes: of ``scenario`` (A, B or C),
    or of whichever needs the most (None)."""
    if scenario is None:
        return max(estimate_bytes(cfg, s) for s in FOOTPRINTS)
    f = FOOTPRINTS.get(str(scenario).upper())
    if f is None:
        raise ValueError(f"scenario={scenario!r}: allowed {', '.join(FOOTPRINTS)}")
    products = cfg.n_sellers * PRODUCTS_PER_SELLER
    return (
        BASE_BYTES
        + int(f.pair_bytes * ELIGIBLE_SHARE * cfg.n_campaigns * products)
        + SUPPLY_BYTES * products * cfg.steps
        + f.campaign_bytes * cfg.n_campaigns
        + f.paced_bytes * cfg.n_campaigns // min(cfg.flight_days_min, cfg.days)
        + f.campaign_day_bytes * cfg.n_campaigns * cfg.days
    )


def _cgroup_limit() -> int | None:
    """Memory left under this process's cgroup (v2) limit, if there is one."""
    try:
        rel = Path("/proc/self/cgroup").read_text().strip().split("::", 1)[1]
        base = Path("/sys/fs/cgroup") / rel.lstrip("/")
        limit = (base / "memory.max").read_text().strip()
        if limit == "max":
            return None
        return int(limit) - int((base / "memory.current").read_text().strip())
    except (OSError, IndexError, ValueError):
        return None


def available_bytes() -> int | None:
    """Memory this machine can give a new job now (MemAvailable, within any cgroup limit);
    None where it cannot be read."""
    found: list[int] = []
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                found.append(int(line.split()[1]) * 1024)
    except (OSError, ValueError, IndexError):
        pass
    if not found:
        with contextlib.suppress(ValueError, OSError, AttributeError):
            found.append(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_AVPHYS_PAGES"))
    cg = _cgroup_limit()
    if cg is not None:
        found.append(cg)
    return min(found) if found else None


def human_bytes(n: float) -> str:
    """``1536`` → ``"1.5 KiB"``; binary units up to PiB."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(n) < 1024:
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} PiB"


def check_memory(
    cfg: MarketConfig,
    concurrent: int = 1,
    limit: int | None = None,
    writing: int = 0,
    scenarios: Iterable[str] | None = None,
    fewer: str = "--processes",
) -> int:
    """Refuse (ConfigError) a job of ``concurrent`` simultaneous runs of ``cfg``, each of
    any of ``scenarios`` (default: any scenario; the one that needs the most is counted),
    ``writing`` of which write their store tables (and logs) at once, the largest a chunk at
    a time (:func:`chunked_table_bytes`), whose estimated memory exceeds ``limit``
    (default: the memory available now); returns the estimate in bytes. ``fewer``: what the
    user can ask for fewer of to run fewer at once (``run`` holds every scenario's model)."""
    kinds = list(scenarios or FOOTPRINTS)
    largest = max(kinds, key=lambda s: estimate_bytes(cfg, s))
    need = estimate_bytes(cfg, largest) * max(1, concurrent) + chunked_table_bytes(cfg) * writing
    limit = available_bytes() if limit is None else limit
    if limit is not None and need > limit:
        runs = f" for {concurrent} runs at once" if concurrent > 1 else ""
        counted = f" (each run counted as scenario {largest}'s)" if len(kinds) > 1 else ""
        raise ConfigError(
            "market size",
            f"{plural(cfg.n_buyers, 'buyer')} × {plural(cfg.campaigns_per_buyer, 'campaign')}, "
            f"{plural(cfg.n_sellers, 'seller')}, {plural(cfg.days, 'day')}",
            f"needs about {human_bytes(need)}{runs} by admarket's estimate{counted}, more "
            f"than the {human_bytes(limit)} of memory available; use a smaller market, fewer "
            "days" + (f" or fewer {fewer}" if concurrent > 1 else ""),
        )
    return need

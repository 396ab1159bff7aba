"""What a researcher takes away from the explorer: the daily metrics as CSV, and the full
report (store, logs, report) for the parameters on screen, written where it can be found.

The report is what ``admarket run --out DIR`` writes for the same config and seed, with all
three scenarios: the same models, run to the end, published by
:func:`admarket.outputs.results.write_run`. Its folder is named after the config, so the
same parameters reuse a finished report instead of running again.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from admarket.config import SCENARIOS
from admarket.model import MarketModel
from admarket.outputs.results import write_run
from admarket.outputs.store import COMPLETE_MARKER
from admarket.viz.params import cli_command
from admarket.viz.session import Session, Settings

REPORTS_ENV = "ADMARKET_EXPLORER_REPORTS"  # where reports go (default ./explorer-reports)


def daily_csv(session: Session) -> str:
    """Every market's daily metrics so far (each scenario and seed) as CSV text."""
    frames = []
    for models in session.runs.values():
        for m in models:
            df = m.daily_metrics()
            df.insert(1, "seed", m.config.seed)
            frames.append(df)
    out = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    return out.to_csv(index=False)


def report_settings(settings: Settings) -> Settings:
    """The settings a report is written for: every scenario, the first seed."""
    return Settings(settings.config, SCENARIOS, 1, settings.preset)


def reports_root() -> Path:
    """The folder reports are written under."""
    return Path(os.environ.get(REPORTS_ENV) or "explorer-reports").resolve()


def report_dir(settings: Settings) -> Path:
    """Where the report for ``settings`` goes: named by seed and a digest of the config."""
    command = cli_command(report_settings(settings))
    digest = hashlib.sha1(command.encode()).hexdigest()[:10]
    return reports_root() / f"seed{settings.config.seed}-{digest}"


def report_complete(path: Path) -> bool:
    """Whether ``path`` holds a finished report."""
    return (path / COMPLETE_MARKER).is_file()


def write_report(
    settings: Settings, progress: Callable[[str], None] | None = None
) -> tuple[Path, bool]:
    """Run A, B and C on ``settings``' config to the end and publish store, logs and report.

    Returns the folder and whether it was written now (``False``: a finished report for the
    same parameters was already there). ``progress`` is told what is happening.
    """
    out = report_dir(settings)
    if report_complete(out):
        return out, False
    say = progress or (lambda _msg: None)
    models = []
    for s in SCENARIOS:
        say(f"running scenario {s} to the end…")
        m = MarketModel(s, settings.config)
        while m.running:
            m.step()
        models.append(m)
    say("writing the store, logs and report…")
    write_run(models, out)
    return out, True

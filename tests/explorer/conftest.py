"""Fixtures for the explorer's tests: offline env, artifacts dir, a live `admarket explore`.

The viz extra is optional: without Solara every test here is skipped. Browser tests need
Debian's Chromium at /usr/bin/chromium (or $CHROMIUM_PATH); without it they skip, unless
ADMARKET_REQUIRE_BROWSER=1 (CI), where a missing browser is a failure.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("SOLARA_TELEMETRY_MIXPANEL_ENABLE", "false")
os.environ.setdefault("MPLBACKEND", "Agg")

pytest.importorskip("solara", reason="the explorer needs the viz extra: pip install '.[viz]'")

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",  # CI runs as root
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def artifacts(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A directory for screenshots and logs; copied to $ADMARKET_ARTIFACTS when that is set."""
    path = tmp_path_factory.mktemp("explorer-artifacts")
    yield path
    target = os.environ.get("ADMARKET_ARTIFACTS")
    if target:
        shutil.copytree(path, Path(target) / "explorer", dirs_exist_ok=True)


@pytest.fixture(scope="session")
def chromium() -> str:
    """Path of the Chromium binary, or skip (fail when ADMARKET_REQUIRE_BROWSER=1)."""
    pytest.importorskip("playwright", reason="browser tests need playwright")
    if not os.access(CHROMIUM, os.X_OK):
        msg = f"no Chromium at {CHROMIUM}: apt-get install chromium (or set CHROMIUM_PATH)"
        if os.environ.get("ADMARKET_REQUIRE_BROWSER") == "1":
            pytest.fail(msg)
        pytest.skip(msg)
    return CHROMIUM


@pytest.fixture(scope="session")
def chromium_browser(chromium: str) -> Iterator[Any]:
    """Headless Debian Chromium driven by Playwright (no downloaded browser)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture(scope="session")
def explorer_url(artifacts: Path, chromium: str) -> Iterator[str]:
    """Serve the explorer with the real ``admarket explore`` on a free port for the session."""
    port = _free_port()
    log = (artifacts / "server.log").open("w")
    cmd = [sys.executable, "-m", "admarket", "explore", "--port", str(port)]
    cmd += ["--results", str(artifacts)]  # the Saved results page lists this, not the cwd
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    start, deadline = time.monotonic(), time.monotonic() + 90
    try:
        while True:
            if proc.poll() is not None:
                pytest.fail(f"admarket explore exited with {proc.returncode}; see {log.name}")
            if time.monotonic() > deadline:
                pytest.fail(f"admarket explore did not answer on {url} within 90 s")
            try:
                with urllib.request.urlopen(url, timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                time.sleep(0.2)
        (artifacts / "timings.txt").write_text(f"server up in {time.monotonic() - start:.1f}s\n")
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


@pytest.fixture
def fresh_pages() -> Iterator[None]:
    """Each test opens the pages afresh: outside a server every render shares one scope (the
    browserless page tests use it: ``pytestmark = pytest.mark.usefixtures("fresh_pages")``)."""
    from admarket.viz.page import forget_pages

    forget_pages()
    yield
    forget_pages()

"""In headless Chromium: both pages draw their graph and charts, Step changes the picture,
and no request leaves localhost. Screenshots go to the artifacts dir (and $ADMARKET_ARTIFACTS).
"""

from __future__ import annotations

import hashlib
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest

pytestmark = pytest.mark.browser
PANEL = ".vue-grid-layout"
MIN_FIGURES = 5  # market graph + four chart groups, each a matplotlib <img>


def _is_local(url: str) -> bool:
    p = urlparse(url)
    return p.scheme in ("data", "blob", "about") or p.hostname in ("127.0.0.1", "localhost")


def _check_page(browser: Any, url: str, shots: Path, tag: str) -> dict[str, float]:
    """Load ``url``, check the panel is drawn, Step once, check it changed; return timings."""
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    requests: list[str] = []
    errors: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: m.type == "error" and errors.append(m.text))
    start = time.monotonic()
    page.goto(url, wait_until="load", timeout=60_000)
    step = page.get_by_role("button", name="Step")
    step.wait_for(timeout=60_000)
    figures = page.locator(f"{PANEL} img")
    figures.nth(MIN_FIGURES - 1).wait_for(timeout=60_000)  # the main panel, not just sidebar
    loaded = time.monotonic() - start
    assert figures.count() >= MIN_FIGURES
    assert page.locator(PANEL).get_by_text("latest events").count() >= 1  # narrative feed
    page.wait_for_timeout(500)
    panel = page.locator(PANEL).first
    before = panel.screenshot(path=str(shots / f"{tag}-step0.png"))
    start = time.monotonic()
    step.click()
    page.get_by_text("Time: 1.0").wait_for(timeout=30_000)
    page.wait_for_timeout(1000)  # let the redrawn images arrive
    stepped = time.monotonic() - start
    after = panel.screenshot(path=str(shots / f"{tag}-step1.png"))
    page.screenshot(path=str(shots / f"{tag}-page.png"))
    page.close()
    assert len(before) > 20_000, "main panel looks blank"
    assert hashlib.sha1(before).digest() != hashlib.sha1(after).digest(), "Step changed nothing"
    assert [u for u in requests if not _is_local(u)] == [], "a request left localhost"
    assert errors == [], f"browser errors: {errors}"
    return {"load": loaded, "step": stepped}


@pytest.mark.parametrize(
    ("path", "tag"),
    [("", "explorer"), ("side-by-side", "side-by-side")],
    ids=["explorer", "side-by-side"],
)
def test_page_draws_and_steps_offline(
    chromium_browser: Any, explorer_url: str, artifacts: Path, path: str, tag: str
) -> None:
    timings = _check_page(chromium_browser, explorer_url + path, artifacts, tag)
    with (artifacts / "timings.txt").open("a") as f:
        f.write(
            f"{tag}: loaded in {timings['load']:.1f}s, step redrawn in {timings['step']:.1f}s\n"
        )

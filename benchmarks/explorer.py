"""Benchmark of the explorer (not a test): how fast a lesson runs, and what a redraw costs.

Usage::

    .venv/bin/python benchmarks/explorer.py              # in-process figures only
    .venv/bin/python benchmarks/explorer.py --browser    # also drive the real server in Chromium

In process, for the explorer (scenario B) and the side-by-side page (A, B and C) at the
plan's defaults (30 days, 5 buyers × 5 sellers): the pages are rendered with
``solara.render`` and the clock advanced one simulated day per frame; it reports the CPU
of the model's day and of the redraw (every live element taking in the session: rows
assembled, JSON encoded, widget traits set and their messages serialised), median and worst
over the 30 frames.

With ``--browser`` it starts ``admarket explore`` and drives it in headless Debian Chromium
(/usr/bin/chromium): "Run to the end" at one frame per day and "Play" at the default lesson
speed, on both pages. It reports the wall time until the browser shows the last frame on
every chart, and the server process's CPU over the run per frame (from /proc), i.e. model
plus redraw plus websocket traffic. The machine's other load shows up in wall times.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

os.environ.setdefault("SOLARA_TELEMETRY_MIXPANEL_ENABLE", "false")
os.environ.setdefault("MPLBACKEND", "Agg")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
DAY = 24


def in_process(compare: bool) -> dict[str, float]:
    """CPU per frame (model day, redraw) with the page rendered by ``solara.render``."""
    import solara

    from admarket.viz.page import ExplorerPage
    from admarket.viz.state import PageState

    captured: list[PageState] = []
    original = PageState.__init__

    def spy(self: PageState, *args: object, **kwargs: object) -> None:
        original(self, *args, **kwargs)
        captured.append(self)

    PageState.__init__ = spy  # type: ignore[method-assign]
    try:
        _box, rc = solara.render(
            solara.AppLayout(children=[ExplorerPage(compare=compare)]), handle_error=False
        )
    finally:
        PageState.__init__ = original  # type: ignore[method-assign]
    state = captured[0]
    live = len(state.drawers)
    session = state.session.value
    model_cpu, draw_cpu = [], []
    while not session.at_end:
        t0 = time.process_time()
        session.advance(DAY)
        t1 = time.process_time()
        state.draw()
        t2 = time.process_time()
        model_cpu.append(t1 - t0)
        draw_cpu.append(t2 - t1)
    rc.close()
    return {
        "frames": len(draw_cpu),
        "live elements": live,
        "model ms/day (median)": 1000 * statistics.median(model_cpu),
        "redraw ms (median)": 1000 * statistics.median(draw_cpu),
        "redraw ms (worst)": 1000 * max(draw_cpu),
        "redraw ms (last day)": 1000 * draw_cpu[-1],
    }


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def in_browser() -> list[dict[str, object]]:
    """Wall time and server CPU of full runs driven in Chromium on the real server."""
    from playwright.sync_api import sync_playwright

    port = _free_port()
    cmd = [sys.executable, "-m", "admarket", "explore", "--port", str(port)]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    server = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}/"
    results = []
    try:
        for _ in range(300):
            try:
                urllib.request.urlopen(base, timeout=2).close()
                break
            except OSError:
                time.sleep(0.2)
        with sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"]
            )
            for path, label in (("", "explorer (B)"), ("side-by-side", "side by side (A, B, C)")):
                for button, how in (("Run to the end", "run to the end"), ("▶ Play", "play")):
                    page = browser.new_page(viewport={"width": 1600, "height": 1000})
                    page.goto(base + path, timeout=60_000)
                    page.locator(".am-chart .am-vega[data-tag='0']").first.wait_for(timeout=60_000)
                    page.wait_for_timeout(1000)
                    cpu0, t0 = _cpu_seconds(server.pid), time.perf_counter()
                    page.get_by_role("button", name=button, exact=True).click()
                    page.wait_for_function(
                        "[...document.querySelectorAll('.am-vega')]"
                        ".every(e => e.dataset.tag === '720')",
                        timeout=300_000,
                        polling=50,
                    )
                    wall = time.perf_counter() - t0
                    cpu = _cpu_seconds(server.pid) - cpu0
                    results.append(
                        {
                            "page": label,
                            "action": how,
                            "wall s": wall,
                            "server CPU s": cpu,
                            "server CPU ms/frame": 1000 * cpu / 30,
                        }
                    )
                    page.close()
            browser.close()
    finally:
        server.terminate()
        server.wait(10)
    return results


def main() -> None:
    """Print the in-process table and, with --browser, the browser table."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--browser", action="store_true", help="also drive the server in Chromium")
    args = ap.parse_args()
    print("In process: 30 frames, one per simulated day (plan defaults, 5 × 5, 30 days)")
    for compare, label in ((False, "explorer (B)"), (True, "side by side (A, B, C)")):
        r = in_process(compare)
        print(f"  {label}: " + ", ".join(f"{k} {v:.0f}" for k, v in r.items()))
    if args.browser:
        print("In Chromium, on `admarket explore` (wall time until every chart shows day 30):")
        for r in in_browser():
            print(
                f"  {r['page']:<24} {r['action']:<15} wall {r['wall s']:5.1f} s   "
                f"server CPU {r['server CPU s']:5.2f} s = {r['server CPU ms/frame']:4.0f} ms/frame"
            )


if __name__ == "__main__":
    main()

"""``admarket explore``: serve the explorer on localhost, fully offline.

Checks that the ``viz`` extra is installed and that Solara's front-end files are in its
local asset cache (filled by the ``solara-assets`` package), prints the address, then
becomes ``solara run admarket.viz.app --production`` with an environment that keeps every
request on this machine: the asset proxy on, the CDN pointed at a dead local port (a
cache miss fails at once instead of reaching the internet), telemetry off.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import re
import sys
from importlib import metadata
from pathlib import Path

APP_MODULE = "admarket.viz.app"
OFFLINE_ENV = {
    "SOLARA_TELEMETRY_MIXPANEL_ENABLE": "false",
    "SOLARA_ASSETS_PROXY": "true",
    "SOLARA_ASSETS_CDN": "http://127.0.0.1:9/",
    "MPLBACKEND": "Agg",
}
REQUIRED = ("solara", "mesa.visualization", "altair", "matplotlib", "ipyvue", "ipyvuetify")
INSTALL_HINT = "install the explorer's extra: pip install 'admarket[viz]'"


def missing_assets() -> list[str]:
    """Front-end packages this Solara asks the CDN for that are not in its local cache."""
    import solara.server.settings as settings

    root = Path(settings.__file__).parents[1]
    cache = Path(settings.assets.proxy_cache_dir)
    template = (root / "server" / "templates" / "solara.html.j2").read_text()
    # the Vuetify-2 branch of the page template (ipyvue < 2): app bundle and requirejs
    pattern = r"\{\{cdn\}\}/((?:@widgetti/solara-vuetify-app|requirejs)@[^/]+)/"
    wanted = set(re.findall(pattern, template))
    wanted.add(settings.assets.fontawesome_path.strip("/").split("/")[0])
    grid = (root / "widgets" / "vue" / "gridlayout.vue").read_text()
    wanted |= set(re.findall(r"/(@widgetti/vue-grid-layout@[^/]+)/", grid))
    return sorted(w for w in wanted if not (cache / w).is_dir())


def preflight() -> list[str]:
    """Problems that would stop the explorer from serving offline (empty list: ready)."""
    absent = [m for m in REQUIRED if importlib.util.find_spec(m.split(".")[0]) is None]
    if absent:
        return [f"missing packages: {', '.join(absent)}; {INSTALL_HINT}"]
    problems = []
    for dist in ("ipyvue", "ipyvuetify"):
        if int(metadata.version(dist).split(".")[0]) >= 2:
            problems.append(
                f"{dist} {metadata.version(dist)} renders a blank page (mesa issue 3806); "
                f"pip install '{dist}<2'"
            )
    lacking = missing_assets()
    if lacking:
        problems.append(
            f"Solara's front-end files are not installed locally ({', '.join(lacking)}); "
            "pip install the solara-assets version pinned in admarket's viz extra"
        )
    return problems


def solara_argv(host: str, port: int) -> list[str]:
    """The ``solara run`` command line that serves the explorer."""
    return [
        sys.executable, "-m", "solara", "run", APP_MODULE,
        "--host", host, "--port", str(port),
        "--production",  # no dev tooling, no auto-reload
        "--no-open",  # a classroom machine may have no browser on the server side
        "--no-check-version",  # the check calls PyPI, synchronously
    ]  # fmt: skip


def cmd_explore(args: argparse.Namespace) -> int:
    """``admarket explore``: check the offline assets, then become ``solara run``."""
    problems = preflight()
    if problems:
        for p in problems:
            print(f"admarket: error: the explorer cannot start: {p}", file=sys.stderr)
        return 2
    host = args.host
    print(f"admarket explorer: http://{host}:{args.port}/  (side by side: /side-by-side)")
    print("offline: front-end files served from the local Solara cache; Ctrl-C stops")
    sys.stdout.flush()
    argv = solara_argv(host, args.port)
    os.execve(sys.executable, argv, {**os.environ, **OFFLINE_ENV})
    return 0  # pragma: no cover (execve does not return)

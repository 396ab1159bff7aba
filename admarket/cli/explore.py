"""``admarket explore``: serve the explorer on localhost, fully offline.

Checks that the ``viz`` extra is installed and that Solara's front-end files are in its
local asset cache (filled by the ``solara-assets`` package), binds the address to check it
is free (a taken port is one line suggesting ``--port``, exit 2), warns when the address
reaches beyond this machine (the explorer has no authentication), prints the URL, then
becomes ``solara run admarket.viz.app --production`` (through :mod:`admarket.viz.serve`,
which says a port taken meanwhile in one line, exit 2) with an environment that keeps every
request on this machine: the asset proxy on, the CDN pointed at a dead local port (a
cache miss fails at once instead of reaching the internet), telemetry off.
"""

from __future__ import annotations

import argparse
import errno
import importlib.util
import ipaddress
import os
import re
import socket
import sys
from importlib import metadata
from pathlib import Path

from admarket.errors import UsageError

RESULTS_ENV = "ADMARKET_EXPLORER_RESULTS"  # the Saved results page's folder (viz.saved)

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
        # solara run, through admarket's wrapper: a port taken after check_bind let it go
        # is then one line, not uvicorn's error
        sys.executable, "-m", "admarket.viz.serve", "run", APP_MODULE,
        "--host", host, "--port", str(port),
        "--production",  # no dev tooling, no auto-reload
        "--no-open",  # a classroom machine may have no browser on the server side
        "--no-check-version",  # the check calls PyPI, synchronously
    ]  # fmt: skip


def _addresses(host: str, port: int | None = None) -> list[tuple]:
    try:
        return socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except (socket.gaierror, UnicodeError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise UsageError(f"--host {host!r}: not an address to serve on ({reason})") from None


def is_loopback(host: str) -> bool:
    """Whether every address ``host`` stands for is this machine's loopback."""
    addrs = {info[4][0] for info in _addresses(host)}
    return bool(addrs) and all(ipaddress.ip_address(a.split("%")[0]).is_loopback for a in addrs)


def port_taken(host: str, port: int) -> str:
    """What admarket says of a port another program holds (one line, suggesting --port)."""
    return (
        f"port {port} is in use on {host} (another explorer?); choose another with --port, "
        f"e.g. --port {port % 65535 + 1}"
    )


def bind_error(host: str, port: int) -> OSError | None:
    """Why ``host:port`` cannot be bound as the server binds it (SO_REUSEADDR, like
    uvicorn), or None if it can; the socket is let go at once either way."""
    family, kind, proto, _, addr = _addresses(host, port)[0]
    with socket.socket(family, kind, proto) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(addr)
        except OSError as exc:
            return exc
    return None


def check_bind(host: str, port: int) -> None:
    """Bind ``host:port`` as the server will and let it go; a UsageError if it cannot be
    bound — a taken port suggests ``--port``. (Another program may still take the port
    before the server binds it: :mod:`admarket.viz.serve` then says the same.)"""
    if not 1 <= port <= 65535:
        raise UsageError(f"--port {port}: a port number in 1-65535")
    exc = bind_error(host, port)
    if exc is None:
        return
    if exc.errno == errno.EADDRINUSE:
        raise UsageError(port_taken(host, port))
    raise UsageError(f"cannot serve on {host}:{port}: {exc.strerror or exc}")


def results_folder(given: str) -> Path:
    """The folder ``--results`` names, absolute (the server may not resolve it as the user
    did); a UsageError when it is not a folder."""
    path = Path(given).expanduser()
    if not path.is_dir():
        what = "does not exist" if not path.exists() else "is not a folder"
        raise UsageError(
            f"--results {given!r}: {what}; give the folder holding the results of "
            "admarket run, compare or sweep --out (default: the current folder)"
        )
    return path.resolve()


def cmd_explore(args: argparse.Namespace) -> int:
    """``admarket explore``: check the offline assets and the address, then become
    ``solara run``."""
    problems = preflight()
    if problems:
        for p in problems:
            print(f"admarket: error: the explorer cannot start: {p}", file=sys.stderr)
        return 2
    host = args.host
    env = {**os.environ, **OFFLINE_ENV}
    if getattr(args, "results", None) is not None:
        env[RESULTS_ENV] = str(results_folder(args.results))
    check_bind(host, args.port)
    if not is_loopback(host):
        print(
            f"admarket: warning: serving on {host}, reachable from other machines; the "
            "explorer has no authentication: anyone who can reach this port can use it",
            file=sys.stderr,
        )
    shown = f"[{host}]" if ":" in host else host
    print(
        f"admarket explorer: http://{shown}:{args.port}/  (side by side: /side-by-side, "
        "saved results: /saved)"
    )
    print("offline: front-end files served from the local Solara cache; Ctrl-C stops")
    sys.stdout.flush()
    argv = solara_argv(host, args.port)
    os.execve(sys.executable, argv, env)
    return 0  # pragma: no cover (execve does not return)

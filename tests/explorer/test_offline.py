"""Offline readiness and the ``explore`` command, without starting a server."""

from __future__ import annotations

import socket
from importlib import metadata

import pytest

from admarket.cli import explore as commands
from admarket.cli import main
from admarket.viz.vega import missing_vega_assets


def test_front_end_files_are_in_the_local_asset_cache() -> None:
    assert commands.missing_assets() == [], "install the solara-assets pinned in the viz extra"


def test_vega_is_in_the_local_asset_cache() -> None:
    # the explorer's charts: vega, vega-lite and vega-embed as solara-assets ships them
    assert missing_vega_assets() == [], "install the solara-assets pinned in the viz extra"


def test_ipyvue_pinned_below_2() -> None:
    # ipyvue/ipyvuetify 3: Solara's Vuetify-3 front end (not in solara-assets) and a blank
    # SolaraViz main panel (mesa issue 3806)
    for dist in ("ipyvue", "ipyvuetify"):
        assert int(metadata.version(dist).split(".")[0]) < 2


def test_preflight_is_clean_and_the_command_serves_offline() -> None:
    assert commands.preflight() == []
    argv = commands.solara_argv("127.0.0.1", 8765)
    assert argv[argv.index("run") + 1] == "admarket.viz.app"
    assert {"--production", "--no-open", "--no-check-version"} <= set(argv)
    assert commands.OFFLINE_ENV["SOLARA_ASSETS_PROXY"] == "true"
    assert commands.OFFLINE_ENV["SOLARA_TELEMETRY_MIXPANEL_ENABLE"] == "false"


def test_explore_fails_clearly_without_the_viz_extra(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(
        commands, "preflight", lambda: [f"missing packages: solara; {commands.INSTALL_HINT}"]
    )
    assert main(["explore", "--port", "9"]) == 2
    err = capsys.readouterr().err
    assert "pip install 'admarket[viz]'" in err and "explore" in err


@pytest.fixture
def no_exec(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """Stand-ins for the server: a clean preflight, and execve recorded instead of run."""
    calls: list[list[str]] = []
    monkeypatch.setattr(commands, "preflight", lambda: [])
    monkeypatch.setattr(commands.os, "execve", lambda exe, argv, env: calls.append(argv))
    return calls


def test_a_taken_port_is_one_line_suggesting_another_and_no_url(no_exec, capsys) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        assert main(["explore", "--port", str(port)]) == 2
    out, err = capsys.readouterr()
    assert "http://" not in out and no_exec == []
    assert len(err.strip().splitlines()) == 1
    assert f"port {port} is in use" in err and "choose another with --port" in err


def test_a_port_taken_after_the_check_is_one_line_not_uvicorn_s_error() -> None:
    """explore checks the port, lets it go, then the server binds it: a program taking it
    in between made the server fail with uvicorn's error (exit 3); now it is admarket's one
    line suggesting --port, exit 2. The race is made sure: the check is skipped."""
    import subprocess
    import sys

    code = (
        "import sys; from admarket.cli import explore, main; "
        "explore.check_bind = lambda host, port: None; sys.exit(main(sys.argv[1:]))"
    )
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        argv = [sys.executable, "-c", code, "explore", "--port", str(port)]
        # (a timeout: a server that binds after all would serve for ever)
        done = subprocess.run(argv, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2, done.stderr
    # admarket's line alone: uvicorn's own '[Errno 98] … address already in use' held back
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith("admarket: error: ") and "Errno" not in done.stderr
    assert f"port {port} is in use on 127.0.0.1" in line and "choose another with --port" in line


def test_uvicorn_s_socket_error_is_let_through_when_admarket_has_nothing_to_say(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """uvicorn's line is held back only for admarket's own: a failure admarket cannot word
    (the port binds again by the time it looks) shows uvicorn's error, and exits as it did."""
    import logging

    import solara.__main__

    from admarket.viz import serve

    logger = logging.getLogger(serve.UVICORN_ERRORS)
    seen: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = seen.append  # type: ignore[method-assign]
    logger.addHandler(handler)

    def failed_start() -> None:  # as uvicorn fails to bind
        logger.error(OSError(98, "error while attempting to bind on address"))
        raise SystemExit(3)

    monkeypatch.setattr(solara.__main__, "main", failed_start)
    argv = ["run", "admarket.viz.app", "--host", "127.0.0.1", "--port", "9"]
    try:
        monkeypatch.setattr(serve, "bind_error", lambda host, port: None)
        with pytest.raises(SystemExit) as stop:
            serve.main(argv)
        assert stop.value.code == 3 and [r.msg.errno for r in seen] == [98]
        assert "admarket" not in capsys.readouterr().err
        seen.clear()
        taken = OSError(98, "Address already in use")
        monkeypatch.setattr(serve, "bind_error", lambda host, port: taken)
        with pytest.raises(SystemExit) as stop:
            serve.main(argv)
        assert stop.value.code == 2 and seen == []  # admarket's line alone
        assert capsys.readouterr().err.count("admarket: error: port 9 is in use") == 1
        assert not logger.filters  # nothing held back after it returns
    finally:
        logger.removeHandler(handler)


def test_a_free_port_prints_the_url_then_serves(no_exec, capsys) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    assert main(["explore", "--port", str(port)]) == 0
    out, err = capsys.readouterr()
    assert f"http://127.0.0.1:{port}/" in out and err == ""
    assert no_exec and no_exec[0][no_exec[0].index("--port") + 1] == str(port)


def test_serving_beyond_loopback_warns_there_is_no_authentication(no_exec, capsys) -> None:
    assert commands.is_loopback("127.0.0.1") and commands.is_loopback("localhost")
    assert not commands.is_loopback("0.0.0.0")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    main(["explore", "--host", "0.0.0.0", "--port", str(port)])
    err = capsys.readouterr().err
    assert "no authentication" in err and "0.0.0.0" in err
    assert main(["explore", "--host", "no-such-host.invalid", "--port", str(port)]) == 2
    assert "--host" in capsys.readouterr().err

"""Offline readiness and the ``explore`` command, without starting a server."""

from __future__ import annotations

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

"""Named presets and TOML files, layered into one config: preset < file < overrides.

Presets live in ``admarket/config/presets/*.toml``; each names the calibration row it
follows in a ``source`` line. A TOML file holds ``MarketConfig`` keys at top level or under
``[market]``, and may name a ``preset`` of its own.
"""

from __future__ import annotations

import tomllib
from importlib import resources
from pathlib import Path
from typing import Any

from admarket.config.market_config import MarketConfig, from_mapping
from admarket.errors import ConfigError


def _preset_dir():
    return resources.files("admarket.config") / "presets"


def load_toml(
    path: str | Path, base: MarketConfig | None = None, preset: str | None = None
) -> MarketConfig:
    """Load a TOML config file on top of ``base``; a ``[market]`` table or top-level keys."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError("config", str(p), "an existing TOML file") from None
    except UnicodeDecodeError:
        raise ConfigError("config", str(p), "a UTF-8 text TOML file (this one is binary)") from None
    except OSError as exc:
        raise ConfigError("config", str(p), f"a readable TOML file ({exc.strerror})") from None
    try:
        data = tomllib.loads(text.removeprefix("\ufeff"))  # editors on Windows add a BOM
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError("config", str(p), f"valid TOML ({exc})") from None
    if "market" in data and isinstance(data["market"], dict):
        # "source" says where a file's values come from, as in the bundled presets: a copy
        # of one is a valid config file
        if "source" in data and not isinstance(data["source"], str):
            raise ConfigError(
                "source", data["source"], "a line of text saying where the values come from"
            )
        extra = set(data) - {"market", "preset", "source"}
        if extra:
            raise ConfigError(
                sorted(extra)[0], data[sorted(extra)[0]], "unknown table or key next to [market]"
            )
        values = dict(data["market"])
    else:
        values = dict(data)
    nested = "market" in data and isinstance(data["market"], dict)
    file_preset = values.pop("preset", data.get("preset"))
    top = data.get("preset") if nested else None
    if top is not None and top != file_preset:
        raise ConfigError(  # one of them was silently dropped (the [market] one won)
            "preset",
            file_preset,
            f"the preset named at the file's top level ({top}), or only one of them",
        )
    if file_preset is not None:
        if preset is not None and preset != file_preset:
            raise ConfigError(
                "preset",
                file_preset,
                f"the preset given with --preset ({preset}), or only one of them",
            )
        base = load_preset(file_preset, base=None)
    return from_mapping(values, base=base)


def preset_names() -> list[str]:
    """Names of the bundled presets."""
    root = _preset_dir()
    return sorted(p.name.removesuffix(".toml") for p in root.iterdir() if p.name.endswith(".toml"))


def _preset_data(name: str) -> dict[str, Any]:
    names = preset_names()
    if name not in names:
        raise ConfigError("preset", name, f"one of {', '.join(names)}")
    return tomllib.loads((_preset_dir() / f"{name}.toml").read_text(encoding="utf-8"))


def load_preset(name: str, base: MarketConfig | None = None) -> MarketConfig:
    """Load a bundled preset by name (``plan``, ``isba-pwc-2020``, ``ana-2023``, ...)."""
    return from_mapping(dict(_preset_data(name).get("market", {})), base=base)


def preset_source(name: str) -> str:
    """The ``source`` line of a preset: which calibration row it follows."""
    return str(_preset_data(name).get("source", ""))


def build_config(
    preset: str | None = None, config_file: str | Path | None = None, **overrides: Any
) -> MarketConfig:
    """Layer a preset, a TOML file and keyword overrides into one validated config."""
    if preset is not None and preset == "":
        raise ConfigError("preset", preset, f"one of {', '.join(preset_names())}")
    cfg = load_preset(preset) if preset else MarketConfig()
    if config_file is not None:
        cfg = load_toml(config_file, base=cfg, preset=preset)
    return from_mapping({k: v for k, v in overrides.items() if v is not None}, base=cfg)

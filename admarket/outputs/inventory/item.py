"""An item of ``admarket status``: one thing found in a folder (:class:`Item`), and the
texts it is told with — its seeds, how its configuration differs from the defaults, and
that an admarket process is writing it now."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from admarket.config import MarketConfig
from admarket.money import plural

_DEFAULTS = MarketConfig().to_dict()


@dataclass
class Item:
    """One thing found in a folder: a result folder or a checkpoint."""

    path: str
    # run, compare, sweep, checkpoint, journal, or "unknown" (an unmarked folder, or one an
    # admarket process is writing)
    kind: str
    complete: bool
    # one line: complete / damaged (why) / incomplete (why) / running / checkpoint at day d
    status: str
    scenarios: list[str] = field(default_factory=list)
    seeds: list[int] = field(default_factory=list)
    config: dict[str, Any] = field(default_factory=dict)  # values that differ from defaults
    # why its config could not be read ("" if it was): then ``config`` says nothing
    config_error: str = ""
    varies: list[str] = field(default_factory=list)  # parameters that differ between runs
    produced_by: str = ""
    detail: str = ""

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form."""
        return asdict(self)


def seed_text(seeds: list[int]) -> str:
    """``42–44`` for consecutive seeds, else a comma list (``1, 5, 9``)."""
    if not seeds:
        return "none"
    s = sorted(seeds)
    if len(s) > 2 and s == list(range(s[0], s[-1] + 1)):
        return f"{s[0]}–{s[-1]}"
    return ", ".join(map(str, s))


def config_text(item: Item) -> str:
    """An item's configuration in one line, as ``admarket status`` prints it: ``defaults``,
    ``defaults except k=v, …``, or ``unknown (why)`` when it could not be read; "" for a
    folder that says nothing of a config (an unmarked folder, a leftover)."""
    if item.config_error:  # not "defaults": nothing was read to say so
        return f"unknown ({item.config_error})"
    if item.kind in ("unknown", "leftover") and not item.config:
        return ""
    cfg = ", ".join(f"{k}={json.dumps(v)}" for k, v in item.config.items())
    return f"defaults{' except ' + cfg if cfg else ''}"


def config_diff(cfg: dict[str, Any]) -> dict[str, Any]:
    """The parameters of ``cfg`` (seed aside) that differ from the defaults."""
    out = {}
    for k, v in cfg.items():
        if k == "seed" or k not in _DEFAULTS:
            continue
        d = _DEFAULTS[k]
        if json.dumps(v, sort_keys=True) != json.dumps(d, sort_keys=True):
            out[k] = v
    return out


def describe_configs(item: Item, configs: list[Any], where: str) -> None:
    """Set ``item``'s parameters that vary between its runs' configs, and those that differ
    from the defaults in all of them; or its ``config_error`` when ``where`` (the store or
    journal they come from) holds no run, or a config that is not a JSON object."""
    if not configs:  # (not "defaults": there is no config to compare with them)
        item.config_error = f"{where} holds no runs"
    elif not all(isinstance(c, dict) for c in configs):
        item.config_error = f"a run's config in {where} is not a JSON object"
    else:
        keys = sorted(set().union(*configs) - {"seed"})
        item.varies = [
            k for k in keys if len({json.dumps(c.get(k), sort_keys=True) for c in configs}) > 1
        ]
        item.config = {k: v for k, v in config_diff(configs[0]).items() if k not in item.varies}


def running_text(out: Path, writer: str, study: str = "", n: int | None = None) -> str:
    """The status of the folder ``out`` that an admarket process (``writer``: its lock's
    text) is writing now — of its ``study``'s journal, keeping ``n`` finished runs, if
    given."""
    if not study:
        return (
            f"running — an admarket process is writing a result into it ({writer}); wait for "
            "it to finish"
        )
    done = "" if n is None else f": {plural(n, 'run')} finished so far"
    return (
        f"running — a {study} into {out} is still running ({writer}){done}; wait for it to "
        f"finish (a --resume, or anything else into {out}, is refused while it runs)"
    )

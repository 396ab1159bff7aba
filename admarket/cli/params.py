"""``admarket params``: every parameter with its default, range, unit and meaning.

Generated from the declarations in :class:`~admarket.config.MarketConfig`, so it cannot
drift from what the validator enforces.
"""

from __future__ import annotations

import argparse

from admarket.config import FIELDS, PARAMS, MarketConfig
from admarket.config.params import GROUPS, field_kind
from admarket.errors import UsageError


def rows(group: str | None = None) -> list[dict[str, str]]:
    """One row per parameter: name, default, allowed range, unit, meaning and group."""
    if group is not None and group not in GROUPS:
        raise UsageError(f"--group {group!r}: one of {', '.join(repr(g) for g in GROUPS)}")
    default = MarketConfig()
    out = []
    for g in GROUPS:
        if group not in (None, g):
            continue
        for name, info in PARAMS.items():
            if info.group != g:
                continue
            value = getattr(default, name)
            shown = ",".join(f"{v:g}" for v in value) if isinstance(value, tuple) else str(value)
            out.append(
                {
                    "name": name,
                    "default": shown.lower() if isinstance(value, bool) else shown,
                    "allowed": info.allowed(field_kind(FIELDS[name])),
                    "unit": info.unit,
                    "meaning": info.help,
                    "group": g,
                }
            )
    return out


def cmd_params(args: argparse.Namespace) -> int:
    """Print the parameter table, grouped (or as markdown with ``--markdown``)."""
    table = rows(args.group)
    if args.markdown:
        print("| parameter | default | allowed | unit | meaning |")
        print("|---|---|---|---|---|")
        for r in table:
            cells = [f"`{r['name']}`", r["default"], r["allowed"], r["unit"], r["meaning"]]
            print("| " + " | ".join(cells) + " |")
        return 0
    width = max(len(r["name"]) for r in table)
    dwidth = max(len(r["default"]) for r in table)
    group = None
    for r in table:
        if r["group"] != group:
            group = r["group"]
            print(f"\n{group}")
        unit = f" [{r['unit']}]" if r["unit"] else ""
        head = f"  {r['name']:<{width}}  {r['default']:>{dwidth}}"
        print(f"{head}  {r['meaning']}{unit}; {r['allowed']}")
    print("\nset any of them with --set NAME=VALUE, in a TOML file (--config), or as a keyword")
    return 0

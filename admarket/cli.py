"""Command line: ``admarket run | verify-ledger | ...`` (also ``python -m admarket``).

Every command validates its whole configuration before anything runs; a bad value is one
line naming the field, the value and what is allowed, with exit code 2 and nothing written.
Commands live in small modules that each add their parser here (see ``COMMAND_MODULES``).
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from admarket.config import SCENARIOS, ConfigError, MarketConfig, build_config, preset_names

# Modules that contribute subcommands through ``add_commands(subparsers)``.
COMMAND_MODULES: list[str] = ["admarket.batch.commands", "admarket.viz.commands"]


class Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line (plus a pointer to --help), exit 2."""

    def error(self, message: str):  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


class UsageError(Exception):
    """Bad command-line input that argparse itself cannot see (exit code 2)."""


def add_config_options(p: argparse.ArgumentParser, scenarios: bool = True) -> None:
    """The options every market-running command shares: preset, file, size, seed, --set."""
    if scenarios:
        p.add_argument(
            "--scenarios",
            default="a,b,c",
            help="comma-separated scenarios to run: a, b, c (default: a,b,c)",
        )
    p.add_argument("--preset", help=f"bundled preset: {', '.join(preset_names())}")
    p.add_argument("--config", metavar="FILE", help="TOML config file (keys of MarketConfig)")
    p.add_argument("--days", type=int)
    p.add_argument("--buyers", type=int, dest="n_buyers")
    p.add_argument("--sellers", type=int, dest="n_sellers")
    p.add_argument("--campaigns-per-buyer", type=int)
    p.add_argument("--seed", type=int)
    p.add_argument("--exchange-fee", type=float)
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="set any MarketConfig parameter, e.g. --set decay_rate=0.05 (repeatable)",
    )


def config_from_args(args: argparse.Namespace) -> MarketConfig:
    """Layer preset < config file < named options < --set into one validated config."""
    overrides: dict[str, Any] = {}
    for name in ("days", "n_buyers", "n_sellers", "campaigns_per_buyer", "seed", "exchange_fee"):
        value = getattr(args, name, None)
        if value is not None:
            overrides[name] = value
    for item in getattr(args, "set", []) or []:
        if "=" not in item:
            raise ConfigError("--set", item, "NAME=VALUE, e.g. decay_rate=0.05")
        key, value = item.split("=", 1)
        overrides[key.strip()] = value.strip()
    return build_config(args.preset, args.config, **overrides)


def parse_scenarios(text: str) -> list[str]:
    """``"a,b,c"`` → ``["A", "B", "C"]``; unknown names are a ConfigError."""
    out = []
    for part in text.split(","):
        s = part.strip().upper()
        if s not in SCENARIOS:
            raise ConfigError("scenarios", part.strip(), "a comma-separated list of a, b, c")
        if s not in out:
            out.append(s)
    if not out:
        raise ConfigError("scenarios", text, "at least one of a, b, c")
    return out


# --- run ------------------------------------------------------------------------------------
def _cmd_run(args: argparse.Namespace) -> int:
    from admarket.runner import print_summaries, run_scenarios

    cfg = config_from_args(args)
    scenarios = parse_scenarios(args.scenarios)
    models = run_scenarios(
        cfg,
        scenarios,
        progress=not args.no_progress,
        out=args.out,
        ledger_out=args.ledger_out,
        checkpoint_every=args.checkpoint_every,
        checkpoint_dir=args.checkpoint_dir,
    )
    print_summaries([m.summary() for m in models], cfg)
    return 0


def _cmd_resume(args: argparse.Namespace) -> int:
    from admarket.checkpoint import CheckpointError
    from admarket.runner import print_summaries, resume

    try:
        model = resume(
            args.checkpoint,
            progress=not args.no_progress,
            out=args.out,
            ledger_out=args.ledger_out,
            checkpoint_every=args.checkpoint_every,
            checkpoint_dir=args.checkpoint_dir,
        )
    except CheckpointError as exc:
        raise UsageError(str(exc)) from None
    print_summaries([model.summary()], model.config)
    return 0


def _cmd_verify_ledger(args: argparse.Namespace) -> int:
    from admarket.ledger import verify_file

    if not Path(args.path).is_file():
        raise UsageError(f"no ledger file at {args.path}")
    res = verify_file(args.path)
    if res.ok:
        print(f"ok: {res.n_entries} entries, hash chain intact")
        return 0
    where = f" at entry {res.first_bad}" if res.first_bad is not None else ""
    print(f"TAMPERED{where}: {res.reason}", file=sys.stderr)
    return 1


def _output_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", metavar="DIR", help="write the run's store, logs and report to DIR")
    p.add_argument(
        "--ledger-out",
        metavar="FILE",
        help="save scenario C's ledger (JSON Lines) for `admarket verify-ledger`",
    )
    p.add_argument(
        "--checkpoint-every",
        type=int,
        metavar="DAYS",
        help="checkpoint each scenario every DAYS simulated days",
    )
    p.add_argument(
        "--checkpoint-dir",
        default="checkpoints",
        metavar="DIR",
        help="where checkpoints go (default: ./checkpoints)",
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bar")


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser (also used to document the CLI)."""
    parser = Parser(
        prog="admarket",
        description="Agent-based model of the programmatic ad market: exchange (A) vs "
        "agent-to-agent (B) vs ledger-backed agent-to-agent (C).",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    run = sub.add_parser("run", help="run one or more scenarios on one seed and print a table")
    add_config_options(run)
    _output_options(run)
    run.set_defaults(func=_cmd_run)
    res = sub.add_parser("resume", help="continue a checkpointed run to its end")
    res.add_argument("checkpoint", help="file written by `run --checkpoint-every`")
    _output_options(res)
    res.set_defaults(func=_cmd_resume)
    ver = sub.add_parser(
        "verify-ledger", help="verify a saved ledger's hash chain (exit 1 if tampered)"
    )
    ver.add_argument("path", help="ledger file written by `run --ledger-out`")
    ver.set_defaults(func=_cmd_verify_ledger)
    for name in COMMAND_MODULES:
        importlib.import_module(name).add_commands(sub)
    return parser


def check_writable_dir(path: str | Path, option: str) -> None:
    """Fail early (before any simulation) if ``path`` cannot be created or written as a
    directory: an existing file in the way, or no write permission on the nearest parent."""
    p = Path(path)
    if p.exists() and not p.is_dir():
        raise UsageError(f"{option} {path}: exists and is not a directory")
    parent = p
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        raise UsageError(f"{option} {path}: {parent} is a file, not a directory")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise UsageError(f"{option} {path}: {parent} is not writable")


def _check_outputs(args: argparse.Namespace) -> None:
    if getattr(args, "out", None):
        check_writable_dir(args.out, "--out")
    if getattr(args, "ledger_out", None):
        check_writable_dir(Path(args.ledger_out).parent, "--ledger-out")
        if Path(args.ledger_out).is_dir():
            raise UsageError(f"--ledger-out {args.ledger_out}: is a directory, not a file")
    if getattr(args, "checkpoint_every", None):
        check_writable_dir(args.checkpoint_dir, "--checkpoint-dir")


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``admarket`` command; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        _check_outputs(args)
        return int(args.func(args) or 0)
    except (ConfigError, UsageError) as exc:
        print(f"admarket: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # a filesystem failure mid-run: outputs are atomic, say what failed
        where = f": {exc.filename}" if exc.filename else ""
        print(f"admarket: error: {exc.strerror or exc}{where}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("admarket: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

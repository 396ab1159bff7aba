"""What the ``admarket`` commands share: the one-line-error parser, the market options
(preset, file, size, seed, ``--set``), the language-model, output and batch options. The
early checks of output paths are in :mod:`admarket.cli.output_checks`.

Only light modules are imported here, so ``admarket --help`` and argument errors answer
without loading the model.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import Any

from admarket.cli.output_checks import DEFAULT_CHECKPOINT_DIR
from admarket.config import SCENARIOS, MarketConfig, build_config, preset_names
from admarket.errors import ConfigError, UsageError

# where _StoreOnce keeps, during one parse, the first value of each option given
_GIVEN = "_admarket_given_options"


class _StoreOnce(argparse._StoreAction):
    """argparse's store action, but an option given twice is refused instead of the last
    one winning without a word (``--buyers 2 --buyers 3`` ran with 3 buyers). Options meant
    to repeat use ``action="append"`` (``--set``, ``--grid``) and are not affected; flags
    (``store_true``) are not either: repeating one changes nothing."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: Any,
        option_string: str | None = None,
    ) -> None:
        if option_string is not None:  # (a positional is stored once by argparse itself)
            given: dict[str, tuple[str, Any]] = getattr(namespace, _GIVEN, None) or {}
            if self.dest in given:
                first_option, first = given[self.dest]
                again = "" if first_option == option_string else f" (as {first_option})"
                raise argparse.ArgumentError(
                    self,
                    f"given twice{again}: {first!r}, then {values!r}; give each option once "
                    "(only --set, --grid and other repeatable options may repeat)",
                )
            given[self.dest] = (option_string, values)
            setattr(namespace, _GIVEN, given)
        super().__call__(parser, namespace, values, option_string)


class Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line (plus a pointer to --help), exit 2, and
    that refuses an option given twice (:class:`_StoreOnce`)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # every plain option of this parser, its groups and its subcommands' parsers (made
        # by add_parser with this class): the default action and action="store"
        self.register("action", None, _StoreOnce)
        self.register("action", "store", _StoreOnce)

    def parse_known_args(  # type: ignore[override]
        self, args: Any = None, namespace: argparse.Namespace | None = None
    ) -> tuple[argparse.Namespace, list[str]]:
        """argparse's, without the bookkeeping of which options were given."""
        ns, rest = super().parse_known_args(args, namespace)
        if hasattr(ns, _GIVEN):
            delattr(ns, _GIVEN)
        return ns, rest

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


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
        help="set any parameter (see `admarket params`), e.g. --set decay_rate=0.05 (repeatable)",
    )


# parameters with an option of their own (--days, --buyers, ...), by parameter name
NAMED_OPTIONS = ("days", "n_buyers", "n_sellers", "campaigns_per_buyer", "seed", "exchange_fee")


def fixed_parameters(args: argparse.Namespace) -> set[str]:
    """Parameters the command line sets explicitly (named options and ``--set``), by name."""
    out = {n for n in NAMED_OPTIONS if getattr(args, n, None) is not None}
    for item in getattr(args, "set", []) or []:
        out.add(item.split("=", 1)[0].strip().replace("-", "_"))
    return out


def config_from_args(args: argparse.Namespace) -> MarketConfig:
    """Layer preset < config file < named options < --set into one validated config."""
    overrides: dict[str, Any] = {}
    for name in NAMED_OPTIONS:
        value = getattr(args, name, None)
        if value is not None:
            overrides[name] = value
    for item in getattr(args, "set", []) or []:
        if "=" not in item or not item.split("=", 1)[0].strip():
            raise ConfigError("--set", item, "NAME=VALUE, e.g. decay_rate=0.05")
        key, value = item.split("=", 1)
        key = key.strip()
        if key.replace("-", "_") in {k.replace("-", "_") for k in overrides}:
            # the last one won without a word: refuse, as --grid refuses a name twice
            raise ConfigError(
                "--set", item, f"each parameter once; {key} is already set (by --set or an option)"
            )
        overrides[key] = value.strip()
    roles: dict[str, bool] = {}
    for text in getattr(args, "policy", None) or []:  # (repeatable: one role each, say)
        for role, llm in policy_overrides(text).items():
            if role in roles:  # the last one would win without a word
                name = next(r for r, p in POLICY_ROLES.items() if p == role)
                raise ConfigError("--policy", text, f"each role once; {name} is already given")
            roles[role] = llm
        if both := sorted(set(roles) & set(overrides)):  # --policy would win without a word
            raise ConfigError(
                "--policy", text, f"each parameter once; {both[0]} is also given by --set"
            )
    overrides.update(roles)
    cfg = build_config(args.preset, args.config, **overrides)
    if (cfg.llm_buyers or cfg.llm_sellers) and not getattr(args, "llm_capable", False):
        raise UsageError(
            "language-model agents (llm_buyers/llm_sellers) run with `admarket run` only; "
            "this command runs rule-based agents"
        )
    return cfg


def check_config(args: argparse.Namespace) -> None:
    """Validate a market-running command's configuration and scenarios before its handler
    is imported, so a bad value is refused without loading the model, Mesa or pandas (the
    handler builds the same config again: a few microseconds)."""
    if hasattr(args, "preset"):
        config_from_args(args)
    if hasattr(args, "scenarios"):
        parse_scenarios(args.scenarios)


POLICY_ROLES = {"buyer": "llm_buyers", "seller": "llm_sellers"}
POLICIES = ("rules", "llm")


def policy_overrides(text: str) -> dict[str, bool]:
    """``"buyer=llm,seller=rules"`` → ``{"llm_buyers": True, "llm_sellers": False}``."""
    out: dict[str, bool] = {}
    for part in text.split(","):
        role, _, policy = part.strip().partition("=")
        role, policy = role.strip().lower().removesuffix("s"), policy.strip().lower()
        if role not in POLICY_ROLES or policy not in POLICIES:
            raise ConfigError(
                "--policy",
                part.strip(),
                "ROLE=POLICY[,...] with ROLE buyer or seller and "
                "POLICY rules or llm, e.g. buyer=llm,seller=rules",
            )
        if POLICY_ROLES[role] in out:  # buyer=llm,buyer=rules: the last would win unsaid
            raise ConfigError("--policy", text, f"each role once; {role} is given twice")
        out[POLICY_ROLES[role]] = policy == "llm"
    return out


def add_llm_options(p: argparse.ArgumentParser) -> None:
    """``--policy`` and the language-model endpoint's run options (``admarket run``)."""
    p.set_defaults(llm_capable=True)
    g = p.add_argument_group(
        "language-model agents",
        "agents of the llm policy ask any OpenAI-compatible chat endpoint (Ollama, vLLM, "
        "llama.cpp, OpenAI); model parameters: `admarket params --group 'language-model agents'`",
    )
    g.add_argument(
        "--policy",
        action="append",
        metavar="ROLE=POLICY,...",
        help="who decides how: buyer=llm,seller=rules (default: rules for both; repeatable, "
        "each role once); with --set llm_agents=N only N agents of each llm role, sampled by seed",
    )
    g.add_argument(
        "--llm-base-url",
        metavar="URL",
        help="endpoint's /v1 root, e.g. http://127.0.0.1:11434/v1 (Ollama)",
    )
    g.add_argument("--llm-model", metavar="NAME", help="model name, e.g. qwen2.5:3b")
    g.add_argument(
        "--llm-api-key-env",
        default="ADMARKET_LLM_API_KEY",
        metavar="VAR",
        help="environment variable holding the API key (default ADMARKET_LLM_API_KEY, then "
        "OPENAI_API_KEY; local servers need none)",
    )
    g.add_argument(
        "--llm-budget-usd",
        type=float,
        metavar="USD",
        help="stop cleanly at a day's close before LLM spend would pass USD",
    )
    g.add_argument(
        "--llm-replay",
        metavar="FILE",
        help="answer from a recording (llm_recording.jsonl) instead of an endpoint, with its "
        "model and request settings; with --llm-base-url, what it lacks is asked live",
    )
    g.add_argument(
        "--llm-record",
        metavar="FILE",
        help="also write the recording here (it always goes into --out DIR)",
    )
    g.add_argument(
        "--llm-timeout",
        type=float,
        default=120.0,
        metavar="S",
        help="seconds to wait for one answer (default 120)",
    )
    g.add_argument(
        "--llm-retries",
        type=int,
        default=2,
        metavar="N",
        help="retries with backoff after a timeout, 429 or 5xx (default 2)",
    )
    g.add_argument(
        "--llm-concurrency",
        type=int,
        default=4,
        metavar="N",
        help="requests in flight at once (default 4)",
    )
    g.add_argument(
        "--llm-temperature",
        type=float,
        default=0.0,
        metavar="T",
        help="sampling temperature (default 0)",
    )
    g.add_argument(
        "--llm-max-tokens",
        type=int,
        default=1024,
        metavar="N",
        help="completion tokens per answer at most (default 1024)",
    )
    add_choice_option(
        g,
        "--llm-response-format",
        ("schema", "json", "none"),
        "schema",
        "ask for JSON by schema (default), as any JSON object, or by prompt only",
    )


def add_choice_option(
    p: argparse.ArgumentParser | argparse._ArgumentGroup,
    flag: str,
    choices: Sequence[str],
    default: str | None,
    help: str,
) -> None:
    """Add ``flag`` to ``p`` as an option taking one of ``choices`` (``default`` when not
    given; None leaves the choice to the command). argparse itself refuses any other word,
    naming the choices, so every such option reads and fails the same way."""
    p.add_argument(flag, choices=choices, default=default, help=help)


def parse_scenarios(text: str) -> list[str]:
    """``"a,b,c"`` → ``["A", "B", "C"]``; unknown names are a ConfigError."""
    out = []
    for part in text.split(","):
        s = part.strip().upper()
        if s not in SCENARIOS:
            raise ConfigError("scenarios", text, "a comma-separated list of a, b, c")
        if s not in out:
            out.append(s)
    if not out:
        raise ConfigError("scenarios", text, "at least one of a, b, c")
    return out


def add_output_options(p: argparse.ArgumentParser) -> None:
    """``--out``, ``--ledger-out``, checkpoints and ``--no-progress`` (run, resume)."""
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
        metavar="DIR",
        help=f"where checkpoints go (with --checkpoint-every; default ./{DEFAULT_CHECKPOINT_DIR})",
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bar")


def add_batch_options(p: argparse.ArgumentParser, seeds: int) -> None:
    """Seeds, processes and progress (compare, sweep)."""
    p.add_argument(
        "--seeds", type=int, default=seeds, help=f"seeds per point, 1 to 100,000 (default {seeds})"
    )
    p.add_argument(
        "--seed-start", type=int, help="first seed (default: the config's seed); then +1, +2…"
    )
    p.add_argument(
        "--processes", type=int, help="worker processes (default: every CPU this may use)"
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    g = p.add_argument_group(
        "Dask cluster",
        "run on a dask.distributed cluster instead of local processes (the cluster extra: "
        "pip install 'admarket[cluster]'); results are identical to a local run",
    )
    where = g.add_mutually_exclusive_group()
    where.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="an existing Dask scheduler, e.g. tcp://10.0.0.5:8786; its workers need the "
        "same admarket version",
    )
    where.add_argument(
        "--cluster",
        metavar="local:N",
        help="start a LocalCluster of N worker processes on this machine",
    )

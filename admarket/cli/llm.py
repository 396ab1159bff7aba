"""``admarket run`` with language-model agents: the session from the options, its outputs.

:func:`session_from_args` checks every LLM option before anything runs (one line, exit 2
on a bad one) and opens the :class:`~admarket.llm.LLMSession`: a live endpoint
(``--llm-base-url``, ``--llm-model``, key from ``--llm-api-key-env``), or a recording
(``--llm-replay``; with ``--llm-base-url`` too, requests the recording lacks go live).
:func:`recording_files` is what goes into the result folder; :func:`print_llm_summary`
adds the language-model lines to the run's table.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from admarket.cli.output_checks import check_writable_dir
from admarket.config import MarketConfig
from admarket.errors import UsageError
from admarket.llm import LLMSession, ReplayEndpoint, RequestSettings
from admarket.money import plural, usd

if TYPE_CHECKING:  # pragma: no cover
    from admarket.model import MarketModel

RECORDING_NAME = "llm_recording.jsonl"
EXIT_STOPPED = 3  # the run stopped at its LLM budget: results written, marked as stopped
_OPTIONS = ("llm_base_url", "llm_model", "llm_replay", "llm_record", "llm_budget_usd")


def _check_numbers(args: argparse.Namespace) -> None:
    checks = (
        ("--llm-timeout", args.llm_timeout, args.llm_timeout > 0, "a number of seconds > 0"),
        ("--llm-retries", args.llm_retries, 0 <= args.llm_retries <= 20, "an integer in [0, 20]"),
        (
            "--llm-concurrency",
            args.llm_concurrency,
            1 <= args.llm_concurrency <= 256,
            "an integer in [1, 256]",
        ),
        (
            "--llm-temperature",
            args.llm_temperature,
            0 <= args.llm_temperature <= 2,
            "a number in [0, 2]",
        ),
        (
            "--llm-max-tokens",
            args.llm_max_tokens,
            16 <= args.llm_max_tokens <= 10**6,
            "an integer in [16, 1000000]",
        ),
    )
    for name, value, ok, allowed in checks:
        if not ok:
            raise UsageError(f"invalid {name} = {value!r}: {allowed}")
    budget = args.llm_budget_usd
    if budget is not None and not budget > 0:
        raise UsageError(f"invalid --llm-budget-usd = {budget!r}: a number of USD > 0")


def _check_base_url(url: str) -> None:
    """Refuse a ``--llm-base-url`` no request could go to before anything runs (the client
    would only fail at the first question, after a simulated day)."""
    try:
        parts = urlsplit(url)
        scheme = parts.scheme if "://" in url else ""  # "host:port/v1" parses as a scheme
        if any(ch.isspace() or not ch.isprintable() for ch in url):
            wrong = "it holds a space or a control character"
        elif not scheme:
            http = url.lower().startswith(("http:", "https:"))
            wrong = "no // after the scheme" if http else "no scheme"
        elif scheme not in ("http", "https"):
            wrong = f"its scheme is {scheme}"
        elif not parts.hostname:
            wrong = "no host"
        elif parts.port == 0:  # (raises on a port that is not a number in 0-65535)
            wrong = "port 0"
        else:
            wrong = ""
    except ValueError as exc:  # a bad port or IPv6 address
        wrong = str(exc)
    if wrong:
        raise UsageError(
            f"invalid --llm-base-url = {url!r}: {wrong}; allowed: an http:// or https:// URL "
            "with a host, e.g. http://127.0.0.1:11434/v1"
        )


def session_from_args(
    args: argparse.Namespace, cfg: MarketConfig, scenarios: list[str]
) -> LLMSession | None:
    """The session ``admarket run`` asks, or None when no agent uses the llm policy."""
    given = [f"--{o.replace('_', '-')}" for o in _OPTIONS if getattr(args, o, None) is not None]
    if not (cfg.llm_buyers or cfg.llm_sellers):
        if given:
            raise UsageError(
                f"{given[0]} given, but no agent uses the llm policy (add --policy buyer=llm "
                "and/or seller=llm)"
            )
        return None
    direct = [s for s in scenarios if s != "A"]
    if not direct:
        raise UsageError("language-model agents trade directly: add scenario b or c to --scenarios")
    if args.checkpoint_every:
        raise UsageError(
            "--checkpoint-every cannot save language-model agents; the run's recording "
            "replays it instead (--llm-replay)"
        )
    _check_numbers(args)
    if args.llm_record:
        check_writable_dir(Path(args.llm_record).parent, "--llm-record")
    live = None
    if args.llm_base_url:
        _check_base_url(args.llm_base_url)
        if not args.llm_replay and not args.llm_model:
            raise UsageError("--llm-base-url needs --llm-model NAME (e.g. qwen2.5:3b)")
        from admarket.llm.client import OpenAIEndpoint, api_key  # imports openai (llm extra)

        live = OpenAIEndpoint(
            args.llm_base_url,
            key=api_key(args.llm_api_key_env),
            timeout=args.llm_timeout,
            retries=args.llm_retries,
            key_env=args.llm_api_key_env,
        )
    endpoint: ReplayEndpoint | OpenAIEndpoint
    if args.llm_replay:
        endpoint = ReplayEndpoint(args.llm_replay, fallback=live)
        settings, label = endpoint.settings, f"replay of {args.llm_replay}"
    elif live is not None:
        endpoint, label = live, f"{args.llm_base_url} ({args.llm_model})"
        settings = RequestSettings(
            model=args.llm_model,
            temperature=args.llm_temperature,
            max_tokens=args.llm_max_tokens,
            response_format=args.llm_response_format,
            seed=cfg.seed,
        )
    else:
        raise UsageError(
            "--policy ...=llm needs an endpoint: --llm-base-url URL --llm-model NAME "
            "(e.g. http://127.0.0.1:11434/v1 for Ollama), or --llm-replay FILE"
        )
    session = LLMSession(
        endpoint,
        settings,
        concurrency=args.llm_concurrency,
        budget_usd=args.llm_budget_usd,
        label=label,
    )
    session.split_budget(len(direct))
    return session


def recording_files(session: LLMSession | None) -> dict[str, str]:
    """The files a result folder gets from the session: its recording."""
    return {} if session is None else {RECORDING_NAME: session.recorder.text()}


def save_partial(session: LLMSession, path: str | None) -> str:
    """After a failure: save the exchanges so far to ``--llm-record`` (if given) and say how
    to continue from them."""
    if not path or not len(session.recorder):
        return ""
    session.recorder.save(path)
    return (
        f" (the {len(session.recorder)} exchanges so far are in {path}: add --llm-replay "
        f"{path} to continue without asking them again)"
    )


def print_llm_summary(models: list[MarketModel], session: LLMSession, file=None) -> bool:
    """Print the language-model lines of the run; returns whether a run stopped early."""
    file = file or sys.stdout
    stopped = False
    print(f"\nlanguage-model agents: {session.label}", file=file)
    for m in models:
        r = m.policies
        if not r.active:
            continue
        c = r.costs
        wrong = sum(s.wrong for s in r.statements)
        n = len(r.statements)
        lookups = sum(rec.lookups for rec in c.records)
        rate = f"{wrong / n:.1%}" if n else "n/a"
        names = ", ".join(a.name for a in r.llm)
        print(
            f"  scenario {m.scenario_id}: {names}; "
            f"{plural(len(c.records), 'question', grouped=True)}, "
            f"{c.prompt_tokens:,} prompt + {c.completion_tokens:,} completion tokens "
            f"({usd(c.usd, 4)}); {plural(n, 'number', grouped=True)} stated, {wrong:,} wrong "
            f"({rate}); {plural(lookups, 'ledger lookup', grouped=True)}",
            file=file,
        )
        if r.stopped:
            stopped = True
            budget = session.budget_per_run or 0.0
            print(
                f"  scenario {m.scenario_id} {r.stopped.upper()}: it ran {m.day + 1} of "
                f"{plural(m.config.days, 'day')} (LLM spend {usd(c.usd, 4)}; this run's budget "
                f"{usd(budget, 4)}); its numbers cover those days only",
                file=file,
            )
    return stopped

"""Running scenarios on one configuration and showing the headline table.

``run_scenarios`` is the Python API behind ``admarket run``: the same config and seed for
every scenario (common random numbers), a progress bar across all of them, and optionally
scenario C's ledger saved for ``admarket verify-ledger``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tqdm import tqdm

from admarket.cli.llm import (
    EXIT_STOPPED,
    print_llm_summary,
    recording_files,
    save_partial,
    session_from_args,
)
from admarket.cli.options import config_from_args, parse_scenarios
from admarket.config import MarketConfig
from admarket.errors import CheckpointError, LLMError, UsageError
from admarket.ledger.chain import verify_file
from admarket.llm import LLMSession
from admarket.model import MarketModel
from admarket.model.checkpoint import checkpoint_name, load_checkpoint, save_checkpoint
from admarket.money import usd
from admarket.outputs.publish import write_run


def run_scenarios(
    cfg: MarketConfig,
    scenarios: list[str],
    *,
    progress: bool = True,
    out: str | None = None,
    ledger_out: str | None = None,
    checkpoint_every: int | None = None,
    checkpoint_dir: str | Path = "checkpoints",
    llm: LLMSession | None = None,
) -> list[MarketModel]:
    """Run each scenario to the end on ``cfg``; returns the finished models.

    With ``checkpoint_every`` = N, each scenario is checkpointed atomically into
    ``checkpoint_dir`` at the end of every N-th day (``admarket resume`` continues one).
    ``llm``: the session language-model agents ask (its recording goes into ``out``).
    """
    if ledger_out is not None and "C" not in scenarios:
        raise UsageError("--ledger-out needs scenario c in --scenarios")
    if checkpoint_every is not None and checkpoint_every < 1:
        raise UsageError(
            f"--checkpoint-every must be a whole number of days ≥ 1, not {checkpoint_every}"
        )
    models = [MarketModel(s, cfg, llm=llm) for s in scenarios]
    with _progress(cfg.steps * len(scenarios), progress) as bar:
        for m in models:
            drive(m, bar, checkpoint_every, checkpoint_dir)
    finish(models, out, ledger_out, recording_files(llm))
    return models


def drive(
    model: MarketModel,
    bar=None,
    checkpoint_every: int | None = None,
    checkpoint_dir: str | Path = "checkpoints",
) -> MarketModel:
    """Step ``model`` to its end, advancing ``bar`` and writing checkpoints if asked."""
    every = (checkpoint_every or 0) * model.config.steps_per_day
    if bar is not None:
        bar.set_description(f"scenario {model.scenario_id}")
    while model.running:
        model.step()
        if bar is not None:
            bar.update(1)
        if every and model.running and model.steps % every == 0:
            save_checkpoint(model, Path(checkpoint_dir) / checkpoint_name(model))
    return model


def finish(
    models: list[MarketModel],
    out: str | None,
    ledger_out: str | None,
    attachments: dict[str, str] | None = None,
) -> None:
    """Save C's ledger and the run store (with ``attachments``), as asked."""
    for m in models:
        if ledger_out is not None and m.ledger is not None:
            Path(ledger_out).parent.mkdir(parents=True, exist_ok=True)
            m.ledger.save(ledger_out)
    if out is not None:
        write_run(models, out, attachments=attachments)


def _progress(total: int, enabled: bool) -> tqdm:
    """A progress bar of simulated hours on stderr (silent when not ``enabled``)."""
    return tqdm(
        total=total, unit="h", desc="simulating", file=sys.stderr, leave=False, disable=not enabled
    )


def resume(
    path: str | Path,
    *,
    progress: bool = True,
    out: str | None = None,
    ledger_out: str | None = None,
    checkpoint_every: int | None = None,
    checkpoint_dir: str | Path = "checkpoints",
) -> MarketModel:
    """Continue a checkpointed run to its end, exactly as if it had never stopped."""
    model = load_checkpoint(path)
    with _progress(model.config.steps - model.steps, progress) as bar:
        drive(model, bar, checkpoint_every, checkpoint_dir)
    finish([model], out, ledger_out)
    return model


def _fmt_money(x: float) -> str:
    return usd(x, 0)


def print_summaries(summaries: list[dict], cfg: MarketConfig, file=None) -> None:
    """Print the per-scenario headline table (inputs and outcomes labelled)."""
    file = file or sys.stdout
    rows = [
        ("gross spend", lambda s: _fmt_money(s["gross_spend"])),
        ("net to publishers", lambda s: _fmt_money(s["net_to_publishers"])),
        (
            "intermediary take",
            lambda s: f"{_fmt_money(s['intermediary_take'])} ({s['take_rate']:.1%})",
        ),
        ("impressions", lambda s: f"{s['impressions']:,}"),
        ("hit impression goal", lambda s: f"{s['hit_impression_goal']}/{s['campaigns']}"),
        ("hit CPM goal", lambda s: f"{s['hit_cpm_goal']}/{s['campaigns']}"),
        (
            "overspent campaigns",
            lambda s: f"{s['overspent_campaigns']} ({_fmt_money(s['overspend_usd'])} over budget)",
        ),
        ("PG impressions short", lambda s: f"{s['pg_shortfall_impressions']:,}"),
        ("mean goal attainment", lambda s: f"{s['mean_goal_attainment']:.3f}"),
        (
            "hallucinated decisions",
            lambda s: (
                f"{s['hallucinated_decisions']:,}/{s['decisions']:,}"
                f" ({s['hallucination_rate']:.1%})"
            ),
        ),
        ("facts lost / restarts", lambda s: f"{s['facts_lost']:,} / {s['restarts']}"),
        (
            "recovery fidelity",
            lambda s: (
                "n/a"
                if s["recoveries"] == 0
                else f"{s['recovery_fidelity']:.1%} of {s['recoveries']:,}"
            ),
        ),
        ("disputes / written off", lambda s: f"{s['disputes']} / {_fmt_money(s['written_off'])}"),
        ("ledger cost", lambda s: f"${s['ledger_cost_usd']:,.2f}" if s["ledger_entries"] else "-"),
    ]
    names = [f"scenario {s['scenario']}" for s in summaries]
    width = max(len(r[0]) for r in rows)
    cols = [[fn(s) for s in summaries] for _, fn in rows]
    colw = [max(len(n), *(len(c[i]) for c in cols)) for i, n in enumerate(names)]
    print(
        f"{cfg.days} days, {cfg.n_buyers} buyers, {cfg.n_sellers} sellers, "
        f"{cfg.n_campaigns} campaigns, seed {cfg.seed}",
        file=file,
    )
    print(
        f"inputs: exchange fee stack {cfg.exchange_take:.1%} (A), agent fee "
        f"{cfg.agent_fee:.1%} (B, C), protocol fee {cfg.protocol_fee:.1%} (C)",
        file=file,
    )
    print(
        " " * width + "  " + "  ".join(n.rjust(w) for n, w in zip(names, colw, strict=True)),
        file=file,
    )
    for (label, _), vals in zip(rows, cols, strict=True):
        print(
            label.ljust(width)
            + "  "
            + "  ".join(v.rjust(w) for v, w in zip(vals, colw, strict=True)),
            file=file,
        )


# --- command handlers ------------------------------------------------------------------------
def cmd_run(args: argparse.Namespace) -> int:
    """``admarket run``: every scenario asked for, on one config and seed; a table."""
    cfg = config_from_args(args)
    scenarios = parse_scenarios(args.scenarios)
    llm = session_from_args(args, cfg, scenarios)
    try:
        models = run_scenarios(
            cfg,
            scenarios,
            progress=not args.no_progress,
            out=args.out,
            ledger_out=args.ledger_out,
            checkpoint_every=args.checkpoint_every,
            checkpoint_dir=args.checkpoint_dir,
            llm=llm,
        )
    except LLMError as exc:  # say where the exchanges made so far were saved, if they were
        partial = save_partial(llm, args.llm_record) if llm is not None else ""
        raise LLMError(f"{exc}{partial}") from None
    except KeyboardInterrupt:
        if llm is not None:
            save_partial(llm, args.llm_record)
        raise
    finally:
        if llm is not None:
            llm.close()
    print_summaries([m.summary() for m in models], cfg)
    if llm is None:
        return 0
    if args.llm_record:
        llm.recorder.save(args.llm_record)
    return EXIT_STOPPED if print_llm_summary(models, llm) else 0


def cmd_resume(args: argparse.Namespace) -> int:
    """``admarket resume CHECKPOINT``: continue a checkpointed run to its end."""
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


def cmd_verify_ledger(args: argparse.Namespace) -> int:
    """``admarket verify-ledger FILE``: exit 0 intact, 1 tampered, 2 unreadable."""
    if not Path(args.path).is_file():
        raise UsageError(f"no ledger file at {args.path}")
    res = verify_file(args.path)
    if res.ok:
        print(f"ok: {res.n_entries} entries, hash chain intact")
        return 0
    where = f" at entry {res.first_bad}" if res.first_bad is not None else ""
    print(f"TAMPERED{where}: {res.reason}", file=sys.stderr)
    return 1

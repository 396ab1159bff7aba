"""Running scenarios on one configuration and showing the headline table.

``run_scenarios`` is the Python API behind ``admarket run``: the same config and seed for
every scenario (common random numbers), a progress bar across all of them, and optionally
scenario C's ledger saved for ``admarket verify-ledger``.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import IO

# Mesa first, before the model's own imports: importing mesa.model walks the call stack and
# every loaded module (its logger's inspect.stack()), so it costs less (~0.05-0.1 s CPU)
# the fewer frames and modules there are when it runs. `run` needs Mesa anyway.
import mesa  # noqa: F401
from tqdm import tqdm

from admarket.atomic import stage_beside
from admarket.cli.llm import (
    EXIT_STOPPED,
    print_llm_summary,
    recording_files,
    save_partial,
    session_from_args,
)
from admarket.cli.options import config_from_args, parse_scenarios
from admarket.cli.output_checks import (
    DEFAULT_CHECKPOINT_DIR,
    check_checkpoints,
    check_ledger_out,
)
from admarket.config import MarketConfig, check_scenarios, from_mapping
from admarket.config.sizing import check_memory
from admarket.errors import CheckpointError, ConfigError, LLMError, UsageError
from admarket.llm import LLMSession
from admarket.model import MarketModel
from admarket.model.checkpoint import (
    checkpoint_name,
    load_checkpoint,
    read_header,
    save_checkpoint,
)
from admarket.money import pct, plural, usd, usd_auto
from admarket.outputs.measures import full_summary
from admarket.report.glossary import label


def run_scenarios(
    cfg: MarketConfig,
    scenarios: list[str],
    *,
    progress: bool = True,
    out: str | None = None,
    ledger_out: str | None = None,
    checkpoint_every: int | None = None,
    checkpoint_dir: str | Path | None = None,
    llm: LLMSession | None = None,
) -> list[MarketModel]:
    """Run each scenario to the end on ``cfg``; returns the finished models.

    With ``checkpoint_every`` = N, each scenario is checkpointed atomically into
    ``checkpoint_dir`` (default ``./checkpoints``) at the end of every N-th day (``admarket
    resume`` continues one). With ``out``, the output folder is checked and locked before
    the first step and the result published whole at the end (``outputs.publish``).
    ``llm``: the session language-model agents ask (its recording goes into ``out``).
    """
    scenarios = check_scenarios(scenarios)
    if ledger_out is not None:
        if "C" not in scenarios:
            raise UsageError("--ledger-out needs scenario c in --scenarios")
        check_ledger_out(str(ledger_out), out)
    check_checkpoints(checkpoint_every, _opt_str(checkpoint_dir), out)
    # every scenario's model is alive until the end; with --out, one run's tables at a time,
    # the largest read a chunk at a time (outputs.results.write_run)
    check_memory(
        cfg,
        len(scenarios),
        writing=1 if out is not None else 0,
        scenarios=scenarios,
        fewer="--scenarios",
    )
    with _reserved(out):
        models = [MarketModel(s, cfg, llm=llm) for s in scenarios]
        with _progress(cfg.steps * len(scenarios), progress) as bar:
            for m in models:
                drive(m, bar, checkpoint_every, checkpoint_dir)
        finish(models, out, ledger_out, recording_files(llm))
    return models


def _opt_str(path: str | Path | None) -> str | None:
    return None if path is None else str(path)


def drive(
    model: MarketModel,
    bar=None,
    checkpoint_every: int | None = None,
    checkpoint_dir: str | Path | None = None,
) -> MarketModel:
    """Step ``model`` to its end, advancing ``bar`` and writing checkpoints if asked."""
    every = (checkpoint_every or 0) * model.config.steps_per_day
    folder = Path(DEFAULT_CHECKPOINT_DIR if checkpoint_dir is None else checkpoint_dir)
    if bar is not None:
        bar.set_description(f"scenario {model.scenario_id}")
    while model.running:
        model.step()
        if bar is not None:
            bar.update(1)
        if every and model.running and model.steps % every == 0:
            try:
                save_checkpoint(model, folder / checkpoint_name(model))
            except CheckpointError as exc:
                raise UsageError(str(exc)) from None
    return model


def finish(
    models: list[MarketModel],
    out: str | None,
    ledger_out: str | None,
    attachments: dict[str, str] | None = None,
) -> None:
    """Save C's ledger and publish the run's result (with ``attachments``), as asked.

    The ledger is written beside ``ledger_out`` first and put in place only once the result
    is published: a run stopped or failing while it publishes leaves the ledger file that
    matches the result already in ``out``, not one whose anchor no published store holds.
    """
    staged: Path | None = None
    # the staged copy, open from its creation to its rename, so locked (atomic.stage_beside):
    # `admarket status` lists an unheld one as a killed run's leftover
    held: IO[str] | None = None
    try:
        for m in models:
            if ledger_out is not None and m.ledger is not None:
                target = Path(ledger_out)
                target.parent.mkdir(parents=True, exist_ok=True)
                if staged is not None:  # (one C run per command; the API may pass more)
                    staged.unlink(missing_ok=True)
                if held is not None:
                    held.close()
                    held = None
                fd, tmp = stage_beside(target)
                staged, held = Path(tmp), os.fdopen(fd, "w", encoding="utf-8")
                try:  # written into the held copy itself: no file on the way is ever unheld
                    m.ledger.write(held)
                    held.flush()
                    os.fsync(held.fileno())
                    os.fchmod(held.fileno(), 0o644)  # (made private; a ledger is to be read)
                except OSError as exc:  # name the file asked for, not the staged copy
                    raise OSError(exc.errno, exc.strerror, f"{ledger_out} (--ledger-out)") from exc
        if out is not None:
            from admarket.outputs.results import write_run  # store and report: only with --out

            write_run(models, out, attachments=attachments)
        if staged is not None and ledger_out is not None:
            os.replace(staged, ledger_out)
            staged = None
    finally:
        if staged is not None:
            staged.unlink(missing_ok=True)
        if held is not None:  # closed only now (after its rename or delete): the lock with it
            with contextlib.suppress(OSError):
                held.close()


def _reserved(out: str | None) -> contextlib.AbstractContextManager:
    """The output folder checked and locked for this run (``publish.reserve``), or nothing
    without ``--out``: publishing loads DuckDB and the report, which a run without it never
    needs."""
    if out is None:
        return contextlib.nullcontext()
    from admarket.outputs.publish import reserve

    return reserve(out)


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
    checkpoint_dir: str | Path | None = None,
) -> MarketModel:
    """Continue a checkpointed run to its end, exactly as if it had never stopped.

    The checkpoint's header is checked first (format, checksum, package version, config
    hash), then every option against it — ``ledger_out`` needs a scenario C checkpoint —
    before the model is unpickled (a checkpoint is trusted input, like any pickle).
    """
    header, _ = read_header(path)
    if ledger_out is not None:
        if header["scenario"] != "C":
            raise UsageError(
                f"--ledger-out needs a scenario C checkpoint; {path} is scenario "
                f"{header['scenario']}, which keeps no ledger"
            )
        check_ledger_out(str(ledger_out), out)
    check_checkpoints(checkpoint_every, _opt_str(checkpoint_dir), out)
    try:
        check_memory(
            from_mapping(header["config"]),
            writing=1 if out is not None else 0,
            scenarios=[header["scenario"]],
        )
    except ConfigError as exc:  # a config this admarket rejects: the header was edited
        raise CheckpointError(f"{path}: its config is not valid here ({exc})") from None
    with _reserved(out):
        model = load_checkpoint(path)
        with _progress(model.config.steps - model.steps, progress) as bar:
            drive(model, bar, checkpoint_every, checkpoint_dir)
        finish([model], out, ledger_out)
    return model


def _fmt_money(x: float) -> str:
    return usd_auto(x)


def _share(s: dict, name: str) -> str:
    v = s.get(name, float("nan"))
    return "n/a" if v != v else pct(v)


def _ledger(s: dict, name: str, token: str) -> str:
    if not s["ledger_entries"]:
        return "- (no ledger)"
    v = s.get(name, float("nan"))
    return "n/a" if v != v else f"{v:,.4f} {token} ({usd(s[name + '_usd'])})"


def _count(name: str) -> Callable[[dict], str]:
    """A headline row printing the summary's ``name`` as a whole number (``12,345``)."""
    return lambda s: f"{s[name]:,}"


def _count_of(part: str, whole: str, share: Callable[[dict], str]) -> Callable[[dict], str]:
    """A headline row printing ``part`` of ``whole`` and the share it is (``3/40 (7.5%)``);
    ``share`` words the share, as each row has its own rate."""
    return lambda s: f"{s[part]:,}/{s[whole]:,} ({share(s)})"


# (glossary name, how to print it): the rows of the headline table, labelled by the glossary
SUMMARY_ROWS = (
    ("gross_spend", lambda s: _fmt_money(s["gross_spend"])),
    ("net_to_publishers", lambda s: _fmt_money(s["net_to_publishers"])),
    (
        "intermediary_take",
        lambda s: f"{_fmt_money(s['intermediary_take'])} ({pct(s['take_rate'])})",
    ),
    ("impressions", _count("impressions")),
    ("fill_rate", lambda s: _share(s, "fill_rate")),
    ("hit_impression_goal", lambda s: f"{s['hit_impression_goal']}/{s['campaigns']}"),
    ("hit_cpm_goal", lambda s: f"{s['hit_cpm_goal']}/{s['campaigns']}"),
    ("hit_kpi_goal", lambda s: f"{s.get('hit_kpi_goal', 'n/a')}/{s['campaigns']}"),
    (
        "overspent_campaigns",
        lambda s: f"{s['overspent_campaigns']} ({_fmt_money(s['overspend_usd'])} over budget)",
    ),
    ("pg_shortfall_impressions", _count("pg_shortfall_impressions")),
    ("mean_goal_attainment", lambda s: f"{s['mean_goal_attainment']:.3f}"),
    (
        "wrong_decision_share",
        _count_of("hallucinated_decisions", "decisions", lambda s: pct(s["hallucination_rate"])),
    ),
    (
        "wrong_claim_share",
        _count_of("wrong_claims", "claims", lambda s: _share(s, "wrong_claim_share")),
    ),
    ("facts_lost", _count("facts_lost")),
    ("restarts", _count("restarts")),
    (
        "recovery_fidelity",
        lambda s: (
            "n/a"
            if s["recoveries"] == 0
            else f"{pct(s['recovery_fidelity'])} of {s['recoveries']:,}"
        ),
    ),
    ("disputes", _count("disputes")),
    ("written_off", lambda s: _fmt_money(s["written_off"])),
    (
        "ledger_cost_usd",
        lambda s: _fmt_money(s["ledger_cost_usd"]) if s["ledger_entries"] else "- (no ledger)",
    ),
    ("ledger_cost_sui", lambda s: _ledger(s, "ledger_cost_sui", "SUI")),
    ("ledger_cost_wal", lambda s: _ledger(s, "ledger_cost_wal", "WAL")),
)


def print_summaries(summaries: list[dict], cfg: MarketConfig, file=None) -> None:
    """Print the per-scenario headline table (inputs and outcomes labelled, rows named as in
    the report's glossary). ``summaries``: ``full_summary(model)`` (or ``model.summary()``)."""
    file = file or sys.stdout
    rows = [(label(name), fn) for name, fn in SUMMARY_ROWS]
    names = [f"scenario {s['scenario']}" for s in summaries]
    width = max(len(r[0]) for r in rows)
    cols = [[fn(s) for s in summaries] for _, fn in rows]
    colw = [max(len(n), *(len(c[i]) for c in cols)) for i, n in enumerate(names)]
    print(
        f"{plural(cfg.days, 'day')}, {plural(cfg.n_buyers, 'buyer')}, "
        f"{plural(cfg.n_sellers, 'seller')}, {plural(cfg.n_campaigns, 'campaign')}, "
        f"seed {cfg.seed}",
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
    for (name, _), vals in zip(rows, cols, strict=True):
        print(
            name.ljust(width)
            + "  "
            + "  ".join(v.rjust(w) for v, w in zip(vals, colw, strict=True)),
            file=file,
        )


def print_anchors(models: list[MarketModel], file=None) -> None:
    """Print each ledger's anchor — entry count and head hash — to keep outside the file."""
    for m in models:
        if m.ledger is not None:
            print(
                f"scenario {m.scenario_id} ledger anchor (publish it outside the ledger file; "
                f"check a saved copy with `admarket verify-ledger FILE --anchor ...`): "
                f"{m.ledger.n_entries}:{m.ledger.head_hash}",
                file=file or sys.stdout,
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
    print_summaries([full_summary(m) for m in models], cfg)
    print_anchors(models)
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
    print_summaries([full_summary(model)], model.config)
    print_anchors([model])
    return 0

"""Parameter sweeps: where does direct trading (B) or the ledger (C) beat the exchange (A)?

``sweep`` runs every point of a parameter grid (e.g. exchange fee × decay rate × restart
rate) for several seeds and each scenario, and returns a tidy DataFrame (one row per point ×
scenario × seed); :mod:`admarket.report.break_even` pairs each B/C run with A on the same
point and seed, and :mod:`admarket.report.drivers` ranks what the swept parameters move.
Written to a directory, a sweep is a store (``sweep`` and ``runs`` tables) plus
``sweep.csv``, ``break_even.csv``, ``sweep.md``, ``charts/break_even.png`` and
``sweep-runs.jsonl`` (its runs, for a later ``--resume`` to reuse), published atomically
like a compare.
"""

from __future__ import annotations

import contextlib
import itertools
import sys
from pathlib import Path
from typing import Any

import pandas as pd

from admarket.batch.cluster import Cluster, runs_at_once_here
from admarket.batch.pool import in_task_order, iter_results
from admarket.batch.tasks import Task, make_tasks
from admarket.config import FIELDS, ConfigError, MarketConfig, check_scenarios
from admarket.config.params import coerce, field_kind
from admarket.config.sizing import check_memory
from admarket.errors import UsageError
from admarket.outputs.publish import publish, reserve
from admarket.outputs.run_identity import run_key
from admarket.outputs.store import STORE_NAME, write_tables
from admarket.outputs.sweep_journal import (
    PUBLISHED,
    SweepJournal,
    journal_text,
    kept_runs_digest,
)
from admarket.report.break_even import break_even, break_even_chart, sweep_markdown
from admarket.report.drivers import (
    driver_table,
    drivers_chart,
    drivers_markdown,
    left_out_note,
    sweep_base,
)
from admarket.report.sweep_values import storable_values, text_cells, value_text

METRICS = (
    "gross_spend",
    "net_to_publishers",
    "intermediary_take",
    "take_rate",
    "impressions",
    "mean_goal_attainment",
    "hit_impression_goal",
    "hit_budget_goal",
    "at_risk_share",
    "hallucination_rate",
    "facts_lost",
    "restarts",
    "disputes",
    "written_off",
    "ledger_cost_usd",
    # what drives C (issue 10): wrong facts, the ledger's faults, the count discrepancy
    "wrong_fact_share",
    "count_disputes",
    "cosign_failures",
    "ledger_facts_wrong",
    "ledger_reads_failed",
    "ledger_writes_lost",
)


LLM_ROLES = ("llm_buyers", "llm_sellers")
LLM_REFUSAL = (
    "a parameter of rule-based agents; language-model agents run with `admarket run --policy "
    "...` only"
)


def parse_grid(items: list[str]) -> dict[str, list[str]]:
    """``["exchange_fee=0.1,0.2", "decay_rate=0.02"]`` → ``{name: [values…]}`` (strings).
    A value of a list parameter with several numbers is bracketed: ``campaign_budgets=
    [10000,25000],[5000]`` is two values, ``"10000,25000"`` and ``"5000"``."""
    grid: dict[str, list[str]] = {}
    for item in items:
        if "=" not in item:
            raise ConfigError("--grid", item, "NAME=V1,V2,..., e.g. exchange_fee=0.1,0.15,0.2")
        name, values = item.split("=", 1)
        vals = [v.strip() for v in _split_values(item, values) if v.strip()]
        if not vals:
            raise ConfigError("--grid", item, "at least one value after '='")
        key = name.strip().replace("-", "_")
        if not key:
            raise ConfigError("--grid", item, "NAME=V1,V2,..., e.g. exchange_fee=0.1,0.15,0.2")
        if key in LLM_ROLES:  # refused up front, not at its first point
            raise ConfigError("--grid", item, LLM_REFUSAL)
        field = FIELDS.get(key)
        bracketed = "[" in values
        if bracketed and field is not None and field_kind(field) != "tuple":
            raise ConfigError(
                "--grid",
                item,
                f"brackets only around a list parameter's value; {key} is a "
                f"{field_kind(field)}: {key}=V1,V2,...",
            )
        if key == "seed":  # seeds are replications, not a parameter to sweep
            raise ConfigError(
                "--grid", item, "a model parameter; seeds are set with --seeds and --seed-start"
            )
        if key in grid:
            raise ConfigError(
                "--grid", item, f"each parameter once; {key} is already swept (one list per name)"
            )
        grid[key] = vals
    if not grid:
        raise ConfigError("--grid", "", "at least one NAME=V1,V2,... item")
    return grid


def _split_values(item: str, values: str) -> list[str]:
    """``values`` split at the commas outside brackets, a bracketed value unwrapped: a list
    parameter's value of several numbers is one bracketed item, ``[10000,25000],[5000]``
    (the text inside is what ``--set`` takes for that parameter)."""
    out, depth, start = [], 0, 0
    for i, ch in enumerate(values + ","):
        if ch == "[":
            depth += 1
        elif ch == "]":
            depth -= 1
        if depth < 0 or depth > 1:
            break
        if ch == "," and depth == 0:
            out.append(values[start:i].strip())
            start = i + 1
    if depth != 0:
        raise ConfigError(
            "--grid", item, "brackets that pair up, one level: NAME=[V1,V2],[V3] for a list"
        )
    for i, v in enumerate(out):
        inner = v[1:-1] if v.startswith("[") and v.endswith("]") else v
        if "[" in inner or "]" in inner:  # [1] [2], [1][2], a[1]: not one bracketed value
            raise ConfigError("--grid", item, f"a value wholly in brackets, not {v!r}")
        if inner is not v and not inner.replace(",", "").strip():
            raise ConfigError("--grid", item, f"at least one number inside {v!r}")
        out[i] = inner
    return out


def _as_typed(field: Any, value: Any) -> str:
    """A grid value as ``--grid`` takes it: a list parameter's value of several numbers in
    brackets (``[10000,25000]``), anything else as its text."""
    text = value_text(value)
    return f"[{text}]" if field_kind(field) == "tuple" and "," in text else text


def grid_points(
    cfg: MarketConfig, grid: dict[str, list[Any]], one_at_a_time: bool = False
) -> list[MarketConfig]:
    """One validated config per grid point: the cartesian product (in grid order), or with
    ``one_at_a_time`` each parameter's values in turn with the others at ``cfg``'s. A value
    given twice for one parameter (``0.1,0.1``, or ``0.1,0.10``) is a ConfigError."""
    _check_distinct(grid)
    for name in LLM_ROLES:  # (the Python API's sweep too: its first point ran, then failed)
        if name in grid:
            raise ConfigError(name, grid[name], LLM_REFUSAL)
    if one_at_a_time:
        return [cfg.replace(**{name: v}) for name, values in grid.items() for v in values]
    names = list(grid)
    return [
        cfg.replace(**dict(zip(names, combo, strict=True)))
        for combo in itertools.product(*grid.values())
    ]


def point_blocks(grid: dict[str, list[Any]]) -> dict[str, range]:
    """A one-at-a-time sweep's points of each parameter, by point index (the order of
    :func:`grid_points`: each parameter's values in turn)."""
    out, start = {}, 0
    for name, values in grid.items():
        out[name] = range(start, start + len(values))
        start += len(values)
    return out


def _check_distinct(grid: dict[str, list[Any]]) -> None:
    """Refuse a parameter whose values repeat one (as the config reads them: ``0.1`` and
    ``0.10`` are one value), which would run the same point twice and draw it twice."""
    for name, values in grid.items():
        field = FIELDS.get(str(name).replace("-", "_"))
        if field is None:  # an unknown name: refused, with the nearest names, by the config
            continue
        seen: dict[Any, Any] = {}
        for v in values:
            c = coerce(field, v)
            key = tuple(c) if isinstance(c, list) else c
            if key in seen:
                same = f"{v}" if f"{v}" == f"{seen[key]}" else f"{seen[key]} (as {v})"
                given = ",".join(_as_typed(field, x) for x in values)
                raise ConfigError(
                    "--grid", f"{name}={given}", f"each value once; {name} repeats {same}"
                )
            seen[key] = v


def sweep(
    cfg: MarketConfig,
    grid: dict[str, list[Any]],
    seeds: list[int],
    scenarios: list[str] | tuple[str, ...] = ("A", "B", "C"),
    *,
    processes: int = 1,
    progress: bool = False,
    out: str | Path | None = None,
    one_at_a_time: bool = False,
    cluster: Cluster | None = None,
    resume: bool = False,
) -> pd.DataFrame:
    """Run the grid × seeds × scenarios; returns the tidy results (point, params, scenario…).

    Every grid value is validated, and each point's market checked against the memory
    available, before anything runs; with ``out`` the folder is checked and locked first.
    ``one_at_a_time``: vary each parameter alone, the others at ``cfg``'s values, instead of
    the cartesian product (the "what drives C" section reads either). With ``cluster``
    (:mod:`.cluster`) the runs go to a Dask cluster instead of ``processes`` local
    processes; the results are identical.

    With ``out``, each finished run is journalled beside the folder
    (:mod:`admarket.outputs.sweep_journal`) until the result is published; ``resume``
    reuses the runs a stopped sweep's journal holds, and those of a complete sweep already
    in ``out`` (made by the same code), so only the rest run (needs ``out``;
    ``tidy.attrs`` says how many runs there were, ``"runs"``, and how many were reused,
    ``"reused_runs"``).
    """
    if resume and out is None:
        raise UsageError("--resume needs --out DIR: a sweep's finished runs are kept beside it")
    scenarios = check_scenarios(scenarios)
    points = grid_points(cfg, grid, one_at_a_time)  # validates every value before anything runs
    # a one-at-a-time sweep meets the base point once per parameter: run it once
    same: dict[MarketConfig, list[int]] = {}
    for i, pc in enumerate(points):
        same.setdefault(pc, []).append(i)
    tasks: list[Task] = []
    for pc, (i, *_) in same.items():
        tasks += make_tasks(
            {"design": scenarios, "config": pc},
            seeds,
            collect="summary",
            point=i,
            first_run_id=len(tasks),
        )
    if at_once := runs_at_once_here(cluster, processes, len(tasks)):
        for pc in points:
            check_memory(pc, at_once, scenarios=scenarios)
    with reserve(out) if out is not None else contextlib.nullcontext() as dest:
        journal = SweepJournal(dest, resume) if dest is not None else None
        try:
            tidy = _run_sweep(
                cfg,
                tasks,
                points,
                same,
                grid,
                processes,
                progress,
                out,
                cluster,
                journal,
                one_at_a_time,
            )
        except BaseException:
            if journal is not None:
                journal.stopped(len(tasks))
            raise
        finally:
            if journal is not None:
                journal.close()
        tidy.attrs["runs"] = len(tasks)  # fewer than rows when points share a run
        tidy.attrs["reused_runs"] = journal.reused if journal is not None else 0
        return tidy


def _run_sweep(
    cfg: MarketConfig,
    tasks: list[Task],
    points: list[MarketConfig],
    same: dict[MarketConfig, list[int]],
    grid: dict[str, list[Any]],
    processes: int,
    progress: bool,
    out: str | Path | None,
    cluster: Cluster | None = None,
    journal: SweepJournal | None = None,
    one_at_a_time: bool = False,
) -> pd.DataFrame:
    # a swept parameter named like an outcome (hallucination_rate is both) keeps its name;
    # the outcome becomes <name>_outcome, so neither overwrites the other
    column = {m: f"{m}_outcome" if m in grid else m for m in METRICS}
    results = _results(tasks, processes, progress, cluster, journal)
    rows = []
    for r in results:
        s = r["tables"]["summaries"].iloc[0]
        pc = points[int(s["point"])]
        for j in same[pc]:
            rows.append(
                {
                    "point": j,
                    **{k: getattr(pc, k) for k in grid},
                    "scenario": s["scenario"],
                    "seed": int(s["seed"]),
                    **{column[m]: s[m] for m in METRICS},
                }
            )
    rows.sort(key=lambda row: row["point"])  # stable: each point's runs in run order
    tidy = pd.DataFrame(rows)
    if out is not None:
        runs = pd.concat([r["tables"]["runs"] for r in results], ignore_index=True)
        kept = journal_text(tasks, results)  # so that a later --resume can extend the sweep
        blocks = point_blocks(grid) if one_at_a_time else None
        _write(tidy, runs, list(grid), out, sweep_base(cfg, list(grid)), kept, blocks)
        if journal is not None:  # published: its runs are the result's (a kill before this
            # line leaves a journal whose runs the result keeps: removed later)
            journal.published({run_key(t) for t in tasks})
    return tidy


def _results(
    tasks: list[Task],
    processes: int,
    progress: bool,
    cluster: Cluster | None,
    journal: SweepJournal | None,
) -> list[dict]:
    """Every task's result in task order: the journal's where it holds the run (resumed),
    the others run now and journalled as each finishes. Every run or an error."""
    found = journal.take(tasks) if journal is not None else {}
    if journal is not None and journal.resume:
        print(journal.resume_note(len(tasks)), file=sys.stderr, flush=True)
    todo = [i for i in range(len(tasks)) if i not in found]
    results: dict[int, dict] = dict(found)
    if todo:
        rest = [tasks[i] for i in todo]
        runs = iter_results(rest, processes, progress, cluster=cluster, done=len(found))
        for j, r in runs:
            results[todo[j]] = r
            if journal is not None:
                journal.add(tasks[todo[j]], r)
    return in_task_order(results, len(tasks))


def _write(
    tidy: pd.DataFrame,
    runs: pd.DataFrame,
    params: list[str],
    out: str | Path,
    base: dict,
    kept_runs: str,
    blocks: dict[str, range] | None = None,
) -> None:
    """Publish a sweep's result into ``out``; ``blocks``: a one-at-a-time sweep's points of
    each parameter (:func:`point_blocks`), None for a cartesian one."""
    be = break_even(tidy, params)
    drivers = driver_table(tidy, params, base, blocks)

    def build(tmp: Path) -> None:
        # the drivers' value column holds every swept parameter's values: as text when
        # they are of different kinds (a store column holds one type)
        stored = (
            drivers.assign(value=storable_values(drivers["value"])) if len(drivers) else drivers
        )
        tables = {"sweep": tidy, "break_even": be, "drivers": stored, "runs": runs}
        # a table with no columns (no A: no break-even) cannot be stored
        write_tables(tmp / STORE_NAME, {k: v for k, v in tables.items() if len(v.columns)})
        # a list value (campaign_budgets) is written as the text --set takes: 10000,25000
        text_cells(tidy, params).to_csv(tmp / "sweep.csv", index=False)
        (tmp / PUBLISHED).write_text(kept_runs, encoding="utf-8")
        parts = []
        if not be.empty:
            text_cells(be, params).to_csv(tmp / "break_even.csv", index=False)
            # one-at-a-time: a row of panels per parameter, over its slice (others at base)
            break_even_chart(be, params, tmp / "charts" / "break_even.png", base, blocks)
        parts.append(sweep_markdown(be, params, tidy["seed"].nunique(), base))
        if not drivers.empty:
            text_cells(stored, ["value"]).to_csv(tmp / "drivers.csv", index=False)
            drivers_chart(drivers, tmp / "charts" / "drivers.png")
            parts.append(drivers_markdown(drivers, base))
        if note := left_out_note(tidy, drivers, params, base):  # say why they are not there
            head = [] if len(drivers) else ["## What drives C: the ledger assumptions", ""]
            parts.append("\n".join([*head, note, ""]))
        (tmp / "sweep.md").write_text("\n".join(parts))

    meta = {
        "kind": "sweep",
        "runs": len(tidy),
        "grid": params,
        "points": int(tidy["point"].nunique()),
        "runs_sha256": kept_runs_digest(kept_runs),  # what a later --resume may reuse
    }
    publish(out, build, meta)

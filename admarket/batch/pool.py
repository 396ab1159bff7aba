"""A Mesa-``batch_run``-compatible runner that returns whole runs, in parallel processes.

``mesa.batch_run(MarketModel, parameters, rng=[seeds], number_processes=n)`` works with our
model (it passes ``rng`` as the seed), but it returns only DataCollector rows, while the store
needs each run's transactions, campaigns, claims, ledger and events; it also forces the
global start method to "spawn" and collects results with ``imap_unordered`` (arrival order).
So ``batch_run`` here takes the same arguments and lays out runs the same way (for each rng
value, every combination of parameters), but each worker returns the run's store tables
(``collect="tables"``) or its summary row (``collect="summary"``), and results are put back
in run order. A "spawn" context is used locally (not set globally): workers start clean —
no inherited threads from DuckDB or tqdm, same behaviour on Linux, macOS and Windows — and
since every run is fully determined by its config and seed, results are identical whatever
the number of processes. Callers of the parallel path need an ``if __name__ == "__main__"``
guard (the ``admarket`` CLI entry point is one).
"""

from __future__ import annotations

import multiprocessing
import os
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from mesa.batchrunner import _make_model_kwargs

from admarket.config import MarketConfig
from admarket.model import MarketModel
from admarket.outputs.store import run_summary_tables, run_tables

COLLECT = ("tables", "summary")


@dataclass(frozen=True)
class Task:
    """One model run: Mesa's (run id, iteration, kwargs) plus a sweep point and what to return."""

    run_id: int
    iteration: int
    kwargs: dict[str, Any]
    point: int | None = None
    collect: str = "tables"
    max_steps: int | None = None


def run_task(task: Task) -> dict[str, Any]:
    """Run one model to its end (or ``max_steps``) and return its tables (in a worker)."""
    m = MarketModel(**task.kwargs)
    while m.running and (task.max_steps is None or m.steps < task.max_steps):
        m.step()
    tables = (run_tables if task.collect == "tables" else run_summary_tables)(m, point=task.point)
    summary = tables["summaries"].iloc[0].to_dict()
    return {
        "RunId": task.run_id,
        "iteration": task.iteration,
        "Step": m.steps,
        **{k: v for k, v in task.kwargs.items() if k != "config"},
        **summary,
        "tables": tables,
    }


def default_processes() -> int:
    """Processes to use by default: the CPUs this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def run_tasks(tasks: list[Task], processes: int = 1, progress: bool = True) -> list[dict]:
    """Run ``tasks`` on ``processes`` worker processes; results in task order."""
    from tqdm import tqdm

    results: list[dict | None] = [None] * len(tasks)
    with tqdm(
        total=len(tasks), unit="run", desc="runs", disable=not progress, file=sys.stderr
    ) as bar:
        if processes <= 1 or len(tasks) <= 1:
            for i, t in enumerate(tasks):
                results[i] = run_task(t)
                bar.update()
        else:
            ctx = multiprocessing.get_context("spawn")
            with ctx.Pool(min(processes, len(tasks))) as pool:
                for i, res in pool.imap_unordered(_indexed, list(enumerate(tasks))):
                    results[i] = res
                    bar.update()
    return [r for r in results if r is not None]


def _indexed(item: tuple[int, Task]) -> tuple[int, dict]:
    i, task = item
    return i, run_task(task)


def make_tasks(
    parameters: Mapping[str, Any | Iterable[Any]],
    rng: Iterable[int] | int | None,
    *,
    collect: str = "tables",
    max_steps: int | None = None,
    point: int | None = None,
    first_run_id: int = 0,
) -> list[Task]:
    """Mesa's run layout: for each rng value, every combination of ``parameters``."""
    if collect not in COLLECT:
        raise ValueError(f"collect={collect!r}: allowed {', '.join(COLLECT)}")
    seeds = list(rng) if isinstance(rng, Iterable) else [rng]
    tasks, run_id = [], first_run_id
    for i, seed in enumerate(seeds):
        for kwargs in _make_model_kwargs(dict(parameters)):
            kw = dict(kwargs)
            if seed is not None:
                kw["rng"] = seed
            tasks.append(Task(run_id, i, kw, point, collect, max_steps))
            run_id += 1
    return tasks


def batch_run(
    model_cls: type[MarketModel] = MarketModel,
    parameters: Mapping[str, Any | Iterable[Any]] | None = None,
    number_processes: int | None = 1,
    iterations: int | None = None,
    data_collection_period: int = -1,
    max_steps: int | None = None,
    display_progress: bool = True,
    rng: Iterable[int] | int | None = None,
    *,
    collect: str = "tables",
) -> list[dict[str, Any]]:
    """``mesa.batch_run``'s signature and run layout for ``MarketModel``, returning whole runs.

    Each result dict has Mesa's ``RunId``, ``iteration``, ``Step`` and parameter keys, the
    run's summary numbers, and ``"tables"``: the run's store tables (or just its ``runs``
    and ``summaries`` rows with ``collect="summary"``). Runs go to the end of the configured
    flight unless ``max_steps`` stops them earlier; only end-of-run data is collected
    (``data_collection_period`` must be -1). ``number_processes=None`` uses every CPU.
    """
    if model_cls is not MarketModel:
        raise ValueError("admarket's batch_run runs MarketModel; use mesa.batch_run otherwise")
    if data_collection_period != -1:
        raise ValueError("only end-of-run collection (data_collection_period=-1) is supported")
    if iterations is not None:
        if rng is not None:
            raise ValueError("pass either iterations or rng, not both")
        rng = [None] * iterations  # type: ignore[list-item]
    parameters = dict(parameters or {})
    cfg = parameters.get("config")
    if cfg is not None and not isinstance(cfg, MarketConfig):
        raise TypeError("parameters['config'] must be one MarketConfig")
    tasks = make_tasks(parameters, rng, collect=collect, max_steps=max_steps)
    procs = default_processes() if number_processes is None else number_processes
    return run_tasks(tasks, procs, display_progress)

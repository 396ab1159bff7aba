"""What one run of a batch is (:class:`Task`), what runs it (:func:`run_task`, in a
worker process or in this one), and Mesa's ``batch_run`` layout of a batch's runs
(:func:`make_tasks`: for each rng value, every combination of parameters).

Where the tasks run — worker processes, this one, or a Dask cluster — is
:mod:`.pool`'s to say.
"""

from __future__ import annotations

import gc
import itertools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from admarket.model import MarketModel
from admarket.outputs import store_writer
from admarket.outputs.run_tables import run_summary_tables, run_tables
from admarket.outputs.spool import Spool

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
    spool: Spool | None = None  # where the worker leaves large tables and logs (compare)
    # a run in the process that stores it: its largest table handed over in chunks of this
    # many rows (a ChunkedTable cannot travel to another process; a spool has its own)
    chunk_rows: int | None = None


def run_task(task: Task) -> dict[str, Any]:
    """Run one model to its end (or ``max_steps``) and return its tables (in a worker);
    with a ``spool``, its logs and large tables are written to disk here instead."""
    m = MarketModel(**task.kwargs)
    while m.running and (task.max_steps is None or m.steps < task.max_steps):
        m.step()
    if task.collect != "tables":
        tables: dict[str, Any] = run_summary_tables(m, point=task.point)
    else:  # a spooling worker, or this process's store, writes it a chunk at a time
        chunk_rows = task.spool.chunk_rows if task.spool is not None else task.chunk_rows
        tables = run_tables(m, point=task.point, chunk_rows=chunk_rows)
    steps = m.steps
    del m  # not held while its tables are written
    if _large(tables):
        # the model is a web of reference cycles (agents <-> model): `del` frees nothing
        # until the collector runs, so collect before a large run's tables are written
        # (C at 500 x 200: the worker peaked 1,396 -> 1,329 MiB); a collection costs ~0.1 s,
        # so a small run (every run at plan scale) leaves it to Python
        gc.collect()
    summary = tables["summaries"].iloc[0].to_dict()
    if task.spool is not None:
        tables = task.spool.take(tables, task.run_id)
    return {
        "RunId": task.run_id,
        "iteration": task.iteration,
        "Step": steps,
        **{k: v for k, v in task.kwargs.items() if k != "config"},
        **summary,
        "tables": tables,
    }


def _large(tables: Mapping[str, Any]) -> bool:
    """Whether a run's tables hold one large enough to be written a chunk at a time."""
    return any(store_writer.written_in_chunks(t) for t in tables.values())


def parameter_combinations(parameters: Mapping[str, Any | Iterable[Any]]) -> list[dict[str, Any]]:
    """Every combination of ``parameters``, as Mesa's ``batch_run`` lays them out.

    A value that is a string or not iterable is one value; any other iterable lists the
    values (an empty one is a ValueError). Combinations follow the parameters' order, the
    last varying fastest (``itertools.product``).
    """
    axes = []
    for name, values in parameters.items():
        options: list[Any]
        if isinstance(values, str):
            options = [values]
        else:
            try:
                options = list(values)
            except TypeError:
                options = [values]
            if not options:
                raise ValueError(f"parameter {name!r} has no values (an empty list)")
        axes.append([(name, v) for v in options])
    return [dict(combo) for combo in itertools.product(*axes)]


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
        for kwargs in parameter_combinations(parameters):
            kw = dict(kwargs)
            if seed is not None:
                kw["rng"] = seed
            tasks.append(Task(run_id, i, kw, point, collect, max_steps))
            run_id += 1
    return tasks

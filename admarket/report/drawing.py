"""Drawing the report's charts on a study's worker processes while the report is written.

A study's worker processes are idle once its runs are done. ``compare`` keeps them
(:func:`admarket.batch.pool.worker_pool`), sends each a :func:`warm_up` as it runs out of
runs (so matplotlib's import and first figure are paid before the serial tail, not in it),
and the report hands them one chart each (:func:`start_charts`) while it reads the rest of
the store and computes its findings. A chart drawn on a worker is byte for byte the one
drawn here: same code, same data (the ReportData is pickled once, when the charts are
handed out), same matplotlib settings. Without an executor the charts are drawn in this
process, one after the other.

A chart that fails is a :class:`~admarket.errors.ChartError` naming it (an OSError, such as
a full disk, stays an OSError, which publishing reports as a failed write); a worker lost
while drawing is a :class:`~admarket.errors.WorkerLostError`. Either way the caller's
result is not published.
"""

from __future__ import annotations

import io
import pickle
from concurrent.futures import BrokenExecutor, Executor, Future, wait
from pathlib import Path

from admarket.errors import ChartError, WorkerLostError
from admarket.report.chart_parts import pyplot
from admarket.report.charts import CHARTS
from admarket.report.data import ReportData


def warm_up() -> None:
    """Import pyplot and draw one small figure with text to memory (a worker's first chart
    otherwise pays for both: about 0.7 s). Cheap when already done."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(2, 1.5))
    ax.bar(["warm"], [1.0], yerr=[[0.1], [0.1]], capsize=3)
    ax.set_title("warm-up", fontsize=9)
    fig.set_layout_engine("tight")  # as chart_parts.save_chart lays a chart out
    fig.savefig(io.BytesIO(), format="png", dpi=110)
    plt.close(fig)


def draw_chart(index: int, data: bytes, out: Path) -> str:
    """Draw chart number ``index`` of :data:`CHARTS` from a pickled ReportData into ``out``
    (in a worker process); returns its file name."""
    d: ReportData = pickle.loads(data)
    return CHARTS[index][0](d, out)


class PendingCharts:
    """The report's charts, drawn or being drawn; :meth:`result` waits for them."""

    def __init__(self, futures: list[Future] | None, names: list[str] | None) -> None:
        self._futures = futures
        self._names = names

    def result(self) -> list[tuple[str, str]]:
        """``(file name, caption)`` of every chart, in :data:`CHARTS` order, once drawn."""
        if self._futures is not None:
            self._names = [_collect(i, fut, self._futures) for i, fut in enumerate(self._futures)]
            self._futures = None
        assert self._names is not None
        return [(name, caption) for name, (_, caption) in zip(self._names, CHARTS, strict=True)]


_LOST = (
    "a worker process died while drawing the report's charts (killed, or out of memory?); "
    "nothing was published"
)


def _failed(index: int, exc: Exception, where: str) -> ChartError:
    text = str(exc).strip().splitlines()
    why = f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__
    return ChartError(
        f"the report chart '{CHARTS[index][1]}' could not be drawn{where} ({why}); "
        "nothing was published"
    )


def _collect(index: int, fut: Future, futures: list[Future]) -> str:
    try:
        return fut.result()
    except BaseException as exc:
        for other in futures:  # the result fails: draw nothing more
            other.cancel()
        if isinstance(exc, Exception):  # (an interrupt must not wait)
            # let the charts already being drawn finish, so that no worker writes into the
            # result folder after the caller has removed it
            wait(futures)
        if isinstance(exc, BrokenExecutor):
            raise WorkerLostError(_LOST) from None
        if isinstance(exc, OSError) or not isinstance(exc, Exception):
            raise
        raise _failed(index, exc, " in a worker process") from exc


def start_charts(d: ReportData, out: Path, executor: Executor | None = None) -> PendingCharts:
    """Start drawing every chart of ``d`` into ``out``: one task each on ``executor``'s
    workers, or here and now without one. ``d`` is copied (pickled) before this returns,
    so the caller may go on using it."""
    if executor is None:
        names = []
        for i, (fn, _) in enumerate(CHARTS):
            try:
                names.append(fn(d, out))
            except OSError:
                raise
            except Exception as exc:
                raise _failed(i, exc, "") from exc
        return PendingCharts(None, names)
    data = pickle.dumps(d, protocol=pickle.HIGHEST_PROTOCOL)
    try:
        futures = [executor.submit(draw_chart, i, data, out) for i in range(len(CHARTS))]
    except BrokenExecutor:  # a worker died after the runs, before the charts
        raise WorkerLostError(_LOST) from None
    return PendingCharts(futures, None)

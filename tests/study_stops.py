"""Stopping a study part way, as Ctrl-C would, for the tests of its journal."""

from __future__ import annotations

from collections.abc import Callable, Iterator


def stopping_after(run_all: Callable[..., Iterator], n: int, ran: list[int]) -> Callable:
    """An ``iter_results`` (``run_all``, the real one) that counts the runs it is given and
    raises KeyboardInterrupt (as Ctrl-C would) after ``n`` of them have finished."""

    def fake(tasks, *args, **kwargs):
        ran.append(len(tasks))
        for k, item in enumerate(run_all(tasks, *args, **kwargs)):
            if k == n:
                raise KeyboardInterrupt
            yield item

    return fake

"""A language-model session: the endpoint, request settings, recording, concurrency, budget.

One :class:`LLMSession` serves every model of one command (``admarket run`` with several
scenarios runs them one after another on the same session): it owns the endpoint (live,
or a recording replayed), the settings every request carries, the :class:`Recorder` of
every exchange, the thread pool that carries a phase's questions concurrently, and the
budget (``--llm-budget-usd``), shared equally by the runs that have language-model agents.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from admarket.llm.conversation import Answer, Endpoint, Question, RequestSettings, ask_many
from admarket.llm.recording import Recorder


class LLMSession:
    """Endpoint + settings + recorder + thread pool + budget (see the module docstring)."""

    def __init__(
        self,
        endpoint: Endpoint,
        settings: RequestSettings,
        *,
        concurrency: int = 4,
        budget_usd: float | None = None,
        label: str = "",
    ):
        self.endpoint = endpoint
        self.settings = settings
        self.recorder = Recorder(settings)
        self.concurrency = max(1, concurrency)
        self._pool = ThreadPoolExecutor(self.concurrency) if self.concurrency > 1 else None
        self.budget_usd = budget_usd
        self.budget_per_run = budget_usd
        self.label = label  # where answers come from, for people: a URL or "replay of FILE"

    def split_budget(self, runs: int) -> None:
        """Share the budget equally among ``runs`` runs (scenarios) with language-model agents."""
        if self.budget_usd is not None:
            self.budget_per_run = self.budget_usd / max(1, runs)

    def ask(self, question: Question, steps_per_day: int) -> Answer:
        """Carry one question to its answer (requests one at a time)."""
        return ask_many(
            self.endpoint, [question], self.settings, self.recorder, None, steps_per_day
        )[0]

    def ask_many(self, questions: list[Question], steps_per_day: int) -> list[Answer]:
        """Carry many questions to their answers, each round's requests concurrently."""
        return ask_many(
            self.endpoint, questions, self.settings, self.recorder, self._pool, steps_per_day
        )

    def close(self) -> None:
        """Stop the thread pool."""
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None

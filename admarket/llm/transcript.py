"""A language-model agent's memory: the transcript of everything it saw, cut to its window.

Where a rule-based agent holds facts in a :class:`~admarket.memory.context.ContextMemory`,
a language-model agent holds a transcript: one line per thing it saw or wrote down —
negotiations (quote, proposals, counters, the close), bookings (the agreed terms),
delivery reports and payments (the running totals it keeps) — each dated by day and hour,
facts written ``key=value`` with the auditor's fact keys. Every question the agent is
asked is answered from the transcript alone.

The transcript loses lines by the same mechanisms as the rule-based memory, each stated:

* **context window** (:meth:`Transcript.fit`): before a question is sent, the oldest lines
  are dropped until system prompt + transcript + question fit ``llm_context_tokens``
  (tokens are estimated at 4 characters each, :func:`estimate_tokens`, because the model
  behind an endpoint and its tokenizer are unknown). Dropped lines are gone for good: the
  window slides, it is not summarised;
* **decay** (:meth:`Transcript.decay`): each line survives a day with probability
  1 − ``decay_rate``, drawn once per line as a geometric lifetime keyed to the agent and
  the line (as facts decay in the rule-based memory);
* **restarts** (:meth:`Transcript.wipe`): a restart wipes the whole transcript.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from admarket.streams import MEMORY, keyed_uniform

MAX_FACTS_PER_LINE = 12


def estimate_tokens(text: str) -> int:
    """Tokens of ``text`` at 4 characters a token (the rule every budget here uses)."""
    return -(-len(text) // 4) + 1


def format_value(value: float) -> str:
    """A fact's value as the transcript writes it: ``120``, ``4.2``, ``1234.56``."""
    v = float(value)
    if v.is_integer() and abs(v) < 1e15:
        return str(int(v))
    return format(round(v, 6), ".10g")


@dataclass
class Line:
    """One transcript line: what happened at one hour, in words and ``key=value`` facts."""

    seq: int
    step: int
    label: str
    text: str = ""
    facts: list[tuple[str, float]] = field(default_factory=list)
    expiry: int = -1  # the day whose decay pass removes it (-1: never)

    def render(self, steps_per_day: int) -> str:
        """The line as the model reads it."""
        day, hour = divmod(self.step, steps_per_day)
        body = " ".join(f"{k}={format_value(v)}" for k, v in self.facts)
        words = f"{self.text} {body}".strip()
        return f"[day {day + 1}, hour {self.step} ({hour:02d}:00)] {self.label}: {words}"


@dataclass
class TranscriptStats:
    """Lines and facts a transcript lost, by cause."""

    lines_dropped: int = 0  # context window
    facts_dropped: int = 0
    lines_decayed: int = 0
    facts_decayed: int = 0
    lines_wiped: int = 0  # restarts
    facts_wiped: int = 0


class Transcript:
    """An agent's transcript, oldest line first."""

    def __init__(self, steps_per_day: int, decay_rate: float = 0.0, salt: str = ""):
        self.steps_per_day = steps_per_day
        self.decay_rate = decay_rate
        self.salt = salt
        self.lines: list[Line] = []
        self._seq = 0
        self.stats = TranscriptStats()

    def __len__(self) -> int:
        return len(self.lines)

    @property
    def n_facts(self) -> int:
        """Facts written in the lines still held."""
        return sum(len(line.facts) for line in self.lines)

    def add(self, step: int, label: str, text: str = "") -> Line:
        """Start a new line at ``step``."""
        day = step // self.steps_per_day
        line = Line(self._seq, step, label, text, expiry=self._expiry(self._seq, day))
        self._seq += 1
        self.lines.append(line)
        return line

    def add_fact(self, step: int, label: str, key: str, value: float) -> None:
        """Write fact ``key`` = ``value``: onto the last line if it is of the same hour and
        kind, otherwise onto a new one."""
        last = self.lines[-1] if self.lines else None
        if (
            last is None
            or last.step != step
            or last.label != label
            or last.text
            or len(last.facts) >= MAX_FACTS_PER_LINE
        ):
            last = self.add(step, label)
        last.facts.append((key, float(value)))

    def _expiry(self, seq: int, day: int) -> int:
        if self.decay_rate <= 0:
            return -1
        if self.decay_rate >= 1:
            return day + 1
        u = keyed_uniform(self.salt, MEMORY, f"line:{seq}", day)
        return day + 1 + int(math.log(u) / math.log1p(-self.decay_rate))

    def decay(self, day: int) -> list[str]:
        """The decay pass of ``day``: drop lines whose lifetime ran out; the facts lost."""
        gone = [ln for ln in self.lines if 0 <= ln.expiry <= day]
        if not gone:
            return []
        self.lines = [ln for ln in self.lines if not 0 <= ln.expiry <= day]
        keys = [k for ln in gone for k, _ in ln.facts]
        self.stats.lines_decayed += len(gone)
        self.stats.facts_decayed += len(keys)
        return keys

    def wipe(self) -> int:
        """A restart: every line is gone. Returns the facts they held."""
        n = self.n_facts
        self.stats.lines_wiped += len(self.lines)
        self.stats.facts_wiped += n
        self.lines = []
        return n

    def fit(self, budget: int) -> int:
        """Drop the oldest lines until the rest take at most ``budget`` tokens (one line
        each); returns the facts dropped."""
        sizes = [estimate_tokens(ln.render(self.steps_per_day)) for ln in self.lines]
        total, cut = sum(sizes), 0
        while cut < len(sizes) and total > budget:
            total -= sizes[cut]
            cut += 1
        if not cut:
            return 0
        dropped = self.lines[:cut]
        self.lines = self.lines[cut:]
        n = sum(len(ln.facts) for ln in dropped)
        self.stats.lines_dropped += cut
        self.stats.facts_dropped += n
        return n

    def render(self) -> str:
        """Every line held, oldest first, one per row."""
        return "\n".join(ln.render(self.steps_per_day) for ln in self.lines)

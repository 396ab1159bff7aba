"""Ground truth and the audit of every claim agents act on.

:class:`GroundTruth` knows what really happened — agreed deal terms, delivery, spend,
counterpart history, real inventory — because it reads the engine's true books. Agents
must never read it: while agents are deciding, :meth:`GroundTruth.read` raises
:class:`GroundTruthAccessError`. Only the :class:`ClaimLog` (the auditor) looks facts up,
to grade each claim after the agent has committed to it.

Every decision records the facts it relied on (claims). A claim is *wrong* (a
hallucination: the agent acted on a fabricated value) when it differs from the truth by
more than ``audit_tolerance`` of the true value (and at least one cent or one lot). From
the claims come the hallucination rate per scenario, agent type and claim type, the
recovery fidelity of lost facts, and the detection recall and precision against the
injected errors.
"""

from __future__ import annotations

import copy
import math
from array import array
from collections.abc import Callable, Collection, Iterator
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:  # pragma: no cover
    from admarket.model.market_model import MarketModel

# "llm": a number a language-model agent stated from its transcript; "llm_ledger": one it
# stated after looking the fact up with its ledger_lookup tool (admarket.llm, C)
SOURCES = ("memory", "reconstructed", "ledger", "exchange_db", "derived", "llm", "llm_ledger")
CLAIM_TYPES = ("price", "volume", "delivery", "spend", "terms", "inventory", "history")
# The columns of a claim frame (ClaimLog.frame), in order
CLAIM_COLUMNS = (
    "claim_id",
    "decision_id",
    "step",
    "agent_id",
    "decision_type",
    "claim_type",
    "fact_key",
    "claimed_value",
    "actual_value",
    "source",
    "is_hallucination",
    "injected",
    "caught_in_run",
    "recovered",
    "recovered_ok",
    "agent_type",
    "injection_kind",
)


_ENTITIES = frozenset({"deal", "campaign", "hist", "fill", "avail"})  # what _value knows


class GroundTruthAccessError(PermissionError):
    """An agent tried to read ground truth while deciding."""


# What a parsed key reads (the first item of parse_fact_key's tuple)
_DEAL, _DEAL_DELIVERED, _CAMPAIGN, _HIST, _FILL, _AVAIL = range(6)


def parse_fact_key(key: str) -> tuple:
    """What a fact key reads in the engine's books: ``"deal:17:price"`` ->
    ``(_DEAL, 17, "price")``, ``"hist:3:5:delivered"`` -> ``(_HIST, 3, 5, True)``,
    ``"avail:4:2.5"`` -> ``(_AVAIL, 4, 2.5)``; KeyError for an unknown entity (and the
    ValueError of a malformed number, as reading the key always raised)."""
    entity, ident, attr = key.split(":", 2)
    if entity not in _ENTITIES:
        raise KeyError(key)
    i = int(ident)
    if entity == "deal":
        return (_DEAL_DELIVERED, i) if attr == "delivered" else (_DEAL, i, attr)
    if entity == "campaign":
        return (_CAMPAIGN, i, attr == "spent")
    if entity == "hist":
        return (_HIST, i, int(attr.split(":")[0]), attr.endswith("delivered"))
    if entity == "fill":
        return (_FILL, i, int(attr))
    return (_AVAIL, i, float(attr))


class GroundTruth:
    """The true value of any fact key, read from the engine's books."""

    def __init__(self, model: MarketModel):
        self._m = model
        # key -> what to read (see parse_fact_key): a key's parse never changes, so this
        # cannot go stale; it holds one tuple per distinct key read here (read, grade; the
        # claim log keeps the parses of the keys it files itself)
        self._parsed: dict[str, tuple] = {}

    def read(self, key: str) -> float | None:
        """The true value of ``key``; refused while agents are deciding."""
        if self._m.agents_deciding:
            raise GroundTruthAccessError(
                f"ground truth is not readable by agents (tried to read {key!r} during a decision)"
            )
        return self._value(key)

    def _parse(self, key: str) -> tuple:
        """What ``key`` reads, worked out once per key (see :func:`parse_fact_key`)."""
        parsed = self._parsed.get(key)
        if parsed is None:
            parsed = self._parsed[key] = parse_fact_key(key)
        return parsed

    def _value(self, key: str) -> float | None:
        return self.value_of(self._parse(key))

    def value_of(self, parsed: tuple) -> float | None:
        """The true value of the fact a key parses to (:func:`parse_fact_key`), or None."""
        m = self._m
        what = parsed[0]
        if what <= _DEAL_DELIVERED:
            b, d = m.book, parsed[1]
            if d >= b.n:
                return None
            if what == _DEAL_DELIVERED:  # settled delivery: today's lots are billed at day end
                return float(b.delivered.item(d) - b.day_delivered.item(d))
            return float(getattr(b, parsed[2]).item(d))
        if what == _CAMPAIGN:
            if parsed[2]:
                return m.accounts.spent[parsed[1]] / 100.0
            return float(m.accounts.delivered[parsed[1]])
        if what == _HIST:
            arr = m.accounts.hist_delivered if parsed[3] else m.accounts.hist_expected
            return float(arr[parsed[1], parsed[2]])
        if what == _FILL:
            buyer, seller = parsed[1], parsed[2]
            exp = m.accounts.hist_expected[buyer, seller]
            if exp <= 0:
                return m.config.expected_fill  # no history: the prior is the right belief
            return float(min(1.0, m.accounts.hist_delivered[buyer, seller] / exp))
        return float(m.true_available(parsed[1], parsed[2]))


# Bits of a claim's packed flags (one small integer per claim keeps a 30-day run at scale
# to a few bytes per claim): source and claim type in the low bits, then the grades.
_SRC_BITS, _TYPE_SHIFT = 0, 3
WRONG, INJECTED, CAUGHT, RECOVERED, RECOVERED_OK = (1 << b for b in range(6, 11))
_SOURCE_CODE = {s: i for i, s in enumerate(SOURCES)}
_TYPE_CODE = {c: i << _TYPE_SHIFT for i, c in enumerate(CLAIM_TYPES)}


_BLOCK = 1 << 18  # claims a block when checking their order (2 MB of steps)


class ClaimLog:
    """Every claim every decision relied on, graded against ground truth as it is made."""

    def __init__(self, truth: GroundTruth, tolerance: float):
        self._truth = truth
        self.tol = tolerance
        self.decision_agent: list[str] = []
        self.decision_type: list[str] = []
        self.decision_step = array("q")
        # decision and fact ids as C ints (4 bytes: ids stay far below 2**31; an overflow
        # would raise): a large C run files millions of claims
        self._decision = array("i")
        self._claimed = array("d")
        self._actual = array("d")
        self._flags = array("H")
        self._fact = array("i")  # index into fact_keys
        self.fact_keys: list[str] = []
        self._fact_id: dict[str, int] = {}
        self._fact_parsed: list[tuple] = []  # what each fact key reads (parse_fact_key)
        self.injection_kind: dict[int, str] = {}  # claim row → fabrication kind
        self.bad_decisions: set[int] = set()
        self.n_wrong = 0
        self.n_injected = 0
        self.n_injected_acted = 0
        self.n_caught = 0
        self.n_recovered = 0
        self.n_recovered_ok = 0

    def __setstate__(self, state: dict) -> None:
        # a checkpoint from before the facts' parses were kept here: parse them again
        self.__dict__.update(state)
        if "_fact_parsed" not in state:
            self._fact_parsed = [parse_fact_key(k) for k in self.fact_keys]

    def new_decision(self, agent: str, kind: str, step: int) -> int:
        """Open a decision by ``agent`` at ``step``; claims are filed under its id."""
        self.decision_agent.append(agent)
        self.decision_type.append(kind)
        self.decision_step.append(step)
        return len(self.decision_agent) - 1

    def record(
        self,
        decision: int,
        claim_type: str,
        key: str,
        claimed: float,
        source: str,
        *,
        injected: str = "",
        caught: bool = False,
        recovered_value: float | None = None,
    ) -> None:
        """File one claim and grade it (and the recovery that produced it, if any)."""
        # a fact's id and what it reads are looked up together: one lookup in a table of
        # every fact key ever claimed (millions at scale) instead of two
        fid = self._fact_id.get(key)
        parsed = parse_fact_key(key) if fid is None else self._fact_parsed[fid]
        truth = self._truth.value_of(parsed)
        t = math.nan if truth is None else float(truth)
        claimed = float(claimed)
        flags = _SOURCE_CODE[source] | _TYPE_CODE[claim_type]
        if fid is None:  # a new fact, filed only once its claim is known to be well formed
            fid = self._fact_id[key] = len(self.fact_keys)
            self.fact_keys.append(key)
            self._fact_parsed.append(parsed)
        # is_wrong(claimed, t), inline: the audit grades millions of claims a run at scale
        if t == t and abs(claimed - t) > max(self.tol * abs(t), 0.01):
            flags |= WRONG
            self.n_wrong += 1
            self.bad_decisions.add(decision)
        if injected:
            flags |= INJECTED
            self.injection_kind[len(self._flags)] = injected
            self.n_injected += 1
            self.n_injected_acted += not caught
        if caught:
            flags |= CAUGHT
            self.n_caught += 1
        if recovered_value is not None:
            flags |= RECOVERED
            self.n_recovered += 1
            if not self.is_wrong(recovered_value, t):
                flags |= RECOVERED_OK
                self.n_recovered_ok += 1
        self._decision.append(decision)
        self._claimed.append(claimed)
        self._actual.append(t)
        self._flags.append(flags)
        self._fact.append(fid)

    def grade(self, key: str, claimed: float) -> tuple[float, bool]:
        """The true value of ``key`` (NaN if the fact never existed) and whether ``claimed``
        misses it: the auditor's verdict on a statement, without filing it as a claim."""
        truth = self._truth._value(key)
        t = math.nan if truth is None else float(truth)
        return t, self.is_wrong(float(claimed), t)

    def is_wrong(self, claimed: float, truth: float) -> bool:
        """A claim is wrong when it misses the truth beyond the audit tolerance (by more
        than ``tol`` of the truth, and at least a cent)."""
        if truth != truth:  # NaN: nothing to check against (a fact that never existed)
            return False
        gap = claimed - truth
        return (gap if gap >= 0 else -gap) > max(self.tol * (truth if truth >= 0 else -truth), 0.01)

    def __len__(self) -> int:
        return len(self._flags)

    def frame(self, columns: Collection[str] | None = None) -> pd.DataFrame:
        """One row per claim with its decision, agent and grade (``agent_decisions``);
        ``columns``: only these of :data:`CLAIM_COLUMNS`, in that order (None: all)."""
        return self._rows(self._lookups(), 0, len(self), self._wanted(columns))

    def frames(
        self, chunk_rows: int, columns: Collection[str] | None = None
    ) -> Iterator[pd.DataFrame]:
        """:meth:`frame` as consecutive slices of at most ``chunk_rows`` claims each, labelled
        as in the whole frame: stacked, they are it (a large run's claim tables are written
        a slice at a time, never held whole). One frame, empty, when there are no claims."""
        if chunk_rows < 1:
            raise ValueError(f"chunk_rows={chunk_rows}: must be at least 1")
        wanted = self._wanted(columns)
        lookups = self._lookups()
        n = len(self)
        for start in range(0, max(n, 1), chunk_rows):
            yield self._rows(lookups, start, min(n, start + chunk_rows), wanted)

    @staticmethod
    def _wanted(columns: Collection[str] | None) -> tuple[str, ...]:
        if columns is None:
            return CLAIM_COLUMNS
        unknown = sorted(set(columns) - set(CLAIM_COLUMNS))
        if unknown:
            raise ValueError(f"columns={unknown}: allowed {', '.join(CLAIM_COLUMNS)}")
        return tuple(c for c in CLAIM_COLUMNS if c in columns)

    def detached(self) -> ClaimLog:
        """This log's claims without its ground truth (which holds the model): what builds
        the claim tables after the run, so that the model can be let go while they are
        written. The claims are shared, not copied; it can file none."""
        log = copy.copy(self)
        log._truth = None  # type: ignore[assignment]
        return log

    @property
    def steps_ascend(self) -> bool:
        """Whether the claims are in step order (their decisions' steps never go back)."""
        if not len(self):
            return True
        steps = np.frombuffer(self.decision_step, dtype=np.int64)
        decisions = np.frombuffer(self._decision, dtype=np.intc)
        last = steps[decisions[0]]
        # a block at a time: C's claims at 500 x 200 are millions, and their steps and
        # differences whole were ~50 MB held at once, in a worker at its peak
        for start in range(0, len(decisions), _BLOCK):
            at = steps[decisions[start : start + _BLOCK]]
            if at[0] < last or (np.diff(at) < 0).any():
                return False
            last = at[-1]
        return True

    def _lookups(self) -> tuple:
        """Per decision its agent, type, step and agent type; every fact key; the
        fabrication kinds by claim row: what every slice of :meth:`frame` indexes."""
        agents = np.array(self.decision_agent, dtype=object)
        # "buyer-3" -> "buyer": split once per agent, not once per claim (millions in C)
        kind = {a: str(a).split("-")[0] for a in set(self.decision_agent)}
        return (
            agents,
            np.array(self.decision_type, dtype=object),
            np.frombuffer(self.decision_step, dtype=np.int64)
            if self.decision_step
            else np.zeros(0, np.int64),
            np.array([kind[a] for a in self.decision_agent], dtype=object),
            np.array(self.fact_keys, dtype=object),
            pd.Series(self.injection_kind, dtype=object),
        )

    def _rows(
        self, lookups: tuple, start: int, stop: int, columns: tuple[str, ...]
    ) -> pd.DataFrame:
        """Claims ``start:stop`` as a frame of ``columns`` (each built only when asked for:
        ``ground_truth`` needs 4 of the 17, and C's claims are millions of rows)."""
        agents, dtypes, steps, of_decision, keys, injections = lookups
        rows = slice(start, stop)
        if len(self):
            dec = np.frombuffer(self._decision, dtype=np.intc)[rows].astype(np.int64)
            flags = np.frombuffer(self._flags, dtype=np.uint16)[rows]
            fact = np.frombuffer(self._fact, dtype=np.intc)[rows].astype(np.int64)
            claimed, actual = np.frombuffer(self._claimed)[rows], np.frombuffer(self._actual)[rows]
        else:
            dec, fact = np.zeros(0, np.int64), np.zeros(0, np.int64)
            flags, claimed, actual = np.zeros(0, np.uint16), np.zeros(0), np.zeros(0)
        index = pd.RangeIndex(start, stop)

        def of_decisions(values: np.ndarray) -> np.ndarray:
            return values[dec] if len(dec) else dec.astype(values.dtype)

        build: dict[str, Callable[[], object]] = {
            "claim_id": lambda: np.arange(start, stop),
            "decision_id": lambda: dec,
            "step": lambda: of_decisions(steps),
            "agent_id": lambda: of_decisions(agents),
            "decision_type": lambda: of_decisions(dtypes),
            "claim_type": lambda: pd.Categorical.from_codes(
                ((flags >> _TYPE_SHIFT) & 7).astype(np.int8), CLAIM_TYPES
            ),
            "fact_key": lambda: keys[fact] if len(fact) else fact.astype(object),
            "claimed_value": lambda: claimed,
            "actual_value": lambda: actual,
            "source": lambda: pd.Categorical.from_codes((flags & 7).astype(np.int8), SOURCES),
            "is_hallucination": lambda: (flags & WRONG) > 0,
            "injected": lambda: (flags & INJECTED) > 0,
            "caught_in_run": lambda: (flags & CAUGHT) > 0,
            "recovered": lambda: (flags & RECOVERED) > 0,
            "recovered_ok": lambda: (flags & RECOVERED_OK) > 0,
            # (a Series: an array of texts would be inferred as pandas' str dtype, not object)
            "agent_type": lambda: pd.Series(of_decisions(of_decision), index=index, dtype=object),
            "injection_kind": lambda: injections.reindex(index),
        }
        return pd.DataFrame({c: build[c]() for c in columns}, index=index)

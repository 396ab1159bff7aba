"""One question to a language model, carried to a checked answer: tool calls, corrections.

A :class:`Question` is the chat request for one task (system prompt, transcript and
question, the answer's schema, and — in C — the ``ledger_lookup`` tool). :func:`converse`
is a generator that yields each HTTP request body and receives each response, so that the
caller decides how requests travel: one by one (:func:`ask_one`) or, for many agents at
once, in rounds on a thread pool (:func:`ask_many`). Everything that touches the model's
state — a ledger lookup, the check of an answer — runs in the caller's thread, in agent
order; only the HTTP calls run concurrently. So the results, and the order in which
exchanges are recorded, do not depend on which request came back first.

The conversation: send; if the model calls ``ledger_lookup``, read the keys off the
ledger, send the results back (at most ``tool_rounds`` times, then ``tool_choice: none``);
if the answer is not the JSON object the task asks for, say why and ask again (at most
``answer_retries`` times, then :class:`~admarket.errors.LLMError`). Transport failures
(refused connections, timeouts, HTTP 429 and 5xx) are retried with backoff by the
endpoint's client; what still fails is an :class:`~admarket.errors.LLMError` naming the
agent, the task and the hour.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Generator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Protocol

from admarket.errors import LLMError
from admarket.llm.schema import AnswerError, parse_answer, response_format
from admarket.llm.transcript import estimate_tokens

MAX_LOOKUP_KEYS = 500  # keys one ledger_lookup call may read


class Endpoint(Protocol):
    """Anything that answers an OpenAI chat-completions request body with a response dict."""

    def complete(self, body: dict[str, Any]) -> dict[str, Any]:
        """The response (``choices``, ``usage``) to ``body``; raises LLMError on failure."""
        ...


@dataclass(frozen=True)
class RequestSettings:
    """What every request carries besides its messages (part of each request's hash)."""

    model: str
    temperature: float = 0.0
    max_tokens: int = 1024
    response_format: str = "schema"  # schema | json | none
    seed: int | None = None
    answer_retries: int = 2
    tool_rounds: int = 4


@dataclass
class Question:
    """One task put to one agent's model."""

    agent: str
    task: str  # a key of admarket.llm.schema.SCHEMAS
    step: int
    system: str
    user: str
    tools: list[dict[str, Any]] | None = None
    lookup: Callable[[list[str]], dict[str, float | None]] | None = None

    def where(self, steps_per_day: int = 24) -> str:
        """``buyer-0's books on day 2, hour 24`` (for error messages)."""
        day = self.step // steps_per_day + 1
        return f"{self.agent}'s {self.task} on day {day}, hour {self.step}"


@dataclass(frozen=True)
class Exchange:
    """One request and its response, with the tokens it cost."""

    request: dict[str, Any]
    response: dict[str, Any]
    prompt_tokens: int
    completion_tokens: int
    estimated: bool  # the endpoint reported no usage: tokens estimated at 4 characters each


@dataclass
class Answer:
    """A checked answer and what it took to get it."""

    value: dict[str, Any]
    exchanges: list[Exchange] = field(default_factory=list)
    looked_up: dict[str, float | None] = field(default_factory=dict)
    lookups: int = 0  # ledger_lookup calls
    retries: int = 0  # answers sent back as unusable

    @property
    def prompt_tokens(self) -> int:
        """Prompt tokens over every request of the conversation."""
        return sum(e.prompt_tokens for e in self.exchanges)

    @property
    def completion_tokens(self) -> int:
        """Completion tokens over every request of the conversation."""
        return sum(e.completion_tokens for e in self.exchanges)


def _body(q: Question, s: RequestSettings, messages: list[dict], tools_on: bool) -> dict:
    body: dict[str, Any] = {
        "model": s.model,
        "messages": messages,
        "temperature": s.temperature,
        "max_tokens": s.max_tokens,
    }
    if s.seed is not None:
        body["seed"] = s.seed
    fmt = response_format(q.task, s.response_format)
    if fmt is not None:
        body["response_format"] = fmt
    if q.tools:
        body["tools"] = q.tools
        if not tools_on:
            body["tool_choice"] = "none"
    return body


def _usage(body: dict, resp: dict) -> tuple[int, int, bool]:
    u = resp.get("usage") or {}
    p, c = u.get("prompt_tokens"), u.get("completion_tokens")
    if isinstance(p, int) and isinstance(c, int):
        return p, c, False
    msg = _message(resp)
    out = (msg.get("content") or "") + json.dumps(msg.get("tool_calls") or "")
    return estimate_tokens(json.dumps(body["messages"])), estimate_tokens(out), True


def _message(resp: dict) -> dict:
    try:
        msg = resp["choices"][0]["message"]
    except (KeyError, IndexError, TypeError):
        raise LLMError("the endpoint's response has no choices[0].message") from None
    if not isinstance(msg, dict):
        raise LLMError("the endpoint's response has no choices[0].message")
    return msg


def converse(q: Question, s: RequestSettings) -> Generator[dict, Exchange, Answer]:
    """The conversation for ``q``: yields request bodies, receives each one's
    :class:`Exchange`, returns the checked :class:`Answer` (see the module docstring)."""
    messages: list[dict[str, Any]] = [
        {"role": "system", "content": q.system},
        {"role": "user", "content": q.user},
    ]
    ans = Answer(value={})
    tool_rounds = 0
    while True:
        ex = yield _body(q, s, messages, tool_rounds < s.tool_rounds)
        ans.exchanges.append(ex)
        msg = _message(ex.response)
        calls = msg.get("tool_calls") or []
        if calls:
            tool_rounds += 1
            messages.append(
                {"role": "assistant", "content": msg.get("content") or "", "tool_calls": calls}
            )
            for call in calls:
                messages.append(_tool_result(q, call, ans))
            continue
        content = msg.get("content") or ""
        try:
            ans.value = parse_answer(content, q.task)
            return ans
        except AnswerError as exc:
            if ans.retries >= s.answer_retries:
                raise LLMError(
                    f"the answer was unusable {ans.retries + 1} times (last: {exc}; "
                    f"answer began {content[:60]!r})"
                ) from None
            ans.retries += 1
            messages.append({"role": "assistant", "content": content})
            messages.append(
                {
                    "role": "user",
                    "content": f"That answer was not usable: {exc}. Answer again with one JSON "
                    f"object only, as the task asks (task: {q.task}).",
                }
            )


def _tool_result(q: Question, call: dict, ans: Answer) -> dict[str, Any]:
    """Run one tool call (in the caller's thread) and the message that answers it."""
    fn = call.get("function") or {}
    result: Any
    if q.lookup is None or fn.get("name") != "ledger_lookup":
        result = {"error": f"no tool named {fn.get('name')!r} is available"}
    else:
        try:
            args = json.loads(fn.get("arguments") or "{}")
            keys = args["keys"]
            if isinstance(keys, str):
                keys = [keys]
            if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
                raise TypeError
        except (ValueError, KeyError, TypeError):
            result = {"error": 'arguments must be {"keys": ["deal:17:price", ...]}'}
        else:
            result = q.lookup(keys[:MAX_LOOKUP_KEYS])
            ans.lookups += 1
            ans.looked_up.update(result)
    return {
        "role": "tool",
        "tool_call_id": str(call.get("id", "")),
        "content": json.dumps(result, sort_keys=True),
    }


Recorder = Callable[[Exchange], None]


def ask_one(endpoint: Endpoint, q: Question, s: RequestSettings, record: Recorder) -> Answer:
    """Carry ``q`` to its answer, one request at a time."""
    return ask_many(endpoint, [q], s, record, None)[0]


def ask_many(
    endpoint: Endpoint,
    questions: list[Question],
    s: RequestSettings,
    record: Recorder,
    pool: ThreadPoolExecutor | None,
    steps_per_day: int = 24,
) -> list[Answer]:
    """Carry every question to its answer; the requests of one round travel concurrently on
    ``pool`` (one at a time without). Answers come back in question order; exchanges are
    recorded round by round in question order; the first failure in question order is
    raised as an LLMError naming the agent, the task and the hour."""
    convs = [converse(q, s) for q in questions]
    answers: list[Answer | None] = [None] * len(questions)
    pending = {i: next(c) for i, c in enumerate(convs)}
    while pending:
        order = sorted(pending)
        if pool is not None and len(order) > 1:
            futures = {i: pool.submit(_complete, endpoint, pending[i]) for i in order}
            results = {i: futures[i].result() for i in order}
        else:
            results = {i: _complete(endpoint, pending[i]) for i in order}
        nxt: dict[int, dict] = {}
        for i in order:
            try:
                ex = results[i]
                if isinstance(ex, LLMError):
                    raise ex
                record(ex)
                nxt[i] = convs[i].send(ex)
            except StopIteration as done:
                answers[i] = done.value
            except LLMError as exc:
                raise LLMError(f"{questions[i].where(steps_per_day)}: {exc}") from None
        pending = nxt
    return [a for a in answers if a is not None]


def _complete(endpoint: Endpoint, body: dict) -> Exchange | LLMError:
    """Send one request (in a worker thread); a failure is returned, not raised, so that
    the caller raises the first one in question order."""
    try:
        resp = endpoint.complete(body)
    except LLMError as exc:
        return exc
    try:
        p, c, est = _usage(body, resp)
    except LLMError as exc:
        return exc
    return Exchange(body, resp, p, c, est)

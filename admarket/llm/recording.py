"""Every request and response of a run, recorded; and a recording replayed as the endpoint.

A recording is JSON Lines: a header line (format, version, admarket version, the request
settings: model, temperature, max tokens, response format, seed), then one line per
exchange, in the deterministic order the run made them: ``{"key": <SHA-256 of the
request>, "request": ..., "response": ...}``. The key is the hash of the canonical JSON of
the request body (model, messages, tools, settings) — everything the model saw, and
nothing of the endpoint's address or key.

:class:`ReplayEndpoint` answers each request with the recorded response of the same key
(the n-th time a key is asked, the n-th response recorded for it), so ``--llm-replay FILE``
reruns a recorded run with no endpoint and gives identical results. A request the
recording does not hold means the run diverged (another config, seed, version or
options): an error, unless a live endpoint is given to continue from there — which is how
a run that failed on day 20 is resumed without paying for days 1–19 again.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import defaultdict, deque
from pathlib import Path
from typing import Any

from admarket.atomic import atomic_file
from admarket.errors import LLMError, UsageError
from admarket.llm.conversation import Endpoint, Exchange, RequestSettings
from admarket.version import __version__

FORMAT = "admarket-llm-recording"
VERSION = 1


def canonical(obj: Any) -> str:
    """Compact, key-sorted JSON: the form a request is hashed and stored in."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def request_key(body: dict[str, Any]) -> str:
    """The SHA-256 of a request body's canonical JSON."""
    return hashlib.sha256(canonical(body).encode()).hexdigest()


def settings_dict(s: RequestSettings) -> dict[str, Any]:
    """The request settings as the header records them."""
    return {
        "model": s.model,
        "temperature": s.temperature,
        "max_tokens": s.max_tokens,
        "response_format": s.response_format,
        "seed": s.seed,
        "answer_retries": s.answer_retries,
        "tool_rounds": s.tool_rounds,
    }


class Recorder:
    """The exchanges of a run, in order, ready to be written as JSON Lines."""

    def __init__(self, settings: RequestSettings):
        self.settings = settings
        self.lines: list[str] = []
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self.lines)

    def __call__(self, ex: Exchange) -> None:
        """Record one exchange."""
        line = canonical(
            {"key": request_key(ex.request), "request": ex.request, "response": ex.response}
        )
        with self._lock:
            self.lines.append(line)

    def header(self) -> str:
        """The recording's first line."""
        return canonical(
            {
                "format": FORMAT,
                "version": VERSION,
                "admarket": __version__,
                "settings": settings_dict(self.settings),
            }
        )

    def text(self) -> str:
        """The whole recording."""
        return "\n".join([self.header(), *self.lines]) + "\n"

    def save(self, path: str | Path) -> Path:
        """Write the recording to ``path`` atomically."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_file(path, "w", encoding="utf-8") as f:
            f.write(self.text())
        return path


def read_recording(path: str | Path) -> tuple[RequestSettings, dict[str, list[dict]]]:
    """The settings and the responses by request key of a recording file."""
    p = Path(path)
    try:
        lines = p.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise UsageError(f"--llm-replay {p}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"--llm-replay {p}: cannot be read ({exc})") from None
    try:
        head = json.loads(lines[0]) if lines else None
    except json.JSONDecodeError:
        head = None
    if not isinstance(head, dict) or head.get("format") != FORMAT:
        raise UsageError(f"--llm-replay {p}: not an admarket LLM recording")
    if head.get("version") != VERSION:
        raise UsageError(f"--llm-replay {p}: recording format {head.get('version')!r}")
    responses: dict[str, list[dict]] = defaultdict(list)
    for n, line in enumerate(lines[1:], 2):
        try:
            rec = json.loads(line)
            responses[rec["key"]].append(rec["response"])
        except (json.JSONDecodeError, KeyError, TypeError):
            raise UsageError(f"--llm-replay {p}: line {n} is not a recorded exchange") from None
    s = head.get("settings") or {}
    try:
        settings = RequestSettings(**s)
    except TypeError:
        raise UsageError(f"--llm-replay {p}: its header's settings are malformed") from None
    return settings, dict(responses)


class ReplayEndpoint:
    """Answers requests from a recording (see the module docstring)."""

    def __init__(self, path: str | Path, fallback: Endpoint | None = None):
        self.path = Path(path)
        self.settings, recorded = read_recording(path)
        self._queues = {k: deque(v) for k, v in recorded.items()}
        self._lock = threading.Lock()
        self.fallback = fallback
        self.replayed = 0
        self.live = 0

    def complete(self, body: dict[str, Any]) -> dict[str, Any]:
        """The recorded response to ``body``; a miss goes to the fallback, or is an error."""
        key = request_key(body)
        with self._lock:
            queue = self._queues.get(key)
            if queue:
                self.replayed += 1
                return queue.popleft()
        if self.fallback is None:
            raise LLMError(
                f"--llm-replay {self.path} holds no answer to this request (request "
                f"{key[:12]}): the run diverged from the recorded one — replay needs the same "
                "admarket version, config, seed, scenarios and --policy (add --llm-base-url to "
                "continue live from here)"
            )
        with self._lock:
            self.live += 1
        return self.fallback.complete(body)

"""Any OpenAI-compatible chat endpoint, through the official ``openai`` client.

Ollama (``http://127.0.0.1:11434/v1``), vLLM, the llama.cpp server, LM Studio and OpenAI
itself all speak the chat-completions API. :class:`OpenAIEndpoint` sends a request body
as is and returns the response as a plain dict. The client retries refused connections,
timeouts, HTTP 429 and 5xx with exponential backoff (``retries`` times, honouring a
server's ``Retry-After``); whatever still fails becomes one :class:`~admarket.errors.LLMError`
line that says what happened and what to try. This is the only module that imports
``openai`` (the ``llm`` extra): replaying a recording needs no client at all.
"""

from __future__ import annotations

import os
import re
from typing import Any

from admarket.errors import LLMError, UsageError

try:
    import openai
except ImportError:  # pragma: no cover - the llm extra is not installed
    openai = None  # type: ignore[assignment]

DEFAULT_KEY_ENV = "ADMARKET_LLM_API_KEY"


def api_key(env: str = DEFAULT_KEY_ENV) -> str:
    """The API key from environment variable ``env`` (then ``OPENAI_API_KEY``); local
    servers need none, so a placeholder is used when neither is set."""
    return os.environ.get(env) or os.environ.get("OPENAI_API_KEY") or "not-needed"


def _short(text: Any, n: int = 160) -> str:
    return re.sub(r"\s+", " ", str(text)).strip()[:n]


class OpenAIEndpoint:
    """A chat-completions endpoint at ``base_url`` (the ``/v1`` root)."""

    def __init__(
        self,
        base_url: str,
        *,
        key: str = "not-needed",
        timeout: float = 120.0,
        retries: int = 2,
        key_env: str = DEFAULT_KEY_ENV,
    ):
        if openai is None:  # pragma: no cover
            raise UsageError(
                "language-model agents need the openai client: pip install 'admarket[llm]'"
            )
        self.base_url = base_url
        self.timeout = timeout
        self.retries = retries
        self.key_env = key_env
        self._client = openai.OpenAI(
            base_url=base_url, api_key=key, timeout=timeout, max_retries=retries
        )

    def complete(self, body: dict[str, Any]) -> dict[str, Any]:
        """The response to ``body`` as a dict; any failure is one LLMError line."""
        try:
            resp = self._client.chat.completions.create(**body)
        except openai.APIError as exc:
            raise LLMError(self._explain(exc, body)) from None
        except ValueError as exc:  # a body that is not JSON, or not a completion
            raise LLMError(f"{self._who()}: malformed response ({_short(exc)})") from None
        if isinstance(resp, str) or not hasattr(resp, "model_dump"):
            raise LLMError(f"{self._who()}: malformed response (not a chat completion)")
        return resp.model_dump(mode="json", exclude_none=True)

    def _who(self) -> str:
        return f"endpoint {self.base_url}"

    def _explain(self, exc: Exception, body: dict[str, Any]) -> str:
        who = self._who()
        tries = f"after {self.retries} {'retry' if self.retries == 1 else 'retries'}"
        if isinstance(exc, openai.APITimeoutError):
            return (
                f"{who}: no answer within {self.timeout:g} s ({tries}); raise --llm-timeout "
                "or use a smaller model"
            )
        if isinstance(exc, openai.APIConnectionError):
            cause = _short(exc.__cause__ or exc)
            return f"{who}: cannot connect ({cause}); is the server running?"
        if isinstance(exc, openai.RateLimitError):
            return f"{who}: rate limited (HTTP 429) {tries}; lower --llm-concurrency or try later"
        if isinstance(exc, openai.AuthenticationError):
            return f"{who}: rejected the API key (HTTP 401); set it in ${self.key_env}"
        if isinstance(exc, openai.NotFoundError):
            return (
                f"{who}: HTTP 404 for model {body.get('model')!r} (is it pulled or served, and "
                "is --llm-base-url the /v1 root?)"
            )
        if isinstance(exc, openai.APIStatusError):
            payload: dict[str, Any] = exc.body if isinstance(exc.body, dict) else {}
            err = payload.get("error")
            inner: dict[str, Any] = err if isinstance(err, dict) else payload
            said = inner.get("message") or re.sub(r"^Error code: \d+ - ", "", exc.message)
            return f"{who}: HTTP {exc.status_code} {tries}: {_short(said)}"
        return f"{who}: malformed response ({_short(exc)})"

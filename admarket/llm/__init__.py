"""Language-model agents through any OpenAI-compatible chat endpoint.

The rule-based agents stand in for language-model agents; this package puts real models in
their place, on the same market, graded by the same auditor:

* :mod:`.policy` — :class:`LLMPolicy`: an agent whose recalls, avails and negotiation moves
  are answered by a model from its transcript; :mod:`.roster` — which agents get it, the
  phase in which all of them state their books concurrently, the budget stop;
* :mod:`.transcript` — the agent's memory: what it saw, cut to its context window;
* :mod:`.prompts` — system prompts and questions; :mod:`.schema` — the JSON answers and
  their check;
* :mod:`.conversation` — one question carried to a checked answer (tool calls, corrections,
  concurrency in deterministic rounds); :mod:`.session` — endpoint, settings, pool, budget;
* :mod:`.client` — the endpoint via the official ``openai`` client (the ``llm`` extra);
  :mod:`.recording` — every exchange recorded, and replayed with no endpoint;
* :mod:`.cost` — tokens and dollars; :mod:`.tables` — the store's ``llm_*`` tables;
* :mod:`.fake_server` — an OpenAI-compatible test double that answers from the transcript
  it is sent, with set rates of wrong numbers and omissions (tests, dry runs).
"""

from admarket.llm.conversation import RequestSettings
from admarket.llm.policy import LLMPolicy
from admarket.llm.recording import ReplayEndpoint
from admarket.llm.roster import STOPPED_AT_BUDGET, PolicyRoster
from admarket.llm.session import LLMSession

__all__ = [
    "STOPPED_AT_BUDGET",
    "LLMPolicy",
    "LLMSession",
    "PolicyRoster",
    "ReplayEndpoint",
    "RequestSettings",
]

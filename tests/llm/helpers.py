"""Helpers of the language-model agent tests: tiny markets, a session on a fake endpoint."""

from __future__ import annotations

from admarket import MarketModel
from admarket.llm import LLMSession, RequestSettings
from admarket.llm.client import OpenAIEndpoint
from admarket.llm.fake_server import FakeServer

TINY = {"n_buyers": 2, "n_sellers": 2, "campaigns_per_buyer": 2, "days": 3}
# every stressor off: the model alone (memory loss, injections, the ledger's faults and the
# impression-count discrepancy)
QUIET = {
    **{"decay_rate": 0.0, "restart_rate": 0.0, "hallucination_rate": 0.0},
    **{"ledger_read_failure": 0.0, "ledger_write_failure": 0.0, "count_discrepancy": 0.0},
}
BOTH = {"llm_buyers": True, "llm_sellers": True}


def session_for(srv: FakeServer, concurrency: int = 2, **settings) -> LLMSession:
    """A session on ``srv``: the real client, no transport retries."""
    endpoint = OpenAIEndpoint(srv.base_url, timeout=30, retries=0)
    return LLMSession(endpoint, RequestSettings(model="fake", **settings), concurrency=concurrency)


def run_llm(design: str, srv: FakeServer, concurrency: int = 2, **params) -> MarketModel:
    """A finished tiny run of ``design`` whose agents ask ``srv`` (``params`` override)."""
    session = session_for(srv, concurrency)
    try:
        return MarketModel(design, llm=session, **{**TINY, **BOTH, **params}).run()
    finally:
        session.close()

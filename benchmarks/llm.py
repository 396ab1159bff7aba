"""What a study with language-model agents costs: questions, requests, tokens, dollars, time.

Runs B and C with every buyer and seller on the llm policy against the fake endpoint
(admarket.llm.fake_server, on 127.0.0.1, answering at once), so the time measured is the
harness's own (prompts, HTTP, JSON, grading) and the tokens are what a real model would be
sent and would answer (estimated at 4 characters a token, as the fake reports them). From
those tokens it estimates the time on a real model at the given prompt and generation
speeds, and the dollars at the run's per-token prices.

python benchmarks/llm.py [--buyers 2 --sellers 2 --campaigns 2 --days 3]
    [--prefill 500 --decode 30]    # a real model's prompt and generation tokens per second
"""

from __future__ import annotations

import argparse
import time

from admarket import MarketModel
from admarket.llm import LLMSession, RequestSettings
from admarket.llm.client import OpenAIEndpoint
from admarket.llm.fake_server import Behaviour, FakeServer


def main() -> None:
    ap = argparse.ArgumentParser(description=" ".join(__doc__.split("\n\n")[0].split()))
    ap.add_argument("--buyers", type=int, default=2)
    ap.add_argument("--sellers", type=int, default=2)
    ap.add_argument("--campaigns", type=int, default=2)
    ap.add_argument("--days", type=int, default=3)
    ap.add_argument("--concurrency", type=int, default=4)
    ap.add_argument("--prefill", type=float, default=500.0, help="prompt tokens/s of a real model")
    ap.add_argument("--decode", type=float, default=30.0, help="completion tokens/s")
    a = ap.parse_args()
    params = {
        "n_buyers": a.buyers,
        "n_sellers": a.sellers,
        "campaigns_per_buyer": a.campaigns,
        "days": a.days,
        "llm_buyers": True,
        "llm_sellers": True,
    }
    print(
        f"{a.days} days, {a.buyers} buyers, {a.sellers} sellers, {a.campaigns} campaigns each; "
        f"every agent on the llm policy; real model at {a.prefill:g} prompt and {a.decode:g} "
        "completion tokens/s, one request at a time"
    )
    head = "scenario  questions  requests  prompt tok  compl. tok   tok/agent-day  harness s"
    print(f"{head}  real model h  USD (Haiku prices)")
    with FakeServer(Behaviour(wrong_rate=0.1, omit_rate=0.05)) as srv:
        for design in "BC":
            session = LLMSession(
                OpenAIEndpoint(srv.base_url, retries=0),
                RequestSettings(model="fake"),
                concurrency=a.concurrency,
            )
            t0 = time.perf_counter()
            m = MarketModel(design, llm=session, **params).run()
            wall = time.perf_counter() - t0
            session.close()
            c = m.policies.costs
            requests = sum(r.requests for r in c.records)
            per = (c.prompt_tokens + c.completion_tokens) / (len(m.policies.llm) * a.days)
            real = (c.prompt_tokens / a.prefill + c.completion_tokens / a.decode) / 3600
            print(
                f"{design:>8}  {len(c.records):>9,}  {requests:>8,}  {c.prompt_tokens:>10,}  "
                f"{c.completion_tokens:>10,}  {per:>14,.0f}  {wall:>9.2f}  {real:>12.2f}  "
                f"${c.usd:,.4f}"
            )


if __name__ == "__main__":
    main()

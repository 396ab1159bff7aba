"""A fake OpenAI-compatible chat endpoint: a test double of the *server*, not of the client.

:class:`FakeServer` serves ``POST /v1/chat/completions`` on 127.0.0.1 (a free port by
default) from a thread, so tests and dry runs exercise the real ``openai`` client, HTTP,
retries and timeouts with no network and no model. It answers like a competent but
imperfect model, from the transcript it is sent and nothing else:

* **books**: every ``key=value`` fact in the transcript, the latest value of each — minus
  a share it leaves out (``omit_rate``) and with a share changed by 10–50%
  (``wrong_rate``). When the ``ledger_lookup`` tool is offered it first looks up a share
  of the facts (``lookup_rate``) and every fact of the deals the question says the ledger
  lists that its transcript lacks, and states what the ledger returned for those;
* **avails**: what the seller can still commit, worked out from its transcript by the
  rule the question states (inflated by 10–50% at ``wrong_rate``);
* **buyer_move** / **seller_move**: a threshold buyer and a conceding seller.

Every draw is keyed to the question (system prompt and user message) and the fact, so the
same question gets the same answer, whatever the order requests arrive in. ``fail`` makes
it misbehave after ``fail_after`` good answers: ``error`` (HTTP 500), ``429`` (rate limit),
``timeout`` (answers after ``delay`` seconds), ``malformed_json`` (prose instead of JSON),
``bad_body`` (an HTTP body that is not JSON), ``no_choices``.

Run one by hand: ``python -m admarket.llm.fake_server --port 8089 --wrong-rate 0.1``.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import math
import re
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from admarket.llm.transcript import estimate_tokens
from admarket.streams import keyed_uniform

FAILURES = ("", "error", "429", "timeout", "malformed_json", "bad_body", "no_choices")
_FACT = re.compile(r"((?:deal|campaign|hist):\d+(?::\d+)?:[a-z]+)=(-?\d+(?:\.\d+)?(?:e-?\d+)?)")
_PARAM = re.compile(r"(\w+)=(\S+)")
_LISTED = re.compile(r"(\d+) \((?:campaign|product) \d+\)")
_DEAL_ATTRS = {
    "buyer": ("campaign", "price", "volume", "delivered", "start", "end"),
    "seller": ("product", "price", "volume", "delivered", "start", "end"),
}


@dataclass
class Behaviour:
    """How the fake model answers (see the module docstring)."""

    wrong_rate: float = 0.0
    omit_rate: float = 0.0
    lookup_rate: float = 1.0
    fail: str = ""
    fail_after: int = 0
    delay: float = 0.0
    seed: int = 0
    report_usage: bool = True


@dataclass
class Served:
    """What the server received and reported (for tests to check against)."""

    requests: list[dict[str, Any]] = field(default_factory=list)
    prompt_tokens: int = 0
    completion_tokens: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


class FakeModel:
    """The answering logic, separate from HTTP."""

    def __init__(self, behaviour: Behaviour):
        self.b = behaviour

    def draw(self, qkey: str, *parts: object) -> float:
        """A keyed uniform draw for this question."""
        return keyed_uniform(self.b.seed, qkey, *parts)

    def reply(self, body: dict[str, Any]) -> dict[str, Any]:
        """The assistant message (content or tool calls) for a request body."""
        messages = body["messages"]
        question = messages[1]["content"]
        qkey = hashlib.sha256((messages[0]["content"] + question).encode()).hexdigest()
        head, _, asked = question.rpartition("\n\nTask: ")
        task = asked.split(".", 1)[0].strip()
        params = dict(_PARAM.findall(asked.strip().splitlines()[-1]))
        facts: dict[str, float] = {}
        for k, v in _FACT.findall(head):
            facts[k] = float(v)
        if task == "books":
            return self._books(qkey, body, asked, params, facts)
        if task == "avails":
            return _content({"lots": self._avails(qkey, params, facts)})
        if task == "buyer_move":
            return _content(_buyer_move(params))
        if task == "seller_move":
            return _content(_seller_move(params))
        return _content({"error": f"unknown task {task!r}"})

    def _books(self, qkey: str, body: dict, asked: str, params: dict, facts: dict) -> dict:
        looked: dict[str, float | None] = {}
        tool_turn = False
        for msg in body["messages"][2:]:
            if msg.get("role") == "tool":
                tool_turn = True
                result = json.loads(msg["content"])
                looked.update({k: v for k, v in result.items() if isinstance(v, int | float)})
        if body.get("tools") and not tool_turn and body.get("tool_choice") != "none":
            keys = self._to_look_up(qkey, asked, params, facts)
            if keys:
                return _tool_call(qkey, keys)
        out: dict[str, float] = {}
        for key, value in facts.items():
            if looked.get(key) is not None:
                out[key] = float(looked[key])  # type: ignore[arg-type]
            elif self.draw(qkey, key, "omit") >= self.b.omit_rate:
                wrong = self.draw(qkey, key, "wrong") < self.b.wrong_rate
                out[key] = self._wrong(qkey, key, value) if wrong else value
        for key, value in looked.items():
            if key not in out and value is not None:
                out[key] = float(value)
        return _content({"facts": out})

    def _to_look_up(self, qkey: str, asked: str, params: dict, facts: dict) -> list[str]:
        keys = {k for k in facts if self.draw(qkey, k, "lookup") < self.b.lookup_rate}
        listed = asked.split("The ledger lists your deals:", 1)
        if len(listed) == 2 and self.b.lookup_rate > 0:
            role = params.get("role", "buyer")
            for d in _LISTED.findall(listed[1].split("\n", 1)[0]):
                keys |= {f"deal:{d}:{a}" for a in _DEAL_ATTRS[role]} - set(facts)
        return sorted(keys)

    def _wrong(self, qkey: str, key: str, value: float) -> float:
        """``value`` changed by 10–50%, up or down (an integer stays an integer)."""
        up = self.draw(qkey, key, "sign") < 0.5
        size = 0.1 + 0.4 * self.draw(qkey, key, "size")
        new = value * (1 + size if up else 1 - size) if value else 1 + 9 * size
        if float(value).is_integer():
            new = float(round(new))
            if new == value:
                new = value + (1 if up else -1)
        return round(new, 2)

    def _avails(self, qkey: str, params: dict, facts: dict) -> float:
        p, now = int(params["product"]), float(params["now_hour"])
        days, cap = float(params["days"]), float(params["capacity_per_day"])
        spd = float(params["steps_per_day"])
        deals = {k.split(":")[1] for k in facts if k.startswith("deal:")}
        owed = 0.0
        for d in deals:
            f = {a: facts.get(f"deal:{d}:{a}") for a in ("product", "volume", "delivered", "end")}
            if f["product"] != p or None in f.values() or f["end"] <= now:  # type: ignore[operator]
                continue
            left = f["volume"] - f["delivered"]  # type: ignore[operator]
            if left > 0:
                owed += left / max((f["end"] - now) / spd, 1 / spd)  # type: ignore[operator]
        lots = math.floor(max(0.0, cap - owed) * days)
        if self.draw(qkey, "avails", "wrong") < self.b.wrong_rate:
            lots = math.floor(lots * (1.1 + 0.4 * self.draw(qkey, "avails", "size")) + 1)
        return float(lots)


def _buyer_move(q: dict[str, str]) -> dict[str, Any]:
    price, last = float(q["seller_price"]), float(q["your_last_offer"])
    target, top = float(q["target_cpm"]), float(q["max_cpm"])
    if price <= top:
        return {"action": "accept", "price": price}
    if q["seller_action"] == "final_offer" or int(q["round"]) >= int(q["max_rounds"]):
        return {"action": "walk_away", "price": last}
    return {"action": "propose", "price": round(min(top, last + max(0.01, (top - target) / 5)), 2)}


def _seller_move(q: dict[str, str]) -> dict[str, Any]:
    offer, ask, floor = float(q["offer"]), float(q["ask"]), float(q["floor"])
    last, r, rounds = float(q["your_last_price"]), int(q["round"]), int(q["max_rounds"])
    if offer >= last or offer >= ask:
        return {"action": "accept", "price": offer}
    if r > rounds:
        return {"action": "reject", "price": last}
    final = "final_offer" if r == rounds else "counter"
    if offer < floor:
        return {"action": final, "price": floor}
    return {"action": final, "price": round(max(floor, last - 0.5 * (last - offer)), 2)}


def _content(obj: dict[str, Any]) -> dict[str, Any]:
    return {"role": "assistant", "content": json.dumps(obj, sort_keys=True)}


def _tool_call(qkey: str, keys: list[str]) -> dict[str, Any]:
    call = {
        "id": f"call_{qkey[:12]}",
        "type": "function",
        "function": {"name": "ledger_lookup", "arguments": json.dumps({"keys": keys})},
    }
    return {"role": "assistant", "content": "", "tool_calls": [call]}


class FakeServer:
    """The fake endpoint on 127.0.0.1, served from a daemon thread; a context manager."""

    def __init__(self, behaviour: Behaviour | None = None, port: int = 0):
        self.behaviour = behaviour or Behaviour()
        self.model = FakeModel(self.behaviour)
        self.served = Served()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", port), self._handler())
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def base_url(self) -> str:
        """The ``/v1`` root to give the client."""
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/v1"

    def start(self) -> FakeServer:
        """Start serving."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and free the port."""
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> FakeServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def answer(self, body: dict[str, Any]) -> tuple[int, dict[str, str], bytes]:
        """Status, headers and body of the response to one request body."""
        b, served = self.behaviour, self.served
        with served.lock:
            served.requests.append(body)
            n = len(served.requests)
        failing = b.fail and n > b.fail_after
        if b.delay or (failing and b.fail == "timeout"):
            time.sleep(b.delay or 5.0)
        if failing and b.fail == "error":
            return _error(500, "the fake server failed on purpose")
        if failing and b.fail == "429":
            return _error(429, "rate limit reached (fake)", {"Retry-After": "0"})
        if failing and b.fail == "bad_body":
            return 200, {"Content-Type": "application/json"}, b"{this is not json"
        if failing and b.fail == "malformed_json":
            message = {"role": "assistant", "content": "Sure! Here are the numbers you wanted."}
        else:
            message = self.model.reply(body)
        out = json.dumps(message.get("tool_calls") or message.get("content"))
        p, c = estimate_tokens(json.dumps(body["messages"])), estimate_tokens(out)
        digest = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()
        resp: dict[str, Any] = {
            "id": f"fake-{digest[:16]}",
            "object": "chat.completion",
            "created": 0,
            "model": body.get("model", "fake"),
            "choices": [
                {
                    "index": 0,
                    "message": message,
                    "finish_reason": "tool_calls" if message.get("tool_calls") else "stop",
                }
            ],
        }
        if failing and b.fail == "no_choices":
            resp["choices"] = []
        if b.report_usage:
            resp["usage"] = {"prompt_tokens": p, "completion_tokens": c, "total_tokens": p + c}
            with served.lock:
                served.prompt_tokens += p
                served.completion_tokens += c
        return 200, {"Content-Type": "application/json"}, json.dumps(resp).encode()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                if not self.path.rstrip("/").endswith("/chat/completions"):
                    self._send(*_error(404, f"no route {self.path}"))
                    return
                size = int(self.headers.get("Content-Length") or 0)
                try:
                    body = json.loads(self.rfile.read(size))
                except json.JSONDecodeError:
                    self._send(*_error(400, "request body is not JSON"))
                    return
                self._send(*server.answer(body))

            def _send(self, status: int, headers: dict[str, str], data: bytes) -> None:
                try:
                    self.send_response(status)
                    for k, v in headers.items():
                        self.send_header(k, v)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):  # the client gave up
                    pass

            def log_message(self, format: str, *args: Any) -> None:  # quiet
                return

        return Handler


def _error(status: int, message: str, extra: dict[str, str] | None = None):
    body = json.dumps({"error": {"message": message, "type": "fake_error", "code": status}})
    return status, {"Content-Type": "application/json", **(extra or {})}, body.encode()


def main() -> None:  # pragma: no cover - a manual tool
    ap = argparse.ArgumentParser(description="a fake OpenAI-compatible endpoint for admarket")
    ap.add_argument("--port", type=int, default=8089)
    for name in ("wrong_rate", "omit_rate", "lookup_rate", "delay"):
        ap.add_argument(f"--{name.replace('_', '-')}", type=float, default=None)
    ap.add_argument("--fail", choices=FAILURES, default="")
    args = ap.parse_args()
    b = Behaviour(fail=args.fail)
    for name in ("wrong_rate", "omit_rate", "lookup_rate", "delay"):
        if getattr(args, name) is not None:
            setattr(b, name, getattr(args, name))
    srv = FakeServer(b, port=args.port)
    print(f"fake endpoint at {srv.base_url} ({b}); Ctrl-C stops it", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        srv._httpd.serve_forever()


if __name__ == "__main__":  # pragma: no cover
    main()

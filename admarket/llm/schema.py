"""The JSON answers a language-model agent may give, and the check every answer passes.

Each task has a JSON Schema (sent to the endpoint as ``response_format`` where the server
supports it, and always checked here): ``books`` (the facts an agent holds, keyed like the
auditor's fact keys), ``avails`` (lots a seller can still commit), ``buyer_move`` and
``seller_move`` (one negotiation message). :func:`parse_answer` takes a model's text — a
bare JSON object, or one wrapped in prose or a code fence, as small models often do —
and returns the object, or raises :class:`AnswerError` saying what is wrong, which the
conversation sends back to the model as a correction.
"""

from __future__ import annotations

import json
import math
from typing import Any

# No fact, count or price of the market comes near this; a larger number is not an answer.
LARGEST = 1e12
_NUMBER = {"type": "number", "minimum": -LARGEST, "maximum": LARGEST}
_PRICE = {"type": "number", "exclusiveMinimum": 0, "maximum": 1e6}  # a CPM in USD

SCHEMAS: dict[str, dict[str, Any]] = {
    "books": {
        "type": "object",
        "properties": {"facts": {"type": "object", "additionalProperties": _NUMBER}},
        "required": ["facts"],
    },
    "avails": {
        "type": "object",
        "properties": {"lots": {"type": "number", "minimum": 0, "maximum": LARGEST}},
        "required": ["lots"],
    },
    "buyer_move": {
        "type": "object",
        "properties": {
            "action": {"type": "string", "enum": ["accept", "propose", "walk_away"]},
            "price": _PRICE,
        },
        "required": ["action", "price"],
    },
    "seller_move": {
        "type": "object",
        "properties": {
            "action": {"type": "string", "enum": ["accept", "counter", "final_offer", "reject"]},
            "price": _PRICE,
        },
        "required": ["action", "price"],
    },
}
TASKS = tuple(SCHEMAS)


class AnswerError(ValueError):
    """A model's answer that is not the JSON object its task asks for."""


def parse_answer(text: str, task: str) -> dict[str, Any]:
    """The JSON object in ``text``, checked against the schema of ``task``."""
    if not isinstance(text, str) or not text.strip():
        raise AnswerError("the answer was empty")
    body = text.strip()
    start, end = body.find("{"), body.rfind("}")
    if start < 0 or end < start:
        raise AnswerError("the answer holds no JSON object")
    try:
        value = json.loads(body[start : end + 1], parse_constant=_no_constant)
    except json.JSONDecodeError as exc:
        where = f"{exc.msg} at character {exc.pos}"
        raise AnswerError(f"the answer is not valid JSON ({where})") from None
    check(value, SCHEMAS[task], "answer")
    return value


def _no_constant(name: str) -> float:
    raise AnswerError(f"{name} is not a number JSON allows")


def check(value: Any, schema: dict[str, Any], where: str) -> None:
    """Raise :class:`AnswerError` unless ``value`` matches ``schema`` (the subset of JSON
    Schema the answers use: type, enum, properties, required, additionalProperties,
    minimum, exclusiveMinimum, maximum). Properties a schema does not name are allowed."""
    kind = schema.get("type")
    if kind == "object":
        if not isinstance(value, dict):
            raise AnswerError(f"{where} must be a JSON object")
        for name in schema.get("required", ()):
            if name not in value:
                raise AnswerError(f"{where} lacks {name!r}")
        props = schema.get("properties", {})
        extra = schema.get("additionalProperties")
        for name, v in value.items():
            sub = props.get(name, extra if isinstance(extra, dict) else None)
            if sub is not None:
                check(v, sub, f"{where}.{name}")
    elif kind == "number":
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise AnswerError(f"{where} must be a number, not {json.dumps(value)[:40]}")
        if not math.isfinite(value):
            raise AnswerError(f"{where} must be a finite number")
        if "minimum" in schema and value < schema["minimum"]:
            raise AnswerError(f"{where} must be at least {schema['minimum']}")
        if "exclusiveMinimum" in schema and value <= schema["exclusiveMinimum"]:
            raise AnswerError(f"{where} must be more than {schema['exclusiveMinimum']}")
        if "maximum" in schema and value > schema["maximum"]:
            raise AnswerError(f"{where} must be at most {schema['maximum']:g}")
    elif kind == "string":
        if not isinstance(value, str):
            raise AnswerError(f"{where} must be a string")
        if "enum" in schema and value not in schema["enum"]:
            allowed = ", ".join(schema["enum"])
            raise AnswerError(f"{where} must be one of {allowed}, not {value[:40]!r}")


def response_format(task: str, mode: str) -> dict[str, Any] | None:
    """The ``response_format`` request field for ``task`` under ``mode``: ``schema`` (JSON
    Schema, non-strict: Ollama, vLLM, llama.cpp and OpenAI accept it), ``json`` (any JSON
    object) or ``none`` (the field is left out; the prompt still asks for JSON)."""
    if mode == "schema":
        return {"type": "json_schema", "json_schema": {"name": task, "schema": SCHEMAS[task]}}
    if mode == "json":
        return {"type": "json_object"}
    return None

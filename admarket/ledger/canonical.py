"""Canonical JSON for the ledger: one text per value, so a hash or a signature of it is stable.

Canonical = sorted keys, compact separators, ASCII, finite floats only; the C-accelerated
encoder and decoder are built once and reused. Payloads must be plain JSON (str keys;
str, int, float, bool, None, lists and dicts); ``check_json`` names the first part that is
not, and ``checked_facts`` the first fact that is not a number.
"""

from __future__ import annotations

import hashlib
import json
import math
import threading
from json.encoder import c_make_encoder, encode_basestring_ascii  # type: ignore[attr-defined]


def _no_constants(name: str) -> float:
    raise ValueError(f"{name} is not valid JSON")


def _refuse(obj: object) -> object:
    raise TypeError(f"{type(obj).__name__} is not JSON")


_ENCODER = json.JSONEncoder(sort_keys=True, separators=(",", ":"), allow_nan=False, default=_refuse)
_PER_THREAD = threading.local()  # a C encoder and its circular-reference markers


def canonical(value: object) -> str:
    """Canonical JSON text of ``value``: ``json.JSONEncoder(sort_keys=True,
    separators=(",", ":"), allow_nan=False).encode(value)``, with its errors.

    ``JSONEncoder.encode`` builds a new C encoder on every call; the ledger encodes every
    payload it signs, so each thread keeps one (its circular-reference markers emptied
    after a failed encoding, which can leave some behind)."""
    if c_make_encoder is None or isinstance(value, str):
        return _ENCODER.encode(value)
    try:
        encode, markers = _PER_THREAD.encoder
    except AttributeError:
        markers = {}
        encode = c_make_encoder(
            markers, _refuse, encode_basestring_ascii, None, ":", ",", True, False, False
        )
        _PER_THREAD.encoder = encode, markers
    try:
        return "".join(encode(value, 0))
    except BaseException:
        markers.clear()
        raise


decoder = json.JSONDecoder(parse_constant=_no_constants)  # NaN/Infinity refused
NO_FACTS: dict = {}


def sha256(text: str) -> str:
    """Hex SHA-256 of ``text`` (UTF-8; canonical text is ASCII)."""
    return hashlib.sha256(text.encode()).hexdigest()


def check_json(value: object, where: str) -> None:
    """Raise TypeError/ValueError naming the first part of ``value`` that is not plain JSON."""
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"{where}: non-finite float {value!r} is not valid JSON")
    if isinstance(value, list):
        for i, v in enumerate(value):
            check_json(v, f"{where}[{i}]")
    elif isinstance(value, dict):
        for k, v in value.items():
            if not isinstance(k, str):
                raise TypeError(f"{where}: dict key {k!r} is not a str")
            check_json(v, f"{where}.{k}")
    elif not (value is None or isinstance(value, str | int | float)):
        raise TypeError(f"{where}: {type(value).__name__} is not a JSON scalar, list or dict")


def plain_copy(payload: dict) -> dict:
    """A private deep copy of ``payload`` after checking it is plain JSON (else TypeError or
    ValueError naming the offending part)."""
    return plain_copy_text(payload)[0]


class _NotPlain(Exception):
    """A part of a payload is not of an exact plain-JSON type (see :func:`_exact_copy`)."""


_EXACT_SCALARS = frozenset({str, float, int, bool, type(None)})


def _exact_copy(value: dict) -> dict:
    """A deep copy of ``value``, keys in sorted order, if every part is of an exact JSON
    type (dict with str keys, list, str, int, float, bool, None); else :class:`_NotPlain`.

    For such a value this equals ``decoder.decode(canonical(value))``: canonical JSON writes
    keys sorted, ints and strings exactly and a float as its shortest repr, which reads back
    as the same float (finiteness is the encoder's check, made before this copy). Anything
    else (tuples, subclasses such as numpy floats, non-str keys) takes the decoding path.
    """
    if any(type(k) is not str for k in value):
        raise _NotPlain
    return {k: _exact(value[k]) for k in sorted(value)}


def _exact(v: object) -> object:
    """``v`` itself if it is an exact JSON scalar, a copy if a dict or list (see
    :func:`_exact_copy`), else :class:`_NotPlain`."""
    t = type(v)
    if t in _EXACT_SCALARS:
        return v
    if t is dict:
        return _exact_copy(v)  # type: ignore[arg-type]
    if t is list:
        return [_exact(x) for x in v]  # type: ignore[attr-defined]
    raise _NotPlain


def plain_copy_text(payload: dict) -> tuple[dict, str]:
    """:func:`plain_copy` and the copy's canonical text, encoded once: the ledger splices
    that text into the signed and hashed texts instead of encoding the payload again.

    The copy is made directly when every part is of an exact JSON type (the ledger's own
    payloads): nothing is decoded. Otherwise it is the canonical text decoded, which must
    equal the payload (it differs only if JSON coerced something: tuples, int keys)."""
    if not isinstance(payload, dict):
        raise TypeError(f"payload must be a dict, got {type(payload).__name__}")
    try:
        text = canonical(payload)  # refuses non-finite floats and what JSON cannot encode
        try:
            return _exact_copy(payload), text
        except _NotPlain:
            copy = decoder.decode(text)
            plain = copy == payload  # differs only if JSON coerced something (tuples, int keys)
    except (TypeError, ValueError):
        plain = False
    if not plain:
        check_json(payload, "payload")
        raise TypeError("payload is not plain JSON")  # defensive: check_json raised already
    return copy, text


def checked_facts(payload: dict) -> dict:
    """``payload["facts"]`` if it maps str -> number (exact types: a bool is not a number)."""
    facts = payload.get("facts", NO_FACTS)
    if type(facts) is not dict:
        raise TypeError("payload['facts'] must be a dict of str -> number")
    for k, v in facts.items():
        if type(v) is not int and type(v) is not float:
            raise TypeError(f"payload['facts'][{k!r}]={v!r} is not a number")
    return facts

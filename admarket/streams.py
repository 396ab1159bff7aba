"""Named random streams derived from one seed: common random numbers across scenarios.

Every source of randomness in a run draws from its own stream, keyed by a role and an
index (an agent, a product). Streams are built from ``SeedSequence(seed, spawn_key=...)``
so they do not depend on the order in which they are created: scenario A creating no
memory streams does not shift the supply draws that B and C see. For one seed, all three
scenarios therefore get the same publishers, campaigns and hourly avails, and B and C get
the same restart draws for the same agent and day.
"""

from __future__ import annotations

import hashlib

import numpy as np
from numpy.typing import ArrayLike

# Roles: fixed small integers so a stream's identity never changes between versions.
# (Draws tied to one fact — whether it decays, whether a recall of it is corrupted — are not
# taken from a stream but from ``keyed_uniform``: the same fact of the same agent on the same
# day gets the same draw in B and in C, however differently the two runs have diverged.)
MARKET = 0  # publishers, products, campaigns, graph
SUPPLY = 1  # hourly avails realisation
AUCTION = 2  # exchange tie-breaks
MEMORY = 3  # tag of keyed decay draws (per agent, fact and day stored)
HALLUCINATION = 4  # tag of keyed injection draws (per agent, fact and step)
RESTART = 5  # per-agent restart draws: one per agent per day
COUNT = 6  # tag of keyed impression-count discrepancy draws (per deal and day; B and C alike)
LEDGER_READ = 7  # tag of keyed ledger read-failure draws (per reader, query and step)
LEDGER_WRITE = 8  # tag of keyed ledger write-failure draws (per author, entry and step)
LEDGER_KEYS = 9  # tag of the derivation of agents' ledger signing keys
AUCTION_LOG = 10  # which of A's lot auctions the event log samples (touches nothing else)
BID_SPREAD = 11  # which of its products each of a campaign's hourly lots goes to (A)


def stream(seed: int, role: int, index: int = 0) -> np.random.Generator:
    """A generator for ``role`` (and an agent or product ``index``) under ``seed``."""
    return np.random.Generator(
        np.random.PCG64(np.random.SeedSequence(seed, spawn_key=(role, index)))
    )


def keyed_uniform(*parts: object) -> float:
    """A uniform draw in (0, 1) determined by ``parts`` alone (e.g. seed, agent, fact, day).

    Keyed draws are common random numbers at the finest grain: they do not depend on how
    many other draws a run has made, so two scenarios that hold different facts still agree
    on every fact they share.
    """
    return keyed_uniform_text("|".join(map(str, parts)))


def keyed_prefix(*parts: object) -> str:
    """The text the leading ``parts`` of a keyed draw contribute, separator included:
    ``keyed_uniform_text(keyed_prefix(a, b) + f"{c}|{d}")`` is ``keyed_uniform(a, b, c, d)``.

    Hot callers (a recall, a ledger query) build the prefix once and the rest with one
    f-string (``f"{x}"`` is ``str(x)``), instead of joining every part on every draw."""
    return "".join(f"{p}|" for p in parts)


def keyed_uniform_text(text: str) -> float:
    """The draw of :func:`keyed_uniform` for its parts already joined into ``text``."""
    h = _new_blake2b_8()  # copying an empty hasher skips the constructor's argument parsing
    h.update(text.encode())
    # times 2**-64 is division by 2**64 exactly (a power of two): the same float
    return (_from_bytes(h.digest(), "little") + 0.5) * _TWO_TO_MINUS_64


_new_blake2b_8 = hashlib.blake2b(digest_size=8).copy  # C runs 4 M of these draws at 500x200
_from_bytes = int.from_bytes
_TWO_TO_MINUS_64 = 2.0**-64


OUTCOME = 6  # tag of keyed campaign-outcome draws (clicks, conversions, viewable impressions)

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


def _splitmix(z: np.ndarray) -> np.ndarray:
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def keyed_uniforms(seed: int, role: int, *keys: ArrayLike) -> np.ndarray:
    """Uniform draws in (0, 1), one per element of the (equal-shaped) integer ``keys``,
    each determined by (seed, role, its keys) alone — the vectorised sibling of
    :func:`keyed_uniform` (SplitMix64 hashing), for draws over many cells at once."""
    shape = np.broadcast(*keys).shape if keys else ()
    with np.errstate(over="ignore"):
        z = np.full(shape, np.uint64(seed % 2**64) * _GOLDEN + np.uint64(role), dtype=np.uint64)
        for k in keys:
            z = np.asarray(_splitmix(z + _GOLDEN) ^ np.asarray(k).astype(np.uint64), np.uint64)
        z = _splitmix(z + _GOLDEN)
    return ((z >> np.uint64(11)).astype(np.float64) + 0.5) / 2.0**53

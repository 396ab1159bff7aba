"""Named random streams derived from one seed: common random numbers across scenarios.

Every source of randomness in a run draws from its own stream, keyed by a role and an
index (an agent, a product). Streams are built from ``SeedSequence(seed, spawn_key=...)``
so they do not depend on the order in which they are created: scenario A creating no
memory streams does not shift the supply draws that B and C see. For one seed, all three
scenarios therefore get the same publishers, campaigns and hourly avails, and B and C get
the same memory-loss and hallucination draws for the same agent.
"""

from __future__ import annotations

import numpy as np

# Roles: fixed small integers so a stream's identity never changes between versions.
MARKET = 0  # publishers, products, campaigns, graph
SUPPLY = 1  # hourly avails realisation
AUCTION = 2  # exchange tie-breaks
MEMORY = 3  # per-agent decay, pressure and restart draws
HALLUCINATION = 4  # per-agent injection draws


def stream(seed: int, role: int, index: int = 0) -> np.random.Generator:
    """A generator for ``role`` (and an agent or product ``index``) under ``seed``."""
    return np.random.Generator(
        np.random.PCG64(np.random.SeedSequence(seed, spawn_key=(role, index)))
    )

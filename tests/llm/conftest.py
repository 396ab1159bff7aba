"""Language-model agents against the fake endpoint: no network, no model.

Every test starts its own :class:`~admarket.llm.fake_server.FakeServer` on 127.0.0.1 at a
free port and talks to it through the real ``openai`` client; markets are tiny (2 buyers,
2 sellers, 2 campaigns each, 3 days) so each run takes about a second.
"""

from __future__ import annotations

import pytest

from admarket.llm.fake_server import Behaviour, FakeServer


@pytest.fixture
def fake():
    """``fake(**behaviour)`` starts a fake endpoint; every one started is stopped after."""
    servers: list[FakeServer] = []

    def start(**behaviour) -> FakeServer:
        srv = FakeServer(Behaviour(**behaviour)).start()
        servers.append(srv)
        return srv

    yield start
    for srv in servers:
        srv.stop()

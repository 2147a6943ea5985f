"""Suite-wide fixtures: a real redis-server for the conversation-memory tests.

The server starts on first use (only Redis cases pay for it), on 127.0.0.1 on a free port, and
is stopped by its PID when the session ends.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from _redis_server import RedisServer


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    server = RedisServer().start()
    try:
        yield server
    finally:
        server.stop()

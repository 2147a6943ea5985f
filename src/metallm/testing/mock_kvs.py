"""``MockKVS``: an inspectable, fault-injectable conversation store for users' tests.

Owns nothing a real store does not: it is an :class:`~metallm.memory.InMemoryStore` (same
atomic append, same TTL rules) that also records every call in ``calls`` and can be told to fail
the next operations (``fail_next``), so tests can check what their code stored and how it copes
with a store outage. The Go SDK's ``testing.NewMockKVS`` counterpart.
"""

from __future__ import annotations

import time

from ..errors import MemoryStoreError
from ..memory.base import Records
from ..memory.inmemory import InMemoryStore

__all__ = ["MockKVS"]


class MockKVS(InMemoryStore):
    """An in-memory KVStore/AsyncKVStore that records calls and fails on demand."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[tuple[str, str]] = []
        self._failures: list[BaseException] = []

    def fail_next(self, count: int = 1, error: BaseException | None = None) -> None:
        """Make the next ``count`` operations raise ``error`` (a MemoryStoreError by default)."""
        for _ in range(count):
            self._failures.append(error or MemoryStoreError("MockKVS: injected failure"))

    def _record(self, op: str, key: str) -> None:
        self.calls.append((op, key))
        if self._failures:
            raise self._failures.pop(0)

    @property
    def data(self) -> dict[str, str]:
        """A snapshot of the live keys and values."""
        with self._lock:
            now = time.monotonic()
            live = {k: self._live(k, now) for k in list(self._data)}
        return {k: v for k, v in live.items() if v is not None}

    def get(self, key: str) -> str | None:
        """Recorded :meth:`InMemoryStore.get`."""
        self._record("get", key)
        return super().get(key)

    def set(self, key: str, value: str, ttl: float | None = None) -> None:
        """Recorded :meth:`InMemoryStore.set`."""
        self._record("set", key)
        super().set(key, value, ttl)

    def delete(self, key: str) -> None:
        """Recorded :meth:`InMemoryStore.delete`."""
        self._record("delete", key)
        super().delete(key)

    def append(
        self, key: str, session_id: str, messages: Records, max_messages: int, ttl: float | None
    ) -> None:
        """Recorded :meth:`InMemoryStore.append`."""
        self._record("append", key)
        super().append(key, session_id, messages, max_messages, ttl)

    def reset(self) -> None:
        """Forget every key, recorded call and pending failure."""
        with self._lock:
            self._data.clear()
        self.calls.clear()
        self._failures.clear()

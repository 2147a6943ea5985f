"""``InMemoryStore``: the default conversation store, one process, nothing persisted.

Owns a dict of ``key -> (value, expiry)`` behind one lock, so it is safe from many threads and
many asyncio tasks (the async methods never await while holding the lock). TTLs use the
monotonic clock and are enforced on read; expired entries are purged as they are met and in a
sweep every 256 writes. ``append`` applies :func:`~metallm.memory.base.append_to_document` under
the lock, so concurrent appends never lose a message. An appended conversation is kept as its
document and encoded to JSON text only when read, so a run of appends costs no re-encoding.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from .base import (
    AsyncFromSync,
    Records,
    append_to_document,
    encode_conversation,
    load_document,
    new_document,
)

__all__ = ["InMemoryStore"]

_SWEEP_EVERY = 256


class _Entry:
    __slots__ = ("doc", "expires", "text")

    def __init__(self, text: str | None, doc: dict[str, Any] | None, expires: float | None):
        self.text = text
        self.doc = doc
        self.expires = expires


class InMemoryStore(AsyncFromSync):
    """A thread- and task-safe in-process store implementing KVStore and AsyncKVStore."""

    def __init__(self) -> None:
        self._data: dict[str, _Entry] = {}
        self._lock = threading.Lock()
        self._writes = 0

    def _entry(self, key: str, now: float) -> _Entry | None:
        entry = self._data.get(key)
        if entry is not None and entry.expires is not None and entry.expires <= now:
            del self._data[key]
            return None
        return entry

    def _live(self, key: str, now: float) -> str | None:
        entry = self._entry(key, now)
        if entry is None:
            return None
        if entry.text is None:
            entry.text = encode_conversation(entry.doc or {})
        return entry.text

    def _put(self, key: str, entry: _Entry, ttl: float | None, now: float) -> None:
        entry.expires = now + ttl if ttl else None
        self._data[key] = entry
        self._writes += 1
        if self._writes % _SWEEP_EVERY == 0:
            dead = [k for k, e in self._data.items() if e.expires is not None and e.expires <= now]
            for k in dead:
                del self._data[k]

    def get(self, key: str) -> str | None:
        """The value, or None if absent or expired."""
        with self._lock:
            return self._live(key, time.monotonic())

    def set(self, key: str, value: str, ttl: float | None = None) -> None:
        """Store ``value``, expiring after ``ttl`` seconds (None: never)."""
        with self._lock:
            self._put(key, _Entry(value, None, None), ttl, time.monotonic())

    def delete(self, key: str) -> None:
        """Remove the key (no error if absent)."""
        with self._lock:
            self._data.pop(key, None)

    def append(
        self, key: str, session_id: str, messages: Records, max_messages: int, ttl: float | None
    ) -> None:
        """Atomically append and trim; refreshes the TTL."""
        with self._lock:
            now = time.monotonic()
            entry = self._entry(key, now)
            if entry is None:
                entry = _Entry(None, new_document(session_id, []), None)
            doc = entry.doc
            if doc is None:
                doc = entry.doc = load_document(entry.text or "", session_id)
            append_to_document(doc, messages, max_messages)
            entry.text = None
            self._put(key, entry, ttl, now)

    def keys(self) -> list[str]:
        """The live keys (for inspection and tests)."""
        with self._lock:
            now = time.monotonic()
            return [k for k in list(self._data) if self._live(k, now) is not None]

    def close(self) -> None:
        """Nothing to release; for symmetry with the other stores."""

"""``SQLiteStore``: the embedded persistent store, on the standard library's ``sqlite3``.

Owns one table ``metallm_kv(key, value, expires_at)`` in a file opened in WAL mode, one
connection per thread (so it is safe across threads), and ``BEGIN IMMEDIATE`` transactions for
every write, so many processes on one machine can append to one session at once without losing
a message: the read, the append-and-trim and the write happen in one transaction. TTLs are wall-
clock (``expires_at`` in epoch seconds, shared by processes), enforced on read, and purged on
read and in a sweep every 64 writes. The async methods run the same code in a worker thread.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

from ..errors import ConfigurationError, MemoryStoreError, MetaLLMError
from .base import AsyncFromSync, Records, apply_append

__all__ = ["SQLiteStore"]

T = TypeVar("T")

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS metallm_kv "
    "(key TEXT PRIMARY KEY, value TEXT NOT NULL, expires_at REAL)",
    "CREATE INDEX IF NOT EXISTS metallm_kv_expiry ON metallm_kv (expires_at)",
)
_SWEEP_EVERY = 64


class SQLiteStore(AsyncFromSync):
    """A conversation store in one SQLite file; implements KVStore and AsyncKVStore.

    ``busy_timeout`` (seconds) is how long a writer waits for another process's transaction.
    """

    def __init__(self, path: str | Path, *, busy_timeout: float = 30.0) -> None:
        if str(path) in ("", ":memory:"):
            raise ConfigurationError("SQLiteStore needs a file path; use InMemoryStore instead")
        self.path = str(path)
        self.busy_timeout = busy_timeout
        self._local = threading.local()
        self._conns: list[sqlite3.Connection] = []
        self._conns_lock = threading.Lock()
        self._writes = 0
        with self._errors("open"):
            self._conn()

    def _conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is not None:
            return conn
        conn = sqlite3.connect(
            self.path, timeout=self.busy_timeout, isolation_level=None, check_same_thread=False
        )
        conn.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout * 1000)}")
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
        for stmt in _SCHEMA:
            conn.execute(stmt)
        self._local.conn = conn
        with self._conns_lock:
            self._conns.append(conn)
        return conn

    @contextmanager
    def _errors(self, op: str) -> Iterator[None]:
        try:
            yield
        except MetaLLMError:
            raise
        except sqlite3.Error as exc:
            raise MemoryStoreError(f"SQLite store {self.path!r} failed to {op}: {exc}") from exc

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        conn = self._conn()
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
            self._writes += 1
            if self._writes % _SWEEP_EVERY == 0:
                conn.execute(
                    "DELETE FROM metallm_kv WHERE expires_at IS NOT NULL AND expires_at <= ?",
                    (time.time(),),
                )
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    @staticmethod
    def _expiry(ttl: float | None) -> float | None:
        return time.time() + ttl if ttl else None

    @staticmethod
    def _read(conn: sqlite3.Connection, key: str) -> tuple[str | None, bool]:
        """(live value or None, whether an expired row is there)."""
        row = conn.execute(
            "SELECT value, expires_at FROM metallm_kv WHERE key = ?", (key,)
        ).fetchone()
        if row is None:
            return None, False
        if row[1] is not None and row[1] <= time.time():
            return None, True
        return str(row[0]), False

    def get(self, key: str) -> str | None:
        """The value, or None if absent or expired (an expired row is purged)."""
        with self._errors("read"):
            conn = self._conn()
            value, expired = self._read(conn, key)
            if expired:
                with self._write() as w:
                    w.execute(
                        "DELETE FROM metallm_kv WHERE key = ? AND expires_at <= ?",
                        (key, time.time()),
                    )
            return value

    def set(self, key: str, value: str, ttl: float | None = None) -> None:
        """Store ``value``, expiring after ``ttl`` seconds (None: never)."""
        with self._errors("write"), self._write() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO metallm_kv (key, value, expires_at) VALUES (?, ?, ?)",
                (key, value, self._expiry(ttl)),
            )

    def delete(self, key: str) -> None:
        """Remove the key (no error if absent)."""
        with self._errors("delete"), self._write() as conn:
            conn.execute("DELETE FROM metallm_kv WHERE key = ?", (key,))

    def append(
        self, key: str, session_id: str, messages: Records, max_messages: int, ttl: float | None
    ) -> None:
        """Append and trim in one transaction; refreshes the TTL."""
        with self._errors("append"), self._write() as conn:
            current, _ = self._read(conn, key)
            text = apply_append(current, session_id, messages, max_messages)
            conn.execute(
                "INSERT OR REPLACE INTO metallm_kv (key, value, expires_at) VALUES (?, ?, ?)",
                (key, text, self._expiry(ttl)),
            )

    async def _run(self, fn: Callable[[], T]) -> T:
        """Run one sync operation in a worker thread (SQLite blocks)."""
        import anyio.to_thread

        return await anyio.to_thread.run_sync(fn)

    def close(self) -> None:
        """Close every thread's connection."""
        with self._conns_lock:
            conns, self._conns = self._conns, []
        for conn in conns:
            conn.close()
        self._local = threading.local()

    def __repr__(self) -> str:
        return f"SQLiteStore({self.path!r})"

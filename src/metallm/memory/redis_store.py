"""``RedisStore``: conversations in Redis, for many processes on many machines (extra ``redis``).

Owns the Redis side of the KVStore protocols, sync (``redis.Redis``) and asyncio
(``redis.asyncio.Redis``), from a URL or from clients the user already has. ``append`` is an
optimistic transaction: ``WATCH`` the key, read the conversation, apply
:func:`~metallm.memory.base.apply_append` (the rule every store shares: append, trim keeping
the system message, stamp ``updated_at``, migrate an old record) and write it back with the TTL
in ``MULTI``/``EXEC``; if another writer changed the key in between, ``EXEC`` fails and the
append is read and applied again. Concurrent writers anywhere therefore never lose a message,
and the stored JSON is what Python's ``json`` wrote: a server-side Lua script would have
re-encoded it with Redis's cjson, which turns ``[]`` into ``{}`` and rounds numbers to 14
digits, and would have corrupted the opaque ``provider_data`` and signatures that must go back
to a provider byte-exact. Clients made from a URL get socket timeouts and no automatic command
retries (a retried append could apply twice); every Redis failure surfaces as
:class:`MemoryStoreError`. This module imports ``redis`` (through ``metallm._redis``, which
also owns the clients); ``metallm.memory`` imports it only when ``RedisStore`` is first used.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from .._redis import RedisClients, RedisError, ResponseError, WatchError
from ..errors import MemoryStoreError
from .base import Records, apply_append

__all__ = ["RedisStore"]

_MAX_CONFLICTS = 1000
"""Appends retried after another writer changed the key first; then MemoryStoreError."""


def _contended(key: str, session_id: str) -> MemoryStoreError:
    return MemoryStoreError(
        f"conversation {session_id!r} (key {key!r}): {_MAX_CONFLICTS} appends in a row lost to "
        "other writers; nothing was written",
        session_id=session_id,
    )


def _ms(ttl: float | None) -> int:
    return max(1, round(ttl * 1000)) if ttl else 0


class RedisStore:
    """A Redis conversation store; implements KVStore and AsyncKVStore.

    ``RedisStore("redis://host:6379/0")`` builds both clients lazily (the asyncio one per event
    loop). ``RedisStore(client=r)`` uses ``r``: a ``redis.Redis`` serves the sync methods, a
    ``redis.asyncio.Redis`` the async ones (pass ``async_client=`` for the other side).
    """

    def __init__(
        self,
        url: str | None = None,
        *,
        client: Any = None,
        async_client: Any = None,
        socket_timeout: float = 5.0,
        connect_timeout: float = 2.0,
    ) -> None:
        self._clients = RedisClients(
            "RedisStore",
            url,
            client,
            async_client,
            socket_timeout=socket_timeout,
            connect_timeout=connect_timeout,
        )
        self.url = url
        self._client = self._clients.sync
        self._aclient = self._clients.asyncio

    def __repr__(self) -> str:
        return f"RedisStore({self.url!r})" if self.url else "RedisStore(client=...)"

    @contextmanager
    def _errors(self, op: str, key: str, session_id: str | None = None) -> Iterator[None]:
        what = f"conversation {session_id!r} (key {key!r})" if session_id else repr(key)
        try:
            yield
        except ResponseError as exc:
            raise MemoryStoreError(
                f"Redis refused to {op} {what}: {exc}", session_id=session_id
            ) from exc
        except RedisError as exc:
            raise MemoryStoreError(
                f"Redis failed to {op} {what}: {type(exc).__name__}: {exc}", session_id=session_id
            ) from exc

    @staticmethod
    def _text(value: Any) -> str | None:
        if value is None:
            return None
        return value.decode("utf-8") if isinstance(value, bytes) else str(value)

    # -- sync ------------------------------------------------------------------------------

    def get(self, key: str) -> str | None:
        """The value, or None if absent or expired."""
        with self._errors("read", key):
            return self._text(self._client().get(key))

    def set(self, key: str, value: str, ttl: float | None = None) -> None:
        """Store ``value`` with a TTL in milliseconds (None: none)."""
        with self._errors("write", key):
            self._client().set(key, value, px=_ms(ttl) or None)

    def delete(self, key: str) -> None:
        """Remove the key."""
        with self._errors("delete", key):
            self._client().delete(key)

    def append(
        self, key: str, session_id: str, messages: Records, max_messages: int, ttl: float | None
    ) -> None:
        """Append, trim and refresh the TTL in one optimistic transaction (retried on conflict)."""
        with self._errors("append to", key, session_id), self._client().pipeline() as pipe:
            for _ in range(_MAX_CONFLICTS):
                try:
                    pipe.watch(key)
                    raw = self._text(pipe.get(key))
                    text = apply_append(raw, session_id, messages, max_messages)
                    pipe.multi()
                    pipe.set(key, text, px=_ms(ttl) or None)
                    pipe.execute()
                    return
                except WatchError:
                    continue  # another writer changed the key first: read it again
            raise _contended(key, session_id)

    def close(self) -> None:
        """Close the sync client (a client passed in is the caller's to close)."""
        self._clients.close()

    # -- async -----------------------------------------------------------------------------

    async def aget(self, key: str) -> str | None:
        """Async :meth:`get`."""
        with self._errors("read", key):
            return self._text(await self._aclient().get(key))

    async def aset(self, key: str, value: str, ttl: float | None = None) -> None:
        """Async :meth:`set`."""
        with self._errors("write", key):
            await self._aclient().set(key, value, px=_ms(ttl) or None)

    async def adelete(self, key: str) -> None:
        """Async :meth:`delete`."""
        with self._errors("delete", key):
            await self._aclient().delete(key)

    async def aappend(
        self, key: str, session_id: str, messages: Records, max_messages: int, ttl: float | None
    ) -> None:
        """Async :meth:`append`."""
        with self._errors("append to", key, session_id):
            async with self._aclient().pipeline() as pipe:
                for _ in range(_MAX_CONFLICTS):
                    try:
                        await pipe.watch(key)
                        raw = self._text(await pipe.get(key))
                        text = apply_append(raw, session_id, messages, max_messages)
                        pipe.multi()
                        pipe.set(key, text, px=_ms(ttl) or None)
                        await pipe.execute()
                        return
                    except WatchError:
                        continue
                raise _contended(key, session_id)

    async def aclose(self) -> None:
        """Close the asyncio client this store made."""
        await self._clients.aclose()

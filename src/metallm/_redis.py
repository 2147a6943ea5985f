"""The Redis clients a metallm object talks through: one sync, one asyncio per event loop.

Shared by :class:`~metallm.memory.RedisStore` and :class:`~metallm.budget_redis.RedisBudget`,
which both take a URL or the user's own clients (``client=`` a ``redis.Redis`` or a
``redis.asyncio.Redis``, ``async_client=`` for the other side). Clients made from a URL get
socket timeouts and no automatic command retries (a retried write could apply twice); an
asyncio client is bound to its event loop, so one is made per loop. Clients the user passed
are the user's to close. Importing this module imports ``redis`` (the ``redis`` extra).
"""

from __future__ import annotations

import asyncio
from typing import Any

from .errors import ConfigurationError

try:
    import redis
    import redis.asyncio
    from redis.backoff import NoBackoff
    from redis.retry import Retry
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError(
        "metallm's Redis features need the redis package: pip install 'metallm[redis]'"
    ) from exc

__all__ = ["RedisClients", "RedisError", "ResponseError", "WatchError"]

RedisError = redis.RedisError
"""What every Redis failure derives from (re-exported: users of this module need no import)."""
ResponseError = redis.ResponseError
"""The server refused a command."""
WatchError = redis.WatchError
"""A watched key changed before ``EXEC``: an optimistic transaction to run again."""


class RedisClients:
    """The sync and asyncio clients of one ``owner`` (its name, for error messages)."""

    __slots__ = ("_async", "_async_loop", "_options", "_sync", "owner", "url")

    def __init__(
        self,
        owner: str,
        url: str | None,
        client: Any,
        async_client: Any,
        *,
        socket_timeout: float,
        connect_timeout: float,
    ) -> None:
        if isinstance(client, redis.asyncio.Redis) and async_client is None:
            client, async_client = None, client
        if url is None and client is None and async_client is None:
            raise ConfigurationError(f"{owner} needs a URL or a client")
        self.owner = owner
        self.url = url
        self._options: dict[str, Any] = {
            "socket_timeout": socket_timeout,
            "socket_connect_timeout": connect_timeout,
        }
        self._sync: Any = client
        self._async: Any = async_client
        self._async_loop: Any = None if async_client is None else "user"

    def sync(self) -> Any:
        """The ``redis.Redis`` client (made from the URL on first use)."""
        if self._sync is None:
            if self.url is None:
                raise ConfigurationError(f"this {self.owner} has only an asyncio client")
            self._sync = redis.Redis.from_url(
                self.url, retry=Retry(NoBackoff(), 0), **self._options
            )
        return self._sync

    def asyncio(self) -> Any:
        """The ``redis.asyncio.Redis`` client of the running event loop."""
        if self._async_loop == "user":
            return self._async
        if self.url is None:
            raise ConfigurationError(f"this {self.owner} has only a sync client")
        loop = asyncio.get_running_loop()
        if self._async is None or self._async_loop is not loop:
            from redis.asyncio.retry import Retry as AsyncRetry

            self._async = redis.asyncio.Redis.from_url(
                self.url, retry=AsyncRetry(NoBackoff(), 0), **self._options
            )
            self._async_loop = loop
        return self._async

    def close(self) -> None:
        """Close the sync client made from the URL."""
        if self._sync is not None and self.url is not None:
            self._sync.close()
            self._sync = None

    async def aclose(self) -> None:
        """Close the asyncio client made from the URL."""
        if self._async is not None and self._async_loop != "user":
            await self._async.aclose()
            self._async = None

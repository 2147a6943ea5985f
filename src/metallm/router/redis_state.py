"""``RedisRouterState``: one set of limits and breakers for every process that shares a Redis.

The rules are :mod:`metallm.router._limits`', the same as :class:`LocalRouterState`'s; here
they run as two Lua scripts (:mod:`metallm.router._redis_scripts`), one per acquire and one per
release, each one atomic round trip (``EVALSHA`` through redis-py's ``register_script``, which
loads a script again after ``NOSCRIPT``). Eight worker processes sharing one target therefore
stay under one requests-per-minute limit together. ``now`` is always the caller's clock
reading (the router's ``clock``), never Redis ``TIME``, so a fake or scaled clock drives every
process alike; key expiries are in Redis's real time, sized for a clock that runs at least as
fast as real time.

Redis failing never breaks a call. A command that fails (any ``RedisError`` or ``OSError``)
moves the state to an in-process :class:`LocalRouterState` (same clock) for the outage: one
warning names the Redis host (never a password), Redis is tried again every
``retry_interval`` seconds of real time by one caller while the others stay local, and one line
says when it answers again. A grant remembers where it came from (a fallback's lease starts
with ``local:``) and is released there; a Redis grant released while Redis is away is dropped,
and its slot frees itself when its lease expires (``lease_ttl``). This module imports ``redis``
(the ``redis`` extra); ``metallm.router`` imports it only when ``RedisRouterState`` is used.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from .._redaction import redact
from .._redis import RedisClients, RedisError
from ..errors import ConfigurationError
from ._limits import Grant, Outcome, Policy, bucket_of
from ._redis_scripts import (
    TRANSITIONS,
    acquire_args,
    grant_from,
    next_lease,
    register,
    release_args,
)
from ._state import LocalRouterState

__all__ = ["RedisRouterState"]

_log = logging.getLogger("metallm")
_LOCAL = "local:"


def _where(url: str | None, client: Any, async_client: Any) -> tuple[str, tuple[str, ...]]:
    """Where Redis is, fit for a log line (no userinfo, no query), and the secrets to hide."""
    if url is not None:
        parts = urlsplit(url)
        secrets = tuple(s for s in (parts.password,) if s)
        host = parts.hostname or ""
        try:
            port = f":{parts.port}" if parts.port else ""
        except ValueError:
            port = ""
        return f"{parts.scheme}://{host}{port}{parts.path}", secrets
    pool = getattr(client if client is not None else async_client, "connection_pool", None)
    kwargs = getattr(pool, "connection_kwargs", {})
    if "host" in kwargs:
        return f"{kwargs['host']}:{kwargs.get('port', 6379)}", ()
    return "a given Redis client", ()


def _check(name: str, value: float, *, zero: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value != value:  # noqa: PLR0124
        raise ConfigurationError(f"RedisRouterState: {name} must be a number, got {value!r}")
    if value < 0 or (value == 0 and not zero):
        bound = ">= 0" if zero else "> 0"
        raise ConfigurationError(f"RedisRouterState: {name} must be {bound}, got {value!r}")
    return float(value)


class _Plan:
    """One acquire or release: either ``done`` (answered without Redis; ``script`` 0) or a
    ``script`` (1: acquire, 2: release) to run with ``keys`` and ``args``, its reply read by
    ``answer`` and a Redis failure answered by ``fallback``. Sync and async differ only in how
    they run it."""

    __slots__ = ("answer", "args", "done", "fallback", "keys", "script")

    def __init__(
        self,
        *,
        done: Any = None,
        script: int = 0,
        keys: Any = (),
        args: Any = (),
        answer: Callable[[Any], Any] = lambda reply: reply,
        fallback: Callable[[], Any] = lambda: None,
    ) -> None:
        self.done = done
        self.script = script
        self.keys = keys
        self.args = args
        self.answer = answer
        self.fallback = fallback


class RedisRouterState:
    """Router limits and breakers kept in Redis, shared by every process that points at it.

    ``RedisRouterState("redis://host:6379/0")`` (or ``client=`` / ``async_client=`` a
    ``redis.Redis`` / ``redis.asyncio.Redis``); keys live under ``prefix``. ``clock`` is the
    time source the router reads ``now`` from; every process sharing the state must read the
    same one. ``lease_ttl``: seconds (of ``clock``) after which a call that never reported back
    frees its concurrency slot.
    """

    local = False

    def __init__(
        self,
        url: str | None = None,
        *,
        prefix: str = "metallm:router",
        client: Any = None,
        async_client: Any = None,
        clock: Callable[[], float] = time.time,
        socket_timeout: float = 0.5,
        connect_timeout: float = 0.5,
        retry_interval: float = 5.0,
        lease_ttl: float = 600.0,
    ) -> None:
        if not isinstance(prefix, str) or not prefix:
            raise ConfigurationError("RedisRouterState: prefix must be a non-empty string")
        if url is not None and not isinstance(url, str):
            raise ConfigurationError(f"RedisRouterState: url must be a string, got {url!r}")
        if not callable(clock):
            raise ConfigurationError("RedisRouterState: clock must be a callable returning seconds")
        self._clients = RedisClients(
            "RedisRouterState",
            url,
            client,
            async_client,
            socket_timeout=_check("socket_timeout", socket_timeout),
            connect_timeout=_check("connect_timeout", connect_timeout),
        )
        self.prefix = prefix
        self.clock = clock
        self.retry_interval = _check("retry_interval", retry_interval, zero=True)
        self.lease_ttl = _check("lease_ttl", lease_ttl)
        self._where, self._secrets = _where(url, client, async_client)
        self._local = LocalRouterState(clock)
        self._keys: dict[str, tuple[str, str, str, str]] = {}
        self._scripts: tuple[Any, Any, Any] | None = None
        self._ascripts: tuple[Any, Any, Any] | None = None
        self._down = False
        self._retry_at = 0.0
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"RedisRouterState({self._where!r}, prefix={self.prefix!r})"

    # -- the protocol, sync and async ---------------------------------------------------------

    def acquire(self, key: str, policy: Policy, tokens: int, now: float) -> Grant:
        """Admit a call to ``key`` now, reserving its request, tokens and slot; or refuse.
        One round trip to Redis (none while Redis is away: the in-process state answers)."""
        plan = self._plan_acquire(key, policy, tokens, now)
        return plan.done if not plan.script else self._run(plan)  # type: ignore[no-any-return]

    def release(
        self,
        key: str,
        policy: Policy,
        grant: Grant,
        outcome: Outcome,
        tokens: int | None,
        now: float,
    ) -> tuple[str, ...]:
        """End an admitted call where it was admitted; returns the breaker's transitions."""
        plan = self._plan_release(key, policy, grant, outcome, tokens, now)
        return plan.done if not plan.script else self._run(plan)  # type: ignore[no-any-return]

    async def aacquire(self, key: str, policy: Policy, tokens: int, now: float) -> Grant:
        """Async :meth:`acquire` (the asyncio client of the running loop)."""
        plan = self._plan_acquire(key, policy, tokens, now)
        return plan.done if not plan.script else await self._arun(plan)  # type: ignore[no-any-return]

    async def arelease(
        self,
        key: str,
        policy: Policy,
        grant: Grant,
        outcome: Outcome,
        tokens: int | None,
        now: float,
    ) -> tuple[str, ...]:
        """Async :meth:`release`."""
        plan = self._plan_release(key, policy, grant, outcome, tokens, now)
        return plan.done if not plan.script else await self._arun(plan)  # type: ignore[no-any-return]

    # -- one plan per call, run by either client ----------------------------------------------

    def _plan_acquire(self, key: str, policy: Policy, tokens: int, now: float) -> _Plan:
        if self._down and self._stay_local():
            return _Plan(done=self._local_acquire(key, policy, tokens, now))
        bucket, lease = bucket_of(now), next_lease()
        return _Plan(
            script=1,
            keys=self._keys_of(key),
            args=acquire_args(policy, tokens, now, bucket, lease, self.lease_ttl),
            answer=lambda reply: grant_from(reply, bucket, tokens, lease),
            fallback=lambda: self._local_acquire(key, policy, tokens, now),
        )

    def _plan_release(
        self, key: str, policy: Policy, grant: Grant, outcome: Outcome, tokens: int | None,
        now: float,
    ) -> _Plan:  # fmt: skip
        if grant.lease is not None and grant.lease.startswith(_LOCAL):
            return _Plan(done=self._local.release(key, policy, grant, outcome, tokens, now))
        if self._down and self._stay_local():
            return _Plan(done=())  # Redis is away: the lease expires there on its own
        args = release_args(policy, grant, outcome, tokens, now)
        if args is None:
            return _Plan(done=())
        breaker, _, token_key, leases = self._keys_of(key)
        return _Plan(
            script=2,
            keys=(breaker, token_key, leases),
            args=args,
            answer=TRANSITIONS.__getitem__,
            fallback=tuple,
        )

    def _run(self, plan: _Plan) -> Any:
        """Run a plan's script on the sync client (its fallback when Redis fails)."""
        try:
            reply = self._sync_scripts()[plan.script](plan.keys, plan.args)
        except (RedisError, OSError) as exc:
            self._failed(exc)
            return plan.fallback()
        return self._answered(plan, reply)

    async def _arun(self, plan: _Plan) -> Any:
        """:meth:`_run` on the asyncio client of the running loop."""
        try:
            reply = await self._async_scripts()[plan.script](plan.keys, plan.args)
        except (RedisError, OSError) as exc:
            self._failed(exc)
            return plan.fallback()
        return self._answered(plan, reply)

    def _answered(self, plan: _Plan, reply: Any) -> Any:
        if self._down:
            self._up()
        return plan.answer(reply)

    def close(self) -> None:
        """Close the sync client made from the URL (a client passed in is the caller's)."""
        self._scripts = None
        self._clients.close()

    async def aclose(self) -> None:
        """Close the asyncio client made from the URL."""
        self._ascripts = None
        await self._clients.aclose()

    # -- what both twins send -----------------------------------------------------------------

    def _sync_scripts(self) -> tuple[Any, Any, Any]:
        """The sync client and its two scripts (registered again if the client changed)."""
        client = self._clients.sync()
        scripts = self._scripts
        if scripts is None or scripts[0] is not client:
            scripts = self._scripts = register(client)
        return scripts

    def _async_scripts(self) -> tuple[Any, Any, Any]:
        """The running loop's asyncio client and its two scripts."""
        client = self._clients.asyncio()
        scripts = self._ascripts
        if scripts is None or scripts[0] is not client:
            scripts = self._ascripts = register(client)
        return scripts

    def _keys_of(self, key: str) -> tuple[str, str, str, str]:
        keys = self._keys.get(key)
        if keys is None:
            base = f"{self.prefix}:{key}:"
            keys = self._keys[key] = (
                base + "breaker",
                base + "requests",
                base + "tokens",
                base + "leases",
            )
        return keys

    # -- outages ------------------------------------------------------------------------------

    def _local_acquire(self, key: str, policy: Policy, tokens: int, now: float) -> Grant:
        grant = self._local.acquire(key, policy, tokens, now)
        grant.lease = _LOCAL + (grant.lease or "")  # released to the fallback, not to Redis
        return grant

    def _stay_local(self) -> bool:
        """While Redis is away: True, except for the one caller whose turn it is to try it."""
        moment = time.monotonic()
        with self._lock:
            if moment < self._retry_at:
                return True
            self._retry_at = moment + self.retry_interval
            return False

    def _failed(self, exc: BaseException) -> None:
        with self._lock:
            self._retry_at = time.monotonic() + self.retry_interval
            if self._down:
                return
            self._down = True
        _log.warning(
            "router state: Redis at %s failed (%s: %s); limits and breakers are kept in this "
            "process until it answers again (tried every %gs)",
            self._where,
            type(exc).__name__,
            redact(str(exc), self._secrets),
            self.retry_interval,
        )

    def _up(self) -> None:
        with self._lock:
            if not self._down:
                return
            self._down = False
        _log.warning(
            "router state: Redis at %s answers again; limits and breakers are shared again",
            self._where,
        )

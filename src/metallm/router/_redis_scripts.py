"""The two Lua scripts of :class:`~metallm.router.redis_state.RedisRouterState`, their
arguments and their replies: everything that crosses between Python and Redis.

Each script is :mod:`metallm.router._limits`' rules for one target, run inside Redis so that a
read and the write it decides are one atomic step for every process sharing the target. The
scripts are the Lua spelling of ``_state._acquire`` and ``_state._release``, check for check
and in the same order (breaker, concurrency, requests, tokens, then the reservation), so the
two states agree on every case their shared tests run.

Keys of one target (``{prefix}:{target}:...``): ``breaker`` (a hash: ``state``, ``failures``,
``opened_at``, ``probe_until``; absent means closed with no failures), ``requests`` and
``tokens`` (hashes from bucket index to count), ``leases`` (a sorted set of in-flight leases
scored by when each expires, so a crashed process's slot frees itself). Every write sets the
key's expiry, so an idle target leaves nothing behind.

Numbers that must round-trip (times, waits) travel as text: ``now`` and the bucket index
come in as Python wrote them (the caller's clock, never Redis ``TIME``; the index computed by
:func:`~metallm.router._limits.bucket_of`, so Python's floor division is the only one), times
are stored and a refusal's wait returned with ``%.17g`` (Redis turns a Lua number it returns
into an integer, and ``tostring`` keeps only 14 digits). Small integers come back as they are;
words as codes, so a client with ``decode_responses`` reads the same reply.
"""

from __future__ import annotations

import itertools
import os
from typing import Any

from ._limits import BUCKETS, PROBE_LEASE, WINDOW, BreakerState, Grant, Outcome, Policy, bucket_of

__all__ = [
    "ACQUIRE",
    "BREAKERS",
    "REASONS",
    "RELEASE",
    "TRANSITIONS",
    "acquire_args",
    "grant_from",
    "next_lease",
    "register",
    "release_args",
]

REASONS: tuple[str | None, ...] = (None, "requests", "tokens", "concurrency", "circuit_open")
"""A refusal's reason, by the code the acquire script returns."""
BREAKERS: tuple[BreakerState, ...] = ("closed", "open", "half_open")
"""The breaker's state, by code."""
TRANSITIONS: tuple[tuple[str, ...], ...] = ((), ("half_open",), ("open",), ("closed",))
"""The transitions an acquire or a release caused, by code."""

_CONSTANTS = f"""
local BUCKETS = {BUCKETS}
local WIDTH = {WINDOW / BUCKETS!r}
local WINDOW = {WINDOW!r}
local PROBE_LEASE = {PROBE_LEASE!r}
"""

ACQUIRE = (
    _CONSTANTS
    + """
-- KEYS: breaker, requests, tokens, leases
-- ARGV: now, bucket, tokens, rpm, tpm, max_concurrency (-1: no limit), recovery_time,
--       lease, lease expiry, key ttl (ms), leases ttl (ms)
local now, bucket, tokens = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local rpm, tpm, limit = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local ttl = ARGV[10]
local CODES = {closed = 0, open = 1, half_open = 2}
local b = redis.call('HMGET', KEYS[1], 'state', 'failures', 'opened_at', 'probe_until')
local state, failures = b[1] or 'closed', tonumber(b[2]) or 0
local transition, probe = 0, 0

local function refuse(reason, wait)
  return {0, reason, string.format('%.17g', wait), 0, CODES[state], failures, -1, -1, transition}
end

-- the window's sum, dropping buckets that left it; the buckets kept, for the wait
local function window(key)
  local flat = redis.call('HGETALL', key)
  local oldest, used, kept = bucket - BUCKETS, 0, {}
  for i = 1, #flat, 2 do
    local index = tonumber(flat[i])
    if index < oldest then
      redis.call('HDEL', key, flat[i])
    else
      local n = tonumber(flat[i + 1])
      used = used + n
      kept[#kept + 1] = {index, n}
    end
  end
  return used, kept
end

-- seconds until need more fits under lim, as the oldest buckets leave the window
local function wait_for(kept, used, need, lim)
  table.sort(kept, function(x, y) return x[1] < y[1] end)
  local excess = used + need - lim
  for _, entry in ipairs(kept) do
    excess = excess - entry[2]
    if excess <= 0 then
      return math.max(0, (entry[1] + BUCKETS + 1) * WIDTH - now)
    end
  end
  return WINDOW
end

if state == 'open' then
  local reopen = tonumber(b[3]) + tonumber(ARGV[7])
  if now < reopen then return refuse(4, reopen - now) end
  state, transition = 'half_open', 1
  redis.call('HSET', KEYS[1], 'state', state)
  redis.call('PEXPIRE', KEYS[1], ttl)
end
if state == 'half_open' then
  local probe_until = tonumber(b[4]) or 0
  if probe_until > now then return refuse(4, probe_until - now) end
  probe = 1
end
if limit >= 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[4], '-inf', ARGV[1])
  if redis.call('ZCARD', KEYS[4]) >= limit then return refuse(3, 0) end
end
local remaining_requests, remaining_tokens = -1, -1
if rpm >= 0 then
  local used, kept = window(KEYS[2])
  if used + 1 > rpm then return refuse(1, wait_for(kept, used, 1, rpm)) end
  remaining_requests = rpm - used - 1
end
if tpm >= 0 then
  local need = math.min(tokens, tpm) -- a request larger than the whole limit goes alone
  local used, kept = window(KEYS[3])
  if used + need > tpm then return refuse(2, wait_for(kept, used, need, tpm)) end
  remaining_tokens = tpm - used - need
end
if rpm >= 0 then
  redis.call('HINCRBY', KEYS[2], ARGV[2], 1)
  redis.call('PEXPIRE', KEYS[2], ttl)
end
if tpm >= 0 and tokens ~= 0 then
  redis.call('HINCRBY', KEYS[3], ARGV[2], ARGV[3])
  redis.call('PEXPIRE', KEYS[3], ttl)
end
if limit >= 0 then
  redis.call('ZADD', KEYS[4], ARGV[9], ARGV[8])
  redis.call('PEXPIRE', KEYS[4], ARGV[11])
end
if probe == 1 then
  redis.call('HSET', KEYS[1], 'probe_until', string.format('%.17g', now + PROBE_LEASE))
  redis.call('PEXPIRE', KEYS[1], ttl)
end
return {1, 0, '0', probe, CODES[state], failures, remaining_requests, remaining_tokens,
        transition}
"""
)

RELEASE = """
-- KEYS: breaker, tokens, leases
-- ARGV: now, lease, probe (0/1), outcome (0 success, 1 failure, 2 neutral), token correction
--       (0: none; only sent while the grant's bucket is in the window), bucket, has lease
--       (0/1), failure threshold, key ttl (ms)
local ttl = ARGV[9]
local probe, outcome = ARGV[3] == '1', tonumber(ARGV[4])
if ARGV[7] == '1' then redis.call('ZREM', KEYS[3], ARGV[2]) end
if ARGV[5] ~= '0' then
  if redis.call('HINCRBY', KEYS[2], ARGV[6], ARGV[5]) < 0 then
    redis.call('HSET', KEYS[2], ARGV[6], 0)
  end
  redis.call('PEXPIRE', KEYS[2], ttl)
end
if not probe and outcome == 2 then return 0 end
local state = redis.call('HGET', KEYS[1], 'state') or 'closed'

local function open()
  redis.call('HSET', KEYS[1], 'state', 'open', 'opened_at', ARGV[1])
  redis.call('HDEL', KEYS[1], 'probe_until')
  redis.call('PEXPIRE', KEYS[1], ttl)
  if state == 'open' then return 0 end
  return 2
end

if probe then
  if outcome == 0 then
    redis.call('DEL', KEYS[1]) -- closed, no failures, no probe out
    if state == 'closed' then return 0 end
    return 3
  end
  if outcome == 1 then
    redis.call('HINCRBY', KEYS[1], 'failures', 1)
    return open()
  end
  redis.call('HDEL', KEYS[1], 'probe_until') -- neutral: the next acquire sends a probe
  return 0
end
if state ~= 'closed' then return 0 end -- only a probe moves an open or half-open breaker
if outcome == 0 then
  redis.call('HDEL', KEYS[1], 'failures')
  return 0
end
if redis.call('HINCRBY', KEYS[1], 'failures', 1) >= tonumber(ARGV[8]) then return open() end
redis.call('PEXPIRE', KEYS[1], ttl)
return 0
"""

_OUTCOMES = {"success": 0, "failure": 1, "neutral": 2}
_MARGIN = 2 * WINDOW / BUCKETS
"""Seconds a key outlives what it must remember (a bucket is counted a bucket past a window)."""


def register(client: Any) -> tuple[Any, Any, Any]:
    """``client`` and its two scripts: each runs ``EVALSHA`` on it, and ``SCRIPT LOAD`` and
    again after ``NOSCRIPT`` (a restarted or flushed Redis)."""
    return client, client.register_script(ACQUIRE), client.register_script(RELEASE)


def _nonce() -> str:
    return os.urandom(6).hex() + "."


_lease_nonce = _nonce()
_lease_numbers = itertools.count(1)


def next_lease() -> str:
    """A lease id no other process hands out: a random nonce of this process and a count."""
    return f"{_lease_nonce}{next(_lease_numbers)}"


def _reseed() -> None:  # pragma: no cover - runs in a forked child
    """A forked child must not hand out its parent's lease ids."""
    global _lease_nonce, _lease_numbers
    _lease_nonce, _lease_numbers = _nonce(), itertools.count(1)


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reseed)


def _ttl_ms(policy: Policy) -> int:
    """How long a target's keys outlive their last write: what they must remember (a window's
    buckets, an open breaker's recovery, a probe's lease), plus a margin."""
    return int((max(WINDOW, policy.recovery_time, PROBE_LEASE) + _MARGIN) * 1000)


def acquire_args(
    policy: Policy, tokens: int, now: float, bucket: int, lease: str, lease_ttl: float
) -> list[Any]:
    """ACQUIRE's ARGV (redis-py writes a float with ``repr``: it reaches Lua exactly)."""
    rpm, tpm, limit = policy.requests_per_minute, policy.tokens_per_minute, policy.max_concurrency
    return [
        now,
        bucket,
        tokens,
        -1 if rpm is None else rpm,
        -1 if tpm is None else tpm,
        -1 if limit is None else limit,
        policy.recovery_time,
        lease,
        now + lease_ttl,
        _ttl_ms(policy),
        int((lease_ttl + _MARGIN) * 1000),
    ]


def release_args(
    policy: Policy, grant: Grant, outcome: Outcome, tokens: int | None, now: float
) -> list[Any] | None:
    """RELEASE's ARGV, or None when it would change nothing (a neutral end of a call that
    holds no slot and needs no token correction): then there is no round trip at all."""
    delta = 0
    if (
        tokens is not None
        and policy.tokens_per_minute is not None
        and tokens != grant.tokens
        and grant.bucket >= bucket_of(now) - BUCKETS  # the reservation is still in the window
    ):
        delta = tokens - grant.tokens
    held = policy.max_concurrency is not None
    if outcome == "neutral" and not grant.probe and not held and not delta:
        return None
    return [
        now,
        grant.lease or "",
        1 if grant.probe else 0,
        _OUTCOMES[outcome],
        delta,
        grant.bucket,
        1 if held else 0,
        policy.failure_threshold,
        _ttl_ms(policy),
    ]


def grant_from(reply: list[Any], bucket: int, tokens: int, lease: str) -> Grant:
    """ACQUIRE's reply as a Grant (the reservation's bucket, tokens and lease are the
    caller's, not sent back)."""
    ok, reason, wait, probe, breaker, failures, requests, left, transition = reply
    if ok:
        return Grant(
            True,
            probe=probe == 1,
            bucket=bucket,
            tokens=tokens,
            lease=lease,
            breaker=BREAKERS[breaker],
            failures=failures,
            remaining_requests=None if requests < 0 else requests,
            remaining_tokens=None if left < 0 else left,
            transitions=TRANSITIONS[transition],
        )
    return Grant(
        False,
        wait=float(wait),
        reason=REASONS[reason],
        breaker=BREAKERS[breaker],
        failures=failures,
        transitions=TRANSITIONS[transition],
    )

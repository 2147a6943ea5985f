"""Prompt-cache breakpoints on the Messages API: the ``cache_control`` a block carries, and the
rules Anthropic sets on them, checked while the body is built so a bad request fails before
any I/O with the place to fix named.

A unified :class:`~metallm.types.CacheControl` becomes ``{"type": "ephemeral"}``, plus
``"ttl"`` when one is asked for (``"5m"`` or ``"1h"``; the 1-hour TTL is generally available on
the plain endpoint, no ``anthropic-beta`` header needed). Anthropic reads a prompt as tools,
then system, then messages, and refuses a request with more than :data:`MAX_BREAKPOINTS`
breakpoints or with a 1-hour breakpoint after a 5-minute one in that order; the unified
message list may interleave system messages, so each breakpoint is recorded with its section
and the order is judged in Anthropic's reading order, not the user's.
"""

from __future__ import annotations

from typing import Any

from ...errors import InvalidRequestError
from ...types import CacheControl

__all__ = ["MAX_BREAKPOINTS", "MESSAGES", "SYSTEM", "TOOLS", "TTLS", "Placed", "check", "mark"]

TTLS = frozenset({"5m", "1h"})
"""The cache lifetimes Anthropic offers; ``None`` means its default, 5 minutes."""

MAX_BREAKPOINTS = 4
"""Anthropic's limit of ``cache_control`` blocks per request."""

TOOLS, SYSTEM, MESSAGES = 0, 1, 2
"""Sections of the prompt, in the order Anthropic reads (and caches) them."""

_UNCACHEABLE = frozenset({"thinking", "redacted_thinking"})


Placed = list[tuple[int, int, str, str]]
"""The breakpoints of one request body so far: section, order placed, where, TTL. A plain list
(made per call at the cost of ``[]``) so requests without marks pay nothing more."""


def mark(
    placed: Placed,
    provider: str,
    block: dict[str, Any],
    cache: CacheControl | None,
    where: str,
    section: int,
) -> dict[str, Any]:
    """Put ``cache`` on ``block`` (returned, for chaining) and record it in ``placed``;
    ``where`` names the user's field (``messages[2]``, ``tools[0]``) in any error."""
    if cache is None:
        return block
    ttl = cache.ttl
    if ttl is not None and ttl not in TTLS:
        raise InvalidRequestError(
            f"{provider}: {where}.cache_control.ttl {ttl!r} is not offered; "
            "Anthropic caches for '5m' or '1h'"
        )
    if block.get("type") in _UNCACHEABLE:
        raise InvalidRequestError(
            f"{provider}: {where}.cache_control would fall on a thinking block, "
            "which Anthropic cannot cache; mark a message with text or tool calls"
        )
    value: dict[str, Any] = {"type": "ephemeral"}
    if ttl is not None:
        value["ttl"] = ttl
    existing = block.get("cache_control")
    if existing is not None:
        if existing != value:
            raise InvalidRequestError(
                f"{provider}: {where}.cache_control {value} conflicts with "
                f"{existing} on its last content part; give them one TTL or drop one"
            )
        return block  # the part already carries this very breakpoint
    block["cache_control"] = value
    placed.append((section, len(placed), where, ttl or "5m"))
    return block


def check(placed: Placed, provider: str) -> None:
    """Refuse more than :data:`MAX_BREAKPOINTS` breakpoints, or a 1-hour one read after a
    5-minute one (Anthropic's rule: longer TTLs first)."""
    ordered = sorted(placed)
    if len(ordered) > MAX_BREAKPOINTS:
        wheres = ", ".join(where for _, _, where, _ in ordered)
        raise InvalidRequestError(
            f"{provider}: {len(ordered)} cache breakpoints ({wheres}); Anthropic allows "
            f"at most {MAX_BREAKPOINTS} per request"
        )
    short: str | None = None
    for _, _, where, ttl in ordered:
        if ttl == "5m":
            short = short or where
        elif short is not None:
            raise InvalidRequestError(
                f"{provider}: {where}.cache_control.ttl '1h' comes after the 5-minute "
                f"breakpoint at {short}; Anthropic needs 1-hour breakpoints before 5-minute "
                "ones (in the order tools, system, messages)"
            )

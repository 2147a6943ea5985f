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

from ...errors import InvalidRequestError, UnsupportedFeatureError
from ...types import CacheControl, Message, TextPart

__all__ = [
    "MAX_BREAKPOINTS",
    "MESSAGES",
    "SYSTEM",
    "TOOLS",
    "TTLS",
    "Placed",
    "check",
    "is_marked",
    "mark",
    "mark_last",
    "marked_user",
    "system_blocks",
]

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


def mark_last(
    provider: str, blocks: list[dict[str, Any]], message: Message, marks: Placed, i: int
) -> None:
    """A message's breakpoint goes on its last block: that is where its prefix ends."""
    if not blocks:
        raise InvalidRequestError(
            f"{provider}: messages[{i}].cache_control is set but the message has no content "
            "to carry it"
        )
    mark(marks, provider, blocks[-1], message.cache_control, f"messages[{i}]", MESSAGES)


def marked_user(
    provider: str, content: str | list[dict[str, Any]], message: Message, marks: Placed, i: int
) -> list[dict[str, Any]]:
    """A marked user turn's content as blocks, the message's breakpoint on the last one."""
    if isinstance(content, str):
        content = [{"type": "text", "text": content}] if content else []
    mark_last(provider, content, message, marks, i)
    return content


def system_blocks(
    provider: str, messages: list[Message], at: list[int], marks: Placed
) -> list[dict[str, Any]]:
    """``system`` as text blocks, from the system messages at indexes ``at``: the form a
    breakpoint needs to sit on (unmarked system messages stay one joined string)."""
    blocks: list[dict[str, Any]] = []
    for i in at:
        message = messages[i]
        own: list[dict[str, Any]] = []
        content = message.content
        if isinstance(content, str):
            if content:
                own.append({"type": "text", "text": content})
        else:
            for j, part in enumerate(content or ()):
                if not isinstance(part, TextPart):
                    raise UnsupportedFeatureError(provider, f"{part.type} parts in system messages")
                where = f"messages[{i}].content[{j}]"
                if not part.text:  # Anthropic refuses empty text blocks
                    if part.cache_control is not None:
                        raise InvalidRequestError(
                            f"{provider}: {where}.cache_control is set on an empty text part"
                        )
                    continue
                block = {"type": "text", "text": part.text}
                own.append(mark(marks, provider, block, part.cache_control, where, SYSTEM))
        if message.cache_control is not None:
            if not own:
                raise InvalidRequestError(
                    f"{provider}: messages[{i}].cache_control is set but the system message "
                    "has no text to carry it"
                )
            mark(marks, provider, own[-1], message.cache_control, f"messages[{i}]", SYSTEM)
        blocks.extend(own)
    return blocks


def is_marked(message: Message) -> bool:
    """Whether a message or one of its parts carries a breakpoint."""
    if message.cache_control is not None:
        return True
    content = message.content
    return type(content) is list and any(
        getattr(p, "cache_control", None) is not None for p in content
    )

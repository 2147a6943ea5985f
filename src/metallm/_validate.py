"""Checking a request before any I/O, so bad input fails fast with a message saying what to fix.

Users may pass a :class:`ChatCompletionRequest`, a plain dict, or keyword arguments; all become
a validated request here. Pydantic's own errors are re-raised as
:class:`~metallm.InvalidRequestError` (a ``ValueError``) with a readable summary, and the
conversation rules no provider accepts breaking (an empty message list, a tool result with no
or an unknown tool call id, an unknown role, a cache TTL no provider offers) are checked on the
result.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from .errors import InvalidRequestError, validation_summary
from .types import CacheControl, ChatCompletionRequest, Message, Role, reject_unknown_fields

__all__ = ["CACHE_TTLS", "coerce_request"]

CACHE_TTLS = frozenset({"5m", "1h"})
"""The cache TTLs some provider offers (Anthropic and Bedrock both take exactly these);
anything else fails here, naming where, whichever provider the request is for."""


def coerce_request(
    request: ChatCompletionRequest | Mapping[str, Any] | None, overrides: Mapping[str, Any]
) -> ChatCompletionRequest:
    """A validated request from a request object, a dict, and/or keyword arguments.

    Unknown fields anywhere in the dicts (the request, its messages, parts and tools) are
    refused, naming the closest known field; a request object was checked when it was built.
    """
    if request is None:
        fields = dict(overrides)
    elif isinstance(request, ChatCompletionRequest):
        if not overrides:
            check_conversation(request)  # already validated when it was built
            return request
        fields = {**dict(request), **overrides}  # the caller's object stays untouched
    elif isinstance(request, Mapping):
        fields = {**request, **overrides}
    else:
        raise InvalidRequestError(
            f"expected a ChatCompletionRequest or a dict, got {type(request).__name__}"
        )
    reject_unknown_fields(ChatCompletionRequest, fields)
    try:
        req = ChatCompletionRequest.model_validate(fields)
    except ValidationError as exc:
        summary = validation_summary(exc, ChatCompletionRequest.model_fields)
        raise InvalidRequestError(f"invalid request: {summary}") from None
    check_conversation(req)
    return req


def check_conversation(req: ChatCompletionRequest) -> None:
    """The rules on the message list itself."""
    if not req.model:
        raise InvalidRequestError("request.model is empty: name the model to use")
    if not req.messages:
        raise InvalidRequestError("request.messages is empty: send at least one message")
    known_calls: set[str] = set()
    for i, msg in enumerate(req.messages):
        if not isinstance(msg, Message):
            raise InvalidRequestError(f"messages[{i}] is not a Message")
        try:
            role = Role(msg.role)
        except ValueError:
            raise InvalidRequestError(
                f"messages[{i}].role {msg.role!r} is unknown; use one of "
                + ", ".join(r.value for r in Role)
            ) from None
        if msg.content is None and role in (Role.USER, Role.SYSTEM):
            raise InvalidRequestError(
                f"messages[{i}] ({role.value}) has no content: give it text or parts"
            )
        if msg.cache_control is not None:
            _check_ttl(msg.cache_control, f"messages[{i}]")
        if type(msg.content) is list:
            for j, part in enumerate(msg.content):
                cache = getattr(part, "cache_control", None)  # raw dict parts have none
                if cache is not None:
                    _check_ttl(cache, f"messages[{i}].content[{j}]")
        if msg.tool_calls:
            known_calls.update(tc.id for tc in msg.tool_calls)
        if role is Role.TOOL:
            if not msg.tool_call_id:
                raise InvalidRequestError(
                    f"messages[{i}] is a tool result without tool_call_id: set it to the id "
                    "of the assistant tool call it answers"
                )
            if known_calls and msg.tool_call_id not in known_calls:
                raise InvalidRequestError(
                    f"messages[{i}].tool_call_id {msg.tool_call_id!r} matches no earlier "
                    "assistant tool call"
                )
        elif msg.tool_call_id:
            raise InvalidRequestError(
                f"messages[{i}] has tool_call_id but role {role.value!r}; tool results use "
                "role 'tool'"
            )
    if req.tools:
        for k, tool in enumerate(req.tools):
            if tool.cache_control is not None:
                _check_ttl(tool.cache_control, f"tools[{k}]")


def _check_ttl(cache: CacheControl, where: str) -> None:
    """Refuse a TTL nobody offers (``"7d"``) for every provider alike, so a request that works
    against Anthropic does not quietly mean something else elsewhere."""
    if cache.ttl is not None and cache.ttl not in CACHE_TTLS:
        raise InvalidRequestError(
            f"{where}.cache_control.ttl {cache.ttl!r} is not a cache TTL any provider offers; "
            "use '5m' or '1h' (or None for the provider's default, 5 minutes)"
        )

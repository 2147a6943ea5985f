"""Checking a request before any I/O, so bad input fails fast with a message saying what to fix.

Users may pass a :class:`ChatCompletionRequest`, a plain dict, or keyword arguments; all become
a validated request here. Pydantic's own errors are re-raised as
:class:`~metallm.InvalidRequestError` (a ``ValueError``) with a readable summary, and the
conversation rules no provider accepts breaking (an empty message list, a tool result with no
or an unknown tool call id, an unknown role, a cache TTL no provider offers) are checked on
the result, with the provider-neutral rules on document and audio parts
(:func:`check_media_part`) and on what an assistant message keeps for its provider
(:func:`check_replay_data`: memory stores it as JSON).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from ._input import validation_summary
from .errors import InvalidRequestError
from .types import (
    AUDIO_FORMATS,
    DOCUMENT_MIME_TYPES,
    AudioPart,
    CacheControl,
    ChatCompletionRequest,
    DocumentPart,
    Message,
    ReasoningPart,
    Role,
    reject_unknown_fields,
)

__all__ = ["CACHE_TTLS", "coerce_request"]

CACHE_TTLS = frozenset({"5m", "1h"})
"""The cache TTLs some provider offers (Anthropic and Bedrock both take exactly these);
anything else fails here, naming where, whichever provider the request is for."""


def coerce_request(
    request: ChatCompletionRequest | Mapping[str, Any] | None,
    overrides: Mapping[str, Any],
    default_model: str | None = None,
) -> ChatCompletionRequest:
    """A validated request from a request object, a dict, and/or keyword arguments.

    ``default_model`` fills a missing ``model`` (a router's calls may leave it out: every
    target is then eligible, each sending its own model).

    Unknown fields anywhere in the dicts (the request, its messages, parts and tools) are
    refused, naming the closest known field; a request object was checked when it was built.
    """
    if request is None:
        fields = dict(overrides)
    elif isinstance(request, ChatCompletionRequest):
        if not overrides:
            check_conversation(request, default_model is not None)  # validated when built
            return request
        fields = {**dict(request), **overrides}  # the caller's object stays untouched
    elif isinstance(request, Mapping):
        fields = {**request, **overrides}
    else:
        raise InvalidRequestError(
            f"expected a ChatCompletionRequest or a dict, got {type(request).__name__}"
        )
    reject_unknown_fields(ChatCompletionRequest, fields)
    if default_model is not None and fields.get("model") is None:
        fields["model"] = default_model
    try:
        req = ChatCompletionRequest.model_validate(fields)
    except ValidationError as exc:
        summary = validation_summary(exc, ChatCompletionRequest.model_fields)
        raise InvalidRequestError(f"invalid request: {summary}") from None
    check_conversation(req, default_model is not None)
    return req


def check_conversation(req: ChatCompletionRequest, model_optional: bool = False) -> None:
    """The rules on the message list itself (and a model, unless ``model_optional``)."""
    if not req.model and not model_optional:
        raise InvalidRequestError("request.model is empty: name the model to use")
    if not req.messages:
        raise InvalidRequestError("request.messages is empty: send at least one message")
    known_calls: set[str] = set()
    for i, msg in enumerate(req.messages):
        if not isinstance(msg, Message):
            raise InvalidRequestError(f"messages[{i}] is not a Message")
        role = msg.role
        if type(role) is not Role:  # validated messages hold a Role: no enum lookup per call
            try:
                role = Role(role)
            except ValueError:
                raise InvalidRequestError(
                    f"messages[{i}].role {msg.role!r} is unknown; use one of "
                    + ", ".join(r.value for r in Role)
                ) from None
        content = msg.content
        if content is None and role in (Role.USER, Role.SYSTEM):
            raise InvalidRequestError(
                f"messages[{i}] ({role.value}) has no content: give it text or parts"
            )
        if msg.cache_control is not None:
            _check_ttl(msg.cache_control, f"messages[{i}]")
        if type(content) is list:
            for j, part in enumerate(content):
                if isinstance(part, (DocumentPart, AudioPart)):
                    check_media_part(part, f"messages[{i}].content[{j}]")
                cache = getattr(part, "cache_control", None)  # raw dict parts have none
                if cache is not None:
                    _check_ttl(cache, f"messages[{i}].content[{j}]")
        if msg.reasoning or msg.provider_data:
            check_replay_data(msg, f"messages[{i}]")
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


def check_replay_data(message: Message, where: str) -> None:
    """Reasoning parts hold text, and ``provider_data`` is JSON: both go back to the provider
    and into conversation memory as they are, so anything else is refused here, naming the
    field (``messages[3].provider_data.gemini.when``), rather than failing later in a store."""
    for j, part in enumerate(message.reasoning or ()):
        if not isinstance(part, ReasoningPart):
            raise InvalidRequestError(f"{where}.reasoning[{j}] is not a ReasoningPart")
        for name in ("text", "signature", "encrypted", "provider"):
            value = getattr(part, name)
            if value is not None and type(value) is not str:
                raise InvalidRequestError(
                    f"{where}.reasoning[{j}].{name} must be text (a JSON string), "
                    f"not {type(value).__name__}"
                )
    data = message.provider_data
    if data is None:
        return
    path = _first_unserialisable(data, f"{where}.provider_data")
    if path:
        raise InvalidRequestError(
            f"{path} is not JSON-serialisable: provider_data holds JSON values only (str keys; "
            "str, finite numbers, bools, None, lists and dicts), which memory stores exactly"
        )


def _first_unserialisable(value: Any, path: str) -> str:
    """Where in ``value`` the first value JSON cannot hold exactly is (``path`` if it is
    ``value`` itself, ``""`` if there is none). Stricter than ``json.dumps``, which turns an
    ``int`` key or a tuple into something else that would come back changed from memory."""
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                return f"{path} (key {key!r})"
            found = _first_unserialisable(item, f"{path}.{key}")
            if found:
                return found
        return ""
    if isinstance(value, list):
        for n, item in enumerate(value):
            found = _first_unserialisable(item, f"{path}[{n}]")
            if found:
                return found
        return ""
    if value is None or isinstance(value, (str, bool, int)):
        return ""
    if isinstance(value, float) and math.isfinite(value):
        return ""
    return path


_BASE64 = re.compile(r"[A-Za-z0-9+/]*={0,2}")
_SAMPLE = 256  # characters checked at each end of base64 data: a constant cost per part


def _looks_base64(data: str) -> bool:
    """A cheap test, constant-time whatever the size: the length is a multiple of four and
    both ends are base64 alphabet. It catches what goes wrong in practice (raw text, a
    ``data:`` URL, a ``b'...'`` repr, a truncated copy) without scanning megabytes per call;
    the provider rejects what slips through the middle."""
    if not data or len(data) % 4:
        return False
    if len(data) <= 2 * _SAMPLE:
        return _BASE64.fullmatch(data) is not None
    return (
        _BASE64.fullmatch(data, 0, _SAMPLE) is not None
        and _BASE64.fullmatch(data, len(data) - _SAMPLE) is not None
    )


def check_media_part(part: DocumentPart | AudioPart, where: str) -> None:
    """The rules every provider shares for a document or audio part, before any I/O: a
    document has exactly one of data or url, a supported MIME type and base64 data; audio has
    a documented format and base64 data. ``where`` (``messages[1].content[2]``) leads the
    message so the user can find the part."""
    if isinstance(part, AudioPart):
        audio = part.input_audio
        if audio.format not in AUDIO_FORMATS:
            lower = str(audio.format).lower()
            hint = (
                f"use {lower!r}" if lower in AUDIO_FORMATS else "known: " + ", ".join(AUDIO_FORMATS)
            )
            raise InvalidRequestError(f"{where}: audio format {audio.format!r} is unknown; {hint}")
        if not _looks_base64(audio.data):
            raise InvalidRequestError(
                f"{where}: input_audio.data is not base64 (send the bytes base64-encoded,"
                " without a data: prefix)"
            )
        return
    if (part.data is None) == (part.url is None):
        problem = "needs data or url" if part.data is None else "takes data or url, not both"
        raise InvalidRequestError(f"{where}: a DocumentPart {problem}")
    if part.mime_type not in DOCUMENT_MIME_TYPES:
        raise InvalidRequestError(
            f"{where}: document mime_type {part.mime_type!r} is not supported; use one of "
            + ", ".join(DOCUMENT_MIME_TYPES)
        )
    if part.data is not None:
        if not _looks_base64(part.data):
            raise InvalidRequestError(
                f"{where}: DocumentPart.data is not base64 (use DocumentPart.from_text for"
                " text, or base64-encode the file's bytes, without a data: prefix)"
            )
    elif "://" not in (part.url or ""):
        raise InvalidRequestError(
            f"{where}: DocumentPart.url {part.url!r} is not a URL (https://, gs://, s3://);"
            " inline data goes in data= (DocumentPart.from_base64)"
        )

"""Small pure functions every codec needs: JSON in and out, counts, tool calls, ``extra``.

Each provider's wire format differs, but the chores around it do not: reading a success body
as JSON (and failing with a :class:`~metallm.ResponseValidationError` that shows the body),
encoding a request body compactly, coercing token counts, turning tool-call arguments into the
JSON text the unified types carry, synthesising stable tool-call ids when a provider sends
none, refusing request fields a provider cannot honour, and merging ``request.extra`` into a
body. They live here, public, so that built-in and
third-party codecs do them the same way instead of each keeping a copy.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from ..errors import ResponseValidationError, UnsupportedFeatureError
from ..tokens import TokenCount
from ..types import ChatCompletionRequest, ResponseFormat
from ._errors import invalid_body_error
from ._http import HTTPResponse

__all__ = [
    "USER_AGENT",
    "arguments_text",
    "as_int",
    "encode_json",
    "invalid_reply",
    "json_body",
    "json_object",
    "merge_extra",
    "opt_int",
    "parse_token_count",
    "refuse_fields",
    "response_format_type",
    "status_from_code",
    "tool_call_id",
]

USER_AGENT = "metallm/0.1.0"
"""The ``user-agent`` the built-in codecs send."""

_dumps = json.dumps
_encode_compact = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode


def encode_json(body: Any) -> bytes:
    """``body`` as compact UTF-8 JSON (no spaces, non-ASCII kept as is): the bytes to send."""
    return _encode_compact(body).encode()


def json_body(provider: str, response: HTTPResponse, secrets: tuple[str, ...] = ()) -> Any:
    """A success reply's body parsed as JSON.

    A body that is not JSON raises :class:`~metallm.ResponseValidationError` ("response body
    is not JSON"), with the status and a redacted excerpt, via
    :func:`~metallm.provider.invalid_body_error`.
    """
    try:
        return json.loads(response.content)
    except ValueError:
        raise invalid_body_error(provider, response, "response body is not JSON", secrets) from None


def as_int(value: Any) -> int:
    """A token count or timestamp as an ``int``; ``None`` is 0, garbage raises ``ValueError``.

    Floats are truncated (some servers send ``12.0``); booleans and strings are refused, so a
    garbled reply fails loudly instead of counting ``True`` as one token.
    """
    if type(value) is int:
        return value
    if value is None:
        return 0
    if isinstance(value, (bool, str)):
        raise ValueError(f"not a number: {value!r}")
    return int(value)


def opt_int(value: Any) -> int | None:
    """:func:`as_int`, keeping ``None`` as ``None`` (a count the provider did not report)."""
    return None if value is None else as_int(value)


def arguments_text(arguments: Any) -> str:
    """Tool-call arguments as the JSON text unified tool calls carry.

    Text is kept as it is (OpenAI-shaped APIs already send text); an object (Anthropic's
    ``input``, Ollama's and Gemini's ``arguments``/``args``, compatible servers' objects) is
    serialised with ``json.dumps`` defaults (``", "`` and ``": "`` separators, the spacing
    Anthropic streams), non-ASCII kept; ``None`` (no arguments) is ``"{}"``.
    """
    if isinstance(arguments, str):
        return arguments
    return _dumps({} if arguments is None else arguments, ensure_ascii=False)


def tool_call_id(given: Any, *position: int, prefix: str = "call") -> str:
    """The provider's own call id, or a stable one synthesised from the call's position.

    ``tool_call_id(None, 0, 2)`` is ``"call_0_2"`` (choice 0, third call);
    ``tool_call_id(None, 1, prefix="toolu")`` is ``"toolu_1"``. A codec gives the same
    position in its stream decoder as in its whole-reply parser, so a streamed reply
    accumulates to the same ids as the plain one, and a later turn can send the id back.
    """
    if given:
        return str(given)
    return "_".join((prefix, *map(str, position)))


def status_from_code(code: str | None, *, lowest: int = 400) -> int | None:
    """The HTTP status an error's ``code`` stands for, when it is one (``"429"`` -> 429).

    Error events inside a stream carry no HTTP status; several servers put the status they
    meant in ``code``. Values outside ``lowest``..599, or not all digits, give ``None``.
    """
    if code and code.isdigit():
        status = int(code)
        if lowest <= status <= 599:
            return status
    return None


def invalid_reply(
    provider: str, response: HTTPResponse, secrets: tuple[str, ...] = ()
) -> Callable[[str], ResponseValidationError]:
    """``invalid(why)``: the error for this garbled success reply (a parser's one-liner for
    :func:`~metallm.provider.invalid_body_error` with its provider, reply and secrets bound)."""
    return lambda why: invalid_body_error(provider, response, why, secrets)


def json_object(
    provider: str, response: HTTPResponse, secrets: tuple[str, ...], what: str
) -> dict[str, Any]:
    """A success reply's body as a JSON object; else ``ResponseValidationError`` saying
    ``"{what} is not JSON"`` or ``"... is not a JSON object"`` (status, redacted excerpt)."""
    try:
        body = json.loads(response.content)
    except ValueError:
        raise invalid_body_error(provider, response, f"{what} is not JSON", secrets) from None
    if type(body) is not dict:
        raise invalid_body_error(provider, response, f"{what} is not a JSON object", secrets)
    return body


def merge_extra(body: dict[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    """Merge ``request.extra`` into ``body`` last, overriding; a ``None`` value removes a key.

    ``{"stream_options": None}`` thus drops a field a server rejects. Returns ``body``.
    """
    for key, value in extra.items():
        if value is None:
            body.pop(key, None)
        else:
            body[key] = value
    return body


def refuse_fields(request: ChatCompletionRequest, provider: str, *fields: str) -> None:
    """Raise :class:`~metallm.UnsupportedFeatureError` naming the first of ``fields`` set.

    A field the provider cannot honour is refused before any I/O, never silently dropped.
    """
    for name in fields:
        if getattr(request, name) is not None:
            raise UnsupportedFeatureError(provider, name)


def response_format_type(value: ResponseFormat | Mapping[str, Any] | None) -> str | None:
    """The ``type`` of a ``response_format`` given as a model or a raw dict (``None``: unset)."""
    if value is None:
        return None
    kind = value.type if isinstance(value, ResponseFormat) else value.get("type")
    return None if kind is None else str(kind)


def parse_token_count(
    provider: str, response: HTTPResponse, secrets: tuple[str, ...], field: str
) -> TokenCount:
    """A counting endpoint's reply ``{field: n, ...}`` as an exact count from ``provider``;
    a missing or non-integer ``n`` is a ``ResponseValidationError``."""
    body = json_object(provider, response, secrets, "token count reply")
    tokens = body.get(field)
    if type(tokens) is not int or tokens < 0:
        raise invalid_body_error(
            provider, response, f"token count reply without an integer {field!r}", secrets
        )
    return TokenCount(tokens, True, provider)

"""Building the Ollama ``POST /api/chat`` request body from a unified request.

Ollama's chat API differs from Chat Completions in ways that matter here:

* sampling settings live in ``options`` (``max_tokens`` is ``num_predict``);
* images are a per-message ``images`` list of bare base64 strings, so an image given by URL
  cannot be sent (``UnsupportedFeatureError``: Ollama fetches nothing); documents and audio
  have no place in Ollama's chat message at all, so they are refused too;
* assistant tool calls carry ``function.arguments`` as a JSON *object*, and a tool result is a
  ``tool`` message naming the tool (``tool_name``), which we look up from the assistant tool
  call whose id the result answers;
* ``stream`` is always sent, since Ollama streams when it is absent;
* JSON output is ``format``: ``"json"`` or the schema object itself; reasoning is ``think``.

Fields Ollama has no equivalent for (``n > 1``, a ``tool_choice`` other than ``auto``,
``user``, ``metadata``, message ``name``) raise ``UnsupportedFeatureError`` before any I/O.
``request.extra`` is merged last into the body (``None`` removes a field); an ``options``
dict in ``extra`` is merged into ours, so ``{"options": {"num_ctx": 8192}}`` just adds one.
"""

from __future__ import annotations

import json
from typing import Any

from ...errors import InvalidRequestError, UnsupportedFeatureError
from ...provider import refuse_fields, sent_back
from ...types import (
    AudioPart,
    ChatCompletionRequest,
    DocumentPart,
    ImagePart,
    Message,
    ResponseFormat,
    Role,
    TextPart,
)

__all__ = ["build_body"]

_OPTIONS = (
    ("temperature", "temperature"),
    ("top_p", "top_p"),
    ("top_k", "top_k"),
    ("seed", "seed"),
    ("frequency_penalty", "frequency_penalty"),
    ("presence_penalty", "presence_penalty"),
)
_THINK_LEVELS = {"low": "low", "medium": "medium", "high": "high", "none": False}


def _content(message: Message, provider: str) -> tuple[str, list[str]]:
    """The text and the base64 images of a message."""
    content = message.content
    if content is None:
        return "", []
    if isinstance(content, str):
        return content, []
    texts: list[str] = []
    images: list[str] = []
    for part in content:
        if isinstance(part, TextPart):
            texts.append(part.text)
        elif isinstance(part, ImagePart):
            inline = part.inline_data()
            if inline is None:
                raise UnsupportedFeatureError(provider, "image URLs (send images as base64 data)")
            images.append(inline[1])
        elif isinstance(part, DocumentPart):
            raise UnsupportedFeatureError(provider, "documents (DocumentPart)")
        elif isinstance(part, AudioPart):
            raise UnsupportedFeatureError(provider, "audio input (AudioPart)")
    return "".join(texts), images


def _arguments(text: str, name: str) -> dict[str, Any]:
    try:
        value = json.loads(text) if text.strip() else {}
    except ValueError:
        raise InvalidRequestError(
            f"tool call {name!r}: arguments are not valid JSON: {text[:100]!r}"
        ) from None
    if not isinstance(value, dict):
        raise InvalidRequestError(f"tool call {name!r}: arguments must be a JSON object")
    return value


def _messages(request: ChatCompletionRequest, provider: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    tool_names: dict[str, str] = {}
    for message in request.messages:
        text, images = _content(message, provider)
        item: dict[str, Any] = {"role": str(message.role), "content": text}
        if images:
            item["images"] = images
        if message.role is Role.TOOL:
            call_id = message.tool_call_id
            tool_name = tool_names.get(call_id) if call_id is not None else message.name
            if tool_name is None:
                raise InvalidRequestError(
                    f"tool result with tool_call_id={call_id!r} matches no earlier assistant"
                    " tool call; Ollama needs the tool's name"
                )
            item["tool_name"] = tool_name
        elif message.name is not None:
            raise UnsupportedFeatureError(provider, "message name")
        if message.reasoning_content and message.role is Role.ASSISTANT:
            item["thinking"] = message.reasoning_content  # plain text: Ollama signs nothing
        if message.reasoning or message.provider_data:
            sent_back(provider, message)  # another provider's signatures: logged, dropped
        if message.tool_calls:
            calls = []
            for call in message.tool_calls:
                tool_names[call.id] = call.function.name
                calls.append(
                    {
                        "function": {
                            "name": call.function.name,
                            "arguments": _arguments(call.function.arguments, call.function.name),
                        }
                    }
                )
            item["tool_calls"] = calls
        out.append(item)
    return out


def _format(value: ResponseFormat | dict[str, Any]) -> Any:
    """Ollama's ``format``: ``"json"``, a JSON schema object, or ``None`` for plain text."""
    kind = value.get("type") if isinstance(value, dict) else value.type
    schema = value.get("json_schema") if isinstance(value, dict) else value.json_schema
    if kind == "json_object":
        return "json"
    if kind == "json_schema":
        if not isinstance(schema, dict):
            raise InvalidRequestError(
                "response_format type 'json_schema' needs json_schema={'schema': {...}}"
            )
        inner = schema.get("schema")
        return inner if isinstance(inner, dict) else schema
    if kind in (None, "text"):
        return None
    raise InvalidRequestError(f"unknown response_format type {kind!r}")


def _think(effort: str, provider: str) -> Any:
    try:
        return _THINK_LEVELS[effort]
    except KeyError:
        raise UnsupportedFeatureError(provider, f"reasoning_effort={effort!r}") from None


def _tools(request: ChatCompletionRequest) -> list[dict[str, Any]]:
    tools = []
    for tool in request.tools or []:
        fn = tool.function
        function: dict[str, Any] = {"name": fn.name}
        if fn.description is not None:
            function["description"] = fn.description
        function["parameters"] = fn.parameters or {"type": "object", "properties": {}}
        tools.append({"type": "function", "function": function})
    return tools


def _check(request: ChatCompletionRequest, provider: str) -> None:
    if request.n is not None and request.n > 1:
        raise UnsupportedFeatureError(provider, "n > 1")
    if request.tool_choice is not None and request.tool_choice != "auto":
        raise UnsupportedFeatureError(provider, "tool_choice")
    refuse_fields(request, provider, "user", "metadata")


def build_body(request: ChatCompletionRequest, *, provider: str, stream: bool) -> dict[str, Any]:
    """The ``/api/chat`` body as a dict (see the module docstring for the rules)."""
    _check(request, provider)
    body: dict[str, Any] = {
        "model": request.model,
        "messages": _messages(request, provider),
        "stream": stream,
    }
    if request.tools:
        body["tools"] = _tools(request)
    if request.response_format is not None:
        fmt = _format(request.response_format)
        if fmt is not None:
            body["format"] = fmt
    if request.reasoning_effort is not None:
        body["think"] = _think(request.reasoning_effort, provider)
    options: dict[str, Any] = {}
    if request.max_tokens is not None:
        options["num_predict"] = request.max_tokens
    for field, option in _OPTIONS:
        value = getattr(request, field)
        if value is not None:
            options[option] = value
    stop = request.stop_sequences()
    if stop is not None:
        options["stop"] = stop
    extra = request.extra
    if isinstance(extra.get("options"), dict):
        options.update(extra["options"])
    if options and not ("options" in extra and extra["options"] is None):
        body["options"] = options
    for key, value in extra.items():
        if key == "options":
            if value is None:
                body.pop("options", None)
            elif not isinstance(value, dict):
                raise InvalidRequestError("extra['options'] must be a dict of Ollama options")
        elif value is None:
            body.pop(key, None)
        else:
            body[key] = value
    return body

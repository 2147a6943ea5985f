"""Building the Chat Completions request body and headers from a unified request.

The unified types are the Chat Completions shape already, so this is mostly a careful copy:
``None`` fields are left out, assistant messages that only call tools send ``"content": null``
(the API requires the key), ``reasoning_content`` stays home (the API does not take it back),
and so do ``reasoning`` parts and ``provider_data`` (another provider's: a debug line says so),
``response_format`` becomes the wire form, and ``request.extra`` is merged last, overriding
(a ``None`` value in ``extra`` removes that field, e.g. ``{"stream_options": None}`` for a
server that rejects it). The only provider differences are the name of the max-tokens field
(OpenAI's current ``max_completion_tokens``; xAI and most compatible servers ``max_tokens``),
the headers, and which media parts the server takes (``files``, ``audio``).

Documents and audio, per OpenAI's file-inputs and audio guides: an inline PDF becomes a
``file`` part (``filename``, ``file_data`` as a ``data:`` URL; ``document.pdf`` when the part
has no name); an inline ``text/plain`` document becomes a ``text`` part holding its text, which
is what OpenAI's guide says to do (Chat Completions reads only PDFs as files); a document by
URL is refused (Chat Completions takes no file URL); audio becomes an ``input_audio`` part, in
the two formats OpenAI documents (``wav``, ``mp3``). A server without file or audio input
(xAI) refuses those parts rather than losing them.
"""

from __future__ import annotations

from typing import Any

from ...errors import InvalidRequestError, UnsupportedFeatureError
from ...provider import USER_AGENT, merge_extra, refuse_fields, sent_back
from ...types import (
    AudioPart,
    ChatCompletionRequest,
    ContentPart,
    DocumentPart,
    ImagePart,
    Message,
    ResponseFormat,
    TextPart,
    Tool,
    ToolCall,
)

__all__ = ["USER_AGENT", "Media", "build_body"]

_SCALARS = (
    "temperature",
    "top_p",
    "stop",
    "n",
    "seed",
    "frequency_penalty",
    "presence_penalty",
    "tool_choice",
    "reasoning_effort",
    "user",
    "metadata",
)


_AUDIO_FORMATS = ("wav", "mp3")
"""The ``input_audio.format`` values Chat Completions documents."""


class Media:
    """Which media parts a Chat Completions server takes, and under which name it refuses
    (built once per codec, not per call)."""

    __slots__ = ("audio", "files", "provider")

    def __init__(self, provider: str, *, files: bool = True, audio: bool = True) -> None:
        self.provider = provider
        self.files = files
        self.audio = audio


def _part(part: ContentPart | dict[str, Any], media: Media) -> dict[str, Any]:
    """One content part on the wire (the one place a per-part key would be added)."""
    if isinstance(part, TextPart):
        return {"type": "text", "text": part.text}
    if isinstance(part, ImagePart):
        image: dict[str, Any] = {"url": part.image_url.url}
        if part.image_url.detail is not None:
            image["detail"] = part.image_url.detail
        return {"type": "image_url", "image_url": image}
    if isinstance(part, DocumentPart):
        return _document(part, media)
    if isinstance(part, AudioPart):
        audio = part.input_audio
        if not media.audio:
            raise UnsupportedFeatureError(media.provider, "audio input (AudioPart)")
        if audio.format not in _AUDIO_FORMATS:
            raise UnsupportedFeatureError(
                media.provider, f"audio format {audio.format!r} (send wav or mp3)"
            )
        return {"type": "input_audio", "input_audio": {"data": audio.data, "format": audio.format}}
    return dict(part)  # a raw wire-format part, passed through


def _document(part: DocumentPart, media: Media) -> dict[str, Any]:
    if part.data is None:
        raise UnsupportedFeatureError(
            media.provider, "documents by URL (Chat Completions takes no file URL; send data)"
        )
    if part.mime_type == "text/plain":
        return {"type": "text", "text": part.text()}
    if not media.files:
        raise UnsupportedFeatureError(media.provider, "PDF documents (DocumentPart) in chat")
    file = {
        "filename": part.name or "document.pdf",
        "file_data": f"data:{part.mime_type};base64,{part.data}",
    }
    return {"type": "file", "file": file}


def _tool_call(call: ToolCall) -> dict[str, Any]:
    return {
        "id": call.id,
        "type": "function",
        "function": {"name": call.function.name, "arguments": call.function.arguments},
    }


def _message(message: Message, media: Media) -> dict[str, Any]:
    out: dict[str, Any] = {"role": str(message.role)}
    if message.reasoning or message.provider_data:
        sent_back(media.provider, message)  # Chat Completions takes no reasoning back: dropped
    content = message.content
    if isinstance(content, list):
        out["content"] = [_part(p, media) for p in content]
    elif content is not None:
        out["content"] = content
    elif message.tool_calls:
        out["content"] = None  # the API wants the key on a tool-calling assistant turn
    if message.name is not None:
        out["name"] = message.name
    if message.tool_calls:
        out["tool_calls"] = [_tool_call(c) for c in message.tool_calls]
    if message.tool_call_id is not None:
        out["tool_call_id"] = message.tool_call_id
    return out


def _tool(tool: Tool) -> dict[str, Any]:
    fn = tool.function
    function: dict[str, Any] = {"name": fn.name}
    if fn.description is not None:
        function["description"] = fn.description
    if fn.parameters is not None:
        function["parameters"] = fn.parameters
    if fn.strict is not None:
        function["strict"] = fn.strict
    return {"type": "function", "function": function}


def _response_format(value: ResponseFormat | dict[str, Any]) -> dict[str, Any]:
    if isinstance(value, dict):
        return value
    if value.type == "json_schema":
        if value.json_schema is None:
            raise InvalidRequestError(
                "response_format type 'json_schema' needs json_schema="
                "{'name': ..., 'schema': {...}}"
            )
        return {"type": "json_schema", "json_schema": value.json_schema}
    return {"type": value.type}


def build_body(
    request: ChatCompletionRequest,
    *,
    provider: str,
    max_tokens_field: str,
    stream: bool,
    media: Media | None = None,
) -> dict[str, Any]:
    """The request body as a dict (see the module docstring for the rules); ``media`` says
    which media parts the server takes (all, by default)."""
    refuse_fields(request, provider, "top_k")
    if media is None:
        media = Media(provider)
    body: dict[str, Any] = {
        "model": request.model,
        "messages": [_message(m, media) for m in request.messages],
    }
    if request.max_tokens is not None:
        body[max_tokens_field] = request.max_tokens
    for name in _SCALARS:
        value = getattr(request, name)
        if value is not None:
            body[name] = value
    if request.tools is not None:
        body["tools"] = [_tool(t) for t in request.tools]
    if request.response_format is not None:
        body["response_format"] = _response_format(request.response_format)
    if stream:
        body["stream"] = True
        body["stream_options"] = {"include_usage": True}
    return merge_extra(body, request.extra)

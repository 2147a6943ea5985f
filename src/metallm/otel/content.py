"""Opt-in message content: the capture mode and the GenAI "parts" JSON shape.

Content is off by default (prompts are data the user may not want in a tracing backend).
``OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT`` picks ``NO_CONTENT``, ``SPAN_ONLY``,
``EVENT_ONLY`` or ``SPAN_AND_EVENT``; an unknown value warns once and means no content; a
client's ``capture_content=`` wins over the variable. Messages become
``[{"role": ..., "parts": [...]}]`` with ``text``, ``reasoning``, ``tool_call``,
``tool_call_response``, ``uri`` and ``blob`` parts, as the conventions define them: images,
documents and audio are ``blob`` parts when inline and ``uri`` parts when given by URL, with
modality ``image``, ``document`` (in the conventions' ``Modality`` enum beside image, video and
audio) or ``audio``, and the MIME type when it is known. Every string passes the client's
redactor, so a key pasted into a prompt never leaves either.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable
from typing import Any

from ..embeddings import EmbeddingsRequest
from ..types import (
    AudioPart,
    ChatCompletionRequest,
    ChatCompletionResponse,
    DocumentPart,
    ImagePart,
    Message,
    ResponseFormat,
    Role,
    TextPart,
)
from .attributes import CAPTURE_ENV

__all__ = ["CaptureMode", "Content", "capture_mode", "render_content", "render_embeddings_input"]

_log = logging.getLogger("metallm.otel")


class CaptureMode:
    """Where content goes: on the span, in the event, both, or nowhere."""

    __slots__ = ("event", "span")

    def __init__(self, name: str) -> None:
        self.span = name in ("SPAN_ONLY", "SPAN_AND_EVENT")
        self.event = name in ("EVENT_ONLY", "SPAN_AND_EVENT")

    @property
    def any(self) -> bool:
        """Whether any content is captured."""
        return self.span or self.event


MODES = ("NO_CONTENT", "SPAN_ONLY", "EVENT_ONLY", "SPAN_AND_EVENT")
_warned: set[str] = set()
_modes: dict[str, CaptureMode] = {}


def capture_mode(value: str | None) -> CaptureMode:
    """The mode from an explicit value, else the environment; unknown values warn once."""
    raw = value if value is not None else os.environ.get(CAPTURE_ENV, "NO_CONTENT")
    mode = _modes.get(raw)
    if mode is not None:
        return mode
    name = raw.strip().upper() or "NO_CONTENT"
    if name not in MODES:
        if raw not in _warned:
            _warned.add(raw)
            _log.warning(
                "%s=%r is not one of %s; capturing no message content",
                CAPTURE_ENV,
                raw,
                ", ".join(MODES),
            )
        name = "NO_CONTENT"
    mode = _modes[raw] = CaptureMode(name)
    return mode


def _arguments(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text


def _parts(message: Message) -> list[dict[str, Any]]:
    parts: list[dict[str, Any]] = []
    if message.reasoning_content:
        parts.append({"type": "reasoning", "content": message.reasoning_content})
    content = message.content
    if message.role is Role.TOOL:
        response = content if isinstance(content, str) else message.text()
        parts.append(
            {"type": "tool_call_response", "id": message.tool_call_id, "response": response}
        )
    elif isinstance(content, str):
        if content:
            parts.append({"type": "text", "content": content})
    elif content:
        for part in content:
            if isinstance(part, TextPart):
                parts.append({"type": "text", "content": part.text})
            elif isinstance(part, ImagePart):
                inline = part.inline_data()
                if inline is not None:
                    parts.append(
                        {"type": "blob", "mime_type": inline[0], "modality": "image",
                         "content": inline[1]}
                    )  # fmt: skip
                else:
                    parts.append({"type": "uri", "modality": "image", "uri": part.image_url.url})
            elif isinstance(part, DocumentPart):
                if part.data is not None:
                    parts.append(
                        {"type": "blob", "mime_type": part.mime_type, "modality": "document",
                         "content": part.data}
                    )  # fmt: skip
                else:
                    parts.append(
                        {"type": "uri", "mime_type": part.mime_type, "modality": "document",
                         "uri": part.url}
                    )  # fmt: skip
            elif isinstance(part, AudioPart):
                parts.append(
                    {"type": "blob", "mime_type": part.mime_type(), "modality": "audio",
                     "content": part.input_audio.data}
                )  # fmt: skip
    for call in message.tool_calls or ():
        parts.append(
            {
                "type": "tool_call",
                "id": call.id,
                "name": call.function.name,
                "arguments": _arguments(call.function.arguments),
            }
        )
    return parts


class Content:
    """The captured content of one call, as structured values; JSON text on demand."""

    __slots__ = ("input", "output", "system", "tools")

    def __init__(self) -> None:
        self.input: list[dict[str, Any]] | None = None
        self.system: list[dict[str, Any]] | None = None
        self.tools: list[dict[str, Any]] | None = None
        self.output: list[dict[str, Any]] | None = None


def render_content(
    request: ChatCompletionRequest, *, system_apart: bool, redact: Callable[[str], str]
) -> Content:
    """Input messages, system instructions and tool definitions of a request."""
    content = Content()
    messages = []
    system: list[dict[str, Any]] = []
    for message in request.messages:
        if system_apart and message.role is Role.SYSTEM:
            system.extend(_parts(message))
        else:
            messages.append({"role": message.role.value, "parts": _parts(message)})
    content.input = _scrub(messages, redact)
    content.system = _scrub(system, redact) if system else None
    if request.tools:
        tools = [
            {
                "type": "function",
                "name": t.function.name,
                **({"description": t.function.description} if t.function.description else {}),
                **({"parameters": t.function.parameters} if t.function.parameters else {}),
            }
            for t in request.tools
        ]
        content.tools = _scrub(tools, redact)
    return content


def render_embeddings_input(request: EmbeddingsRequest, redact: Callable[[str], str]) -> Content:
    """The texts of an embeddings request, as one user message of text parts."""
    content = Content()
    parts = [{"type": "text", "content": text} for text in request.inputs]
    content.input = _scrub([{"role": "user", "parts": parts}], redact)
    return content


def render_output(
    response: ChatCompletionResponse | None, redact: Callable[[str], str]
) -> list[dict[str, Any]]:
    """Output messages, one per choice, with their finish reasons."""
    if response is None:
        return []
    out = [
        {
            "role": "assistant",
            "parts": _parts(choice.message),
            "finish_reason": choice.finish_reason or "error",
        }
        for choice in response.choices
    ]
    return _scrub(out, redact)


def _scrub(value: list[dict[str, Any]], redact: Callable[[str], str]) -> list[dict[str, Any]]:
    """Redact every string by round-tripping through JSON text (content capture is opt-in)."""
    text = json.dumps(value, ensure_ascii=False)
    scrubbed = redact(text)
    return value if scrubbed == text else json.loads(scrubbed)


def to_json(value: list[dict[str, Any]]) -> str:
    """The compact JSON text put on span attributes."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def output_type(request: ChatCompletionRequest) -> str:
    """``json`` when JSON output was asked for, else ``text``."""
    fmt = request.response_format
    kind = fmt.type if isinstance(fmt, ResponseFormat) else (fmt or {}).get("type")
    return "json" if kind in ("json_object", "json_schema") else "text"

"""The unified request and response types every provider speaks.

The shape is the OpenAI Chat Completions shape, which users already know; each provider codec
translates to and from it. Types are pydantic v2 models so that user input is validated at the
boundary, while parsers on hot paths build them with ``model_construct`` (their input is already
checked by the codec), which keeps per-chunk cost in the low microseconds.
"""

from __future__ import annotations

import enum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "ChatCompletionChunk",
    "ChatCompletionRequest",
    "ChatCompletionResponse",
    "Choice",
    "ChunkChoice",
    "ContentPart",
    "Delta",
    "FinishReason",
    "FunctionCall",
    "FunctionCallDelta",
    "FunctionDefinition",
    "ImagePart",
    "ImageURL",
    "Message",
    "ResponseFormat",
    "Role",
    "TextPart",
    "Tool",
    "ToolCall",
    "ToolCallDelta",
    "Usage",
]


class Role(str, enum.Enum):
    """Who speaks a message; the four roles every provider can express."""

    SYSTEM = "system"
    USER = "user"
    ASSISTANT = "assistant"
    TOOL = "tool"

    def __str__(self) -> str:
        return self.value


FinishReason = Literal["stop", "length", "tool_calls", "content_filter", "error"]
"""The normalised reasons a choice ends; providers map their own vocabulary onto these."""


class _Model(BaseModel):
    model_config = ConfigDict(populate_by_name=True, defer_build=True)


class TextPart(_Model):
    """A piece of text inside a multi-part message."""

    type: Literal["text"] = "text"
    text: str


class ImageURL(_Model):
    """Where an image is: an ``https://`` URL or a ``data:`` URL with base64 content."""

    url: str
    detail: Literal["auto", "low", "high"] | None = None


class ImagePart(_Model):
    """An image input, by URL or inline base64 data (``ImagePart.from_base64``)."""

    type: Literal["image_url"] = "image_url"
    image_url: ImageURL

    @classmethod
    def from_url(cls, url: str, detail: Literal["auto", "low", "high"] | None = None) -> ImagePart:
        """An image the provider fetches itself (or a ``data:`` URL)."""
        return cls(image_url=ImageURL(url=url, detail=detail))

    @classmethod
    def from_base64(cls, data: str, mime_type: str = "image/png") -> ImagePart:
        """An image sent inline; ``data`` is base64 text without the ``data:`` prefix."""
        return cls(image_url=ImageURL(url=f"data:{mime_type};base64,{data}"))

    def inline_data(self) -> tuple[str, str] | None:
        """``(mime_type, base64)`` when the image is a ``data:`` URL, else ``None``.

        Providers that cannot fetch URLs (Gemini, Anthropic, Ollama) need the inline form.
        """
        url = self.image_url.url
        if not url.startswith("data:") or ";base64," not in url:
            return None
        head, _, data = url.partition(";base64,")
        return head[5:] or "application/octet-stream", data


ContentPart = TextPart | ImagePart


class FunctionCall(_Model):
    """The function a model asked to call; ``arguments`` is always JSON text."""

    name: str
    arguments: str = "{}"


class ToolCall(_Model):
    """One tool call of an assistant message; ``id`` ties the tool result back to it."""

    id: str
    type: Literal["function"] = "function"
    function: FunctionCall


class Message(_Model):
    """One turn of a conversation.

    ``content`` is text or a list of parts (text and images). An assistant message may carry
    ``tool_calls``; a tool message answers one of them through ``tool_call_id``.
    ``reasoning_content`` holds a model's thinking, kept apart from the answer.
    """

    role: Role
    content: str | list[ContentPart] | None = None
    name: str | None = None
    tool_calls: list[ToolCall] | None = None
    tool_call_id: str | None = None
    reasoning_content: str | None = None

    def text(self) -> str:
        """The message's text parts joined, whatever form ``content`` has."""
        if self.content is None:
            return ""
        if isinstance(self.content, str):
            return self.content
        return "".join(p.text for p in self.content if isinstance(p, TextPart))


class FunctionDefinition(_Model):
    """A function the model may call, described by a JSON schema of its parameters."""

    name: str
    description: str | None = None
    parameters: dict[str, Any] | None = None
    strict: bool | None = None


class Tool(_Model):
    """A tool offered to the model; only function tools are portable across providers."""

    type: Literal["function"] = "function"
    function: FunctionDefinition


class ResponseFormat(_Model):
    """Ask for JSON output: ``json_object``, or ``json_schema`` with a schema to follow."""

    type: Literal["text", "json_object", "json_schema"]
    json_schema: dict[str, Any] | None = None


class ChatCompletionRequest(_Model):
    """One chat completion request, provider-agnostic.

    Optional fields left ``None`` are not sent. ``extra`` is merged into the provider's request
    body untouched, for provider-specific fields metallm does not model.
    """

    model: str
    messages: list[Message]
    max_tokens: int | None = Field(default=None, ge=1)
    temperature: float | None = Field(default=None, ge=0)
    top_p: float | None = Field(default=None, ge=0, le=1)
    top_k: int | None = Field(default=None, ge=1)
    stop: str | list[str] | None = None
    n: int | None = Field(default=None, ge=1)
    seed: int | None = None
    frequency_penalty: float | None = None
    presence_penalty: float | None = None
    tools: list[Tool] | None = None
    tool_choice: str | dict[str, Any] | None = None
    response_format: ResponseFormat | dict[str, Any] | None = None
    reasoning_effort: Literal["minimal", "low", "medium", "high"] | str | None = None
    user: str | None = None
    metadata: dict[str, str] | None = None
    extra: dict[str, Any] = Field(default_factory=dict)

    def stop_sequences(self) -> list[str] | None:
        """``stop`` as a list, the form most providers take."""
        if self.stop is None:
            return None
        return [self.stop] if isinstance(self.stop, str) else list(self.stop)


class Usage(_Model):
    """Token counts, normalised: prompt counts cached input, completion counts reasoning."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0
    cached_tokens: int | None = None
    cache_write_tokens: int | None = None
    reasoning_tokens: int | None = None


class Choice(_Model):
    """One alternative answer of a response."""

    index: int = 0
    message: Message
    finish_reason: FinishReason | None = None


class ChatCompletionResponse(_Model):
    """A whole answer, from a plain call or accumulated from a stream."""

    id: str = ""
    object: str = "chat.completion"
    created: int = 0
    model: str = ""
    provider: str = ""
    choices: list[Choice] = Field(default_factory=list)
    usage: Usage | None = None
    system_fingerprint: str | None = None

    @property
    def content(self) -> str:
        """The first choice's text, the common case spelled short."""
        return self.choices[0].message.text() if self.choices else ""


class FunctionCallDelta(_Model):
    """A fragment of a streamed function call; ``arguments`` fragments concatenate."""

    name: str | None = None
    arguments: str | None = None


class ToolCallDelta(_Model):
    """A fragment of a streamed tool call, keyed by ``index`` within its choice."""

    index: int = 0
    id: str | None = None
    type: Literal["function"] | None = None
    function: FunctionCallDelta | None = None


class Delta(_Model):
    """What one chunk adds to a choice."""

    role: Role | None = None
    content: str | None = None
    reasoning_content: str | None = None
    tool_calls: list[ToolCallDelta] | None = None


class ChunkChoice(_Model):
    """One choice's share of a chunk."""

    index: int = 0
    delta: Delta = Field(default_factory=Delta)
    finish_reason: FinishReason | None = None


class ChatCompletionChunk(_Model):
    """One streamed piece; the last chunk of a stream carries ``usage`` when known."""

    id: str = ""
    object: str = "chat.completion.chunk"
    created: int = 0
    model: str = ""
    choices: list[ChunkChoice] = Field(default_factory=list)
    usage: Usage | None = None
    system_fingerprint: str | None = None

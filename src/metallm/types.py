"""The unified request and response types every provider speaks.

The shape is the OpenAI Chat Completions shape, which users already know; each provider codec
translates to and from it. Types are pydantic v2 models so that user input is validated at the
boundary, while parsers on hot paths build them with ``model_construct`` (their input is already
checked by the codec), which keeps per-chunk cost in the low microseconds.

The content parts live in ``_parts`` and the unknown-field rule every user-written type follows
in ``_input``; both are re-exported here, the one module users and codecs import.

This module and ``_parts`` do without ``from __future__ import annotations`` on purpose: with
it, every field annotation is a string that pydantic turns into a ``ForwardRef`` (a
``compile``) and evaluates when the class is built, about 130 of them at ``import metallm``
(2-3 ms of a cold start); written as objects, pydantic reads them as they are. A forward
reference (a method returning its own class) is quoted instead.
"""

import enum
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

from pydantic import ConfigDict, Field

from ._input import _Input, _Model
from ._input import reject_unknown_fields as reject_unknown_fields  # noqa: PLC0414 (re-export)
from ._parts import AUDIO_FORMATS as AUDIO_FORMATS  # noqa: PLC0414 (re-export)
from ._parts import DOCUMENT_MIME_TYPES as DOCUMENT_MIME_TYPES  # noqa: PLC0414 (re-export)
from ._parts import (
    AudioPart,
    CacheControl,
    ContentPart,
    DocumentPart,
    ImagePart,
    ImageURL,
    InputAudio,
    TextPart,
)

__all__ = [
    "AudioPart",
    "CacheControl",
    "ChatCompletionChunk",
    "ChatCompletionRequest",
    "ChatCompletionResponse",
    "Choice",
    "ChunkChoice",
    "ContentPart",
    "Cost",
    "Delta",
    "DocumentPart",
    "FinishReason",
    "FunctionCall",
    "FunctionCallDelta",
    "FunctionDefinition",
    "ImagePart",
    "ImageURL",
    "InputAudio",
    "Message",
    "ReasoningDelta",
    "ReasoningPart",
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


class FunctionCall(_Input):
    """The function a model asked to call; ``arguments`` is always JSON text."""

    name: str
    arguments: str = "{}"


class ToolCall(_Input):
    """One tool call of an assistant message; ``id`` ties the tool result back to it."""

    id: str
    type: Literal["function"] = "function"
    function: FunctionCall


class ReasoningPart(_Input):
    """One block of a model's reasoning as its provider issued it, kept to be sent back.

    Thinking models ask for their reasoning back on the next turn, signed, exactly as they
    issued it: Anthropic refuses a tool result after extended thinking without the signed
    ``thinking`` block, Bedrock likewise its ``reasoningContent``. A part holds the reasoning
    ``text``, its ``signature``, or the ``encrypted`` payload of a redacted block (Anthropic
    ``redacted_thinking`` data, Bedrock ``redactedContent``), and the ``provider`` (the codec's
    name) that issued it: a signature is only ever sent back to that provider; any other one
    drops the part (switching providers mid-conversation still works). Every value is JSON
    text, so conversation memory stores it byte-exact.
    """

    type: Literal["reasoning"] = "reasoning"
    text: str = ""
    signature: str | None = None
    encrypted: str | None = None
    provider: str | None = None


class Message(_Input):
    """One turn of a conversation.

    ``content`` is text or a list of parts (text, images, documents, audio). An assistant
    message may carry ``tool_calls``; a tool message answers one of them through
    ``tool_call_id``. ``reasoning_content`` holds a model's thinking, kept apart from the
    answer, as text; ``reasoning`` the same thinking as the signed blocks the provider issued
    (sent back to it on the next turn). ``provider_data`` is opaque, JSON-serialisable data a
    provider needs back, under its codec's name (Gemini keeps its ``thoughtSignature`` values
    there); metallm never sends one provider's data to another.
    ``cache_control`` marks a prompt-cache breakpoint after the whole message.
    """

    role: Role
    content: str | list[ContentPart] | None = None
    name: str | None = None
    tool_calls: list[ToolCall] | None = None
    tool_call_id: str | None = None
    reasoning_content: str | None = None
    reasoning: list[ReasoningPart] | None = None
    provider_data: dict[str, Any] | None = None
    cache_control: CacheControl | None = None

    def text(self) -> str:
        """The message's text parts joined, whatever form ``content`` has."""
        if self.content is None:
            return ""
        if isinstance(self.content, str):
            return self.content
        return "".join(p.text for p in self.content if isinstance(p, TextPart))


class FunctionDefinition(_Input):
    """A function the model may call, described by a JSON schema of its parameters."""

    name: str
    description: str | None = None
    parameters: dict[str, Any] | None = None
    strict: bool | None = None


class Tool(_Input):
    """A tool offered to the model; only function tools are portable across providers.

    ``cache_control`` marks a cache breakpoint after this tool's definition (tools come first
    in the cached prefix, so marking the last tool caches them all).
    """

    type: Literal["function"] = "function"
    function: FunctionDefinition
    cache_control: CacheControl | None = None


class ResponseFormat(_Input):
    """Ask for JSON output: ``json_object``, or ``json_schema`` with a schema to follow.

    A dict with keys this type does not know is kept as the raw wire-format value it is
    (``response_format: ResponseFormat | dict``), rather than losing those keys.
    """

    model_config = ConfigDict(populate_by_name=True, defer_build=True, extra="forbid")

    type: Literal["text", "json_object", "json_schema"]
    json_schema: dict[str, Any] | None = None


class ChatCompletionRequest(_Input):
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


@dataclass(frozen=True)
class Cost:
    """What one call cost, split by kind of token, as exact ``Decimal`` amounts.

    ``input`` is the uncached input, ``cache_read`` and ``cache_write`` the cached input read
    and written, ``output`` every output token (reasoning included); ``total`` is their sum
    (plus a per-request fee for the few models that have one). ``source`` is ``"local"`` for
    prices from the genai-prices data, ``"custom"`` for a client's own :class:`ModelPrice`.

    A frozen dataclass rather than a pydantic model: it is computed by metallm, never parsed
    from user input, and built on every call, where a plain dataclass costs a fraction of a
    model's construction; pydantic still serialises it as a field of the response.
    """

    input: Decimal
    output: Decimal
    cache_read: Decimal
    cache_write: Decimal
    total: Decimal
    currency: str = "USD"
    source: str = "local"

    def __add__(self, other: "Cost") -> "Cost":
        """The sum of two costs in one currency (budgets add up calls this way)."""
        if not isinstance(other, Cost):
            return NotImplemented
        if other.currency != self.currency:
            raise ValueError(f"cannot add a {other.currency} cost to a {self.currency} cost")
        return Cost(
            self.input + other.input,
            self.output + other.output,
            self.cache_read + other.cache_read,
            self.cache_write + other.cache_write,
            self.total + other.total,
            self.currency,
            self.source if self.source == other.source else "mixed",
        )


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
    service_tier: str | None = None
    cost: Cost | None = None
    """What the call cost (set by the client from ``usage``); None for a model without prices."""

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


class ReasoningDelta(_Model):
    """A fragment of a streamed reasoning block, keyed by ``index`` within its choice.

    Fragments of one index join into one :class:`ReasoningPart`: ``text`` and ``signature``
    concatenate (Anthropic streams a signature as ``signature_delta``), ``encrypted`` is whole.
    The text is also in the delta's ``reasoning_content``, the form most readers want.
    """

    index: int = 0
    text: str | None = None
    signature: str | None = None
    encrypted: str | None = None


class Delta(_Model):
    """What one chunk adds to a choice.

    ``reasoning`` and ``provider_data`` carry what the next turn must send back (see
    :class:`Message`); ``provider_data`` fragments merge key by key into the message's.
    """

    role: Role | None = None
    content: str | None = None
    reasoning_content: str | None = None
    tool_calls: list[ToolCallDelta] | None = None
    reasoning: list[ReasoningDelta] | None = None
    provider_data: dict[str, Any] | None = None


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
    service_tier: str | None = None

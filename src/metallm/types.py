"""The unified request and response types every provider speaks.

The shape is the OpenAI Chat Completions shape, which users already know; each provider codec
translates to and from it. Types are pydantic v2 models so that user input is validated at the
boundary, while parsers on hot paths build them with ``model_construct`` (their input is already
checked by the codec), which keeps per-chunk cost in the low microseconds.
"""

from __future__ import annotations

import base64
import binascii
import difflib
import enum
from typing import Any, Literal, get_args, get_origin

from pydantic import BaseModel, ConfigDict, Field

from .errors import InvalidRequestError

__all__ = [
    "AudioPart",
    "CacheControl",
    "ChatCompletionChunk",
    "ChatCompletionRequest",
    "ChatCompletionResponse",
    "Choice",
    "ChunkChoice",
    "ContentPart",
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


class _Model(BaseModel):
    model_config = ConfigDict(populate_by_name=True, defer_build=True)


class _Input(_Model):
    """A type users write: an unknown field is an :class:`~metallm.InvalidRequestError` naming
    the closest known one (``temprature=``, a message's ``contnet``), never silently dropped.

    The check runs when a user builds the object (``Message(...)``) and, through
    :func:`reject_unknown_fields`, on the dicts and keyword arguments a request is made of;
    ``model_validate`` of a provider's reply stays lenient (wire formats grow fields).
    """

    def __init__(self, /, **data: Any) -> None:
        reject_unknown_fields(type(self), data)
        super().__init__(**data)

    # Pydantic calls a model's own ``__init__`` for nested values too unless it is marked as
    # its base one; marked, nested wire data (``Response.model_validate(reply)``) stays lenient
    # while ``Message(...)`` written by a user is checked (tests/test_validation.py pins both).
    __init__.__pydantic_base_init__ = True  # type: ignore[attr-defined]


_SHAPES: dict[type[_Input], tuple[frozenset[str], dict[str, tuple[type[_Input], ...]]]] = {}


def _shape(cls: type[_Input]) -> tuple[frozenset[str], dict[str, tuple[type[_Input], ...]]]:
    """A type's field names, and the fields holding input types (none that take a free-form
    dict: ``response_format={...}`` may be a raw wire-format value). Computed once per type."""
    shape = _SHAPES.get(cls)
    if shape is None:
        nested: dict[str, tuple[type[_Input], ...]] = {}
        for name, info in cls.model_fields.items():
            found: list[type[_Input]] = []
            stack = [info.annotation]
            while stack:
                annotation = stack.pop()
                if get_origin(annotation) is dict or annotation is dict:
                    found = []
                    break
                if isinstance(annotation, type) and issubclass(annotation, _Input):
                    found.append(annotation)
                else:
                    stack.extend(get_args(annotation))
            if found:
                nested[name] = tuple(found)
        shape = _SHAPES[cls] = (frozenset(cls.model_fields), nested)
    return shape


def _pick(candidates: tuple[type[_Input], ...], item: dict[str, Any]) -> type[_Input] | None:
    if len(candidates) == 1:
        return candidates[0]
    for candidate in candidates:  # content parts: told apart by their "type"
        field = candidate.model_fields.get("type")
        if field is not None and field.default == item.get("type"):
            return candidate
    return None


def reject_unknown_fields(cls: type[_Input], data: dict[str, Any], where: str = "") -> None:
    """Raise :class:`~metallm.InvalidRequestError` for the first unknown key in ``data``
    (nested messages, parts and tools included), naming the closest known field.

    On the hot path (every call made with keyword arguments) this is a set comparison per
    dict: the slow naming work runs only once something is unknown.
    """
    known, nested = _shape(cls)
    if not known.issuperset(data):
        key = next(k for k in data if k not in known)
        close = difflib.get_close_matches(str(key), list(cls.model_fields), n=1, cutoff=0.6)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise InvalidRequestError(
            f"unknown field {where + str(key)!r} of {cls.__name__}{hint} (known: "
            f"{', '.join(cls.model_fields)}; provider-specific fields go in extra=)"
        )
    for key, candidates in nested.items():
        value = data.get(key)
        if type(value) is dict:
            target = _pick(candidates, value)
            if target is not None:
                reject_unknown_fields(target, value, f"{where}{key}.")
        elif type(value) is list:
            for i, item in enumerate(value):
                if type(item) is dict and (target := _pick(candidates, item)) is not None:
                    reject_unknown_fields(target, item, f"{where}{key}[{i}].")


class CacheControl(_Input):
    """A prompt-cache breakpoint: the prompt up to and including the part, message or tool
    that carries it is worth caching.

    One portable spelling for what Anthropic calls ``cache_control`` and Bedrock a
    ``cachePoint``; providers that cache on their own (OpenAI, xAI, Gemini, Ollama) ignore it,
    so the same request still works there. ``ttl`` is ``"5m"`` or ``"1h"``; ``None`` leaves
    the provider's default (5 minutes). A TTL no provider offers is refused before any I/O.
    """

    type: Literal["ephemeral"] = "ephemeral"
    ttl: str | None = None


class TextPart(_Input):
    """A piece of text inside a multi-part message; ``cache_control`` marks a cache breakpoint
    after it."""

    type: Literal["text"] = "text"
    text: str
    cache_control: CacheControl | None = None


class ImageURL(_Input):
    """Where an image is: an ``https://`` URL or a ``data:`` URL with base64 content."""

    url: str
    detail: Literal["auto", "low", "high"] | None = None


class ImagePart(_Input):
    """An image input, by URL or inline base64 data (``ImagePart.from_base64``);
    ``cache_control`` marks a cache breakpoint after it."""

    type: Literal["image_url"] = "image_url"
    image_url: ImageURL
    cache_control: CacheControl | None = None

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


DOCUMENT_MIME_TYPES = ("application/pdf", "text/plain")
"""The document types a :class:`DocumentPart` may hold: the two every document-taking provider
reads (others, such as Word files, are not portable, so they are refused up front)."""

AUDIO_FORMATS: dict[str, str] = {
    "wav": "audio/wav", "mp3": "audio/mp3", "aiff": "audio/aiff", "aac": "audio/aac",
    "ogg": "audio/ogg", "flac": "audio/flac", "opus": "audio/opus", "m4a": "audio/mp4",
    "mp4": "audio/mp4", "mpeg": "audio/mpeg", "mpga": "audio/mpeg", "webm": "audio/webm",
    "mkv": "audio/x-matroska", "mka": "audio/x-matroska", "x-aac": "audio/aac",
    "pcm": "audio/pcm",
}  # fmt: skip
"""Audio format -> MIME type, for every format a provider documents: OpenAI's ``wav``/``mp3``,
Gemini's WAV, MP3, AIFF, AAC, OGG and FLAC (``audio/wav``, ``audio/mp3``, ... as Gemini spells
them), and Bedrock Converse's ``AudioBlock`` list. A format outside it is an input error."""


class DocumentPart(_Input):
    """A document input: a PDF or plain text, inline (base64 ``data``) or by ``url``.

    Plain text is base64 too (``DocumentPart.from_text`` encodes it), so one field holds either
    kind and the bytes reach providers that take files exactly as given. ``url`` is an
    ``https://`` URL or a provider's own scheme (``gs://`` for Gemini on Vertex, ``s3://`` for
    Bedrock). ``name`` is the file name or title providers show the model.
    """

    type: Literal["document"] = "document"
    data: str | None = None
    url: str | None = None
    mime_type: str = "application/pdf"
    name: str | None = None
    cache_control: CacheControl | None = None

    @classmethod
    def from_base64(
        cls, data: str, mime_type: str = "application/pdf", name: str | None = None
    ) -> DocumentPart:
        """A document sent inline; ``data`` is base64 text without a ``data:`` prefix."""
        return cls(data=data, mime_type=mime_type, name=name)

    @classmethod
    def from_url(
        cls, url: str, mime_type: str = "application/pdf", name: str | None = None
    ) -> DocumentPart:
        """A document the provider fetches itself (support differs: see the README table)."""
        return cls(url=url, mime_type=mime_type, name=name)

    @classmethod
    def from_text(cls, text: str, name: str | None = None) -> DocumentPart:
        """A plain-text document (``text/plain``), its UTF-8 bytes base64-encoded."""
        data = base64.b64encode(text.encode("utf-8")).decode("ascii")
        return cls(data=data, mime_type="text/plain", name=name)

    def text(self) -> str:
        """The text of an inline ``text/plain`` document, decoded back from base64 (UTF-8);
        providers that take plain text rather than bytes (Anthropic) send this."""
        if self.data is None or self.mime_type != "text/plain":
            raise InvalidRequestError("only an inline text/plain DocumentPart has text")
        try:
            return base64.b64decode(self.data, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            raise InvalidRequestError(
                "a text/plain DocumentPart's data must be base64 of UTF-8 text"
            ) from None


class InputAudio(_Input):
    """Audio bytes (base64, no ``data:`` prefix) and their format (a key of AUDIO_FORMATS)."""

    data: str
    format: str


class AudioPart(_Input):
    """An audio input, in the OpenAI Chat Completions shape (``input_audio``)."""

    type: Literal["input_audio"] = "input_audio"
    input_audio: InputAudio
    cache_control: CacheControl | None = None

    @classmethod
    def from_base64(cls, data: str, format: str) -> AudioPart:
        """Audio sent inline; ``format`` is ``"wav"``, ``"mp3"``, ... (see AUDIO_FORMATS)."""
        return cls(input_audio=InputAudio(data=data, format=format))

    def mime_type(self) -> str:
        """The MIME type of the audio's format (``audio/wav`` for ``wav``), as Gemini and the
        telemetry parts want it; ``application/octet-stream`` for a format not in the table."""
        return AUDIO_FORMATS.get(self.input_audio.format, "application/octet-stream")


ContentPart = TextPart | ImagePart | DocumentPart | AudioPart


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

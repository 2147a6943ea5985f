"""The unified request and response types every provider speaks.

The shape is the OpenAI Chat Completions shape, which users already know; each provider codec
translates to and from it. Types are pydantic v2 models so that user input is validated at the
boundary, while parsers on hot paths build them with ``model_construct`` (their input is already
checked by the codec), which keeps per-chunk cost in the low microseconds.
"""

from __future__ import annotations

import difflib
import enum
from typing import Any, Literal, get_args, get_origin

from pydantic import BaseModel, ConfigDict, Field

from .errors import InvalidRequestError

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


class TextPart(_Input):
    """A piece of text inside a multi-part message."""

    type: Literal["text"] = "text"
    text: str


class ImageURL(_Input):
    """Where an image is: an ``https://`` URL or a ``data:`` URL with base64 content."""

    url: str
    detail: Literal["auto", "low", "high"] | None = None


class ImagePart(_Input):
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


class FunctionCall(_Input):
    """The function a model asked to call; ``arguments`` is always JSON text."""

    name: str
    arguments: str = "{}"


class ToolCall(_Input):
    """One tool call of an assistant message; ``id`` ties the tool result back to it."""

    id: str
    type: Literal["function"] = "function"
    function: FunctionCall


class Message(_Input):
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


class FunctionDefinition(_Input):
    """A function the model may call, described by a JSON schema of its parameters."""

    name: str
    description: str | None = None
    parameters: dict[str, Any] | None = None
    strict: bool | None = None


class Tool(_Input):
    """A tool offered to the model; only function tools are portable across providers."""

    type: Literal["function"] = "function"
    function: FunctionDefinition


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
    service_tier: str | None = None

"""The unified embeddings types: one request shape for every provider, one response shape back.

The shape is OpenAI's ``/v1/embeddings``, which users already know: ``input`` is one text or a
list of texts, and the reply holds one vector per input, in input order. Each provider codec
translates to its own wire format (Gemini ``batchEmbedContents``, Ollama ``/api/embed``,
Bedrock ``InvokeModel`` ...). A request is checked here, before any I/O (an empty list, an
empty or non-string input, ``dimensions < 1`` and unknown fields are refused, naming the
field), and a reply is checked by :func:`check_embeddings_reply` (as many vectors as inputs, all
of one length), so a caller never gets a partial or ragged result.

Replies are built with the fast constructor (:func:`metallm.provider.construct`): a
2,048 x 1,536 reply holds three million floats, and validating each one would cost more than
parsing the body.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ._input import validation_summary
from .errors import InvalidRequestError, ResponseValidationError
from .types import Cost

__all__ = [
    "Embedding",
    "EmbeddingsRequest",
    "EmbeddingsResponse",
    "EmbeddingsUsage",
    "check_embeddings_reply",
    "coerce_embeddings_request",
]

EncodingFormat = Literal["float", "base64"]


class EmbeddingsRequest(BaseModel):
    """What to embed. ``input`` is one text or a list of texts (at least one, none empty).

    ``dimensions`` asks for shorter vectors where the model supports it (OpenAI
    ``dimensions``, Gemini ``outputDimensionality``, Titan v2 ``dimensions``);
    ``encoding_format`` is how the vectors travel on the wire (OpenAI: metallm asks for
    ``base64`` by default, as the official SDK does, and always returns floats); ``user`` is
    OpenAI's end-user id; ``extra`` passes provider-specific fields through (Gemini
    ``task_type``/``title``, Cohere ``input_type``, or raw body fields).
    """

    model_config = ConfigDict(extra="forbid", defer_build=True)

    model: str
    input: str | list[str]
    dimensions: int | None = None
    encoding_format: EncodingFormat | None = None
    user: str | None = None
    extra: dict[str, Any] = Field(default_factory=dict)

    @field_validator("input", mode="before")
    @classmethod
    def _strings_only(cls, value: Any) -> Any:
        if isinstance(value, tuple):
            value = list(value)
        if isinstance(value, list):
            for i, item in enumerate(value):
                if not isinstance(item, str):
                    raise ValueError(f"input[{i}] is a {type(item).__name__}, not a string")
        elif not isinstance(value, str):
            raise ValueError(f"input is a {type(value).__name__}: pass a string or a list of them")
        return value

    @property
    def inputs(self) -> list[str]:
        """The texts to embed, as a list (one text becomes a list of one)."""
        return [self.input] if isinstance(self.input, str) else self.input


class Embedding(BaseModel):
    """One vector; ``index`` is its input's position in the request."""

    model_config = ConfigDict(defer_build=True)

    index: int
    embedding: list[float]
    object: str = "embedding"


class EmbeddingsUsage(BaseModel):
    """Tokens the provider counted for the inputs (0 when it reports none)."""

    model_config = ConfigDict(defer_build=True)

    prompt_tokens: int = 0
    total_tokens: int = 0


class EmbeddingsResponse(BaseModel):
    """The vectors, one per input and in input order, with the model and usage."""

    model_config = ConfigDict(defer_build=True)

    model: str
    provider: str = ""
    data: list[Embedding]
    usage: EmbeddingsUsage = Field(default_factory=EmbeddingsUsage)
    object: str = "list"
    cost: Cost | None = None
    """What the call cost (set by the client from ``usage``); None for a model without prices."""

    @property
    def vectors(self) -> list[list[float]]:
        """The bare vectors, in input order."""
        return [item.embedding for item in self.data]

    @property
    def dimensions(self) -> int:
        """The length of the vectors (0 when there are none)."""
        return len(self.data[0].embedding) if self.data else 0


def coerce_embeddings_request(
    request: EmbeddingsRequest | Mapping[str, Any] | None, overrides: Mapping[str, Any]
) -> EmbeddingsRequest:
    """A checked request from a request object, a dict and/or keyword arguments."""
    try:
        if request is None:
            req = EmbeddingsRequest.model_validate(dict(overrides))
        elif isinstance(request, EmbeddingsRequest):
            req = request
            if overrides:
                req = EmbeddingsRequest.model_validate({**dict(request), **overrides})
        elif isinstance(request, Mapping):
            req = EmbeddingsRequest.model_validate({**request, **overrides})
        else:
            raise InvalidRequestError(
                f"expected an EmbeddingsRequest or a dict, got {type(request).__name__}"
            )
    except ValidationError as exc:
        summary = validation_summary(exc, EmbeddingsRequest.model_fields)
        raise InvalidRequestError(f"invalid embeddings request: {summary}") from None
    if not req.model:
        raise InvalidRequestError("model is empty: name the embedding model to use")
    inputs = req.inputs
    if not inputs:
        raise InvalidRequestError("input is an empty list: pass at least one text")
    for i, text in enumerate(inputs):
        if not text:
            where = "input" if isinstance(req.input, str) else f"input[{i}]"
            raise InvalidRequestError(f"{where} is an empty string: every input needs text")
    if req.dimensions is not None and req.dimensions < 1:
        raise InvalidRequestError(f"dimensions must be >= 1, got {req.dimensions}")
    return req


def check_embeddings_reply(
    response: EmbeddingsResponse, expected: int, provider: str
) -> EmbeddingsResponse:
    """``response`` if it holds ``expected`` vectors of one length, in order; else raise.

    Vectors are put in index order first (providers answer in order, but the index is what
    the wire format promises).
    """
    data = response.data
    if len(data) != expected:
        raise ResponseValidationError(
            f"embeddings reply has {len(data)} vectors for {expected} inputs", provider=provider
        )
    if any(item.index != i for i, item in enumerate(data)):
        data.sort(key=lambda item: item.index)
        if [item.index for item in data] != list(range(expected)):
            raise ResponseValidationError(
                f"embeddings reply indexes {[item.index for item in data][:10]} do not cover "
                f"0..{expected - 1}",
                provider=provider,
            )
    if data:
        size = len(data[0].embedding)
        for item in data:
            if len(item.embedding) != size:
                raise ResponseValidationError(
                    f"embeddings reply has vectors of differing length ({size} and "
                    f"{len(item.embedding)}, vector {item.index})",
                    provider=provider,
                )
    return response

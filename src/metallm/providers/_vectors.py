"""Float vectors out of decoded embeddings replies, and the fast response builder.

Shared by the embeddings codecs of OpenAI/xAI, Gemini and Ollama (Bedrock keeps to the public
interface and has its own few lines): every wire format ends in lists of numbers, or OpenAI's
base64 little-endian float32, and a 2,048 x 1,536 reply holds three million of them. So the
checks here are per vector and run in C (``set(map(type, vector))``, ``array.frombytes``),
never per float in Python or pydantic, and the models are built with the kit's fast
constructor (:func:`metallm.provider.constructor`).

A JSON integer in a vector (Go servers such as Ollama write ``0`` for a zero float32) becomes
a float, so a response always holds floats; anything else (strings, nulls, booleans, nested
lists, an empty vector) is refused and the caller raises a ``ResponseValidationError``.
"""

from __future__ import annotations

import base64
import binascii
import sys
from array import array
from collections.abc import Callable
from typing import Any

from ..embeddings import Embedding, EmbeddingsRequest, EmbeddingsResponse, EmbeddingsUsage
from ..errors import InvalidRequestError, ResponseValidationError
from ..provider import HTTPResponse, constructor, invalid_reply, json_object

__all__ = [
    "base64_vector",
    "check_batch",
    "count",
    "embeddings_response",
    "float_vector",
    "model_input_body",
    "reply_list",
]

_FLOAT_ONLY = {float}
_NUMBERS = {float, int}
_BIG_ENDIAN = sys.byteorder == "big"
_embedding = constructor(Embedding)
_usage = constructor(EmbeddingsUsage)
_response = constructor(EmbeddingsResponse)


def check_batch(provider: str, inputs: int, limit: int, taker: str = "the API") -> None:
    """Refuse one request holding more inputs than ``taker`` takes (the client splits lists
    by the codec's limit, so this guards direct codec use), before any I/O."""
    if inputs > limit:
        raise InvalidRequestError(
            f"{provider}: {inputs} embeddings inputs in one request; {taker} takes at most "
            f"{limit} (split the list)"
        )


def reply_list(
    provider: str, response: HTTPResponse, secrets: tuple[str, ...], key: str
) -> tuple[dict[str, Any], list[Any], Callable[[str], ResponseValidationError]]:
    """The reply's JSON object, its ``key`` list, and the maker of errors about the reply."""
    invalid = invalid_reply(provider, response, secrets)
    body = json_object(provider, response, secrets, "embeddings reply")
    items = body.get(key)
    if type(items) is not list:
        raise invalid(f"embeddings reply has no {key!r} list")
    return body, items, invalid


def model_input_body(request: EmbeddingsRequest) -> dict[str, Any]:
    """``{"model", "input", ("dimensions")}``: the body OpenAI's and Ollama's APIs share."""
    body: dict[str, Any] = {"model": request.model, "input": request.input}
    if request.dimensions is not None:
        body["dimensions"] = request.dimensions
    return body


def float_vector(value: Any) -> list[float] | None:
    """``value`` as a non-empty list of floats (integers converted), else None."""
    if type(value) is not list or not value:
        return None
    kinds = set(map(type, value))
    if kinds == _FLOAT_ONLY:
        return value
    if kinds <= _NUMBERS:
        return [float(x) for x in value]
    return None


def base64_vector(text: str) -> list[float] | None:
    """Base64 of little-endian float32 values (OpenAI ``encoding_format="base64"``) as floats.

    None when the text is not strict base64 or does not hold a whole, non-zero number of
    float32 values.
    """
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None
    if not raw or len(raw) % 4:
        return None
    values = array("f")
    values.frombytes(raw)
    if _BIG_ENDIAN:
        values.byteswap()
    return values.tolist()


def count(value: Any) -> int | None:
    """A token count: a non-negative JSON integer; None for anything else."""
    return value if type(value) is int and value >= 0 else None


def embeddings_response(
    model: str,
    provider: str,
    vectors: list[tuple[int, list[float]]],
    prompt_tokens: int,
    total_tokens: int,
) -> EmbeddingsResponse:
    """An :class:`EmbeddingsResponse` of already-checked ``(index, vector)`` pairs, unvalidated.

    Pass the result to :func:`metallm.embeddings.check_embeddings_reply`, which checks the
    count, the indexes and the lengths.
    """
    data = [_embedding({"index": i, "embedding": v, "object": "embedding"}) for i, v in vectors]
    usage = _usage({"prompt_tokens": prompt_tokens, "total_tokens": total_tokens})
    return _response(
        {
            "model": model,
            "provider": provider,
            "data": data,
            "usage": usage,
            "object": "list",
            "cost": None,  # priced by the client, from the usage
        }
    )

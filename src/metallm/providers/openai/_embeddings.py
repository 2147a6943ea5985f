"""OpenAI's ``POST {base_url}/embeddings`` wire format: the request body and the reply parser.

Followed: OpenAI's API reference, "Create embeddings"
(https://developers.openai.com/api/reference/resources/embeddings): body ``model``, ``input``
(a string or an array of strings; "any array must be 2048 dimensions or less", and at most
300,000 tokens summed over the inputs), optional ``dimensions`` (``text-embedding-3`` and
later), ``encoding_format`` (``float`` or ``base64``) and ``user``; the reply is
``{"object": "list", "data": [{"object": "embedding", "index", "embedding"}], "model",
"usage": {"prompt_tokens", "total_tokens"}}``. xAI documents the same endpoint and fields
(``POST https://api.x.ai/v1/embeddings``), so :class:`~metallm.providers.xai.XAIProvider`
inherits all of it.

metallm asks for ``base64`` unless the request says ``encoding_format="float"``, as the official
SDKs do: the reply is about a third the size of decimal floats. Either way the caller gets
floats: a base64 vector is decoded as little-endian float32 (``array``), with no per-float
work in Python. ``request.extra`` is merged into the body last, as for chat (a ``None`` value
removes a field, e.g. ``{"encoding_format": None}`` for a server that rejects it; the parser
then reads float vectors).
"""

from __future__ import annotations

from typing import Any

import metallm.providers._vectors as vec

from ...embeddings import EmbeddingsRequest, EmbeddingsResponse, check_embeddings_reply
from ...provider import HTTPResponse, merge_extra

__all__ = ["MAX_EMBEDDINGS_INPUTS", "build_embeddings_body", "parse_embeddings_reply"]

MAX_EMBEDDINGS_INPUTS = 2048
"""Inputs per request: OpenAI's reference caps the ``input`` array at 2,048 entries."""


def build_embeddings_body(
    request: EmbeddingsRequest, *, provider: str, limit: int = MAX_EMBEDDINGS_INPUTS
) -> dict[str, Any]:
    """The JSON body for one batch; more than ``limit`` inputs raise before any I/O."""
    vec.check_batch(provider, len(request.inputs), limit)
    body = vec.model_input_body(request)
    if request.user is not None:
        body["user"] = request.user
    body["encoding_format"] = request.encoding_format or "base64"
    return merge_extra(body, request.extra)


def parse_embeddings_reply(
    provider: str, response: HTTPResponse, request: EmbeddingsRequest, secrets: tuple[str, ...]
) -> EmbeddingsResponse:
    """A ``/embeddings`` success reply as floats, in input order; garbled replies raise."""
    body, data, invalid = vec.reply_list(provider, response, secrets, "data")
    vectors: list[tuple[int, list[float]]] = []
    for position, item in enumerate(data):
        if type(item) is not dict:
            raise invalid(f"embeddings reply data[{position}] is not an object")
        index = item.get("index", position)
        if type(index) is not int:
            raise invalid(f"embeddings reply data[{position}].index is not an integer")
        raw = item.get("embedding")
        vector = vec.base64_vector(raw) if type(raw) is str else vec.float_vector(raw)
        if vector is None:
            raise invalid(
                f"embeddings reply data[{position}].embedding is neither a list of numbers "
                "nor base64 float32"
            )
        vectors.append((index, vector))
    usage = body.get("usage")
    prompt = total = 0
    if usage is not None:
        if type(usage) is not dict:
            raise invalid("embeddings reply 'usage' is not an object")
        prompt_n = vec.count(usage.get("prompt_tokens", 0))
        total_n = vec.count(usage.get("total_tokens", prompt_n))
        if prompt_n is None or total_n is None:
            raise invalid("embeddings reply usage counts are not non-negative integers")
        prompt, total = prompt_n, total_n
    model = body.get("model")
    result = vec.embeddings_response(
        model if type(model) is str and model else request.model, provider, vectors, prompt, total
    )
    return check_embeddings_reply(result, len(request.inputs), provider)

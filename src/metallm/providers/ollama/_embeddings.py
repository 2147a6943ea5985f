"""Ollama's ``POST {base_url}/api/embed`` wire format: the request body and the reply parser.

Followed: Ollama's API reference, "Generate Embeddings" (https://docs.ollama.com/api/embed,
``docs/api.md`` in ollama/ollama): body ``model``, ``input`` (a string or a list of strings),
optional ``truncate`` (default true: cut inputs to the context length; false: error instead),
``options`` (Modelfile parameters), ``keep_alive`` and ``dimensions``; the reply is
``{"model", "embeddings": [[...], ...], "total_duration", "load_duration",
"prompt_eval_count"}``, one vector per input in input order. The older ``/api/embeddings``
(one ``prompt``, one ``embedding``) is superseded and not used.

``dimensions`` is sent as is; ``truncate``, ``options`` and ``keep_alive`` ride in
``request.extra``, which is merged into the body last (a ``None`` value removes a field).
Usage is ``prompt_eval_count`` (0 when absent) for both counts. ``user`` has no Ollama
equivalent and raises ``UnsupportedFeatureError``; ``encoding_format`` only shapes OpenAI's
wire (vectors always come back as floats), so it is not sent.

The reference documents no limit on the number of inputs per request; metallm sends at most
2,048 (OpenAI's figure), which keeps one request's body and the server's batch reasonable.
"""

from __future__ import annotations

from typing import Any

import metallm.providers._vectors as vec

from ...embeddings import EmbeddingsRequest, EmbeddingsResponse, check_embeddings_reply
from ...errors import UnsupportedFeatureError
from ...provider import HTTPResponse, merge_extra

__all__ = ["MAX_EMBEDDINGS_INPUTS", "build_embeddings_body", "parse_embeddings_reply"]

MAX_EMBEDDINGS_INPUTS = 2048
"""Inputs per request; Ollama documents no limit, so this is metallm's choice."""


def build_embeddings_body(request: EmbeddingsRequest, *, provider: str) -> dict[str, Any]:
    """The JSON body for one batch; unsupported fields and oversized batches raise first."""
    if request.user is not None:
        raise UnsupportedFeatureError(provider, "user on embeddings requests")
    vec.check_batch(provider, len(request.inputs), MAX_EMBEDDINGS_INPUTS, "metallm")
    body = vec.model_input_body(request)
    return merge_extra(body, request.extra)


def parse_embeddings_reply(
    provider: str, response: HTTPResponse, request: EmbeddingsRequest, secrets: tuple[str, ...]
) -> EmbeddingsResponse:
    """An ``/api/embed`` success reply as floats in input order; garbled replies raise."""
    body, items, invalid = vec.reply_list(provider, response, secrets, "embeddings")
    found = [vec.float_vector(item) for item in items]
    if None in found:
        bad = found.index(None)
        raise invalid(f"embeddings reply embeddings[{bad}] is not a list of numbers")
    vectors = [(i, vector) for i, vector in enumerate(found) if vector is not None]
    evaluated = body.get("prompt_eval_count")
    tokens = 0 if evaluated is None else vec.count(evaluated)
    if tokens is None:
        raise invalid("embeddings reply 'prompt_eval_count' is not a non-negative integer")
    model = body.get("model")
    result = vec.embeddings_response(
        model if type(model) is str and model else request.model, provider, vectors, tokens, tokens
    )
    return check_embeddings_reply(result, len(request.inputs), provider)

"""Bedrock embeddings over ``InvokeModel``: the model families' request bodies and one parser.

``POST {endpoint}/model/{modelId}/invoke`` takes the model's own JSON, so the body depends on
the family, read from the model id (a regional inference-profile prefix such as ``us.`` and
ARNs are accepted). Followed, the Amazon Bedrock user guide's model parameter pages:

* Amazon Titan Text Embeddings (``amazon.titan-embed-text-v2:0``, ``...-v1``;
  https://docs.aws.amazon.com/bedrock/latest/userguide/model-parameters-titan-embed-text.html):
  one text per request, ``{"inputText", "dimensions" (v2: 1024, 512, 256), "normalize" (v2),
  "embeddingTypes" (v2)}`` answering ``{"embedding": [...], "inputTextTokenCount",
  "embeddingsByType"}``. Limit: 1 input.
* Cohere Embed v3 and v4 (``cohere.embed-english-v3``, ``cohere.embed-multilingual-v3``,
  ``cohere.embed-v4:0``; model-parameters-embed-v3.html / -v4.html): ``{"texts": [...],
  "input_type", "truncate", "embedding_types"}`` (v4 also ``output_dimension``: 256, 512, 1024,
  1536) answering ``{"embeddings": [[...]] or {"float": [[...]], ...}, "id", "texts",
  "response_type"}``. Limit: 96 texts per call.

Unified fields: ``dimensions`` becomes Titan v2 ``dimensions`` or Cohere v4
``output_dimension`` (other models raise ``UnsupportedFeatureError``); Cohere's required
``input_type`` is ``search_document`` unless ``extra`` says otherwise; ``request.extra`` is
merged into the body last (``normalize``, ``truncate``, ``embedding_types``, ...; ``None``
removes a field). ``embedding_types`` without ``float`` is refused (metallm returns float
vectors), and so is ``user``. Usage: Titan's ``inputTextTokenCount``; Cohere's body has no
count, so the ``x-amzn-bedrock-input-token-count`` header Bedrock adds to InvokeModel replies
is read, else 0. Other model families raise ``UnsupportedFeatureError`` before any I/O, naming
the supported ones.

Like the rest of this provider it uses public names only (``check_embeddings_reply`` from the
public :mod:`metallm.embeddings`, which is not re-exported by ``metallm``); replies are built
with ``model_construct`` (a batch holds at most 96 vectors, so speed is not at stake here).
"""

from __future__ import annotations

from typing import Any

from metallm.embeddings import (
    Embedding,
    EmbeddingsRequest,
    EmbeddingsResponse,
    EmbeddingsUsage,
    check_embeddings_reply,
)
from metallm.errors import InvalidRequestError, UnsupportedFeatureError
from metallm.provider import (
    HTTPResponse,
    invalid_reply,
    json_object,
    merge_extra,
)

__all__ = [
    "COHERE_LIMIT",
    "SUPPORTED",
    "TITAN_LIMIT",
    "batch_limit",
    "build_embeddings_body",
    "family",
    "parse_embeddings_reply",
]

TITAN_LIMIT = 1
COHERE_LIMIT = 96
SUPPORTED = (
    "Amazon Titan Text Embeddings (amazon.titan-embed-text-*), Cohere Embed (cohere.embed-*)"
)
_TOKEN_HEADER = "x-amzn-bedrock-input-token-count"


def _model_id(model: str) -> str:
    return model.rsplit("/", 1)[-1]  # an ARN ends in ``.../<model or profile id>``


def family(model: str) -> str | None:
    """``"titan"``, ``"cohere"``, or None for a model family without embeddings support."""
    model_id = _model_id(model)
    if "amazon.titan-embed-text-" in model_id:
        return "titan"
    if "cohere.embed-" in model_id:
        return "cohere"
    return None


def batch_limit(model: str) -> int:
    """Inputs per request for ``model``: Titan 1, Cohere 96 (1 for other families)."""
    return COHERE_LIMIT if family(model) == "cohere" else TITAN_LIMIT


def build_embeddings_body(request: EmbeddingsRequest, *, provider: str) -> dict[str, Any]:
    """The InvokeModel JSON body for one batch; what the model cannot take raises first."""
    kind = family(request.model)
    if kind is None:
        raise UnsupportedFeatureError(
            provider, f"embeddings with model {request.model!r} (supported: {SUPPORTED})"
        )
    if request.user is not None:
        raise UnsupportedFeatureError(provider, "user on embeddings requests")
    inputs = request.inputs
    limit = batch_limit(request.model)
    if len(inputs) > limit:
        raise InvalidRequestError(
            f"{provider}: {len(inputs)} embeddings inputs in one request; {request.model} takes "
            f"at most {limit} (split the list)"
        )
    model_id = _model_id(request.model)
    body: dict[str, Any]
    if kind == "titan":
        body = {"inputText": inputs[0]}
        if request.dimensions is not None:
            if "titan-embed-text-v1" in model_id:
                raise UnsupportedFeatureError(provider, f"dimensions with {request.model}")
            body["dimensions"] = request.dimensions
    else:
        body = {"texts": inputs, "input_type": "search_document"}
        if request.dimensions is not None:
            if "cohere.embed-v4" not in model_id:
                raise UnsupportedFeatureError(provider, f"dimensions with {request.model}")
            body["output_dimension"] = request.dimensions
        types = request.extra.get("embedding_types")
        if types is not None and (not isinstance(types, list) or "float" not in types):
            raise UnsupportedFeatureError(
                provider, "embedding_types without 'float' (metallm returns float vectors)"
            )
    merge_extra(body, request.extra)
    return body


def _vector(value: Any) -> list[float] | None:
    if type(value) is not list or not value:
        return None
    kinds = set(map(type, value))
    if kinds == {float}:
        return value
    return [float(x) for x in value] if kinds <= {float, int} else None


def parse_embeddings_reply(
    provider: str, response: HTTPResponse, request: EmbeddingsRequest, secrets: tuple[str, ...]
) -> EmbeddingsResponse:
    """A Titan or Cohere InvokeModel success reply as floats in input order; garbled raises."""
    invalid = invalid_reply(provider, response, secrets)

    body = json_object(provider, response, secrets, "embeddings reply")
    tokens: Any
    if "embedding" in body:  # Titan
        items: Any = [body["embedding"]]
        tokens = body.get("inputTextTokenCount", 0)
    elif "embeddings" in body:  # Cohere: a list of vectors, or vectors by type
        items = body["embeddings"]
        if type(items) is dict:
            items = items.get("float")
        if type(items) is not list:
            raise invalid("embeddings reply has no list of float embeddings")
        header = response.headers.get(_TOKEN_HEADER, "0")
        tokens = int(header) if header.isdigit() else 0
    else:
        raise invalid("embeddings reply has neither 'embedding' (Titan) nor 'embeddings' (Cohere)")
    if type(tokens) is not int or tokens < 0:
        raise invalid("embeddings reply token count is not a non-negative integer")
    data = []
    for i, item in enumerate(items):
        vector = _vector(item)
        if vector is None:
            raise invalid(f"embeddings reply vector {i} is not a list of numbers")
        data.append(Embedding.model_construct(index=i, embedding=vector, object="embedding"))
    result = EmbeddingsResponse.model_construct(
        model=request.model,
        provider=provider,
        data=data,
        usage=EmbeddingsUsage.model_construct(prompt_tokens=tokens, total_tokens=tokens),
        object="list",
    )
    return check_embeddings_reply(result, len(request.inputs), provider)

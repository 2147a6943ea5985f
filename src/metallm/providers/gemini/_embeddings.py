"""Gemini embeddings on the wire: Gemini API ``embedContent``/``batchEmbedContents`` and Vertex AI
``predict``/``embedContent``, the request bodies, the URLs' method and one reply parser.

Followed:

* Gemini API reference, Embeddings (https://ai.google.dev/api/embeddings):
  ``POST {base}/v1beta/models/{model}:embedContent`` with ``{"content": {"parts": [{"text"}]},
  "taskType", "title", "outputDimensionality"}`` answering ``{"embedding": {"values"}}``, and
  ``:batchEmbedContents`` with ``{"requests": [EmbedContentRequest, each naming its "model":
  "models/{model}"]}`` answering ``{"embeddings": [{"values"}]}`` in request order. The API
  refuses more than 100 requests in a batch (``BatchEmbedContentsRequest.requests: at most 100
  requests can be in one batch``). Its replies carry no token counts, so usage is 0/0.
* Vertex AI Text embeddings API
  (https://cloud.google.com/vertex-ai/generative-ai/docs/model-reference/text-embeddings-api):
  ``POST .../publishers/google/models/{model}:predict`` with ``{"instances": [{"content",
  "task_type", "title"}], "parameters": {"outputDimensionality", "autoTruncate"}}`` answering
  ``{"predictions": [{"embeddings": {"values", "statistics": {"token_count", "truncated"}}}]}``;
  up to 250 texts per request, except ``gemini-embedding-001``, which takes one instance per
  request. Vertex ``embedContent`` (REST reference, ``projects.locations.publishers.models.
  embedContent``) takes one content and answers ``{"embedding": {"values"}, "usageMetadata"}``.

Which Vertex method metallm sends: ``predict``, since it is the documented text embeddings API
for Vertex's text models (``gemini-embedding-001``, ``text-embedding-*``,
``text-multilingual-embedding-*``), batches up to 250 texts for most of them, and reports per
text token counts. Newer Gemini embedding models (``gemini-embedding-2`` and later, multimodal)
are documented on ``embedContent`` only, one text per request; those get ``embedContent``. The
parser reads all three reply shapes whatever was sent.

Unified fields: a single string ``input`` goes to ``embedContent`` on the Gemini API, a list to
``batchEmbedContents`` (a list of one included); ``dimensions`` becomes
``outputDimensionality``. Provider fields ride in ``request.extra``: ``task_type``
(``RETRIEVAL_QUERY``, ``RETRIEVAL_DOCUMENT``, ``SEMANTIC_SIMILARITY``, ...) and ``title`` are
sent as ``taskType``/``title`` (Vertex ``predict``: ``task_type``/``title`` in each instance);
any other key is merged, last, into each per-text request (Gemini API, Vertex
``embedContent``) or into ``parameters`` (Vertex ``predict``, e.g. ``autoTruncate``), ``None``
removing it. ``user`` has no Gemini equivalent and raises ``UnsupportedFeatureError``;
``encoding_format`` only shapes OpenAI's wire (vectors always come back as floats), so it is
not sent.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ...embeddings import EmbeddingsRequest, EmbeddingsResponse, check_embeddings_reply
from ...errors import (
    ConfigurationError,
    InvalidRequestError,
    ResponseValidationError,
    UnsupportedFeatureError,
)
from ...provider import HTTPResponse, invalid_reply, json_object
from .._vectors import count, embeddings_response, float_vector

__all__ = [
    "GEMINI_BATCH_LIMIT",
    "VERTEX_PREDICT_LIMIT",
    "batch_limit",
    "build_embeddings_body",
    "embeddings_url",
    "parse_embeddings_reply",
    "vertex_method",
]

GEMINI_BATCH_LIMIT = 100
"""Requests per ``batchEmbedContents`` call on the Gemini API."""
VERTEX_PREDICT_LIMIT = 250
"""Instances per Vertex ``predict`` call (``gemini-embedding-001``: 1)."""
_ONE_PER_REQUEST = ("gemini-embedding-001",)


def _model(request: EmbeddingsRequest) -> str:
    return request.model.removeprefix("models/")


def vertex_method(model: str) -> str:
    """The Vertex AI method for ``model``: ``predict``, or ``embedContent`` for newer Gemini
    embedding models (``gemini-embedding-2`` and later)."""
    model = model.removeprefix("models/")
    if model.startswith("gemini-embedding-") and not model.startswith(_ONE_PER_REQUEST):
        return "embedContent"
    return "predict"


def batch_limit(model: str, *, vertex: bool) -> int:
    """Inputs per request for ``model``: 100 on the Gemini API; on Vertex 250 for ``predict``
    models, 1 for ``gemini-embedding-001`` and for ``embedContent`` models."""
    if not vertex:
        return GEMINI_BATCH_LIMIT
    model = model.removeprefix("models/")
    if vertex_method(model) == "embedContent" or model.startswith(_ONE_PER_REQUEST):
        return 1
    return VERTEX_PREDICT_LIMIT


def embeddings_url(prefix: str, model: str, method: str, provider: str) -> str:
    """``{prefix}{model}:{method}``; a ``models/`` prefix is accepted and dropped."""
    model = model.removeprefix("models/")
    if not model or "/" in model or "?" in model or "#" in model:
        raise ConfigurationError(f"{provider}: invalid model name {model!r}")
    return f"{prefix}{model}:{method}"


def _merge(target: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    for key, value in extra.items():
        if value is None:
            target.pop(key, None)
        else:
            target[key] = value
    return target


def _text_options(request: EmbeddingsRequest, provider: str) -> tuple[Any, Any, dict[str, Any]]:
    extra = dict(request.extra)
    task_type = extra.pop("task_type", None)
    title = extra.pop("title", None)
    for name, value in (("task_type", task_type), ("title", title)):
        if value is not None and (type(value) is not str or not value):
            raise InvalidRequestError(f"{provider}: extra[{name!r}] must be a non-empty string")
    return task_type, title, extra


def build_embeddings_body(
    request: EmbeddingsRequest, *, provider: str, vertex: bool
) -> tuple[str, dict[str, Any]]:
    """``(method, body)`` for one batch: the URL's method and the JSON body.

    Raises ``UnsupportedFeatureError`` for ``user`` and ``InvalidRequestError`` for more inputs
    than :func:`batch_limit` allows, before any I/O.
    """
    if request.user is not None:
        raise UnsupportedFeatureError(provider, "user on embeddings requests")
    model = _model(request)
    inputs = request.inputs
    limit = batch_limit(model, vertex=vertex)
    if len(inputs) > limit:
        raise InvalidRequestError(
            f"{provider}: {len(inputs)} embeddings inputs in one request; {model} takes at most "
            f"{limit} (split the list)"
        )
    task_type, title, extra = _text_options(request, provider)
    method = vertex_method(model) if vertex else "embedContent"
    if method == "predict":
        instances = []
        for text in inputs:
            instance: dict[str, Any] = {"content": text}
            if task_type is not None:
                instance["task_type"] = task_type
            if title is not None:
                instance["title"] = title
            instances.append(instance)
        parameters: dict[str, Any] = {}
        if request.dimensions is not None:
            parameters["outputDimensionality"] = request.dimensions
        body: dict[str, Any] = {"instances": instances}
        if _merge(parameters, extra):
            body["parameters"] = parameters
        return method, body

    def content(text: str, batch: bool) -> dict[str, Any]:
        entry: dict[str, Any] = {"model": f"models/{model}"} if batch else {}
        entry["content"] = {"parts": [{"text": text}]}
        if task_type is not None:
            entry["taskType"] = task_type
        if title is not None:
            entry["title"] = title
        if request.dimensions is not None:
            entry["outputDimensionality"] = request.dimensions
        return _merge(entry, extra)

    if vertex or isinstance(request.input, str):
        return "embedContent", content(inputs[0], False)
    return "batchEmbedContents", {"requests": [content(text, True) for text in inputs]}


def parse_embeddings_reply(
    provider: str, response: HTTPResponse, request: EmbeddingsRequest, secrets: tuple[str, ...]
) -> EmbeddingsResponse:
    """Any Gemini/Vertex embeddings success reply as floats in input order; garbled raises.

    Usage: Vertex ``predict`` sums ``statistics.token_count``; a ``usageMetadata`` (Vertex
    ``embedContent``) gives ``promptTokenCount``/``totalTokenCount``; Gemini API replies have
    neither, so 0/0.
    """
    invalid = invalid_reply(provider, response, secrets)

    body = json_object(provider, response, secrets, "embeddings reply")
    vectors: list[tuple[int, list[float]]] = []
    prompt = 0
    if "predictions" in body:
        predictions = body["predictions"]
        if type(predictions) is not list:
            raise invalid("embeddings reply 'predictions' is not a list")
        for i, prediction in enumerate(predictions):
            embedding = prediction.get("embeddings") if type(prediction) is dict else None
            vector = float_vector(embedding.get("values")) if type(embedding) is dict else None
            if embedding is None or vector is None:
                raise invalid(f"embeddings reply predictions[{i}] has no embeddings.values list")
            stats = embedding.get("statistics")
            if stats is None:
                tokens: int | None = 0
            elif type(stats) is dict:
                tokens = count(stats.get("token_count", stats.get("tokenCount", 0)))
            else:
                tokens = None
            if tokens is None:
                raise invalid(f"embeddings reply predictions[{i}] statistics are garbled")
            prompt += tokens
            vectors.append((i, vector))
        total = prompt
    else:
        if "embeddings" in body:
            items = body["embeddings"]
            if type(items) is not list:
                raise invalid("embeddings reply 'embeddings' is not a list")
            where = "embeddings[{}]"
        elif "embedding" in body:
            items = [body["embedding"]]
            where = "embedding"
        else:
            raise invalid("embeddings reply has no 'embeddings', 'embedding' or 'predictions'")
        for i, item in enumerate(items):
            vector = float_vector(item.get("values")) if type(item) is dict else None
            if vector is None:
                raise invalid(f"embeddings reply {where.format(i)} has no 'values' list")
            vectors.append((i, vector))
        prompt, total = _usage_metadata(body.get("usageMetadata"), invalid)
    result = embeddings_response(_model(request), provider, vectors, prompt, total)
    return check_embeddings_reply(result, len(request.inputs), provider)


def _usage_metadata(
    meta: Any, invalid: Callable[[str], ResponseValidationError]
) -> tuple[int, int]:
    if meta is None:
        return 0, 0
    if type(meta) is not dict:
        raise invalid("embeddings reply 'usageMetadata' is not an object")
    prompt = count(meta.get("promptTokenCount", 0))
    total = count(meta.get("totalTokenCount", prompt))
    if prompt is None or total is None:
        raise invalid("embeddings reply 'usageMetadata' is garbled")
    return prompt, total

"""The embeddings wire formats of FakeLLMServer, for every provider that has embeddings.

Paths served (the ones the codecs send):

* OpenAI/xAI ``POST .../embeddings`` (not Ollama's superseded ``/api/embeddings``):
  ``{"object": "list", "data": [{"object": "embedding", "index", "embedding"}], "model",
  "usage": {"prompt_tokens", "total_tokens"}}``, vectors as base64 little-endian float32 when
  the body says ``"encoding_format": "base64"``, else floats.
* Gemini API ``.../models/{m}:batchEmbedContents`` (``{"embeddings": [{"values"}]}``) and
  ``:embedContent`` (``{"embedding": {"values"}}``; on a Vertex path, ``.../projects/...``, with
  ``usageMetadata`` as Vertex adds); Vertex ``:predict`` (``{"predictions": [{"embeddings":
  {"statistics": {"token_count", "truncated"}, "values"}}], "metadata"}``).
* Ollama ``POST /api/embed``: ``{"model", "embeddings": [[...]], "total_duration",
  "load_duration", "prompt_eval_count"}``.
* Bedrock ``POST /model/{modelId}/invoke`` for Titan text embeddings (``{"embedding",
  "embeddingsByType", "inputTextTokenCount"}``) and Cohere Embed (``{"embeddings", "id",
  "response_type", "texts"}``, by type when ``embedding_types`` is given, plus the
  ``x-amzn-bedrock-input-token-count`` header); another model id gets a 400
  ``ValidationException``.

Vectors are deterministic: :func:`fake_embedding` derives them from a SHA-256 stream of the
text (unit length, float32-exact so that the float and base64 forms decode to the same values),
:data:`DEFAULT_DIMENSIONS` long unless the request asks for fewer or more (``dimensions``,
``outputDimensionality``, ``output_dimension``). Token counts are :func:`fake_token_count`
(the words of each text, at least 1). The scripted reply supplies the status, error fields,
headers and ``model`` (else the request's); the server applies delays, cuts and disconnects as
for chat. A body the wire format cannot read gets the provider's 400. Importing this module
registers the renderers.
"""

from __future__ import annotations

import base64
import hashlib
import math
import struct
import uuid
from typing import Any
from urllib.parse import unquote

from metallm.testing import wire_gemini, wire_openai
from metallm.testing.script import ScriptedReply
from metallm.testing.wire import WireResponse, compact_json, new_request_id, register_wire

__all__ = [
    "DEFAULT_DIMENSIONS",
    "fake_embedding",
    "fake_token_count",
    "render_bedrock_embeddings",
    "render_gemini_embeddings",
    "render_ollama_embeddings",
    "render_openai_embeddings",
]

DEFAULT_DIMENSIONS = 8
"""Vector length when the request does not ask for one."""

_BEDROCK_ERRORS = {
    400: "ValidationException",
    403: "AccessDeniedException",
    404: "ResourceNotFoundException",
    429: "ThrottlingException",
    503: "ServiceUnavailableException",
}


class _BadRequest(Exception):
    """The request body does not fit the wire format (rendered as the provider's 400)."""


def fake_embedding(text: str, dimensions: int = DEFAULT_DIMENSIONS) -> list[float]:
    """The fake server's vector for ``text``: unit length, float32 values, same text same vector."""
    raw: list[int] = []
    block = 0
    while len(raw) < dimensions:
        raw.extend(struct.unpack("<8i", hashlib.sha256(f"{block}:{text}".encode()).digest()))
        block += 1
    values = [x / 2147483648.0 for x in raw[:dimensions]]
    norm = math.sqrt(math.fsum(v * v for v in values)) or 1.0
    packed = struct.pack(f"<{dimensions}f", *(v / norm for v in values))
    return list(struct.unpack(f"<{dimensions}f", packed))


def fake_token_count(text: str) -> int:
    """The fake server's token count for ``text``: its words, at least 1."""
    return max(1, len(text.split()))


def _dimensions(value: Any) -> int:
    if value is None:
        return DEFAULT_DIMENSIONS
    if type(value) is not int or value < 1:
        raise _BadRequest(f"invalid dimensions {value!r}")
    return value


def _texts(value: Any, field: str) -> list[str]:
    texts = [value] if isinstance(value, str) else value
    if not isinstance(texts, list) or not texts or not all(isinstance(t, str) for t in texts):
        raise _BadRequest(f"'{field}' must be a string or a non-empty list of strings")
    return texts


def _base(reply: ScriptedReply, request_id: tuple[str, str] | None) -> dict[str, str]:
    headers = {request_id[0]: request_id[1]} if request_id else {}
    headers["content-type"] = "application/json"
    headers.update({k.lower(): v for k, v in reply.headers.items()})
    return headers


def _json(status: int, headers: dict[str, str], body: Any) -> WireResponse:
    return WireResponse(status, headers, [compact_json(body).encode()], False)


# -- OpenAI / xAI -----------------------------------------------------------------------------


def render_openai_embeddings(reply: ScriptedReply, request: Any, path: str) -> WireResponse:
    """Render ``reply`` for an OpenAI-compatible ``/embeddings`` request."""
    headers = _base(reply, ("x-request-id", new_request_id()))
    if reply.status >= 400:
        return _json(reply.status, headers, {"error": wire_openai.error_object(reply)})
    req: dict[str, Any] = request if isinstance(request, dict) else {}
    try:
        texts = _texts(req.get("input"), "input")
        dims = _dimensions(req.get("dimensions"))
    except _BadRequest as exc:
        error = ScriptedReply.error(400, str(exc), type="invalid_request_error")
        return _json(400, headers, {"error": wire_openai.error_object(error)})
    as_base64 = req.get("encoding_format") == "base64"
    data = []
    for index, text in enumerate(texts):
        vector = fake_embedding(text, dims)
        value: Any = vector
        if as_base64:
            value = base64.b64encode(struct.pack(f"<{dims}f", *vector)).decode()
        data.append({"object": "embedding", "index": index, "embedding": value})
    tokens = sum(fake_token_count(t) for t in texts)
    body = {
        "object": "list",
        "data": data,
        "model": reply.model or str(req.get("model") or "fake-embedding-model"),
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
    }
    return _json(200, headers, body)


# -- Gemini API and Vertex AI -----------------------------------------------------------------


def _content_text(content: Any) -> str:
    parts = content.get("parts") if isinstance(content, dict) else None
    if not isinstance(parts, list) or not parts:
        raise _BadRequest("content.parts must be a non-empty list")
    texts = [p.get("text") if isinstance(p, dict) else None for p in parts]
    if not all(isinstance(t, str) for t in texts):
        raise _BadRequest("every content part needs a 'text' string")
    return " ".join(str(t) for t in texts)


def _gemini_body(req: dict[str, Any], method: str, vertex: bool) -> dict[str, Any]:
    if method == "predict":
        instances = req.get("instances")
        if not isinstance(instances, list) or not instances:
            raise _BadRequest("instances must be a non-empty list")
        params = req.get("parameters") or {}
        dims = _dimensions(params.get("outputDimensionality") if isinstance(params, dict) else 0)
        predictions = []
        for instance in instances:
            text = instance.get("content") if isinstance(instance, dict) else None
            if not isinstance(text, str):
                raise _BadRequest("every instance needs a 'content' string")
            stats = {"token_count": fake_token_count(text), "truncated": False}
            predictions.append(
                {"embeddings": {"statistics": stats, "values": fake_embedding(text, dims)}}
            )
        chars = sum(len(i["content"]) for i in instances)
        return {"metadata": {"billableCharacterCount": chars}, "predictions": predictions}
    if method == "batchEmbedContents":
        requests = req.get("requests")
        if not isinstance(requests, list) or not requests:
            raise _BadRequest("requests must be a non-empty list")
        embeddings = []
        for item in requests:
            if not isinstance(item, dict):
                raise _BadRequest("every request must be an object")
            text = _content_text(item.get("content"))
            dims = _dimensions(item.get("outputDimensionality"))
            embeddings.append({"values": fake_embedding(text, dims)})
        return {"embeddings": embeddings}
    text = _content_text(req.get("content"))
    body: dict[str, Any] = {
        "embedding": {"values": fake_embedding(text, _dimensions(req.get("outputDimensionality")))}
    }
    if vertex:
        tokens = fake_token_count(text)
        body["usageMetadata"] = {"promptTokenCount": tokens, "totalTokenCount": tokens}
    return body


def render_gemini_embeddings(reply: ScriptedReply, request: Any, path: str) -> WireResponse:
    """Render ``reply`` for ``:batchEmbedContents``, ``:embedContent`` or ``:predict``."""
    headers = _base(reply, None)
    headers["content-type"] = "application/json; charset=UTF-8"
    if reply.status >= 400:
        return _json(reply.status, headers, wire_gemini.error_object(reply))
    bare = path.split("?", 1)[0].rstrip("/")
    method = bare.rsplit(":", 1)[-1]
    try:
        req = request if isinstance(request, dict) else {}
        body = _gemini_body(req, method, "/projects/" in bare)
    except (_BadRequest, AttributeError, TypeError) as exc:
        error = ScriptedReply.error(400, f"Invalid JSON payload received. {exc}")
        return _json(400, headers, wire_gemini.error_object(error))
    return _json(200, headers, body)


# -- Ollama -----------------------------------------------------------------------------------


def render_ollama_embeddings(reply: ScriptedReply, request: Any, path: str) -> WireResponse:
    """Render ``reply`` for an Ollama ``/api/embed`` request."""
    headers = _base(reply, ("x-request-id", new_request_id()))
    headers["content-type"] = "application/json; charset=utf-8"
    if reply.status >= 400:
        message = reply.error_message or f"FakeLLMServer scripted error (HTTP {reply.status})"
        return _json(reply.status, headers, {"error": message})
    req: dict[str, Any] = request if isinstance(request, dict) else {}
    try:
        texts = _texts(req.get("input"), "input")
        dims = _dimensions(req.get("dimensions"))
    except _BadRequest as exc:
        return _json(400, headers, {"error": str(exc)})
    body = {
        "model": reply.model or str(req.get("model") or "fake-embedding-model"),
        "embeddings": [fake_embedding(t, dims) for t in texts],
        "total_duration": 14143917,
        "load_duration": 1019500,
        "prompt_eval_count": sum(fake_token_count(t) for t in texts),
    }
    return _json(200, headers, body)


# -- Bedrock InvokeModel ----------------------------------------------------------------------


def _bedrock_error(headers: dict[str, str], status: int, kind: str, message: str) -> WireResponse:
    headers.setdefault("x-amzn-errortype", kind + ":http://internal.amazon.com/coral/com.amazon/")
    return _json(status, headers, {"message": message})


def _titan(req: dict[str, Any]) -> tuple[dict[str, Any], int]:
    text = req.get("inputText")
    if not isinstance(text, str) or not text:
        raise _BadRequest("Malformed input request: #: required key [inputText] not found")
    vector = fake_embedding(text, _dimensions(req.get("dimensions")))
    tokens = fake_token_count(text)
    return {
        "embedding": vector,
        "embeddingsByType": {"float": vector},
        "inputTextTokenCount": tokens,
    }, tokens


def _cohere(req: dict[str, Any]) -> tuple[dict[str, Any], int]:
    texts = _texts(req.get("texts"), "texts")
    if not isinstance(req.get("input_type"), str):
        raise _BadRequest("Malformed input request: #: required key [input_type] not found")
    vectors = [fake_embedding(t, _dimensions(req.get("output_dimension"))) for t in texts]
    body: dict[str, Any] = {"embeddings": vectors, "id": str(uuid.uuid4())}
    body["response_type"] = "embeddings_floats"
    if req.get("embedding_types") is not None:
        body["embeddings"] = {"float": vectors}
        body["response_type"] = "embeddings_by_type"
    body["texts"] = [t.lower() for t in texts]
    return body, sum(fake_token_count(t) for t in texts)


def render_bedrock_embeddings(reply: ScriptedReply, request: Any, path: str) -> WireResponse:
    """Render ``reply`` for a Bedrock ``/model/{modelId}/invoke`` embeddings request."""
    headers = _base(reply, ("x-amzn-requestid", str(uuid.uuid4())))
    if reply.status >= 400:
        kind = reply.error_type or _BEDROCK_ERRORS.get(reply.status, "InternalServerException")
        message = reply.error_message or f"FakeLLMServer scripted error (HTTP {reply.status})"
        return _bedrock_error(headers, reply.status, kind, message)
    model = unquote(path.split("?", 1)[0].split("/model/", 1)[1].rsplit("/invoke", 1)[0])
    req: dict[str, Any] = request if isinstance(request, dict) else {}
    try:
        if "amazon.titan-embed-text-" in model:
            body, tokens = _titan(req)
        elif "cohere.embed-" in model:
            body, tokens = _cohere(req)
        else:
            message = f"FakeLLMServer serves no embeddings for model {model!r} on InvokeModel"
            return _bedrock_error(headers, 400, "ValidationException", message)
    except _BadRequest as exc:
        return _bedrock_error(headers, 400, "ValidationException", str(exc))
    headers.setdefault("x-amzn-bedrock-input-token-count", str(tokens))
    return _json(200, headers, body)


register_wire(r"(?<!/api)/embeddings/?$", render_openai_embeddings)  # not Ollama's old path
register_wire(
    r"/models/[^/]+:(batchEmbedContents|embedContent|predict)/?$", render_gemini_embeddings
)
register_wire(r"/api/embed/?$", render_ollama_embeddings)
register_wire(r"^/model/[^/]+/invoke/?$", render_bedrock_embeddings)

"""The Google Gemini provider: a pure codec for ``generateContent`` / ``streamGenerateContent``.

:class:`GeminiProvider` is a :class:`metallm.provider.HTTPCodec` for two endpoints:

* the Gemini API (default): ``POST {base}/v1beta/models/{model}:generateContent`` and
  ``:streamGenerateContent?alt=sse``, the key in the ``x-goog-api-key`` header (never in the
  URL, where it would end up in logs and spans);
* Vertex AI, chosen when ``base_url`` contains ``aiplatform.googleapis.com``:
  ``{base}/v1/projects/{project}/locations/{location}/publishers/google/models/{model}:...``
  with ``Authorization: Bearer <api_key>`` (an OAuth access token). ``project`` comes from
  ``settings.extra``; ``location`` from ``extra`` too, else from a regional host
  (``us-central1-aiplatform...``), else ``global``.

A ``base_url`` that already ends in ``/v1beta`` or ``/v1`` is used as the versioned root.
It builds requests (``_request``), parses replies (``_response``), decodes streams
(``_stream``) and reads error replies; it holds no connection and does no I/O. Telemetry names
it ``gcp.gemini``, or ``gcp.vertex_ai`` on Vertex AI; system prompts travel apart from the
history (``systemInstruction``).
"""

from __future__ import annotations

from urllib.parse import quote, urlsplit

from ...embeddings import EmbeddingsRequest
from ...errors import APIError, ConfigurationError
from ...provider import HTTPCodec, HTTPRequest, HTTPResponse, ProviderSettings
from ...types import ChatCompletionRequest, ChatCompletionResponse
from ._embeddings import (
    GEMINI_BATCH_LIMIT,
    batch_limit,
    build_embeddings_body,
    embeddings_url,
    parse_embeddings_reply,
)
from ._request import build_body
from ._response import parse_generate_response, refine_error
from ._stream import GeminiStreamDecoder
from ._tokens import build_count_body, parse_count_reply

__all__ = ["API_KEY_ENV", "DEFAULT_BASE_URL", "GeminiProvider", "create"]

DEFAULT_BASE_URL = "https://generativelanguage.googleapis.com"
API_KEY_ENV = ("GEMINI_API_KEY", "GOOGLE_API_KEY")
VERTEX_HOST_MARK = "aiplatform.googleapis.com"
"""A base URL containing this is Vertex AI."""


class GeminiProvider(HTTPCodec):
    """Gemini (Google AI or Vertex AI) as a sans-IO codec.

    ``settings.extra`` may hold ``project`` and ``location`` (Vertex AI), ``api_version``
    (default ``v1beta`` for the Gemini API, ``v1`` for Vertex) and ``headers`` (extra headers,
    overriding ours).
    """

    name = "gemini"
    default_base_url = DEFAULT_BASE_URL
    system_instructions_apart = True
    json_schema_object_root = False  # responseJsonSchema takes any JSON schema at the top

    def __init__(self, settings: ProviderSettings) -> None:
        extra = settings.extra
        super().__init__(settings.api_key, settings.base_url, user_headers=extra.get("headers"))
        if self.vertex:
            project = extra.get("project")
            if not project:
                raise ConfigurationError(
                    f"{self.name}: a Vertex AI base_url needs extra={{'project': ...}}"
                )
            location = extra.get("location")
            if not location:
                host = urlsplit(self.base_url).hostname or ""
                region = host.split("-aiplatform.", 1)
                location = region[0] if len(region) == 2 else "global"
            version = str(extra.get("api_version") or "v1")
            self._prefix = (
                f"{self._root(version)}/projects/{quote(str(project), safe='')}"
                f"/locations/{quote(str(location), safe='')}/publishers/google/models/"
            )
        else:
            version = str(extra.get("api_version") or "v1beta")
            self._prefix = f"{self._root(version)}/models/"

    def _root(self, version: str) -> str:
        tail = self.base_url.rsplit("/", 1)[-1]
        return (
            self.base_url if tail in ("v1", "v1beta", "v1alpha") else f"{self.base_url}/{version}"
        )

    @property
    def vertex(self) -> bool:
        """Whether requests go to Vertex AI rather than the Gemini API."""
        return VERTEX_HOST_MARK in self.base_url

    @property
    def semconv_name(self) -> str:
        """``gcp.vertex_ai`` on Vertex AI, else ``gcp.gemini``."""
        return "gcp.vertex_ai" if self.vertex else "gcp.gemini"

    def auth_headers(self) -> dict[str, str]:
        """Vertex AI takes an OAuth token as ``Bearer``; the Gemini API a key in a header
        (``x-goog-api-key``, never in the URL, where it would end up in logs and spans)."""
        if not self._api_key:
            return {}
        if self.vertex:
            return {"authorization": f"Bearer {self._api_key}"}
        return {"x-goog-api-key": self._api_key}

    def url(self, model: str, *, stream: bool, method: str = "") -> str:
        """The endpoint URL for ``model`` (a ``models/`` prefix is accepted and dropped);
        ``method`` (``countTokens``) replaces the generate method."""
        model = model.removeprefix("models/")
        if not model or "/" in model or "?" in model or "#" in model:
            raise ConfigurationError(f"{self.name}: invalid model name {model!r}")
        if method:
            return f"{self._prefix}{model}:{method}"
        suffix = ":streamGenerateContent?alt=sse" if stream else ":generateContent"
        return f"{self._prefix}{model}{suffix}"

    def build_request(self, request: ChatCompletionRequest, *, stream: bool) -> HTTPRequest:
        """The HTTP request for ``request``; raises ``UnsupportedFeatureError`` before I/O."""
        body = build_body(request, provider=self.name)
        return self.http_request(self.url(request.model, stream=stream), body, stream=stream)

    def build_count_tokens_request(self, request: ChatCompletionRequest) -> HTTPRequest:
        """``POST .../models/{model}:countTokens`` (the body differs on Vertex: ``_tokens``)."""
        body = build_count_body(request, provider=self.name, vertex=self.vertex)
        url = self.url(request.model, stream=False, method="countTokens")
        return self.http_request(url, body, stream=False)

    count_tokens_parser = staticmethod(parse_count_reply)

    def parse_response(self, response: HTTPResponse) -> ChatCompletionResponse:
        """A success reply as a unified response; raises ``ResponseValidationError`` if garbled."""
        return parse_generate_response(self.name, response, self.secrets())

    def stream_decoder(self, request: ChatCompletionRequest) -> GeminiStreamDecoder:
        """A fresh incremental decoder for one streamed reply."""
        return GeminiStreamDecoder(self.name, self.secrets())

    def parse_error(self, response: HTTPResponse) -> APIError:
        """The typed error for an error reply (whatever its content type), key redacted.

        Gemini answers a bad API key with 400 ``INVALID_ARGUMENT``; its ``ErrorInfo`` reason
        (``API_KEY_INVALID``) makes it an :class:`~metallm.AuthenticationError`, and the reason
        becomes the error's ``code``.
        """
        return refine_error(super().parse_error(response))

    # -- embeddings: Gemini API embedContent/batchEmbedContents, Vertex predict/embedContent ----

    @property
    def max_embeddings_inputs(self) -> int:
        """Inputs per request: 100 on the Gemini API; on Vertex 1, the limit every model
        meets (see :meth:`embeddings_batch_limit` for the per-model figure)."""
        return 1 if self.vertex else GEMINI_BATCH_LIMIT

    def embeddings_batch_limit(self, request: EmbeddingsRequest) -> int:
        """Inputs per request for ``request.model`` (Vertex ``predict``: 250, except 1 for
        ``gemini-embedding-001`` and for ``embedContent`` models)."""
        return batch_limit(request.model, vertex=self.vertex)

    def build_embeddings_request(self, request: EmbeddingsRequest) -> HTTPRequest:
        """One batch as ``POST .../models/{model}:{method}`` (see ``_embeddings``)."""
        method, body = build_embeddings_body(request, provider=self.name, vertex=self.vertex)
        url = embeddings_url(self._prefix, request.model, method, self.name)
        return self.http_request(url, body, stream=False)

    embeddings_parser = staticmethod(parse_embeddings_reply)


def create(settings: ProviderSettings) -> GeminiProvider:
    """Registry factory (``metallm.providers.gemini:create``)."""
    return GeminiProvider(settings)

"""The Google Gemini provider: a pure codec for ``generateContent`` / ``streamGenerateContent``.

:class:`GeminiProvider` implements :class:`metallm.provider.HTTPProvider` for two endpoints:

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
(``_stream``) and reads error replies; it holds no connection and does no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import quote, urlsplit

from ...embeddings import EmbeddingsRequest, EmbeddingsResponse
from ...errors import APIError, ConfigurationError
from ...provider._errors import error_from_response
from ...provider._http import HTTPRequest, HTTPResponse
from ...provider._registry import ProviderSettings
from ...types import ChatCompletionRequest, ChatCompletionResponse
from ._embeddings import (
    GEMINI_BATCH_LIMIT,
    batch_limit,
    build_embeddings_body,
    embeddings_url,
    parse_embeddings_reply,
)
from ._request import build_body, encode_body
from ._response import parse_generate_response, refine_error
from ._stream import GeminiStreamDecoder

__all__ = ["API_KEY_ENV", "DEFAULT_BASE_URL", "GeminiProvider", "create"]

DEFAULT_BASE_URL = "https://generativelanguage.googleapis.com"
API_KEY_ENV = ("GEMINI_API_KEY", "GOOGLE_API_KEY")
USER_AGENT = "metallm/0.1.0"


class GeminiProvider:
    """Gemini (Google AI or Vertex AI) as a sans-IO codec.

    ``settings.extra`` may hold ``project`` and ``location`` (Vertex AI), ``api_version``
    (default ``v1beta`` for the Gemini API, ``v1`` for Vertex) and ``headers`` (extra headers,
    overriding ours).
    """

    provider_name = "gemini"

    def __init__(self, settings: ProviderSettings) -> None:
        self._api_key = settings.api_key or None
        self._base_url = (settings.base_url or DEFAULT_BASE_URL).rstrip("/")
        extra = settings.extra
        host = urlsplit(self._base_url).hostname or ""
        self._vertex = "aiplatform.googleapis.com" in self._base_url
        headers = {"content-type": "application/json", "user-agent": USER_AGENT}
        if self._vertex:
            project = extra.get("project")
            if not project:
                raise ConfigurationError(
                    f"{self.name}: a Vertex AI base_url needs extra={{'project': ...}}"
                )
            location = extra.get("location")
            if not location:
                region = host.split("-aiplatform.", 1)
                location = region[0] if len(region) == 2 else "global"
            version = str(extra.get("api_version") or "v1")
            self._prefix = (
                f"{self._root(version)}/projects/{quote(str(project), safe='')}"
                f"/locations/{quote(str(location), safe='')}/publishers/google/models/"
            )
            if self._api_key:
                headers["authorization"] = f"Bearer {self._api_key}"
        else:
            version = str(extra.get("api_version") or "v1beta")
            self._prefix = f"{self._root(version)}/models/"
            if self._api_key:
                headers["x-goog-api-key"] = self._api_key
        user_headers = extra.get("headers")
        if user_headers is not None:
            if not isinstance(user_headers, Mapping):
                raise ConfigurationError(f"{self.name}: extra['headers'] must be a mapping")
            for key, value in user_headers.items():
                for existing in [k for k in headers if k.lower() == str(key).lower()]:
                    del headers[existing]
                headers[str(key)] = str(value)
        self._headers_json = {**headers, "accept": "application/json"}
        self._headers_sse = {**headers, "accept": "text/event-stream"}

    def _root(self, version: str) -> str:
        tail = self._base_url.rsplit("/", 1)[-1]
        return (
            self._base_url if tail in ("v1", "v1beta", "v1alpha") else f"{self._base_url}/{version}"
        )

    @property
    def name(self) -> str:
        """The provider name (``gen_ai.provider.name``)."""
        return self.provider_name

    @property
    def base_url(self) -> str:
        """The endpoint root, without a trailing slash."""
        return self._base_url

    @property
    def vertex(self) -> bool:
        """Whether requests go to Vertex AI rather than the Gemini API."""
        return self._vertex

    def secrets(self) -> tuple[str, ...]:
        """The API key (or Vertex access token), which must never leave the library."""
        return (self._api_key,) if self._api_key else ()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, base_url={self._base_url!r})"

    def url(self, model: str, *, stream: bool) -> str:
        """The endpoint URL for ``model`` (a ``models/`` prefix is accepted and dropped)."""
        model = model.removeprefix("models/")
        if not model or "/" in model or "?" in model or "#" in model:
            raise ConfigurationError(f"{self.name}: invalid model name {model!r}")
        method = ":streamGenerateContent?alt=sse" if stream else ":generateContent"
        return f"{self._prefix}{model}{method}"

    def build_request(self, request: ChatCompletionRequest, *, stream: bool) -> HTTPRequest:
        """The HTTP request for ``request``; raises ``UnsupportedFeatureError`` before I/O."""
        body = build_body(request, provider=self.name)
        headers = self._headers_sse if stream else self._headers_json
        return HTTPRequest(
            "POST", self.url(request.model, stream=stream), dict(headers), encode_body(body)
        )

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
        return refine_error(error_from_response(self.name, response, secrets=self.secrets()))

    # -- embeddings: Gemini API embedContent/batchEmbedContents, Vertex predict/embedContent ----

    @property
    def max_embeddings_inputs(self) -> int:
        """Inputs per request: 100 on the Gemini API; on Vertex 1, the limit every model
        meets (see :meth:`embeddings_batch_limit` for the per-model figure)."""
        return 1 if self._vertex else GEMINI_BATCH_LIMIT

    def embeddings_batch_limit(self, request: EmbeddingsRequest) -> int:
        """Inputs per request for ``request.model`` (Vertex ``predict``: 250, except 1 for
        ``gemini-embedding-001`` and for ``embedContent`` models)."""
        return batch_limit(request.model, vertex=self._vertex)

    def build_embeddings_request(self, request: EmbeddingsRequest) -> HTTPRequest:
        """One batch as ``POST .../models/{model}:{method}`` (see ``_embeddings``)."""
        method, body = build_embeddings_body(request, provider=self.name, vertex=self._vertex)
        url = embeddings_url(self._prefix, request.model, method, self.name)
        return HTTPRequest("POST", url, dict(self._headers_json), encode_body(body))

    def parse_embeddings_response(
        self, response: HTTPResponse, request: EmbeddingsRequest
    ) -> EmbeddingsResponse:
        """Any Gemini or Vertex embeddings reply as floats in input order; garbled raises."""
        return parse_embeddings_reply(self.name, response, request, self.secrets())


def create(settings: ProviderSettings) -> GeminiProvider:
    """Registry factory (``metallm.providers.gemini:create``)."""
    return GeminiProvider(settings)

"""The Azure OpenAI provider: OpenAI's Chat Completions and embeddings on an Azure resource.

Azure serves OpenAI's wire format; what differs is where a request goes
(:class:`~metallm.providers.azure_openai.AzureEndpoint`: the deployment path with
``api-version`` or the v1 path), how it authenticates
(:class:`~metallm.providers.azure_openai.AzureAuth`: ``api-key`` or an Entra ID bearer token,
refreshed per request), the content filter in replies (``_filter``), and its name in
telemetry: ``gen_ai.provider.name`` is ``azure.ai.openai``, the conventions' well-known value,
and ``server.address`` the resource's host. Like xAI it reports no ``openai.*`` span
attributes: the conventions' OpenAI page defines them for spans whose provider is ``openai``.

:class:`AzureOpenAICodec` holds the Azure half (headers, per-request token, secrets, telemetry
name) for any codec class, so another wire format on Azure (the Responses API) is a few lines:
``super().__init__(self._init_azure(settings))``, build URLs with
``self.endpoint.url(operation, deployment)`` and send through
:meth:`AzureOpenAICodec.http_request`. :class:`AzureOpenAIProvider` is that over
:class:`~metallm.providers.openai.OpenAIProvider`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from ...embeddings import EmbeddingsRequest
from ...errors import APIError, ConfigurationError
from ...provider import (
    HTTPCodec,
    HTTPRequest,
    HTTPResponse,
    ProviderSettings,
    SpanAttributes,
)
from ...types import ChatCompletionRequest
from ..openai._embeddings import build_embeddings_body
from ..openai._request import build_body
from ..openai.codec import OpenAIProvider
from ._auth import TOKEN_PROVIDER, AzureAuth
from ._endpoint import AzureEndpoint
from ._filter import AzureStreamDecoder, parse_azure_completion

__all__ = ["SEMCONV_NAME", "AzureOpenAICodec", "AzureOpenAIProvider"]

SEMCONV_NAME = "azure.ai.openai"
"""``gen_ai.provider.name`` of Azure OpenAI in the GenAI semantic conventions."""


class AzureOpenAICodec(HTTPCodec):
    """The Azure half of a codec: endpoint, credentials, headers, secrets, telemetry name.

    Mixed in before the wire-format codec (``class X(AzureOpenAICodec, SomeCodec)``), whose
    ``__init__`` is called as ``super().__init__(self._init_azure(settings))``: endpoint and
    credentials must exist before the base builds its headers from :meth:`auth_headers`.
    """

    semconv_name = SEMCONV_NAME
    _azure_endpoint: AzureEndpoint
    _azure_auth: AzureAuth

    @property
    def endpoint(self) -> AzureEndpoint:
        """Where requests go (root, URL shape, API version)."""
        return self._azure_endpoint

    def auth_headers(self) -> dict[str, str]:
        """``api-key: <key>``; nothing when an Entra ID token is sent per request instead."""
        return self._azure_auth.static_headers()

    def http_request(
        self, url: str, body: Any, *, stream: bool, method: str = "POST"
    ) -> HTTPRequest:
        """The request, with ``Authorization: Bearer <token>`` when a token provider is set
        (asked for per request, so a refreshed token is used as soon as there is one)."""
        headers = self.headers(stream=stream)
        bearer = self._azure_auth.authorization()
        if bearer is not None:
            headers["authorization"] = bearer
        return HTTPRequest(method, url, headers, self.encode(body))

    def secrets(self) -> tuple[str, ...]:
        """The key and the recently issued tokens (each error's text is redacted of them)."""
        return self._azure_auth.secrets()

    def parse_error(self, response: HTTPResponse) -> APIError:
        """The kit's typed error (a filtered prompt is a ``ContentFilterError``), without the
        HTTP status Azure echoes as ``error.status`` where OpenAI has ``type`` (the kit reads
        ``status`` as a type, as Gemini's errors carry theirs there)."""
        error = super().parse_error(response)
        if error.type is not None and error.type.isdigit():
            error.type = None
        return error

    def repr_fields(self) -> dict[str, object]:
        """Name, endpoint, URL shape and API version: never a key or a token."""
        return {**super().repr_fields(), **self._azure_endpoint.describe()}

    def _init_azure(self, settings: ProviderSettings) -> ProviderSettings:
        """Read the endpoint and credentials from ``settings`` (raising what is missing or
        wrong) and return the settings the wire-format codec is built from: the same, with
        the endpoint root as ``base_url``."""
        extra = settings.extra
        self._azure_endpoint = AzureEndpoint(settings.base_url, extra, self.name)
        self._azure_auth = AzureAuth(self.name, settings.api_key, extra.get(TOKEN_PROVIDER))
        user_headers = extra.get("headers")
        if (
            self._azure_auth.uses_token
            and isinstance(user_headers, Mapping)
            and any(str(k).lower() == "authorization" for k in user_headers)
        ):  # it would be sent beside the provider's token
            raise ConfigurationError(
                f"{self.name}: extra['headers'] sets Authorization, which "
                f"extra['{TOKEN_PROVIDER}'] sets too: pass one of them"
            )
        return replace(settings, base_url=self._azure_endpoint.root)


class AzureOpenAIProvider(AzureOpenAICodec, OpenAIProvider):
    """Azure OpenAI Chat Completions and embeddings as a sans-IO codec.

    ``settings.base_url`` is the resource endpoint (``AZURE_OPENAI_ENDPOINT``), the request's
    ``model`` the deployment name. ``settings.extra``: ``api`` (``deployments``, the default, or
    ``v1``), ``api_version`` (default :data:`~metallm.providers.azure_openai.DEFAULT_API_VERSION`
    on the deployment path), ``azure_ad_token_provider``, and OpenAI's ``headers`` and
    ``max_tokens_field``.
    """

    name = "azure_openai"
    default_base_url = ""
    sends_openai_headers = False  # OpenAI-Organization / OpenAI-Project mean nothing to Azure
    span_attributes: SpanAttributes | None = None  # no openai.* on an azure.ai.openai span
    completion_parser = staticmethod(parse_azure_completion)
    decoder_class = AzureStreamDecoder

    def __init__(self, settings: ProviderSettings) -> None:
        super().__init__(self._init_azure(settings))

    def build_request(self, request: ChatCompletionRequest, *, stream: bool) -> HTTPRequest:
        """``POST .../chat/completions`` on the deployment or v1 path; the body is OpenAI's."""
        body = build_body(
            request,
            provider=self.name,
            max_tokens_field=self._max_tokens_field,
            stream=stream,
            media=self._media,
        )
        url = self._azure_endpoint.url("chat/completions", request.model)
        return self.http_request(url, body, stream=stream)

    def build_embeddings_request(self, request: EmbeddingsRequest) -> HTTPRequest:
        """``POST .../embeddings`` on the deployment or v1 path; the body is OpenAI's."""
        body = build_embeddings_body(request, provider=self.name, limit=self.max_embeddings_inputs)
        url = self._azure_endpoint.url("embeddings", request.model)
        return self.http_request(url, body, stream=False)

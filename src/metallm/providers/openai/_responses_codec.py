"""The OpenAI Responses API codec: ``POST {base_url}/responses``, beside Chat Completions.

:class:`OpenAIResponsesProvider` is :class:`~metallm.providers.openai.OpenAIProvider` with
another chat wire format: it builds ``/responses`` bodies (``_responses_request``), parses
``response`` objects (``_responses_response``) and decodes the semantic event stream
(``_responses_stream``). Everything else is inherited unchanged: the name (``openai``, so
telemetry reports ``gen_ai.provider.name=openai``, prices are OpenAI's and reasoning parts are
stamped ``openai``), headers and key handling, error parsing, embeddings
(``POST {base_url}/embeddings``), token counting and the ``openai.*`` span attributes (the
tier that served the call; the Responses API has no system fingerprint).

Reuse for another endpoint that speaks the Responses API (Azure OpenAI's ``/openai/v1``, a
proxy) takes class attributes, not a copy: a subclass sets ``name`` (the issuer its reasoning
items are kept under, and the name errors carry), ``default_base_url``, ``semconv_name``,
``responses_path`` (appended to the base URL) or overrides :meth:`responses_url` (a path with
a query, say ``?api-version=...``), and :meth:`auth_headers` (an ``api-key`` header instead of
``Bearer``), exactly as it would on :class:`OpenAIProvider`.
"""

from __future__ import annotations

from ...provider import HTTPRequest, ProviderSettings
from ...types import ChatCompletionRequest
from ._responses_request import build_responses_body
from ._responses_response import parse_responses_reply
from ._responses_stream import ResponsesStreamDecoder
from .codec import OpenAIProvider

__all__ = ["OpenAIResponsesProvider"]


class OpenAIResponsesProvider(OpenAIProvider):
    """OpenAI's Responses API as a sans-IO codec (``Client(provider="openai",
    extra={"api": "responses"})`` or ``Client(provider="openai_responses")``).

    ``settings.extra`` takes what :class:`OpenAIProvider` takes (``organization``, ``project``,
    ``headers``) plus ``api`` (``"responses"``, which chose this codec).
    """

    responses_path = "/responses"
    """Appended to the base URL for chat calls (the default :meth:`responses_url`)."""

    def __init__(self, settings: ProviderSettings) -> None:
        super().__init__(settings)
        self._url = self.responses_url()

    def responses_url(self) -> str:
        """The URL chat calls go to: the base URL plus :attr:`responses_path`."""
        return f"{self.base_url}{self.responses_path}"

    def build_request(self, request: ChatCompletionRequest, *, stream: bool) -> HTTPRequest:
        """The ``/responses`` request for ``request``; fields the Responses API lacks raise
        ``UnsupportedFeatureError`` before any I/O (see ``_responses_request``)."""
        body = build_responses_body(request, provider=self.name, stream=stream)
        return self.http_request(self._url, body, stream=stream)

    completion_parser = staticmethod(parse_responses_reply)
    decoder_class = ResponsesStreamDecoder

"""The Responses API on Azure OpenAI: ``provider="azure_openai", extra={"api": "responses"}``.

The Azure half (:class:`~metallm.providers.azure_openai.AzureOpenAICodec`: endpoint, ``api-key``
or Entra ID token, secrets, ``azure.ai.openai`` in telemetry) over OpenAI's Responses codec
(:class:`~metallm.providers.openai._responses_codec.OpenAIResponsesProvider`): requests go to
``{endpoint}/openai/v1/responses`` (or the dated ``/openai/responses?api-version=``), bodies,
replies and stream events are OpenAI's, and reasoning items are kept under this codec's name
(``azure_openai``), so they go back to Azure only. Embeddings stay on Azure's own paths.
"""

from __future__ import annotations

from ...provider import ProviderSettings, SpanAttributes
from ..openai._responses_codec import OpenAIResponsesProvider
from .codec import AzureOpenAICodec, AzureOpenAIProvider

__all__ = ["AzureResponsesProvider"]


class AzureResponsesProvider(AzureOpenAICodec, OpenAIResponsesProvider):
    """Azure OpenAI's Responses API as a sans-IO codec (settings as for
    :class:`~metallm.providers.azure_openai.AzureOpenAIProvider`, with ``api="responses"``)."""

    name = "azure_openai"
    default_base_url = ""
    sends_openai_headers = False
    span_attributes: SpanAttributes | None = None
    build_embeddings_request = AzureOpenAIProvider.build_embeddings_request

    def __init__(self, settings: ProviderSettings) -> None:
        super().__init__(self._init_azure(settings))

    def responses_url(self) -> str:
        """``{endpoint}/openai/v1/responses`` (or the dated path with its ``api-version``)."""
        return self.endpoint.url("responses")

"""The registry factory of ``azure_openai``: which wire format a client speaks on Azure.

Chat Completions by default; the Responses API with ``extra={"api": "responses"}``
(:mod:`._responses`, imported only then). Kept apart from the codec modules so neither imports
the other's factory.
"""

from __future__ import annotations

from ...provider import HTTPCodec, ProviderSettings
from .codec import AzureOpenAIProvider

__all__ = ["create"]


def create(settings: ProviderSettings) -> HTTPCodec:
    """Registry factory (``metallm.providers.azure_openai:create``)."""
    if settings.extra.get("api") == "responses":
        from ._responses import AzureResponsesProvider

        return AzureResponsesProvider(settings)
    return AzureOpenAIProvider(settings)

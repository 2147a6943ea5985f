"""The registry factories of the OpenAI provider: which chat API a client speaks.

``Client(provider="openai")`` speaks Chat Completions; ``extra={"api": "responses"}`` (or
``provider="openai_responses"``) the Responses API. Any other ``api`` value is a
:class:`~metallm.ConfigurationError` at construction, naming the values. The Responses codec is
imported only when it is chosen, so a Chat Completions client never loads its modules.
"""

from __future__ import annotations

from ...errors import ConfigurationError
from ...provider import ProviderSettings
from .codec import OpenAIProvider

__all__ = ["APIS", "create", "create_responses"]

APIS = ("chat_completions", "responses")
"""The values of ``extra["api"]``: which OpenAI chat API a client speaks."""


def _api(settings: ProviderSettings, default: str) -> str:
    api = settings.extra.get("api", default)
    if api not in APIS:
        raise ConfigurationError(
            f"{settings.name}: extra['api'] must be one of {', '.join(map(repr, APIS))} "
            f"(got {api!r})"
        )
    return str(api)


def create(settings: ProviderSettings) -> OpenAIProvider:
    """Registry factory (``metallm.providers.openai:create``): Chat Completions, or the
    Responses API with ``extra={"api": "responses"}``."""
    if _api(settings, "chat_completions") == "responses":
        return create_responses(settings)
    return OpenAIProvider(settings)


def create_responses(settings: ProviderSettings) -> OpenAIProvider:
    """Registry factory of ``openai_responses`` (``metallm.providers.openai:create_responses``):
    the Responses API; ``extra["api"]``, when given, must say so."""
    if _api(settings, "responses") != "responses":
        raise ConfigurationError(
            f"provider {settings.name!r} is the Responses API: use provider='openai' "
            "for Chat Completions (or leave extra['api'] out)"
        )
    from ._responses_codec import OpenAIResponsesProvider

    return OpenAIResponsesProvider(settings)

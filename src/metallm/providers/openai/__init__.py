"""OpenAI: the built-in ``openai`` provider (sans-IO codecs for Chat Completions and the
Responses API).

The registry builds it through :func:`create` (``"metallm.providers.openai:create"``; the
Responses API with ``extra={"api": "responses"}``) and :func:`create_responses`
(``openai_responses``). :class:`OpenAIResponsesProvider` is imported on first use, so a Chat
Completions client never loads the Responses modules.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._factory import APIS, create, create_responses
from .codec import DEFAULT_BASE_URL, OpenAIProvider

if TYPE_CHECKING:
    from ._responses_codec import OpenAIResponsesProvider

__all__ = [
    "APIS",
    "DEFAULT_BASE_URL",
    "OpenAIProvider",
    "OpenAIResponsesProvider",
    "create",
    "create_responses",
]


def __getattr__(name: str) -> Any:
    if name == "OpenAIResponsesProvider":
        from ._responses_codec import OpenAIResponsesProvider

        return OpenAIResponsesProvider
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

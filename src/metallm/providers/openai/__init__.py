"""OpenAI Chat Completions: the built-in ``openai`` provider (a sans-IO codec).

The registry builds it through :func:`create` (``"metallm.providers.openai:create"``).
"""

from .codec import DEFAULT_BASE_URL, OpenAIProvider, create

__all__ = ["DEFAULT_BASE_URL", "OpenAIProvider", "create"]

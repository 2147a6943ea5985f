"""xAI (Grok): the built-in ``xai`` provider, an OpenAI-compatible sans-IO codec.

The registry builds it through :func:`create` (``"metallm.providers.xai:create"``).
"""

from .codec import DEFAULT_BASE_URL, XAIProvider, create

__all__ = ["DEFAULT_BASE_URL", "XAIProvider", "create"]

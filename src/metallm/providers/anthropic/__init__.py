"""Anthropic Messages: the built-in ``anthropic`` provider (a sans-IO codec).

The registry builds it through :func:`create` (``"metallm.providers.anthropic:create"``), with
``ANTHROPIC_API_KEY`` and the default base URL ``https://api.anthropic.com``.
"""

from .codec import DEFAULT_BASE_URL, AnthropicProvider, create

__all__ = ["DEFAULT_BASE_URL", "AnthropicProvider", "create"]

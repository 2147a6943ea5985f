"""Ollama: the built-in ``ollama`` provider, a sans-IO codec for ``POST {base}/api/chat``.

The registry builds it through :func:`create` (``"metallm.providers.ollama:create"``); no key
is needed, the base URL comes from ``OLLAMA_HOST`` (default ``http://localhost:11434``).
"""

from .codec import DEFAULT_BASE_URL, OllamaProvider, create, normalize_host

__all__ = ["DEFAULT_BASE_URL", "OllamaProvider", "create", "normalize_host"]

"""Google Gemini (Gemini API and Vertex AI): the built-in ``gemini`` provider (a sans-IO codec).

The registry builds it through :func:`create` (``"metallm.providers.gemini:create"``), with the
key from ``GEMINI_API_KEY`` then ``GOOGLE_API_KEY`` and :data:`DEFAULT_BASE_URL`.
"""

from .codec import API_KEY_ENV, DEFAULT_BASE_URL, GeminiProvider, create

__all__ = ["API_KEY_ENV", "DEFAULT_BASE_URL", "GeminiProvider", "create"]

"""The xAI (Grok) provider: xAI's OpenAI-compatible Chat Completions API.

Everything is inherited from :class:`~metallm.providers.openai.OpenAIProvider`; xAI differs
only in its name (``x_ai`` in telemetry), its default endpoint, taking ``max_tokens`` (not
``max_completion_tokens``) and having no OpenAI organization/project headers. Its replies
carry reasoning text as ``reasoning_content`` (message and stream deltas) and report
``completion_tokens`` without the reasoning tokens; the shared parser handles both (see
``openai/_response.py``).

It reports no ``openai.*`` span attributes: the conventions define those on their OpenAI page,
for spans whose ``gen_ai.provider.name`` is ``openai``, and an ``x_ai`` span carrying
``openai.response.system_fingerprint`` would claim an OpenAI backend served it. (The official
OpenAI instrumentation sets them for whatever the ``openai`` SDK talks to, but it also reports
such calls as ``openai``: it cannot tell.) The fingerprint stays on the response for users.
"""

from __future__ import annotations

from ...provider import ProviderSettings
from ..openai.codec import OpenAIProvider

__all__ = ["DEFAULT_BASE_URL", "XAIProvider", "create"]

DEFAULT_BASE_URL = "https://api.x.ai/v1"


class XAIProvider(OpenAIProvider):
    """xAI Chat Completions as a sans-IO codec (``settings.extra`` as for OpenAI, minus
    ``organization``/``project``)."""

    name = "xai"
    semconv_name = "x_ai"
    default_base_url = DEFAULT_BASE_URL
    max_tokens_field = "max_tokens"
    sends_openai_headers = False
    # xAI's Chat Completions reference documents text and image parts only: files reach Grok
    # through its Files API (by file id, attachment search) and audio through its voice API,
    # neither as inline chat parts. PDF documents and audio are refused before any I/O;
    # plain-text documents still go, as text parts (the shared codec's rule).
    accepts_files = False
    accepts_audio = False
    span_attributes = None  # no openai.* attributes on an x_ai span (see the module docstring)
    # Embeddings: xAI's API reference documents POST /v1/embeddings with OpenAI's fields and
    # reply, so the OpenAI implementation is inherited. It states no per-request input limit;
    # OpenAI's 2,048 is used.
    max_embeddings_inputs = 2048

    def token_encoding(self, model: str) -> str | None:
        """None: Grok's tokenizer is not tiktoken's, so xAI requests are estimated."""
        return None


def create(settings: ProviderSettings) -> XAIProvider:
    """Registry factory (``metallm.providers.xai:create``)."""
    return XAIProvider(settings)

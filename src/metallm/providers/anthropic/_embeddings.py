"""Embeddings for the Anthropic codec: there are none, and the error says where to go instead.

Anthropic's documentation ("Embeddings", https://platform.claude.com/docs/en/build-with-claude/
embeddings) states that Anthropic does not offer its own embedding model and points to Voyage AI
as the embeddings provider to use. The codec still implements the embeddings protocol, so that
a client asking for embeddings gets an :class:`~metallm.UnsupportedFeatureError` before any I/O
that names that route, rather than a request to an endpoint that does not exist.
"""

from __future__ import annotations

from ...errors import UnsupportedFeatureError

__all__ = ["MAX_EMBEDDINGS_INPUTS", "VOYAGE_HINT", "embeddings_unsupported"]

MAX_EMBEDDINGS_INPUTS = 2048
"""Only keeps a caller's batching arithmetic sane: every embeddings request is refused."""

VOYAGE_HINT = (
    "embeddings: Anthropic offers no embedding model; its documentation points to Voyage AI "
    "(https://docs.voyageai.com, an OpenAI-compatible /v1/embeddings API) for embeddings"
)


def embeddings_unsupported(provider: str) -> UnsupportedFeatureError:
    """The error every Anthropic embeddings call raises, naming Voyage AI."""
    return UnsupportedFeatureError(provider, VOYAGE_HINT)

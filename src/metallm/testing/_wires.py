"""Importing this module registers every built-in wire format with :mod:`metallm.testing.wire`.

The fake server imports it once; each wire module registers its renderers (and request
gates) when it is first imported, and later registrations take precedence. A flavour of a
wire format (Azure's, Mistral's) imports the module it builds on, so the generic
registration (``/chat/completions``) always comes first and the specific paths win.
"""

from metallm.testing import (
    wire_anthropic,  # noqa: F401  (registers the Anthropic wire format)
    wire_azure,  # noqa: F401  (registers the Azure OpenAI paths and their credential checks)
    wire_bedrock,  # noqa: F401  (registers the Bedrock Converse wire format)
    wire_compatible,  # noqa: F401  (registers Mistral's flavour of Chat Completions)
    wire_embeddings,  # noqa: F401  (registers every provider's embeddings wire format)
    wire_gemini,  # noqa: F401  (registers the Gemini wire format)
    wire_ollama,  # noqa: F401  (registers the Ollama wire format)
    wire_openai,  # noqa: F401  (registers the OpenAI/xAI wire format)
    wire_responses,  # noqa: F401  (registers the OpenAI Responses API wire format)
    wire_tokens,  # noqa: F401  (registers the token-counting wire formats)
)

__all__: list[str] = []

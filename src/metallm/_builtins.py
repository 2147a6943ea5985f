"""The built-in providers' specs, registered through the same registry third parties use.

Importing this module registers them (``metallm/__init__.py`` does, so ``import metallm`` is
enough); the registry itself never imports it, so the two do not import each other. A spec is
a plain value: its factory and Ollama's host normaliser are ``"module:attribute"`` strings, so
no codec module is imported until a client first uses that provider, and ``import metallm``
pays nothing for providers it never calls.
"""

from __future__ import annotations

from .provider import ProviderSpec, register

__all__ = ["BUILTIN_SPECS"]

BUILTIN_SPECS: tuple[ProviderSpec, ...] = (
    ProviderSpec(
        "openai",
        "metallm.providers.openai:create",
        default_base_url="https://api.openai.com/v1",
        api_key_env=("OPENAI_API_KEY",),
        base_url_env=("OPENAI_BASE_URL",),
    ),
    ProviderSpec(
        "anthropic",
        "metallm.providers.anthropic:create",
        default_base_url="https://api.anthropic.com",
        api_key_env=("ANTHROPIC_API_KEY",),
        base_url_env=("ANTHROPIC_BASE_URL",),
    ),
    ProviderSpec(
        "bedrock",
        "metallm.providers.bedrock:create",
        base_url_env=("AWS_ENDPOINT_URL_BEDROCK_RUNTIME",),
        requires_key=False,
        requires_base_url=False,
    ),
    ProviderSpec(
        "gemini",
        "metallm.providers.gemini:create",
        default_base_url="https://generativelanguage.googleapis.com",
        api_key_env=("GEMINI_API_KEY", "GOOGLE_API_KEY"),
        base_url_env=("GEMINI_BASE_URL",),
    ),
    ProviderSpec(
        "ollama",
        "metallm.providers.ollama:create",
        default_base_url="http://localhost:11434",
        api_key_env=("OLLAMA_API_KEY",),
        base_url_env=("OLLAMA_HOST",),
        requires_key=False,
        normalize_base_url="metallm.providers.ollama:normalize_host",
    ),
    ProviderSpec(
        "xai",
        "metallm.providers.xai:create",
        default_base_url="https://api.x.ai/v1",
        api_key_env=("XAI_API_KEY",),
        base_url_env=("XAI_BASE_URL",),
    ),
)

for _spec in BUILTIN_SPECS:
    register(_spec, replace=True)

"""The built-in providers' specs, registered through the same registry third parties use.

Importing this module registers them (``metallm/__init__.py`` does, so ``import metallm`` is
enough); the registry itself never imports it, so the two do not import each other. A spec is
a plain value: its factory and Ollama's host normaliser are ``"module:attribute"`` strings, so
no codec module is imported until a client first uses that provider, and ``import metallm``
pays nothing for providers it never calls.
"""

from __future__ import annotations

from typing import Any

from .provider import ProviderSpec, register

__all__ = ["BUILTIN_SPECS"]


def _spec(
    name: str, base_url: str, key_env: tuple[str, ...], url_env: tuple[str, ...], **more: Any
) -> ProviderSpec:
    """A built-in spec: its codec is ``metallm.providers.<name>:create``."""
    return ProviderSpec(
        name,
        f"metallm.providers.{name}:create",
        default_base_url=base_url,
        api_key_env=key_env,
        base_url_env=url_env,
        **more,
    )


BUILTIN_SPECS: tuple[ProviderSpec, ...] = (
    _spec("openai", "https://api.openai.com/v1", ("OPENAI_API_KEY",), ("OPENAI_BASE_URL",)),
    _spec(
        "anthropic", "https://api.anthropic.com", ("ANTHROPIC_API_KEY",), ("ANTHROPIC_BASE_URL",)
    ),
    # Bedrock derives its endpoint from the region and signs with AWS credentials
    _spec(
        "bedrock",
        "",
        (),
        ("AWS_ENDPOINT_URL_BEDROCK_RUNTIME",),
        requires_key=False,
        requires_base_url=False,
    ),
    _spec(
        "gemini",
        "https://generativelanguage.googleapis.com",
        ("GEMINI_API_KEY", "GOOGLE_API_KEY"),
        ("GEMINI_BASE_URL",),
    ),
    _spec(
        "ollama",
        "http://localhost:11434",
        ("OLLAMA_API_KEY",),
        ("OLLAMA_HOST",),
        requires_key=False,
        normalize_base_url="metallm.providers.ollama:normalize_host",
    ),
    _spec("xai", "https://api.x.ai/v1", ("XAI_API_KEY",), ("XAI_BASE_URL",)),
    # Named OpenAI-compatible services: one codec, shaped by each one's preset record
    # (metallm/providers/compatible/_presets.py); the default base URL and key variable each
    # service's documentation gives. openai_compatible is any server: base_url required,
    # key optional.
    *(
        ProviderSpec(
            name,
            "metallm.providers.compatible:create",
            default_base_url=url,
            api_key_env=(key,) if key else (),
            requires_key=bool(key),
        )
        for name, url, key in (
            ("groq", "https://api.groq.com/openai/v1", "GROQ_API_KEY"),
            ("mistral", "https://api.mistral.ai/v1", "MISTRAL_API_KEY"),
            ("deepseek", "https://api.deepseek.com", "DEEPSEEK_API_KEY"),
            ("openrouter", "https://openrouter.ai/api/v1", "OPENROUTER_API_KEY"),
            ("together", "https://api.together.xyz/v1", "TOGETHER_API_KEY"),
            ("fireworks", "https://api.fireworks.ai/inference/v1", "FIREWORKS_API_KEY"),
            ("cerebras", "https://api.cerebras.ai/v1", "CEREBRAS_API_KEY"),
            ("perplexity", "https://api.perplexity.ai", "PERPLEXITY_API_KEY"),
            ("openai_compatible", "", ""),
        )
    ),
    # Azure OpenAI: no default endpoint (each resource has its own) and a key OR an Entra ID
    # token provider in extra, so the codec itself says what is missing
    _spec(
        "azure_openai",
        "",
        ("AZURE_OPENAI_API_KEY",),
        ("AZURE_OPENAI_ENDPOINT",),
        requires_key=False,
        requires_base_url=False,
    ),
    # the Responses API of OpenAI: the same provider as ``openai`` with extra={"api": "responses"}
    ProviderSpec(
        "openai_responses",
        "metallm.providers.openai:create_responses",
        default_base_url="https://api.openai.com/v1",
        api_key_env=("OPENAI_API_KEY",),
        base_url_env=("OPENAI_BASE_URL",),
    ),
)

for _builtin in BUILTIN_SPECS:
    register(_builtin, replace=True)

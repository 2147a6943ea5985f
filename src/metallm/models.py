"""Model-name constants and a small offline catalog (context window, output cap, modalities).

Constants are plain strings, so any model name works too; the catalog helps programs choose
``max_tokens`` or check image support without a network call. Figures are the providers'
published limits at the time of writing; :func:`model_info` returns None for unknown names.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "BEDROCK_CLAUDE_SONNET_4_5",
    "BEDROCK_TITAN_TEXT_EXPRESS",
    "CATALOG",
    "CLAUDE_3_5_HAIKU",
    "CLAUDE_3_7_SONNET",
    "CLAUDE_3_HAIKU",
    "CLAUDE_3_OPUS",
    "CLAUDE_3_SONNET",
    "CLAUDE_HAIKU_4_5",
    "CLAUDE_OPUS_4",
    "CLAUDE_OPUS_4_1",
    "CLAUDE_OPUS_4_5",
    "CLAUDE_SONNET_4",
    "CLAUDE_SONNET_4_5",
    "GEMINI_1_5_FLASH",
    "GEMINI_1_5_PRO",
    "GEMINI_2_0_FLASH",
    "GEMINI_2_5_FLASH",
    "GEMINI_2_5_FLASH_LITE",
    "GEMINI_2_5_PRO",
    "GPT_3_5_TURBO",
    "GPT_4O",
    "GPT_4O_MINI",
    "GPT_4_1",
    "GPT_4_1_MINI",
    "GPT_4_1_NANO",
    "GPT_4_TURBO",
    "GPT_5",
    "GPT_5_MINI",
    "GPT_5_NANO",
    "GROK_2",
    "GROK_2_VISION",
    "GROK_3",
    "GROK_3_MINI",
    "GROK_4",
    "GROK_4_0709",
    "GROK_4_1_FAST_NON_REASONING",
    "GROK_4_1_FAST_REASONING",
    "GROK_4_FAST_NON_REASONING",
    "GROK_4_FAST_REASONING",
    "GROK_CODE_FAST",
    "O3",
    "O3_MINI",
    "O4_MINI",
    "OLLAMA_CODELLAMA",
    "OLLAMA_DEEPSEEK_CODER",
    "OLLAMA_GEMMA3",
    "OLLAMA_LLAMA3",
    "OLLAMA_LLAMA3_1",
    "OLLAMA_MISTRAL",
    "OLLAMA_QWEN2_5",
    "ModelInfo",
    "model_info",
]

# OpenAI
GPT_5 = "gpt-5"
GPT_5_MINI = "gpt-5-mini"
GPT_5_NANO = "gpt-5-nano"
GPT_4_1 = "gpt-4.1"
GPT_4_1_MINI = "gpt-4.1-mini"
GPT_4_1_NANO = "gpt-4.1-nano"
GPT_4O = "gpt-4o"
GPT_4O_MINI = "gpt-4o-mini"
GPT_4_TURBO = "gpt-4-turbo"
GPT_3_5_TURBO = "gpt-3.5-turbo"
O3 = "o3"
O3_MINI = "o3-mini"
O4_MINI = "o4-mini"
# Anthropic
CLAUDE_OPUS_4_5 = "claude-opus-4-5"
CLAUDE_SONNET_4_5 = "claude-sonnet-4-5"
CLAUDE_HAIKU_4_5 = "claude-haiku-4-5"
CLAUDE_OPUS_4_1 = "claude-opus-4-1"
CLAUDE_OPUS_4 = "claude-opus-4-0"
CLAUDE_SONNET_4 = "claude-sonnet-4-0"
CLAUDE_3_7_SONNET = "claude-3-7-sonnet-latest"
CLAUDE_3_5_HAIKU = "claude-3-5-haiku-latest"
CLAUDE_3_OPUS = "claude-3-opus-20240229"
CLAUDE_3_SONNET = "claude-3-sonnet-20240229"
CLAUDE_3_HAIKU = "claude-3-haiku-20240307"
# Google Gemini
GEMINI_2_5_PRO = "gemini-2.5-pro"
GEMINI_2_5_FLASH = "gemini-2.5-flash"
GEMINI_2_5_FLASH_LITE = "gemini-2.5-flash-lite"
GEMINI_2_0_FLASH = "gemini-2.0-flash"
GEMINI_1_5_PRO = "gemini-1.5-pro"
GEMINI_1_5_FLASH = "gemini-1.5-flash"
# xAI
GROK_4_1_FAST_REASONING = "grok-4-1-fast-reasoning"
GROK_4_1_FAST_NON_REASONING = "grok-4-1-fast-non-reasoning"
GROK_4 = "grok-4"
GROK_4_0709 = "grok-4-0709"
GROK_4_FAST_REASONING = "grok-4-fast-reasoning"
GROK_4_FAST_NON_REASONING = "grok-4-fast-non-reasoning"
GROK_CODE_FAST = "grok-code-fast-1"
GROK_3 = "grok-3"
GROK_3_MINI = "grok-3-mini"
GROK_2 = "grok-2-1212"
GROK_2_VISION = "grok-2-vision-1212"
# Ollama (local)
OLLAMA_LLAMA3 = "llama3"
OLLAMA_LLAMA3_1 = "llama3.1"
OLLAMA_MISTRAL = "mistral"
OLLAMA_CODELLAMA = "codellama"
OLLAMA_GEMMA3 = "gemma3"
OLLAMA_QWEN2_5 = "qwen2.5"
OLLAMA_DEEPSEEK_CODER = "deepseek-coder"
# AWS Bedrock
BEDROCK_CLAUDE_SONNET_4_5 = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"
BEDROCK_TITAN_TEXT_EXPRESS = "amazon.titan-text-express-v1"

# Embedding models (for ``create_embeddings``)
TEXT_EMBEDDING_3_SMALL = "text-embedding-3-small"
TEXT_EMBEDDING_3_LARGE = "text-embedding-3-large"
GEMINI_EMBEDDING_001 = "gemini-embedding-001"
OLLAMA_NOMIC_EMBED_TEXT = "nomic-embed-text"
BEDROCK_TITAN_EMBED_TEXT_V2 = "amazon.titan-embed-text-v2:0"
BEDROCK_COHERE_EMBED_ENGLISH_V3 = "cohere.embed-english-v3"


@dataclass(frozen=True)
class ModelInfo:
    """What the catalog knows of a model."""

    name: str
    provider: str
    context_window: int
    max_output_tokens: int
    modalities: tuple[str, ...] = ("text",)
    reasoning: bool = False

    @property
    def supports_images(self) -> bool:
        """Whether the model takes image input."""
        return "image" in self.modalities


_TI = ("text", "image")


def _m(
    name: str, provider: str, ctx: int, out: int, mods: tuple[str, ...] = _TI, r: bool = False
) -> ModelInfo:
    return ModelInfo(name, provider, ctx, out, mods, r)


CATALOG: dict[str, ModelInfo] = {
    m.name: m
    for m in (
        _m(GPT_5, "openai", 400_000, 128_000, r=True),
        _m(GPT_5_MINI, "openai", 400_000, 128_000, r=True),
        _m(GPT_5_NANO, "openai", 400_000, 128_000, r=True),
        _m(GPT_4_1, "openai", 1_047_576, 32_768),
        _m(GPT_4_1_MINI, "openai", 1_047_576, 32_768),
        _m(GPT_4_1_NANO, "openai", 1_047_576, 32_768),
        _m(GPT_4O, "openai", 128_000, 16_384),
        _m(GPT_4O_MINI, "openai", 128_000, 16_384),
        _m(GPT_4_TURBO, "openai", 128_000, 4_096),
        _m(GPT_3_5_TURBO, "openai", 16_385, 4_096, ("text",)),
        _m(O3, "openai", 200_000, 100_000, r=True),
        _m(O3_MINI, "openai", 200_000, 100_000, ("text",), r=True),
        _m(O4_MINI, "openai", 200_000, 100_000, r=True),
        _m(CLAUDE_OPUS_4_5, "anthropic", 200_000, 64_000, r=True),
        _m(CLAUDE_SONNET_4_5, "anthropic", 200_000, 64_000, r=True),
        _m(CLAUDE_HAIKU_4_5, "anthropic", 200_000, 64_000, r=True),
        _m(CLAUDE_OPUS_4_1, "anthropic", 200_000, 32_000, r=True),
        _m(CLAUDE_OPUS_4, "anthropic", 200_000, 32_000, r=True),
        _m(CLAUDE_SONNET_4, "anthropic", 200_000, 64_000, r=True),
        _m(CLAUDE_3_7_SONNET, "anthropic", 200_000, 64_000, r=True),
        _m(CLAUDE_3_5_HAIKU, "anthropic", 200_000, 8_192),
        _m(CLAUDE_3_OPUS, "anthropic", 200_000, 4_096),
        _m(CLAUDE_3_SONNET, "anthropic", 200_000, 4_096),
        _m(CLAUDE_3_HAIKU, "anthropic", 200_000, 4_096),
        _m(GEMINI_2_5_PRO, "gemini", 1_048_576, 65_536, ("text", "image", "audio", "video"), True),
        _m(
            GEMINI_2_5_FLASH, "gemini", 1_048_576, 65_536, ("text", "image", "audio", "video"), True
        ),
        _m(
            GEMINI_2_5_FLASH_LITE,
            "gemini",
            1_048_576,
            65_536,
            ("text", "image", "audio", "video"),
            True,
        ),
        _m(GEMINI_2_0_FLASH, "gemini", 1_048_576, 8_192, ("text", "image", "audio", "video")),
        _m(GEMINI_1_5_PRO, "gemini", 2_097_152, 8_192, ("text", "image", "audio", "video")),
        _m(GEMINI_1_5_FLASH, "gemini", 1_048_576, 8_192, ("text", "image", "audio", "video")),
        _m(GROK_4_1_FAST_REASONING, "xai", 2_000_000, 30_000, r=True),
        _m(GROK_4_1_FAST_NON_REASONING, "xai", 2_000_000, 30_000),
        _m(GROK_4, "xai", 256_000, 64_000, r=True),
        _m(GROK_4_0709, "xai", 256_000, 64_000, r=True),
        _m(GROK_4_FAST_REASONING, "xai", 2_000_000, 30_000, r=True),
        _m(GROK_4_FAST_NON_REASONING, "xai", 2_000_000, 30_000),
        _m(GROK_CODE_FAST, "xai", 256_000, 10_000, ("text",), True),
        _m(GROK_3, "xai", 131_072, 16_384, ("text",)),
        _m(GROK_3_MINI, "xai", 131_072, 16_384, ("text",), True),
        _m(GROK_2, "xai", 131_072, 16_384, ("text",)),
        _m(GROK_2_VISION, "xai", 32_768, 8_192),
        _m(OLLAMA_LLAMA3, "ollama", 8_192, 2_048, ("text",)),
        _m(OLLAMA_LLAMA3_1, "ollama", 131_072, 2_048, ("text",)),
        _m(OLLAMA_MISTRAL, "ollama", 32_768, 2_048, ("text",)),
        _m(OLLAMA_CODELLAMA, "ollama", 16_384, 2_048, ("text",)),
        _m(OLLAMA_GEMMA3, "ollama", 131_072, 8_192),
        _m(OLLAMA_QWEN2_5, "ollama", 32_768, 8_192, ("text",)),
        _m(OLLAMA_DEEPSEEK_CODER, "ollama", 16_384, 2_048, ("text",)),
        _m(BEDROCK_CLAUDE_SONNET_4_5, "bedrock", 200_000, 64_000, r=True),
        _m(BEDROCK_TITAN_TEXT_EXPRESS, "bedrock", 8_192, 8_192, ("text",)),
    )
}


def model_info(name: str) -> ModelInfo | None:
    """Catalog entry for ``name``; a dated variant (``gpt-4o-2024-08-06``) finds its base."""
    if name in CATALOG:
        return CATALOG[name]
    best = max((k for k in CATALOG if name.startswith(k + "-")), key=len, default=None)
    return CATALOG[best] if best else None

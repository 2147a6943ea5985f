"""What each named OpenAI-compatible service differs in: one small record per service.

The registry half of a preset (its name, default base URL and key variable) lives in
``metallm._builtins``, so that ``import metallm`` knows the names without importing a codec;
this half is what the codec needs on the wire. Everything not stated here is OpenAI's Chat
Completions as :class:`~metallm.providers.openai.OpenAIProvider` speaks it. Each record says
only what its service's own reference documents, and cites it (``reference``): a field the
reference says the service rejects is refused before any I/O
(:class:`~metallm.UnsupportedFeatureError`), never sent to fail or silently dropped.

``semconv_name`` is the ``gen_ai.provider.name`` the GenAI semantic conventions list for the
service (``groq``, ``mistral_ai``, ``deepseek``, ``perplexity``: the well-known values of
``opentelemetry-semantic-conventions``' ``GenAiProviderNameValues``), else the preset's name, as
the conventions ask for a provider they do not list.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["PRESETS", "Preset", "preset_for"]


@dataclass(frozen=True)
class Preset:
    """One service's differences from OpenAI's Chat Completions (see the module docstring)."""

    name: str
    semconv_name: str
    reference: str
    """The page (or pages) of the service's own documentation the record follows."""
    max_tokens_field: str = "max_tokens"
    """The body field ``request.max_tokens`` is sent as."""
    refuses: tuple[str, ...] = ()
    """Unified request fields the service rejects (``top_k`` is always refused unless
    :attr:`takes_top_k`: OpenAI's own reference has no such field)."""
    refuses_extra: tuple[str, ...] = ()
    """Body fields, passed through ``request.extra``, that the service rejects."""
    takes_top_k: bool = False
    """Whether the service documents ``top_k`` (sent as is)."""
    single_choice: bool = False
    """Whether ``n`` must be 1."""
    named_roles: frozenset[str] | None = None
    """The roles whose messages may carry ``name`` (None: every role)."""
    images: bool = True
    """Whether user messages may carry image parts."""
    files: bool = False
    """Whether PDF documents go as OpenAI ``file`` parts (else refused; text documents always
    go as text parts)."""
    audio: bool = False
    """Whether audio goes as OpenAI ``input_audio`` parts (else refused)."""
    seed_field: str = "seed"
    """The body field ``request.seed`` is sent as."""
    stream_usage_option: bool = True
    """Whether streams ask for usage with ``stream_options.include_usage`` (a service that
    rejects the option and reports usage on its last chunk anyway says False)."""
    reasoning_back: bool = False
    """Whether an assistant message's ``reasoning_content`` goes back in later requests."""
    thinking_chunks: bool = False
    """Whether replies may carry reasoning as ``{"type": "thinking"}`` content chunks."""
    headers_from_extra: tuple[tuple[str, str], ...] = ()
    """``(extra key, header)`` pairs: client settings sent as headers on every request."""
    embeddings: bool = False
    """Whether ``POST {base_url}/embeddings`` is offered (else embeddings are refused)."""
    tiktoken: bool = False
    """Whether OpenAI model names (``openai/gpt-4o``) mean OpenAI's models, counted exactly
    with tiktoken; else requests are estimated."""


PRESETS: dict[str, Preset] = {
    p.name: p
    for p in (
        Preset(
            "groq",
            "groq",
            "https://console.groq.com/docs/openai; groq-python chat.completions.create parameters",
            max_tokens_field="max_completion_tokens",  # max_tokens: deprecated in its favour
            refuses_extra=("logprobs", "logit_bias", "top_logprobs"),  # "will result in a 400"
            single_choice=True,  # "If N is supplied, it must be equal to 1"
            named_roles=frozenset(),  # messages[].name: "will result in a 400"
        ),
        Preset(
            "mistral",
            "mistral_ai",
            "https://docs.mistral.ai/api/endpoint/chat; mistralai/client-python "
            "ChatCompletionStreamRequest (the schema forbids any other field)",
            refuses=("user",),
            named_roles=frozenset({"tool"}),
            seed_field="random_seed",
            stream_usage_option=False,  # not in the schema; usage comes on the last chunk
            thinking_chunks=True,
        ),
        Preset(
            "deepseek",
            "deepseek",
            "https://api-docs.deepseek.com/guides/thinking_mode; content parts are text only "
            "(an image part is a 400: unknown variant `image_url`, expected `text`)",
            images=False,  # message content is text
            reasoning_back=True,  # required back after tool calls, ignored otherwise
        ),
        Preset(
            "openrouter",
            "openrouter",
            "https://openrouter.ai/docs/api-reference/overview, "
            "https://openrouter.ai/docs/app-attribution",
            takes_top_k=True,
            files=True,  # PDF inputs as OpenAI "file" parts
            audio=True,  # audio inputs as "input_audio" parts
            headers_from_extra=(("app_url", "HTTP-Referer"), ("app_title", "X-Title")),
            tiktoken=True,
        ),
        Preset(
            "together",
            "together",
            "https://docs.together.ai/reference/chat-completions-1; "
            "together-python ChatCompletionRequest",
            takes_top_k=True,
        ),
        Preset(
            "fireworks",
            "fireworks",
            "https://docs.fireworks.ai/tools-sdks/openai-compatibility",
            takes_top_k=True,
        ),
        Preset(
            "cerebras",
            "cerebras",
            "https://inference-docs.cerebras.ai/resources/openai; cerebras-cloud-sdk-python "
            "chat.completions parameters",
            max_tokens_field="max_completion_tokens",  # max_tokens: deprecated in its favour
        ),
        Preset(
            "perplexity",
            "perplexity",
            "https://docs.perplexity.ai/docs/sonar/openai-compatibility (Sonar runs no tools)",
            refuses=("tools", "tool_choice"),  # Sonar takes no tools
        ),
        Preset(
            "openai_compatible",
            "openai_compatible",
            "any Chat Completions server (vLLM, LM Studio, llama.cpp server, a LiteLLM proxy)",
            takes_top_k=True,  # vLLM, llama.cpp and LM Studio document it
            files=True,
            audio=True,
            embeddings=True,
        ),
    )
}
"""Every preset, by name."""


def preset_for(name: str) -> Preset:
    """The preset called ``name``; a ``KeyError`` naming the known ones otherwise."""
    try:
        return PRESETS[name]
    except KeyError:
        known = ", ".join(sorted(PRESETS))
        raise KeyError(f"no OpenAI-compatible preset {name!r}; presets: {known}") from None

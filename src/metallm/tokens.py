"""Token counts before a call: the :class:`TokenCount` result and the documented estimate.

``client.count_tokens(request)`` answers with a :class:`TokenCount` saying how many input
tokens the request would use, whether that figure is ``exact`` and where it came from
(``source``). Exact figures come from a provider's own counting endpoint (Anthropic, Gemini,
Bedrock) or from ``tiktoken`` for OpenAI models; everything else is the estimate of this
module, always ``exact=False``, so an estimate is never mistaken for a count.

The estimate (:func:`estimate_tokens`), chosen to err high rather than low, since it is mostly
used to ask "will this fit?":

* every text (message content, a speaker name, a tool call's name and arguments, the reasoning
  text sent back) counts ``ceil(characters / 4)`` (about 4 characters per token in English,
  the rule of thumb OpenAI and Anthropic both give);
* every message adds :data:`MESSAGE_OVERHEAD` tokens (role and separators), and the request
  :data:`REPLY_PRIMING` (the assistant turn the model starts);
* an image counts :data:`IMAGE_TOKENS`, an audio or document part :data:`MEDIA_TOKENS` (their
  real figure depends on the provider, the resolution and the length: unknown locally);
* each tool definition counts its JSON text (name, description, parameters) by the text rule,
  plus :data:`TOOL_OVERHEAD`.

The lower bound (:func:`lower_bound_tokens`) is what the pre-flight context check refuses on
when it has no exact count: text only, ``characters / 8`` per text, no overheads, media and
tools counted as nothing. Real tokenizers average 3 to 5 characters per token on prose and code
(fewer on other scripts), so a request the lower bound finds too long is far too long by any
tokenizer; only a prompt of long runs of one repeated character (which some tokenizers merge
into tokens longer than 8 characters) could be refused while fitting.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from .types import AudioPart, ChatCompletionRequest, DocumentPart, ImagePart, Message, TextPart

__all__ = [
    "IMAGE_TOKENS",
    "MEDIA_TOKENS",
    "MESSAGE_OVERHEAD",
    "REPLY_PRIMING",
    "TOOL_OVERHEAD",
    "TokenCount",
    "estimate_tokens",
    "lower_bound_tokens",
]

MESSAGE_OVERHEAD = 4
"""Tokens the estimate adds per message (role and separators)."""
REPLY_PRIMING = 3
"""Tokens the estimate adds once per request (the assistant turn the reply starts with)."""
IMAGE_TOKENS = 765
"""The estimate's figure for one image (OpenAI's count for a 1024 x 1024 image in detail)."""
MEDIA_TOKENS = 1_000
"""The estimate's figure for one audio or document part."""
TOOL_OVERHEAD = 8
"""Tokens the estimate adds per tool definition, on top of its JSON text."""

_CHARS_PER_TOKEN = 4
_LOWER_BOUND_CHARS_PER_TOKEN = 8


@dataclass(frozen=True)
class TokenCount:
    """How many input tokens a request would use.

    ``exact`` is True only for a figure the provider (its counting endpoint) or the model's
    own tokenizer (``tiktoken``) produced for everything in the request; ``source`` names
    where it came from: ``anthropic``, ``gemini``, ``bedrock`` (the provider's endpoint),
    ``tiktoken:<encoding>`` (e.g. ``tiktoken:o200k_base``), ``tiktoken:<encoding>+estimate``
    (text counted by tiktoken, images or tools estimated: ``exact=False``), ``estimate`` (the
    documented rule of :mod:`metallm.tokens`), or a custom provider's own name.
    """

    input_tokens: int
    exact: bool
    source: str


def _text_tokens(text: str | None, per_token: int = _CHARS_PER_TOKEN) -> int:
    return -(-len(text) // per_token) if text else 0


def message_texts(message: Message) -> list[str]:
    """Every text of a message a provider would read: content, name, tool calls, reasoning."""
    texts: list[str] = []
    content = message.content
    if isinstance(content, str):
        texts.append(content)
    elif content:
        texts.extend(part.text for part in content if isinstance(part, TextPart))
    if message.name:
        texts.append(message.name)
    for call in message.tool_calls or ():
        texts.append(call.function.name)
        texts.append(call.function.arguments)
    if message.reasoning_content:
        texts.append(message.reasoning_content)
    return texts


def media_tokens(message: Message) -> int:
    """The estimate's figure for the message's non-text parts."""
    content = message.content
    if not isinstance(content, list):
        return 0
    total = 0
    for part in content:
        if isinstance(part, ImagePart):
            total += IMAGE_TOKENS
        elif isinstance(part, AudioPart | DocumentPart):
            total += MEDIA_TOKENS
    return total


def tool_texts(request: ChatCompletionRequest) -> list[str]:
    """Each tool definition as the JSON text the estimate counts."""
    return [
        json.dumps(tool.function.model_dump(exclude_none=True), separators=(",", ":"))
        for tool in request.tools or ()
    ]


def estimate_tokens(request: ChatCompletionRequest) -> int:
    """The documented estimate of the request's input tokens (see the module docstring)."""
    total = REPLY_PRIMING
    for message in request.messages:
        total += MESSAGE_OVERHEAD + media_tokens(message)
        total += sum(_text_tokens(text) for text in message_texts(message))
    for text in tool_texts(request):
        total += TOOL_OVERHEAD + _text_tokens(text)
    return total


def lower_bound_tokens(request: ChatCompletionRequest) -> int:
    """A count no tokenizer goes below for ordinary text (see the module docstring)."""
    return sum(
        _text_tokens(text, _LOWER_BOUND_CHARS_PER_TOKEN)
        for message in request.messages
        for text in message_texts(message)
    )

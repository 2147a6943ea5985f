"""Azure OpenAI's content filter in replies: filtered choices and annotation-only stream events.

Azure runs a content filter over prompts and completions and reports it in the Chat
Completions shape (Azure's content-filter and content-streaming guides,
https://learn.microsoft.com/azure/ai-foundry/openai/concepts/content-streaming):

* each choice carries ``content_filter_results``, a verdict per category
  (``{"hate": {"filtered": false, "severity": "safe"}, "protected_material_text":
  {"detected": true, "filtered": true}, ...}``); a choice whose verdict has ``filtered: true``
  had content withheld, and finishes ``content_filter`` here whatever its ``finish_reason``
  said (a choice that called tools still finishes ``tool_calls``, the unified rule);
* a reply carries ``prompt_filter_results`` for the prompt; in a stream that is a first event
  with ``"choices": []`` and an empty ``id``/``model``, which carries nothing a unified chunk
  holds and is skipped (so the first chunk a user sees is the model's, and time to first
  chunk measures it);
* with the asynchronous filter, *annotation* events arrive between and after the content:
  choices with ``content_filter_results`` but no ``delta``. One without a finish reason is
  skipped (its verdict is remembered, so a filtered choice finishes ``content_filter``); one
  with a finish reason (``content_filter``, the stream's end when the filter blocks) is kept.

A filtered prompt is not a reply but a 400 with ``code: content_filter``, which the kit's error
rules raise as :class:`~metallm.ContentFilterError`. On the hot path (a content chunk with one
choice, a delta and no finish reason) the decoder adds to OpenAI's a few lookups and a look at
each category of the chunk's verdict: about half a microsecond on a 12-microsecond chunk,
measured (filtered content can be flagged on any chunk, so every verdict is read).
"""

from __future__ import annotations

import re
from typing import Any

from ...provider import HTTPResponse, json_body
from ...types import ChatCompletionChunk, ChatCompletionResponse
from ..openai._response import parse_completion
from ..openai._stream import OpenAIStreamDecoder

__all__ = ["AzureStreamDecoder", "filtered", "parse_azure_completion"]

_FILTERED_TRUE = re.compile(rb'"filtered"\s*:\s*true')


def filtered(results: Any) -> bool:
    """Whether a ``content_filter_results`` verdict says content was withheld."""
    if type(results) is not dict:
        return False
    for verdict in results.values():
        if type(verdict) is dict and verdict.get("filtered") is True:
            return True
    return False


def parse_azure_completion(
    provider: str, response: HTTPResponse, secrets: tuple[str, ...] = ()
) -> ChatCompletionResponse:
    """A Chat Completions reply as OpenAI's parser reads it, filtered choices finishing
    ``content_filter``. The body is searched for ``"filtered": true`` first (in C), so an
    unfiltered reply is parsed once."""
    result = parse_completion(provider, response, secrets)
    if _FILTERED_TRUE.search(response.content) is None:
        return result
    raw = json_body(provider, response, secrets)
    withheld = {
        choice.get("index", position)
        for position, choice in enumerate(raw.get("choices") or ())
        if isinstance(choice, dict) and filtered(choice.get("content_filter_results"))
    }
    for choice in result.choices:
        if choice.index in withheld and choice.finish_reason != "tool_calls":
            choice.finish_reason = "content_filter"
    return result


class AzureStreamDecoder(OpenAIStreamDecoder):
    """OpenAI's stream decoder, reading Azure's content-filter events (module docstring)."""

    __slots__ = ("_withheld",)

    def __init__(self, provider: str, secrets: tuple[str, ...] = ()) -> None:
        super().__init__(provider, secrets)
        self._withheld: set[int] = set()

    def on_event(self, name: str, obj: dict[str, Any]) -> ChatCompletionChunk | None:
        """A chunk, or None for an event that carries nothing unified (prompt annotations,
        completion annotations without a finish reason)."""
        choices = obj.get("choices")
        if not choices:
            # the prompt annotation (choices [], prompt_filter_results); the usage chunk passes
            return super().on_event(name, obj) if obj.get("usage") else None
        first = choices[0]
        if (
            len(choices) == 1
            and "delta" in first
            and first.get("finish_reason") is None
            and not filtered(first.get("content_filter_results"))
        ):
            return super().on_event(name, obj)  # a content chunk: the hot path
        kept = []
        for position, raw in enumerate(choices):
            index = raw.get("index", position)
            if filtered(raw.get("content_filter_results")):
                self._withheld.add(index)
            reason = raw.get("finish_reason")
            if reason is not None and index in self._withheld:
                raw["finish_reason"] = "content_filter"
            if reason is not None or "delta" in raw:
                kept.append(raw)
        if not kept and not obj.get("usage"):
            return None
        obj["choices"] = kept
        return super().on_event(name, obj)

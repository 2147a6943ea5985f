"""Reasoning sent as content chunks: Mistral's ``{"type": "thinking"}`` parts.

Mistral's reasoning models (Magistral) answer with ``content`` as a list of chunks, thinking
first: ``[{"type": "thinking", "thinking": [{"type": "text", "text": "..."}]},
{"type": "text", "text": "..."}]`` (mistralai/client-python ``ThinkChunk``; the same shape in
stream deltas). The OpenAI parser reads the ``text`` parts of a list and would drop the
thinking without a word, so these helpers move it to ``reasoning_content`` first, the unified
place for reasoning text. A ``thinking`` chunk's ``signature`` is not kept: Chat Completions
gives no way to send it back.
"""

from __future__ import annotations

import json
from typing import Any

from ...provider import HTTPResponse
from ...types import ChatCompletionChunk, ChatCompletionResponse
from ..openai._response import parse_completion
from ..openai._stream import OpenAIStreamDecoder

__all__ = ["ThinkingStreamDecoder", "parse_thinking_completion", "split_thinking"]

_MARK = b'"thinking"'


def _texts(chunks: Any) -> str:
    if not isinstance(chunks, list):
        return ""
    return "".join(
        c["text"]
        for c in chunks
        if isinstance(c, dict)
        and c.get("type", "text") == "text"
        and isinstance(c.get("text"), str)
    )


def split_thinking(message: dict[str, Any]) -> None:
    """Rewrite a message or delta whose ``content`` is a chunk list, in place: the text
    chunks become ``content`` (None when there are none), the thinking chunks are appended to
    ``reasoning_content``. Anything else is left as it is."""
    content = message.get("content")
    if not isinstance(content, list):
        return
    thinking = [
        _texts(c.get("thinking"))
        for c in content
        if isinstance(c, dict) and c.get("type") == "thinking"
    ]
    if not thinking:
        return
    text = [c for c in content if not (isinstance(c, dict) and c.get("type") == "thinking")]
    message["content"] = _texts(text) if text else None
    before = message.get("reasoning_content")
    message["reasoning_content"] = (before if isinstance(before, str) else "") + "".join(thinking)


def parse_thinking_completion(
    provider: str, response: HTTPResponse, secrets: tuple[str, ...] = ()
) -> ChatCompletionResponse:
    """A ``chat.completion`` reply as the OpenAI parser reads it, thinking chunks first moved
    to ``reasoning_content``. A body without the word ``"thinking"`` goes straight through;
    one with it is parsed, rewritten and handed on (an unreadable one is left for the OpenAI
    parser to report)."""
    if _MARK in response.content:
        try:
            obj = json.loads(response.content)
        except ValueError:
            obj = None
        if isinstance(obj, dict) and isinstance(obj.get("choices"), list):
            for choice in obj["choices"]:
                message = choice.get("message") if isinstance(choice, dict) else None
                if isinstance(message, dict):
                    split_thinking(message)
            response = HTTPResponse(
                response.status_code, response.headers, json.dumps(obj).encode()
            )
    return parse_completion(provider, response, secrets)


class ThinkingStreamDecoder(OpenAIStreamDecoder):
    """The OpenAI stream decoder, with thinking chunks in a delta's ``content`` moved to
    ``reasoning_content`` before it reads the chunk (a list check per choice; plain string
    deltas pass untouched)."""

    __slots__ = ()

    def on_event(self, name: str, obj: dict[str, Any]) -> ChatCompletionChunk | None:
        """One ``chat.completion.chunk``, thinking chunks first moved to reasoning."""
        choices = obj.get("choices")
        if choices:
            for raw in choices:
                delta = raw.get("delta") if isinstance(raw, dict) else None
                if delta and type(delta.get("content")) is list:
                    split_thinking(delta)
        return super().on_event(name, obj)

"""The ``openai_compatible/`` corpus folder: each file with its service and what it must parse to.

Each file records one exchange with a named service (``source.service``); the tables below
are written out from the recorded bodies, so a parser that drifts fails against fixed values,
not against itself. Usage is ``(prompt, completion, total, cached, reasoning)`` after
normalisation.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from metallm.testing.corpus import CorpusEntry, corpus_dir, corpus_files, load_corpus_entry

FOLDER = "openai_compatible"

EXPECTED: dict[str, dict[str, Any]] = {
    "groq_chat_basic": {
        "id": "chatcmpl-7586b6a9-fb4b-4ec7-86a0-59f0a77844cf",
        "model": "llama-3.3-70b-versatile",
        "content": "The capital of France is Paris.",
        "reasoning": None,
        "finish": "stop",
        "usage": (48, 8, 56, None, None),
        "fingerprint": "fp_72a5dc99ee",
    },
    "mistral_stream_basic": {
        "id": "37dd84141b814607bd0cf8bc6b2dfd1e",
        "model": "mistral-small-latest",
        "content": "France won World Cup",
        "reasoning": None,
        "finish": "stop",
        "usage": (26, 4, 30, None, None),
        "chunks": 6,
    },
    "deepseek_stream_reasoning_content": {
        "id": "33be18fc-3842-486c-8c29-dd8e578f7f20",
        "model": "deepseek-reasoner",
        "content": "Hello there! 😊 How can I help you today?",
        "reasoning_start": 'Hmm, the user just said "Hello".',
        "reasoning_end": "they might not reply further - and that's okay too.",
        "reasoning_length": 882,
        "finish": "stop",
        "usage": (6, 212, 218, 0, 198),
        "chunks": 211,
    },
    "openrouter_chat_basic": {
        "id": "gen-1769672415-IZfpP2WAlINOOT5hLvOW",
        "model": "openai/gpt-4o",
        "content": "Hello!",
        "reasoning": None,
        "finish": "stop",
        "usage": (12, 2, 14, 0, 0),
        "fingerprint": "fp_deacdd5f6f",
    },
    "openrouter_error_429_rate_limited": {
        "status": 429,
        "code": "429",  # OpenRouter sends the integer 429
        "message": (
            "Provider returned error (Google: google/gemini-2.0-flash-exp:free is temporarily "
            "rate-limited upstream. Please retry shortly, or add your own key to accumulate "
            "your rate limits: https://openrouter.ai/settings/integrations)"
        ),
    },
}


@dataclass(frozen=True)
class Recorded:
    """A corpus entry and the service it was recorded against."""

    entry: CorpusEntry
    service: str

    @property
    def stem(self) -> str:
        return self.entry.path.stem

    @property
    def expected(self) -> dict[str, Any]:
        return EXPECTED[self.stem]


def recorded(kind: str | None = None) -> list[Recorded]:
    """The folder's files (``kind``: ``chat``, ``stream`` or ``error``; None: all)."""
    out = []
    for path in corpus_files(FOLDER):
        entry = load_corpus_entry(path)
        service = json.loads(Path(path).read_text(encoding="utf-8"))["source"]["service"]
        if kind == "error" and entry.status < 400:
            continue
        if kind in ("chat", "stream") and (
            entry.status >= 400 or entry.is_stream != (kind == "stream")
        ):
            continue
        out.append(Recorded(entry, service))
    return out


def folder() -> Path:
    return corpus_dir() / FOLDER


def recorded_body_to_send(entry: CorpusEntry) -> dict[str, Any]:
    """The recorded request body as metallm sends it: ``"stream": false`` is the default the
    recording clients spelled out, which metallm leaves unsaid."""
    body = dict(entry.request_body)
    if body.get("stream") is False:
        del body["stream"]
    return body


def usage_tuple(usage: Any) -> tuple[int, int, int, int | None, int | None] | None:
    if usage is None:
        return None
    return (
        usage.prompt_tokens,
        usage.completion_tokens,
        usage.total_tokens,
        usage.cached_tokens,
        usage.reasoning_tokens,
    )

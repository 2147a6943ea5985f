"""Scaffolding shared by the codec tests: corpus selection, stream decoding, splitting.

Every provider's codec test picks recorded exchanges the same way, skips visibly without the
corpus (failing under ``CI=true``), decodes streams fed in pieces and folds chunks through the
client's own accumulator; these helpers keep that in one place.
"""

from __future__ import annotations

import os
from typing import Any

import pytest

from metallm._accumulate import ChunkAccumulator
from metallm.testing.corpus import CorpusEntry, corpus_dir, corpus_files, load_corpus_entry
from metallm.types import ChatCompletionChunk, ChatCompletionRequest, ChatCompletionResponse


def corpus_entries(provider: str, kind: str) -> list[CorpusEntry | None]:
    """The provider's recorded chat-operation ``chat``, ``stream`` or ``error`` exchanges
    ([None] if absent)."""
    found = [load_corpus_entry(p) for p in corpus_files(provider, operation="chat")]
    if kind == "error":
        chosen: list[CorpusEntry | None] = [e for e in found if e.status >= 400]
    else:
        chosen = [e for e in found if e.status < 400 and e.is_stream == (kind == "stream")]
    return chosen or [None]


def require_entry(entry: CorpusEntry | None, provider: str) -> CorpusEntry:
    """The entry; skip with a reason when the corpus is missing, fail when ``CI=true``."""
    if entry is None:
        reason = f"corpus folder {corpus_dir() / provider} not found (set METALLM_CORPUS)"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    return entry


def entry_id(entry: CorpusEntry | None) -> str:
    """A readable test id for a parametrised corpus entry."""
    return entry.path.stem if entry else "no-corpus"


def decode_pieces(
    codec: Any, request: ChatCompletionRequest, *pieces: bytes
) -> list[ChatCompletionChunk]:
    """Feed a stream body to a fresh decoder in the given pieces, then close it."""
    decoder = codec.stream_decoder(request)
    chunks: list[ChatCompletionChunk] = []
    for piece in pieces:
        chunks.extend(decoder.feed(piece))
    chunks.extend(decoder.close())
    return chunks


def accumulate(chunks: list[ChatCompletionChunk], provider: str) -> ChatCompletionResponse:
    """The response the chunks add up to, folded by the client's accumulator."""
    acc = ChunkAccumulator(provider)
    for chunk in chunks:
        acc.add(chunk)
    return acc.response()


def split_at(data: bytes, points: list[int]) -> list[bytes]:
    """``data`` cut at every point (taken modulo its length); empty pieces dropped."""
    cuts = sorted({p % (len(data) + 1) for p in points})
    pieces, start = [], 0
    for cut in cuts:
        pieces.append(data[start:cut])
        start = cut
    pieces.append(data[start:])
    return [p for p in pieces if p]

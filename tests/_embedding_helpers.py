"""Scaffolding shared by the embeddings codec tests: corpus look-ups and reply builders.

Each provider's embeddings test reads named corpus exchanges (skipping visibly without the
corpus, failing under ``CI=true``), builds replies from hand-written bodies and decodes the
JSON the codec would send; these helpers keep that in one place.
"""

from __future__ import annotations

import base64
import json
import os
import struct
from pathlib import Path
from typing import Any

import pytest

from metallm.provider import HTTPRequest, HTTPResponse
from metallm.testing.corpus import CorpusEntry, corpus_dir, corpus_files, load_corpus_entry


def embeddings_entry(provider: str, stem: str) -> CorpusEntry:
    """The named embeddings exchange; skip when the corpus is missing, fail when ``CI=true``."""
    path = corpus_dir() / provider / f"{stem}.json"
    if not path.is_file():
        reason = f"corpus file {path} not found (set METALLM_CORPUS)"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    entry = load_corpus_entry(path)
    assert entry.operation == "embeddings", path
    return entry


def embeddings_files(provider: str) -> list[Path]:
    """Every embeddings exchange of a provider's corpus folder (empty without the corpus)."""
    return corpus_files(provider, operation="embeddings")


def recorded_reply(entry: CorpusEntry) -> HTTPResponse:
    """The recorded response as the codec receives it."""
    return HTTPResponse(entry.status, entry.response_headers, entry.body_bytes)


def recorded_json(entry: CorpusEntry) -> Any:
    """The recorded response body, parsed."""
    return json.loads(entry.body_text)


def json_reply(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> HTTPResponse:
    """A reply carrying ``body`` as JSON (a ``str`` or ``bytes`` body is sent as it is)."""
    if isinstance(body, bytes):
        content = body
    elif isinstance(body, str):
        content = body.encode()
    else:
        content = json.dumps(body).encode()
    return HTTPResponse(status, {"content-type": "application/json", **(headers or {})}, content)


def sent_json(http: HTTPRequest) -> Any:
    """The JSON body a built request sends."""
    assert http.content is not None
    return json.loads(http.content)


def float32(values: list[float]) -> list[float]:
    """``values`` rounded to float32, as a base64 vector carries them."""
    return list(struct.unpack(f"<{len(values)}f", struct.pack(f"<{len(values)}f", *values)))


def b64_floats(values: list[float]) -> str:
    """Base64 of little-endian float32 ``values``, as OpenAI sends them."""
    return base64.b64encode(struct.pack(f"<{len(values)}f", *values)).decode()

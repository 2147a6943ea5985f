"""Reading the recorded-exchange corpus (``shared/corpus``): one HTTP exchange per JSON file.

Tests and :class:`~metallm.testing.FakeLLMServer` read the files in place. The folder comes from
``METALLM_CORPUS``, else ``../shared/corpus`` next to the working directory. Files written by
:class:`~metallm.testing.Recorder` have the same shape and load the same way, with three
optional response fields: ``body_base64`` (a body that is not UTF-8), ``chunk_sizes`` (a
stream's pieces as they arrived) and ``truncated`` (a stream that ended early).
"""

from __future__ import annotations

import base64
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["CorpusEntry", "corpus_dir", "corpus_files", "load_corpus_entry"]


@dataclass(frozen=True)
class CorpusEntry:
    """One recorded exchange: what was sent and the exact bytes that came back."""

    path: Path
    provider: str
    kind: str
    features: tuple[str, ...]
    method: str
    request_path: str
    request_headers: dict[str, str]
    request_body: Any
    status: int
    response_headers: dict[str, str]
    body_text: str
    notes: tuple[str, ...] = field(default=())
    raw_body: bytes | None = None
    """A body that is not UTF-8 (``body_base64`` in the file: Bedrock's binary event stream)."""
    chunk_sizes: tuple[int, ...] | None = None
    """A recorded stream's pieces as they arrived (byte lengths), when the file says."""
    truncated: str | None = None
    """Set when the recorded stream ended early: ``"cut: <error>"`` or ``"closed"``."""

    @property
    def name(self) -> str:
        """``provider/file-stem``, handy as a test id."""
        return f"{self.provider}/{self.path.stem}"

    @property
    def body_bytes(self) -> bytes:
        """The recorded response body, as the server sent it (UTF-8 text, or the raw bytes)."""
        if self.raw_body is not None:
            return self.raw_body
        return self.body_text.encode("utf-8")

    @property
    def pieces(self) -> tuple[bytes, ...]:
        """The body in the pieces it arrived in (``chunk_sizes``), else as one piece."""
        body = self.body_bytes
        sizes = self.chunk_sizes
        if not sizes or sum(sizes) != len(body):
            return (body,)
        pieces, start = [], 0
        for size in sizes:
            pieces.append(body[start : start + size])
            start += size
        return tuple(pieces)

    @property
    def operation(self) -> str:
        """``chat``, ``embeddings`` or ``count_tokens``: the call the exchange records.

        Error files carry their operation in ``features`` (their ``kind`` is ``error``).
        """
        if self.kind in ("embeddings", "count_tokens"):
            return self.kind
        for operation in ("embeddings", "count_tokens"):
            if operation in self.features:
                return operation
        return "chat"

    @property
    def is_stream(self) -> bool:
        """Whether the request asked for a stream (body flag or a streaming path)."""
        body = self.request_body if isinstance(self.request_body, dict) else {}
        return (
            bool(body.get("stream"))
            or self.kind == "stream"
            or ("stream" in self.request_path.lower())
        )


def corpus_dir() -> Path:
    """Where the corpus lives: ``$METALLM_CORPUS`` or ``../shared/corpus`` from the cwd."""
    env = os.environ.get("METALLM_CORPUS")
    return Path(env) if env else (Path.cwd().parent / "shared" / "corpus")


def load_corpus_entry(path: str | os.PathLike[str]) -> CorpusEntry:
    """Parse one corpus file."""
    p = Path(path)
    raw = json.loads(p.read_text(encoding="utf-8"))
    req, resp = raw["request"], raw["response"]
    return CorpusEntry(
        path=p,
        provider=raw["provider"],
        kind=raw["kind"],
        features=tuple(raw.get("features", ())),
        method=req.get("method", "POST"),
        request_path=req.get("path", ""),
        request_headers={k.lower(): v for k, v in (req.get("headers") or {}).items()},
        request_body=req.get("body"),
        status=int(resp["status"]),
        response_headers={k.lower(): v for k, v in (resp.get("headers") or {}).items()},
        body_text=resp.get("body_text", ""),
        notes=tuple(raw.get("notes", ())),
        raw_body=base64.b64decode(resp["body_base64"]) if "body_base64" in resp else None,
        chunk_sizes=tuple(int(n) for n in resp["chunk_sizes"]) if resp.get("chunk_sizes") else None,
        truncated=resp.get("truncated") or None,
    )


def corpus_files(
    provider: str, root: Path | None = None, *, operation: str | None = None
) -> list[Path]:
    """The files of one provider's folder, sorted; empty when the corpus is absent.

    ``operation`` (``chat``, ``embeddings``, ``count_tokens``) keeps only the exchanges of that
    call (see :attr:`CorpusEntry.operation`); None keeps every file.
    """
    folder = (root or corpus_dir()) / provider
    files = sorted(folder.glob("*.json")) if folder.is_dir() else []
    if operation is None:
        return files
    return [f for f in files if load_corpus_entry(f).operation == operation]

"""Recorded exchanges as corpus files: writing one, matching requests to them, replaying them.

A recording is one JSON file per exchange in the format of the shared corpus (``source``,
``provider``, ``kind``, ``features``, ``request``, ``response`` with ``body_text``, ``notes``),
so :func:`~metallm.testing.corpus.load_corpus_entry`, :meth:`FakeLLMServer.replay
<metallm.testing.FakeLLMServer.replay>` and any corpus test read it as they read the corpus.
It adds three optional response fields, all read back by the corpus loader:

- ``chunk_sizes``: a live stream's body as it arrived, the byte length of each piece (they add
  up to the body); replays serve the body in the same pieces;
- ``body_base64`` instead of ``body_text`` when the body is not UTF-8 (Bedrock's binary
  event stream), so every byte survives;
- ``truncated``: ``"cut: <error>"`` when the connection failed mid-body, ``"closed"`` when the
  caller closed the stream before its end; a replay ends the same way (a cut connection).

**Matching.** A request matches a recording when its *match key* is equal: the SHA-256 of the
method, the path (percent-decoded, query parameters sorted, credential parameters dropped:
:func:`~metallm.testing._scrub.clean_target`) and the body, canonical (a JSON body re-encoded
with sorted keys and no spaces, so key order and whitespace do not matter; any other body as
its text). Headers and the host are not compared, so a recording made against the real API
replays against :class:`~metallm.testing.FakeLLMServer` or any other base URL. Several
recordings of one request (a retried 429, then its 200) are served in recording order, and the
last one again for every later request.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import json
import re
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from metallm.testing._scrub import (
    REQUEST_HEADERS,
    RESPONSE_HEADERS,
    Scrubber,
    clean_target,
    reframe_event_stream,
)
from metallm.testing.corpus import CorpusEntry, load_corpus_entry

__all__ = [
    "RecordingIndex",
    "body_value",
    "entry_json",
    "file_label",
    "match_key",
    "operation_of",
]

_OPERATIONS = (
    ("count_tokens", re.compile(r"count_tokens|:countTokens|/count-tokens")),
    (
        "embeddings",
        re.compile(
            r"/embeddings|:batchEmbedContents|:embedContent|:predict|"
            r"/api/embed\b|/invoke$"
        ),
    ),
)


def operation_of(path: str) -> str:
    """``chat``, ``embeddings`` or ``count_tokens``, read from the endpoint a request went to."""
    bare = path.partition("?")[0]
    for operation, pattern in _OPERATIONS:
        if pattern.search(bare):
            return operation
    return "chat"


def body_value(content: bytes | None) -> Any:
    """A request body as a corpus file stores it: parsed JSON, else its text, else None."""
    if not content:
        return None
    try:
        return json.loads(content)
    except ValueError:
        return content.decode("utf-8", "replace")


def match_key(method: str, matched_path: str, body: Any) -> str:
    """The match key of a request: SHA-256 hex of method, matched path and canonical body."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    text = f"{method.upper()} {matched_path}\n{canonical}"
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def request_key(method: str, target: str, content: bytes | None, scrubber: Scrubber) -> str:
    """The match key of a request as sent (or received): its target and body bytes."""
    _, matched = clean_target(target)
    return match_key(method, scrubber.text(matched), scrubber.value(body_value(content)))


def file_label(provider: str, path: str, stream: bool) -> str:
    """The readable head of a recording's file name (``openai_chat_stream``)."""
    label = f"{provider}_{operation_of(path)}" + ("_stream" if stream else "")
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", label)


def _kind(status: int, operation: str, stream: bool) -> str:
    if status >= 400:
        return "error"
    if operation != "chat":
        return operation
    return "stream" if stream else "chat"


def entry_json(
    *,
    provider: str,
    method: str,
    url: str,
    request_headers: Any,
    request_content: bytes | None,
    stream: bool,
    status: int,
    response_headers: Any,
    pieces: list[bytes],
    truncated: str | None,
    scrubber: Scrubber,
    keep_headers: frozenset[str] = frozenset(),
    version: str = "",
) -> dict[str, Any]:
    """One exchange as a corpus file's JSON object, scrubbed (``source.match_key`` set)."""
    stored, matched = clean_target(url)
    stored, matched = scrubber.text(stored), scrubber.text(matched)
    body = scrubber.value(body_value(request_content))
    operation = operation_of(stored)
    whole = b"".join(pieces)
    masked_before = scrubber.changes
    response: dict[str, Any] = {
        "status": status,
        "headers": scrubber.headers(response_headers, RESPONSE_HEADERS | keep_headers),
    }
    try:
        response["body_text"] = scrubber.text(whole.decode("utf-8"))
    except UnicodeDecodeError:
        masked = scrubber.data(whole)
        ctype = str(response_headers.get("content-type", ""))
        if masked != whole and "amazon.eventstream" in ctype:
            masked = reframe_event_stream(masked)  # still decodable: checksums recomputed
        response["body_base64"] = base64.b64encode(masked).decode("ascii")
    if stream and status < 400:
        response["chunk_sizes"] = [len(piece) for piece in pieces if piece]
    features = ["recorded"]
    notes = [
        "recorded by metallm.testing.Recorder; the body is as the client read it (after "
        "any content decoding), headers per the recorder's allow-list"
    ]
    if status >= 400:
        features.append(f"http_{status}")
        if operation != "chat":
            features.append(operation)
        if stream:
            features.append("stream_request")
    if truncated:
        response["truncated"] = scrubber.text(truncated)
        features.append("truncated")
        notes.append(f"the stream ended early ({response['truncated']}) after {len(whole)} bytes")
    if scrubber.changes > masked_before:
        notes.append(
            f"{scrubber.changes - masked_before} secret-looking strings in the response "
            "were masked (same length)"
        )
    host = urlsplit(url).hostname or ""
    return {
        "source": {
            "recorder": "metallm.testing.Recorder",
            "metallm_version": version,
            "recorded_at": datetime.datetime.now(datetime.timezone.utc).isoformat(
                timespec="seconds"
            ),
            "recorded_host": host,
            "match_key": match_key(method, matched, body),
            "sequence": 1,
        },
        "provider": provider,
        "kind": _kind(status, operation, stream),
        "features": features,
        "request": {
            "method": method.upper(),
            "path": stored,
            "headers": scrubber.headers(request_headers, REQUEST_HEADERS | keep_headers),
            "body": body,
        },
        "response": response,
        "notes": notes,
    }


_KEYS: dict[Path, tuple[tuple[int, int], str, int]] = {}
"""Match key and sequence of each recording file read so far, by (mtime, size): a folder is
indexed again for every new recorder, and a file is parsed again only when it changed."""


def _key_of(path: Path, scrubber: Scrubber) -> tuple[str, int] | None:
    """A file's match key and sequence, or None when it is not an exchange file."""
    try:
        stat = path.stat()
        stamp = (stat.st_mtime_ns, stat.st_size)
        known = _KEYS.get(path)
        if known is not None and known[0] == stamp:
            return known[1], known[2]
        raw = json.loads(path.read_text(encoding="utf-8"))
        request = raw["request"]
        _, matched = clean_target(request.get("path") or "/")
        key = match_key(
            request.get("method", "POST"),
            scrubber.text(matched),
            scrubber.value(request.get("body")),
        )
        sequence = int((raw.get("source") or {}).get("sequence") or 1)
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None
    _KEYS[path] = (stamp, key, sequence)
    return key, sequence


class RecordingIndex:
    """Recorded exchanges by match key, served in recording order (the last one repeats).

    Thread-safe; files are read when a request first needs them.
    """

    def __init__(self, files: Iterable[Path] = ()) -> None:
        self._lock = threading.Lock()
        self._files: dict[str, list[tuple[int, str, Path]]] = {}
        self._served: dict[str, int] = {}
        self.add(files)

    def add(self, files: Iterable[Path]) -> None:
        """Index more files (exchange files only; anything else is skipped)."""
        scrubber = Scrubber(())
        with self._lock:
            for path in files:
                found = _key_of(Path(path), scrubber)
                if found is not None:
                    key, sequence = found
                    self._files.setdefault(key, []).append((sequence, Path(path).name, path))
                    self._files[key].sort()

    def __contains__(self, key: str) -> bool:
        return key in self._files

    def __len__(self) -> int:
        return sum(len(files) for files in self._files.values())

    def files(self, key: str) -> list[Path]:
        """Every recording of one request, in recording order."""
        return [path for _, _, path in self._files.get(key, ())]

    def take(self, key: str) -> CorpusEntry | None:
        """The next recording of the request with ``key`` (None when there is none)."""
        with self._lock:
            files = self._files.get(key)
            if not files:
                return None
            served = self._served.get(key, 0)
            self._served[key] = served + 1
            path = files[min(served, len(files) - 1)][2]
        return load_corpus_entry(path)

    def take_request(self, method: str, target: str, content: bytes | None) -> CorpusEntry | None:
        """:meth:`take` for a request as received (the server does not know client secrets:
        key shapes are masked, as they were when it was recorded)."""
        return self.take(request_key(method, target, content, Scrubber(())))


def recording_files(folder: Path) -> list[Path]:
    """The ``*.json`` files of a folder, sorted (none when it does not exist)."""
    return sorted(folder.glob("*.json")) if folder.is_dir() else []


def dumps(entry: dict[str, Any]) -> str:
    """A recording's file text: indented JSON, non-ASCII kept, one trailing newline."""
    return json.dumps(entry, indent=1, ensure_ascii=False) + "\n"

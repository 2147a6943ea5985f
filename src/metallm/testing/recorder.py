"""``Recorder``: live calls into replayable test files, and those files replayed offline.

::

    client = metallm.Client(provider="openai", recorder=Recorder("tests/cassettes"))
    with Recorder("tests/cassettes", mode="replay_or_record"):
        my_code_that_calls_an_llm()

Each live exchange becomes one file in the folder, in the shared corpus format (see
:mod:`metallm.testing._cassette` for the fields and the matching rule, and
:mod:`metallm.testing._scrub` for what is kept out of it). The recorder hooks into the client's
transport (:mod:`metallm._transport_tap`), so it sees exactly the bytes the codec sees, for
every provider, Bedrock's signed requests included, plain and streamed, error replies included,
and a stream's pieces as they arrive.

Modes:

- ``"record"`` (the default): every exchange goes out and is written. The first recording of a
  request in a recorder's life replaces that request's earlier recordings in the folder.
- ``"replay_or_record"``: a request already recorded in the folder is answered from its
  recording, with no I/O; one that is not goes out and is recorded (and stays live for the rest
  of this recorder's life, so its retries are recorded too, rather than replayed).
- ``"replay"``: never any I/O; a request with no recording raises a
  :class:`~metallm.ConfigurationError` naming it and the mode to set.

A recorder is safe to share between threads and tasks. Recording never breaks the call it
records: a file that cannot be written is logged (``metallm.testing`` logger) and skipped.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from collections.abc import Iterable
from contextvars import Token
from pathlib import Path
from types import TracebackType
from typing import Literal

from metallm._transport_tap import (
    CURRENT_TAP,
    Replay,
    Tap,
    Tapped,
    close_tap_scope,
    open_tap_scope,
)
from metallm.errors import ConfigurationError
from metallm.provider import HTTPRequest
from metallm.testing._cassette import (
    RecordingIndex,
    dumps,
    entry_json,
    file_label,
    recording_files,
    request_key,
)
from metallm.testing._scrub import NEVER_KEPT, Scrubber, clean_target

__all__ = ["MODES", "Recorder", "RecorderMode"]

RecorderMode = Literal["record", "replay_or_record", "replay"]
MODES: tuple[str, ...] = ("record", "replay_or_record", "replay")
_log = logging.getLogger("metallm.testing")


def _version() -> str:
    from metallm import __version__

    return __version__


class Recorder:
    """Records a client's HTTP exchanges to ``path`` (a folder), or replays them from it.

    Use it as ``Client(..., recorder=Recorder(path))`` (that client only), or as a context
    manager, ``with Recorder(path): ...``, which records the calls of every client made in its
    context while the block is open: in this thread or task, and in tasks started inside the
    block (a context variable; other threads are not recorded). A client's own ``recorder=``
    wins over an open block. Blocks nest (the innermost records).

    ``keep_headers`` adds header names to the allow-lists (credential headers such as
    ``authorization`` are refused); ``secrets`` adds strings to mask besides the client's keys.
    :attr:`recorded` lists the files written, :attr:`replayed` counts the answers served.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        mode: RecorderMode = "record",
        keep_headers: Iterable[str] = (),
        secrets: Iterable[str] = (),
    ) -> None:
        """Check the settings before any I/O: a bad one is a :class:`ConfigurationError`."""
        if not isinstance(path, (str, os.PathLike)) or not os.fspath(path):
            raise ConfigurationError(f"Recorder needs a folder path (got {path!r})")
        if mode not in MODES:
            raise ConfigurationError(f"Recorder mode={mode!r} is not one of {', '.join(MODES)}")
        folder = Path(path)
        if folder.exists() and not folder.is_dir():
            raise ConfigurationError(f"Recorder path {folder} is a file: pass a folder")
        if mode == "replay" and not folder.is_dir():
            raise ConfigurationError(
                f"Recorder(mode='replay') needs a folder of recordings; {folder} does not exist"
                " (record it first with mode='record' or 'replay_or_record')"
            )
        names = frozenset(str(name).lower() for name in keep_headers)
        refused = sorted(names & NEVER_KEPT)
        if refused:
            raise ConfigurationError(
                f"Recorder keep_headers cannot keep {', '.join(refused)}: they carry credentials"
            )
        extra = tuple(str(s) for s in secrets)
        if any(not s for s in extra):
            raise ConfigurationError("Recorder secrets must be non-empty strings")
        self.path = folder
        self.mode: RecorderMode = mode
        self.keep_headers = names
        self._secrets = extra
        self._lock = threading.Lock()
        self._index: RecordingIndex | None = None
        self._live: set[str] = set()
        self._counts: dict[str, int] = {}
        self._recorded: list[Path] = []
        self._replayed = 0
        self._tokens: list[Token[Tap | None]] = []

    def __repr__(self) -> str:
        return f"Recorder({str(self.path)!r}, mode={self.mode!r})"

    @property
    def recorded(self) -> list[Path]:
        """The files this recorder has written, in order."""
        with self._lock:
            return list(self._recorded)

    @property
    def replayed(self) -> int:
        """How many answers this recorder has served from recordings."""
        return self._replayed

    # -- the context-manager form ---------------------------------------------------------------

    def __enter__(self) -> Recorder:
        open_tap_scope()
        self._tokens.append(CURRENT_TAP.set(self))
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            CURRENT_TAP.reset(self._tokens.pop())
        finally:
            close_tap_scope()

    # -- the tap (called by the transport) ------------------------------------------------------

    def _scrubber(self, secrets: tuple[str, ...]) -> Scrubber:
        return Scrubber((*secrets, *self._secrets))

    def lookup(
        self, provider: str, secrets: tuple[str, ...], request: HTTPRequest, *, stream: bool
    ) -> Replay | None:
        """The recorded answer to ``request``, or None to send it (and record it)."""
        if self.mode == "record":
            return None
        key = request_key(request.method, request.url, request.content, self._scrubber(secrets))
        with self._lock:
            if key in self._live:
                return None
            if self._index is None:
                self._index = RecordingIndex(recording_files(self.path))
            entry = self._index.take(key)
            if entry is None:
                if self.mode == "replay":
                    stored, _ = clean_target(request.url)
                    raise ConfigurationError(
                        f"Recorder(mode='replay'): no recording of {request.method} "
                        f"{self._scrubber(secrets).text(stored)} (match key {key[:16]}) in "
                        f"{self.path}; set mode='replay_or_record' to record what is missing"
                    )
                self._live.add(key)
                return None
            self._replayed += 1
        return Replay(entry.status, entry.response_headers, entry.pieces, entry.truncated)

    def record(self, exchange: Tapped) -> None:
        """Write one live exchange to its file (scrubbed); never raises into the call."""
        try:
            self._write(exchange)
        except Exception:
            _log.exception(
                "Recorder could not record %s %s in %s",
                exchange.request.method,
                clean_target(exchange.request.url)[0],
                self.path,
            )

    def _write(self, exchange: Tapped) -> None:
        request = exchange.request
        entry = entry_json(
            provider=exchange.provider,
            method=request.method,
            url=request.url,
            request_headers=request.headers,
            request_content=request.content,
            stream=exchange.stream,
            status=exchange.status,
            response_headers=exchange.headers,
            pieces=exchange.pieces,
            truncated=exchange.truncated,
            scrubber=self._scrubber(exchange.secrets),
            keep_headers=self.keep_headers,
            version=_version(),
        )
        key: str = entry["source"]["match_key"]
        label = file_label(exchange.provider, entry["request"]["path"], exchange.stream)
        with self._lock:
            sequence = self._counts.get(key, 0) + 1
            self._counts[key] = sequence
            entry["source"]["sequence"] = sequence
            self.path.mkdir(parents=True, exist_ok=True)
            if sequence == 1:  # a request recorded again replaces its earlier recordings
                for old in self.path.glob(f"*-{key[:16]}*.json"):
                    with contextlib.suppress(OSError):
                        old.unlink()
            name = f"{label}-{key[:16]}" + (f"-{sequence}" if sequence > 1 else "") + ".json"
            target = self.path / name
            temporary = target.with_name(f".{name}.{os.getpid()}.{threading.get_ident()}.tmp")
            temporary.write_text(dumps(entry), encoding="utf-8")
            os.replace(temporary, target)
            self._recorded.append(target)

"""The transport's recording half: taps that replay or record exchanges (``metallm.testing``).

A :class:`Tap` (:class:`metallm.testing.Recorder` is the one metallm ships) sees every exchange
of a tapped transport: it may answer from a recording (a :class:`Replay`: no I/O at all), or let
the exchange go out and be told about it when its body has ended (a :class:`Tapped`). A live
stream is teed by :class:`TeeStreamHandle`, which keeps each piece of bytes as it arrives (one
list append per piece, no copy, no decoding) and reports them once: when the body ends, when the
transport fails while reading it, or when the caller closes the stream.

A transport is tapped in one of two ways, and neither costs an untapped one anything:

- a client built with ``recorder=`` gets a tapped class (:func:`transport_class`), whose
  ``request`` and ``stream`` always ask its own tap;
- ``with Recorder(path):`` sets :data:`CURRENT_TAP` for its context, and while at least one such
  block is open anywhere in the process, :func:`open_tap_scope` points the plain classes'
  ``request`` and ``stream`` at the tapped methods, which read the context variable and fall
  back to the plain send when it is unset (another thread, a task started outside the block).
  When the last block closes, :func:`close_tap_scope` puts the plain methods back. So a process
  that never records runs exactly the code it ran before recording existed (not even a
  context-variable read per call), and one that records pays for it only while it does.

A tap's ``lookup`` and ``record`` are plain calls (a recorder reads and writes small files): an
async client blocks its event loop for the time of a file write, which a test tool can afford.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from ._transport import (
    AsyncStreamHandle,
    AsyncTransport,
    StreamHandle,
    SyncTransport,
    _raw,
    headers_of,
)
from .errors import APITimeoutError, MetaLLMError, StreamError
from .provider import HTTPRequest, HTTPResponse

__all__ = [
    "CURRENT_TAP",
    "AsyncReplayStreamHandle",
    "AsyncTeeStreamHandle",
    "Replay",
    "ReplayStreamHandle",
    "Tap",
    "Tapped",
    "TeeStreamHandle",
    "close_tap_scope",
    "open_tap_scope",
    "transport_class",
]


@dataclass(frozen=True)
class Tapped:
    """One live exchange as the transport saw it, handed to the tap once its body has ended.

    ``stream`` says whether it was sent as a stream; ``pieces`` is the body as it arrived (a
    whole body is one piece; after content decoding, which is what the codec read);
    ``truncated`` is None when the body ended, ``"cut: <error>"`` when the transport failed
    while reading it, ``"closed"`` when the caller closed the stream before its end.
    ``secrets`` are the client's, for the tap to scrub.
    """

    provider: str
    secrets: tuple[str, ...]
    request: HTTPRequest
    stream: bool
    status: int
    headers: Mapping[str, str]
    pieces: list[bytes]
    truncated: str | None = None


@dataclass(frozen=True)
class Replay:
    """A recorded answer served instead of sending: status, headers and the body's pieces.

    A stream's pieces are served as the body arrived when it was recorded; a ``truncated``
    recording raises :class:`~metallm.StreamError` after its last piece, as the recorded
    stream ended there.
    """

    status: int
    headers: Mapping[str, str]
    pieces: tuple[bytes, ...]
    truncated: str | None = None

    def whole(self) -> HTTPResponse:
        """The recording as a reply read whole."""
        return HTTPResponse(self.status, headers_of(self.headers), b"".join(self.pieces))


@runtime_checkable
class Tap(Protocol):
    """What a tapped transport asks of a recorder."""

    def lookup(
        self, provider: str, secrets: tuple[str, ...], request: HTTPRequest, *, stream: bool
    ) -> Replay | None:
        """A recorded answer to serve instead of sending ``request``; None sends it live."""

    def record(self, exchange: Tapped) -> None:
        """A live exchange has ended: keep it. Must not raise into the call."""


CURRENT_TAP: ContextVar[Tap | None] = ContextVar("metallm_current_tap", default=None)
"""The tap of the innermost open ``with Recorder(...)`` block of this context, if any."""

_Ended = Callable[[list[bytes], "str | None"], None]


class _Tee:
    """What both tee handles share: the pieces kept so far, and the one call that hands them to
    the tap when the body ends (read to its end, cut, or closed early)."""

    _pieces: list[bytes]
    _ended: _Ended | None

    def __init__(self, response: Any, mapped: Any, ended: _Ended) -> None:
        super().__init__(response, mapped)  # type: ignore[call-arg]  # the stream handle's
        self._pieces = []
        self._ended = ended

    def _end(self, truncated: str | None) -> None:
        ended, self._ended = self._ended, None
        if ended is not None:
            ended(self._pieces, truncated)


class TeeStreamHandle(_Tee, StreamHandle):
    """A :class:`~metallm._transport.StreamHandle` that keeps every piece for its tap (one per
    recorded stream, so the shared base's attributes live in an ordinary ``__dict__``)."""

    def chunks(self) -> Iterator[bytes]:
        """Body bytes as they arrive, each kept for the recording as well."""
        response, keep = self._response, self._pieces.append
        try:
            with self._mapped:
                for data in response.iter_raw() if _raw(response) else response.iter_bytes():
                    keep(data)
                    yield data
        except MetaLLMError as exc:
            self._end(f"cut: {type(exc).__name__}: {exc}")
            raise
        self._end(None)

    def close(self) -> None:
        """Release the connection; a body not read to its end is recorded as closed."""
        self._response.close()
        self._end("closed")


class AsyncTeeStreamHandle(_Tee, AsyncStreamHandle):
    """The async twin of :class:`TeeStreamHandle`."""

    async def chunks(self) -> AsyncIterator[bytes]:
        """Body bytes as they arrive, each kept for the recording as well."""
        response, keep = self._response, self._pieces.append
        try:
            with self._mapped:
                source = response.aiter_raw() if _raw(response) else response.aiter_bytes()
                async for data in source:
                    keep(data)
                    yield data
        except MetaLLMError as exc:
            self._end(f"cut: {type(exc).__name__}: {exc}")
            raise
        self._end(None)

    async def close(self) -> None:
        """Release the connection; a body not read to its end is recorded as closed."""
        await self._response.aclose()
        self._end("closed")


class ReplayStreamHandle:
    """A recorded stream served in-process: its pieces, then its recorded end."""

    __slots__ = ("_provider", "_replay", "headers", "status_code")

    def __init__(self, replay: Replay, provider: str) -> None:
        self._replay = replay
        self._provider = provider
        self.status_code = replay.status
        self.headers = headers_of(replay.headers)

    def _cut(self) -> StreamError | APITimeoutError:
        """The error the recorded stream ended with (a cut: the same class and text)."""
        truncated = self._replay.truncated or ""
        kind, _, message = truncated.removeprefix("cut: ").partition(": ")
        if truncated.startswith("cut: ") and message:
            error = APITimeoutError if kind == "APITimeoutError" else StreamError
            return error(message, provider=self._provider)
        return StreamError(
            "stream interrupted (the recording ends here: the stream was closed before its end"
            " when it was recorded)",
            provider=self._provider,
        )

    def chunks(self) -> Iterator[bytes]:
        """The recorded pieces; a truncated recording raises after the last one."""
        yield from self._replay.pieces
        if self._replay.truncated:
            raise self._cut()

    def close(self) -> None:
        """Nothing to release."""


class AsyncReplayStreamHandle(ReplayStreamHandle):
    """The async twin of :class:`ReplayStreamHandle`."""

    __slots__ = ()

    async def chunks(self) -> AsyncIterator[bytes]:  # type: ignore[override]
        """The recorded pieces; a truncated recording raises after the last one."""
        for piece in self._replay.pieces:
            yield piece
        if self._replay.truncated:
            raise self._cut()

    async def close(self) -> None:  # type: ignore[override]
        """Nothing to release."""


def _ender(transport: Any, req: HTTPRequest, tap: Tap, response: Any) -> _Ended:
    """What a teed stream calls once its body has ended: record the exchange with ``tap``."""
    provider, secrets = transport._provider, transport._secrets
    status, headers = response.status_code, response.headers

    def ended(pieces: list[bytes], truncated: str | None) -> None:
        tap.record(Tapped(provider, secrets, req, True, status, headers, pieces, truncated))

    return ended


def _whole(transport: Any, req: HTTPRequest, stream: bool, reply: HTTPResponse) -> Tapped:
    """The record of a reply read whole (plain, or an error status on a stream request)."""
    return Tapped(
        transport._provider,
        transport._secrets,
        req,
        stream,
        reply.status_code,
        reply.headers,
        [reply.content],
    )


def _tapped_request(self: Any, req: HTTPRequest) -> HTTPResponse:
    """``request`` through the tap: a recorded answer, or sent live and recorded."""
    tap = self._tap or CURRENT_TAP.get()
    if tap is None:
        return self._send(req)  # type: ignore[no-any-return]
    replay = tap.lookup(self._provider, self._secrets, req, stream=False)
    if replay is not None:
        return replay.whole()
    reply: HTTPResponse = self._send(req)
    tap.record(_whole(self, req, False, reply))
    return reply


def _tapped_stream(self: Any, req: HTTPRequest) -> Any:
    """``stream`` through the tap: a recorded stream, or a live one teed for recording."""
    tap = self._tap or CURRENT_TAP.get()
    if tap is None:
        return self._open(req)
    replay = tap.lookup(self._provider, self._secrets, req, stream=True)
    if replay is not None:
        return (
            replay.whole() if replay.status >= 400 else ReplayStreamHandle(replay, self._provider)
        )
    with self._send_errors:
        response = self._client.send(self._build(req), stream=True)
    if response.status_code < 400:
        return TeeStreamHandle(response, self._body_errors, _ender(self, req, tap, response))
    with self._send_errors, contextlib.closing(response):
        reply = HTTPResponse(response.status_code, response.headers, response.read())
    tap.record(_whole(self, req, True, reply))
    return reply


async def _atapped_request(self: Any, req: HTTPRequest) -> HTTPResponse:
    """The async twin of :func:`_tapped_request`."""
    tap = self._tap or CURRENT_TAP.get()
    if tap is None:
        return await self._send(req)  # type: ignore[no-any-return]
    replay = tap.lookup(self._provider, self._secrets, req, stream=False)
    if replay is not None:
        return replay.whole()
    reply: HTTPResponse = await self._send(req)
    tap.record(_whole(self, req, False, reply))
    return reply


async def _atapped_stream(self: Any, req: HTTPRequest) -> Any:
    """The async twin of :func:`_tapped_stream`."""
    tap = self._tap or CURRENT_TAP.get()
    if tap is None:
        return await self._open(req)
    replay = tap.lookup(self._provider, self._secrets, req, stream=True)
    if replay is not None:
        if replay.status >= 400:
            return replay.whole()
        return AsyncReplayStreamHandle(replay, self._provider)
    with self._send_errors:
        response = await self._client.send(self._build(req), stream=True)
    if response.status_code < 400:
        ended = _ender(self, req, tap, response)
        return AsyncTeeStreamHandle(response, self._body_errors, ended)
    async with contextlib.aclosing(response):
        with self._send_errors:
            body = await response.aread()
    reply = HTTPResponse(response.status_code, response.headers, body)
    tap.record(_whole(self, req, True, reply))
    return reply


class _TappedSyncTransport(SyncTransport):
    """A client's transport when the client was built with ``recorder=``."""

    request = _tapped_request
    stream = _tapped_stream


class _TappedAsyncTransport(AsyncTransport):
    """The async twin of :class:`_TappedSyncTransport`."""

    request = _atapped_request
    stream = _atapped_stream


def transport_class(plain: type[Any]) -> type[Any]:
    """The tapped twin of a client's transport class, for a client built with ``recorder=``."""
    return _TappedAsyncTransport if issubclass(plain, AsyncTransport) else _TappedSyncTransport


_METHODS: dict[type[Any], dict[bool, tuple[Any, Any]]] = {
    SyncTransport: {
        False: (SyncTransport._send, SyncTransport._open),
        True: (_tapped_request, _tapped_stream),
    },
    AsyncTransport: {
        False: (AsyncTransport._send, AsyncTransport._open),
        True: (_atapped_request, _atapped_stream),
    },
}


class _Scopes:
    """How many ``with Recorder(...)`` blocks are open in the process (under a lock)."""

    open = 0
    lock = threading.Lock()


def _point(tapped: bool) -> None:
    for cls, methods in _METHODS.items():
        request, stream = methods[tapped]
        for name, function in (("request", request), ("stream", stream)):
            setattr(cls, name, function)


def open_tap_scope() -> None:
    """A ``with Recorder(...)`` block opens: the first one routes the plain transports'
    ``request``/``stream`` through the tap check (:data:`CURRENT_TAP`)."""
    with _Scopes.lock:
        _Scopes.open += 1
        if _Scopes.open == 1:
            _point(True)


def close_tap_scope() -> None:
    """A ``with Recorder(...)`` block closes: the last one puts the plain methods back."""
    with _Scopes.lock:
        _Scopes.open = max(_Scopes.open - 1, 0)
        if _Scopes.open == 0:
            _point(False)

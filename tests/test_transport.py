"""SyncTransport and AsyncTransport over ``httpx.MockTransport``: no sockets, sync and async.

Mirrors ``src/metallm/_transport.py``: the request goes out as the ``HTTPRequest`` says, the
reply comes back whole (or as a ``StreamHandle`` read as it arrives), error statuses on a stream
are read whole and the connection released, httpx errors become metallm errors with the
transport's secrets redacted, ``close()`` closes only a client the transport owns, and the URL
cache stays equal and bounded.
"""

from __future__ import annotations

import asyncio
import gzip
import traceback
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import httpx
import pytest

import metallm
from _helpers import MODES
from metallm._transport import (
    AsyncStreamHandle,
    AsyncTransport,
    StreamHandle,
    SyncTransport,
    _URLCache,
)
from metallm.provider import HTTPRequest, HTTPResponse

SECRET = "sk-test-SECRET-0123456789abcdef"
URL = "https://api.example.test/v1/chat/completions?api-version=2024-10-21"
REQ = HTTPRequest(
    "POST",
    URL,
    {"authorization": f"Bearer {SECRET}", "content-type": "application/json", "x-extra": "1"},
    b'{"model": "m", "stream": true}',
)
Handler = Callable[[httpx.Request], httpx.Response]


class Body(httpx.SyncByteStream, httpx.AsyncByteStream):
    """A response body in pieces that records being closed; may fail after its pieces."""

    def __init__(self, pieces: list[bytes], fail: Exception | None = None) -> None:
        self.pieces = pieces
        self.fail = fail
        self.closed = 0

    def __iter__(self) -> Iterator[bytes]:
        yield from self.pieces
        if self.fail is not None:
            raise self.fail

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for piece in self.pieces:
            yield piece
        if self.fail is not None:
            raise self.fail

    def close(self) -> None:
        self.closed += 1

    async def aclose(self) -> None:
        self.closed += 1


class Driver:
    """One transport, sync or async, driven with the same sync-looking calls."""

    def __init__(self, mode: str, handler: Handler, *, user_client: bool = True) -> None:
        self.mode = mode
        self.loop = asyncio.new_event_loop() if mode == "async" else None
        http: Any = None
        if user_client:
            kind = httpx.Client if mode == "sync" else httpx.AsyncClient
            http = kind(transport=httpx.MockTransport(handler))
        self.http = http
        cls = SyncTransport if mode == "sync" else AsyncTransport
        self.transport: Any = cls("prov", (SECRET,), httpx.Timeout(5.0), http)

    def _do(self, result: Any) -> Any:
        return self.loop.run_until_complete(result) if self.loop is not None else result

    def request(self, req: HTTPRequest = REQ) -> HTTPResponse:
        return self._do(self.transport.request(req))

    def stream(self, req: HTTPRequest = REQ) -> Any:
        return self._do(self.transport.stream(req))

    def pieces(self, handle: Any) -> list[bytes]:
        if self.mode == "sync":
            return list(handle.chunks())

        async def read() -> list[bytes]:
            return [piece async for piece in handle.chunks()]

        return self._do(read())

    def close_handle(self, handle: Any) -> None:
        self._do(handle.close())

    def close(self) -> None:
        self._do(self.transport.close() if self.mode == "sync" else self.transport.aclose())

    def shutdown(self) -> None:
        if self.http is not None:
            self._do(self.http.close() if self.mode == "sync" else self.http.aclose())
        if self.loop is not None:
            self.loop.close()


@pytest.fixture
def drivers() -> Iterator[list[Driver]]:
    made: list[Driver] = []
    yield made
    for driver in made:
        driver.shutdown()


@pytest.fixture(params=MODES)
def mode(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def drive(mode: str, drivers: list[Driver]) -> Callable[..., Driver]:
    def make(handler: Handler, **kwargs: Any) -> Driver:
        driver = Driver(mode, handler, **kwargs)
        drivers.append(driver)
        return driver

    return make


def reply(
    status: int = 200, pieces: list[bytes] | None = None, **kw: Any
) -> tuple[Handler, Body, list[httpx.Request]]:
    """A handler answering with ``pieces`` as the body; it records the requests it saw."""
    body = Body([b'{"ok": true}'] if pieces is None else pieces, kw.pop("fail", None))
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(status, stream=body, **kw)

    return handler, body, seen


def raising(exc: Exception) -> Handler:
    def handler(request: httpx.Request) -> httpx.Response:
        raise exc

    return handler


def test_request_goes_out_exactly_as_given(drive: Callable[..., Driver]) -> None:
    handler, _, seen = reply()
    drive(handler).request()
    (sent,) = seen
    assert sent.method == "POST"
    assert str(sent.url) == URL
    assert sent.url.params["api-version"] == "2024-10-21"
    for name, value in REQ.headers.items():
        assert sent.headers[name] == value
    assert sent.read() == REQ.content


def test_a_request_without_a_body(drive: Callable[..., Driver]) -> None:
    handler, _, seen = reply()
    drive(handler).request(HTTPRequest("GET", "https://api.example.test/v1/models", {}))
    assert seen[0].method == "GET"
    assert seen[0].read() == b""


def test_the_whole_reply_comes_back(drive: Callable[..., Driver]) -> None:
    headers = {"X-Request-Id": "req_123", "content-type": "application/json"}
    handler, _, _ = reply(201, [b'{"id":', b' "x"}'], headers=headers)
    resp = drive(handler).request()
    assert type(resp) is HTTPResponse
    assert resp.status_code == 201
    assert resp.content == b'{"id": "x"}'
    assert resp.headers["x-request-id"] == "req_123"  # case-insensitive
    assert resp.request_id == "req_123"


def test_an_error_status_on_a_plain_request_is_a_reply_not_an_exception(
    drive: Callable[..., Driver],
) -> None:
    handler, _, _ = reply(429, [b'{"error": "slow down"}'], headers={"retry-after": "1"})
    resp = drive(handler).request()
    assert (resp.status_code, resp.content) == (429, b'{"error": "slow down"}')
    assert resp.headers["retry-after"] == "1"


def test_a_stream_yields_raw_pieces_as_they_come(drive: Callable[..., Driver]) -> None:
    pieces = [b'data: {"a"', b": 1}\n\n", b"data: [DONE]\n\n"]
    handler, body, seen = reply(200, pieces, headers={"content-type": "text/event-stream"})
    driver = drive(handler)
    handle = driver.stream()
    assert isinstance(handle, StreamHandle if driver.mode == "sync" else AsyncStreamHandle)
    assert handle.status_code == 200
    assert handle.headers["content-type"] == "text/event-stream"
    assert seen[0].read() == REQ.content
    assert driver.pieces(handle) == pieces
    driver.close_handle(handle)
    driver.close_handle(handle)  # idempotent
    assert body.closed == 1


def test_a_stream_from_an_iterator_of_pieces(mode: str, drive: Callable[..., Driver]) -> None:
    pieces = [b"one ", b"two ", b"three"]

    async def agen() -> AsyncIterator[bytes]:
        for piece in pieces:
            yield piece

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=iter(pieces) if mode == "sync" else agen())

    driver = drive(handler)
    handle = driver.stream()
    assert driver.pieces(handle) == pieces
    driver.close_handle(handle)


def test_a_gzip_stream_is_decoded(drive: Callable[..., Driver]) -> None:
    text = b"data: " + b"x" * 500 + b"\n\n"
    packed = gzip.compress(text)
    pieces = [packed[:7], packed[7:20], packed[20:]]
    handler, _, _ = reply(200, pieces, headers={"content-encoding": "gzip"})
    driver = drive(handler)
    handle = driver.stream()
    assert b"".join(driver.pieces(handle)) == text
    driver.close_handle(handle)


def test_an_error_status_on_a_stream_is_read_whole_and_released(
    drive: Callable[..., Driver],
) -> None:
    handler, body, _ = reply(
        503, [b'{"error": ', b'{"message": "busy"}}'], headers={"x-request-id": "r9"}
    )
    resp = drive(handler).stream()
    assert type(resp) is HTTPResponse
    assert resp.status_code == 503
    assert resp.content == b'{"error": {"message": "busy"}}'
    assert resp.request_id == "r9"
    assert body.closed == 1


def test_a_failure_reading_an_error_body_is_a_connection_error(
    drive: Callable[..., Driver],
) -> None:
    handler, body, _ = reply(500, [b"{"], fail=httpx.ReadError(f"reset ({SECRET})"))
    with pytest.raises(metallm.APIConnectionError) as info:
        drive(handler).stream()
    assert type(info.value) is metallm.APIConnectionError
    assert SECRET not in str(info.value)
    assert body.closed == 1


MAPPED = [
    (httpx.ConnectTimeout, metallm.APITimeoutError),
    (httpx.ReadTimeout, metallm.APITimeoutError),
    (httpx.WriteTimeout, metallm.APITimeoutError),
    (httpx.PoolTimeout, metallm.APITimeoutError),
    (httpx.ConnectError, metallm.APIConnectionError),
    (httpx.RemoteProtocolError, metallm.APIConnectionError),
    (httpx.ReadError, metallm.APIConnectionError),
]


def _assert_clean(error: BaseException, expected: type[BaseException]) -> None:
    assert type(error) is expected
    assert SECRET not in str(error) and "[REDACTED]" in str(error)
    assert SECRET not in error.message  # type: ignore[attr-defined]
    assert error.provider == "prov"  # type: ignore[attr-defined]
    assert error.__cause__ is None and error.__suppress_context__
    assert SECRET not in "".join(traceback.format_exception(error))


@pytest.mark.parametrize("how", ["request", "stream"])
@pytest.mark.parametrize(("exc_type", "expected"), MAPPED)
def test_httpx_errors_become_metallm_errors_without_secrets(
    drive: Callable[..., Driver], how: str, exc_type: type[Exception], expected: type[Exception]
) -> None:
    driver = drive(raising(exc_type(f"failed talking with key {SECRET}")))
    with pytest.raises(metallm.MetaLLMError) as info:
        getattr(driver, how)()
    _assert_clean(info.value, expected)


@pytest.mark.parametrize(
    ("exc_type", "expected"),
    [
        (httpx.ReadError, metallm.StreamError),
        (httpx.RemoteProtocolError, metallm.StreamError),
        (httpx.ReadTimeout, metallm.APITimeoutError),
    ],
)
def test_a_failure_while_reading_a_stream_body(
    drive: Callable[..., Driver], exc_type: type[Exception], expected: type[Exception]
) -> None:
    fail = exc_type(f"peer closed; token {SECRET}")
    handler, body, _ = reply(200, [b"data: 1\n\n", b"data: 2"], fail=fail)
    driver = drive(handler)
    handle = driver.stream()
    got: list[bytes] = []

    def read() -> None:
        if driver.mode == "sync":
            got.extend(handle.chunks())
            return

        async def go() -> None:
            async for piece in handle.chunks():
                got.append(piece)

        driver._do(go())

    with pytest.raises(metallm.APIConnectionError) as info:
        read()
    assert got == [b"data: 1\n\n", b"data: 2"]  # what arrived before the cut was delivered
    _assert_clean(info.value, expected)
    driver.close_handle(handle)
    assert body.closed == 1


def test_close_closes_an_owned_client(drive: Callable[..., Driver]) -> None:
    driver = drive(raising(AssertionError("no I/O")), user_client=False)
    owned = driver.transport._client
    assert not owned.is_closed
    driver.close()
    assert owned.is_closed


def test_close_leaves_the_users_client_open(drive: Callable[..., Driver]) -> None:
    handler, _, seen = reply()
    driver = drive(handler)
    driver.close()
    assert not driver.http.is_closed
    driver.request()  # the user's client still works, through the same transport's client
    assert len(seen) == 1


def test_the_url_cache_returns_equal_urls() -> None:
    cache = _URLCache()
    url = cache[URL]
    assert url == httpx.URL(URL)
    assert cache[URL] is url
    assert cache["https://other.test/x"] == httpx.URL("https://other.test/x")
    assert len(cache) == 2


def test_the_url_cache_stays_bounded() -> None:
    cache = _URLCache()
    for i in range(2000):
        assert cache[f"https://h.test/{i}"] == httpx.URL(f"https://h.test/{i}")
        assert len(cache) <= 257
    assert cache[URL] == httpx.URL(URL)


def test_one_url_is_parsed_once_per_transport(drive: Callable[..., Driver]) -> None:
    handler, _, seen = reply()
    driver = drive(handler)
    driver.request()
    driver.request()
    assert len(driver.transport._urls) == 1
    assert [str(r.url) for r in seen] == [URL, URL]

"""The only module that touches httpx: sends :class:`HTTPRequest` values, maps httpx errors.

Two thin twins, :class:`SyncTransport` and :class:`AsyncTransport`, over one base that owns
everything but the ``await``s: building the ``httpx.Request`` (parsed URLs cached), mapping
errors, and turning replies into :class:`HTTPResponse` values. A plain call returns an
``HTTPResponse`` with the whole body. A stream call returns a :class:`StreamHandle` whose body
is read incrementally; an error status on a stream request is read whole and returned as an
``HTTPResponse`` instead, so the codec's error parser sees it like any other error.

httpx exceptions become metallm errors here and nowhere else (:class:`_Mapped`): timeouts
become :class:`APITimeoutError`, other transport failures :class:`APIConnectionError`, and a
failure while reading a stream body :class:`StreamError`. Texts are redacted of the
provider's secrets.

Recording (:class:`metallm.testing.Recorder`) hooks in through :mod:`metallm._transport_tap`,
which owns the tapped variants of ``request`` and ``stream``. Here each transport only names its
plain methods ``_send`` and ``_open`` (``request`` and ``stream`` are the same functions) and
keeps its provider name, secrets and optional tap, so an unrecorded client runs exactly the code
it ran before recording existed: no check per call, none per chunk.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import AsyncIterator, Iterator, Mapping
from typing import Any

import httpx

from .errors import APIConnectionError, APITimeoutError, StreamError, redact
from .provider import HTTPRequest, HTTPResponse

__all__ = ["AsyncStreamHandle", "AsyncTransport", "StreamHandle", "SyncTransport", "headers_of"]

_LIMITS = httpx.Limits(max_connections=1000, max_keepalive_connections=100, keepalive_expiry=5)
"""Many concurrent streams, few idle connections kept: httpcore 1.0's pool gets slow (its
bookkeeping grows with the square of idle connections) when a burst lands on a large idle pool."""

_BUILDING = threading.Lock()
"""Held while an owned httpx client is built, so two threads making a client's first requests
at once build one client, not two (the loser's would never be closed)."""

_ssl_contexts: dict[tuple[str | None, str | None], Any] = {}


def default_ssl_context() -> Any:
    """The SSL context every owned httpx client of this process shares.

    httpx makes a new context per client (``verify=True``), loading certifi's bundle each time:
    about 18 ms a client here, paid again by every client of a router and every provider a
    service talks to. A context is safe to share between connections and threads, so one per
    trust setting is made by httpx's own ``create_ssl_context`` (identical verification:
    certifi's bundle, or ``SSL_CERT_FILE`` / ``SSL_CERT_DIR`` when set, which key the cache)
    and kept. Callers holding ``_BUILDING`` only."""
    key = (os.environ.get("SSL_CERT_FILE"), os.environ.get("SSL_CERT_DIR"))
    context = _ssl_contexts.get(key)
    if context is None:
        context = _ssl_contexts[key] = httpx.create_ssl_context(verify=True, trust_env=True)
    return context


class _Mapped:
    """A context in which an httpx error becomes the matching metallm error (redacted)."""

    __slots__ = ("_in_body", "_provider", "_secrets")

    def __init__(self, provider: str, secrets: tuple[str, ...], *, in_body: bool) -> None:
        self._provider = provider
        self._secrets = secrets
        self._in_body = in_body

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: Any, exc: BaseException | None, tb: Any) -> None:
        if not isinstance(exc, httpx.HTTPError):
            return
        text = redact(f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__,
                      self._secrets)  # fmt: skip
        provider = self._provider
        if isinstance(exc, httpx.TimeoutException):
            raise APITimeoutError(f"request timed out ({text})", provider=provider) from None
        if self._in_body:
            raise StreamError(f"stream interrupted ({text})", provider=provider) from None
        raise APIConnectionError(f"connection failed ({text})", provider=provider) from None


def _raw(response: httpx.Response) -> bool:
    """Whether the body can be read as it is (no content encoding: one layer less per read)."""
    encoding = response.headers.get("content-encoding")
    return not encoding or encoding == "identity"


def headers_of(headers: Mapping[str, str]) -> Mapping[str, str]:
    """``headers`` as the case-insensitive mapping a transport's replies carry (replays)."""
    return httpx.Headers(dict(headers))


class _URLCache(dict[str, httpx.URL]):
    """Parsed URLs by text: a codec sends to the same few URLs, and parsing costs ~20 us."""

    def __missing__(self, key: str) -> httpx.URL:
        if len(self) > 256:
            self.clear()
        url = self[key] = httpx.URL(key)
        return url


class _MergedHeaders:
    """The client's default headers merged with a codec's, kept per distinct header dict.

    What ``httpx.Client._merge_headers`` returns (the client's headers, then the request's,
    a request header replacing the client's of the same name), so requests carry the same
    headers in the same order. The kept merges are dropped whenever the client's own headers
    change (a user may edit ``http_client.headers`` between calls).
    """

    __slots__ = ("_client", "_merged")

    def __init__(self) -> None:
        self._client: list[tuple[str, str]] = []
        self._merged: dict[tuple[tuple[str, str], ...], httpx.Headers] = {}

    def of(self, client: httpx.Headers, headers: Mapping[str, str]) -> httpx.Headers:
        """``client`` updated with ``headers`` (not a copy: ``httpx.Request`` copies it)."""
        items = client.multi_items()
        if items != self._client:
            self._client = items
            self._merged.clear()
        key = tuple(headers.items())
        merged = self._merged.get(key)
        if merged is None:
            merged = httpx.Headers(client)
            merged.update(headers)
            if len(self._merged) < 64:  # headers that change per call are merged, not kept
                self._merged[key] = merged
        return merged


class _Handle:
    """What both stream handles share: the response, its status and headers."""

    __slots__ = ("_mapped", "_response", "headers", "status_code")

    def __init__(self, response: httpx.Response, mapped: _Mapped) -> None:
        self._response = response
        self._mapped = mapped
        self.status_code = response.status_code
        self.headers = response.headers


class StreamHandle(_Handle):
    """An open streamed response: iterate ``chunks()`` for body bytes, then ``close()``."""

    __slots__ = ()

    def chunks(self) -> Iterator[bytes]:
        """Body bytes as they arrive; transport failures raise metallm errors."""
        response = self._response
        with self._mapped:
            yield from response.iter_raw() if _raw(response) else response.iter_bytes()

    def close(self) -> None:
        """Release the connection (idempotent)."""
        self._response.close()


class AsyncStreamHandle(_Handle):
    """The async twin of :class:`StreamHandle`."""

    __slots__ = ()

    async def chunks(self) -> AsyncIterator[bytes]:
        """Body bytes as they arrive; transport failures raise metallm errors."""
        response = self._response
        with self._mapped:
            async for data in response.aiter_raw() if _raw(response) else response.aiter_bytes():
                yield data

    async def close(self) -> None:
        """Release the connection (idempotent)."""
        await self._response.aclose()


class _Transport:
    """What both transports share: the httpx client, request building, error mapping.

    ``http_client`` is the user's own client (never closed here), else one of
    ``_client_class`` is made with metallm's timeout and pool limits and owned. ``tap`` is the
    client's recorder (``recorder=``), which only the tapped classes of
    :mod:`metallm._transport_tap` read.
    """

    _client_class: Any = None
    _client: Any  # the user's, set here; an owned one is built on first use (``__getattr__``)

    def __init__(
        self,
        provider: str,
        secrets: tuple[str, ...],
        timeout: httpx.Timeout,
        http_client: Any = None,
        tap: Any = None,
    ) -> None:
        if http_client is not None:
            self._client = http_client
        self._timeout = timeout
        self._owned = http_client is None
        self._urls = _URLCache()
        self._provider = provider
        self._secrets = secrets
        self._tap = tap
        self._send_errors = _Mapped(provider, secrets, in_body=False)
        kind = self._client_class if http_client is None else type(http_client)
        plain = kind.build_request is self._client_class.build_request
        self._merged = _MergedHeaders() if plain else None
        self._body_errors = _Mapped(provider, secrets, in_body=True)

    def __getattr__(self, name: str) -> Any:
        """The owned httpx client, built at its first use (only ``_client`` is looked up here:
        every other attribute is set in ``__init__``). Building one costs about 35 ms the first
        time in a process (httpx imports httpcore and h11, and an SSL context loads certifi's
        bundle), so a client that is made but never called (a router's fallback, a client
        built at import time for a code path rarely taken) never pays it. Once built, it is a
        plain attribute: the calls after the first look nothing up here."""
        if name != "_client":
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
        with _BUILDING:
            client = self.__dict__.get("_client")
            if client is None:
                client = self._client_class(
                    timeout=self._timeout, limits=_LIMITS, verify=default_ssl_context()
                )
                self._client = client
        return client

    @property
    def built(self) -> bool:
        """Whether the httpx client exists yet (a user's always does; an owned one after the
        first request)."""
        return "_client" in self.__dict__

    def _build(self, req: HTTPRequest) -> httpx.Request:
        """The ``httpx.Request`` that ``client.build_request`` would build, built faster.

        ``build_request`` merges the client's default headers into the codec's on every call
        (``Headers.update`` pops each shared name, ``user-agent`` and ``accept``, from a list:
        about 10 us per call here). The codec sends the same few header dicts again and again,
        so the merged ``httpx.Headers`` is kept per dict (:class:`_MergedHeaders`) and the
        request is made directly. Whatever ``build_request`` would do differently takes its
        own path: a client with cookies or default query parameters, a relative URL (the
        client's ``base_url``), or a client class that overrides ``build_request``.
        """
        client = self._client
        url = self._urls[req.url]
        timeout = None if req.timeout is None else httpx.Timeout(max(req.timeout, 0.001))
        if self._merged is None or client.cookies or client.params or url.is_relative_url:
            if timeout is not None:  # a routed call's deadline: every phase within what is left
                return client.build_request(  # type: ignore[no-any-return]
                    req.method, url, headers=req.headers, content=req.content, timeout=timeout
                )
            return client.build_request(  # type: ignore[no-any-return]
                req.method, url, headers=req.headers, content=req.content
            )
        return httpx.Request(
            req.method,
            url,
            headers=self._merged.of(client.headers, req.headers),
            content=req.content,
            extensions={"timeout": (client.timeout if timeout is None else timeout).as_dict()},
        )


class SyncTransport(_Transport):
    """Sends requests on an ``httpx.Client`` (the user's, or one it owns and closes)."""

    _client_class = httpx.Client

    def _send(self, req: HTTPRequest) -> HTTPResponse:
        """One exchange, body read whole."""
        with self._send_errors:
            response = self._client.send(self._build(req))
        return HTTPResponse(response.status_code, response.headers, response.content)

    def _open(self, req: HTTPRequest) -> StreamHandle | HTTPResponse:
        """Open a streamed exchange; an error status comes back read whole."""
        with self._send_errors:
            response = self._client.send(self._build(req), stream=True)
        if response.status_code < 400:
            return StreamHandle(response, self._body_errors)
        with self._send_errors, contextlib.closing(response):
            return HTTPResponse(response.status_code, response.headers, response.read())

    request = _send
    stream = _open

    def close(self) -> None:
        """Close the httpx client if this transport created it (one never built is not built
        just to be closed)."""
        if self._owned and self.built:
            self._client.close()


class AsyncTransport(_Transport):
    """The async twin of :class:`SyncTransport`, on an ``httpx.AsyncClient``."""

    _client_class = httpx.AsyncClient

    async def _send(self, req: HTTPRequest) -> HTTPResponse:
        """One exchange, body read whole."""
        with self._send_errors:
            response = await self._client.send(self._build(req))
        return HTTPResponse(response.status_code, response.headers, response.content)

    async def _open(self, req: HTTPRequest) -> AsyncStreamHandle | HTTPResponse:
        """Open a streamed exchange; an error status comes back read whole."""
        with self._send_errors:
            response = await self._client.send(self._build(req), stream=True)
        if response.status_code < 400:
            return AsyncStreamHandle(response, self._body_errors)
        async with contextlib.aclosing(response):
            with self._send_errors:
                return HTTPResponse(response.status_code, response.headers, await response.aread())

    request = _send
    stream = _open

    async def aclose(self) -> None:
        """Close the httpx client if this transport created it."""
        if self._owned and self.built:
            await self._client.aclose()

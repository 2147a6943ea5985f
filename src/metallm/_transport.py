"""The only module that touches httpx: sends :class:`HTTPRequest` values, maps httpx errors.

Two thin twins, :class:`SyncTransport` and :class:`AsyncTransport`. A plain call returns an
:class:`HTTPResponse` with the whole body. A stream call returns a :class:`StreamHandle` whose
body is read incrementally; an error status on a stream request is read whole and returned as an
``HTTPResponse`` instead, so the codec's error parser sees it like any other error.

httpx exceptions become metallm errors here and nowhere else: timeouts become
:class:`APITimeoutError`, other transport failures :class:`APIConnectionError`, and a failure
while reading a stream body :class:`StreamError`. Texts are redacted of the provider's secrets.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import NoReturn

import httpx

from .errors import APIConnectionError, APITimeoutError, StreamError, redact
from .provider import HTTPRequest, HTTPResponse

__all__ = ["AsyncStreamHandle", "AsyncTransport", "StreamHandle", "SyncTransport"]

_LIMITS = httpx.Limits(max_connections=1000, max_keepalive_connections=100, keepalive_expiry=5)
"""Many concurrent streams, few idle connections kept: httpcore 1.0's pool gets slow (its
bookkeeping grows with the square of idle connections) when a burst lands on a large idle pool."""


def _raise_mapped(
    exc: httpx.HTTPError, provider: str, secrets: tuple[str, ...], *, in_body: bool
) -> NoReturn:
    text = redact(f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__, secrets)
    if isinstance(exc, httpx.TimeoutException):
        raise APITimeoutError(f"request timed out ({text})", provider=provider) from None
    if in_body:
        raise StreamError(f"stream interrupted ({text})", provider=provider) from None
    raise APIConnectionError(f"connection failed ({text})", provider=provider) from None


def _body_bytes(response: httpx.Response) -> Iterator[bytes]:
    """The body as it arrives: raw bytes when not content-encoded (one layer less per read)."""
    encoding = response.headers.get("content-encoding")
    return response.iter_raw() if not encoding or encoding == "identity" else response.iter_bytes()


def _abody_bytes(response: httpx.Response) -> AsyncIterator[bytes]:
    encoding = response.headers.get("content-encoding")
    return (
        response.aiter_raw() if not encoding or encoding == "identity" else response.aiter_bytes()
    )


class _URLCache(dict[str, httpx.URL]):
    """Parsed URLs by text: a codec sends to the same few URLs, and parsing costs ~20 us."""

    def __missing__(self, key: str) -> httpx.URL:
        if len(self) > 256:
            self.clear()
        url = self[key] = httpx.URL(key)
        return url


class StreamHandle:
    """An open streamed response: iterate ``chunks()`` for body bytes, then ``close()``."""

    __slots__ = ("_provider", "_response", "_secrets", "headers", "status_code")

    def __init__(self, response: httpx.Response, provider: str, secrets: tuple[str, ...]) -> None:
        self._response = response
        self._provider = provider
        self._secrets = secrets
        self.status_code = response.status_code
        self.headers = response.headers

    def chunks(self) -> Iterator[bytes]:
        """Body bytes as they arrive; transport failures raise metallm errors."""
        try:
            yield from _body_bytes(self._response)
        except httpx.HTTPError as exc:
            _raise_mapped(exc, self._provider, self._secrets, in_body=True)

    def close(self) -> None:
        """Release the connection (idempotent)."""
        self._response.close()


class AsyncStreamHandle:
    """The async twin of :class:`StreamHandle`."""

    __slots__ = ("_provider", "_response", "_secrets", "headers", "status_code")

    def __init__(self, response: httpx.Response, provider: str, secrets: tuple[str, ...]) -> None:
        self._response = response
        self._provider = provider
        self._secrets = secrets
        self.status_code = response.status_code
        self.headers = response.headers

    async def chunks(self) -> AsyncIterator[bytes]:
        """Body bytes as they arrive; transport failures raise metallm errors."""
        try:
            async for data in _abody_bytes(self._response):
                yield data
        except httpx.HTTPError as exc:
            _raise_mapped(exc, self._provider, self._secrets, in_body=True)

    async def close(self) -> None:
        """Release the connection (idempotent)."""
        await self._response.aclose()


class SyncTransport:
    """Sends requests on an ``httpx.Client`` (the user's, or one it owns and closes)."""

    def __init__(
        self,
        provider: str,
        secrets: tuple[str, ...],
        timeout: httpx.Timeout,
        http_client: httpx.Client | None = None,
    ) -> None:
        self._provider = provider
        self._secrets = secrets
        self._owned = http_client is None
        self._client = http_client or httpx.Client(timeout=timeout, limits=_LIMITS)
        self._urls = _URLCache()

    def _build(self, req: HTTPRequest) -> httpx.Request:
        return self._client.build_request(
            req.method, self._urls[req.url], headers=req.headers, content=req.content
        )

    def request(self, req: HTTPRequest) -> HTTPResponse:
        """One exchange, body read whole."""
        try:
            response = self._client.send(self._build(req))
        except httpx.HTTPError as exc:
            _raise_mapped(exc, self._provider, self._secrets, in_body=False)
        return HTTPResponse(response.status_code, response.headers, response.content)

    def stream(self, req: HTTPRequest) -> StreamHandle | HTTPResponse:
        """Open a streamed exchange; an error status comes back read whole."""
        try:
            response = self._client.send(self._build(req), stream=True)
        except httpx.HTTPError as exc:
            _raise_mapped(exc, self._provider, self._secrets, in_body=False)
        if response.status_code < 400:
            return StreamHandle(response, self._provider, self._secrets)
        try:
            body = response.read()
        except httpx.HTTPError as exc:
            _raise_mapped(exc, self._provider, self._secrets, in_body=False)
        finally:
            response.close()
        return HTTPResponse(response.status_code, response.headers, body)

    def close(self) -> None:
        """Close the httpx client if this transport created it."""
        if self._owned:
            self._client.close()


class AsyncTransport:
    """The async twin of :class:`SyncTransport`, on an ``httpx.AsyncClient``."""

    def __init__(
        self,
        provider: str,
        secrets: tuple[str, ...],
        timeout: httpx.Timeout,
        http_client: httpx.AsyncClient | None = None,
    ) -> None:
        self._provider = provider
        self._secrets = secrets
        self._owned = http_client is None
        self._client = http_client or httpx.AsyncClient(timeout=timeout, limits=_LIMITS)
        self._urls = _URLCache()

    def _build(self, req: HTTPRequest) -> httpx.Request:
        return self._client.build_request(
            req.method, self._urls[req.url], headers=req.headers, content=req.content
        )

    async def request(self, req: HTTPRequest) -> HTTPResponse:
        """One exchange, body read whole."""
        try:
            response = await self._client.send(self._build(req))
        except httpx.HTTPError as exc:
            _raise_mapped(exc, self._provider, self._secrets, in_body=False)
        return HTTPResponse(response.status_code, response.headers, response.content)

    async def stream(self, req: HTTPRequest) -> AsyncStreamHandle | HTTPResponse:
        """Open a streamed exchange; an error status comes back read whole."""
        try:
            response = await self._client.send(self._build(req), stream=True)
        except httpx.HTTPError as exc:
            _raise_mapped(exc, self._provider, self._secrets, in_body=False)
        if response.status_code < 400:
            return AsyncStreamHandle(response, self._provider, self._secrets)
        try:
            body = await response.aread()
        except httpx.HTTPError as exc:
            _raise_mapped(exc, self._provider, self._secrets, in_body=False)
        finally:
            await response.aclose()
        return HTTPResponse(response.status_code, response.headers, body)

    async def aclose(self) -> None:
        """Close the httpx client if this transport created it."""
        if self._owned:
            await self._client.aclose()

"""The transport builds the very request ``httpx.Client.build_request`` would.

``_Transport._build`` keeps the client's default headers merged with each codec header dict
instead of merging them per call; these tests pin that the request is unchanged by it (same
URL, headers in the same order, body, timeout extension), and that every case the shortcut
does not cover (cookies, default query parameters, a relative URL, a client class overriding
``build_request``, client headers edited between calls, a routed call's deadline) still gets
exactly what ``build_request`` gives.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from metallm._transport import AsyncTransport, SyncTransport
from metallm.provider import HTTPRequest

_HEADERS = {
    "content-type": "application/json",
    "user-agent": "metallm-test/1",
    "authorization": "Bearer sk-secret",
    "accept": "application/json",
}
_URL = "http://bench.invalid/v1/chat/completions"


def _expected(client: httpx.Client | httpx.AsyncClient, req: HTTPRequest) -> httpx.Request:
    timeout: Any = (
        httpx.USE_CLIENT_DEFAULT if req.timeout is None else httpx.Timeout(max(req.timeout, 0.001))
    )
    return client.build_request(
        req.method, req.url, headers=req.headers, content=req.content, timeout=timeout
    )


def _same(built: httpx.Request, expected: httpx.Request) -> None:
    assert built.method == expected.method
    assert built.url == expected.url
    assert built.headers.raw == expected.headers.raw  # names, values and order
    assert built.content == expected.content
    assert built.extensions == expected.extensions


@pytest.mark.parametrize("kind", [SyncTransport, AsyncTransport])
@pytest.mark.parametrize("timeout", [None, 2.5, -1.0])
def test_a_request_is_built_as_build_request_builds_it(kind: Any, timeout: float | None) -> None:
    client = (httpx.Client if kind is SyncTransport else httpx.AsyncClient)(timeout=7.0)
    transport = kind("openai", ("sk-secret",), httpx.Timeout(7.0), http_client=client)
    req = HTTPRequest("POST", _URL, dict(_HEADERS), b'{"model":"gpt-4o"}', timeout)
    for _ in range(3):  # the first build merges, the next ones reuse the merge
        _same(transport._build(req), _expected(client, req))


def test_client_headers_edited_between_calls_are_sent() -> None:
    client = httpx.Client(headers={"x-team": "a"})
    transport = SyncTransport("openai", (), httpx.Timeout(5.0), http_client=client)
    req = HTTPRequest("POST", _URL, dict(_HEADERS), b"{}")
    _same(transport._build(req), _expected(client, req))
    client.headers["x-team"] = "b"
    client.headers["user-agent"] = "theirs"
    built = transport._build(req)
    _same(built, _expected(client, req))
    assert built.headers["x-team"] == "b"
    assert built.headers["user-agent"] == "metallm-test/1"  # the request's own wins


def test_a_new_header_dict_per_call_is_merged_each_time() -> None:
    client = httpx.Client()
    transport = SyncTransport("openai", (), httpx.Timeout(5.0), http_client=client)
    for n in range(100):  # more distinct dicts than are kept
        req = HTTPRequest("POST", _URL, {**_HEADERS, "idempotency-key": f"k{n}"}, b"{}")
        built = transport._build(req)
        _same(built, _expected(client, req))
        assert built.headers["idempotency-key"] == f"k{n}"


def test_cookies_params_and_relative_urls_take_build_request() -> None:
    client = httpx.Client(
        cookies={"session": "c1"}, params={"api-version": "1"}, base_url="http://bench.invalid/root"
    )
    transport = SyncTransport("openai", (), httpx.Timeout(5.0), http_client=client)
    for url in (_URL, "/v1/chat/completions"):
        req = HTTPRequest("POST", url, dict(_HEADERS), b"{}")
        built = transport._build(req)
        _same(built, _expected(client, req))
    assert "session=c1" in built.headers["cookie"]
    assert built.url == httpx.URL("http://bench.invalid/root/v1/chat/completions?api-version=1")


def test_a_client_overriding_build_request_is_still_asked() -> None:
    class Tagging(httpx.Client):
        def build_request(self, *args: Any, **kwargs: Any) -> httpx.Request:
            request = super().build_request(*args, **kwargs)
            request.headers["x-tagged"] = "yes"
            return request

    transport = SyncTransport("openai", (), httpx.Timeout(5.0), http_client=Tagging())
    built = transport._build(HTTPRequest("POST", _URL, dict(_HEADERS), b"{}"))
    assert built.headers["x-tagged"] == "yes"


def test_the_request_goes_out_with_the_merged_headers_over_a_real_exchange() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"ok": True})

    client = httpx.Client(transport=httpx.MockTransport(handler), headers={"x-team": "a"})
    transport = SyncTransport("openai", (), httpx.Timeout(5.0), http_client=client)
    req = HTTPRequest("POST", _URL, dict(_HEADERS), b'{"a":1}')
    assert transport.request(req).status_code == 200
    assert seen[0].headers["x-team"] == "a"
    assert seen[0].headers["authorization"] == "Bearer sk-secret"
    assert seen[0].headers["content-length"] == "7"
    assert seen[0].content == b'{"a":1}'

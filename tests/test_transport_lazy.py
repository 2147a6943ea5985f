"""The owned httpx client: built at the first request, once, on one shared SSL context.

A client that is made but never called (a router's fallback target, a client built at import
time) pays neither httpx's transport imports nor an SSL context; the first request builds the
httpx client exactly once, even when several threads make it at the same moment; every owned
client of the process verifies certificates through one context made by httpx itself, and a
trust setting from the environment gets a context of its own. Real sockets to FakeLLMServer.
"""

from __future__ import annotations

import asyncio
import ssl
import threading
from collections.abc import Iterator

import certifi
import httpx
import pytest

import metallm
from metallm._transport import default_ssl_context
from metallm.testing import FakeLLMServer

KEY = "sk-lazy-SECRET-0123456789"
MESSAGES = [{"role": "user", "content": "hi"}]


@pytest.fixture(scope="module")
def server() -> Iterator[FakeLLMServer]:
    with FakeLLMServer() as s:
        yield s


def _client(server: FakeLLMServer, **kwargs: object) -> metallm.Client:
    return metallm.Client(
        provider="openai", api_key=KEY, base_url=server.base_url("openai"), hooks=[], **kwargs
    )


def test_a_client_never_called_builds_no_httpx_client(server: FakeLLMServer) -> None:
    client = _client(server)
    assert not client._transport.built
    client.close()  # closing builds nothing just to close it
    assert not client._transport.built


def test_the_first_request_builds_the_owned_client_and_later_ones_reuse_it(
    server: FakeLLMServer,
) -> None:
    client = _client(server)
    first = client.create_chat_completion(model="gpt-4o-mini", messages=MESSAGES)
    assert first.choices[0].message.content
    assert client._transport.built
    owned = client._transport._client
    assert isinstance(owned, httpx.Client)
    assert owned.timeout == client.config.httpx_timeout()
    client.create_chat_completion(model="gpt-4o-mini", messages=MESSAGES)
    assert client._transport._client is owned
    client.close()
    assert owned.is_closed


def test_threads_racing_on_the_first_request_build_one_client(server: FakeLLMServer) -> None:
    client = _client(server)
    built: list[int] = []
    original = httpx.Client.__init__

    def counting(self: httpx.Client, *args: object, **kwargs: object) -> None:
        built.append(1)
        original(self, *args, **kwargs)  # type: ignore[arg-type]

    start = threading.Barrier(8)
    errors: list[BaseException] = []

    def call() -> None:
        start.wait()
        try:
            client.create_chat_completion(model="gpt-4o-mini", messages=MESSAGES)
        except BaseException as exc:
            errors.append(exc)

    httpx.Client.__init__ = counting  # type: ignore[method-assign]
    try:
        threads = [threading.Thread(target=call) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        httpx.Client.__init__ = original  # type: ignore[method-assign]
    assert errors == []
    assert len(built) == 1
    client.close()


def test_owned_clients_share_one_verifying_ssl_context(server: FakeLLMServer) -> None:
    one, two = _client(server), _client(server)
    for c in (one, two):
        c.create_chat_completion(model="gpt-4o-mini", messages=MESSAGES)
    pools = [c._transport._client._transport._pool for c in (one, two)]
    contexts = {id(p._ssl_context) for p in pools}
    assert len(contexts) == 1
    context = pools[0]._ssl_context
    assert context is default_ssl_context()
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert context.check_hostname
    assert context.cert_store_stats()["x509_ca"] > 0  # certifi's bundle, as httpx loads it
    one.close()
    two.close()


def test_a_trust_setting_from_the_environment_gets_its_own_context(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    default = default_ssl_context()
    monkeypatch.setenv("SSL_CERT_FILE", certifi.where())
    from_env = default_ssl_context()
    assert from_env is not default
    assert default_ssl_context() is from_env  # kept for that setting
    monkeypatch.delenv("SSL_CERT_FILE")
    assert default_ssl_context() is default


def test_a_users_http_client_is_used_as_given(server: FakeLLMServer) -> None:
    mine = httpx.Client()
    client = _client(server, http_client=mine)
    assert client._transport.built and client._transport._client is mine
    client.create_chat_completion(model="gpt-4o-mini", messages=MESSAGES)
    client.close()
    assert not mine.is_closed
    mine.close()


def test_the_async_client_builds_its_owned_client_at_the_first_request(
    server: FakeLLMServer,
) -> None:
    async def go() -> None:
        client = metallm.AsyncClient(
            provider="openai", api_key=KEY, base_url=server.base_url("openai"), hooks=[]
        )
        assert not client._transport.built
        await client.create_chat_completion(model="gpt-4o-mini", messages=MESSAGES)
        owned = client._transport._client
        assert isinstance(owned, httpx.AsyncClient)
        await client.aclose()
        assert owned.is_closed

    asyncio.run(go())


def test_an_unknown_attribute_is_still_an_attribute_error(server: FakeLLMServer) -> None:
    client = _client(server)
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        _ = client._transport.nope
    assert not client._transport.built

"""Keys and base URLs are checked when a client is built, never at the first call.

A key read from a file or a secret mount often ends in a newline: surrounding whitespace is
stripped; any other control or non-ASCII character is a ``ConfigurationError`` that never shows
the key. A base URL that is not an http(s) URL with a host fails at construction, not with a
DNS error at the first call.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import metallm
from metallm.testing import FakeLLMServer

KEY = "sk-config-check-0123456789"


@pytest.fixture(scope="module")
def server() -> Iterator[FakeLLMServer]:
    with FakeLLMServer() as s:
        yield s


@pytest.mark.parametrize("raw", [KEY + "\n", f"  {KEY}\t", f"\n{KEY}\r\n"])
def test_surrounding_whitespace_is_stripped_and_the_call_works(
    server: FakeLLMServer, raw: str
) -> None:
    with metallm.Client(
        provider="openai", api_key=raw, base_url=server.base_url("openai"), hooks=[]
    ) as client:
        client.create_chat_completion(model="m", messages=[{"role": "user", "content": "hi"}])
    assert server.last_request.headers["authorization"] == f"Bearer {KEY}"


def test_a_key_from_the_environment_is_stripped_too(
    server: FakeLLMServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XAI_API_KEY", KEY + "\n")
    with metallm.Client(provider="xai", base_url=server.base_url("xai"), hooks=[]) as client:
        client.create_chat_completion(model="m", messages=[{"role": "user", "content": "hi"}])
    assert server.last_request.headers["authorization"] == f"Bearer {KEY}"


@pytest.mark.parametrize(
    ("raw", "position"),
    [(f"{KEY[:5]}\n{KEY[5:]}", 5), (KEY + "é", len(KEY)), (f"{KEY[:3]}\x00{KEY[3:]}", 3)],
)
def test_a_key_with_a_control_or_non_ascii_character_is_refused_without_showing_it(
    raw: str, position: int
) -> None:
    with pytest.raises(metallm.ConfigurationError) as info:
        metallm.Client(provider="anthropic", api_key=raw)
    text = f"{info.value} {info.value!r}"
    assert f"position {position}" in text
    assert KEY[:8] not in text and KEY[-8:] not in text and repr(raw) not in text


@pytest.mark.parametrize(
    "base_url", ["not a url", "ftp://example.com", "http://", "https:///v1", "http://host:notaport"]
)
def test_a_base_url_without_an_http_scheme_and_host_fails_at_construction(base_url: str) -> None:
    with pytest.raises(metallm.ConfigurationError, match="base_url"):
        metallm.Client(provider="openai", api_key=KEY, base_url=base_url)


def test_a_bare_host_still_means_http(server: FakeLLMServer) -> None:
    bare = server.base_url("ollama").removeprefix("http://")
    with metallm.Client(provider="ollama", base_url=bare, hooks=[]) as client:
        assert client.codec is not None and client.codec.base_url == f"http://{bare}"

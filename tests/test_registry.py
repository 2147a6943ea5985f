"""The provider registry: built-ins by name, environment resolution, third-party specs."""

from __future__ import annotations

import pytest

import metallm
from metallm.provider import ProviderSpec, available, get_spec, register
from metallm.testing import FakeLLMServer, ScriptedReply


def test_builtins_are_registered_by_name() -> None:
    assert {"openai", "anthropic", "gemini", "xai", "ollama"} <= set(available())
    assert {p.value for p in metallm.ProviderName} <= set(available())


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("0.0.0.0", "http://0.0.0.0:11434"),
        ("myhost:8080", "http://myhost:8080"),
        ("https://ollama.example.com", "https://ollama.example.com"),
        ("http://localhost:11434/", "http://localhost:11434"),
    ],
)
def test_ollama_host_is_read_the_way_ollama_reads_it(
    monkeypatch: pytest.MonkeyPatch, host: str, expected: str
) -> None:
    monkeypatch.setenv("OLLAMA_HOST", host)
    monkeypatch.delenv("OLLAMA_API_KEY", raising=False)
    assert get_spec("ollama").resolve(None, None, {}).base_url == expected


def test_ollama_needs_no_key_and_works_by_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OLLAMA_API_KEY", raising=False)
    with FakeLLMServer() as server:
        server.enqueue(ScriptedReply(text="local hello"))
        monkeypatch.setenv("OLLAMA_HOST", server.url.removeprefix("http://"))
        with metallm.Client(provider=metallm.ProviderName.OLLAMA) as client:
            resp = client.create_chat_completion(
                model="llama3.1", messages=[{"role": "user", "content": "hi"}]
            )
        assert resp.content == "local hello" and resp.provider == "ollama"
        assert server.requests[0].path == "/api/chat"


def test_third_party_spec_registers_and_refuses_duplicates() -> None:
    spec = ProviderSpec(
        "acme-test",
        "metallm.providers.openai:create",
        default_base_url="http://127.0.0.1:9/v1",
        requires_key=False,
    )
    register(spec, replace=True)
    assert get_spec("acme-test") is spec
    with pytest.raises(metallm.ConfigurationError, match="already registered"):
        register(spec)

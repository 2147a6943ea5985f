"""``count_tokens`` end to end: real sockets to FakeLLMServer, sync and async.

Request bodies are compared with the recorded exchanges of the corpus (Anthropic
``count_tokens_basic``, Gemini ``count_tokens_basic`` and ``count_tokens_vertex``) for the same
inputs; Bedrock's body with the API reference's ``{"input": {"converse": ...}}``. Counts come
from the fake server's deterministic rule. Also: Bedrock's unsupported-model reply falls back
to the estimate, bad input is refused before any I/O, a count runs no hooks, a custom provider's
own count is used, and errors are typed.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import pytest

import metallm
from _helpers import MODES
from metallm.providers.bedrock import BedrockProvider
from metallm.testing import FakeLLMServer, ScriptedReply
from metallm.testing.corpus import corpus_dir
from metallm.testing.wire_tokens import count_body_tokens

KEY = "sk-count-SECRET-0123456789"
AWS_SECRET = "aws-secret-COUNT-0123456789"
FAST = metallm.RetryPolicy(initial_backoff=0.001, jitter=0)
FOX = "The quick brown fox jumps over the lazydog."


def _recorded(provider: str, name: str) -> dict[str, Any]:
    path = corpus_dir() / provider / f"{name}.json"
    if not path.is_file():
        pytest.skip(f"corpus file {path} not found")
    entry: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return entry


@pytest.fixture(scope="module")
def server() -> Iterator[FakeLLMServer]:
    with FakeLLMServer() as s:
        yield s


@pytest.fixture(autouse=True)
def _clean(server: FakeLLMServer) -> None:
    server.clear()


def _count(mode: str, client_kwargs: dict[str, Any], request: Any) -> metallm.TokenCount:
    kwargs = {"hooks": [], "retry": FAST, **client_kwargs}
    if mode == "sync":
        with metallm.Client(**kwargs) as client:
            return client.count_tokens(request)

    async def go() -> metallm.TokenCount:
        async with metallm.AsyncClient(**kwargs) as client:
            return await client.count_tokens(request)

    return asyncio.run(go())


def _bedrock(server: FakeLLMServer) -> BedrockProvider:
    return BedrockProvider(
        region="us-east-1",
        endpoint_url=server.url,
        aws_access_key_id="AKIDCOUNTTEST",
        aws_secret_access_key=AWS_SECRET,
    )


def _fox_request(model: str) -> dict[str, Any]:
    return {
        "model": model,
        "messages": [{"role": "user", "content": [{"type": "text", "text": FOX}]}],
    }


@pytest.mark.parametrize("mode", MODES)
def test_anthropic_body_is_the_recorded_one(server: FakeLLMServer, mode: str) -> None:
    recorded = _recorded("anthropic", "count_tokens_basic")["request"]["body"]
    client = {"provider": "anthropic", "api_key": KEY, "base_url": server.base_url("anthropic")}
    request = _fox_request("claude-sonnet-4-5")
    request["max_tokens"] = 100  # a Messages field the count endpoint refuses: left out
    request["temperature"] = 0.5
    counted = _count(mode, client, request)
    sent = server.last_request
    assert sent.path == "/v1/messages/count_tokens"
    assert sent.headers["x-api-key"] == KEY
    assert sent.json == recorded
    assert counted == metallm.TokenCount(count_body_tokens(recorded), True, "anthropic")


@pytest.mark.parametrize("mode", MODES)
def test_anthropic_counts_system_and_tools(server: FakeLLMServer, mode: str) -> None:
    client = {"provider": "anthropic", "api_key": KEY, "base_url": server.base_url("anthropic")}
    tool = {"type": "function", "function": {"name": "f", "description": "look it up"}}
    request = {
        "model": "claude-sonnet-4-5",
        "messages": [{"role": "system", "content": "be brief"}, {"role": "user", "content": "hi"}],
        "tools": [tool],
    }
    counted = _count(mode, client, request)
    sent = server.last_request.json
    assert set(sent) == {"model", "messages", "system", "tools"}
    assert sent["system"] == "be brief"
    assert counted.input_tokens == 2 + 1 and counted.exact


@pytest.mark.parametrize("mode", MODES)
def test_gemini_api_body_is_the_recorded_one(server: FakeLLMServer, mode: str) -> None:
    recorded = _recorded("gemini", "count_tokens_basic")["request"]
    client = {"provider": "gemini", "api_key": KEY, "base_url": server.base_url("gemini")}
    counted = _count(mode, client, _fox_request("gemini-2.5-flash"))
    sent = server.last_request
    assert sent.path == recorded["path"]
    assert sent.headers["x-goog-api-key"] == KEY
    assert sent.json == recorded["body"]
    assert counted == metallm.TokenCount(count_body_tokens(recorded["body"]), True, "gemini")


@pytest.mark.parametrize("mode", MODES)
def test_gemini_api_whole_request_goes_as_generate_content_request(
    server: FakeLLMServer, mode: str
) -> None:
    client = {"provider": "gemini", "api_key": KEY, "base_url": server.base_url("gemini")}
    request = {
        "model": "gemini-2.5-flash",
        "messages": [{"role": "system", "content": "be brief"}, {"role": "user", "content": "hi"}],
    }
    counted = _count(mode, client, request)
    assert server.last_request.json == {
        "generateContentRequest": {
            "model": "models/gemini-2.5-flash",
            "contents": [{"role": "user", "parts": [{"text": "hi"}]}],
            "systemInstruction": {"parts": [{"text": "be brief"}]},
        }
    }
    assert counted.input_tokens == 3 and counted.exact and counted.source == "gemini"


@pytest.mark.parametrize("mode", MODES)
def test_gemini_vertex_body_is_the_recorded_one(server: FakeLLMServer, mode: str) -> None:
    recorded = _recorded("gemini", "count_tokens_vertex")["request"]
    client = {
        "provider": "gemini",
        "api_key": "ya29.vertex-token-COUNT",
        "base_url": server.url + "/aiplatform.googleapis.com",
        "extra": {"project": "pydantic-ai", "location": "global", "api_version": "v1beta1"},
    }
    request = {
        "model": "gemini-2.5-flash",
        "messages": [
            {"role": "system", "content": "You are a helpful chatbot."},
            {"role": "user", "content": "What is the capital of France?"},
        ],
        "extra": {"tools": [{"googleSearch": {}}]},  # a native tool, as recorded
    }
    counted = _count(mode, client, request)
    sent = server.last_request
    assert sent.path == "/aiplatform.googleapis.com" + recorded["path"]
    assert sent.headers["authorization"] == "Bearer ya29.vertex-token-COUNT"
    assert sent.json == recorded["body"]
    assert counted.exact and counted.input_tokens == count_body_tokens(recorded["body"])


@pytest.mark.parametrize("mode", MODES)
def test_bedrock_count_tokens_body_and_reply(server: FakeLLMServer, mode: str) -> None:
    model = metallm.models.BEDROCK_CLAUDE_SONNET_4_5
    request = {
        "model": model,
        "messages": [{"role": "system", "content": "be brief"}, {"role": "user", "content": "hi"}],
        "max_tokens": 50,
    }
    counted = _count(mode, {"custom_provider": _bedrock(server)}, request)
    sent = server.last_request
    assert sent.path == "/model/us.anthropic.claude-sonnet-4-5-20250929-v1%3A0/count-tokens"
    assert sent.headers["authorization"].startswith("AWS4-HMAC-SHA256 ")
    assert sent.json == {
        "input": {
            "converse": {
                "messages": [{"role": "user", "content": [{"text": "hi"}]}],
                "system": [{"text": "be brief"}],
            }
        }
    }
    assert counted == metallm.TokenCount(3, True, "bedrock")


@pytest.mark.parametrize("mode", MODES)
def test_bedrock_unsupported_model_falls_back_to_the_estimate(
    server: FakeLLMServer, mode: str
) -> None:
    request = {
        "model": "amazon.titan-text-express-v1",
        "messages": [{"role": "user", "content": "hi"}],
    }
    counted = _count(mode, {"custom_provider": _bedrock(server)}, request)
    assert len(server.requests) == 1  # asked once, then estimated (not retried)
    assert counted == metallm.TokenCount(
        metallm.tokens.estimate_tokens(metallm.ChatCompletionRequest.model_validate(request)),
        False,
        "estimate",
    )


@pytest.mark.parametrize("mode", MODES)
def test_other_errors_are_typed_and_scrubbed(server: FakeLLMServer, mode: str) -> None:
    server.enqueue(ScriptedReply.error(401, f"invalid x-api-key {KEY}"))
    client = {"provider": "anthropic", "api_key": KEY, "base_url": server.base_url("anthropic")}
    with pytest.raises(metallm.AuthenticationError) as info:
        _count(mode, client, _fox_request("claude-sonnet-4-5"))
    assert KEY not in str(info.value) and KEY not in repr(info.value)


@pytest.mark.parametrize("mode", MODES)
def test_a_429_is_retried(server: FakeLLMServer, mode: str) -> None:
    server.enqueue(ScriptedReply.error(429, "slow down"))
    client = {"provider": "gemini", "api_key": KEY, "base_url": server.base_url("gemini")}
    counted = _count(mode, client, _fox_request("gemini-2.5-flash"))
    assert len(server.requests) == 2 and counted.exact


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    ("request_fields", "error"),
    [
        ({"model": "claude-sonnet-4-5", "messages": []}, metallm.InvalidRequestError),
        (
            {"model": "", "messages": [{"role": "user", "content": "x"}]},
            metallm.InvalidRequestError,
        ),
        (
            {"model": "m", "messages": [{"role": "user", "content": "x"}], "bogus": 1},
            metallm.InvalidRequestError,
        ),
        (
            {
                "model": "claude-sonnet-4-5",
                "messages": [{"role": "user", "content": "x"}],
                "seed": 1,
            },
            metallm.UnsupportedFeatureError,
        ),
    ],
)
def test_bad_input_is_refused_before_any_io(
    server: FakeLLMServer, mode: str, request_fields: dict[str, Any], error: type[Exception]
) -> None:
    client = {"provider": "anthropic", "api_key": KEY, "base_url": server.base_url("anthropic")}
    with pytest.raises(error):
        _count(mode, client, request_fields)
    assert server.requests == []


def test_keyword_arguments_and_request_objects_are_accepted(server: FakeLLMServer) -> None:
    client = metallm.Client(
        provider="gemini", api_key=KEY, base_url=server.base_url("gemini"), hooks=[]
    )
    with client:
        by_kwargs = client.count_tokens(
            model="gemini-2.5-flash", messages=[{"role": "user", "content": FOX}]
        )
        request = metallm.ChatCompletionRequest(
            model="gemini-2.5-flash", messages=[metallm.Message(role="user", content=FOX)]
        )
        assert client.count_tokens(request) == by_kwargs
        assert by_kwargs.input_tokens == len(FOX.split())


class _Hook(metallm.hooks.BaseHook):
    def __init__(self) -> None:
        self.calls = 0

    def before_request(self, info: Any, request: Any) -> None:
        self.calls += 1


@pytest.mark.parametrize("mode", MODES)
def test_a_count_runs_no_hooks(server: FakeLLMServer, mode: str) -> None:
    hook = _Hook()
    client = {
        "provider": "anthropic",
        "api_key": KEY,
        "base_url": server.base_url("anthropic"),
        "hooks": [hook],
    }
    _count(mode, client, _fox_request("claude-sonnet-4-5"))
    assert hook.calls == 0 and len(server.requests) == 1


class _CountingProvider:
    name = "counting"

    def create_chat_completion(self, request: Any) -> Any:
        raise AssertionError("not called")

    def create_chat_completion_stream(self, request: Any) -> Any:
        raise AssertionError("not called")

    def count_tokens(self, request: Any) -> metallm.TokenCount:
        return metallm.TokenCount(42, True, "counting")

    async def acreate_chat_completion(self, request: Any) -> Any:
        raise AssertionError("not called")

    async def acreate_chat_completion_stream(self, request: Any) -> Any:
        raise AssertionError("not called")

    async def acount_tokens(self, request: Any) -> metallm.TokenCount:
        return metallm.TokenCount(43, True, "counting")

    def close(self) -> None:
        pass

    async def aclose(self) -> None:
        pass


def test_a_custom_providers_own_count_is_used() -> None:
    request = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}
    assert _count("sync", {"custom_provider": _CountingProvider()}, request).input_tokens == 42
    assert _count("async", {"custom_provider": _CountingProvider()}, request).input_tokens == 43

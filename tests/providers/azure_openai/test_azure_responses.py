"""The Responses API on Azure OpenAI (``extra={"api": "responses"}``), sync and async over real
sockets: the v1 and dated paths, ``api-key`` or Entra ID tokens, plain and streamed calls that
accumulate alike, encrypted reasoning kept for Azure only, Azure's name in telemetry, and the
bad settings refused before any I/O."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import metallm
from _helpers import MODES, complete, stream, user
from metallm.otel import OTelHook
from metallm.testing import FakeLLMServer, ScriptedReply, ScriptedToolCall

KEY = "azure-responses-SECRET-0123456789abcdef"


@pytest.fixture(scope="module")
def server() -> Iterator[FakeLLMServer]:
    with FakeLLMServer() as s:
        yield s


@pytest.fixture(autouse=True)
def _clean(server: FakeLLMServer) -> None:
    server.clear()


def kw(server: FakeLLMServer, **extra: Any) -> dict[str, Any]:
    return {
        "provider": "azure_openai",
        "base_url": server.base_url("azure_openai"),
        "api_key": KEY,
        "hooks": [],
        "extra": {"api": "responses", **extra},
    }


REQ = {"model": "gpt-5-prod", "messages": [user("Hello")]}


@pytest.mark.parametrize("mode", MODES)
def test_responses_go_to_the_v1_path_with_the_api_key(server: FakeLLMServer, mode: str) -> None:
    server.enqueue(ScriptedReply(text="Hi from Azure Responses"))
    resp = complete(mode, kw(server), REQ)
    assert resp.content == "Hi from Azure Responses"
    assert resp.provider == "azure_openai"
    sent = server.last_request
    assert sent.path == "/openai/v1/responses"
    assert sent.headers["api-key"] == KEY and "authorization" not in sent.headers
    assert sent.json["model"] == "gpt-5-prod" and sent.json["store"] is False
    assert sent.json["input"][0]["role"] == "user"


@pytest.mark.parametrize("mode", MODES)
def test_a_dated_version_uses_the_dated_path(server: FakeLLMServer, mode: str) -> None:
    complete(mode, kw(server, api_version="2025-04-01-preview"), REQ)
    assert server.last_request.path == "/openai/responses?api-version=2025-04-01-preview"


@pytest.mark.parametrize("mode", MODES)
def test_plain_and_streamed_calls_accumulate_alike(server: FakeLLMServer, mode: str) -> None:
    call = ScriptedToolCall(name="lookup", arguments={"q": "azure"})
    reply = ScriptedReply(text="Let me look.", tool_calls=[call], reasoning="thinking it over")
    server.enqueue(reply, reply)
    req = {**REQ, "reasoning_effort": "low"}
    plain = complete(mode, kw(server), req)
    chunks, streamed = stream(mode, kw(server), req)
    assert len(chunks) > 2
    for resp in (plain, streamed):
        message = resp.choices[0].message
        assert message.content == "Let me look."
        assert [c.function.name for c in message.tool_calls or []] == ["lookup"]
        assert resp.choices[0].finish_reason == "tool_calls"
        assert all(part.provider == "azure_openai" for part in message.reasoning or [])
    texts = [[p.text for p in r.choices[0].message.reasoning or []] for r in (plain, streamed)]
    assert texts[0] == texts[1] == ["thinking it over"]  # (each reply encrypts its own)
    assert all(p.encrypted for p in streamed.choices[0].message.reasoning or [])
    assert server.requests[-1].json["stream"] is True


@pytest.mark.parametrize("mode", MODES)
def test_entra_id_tokens_per_call(server: FakeLLMServer, mode: str) -> None:
    issued: list[str] = []

    def token() -> str:
        issued.append(f"eyJhbGciOi.entra-responses-{len(issued) + 1}.sig")
        return issued[-1]

    settings = {**kw(server, azure_ad_token_provider=token), "api_key": None}
    complete(mode, settings, REQ)
    stream(mode, settings, REQ)
    assert [r.headers["authorization"] for r in server.requests] == [f"Bearer {t}" for t in issued]
    assert len(issued) == 2 and all("api-key" not in r.headers for r in server.requests)


def test_telemetry_names_azure(server: FakeLLMServer) -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    settings = {**kw(server), "hooks": [OTelHook(tracer_provider=provider)]}
    complete("sync", settings, REQ)
    [span] = exporter.get_finished_spans()
    attrs = dict(span.attributes or {})
    assert attrs["gen_ai.provider.name"] == "azure.ai.openai"
    assert attrs["gen_ai.operation.name"] == "chat" and span.name == "chat gpt-5-prod"
    assert str(attrs["gen_ai.response.id"]).startswith("resp")
    assert KEY not in str(span.to_json())


def test_reasoning_from_openai_is_not_sent_to_azure(server: FakeLLMServer) -> None:
    reply = ScriptedReply(text="done", reasoning="private chain")
    server.enqueue(reply)
    with metallm.Client(
        provider="openai",
        api_key="sk-openai-test",
        base_url=server.base_url("openai"),
        hooks=[],
        extra={"api": "responses"},
    ) as oai:
        first = oai.create_chat_completion(**REQ, reasoning_effort="low")
    assert first.choices[0].message.reasoning
    history = [user("Hello"), first.choices[0].message, user("and then?")]
    complete("sync", kw(server), {"model": "gpt-5-prod", "messages": history})
    items = server.last_request.json["input"]
    assert not [i for i in items if i.get("type") == "reasoning"]  # OpenAI's items stay there


def test_bad_settings_are_refused_before_any_io(server: FakeLLMServer) -> None:
    with pytest.raises(metallm.ConfigurationError, match="'responses'"):
        metallm.Client(**{**kw(server), "extra": {"api": "completions"}})
    with pytest.raises(metallm.ConfigurationError, match="AZURE_OPENAI_ENDPOINT"):
        metallm.Client(**{**kw(server), "base_url": None})
    client = metallm.Client(**kw(server))
    assert "api='responses'" in repr(client.provider) or "responses" in repr(client.provider)
    assert KEY not in repr(client) + repr(client.provider)
    client.close()
    assert server.requests == []

"""Azure OpenAI end to end: real clients over real sockets against FakeLLMServer, sync and async.

Every recorded exchange replays through the client with its result checked and the request the
client built checked against the recorded one; chat, streams and embeddings run on both URL
shapes; Entra ID tokens are refreshed between calls and never leak (errors, spans, logs);
content-filter refusals raise ``ContentFilterError`` and filtered completions finish
``content_filter``; telemetry names the provider ``azure.ai.openai`` at the endpoint's host.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from pydantic import BaseModel

import metallm
from _chunk_rules import check_stream
from _corpus_requests import expected_from_sse, request_from_openai_body
from _helpers import MODES, complete, require_corpus, stream, user
from metallm.logging_hook import LoggingHook
from metallm.otel import OTelHook
from metallm.testing import FakeLLMServer, ScriptedReply, ScriptedToolCall, ScriptedUsage
from metallm.testing.corpus import corpus_files, load_corpus_entry
from metallm.testing.wire_azure import FILTERED_PROMPT

KEY = "azure-client-SECRET-0123456789abcdef"


class Story(BaseModel):
    text: str


FAST = metallm.RetryPolicy(initial_backoff=0.01, max_backoff=0.2)
SHAPES = ["deployments", "v1"]


@pytest.fixture(scope="module")
def server() -> Iterator[FakeLLMServer]:
    with FakeLLMServer() as s:
        yield s


@pytest.fixture(autouse=True)
def _clean(server: FakeLLMServer) -> None:
    server.clear()


def kw(server: FakeLLMServer, shape: str = "deployments", **more: Any) -> dict[str, Any]:
    extra = dict(more.pop("extra", {}))
    if shape == "v1":
        extra["api"] = "v1"
    settings: dict[str, Any] = {
        "provider": metallm.ProviderName.AZURE_OPENAI,
        "base_url": server.base_url("azure_openai"),
        "api_key": KEY,
        "retry": FAST,
        "hooks": [],
        "extra": extra,
    }
    settings.update(more)
    return settings


def _path(shape: str, operation: str, deployment: str = "chat-prod") -> str:
    if shape == "v1":
        return f"/openai/v1/{operation}"
    return f"/openai/deployments/{deployment}/{operation}?api-version=2024-10-21"


@pytest.mark.parametrize("mode", MODES)
def test_corpus_replays_through_client(server: FakeLLMServer, mode: str) -> None:
    folder = require_corpus("azure_openai")
    files = corpus_files(folder.name, folder.parent)
    assert len(files) == 2
    for path in files:
        entry = load_corpus_entry(path)
        req = request_from_openai_body(entry.request_body, "gpt-4o")
        route, _, query = entry.request_path.partition("?")
        extra: dict[str, Any] = {"api": "v1"} if route.startswith("/openai/v1/") else {}
        if query:
            extra["api_version"] = query.removeprefix("api-version=")
        server.clear()
        server.replay(entry)
        settings = kw(server, extra=extra)
        if entry.is_stream:
            chunks, resp = stream(mode, settings, req)
            want = expected_from_sse(entry.body_text)
            assert resp.content == want["text"] == "4242", path.name
            assert chunks[0].choices and chunks[0].choices[0].delta.role is metallm.Role.ASSISTANT
            assert chunks[-1].usage is not None and not chunks[-1].choices
            usage = want["usage"]
        else:
            resp = complete(mode, settings, req)
            raw = json.loads(entry.body_text)
            assert (resp.id, resp.model) == (raw["id"], raw["model"])
            assert resp.content == raw["choices"][0]["message"]["content"]
            usage = raw["usage"]
        assert resp.choices[0].finish_reason == "stop" and resp.provider == "azure_openai"
        assert resp.usage is not None
        assert (resp.usage.prompt_tokens, resp.usage.completion_tokens) == (
            usage["prompt_tokens"],
            usage["completion_tokens"],
        )
        assert resp.usage.total_tokens == usage["total_tokens"]
        assert resp.cost is not None and resp.cost.total > 0  # priced as Azure's real model
        (sent,) = server.requests
        assert sent.path == entry.request_path, path.name
        assert sent.headers["api-key"] == KEY and "authorization" not in sent.headers
        recorded = {k: v for k, v in entry.request_body.items() if (k, v) != ("stream", False)}
        assert sent.json == recorded, path.name


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("shape", SHAPES)
def test_chat_stream_and_embeddings_on_both_paths(
    server: FakeLLMServer, mode: str, shape: str
) -> None:
    reply = ScriptedReply(
        text="Azure says hi",
        chunk_size=4,
        tool_calls=[ScriptedToolCall(name="lookup", arguments={"q": "x"}, id="call_1")],
        usage=ScriptedUsage(12, 5, cached_tokens=2),
    )
    req = metallm.ChatCompletionRequest(model="chat-prod", messages=[user("hi")], max_tokens=50)
    server.enqueue(reply)
    plain = complete(mode, kw(server, shape), req)
    server.enqueue(reply)
    chunks, streamed = stream(mode, kw(server, shape), req)
    assert streamed.model_dump(exclude={"id", "created"}) == plain.model_dump(
        exclude={"id", "created"}
    )
    assert plain.choices[0].finish_reason == "tool_calls"
    assert plain.choices[0].message.tool_calls[0].function.arguments == '{"q": "x"}'
    assert plain.usage is not None and (plain.usage.prompt_tokens, plain.usage.cached_tokens) == (
        12,
        2,
    )
    assert chunks[0].choices, "the prompt annotation never reaches the user"
    assert [r.path for r in server.requests] == [_path(shape, "chat/completions")] * 2
    assert server.requests[0].json["model"] == "chat-prod"
    assert server.requests[0].json["max_completion_tokens"] == 50
    assert server.requests[1].json["stream_options"] == {"include_usage": True}
    server.clear()
    if mode == "sync":
        with metallm.Client(**kw(server, shape)) as client:
            emb = client.create_embeddings(model="embed-small", input=["one", "two", "three"])
    else:

        async def go() -> metallm.EmbeddingsResponse:
            async with metallm.AsyncClient(**kw(server, shape)) as client:
                return await client.create_embeddings(
                    model="embed-small", input=["one", "two", "three"]
                )

        emb = asyncio.run(go())
    assert len(emb.vectors) == 3 and emb.provider == "azure_openai"
    (sent,) = server.requests
    assert sent.path == _path(shape, "embeddings", "embed-small")
    assert sent.json["encoding_format"] == "base64" and sent.headers["api-key"] == KEY


CHUNK_SCRIPTS = [
    ScriptedReply(text="One two three four five.", chunk_size=2),
    ScriptedReply(
        text="Let me look.",
        tool_calls=[
            ScriptedToolCall(name="get_weather", arguments={"city": "Paris"}, id="call_a"),
            ScriptedToolCall(name="get_time", arguments="{}"),
        ],
        chunk_size=3,
    ),
    ScriptedReply(
        text="cut short", finish_reason="length", usage=ScriptedUsage(9, 2, cached_tokens=4)
    ),
    ScriptedReply(text="filtered after this", finish_reason="content_filter", chunk_size=4),
]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("shape", SHAPES)
def test_streams_obey_the_chunk_rules(server: FakeLLMServer, mode: str, shape: str) -> None:
    """The chunk contract (``_chunk_rules``) on Azure's dressed streams and its recording."""
    req = {"model": "chat-prod", "messages": [user("x")]}
    for reply in CHUNK_SCRIPTS:
        server.enqueue(reply)
        chunks, final = stream(mode, kw(server, shape), req)
        check_stream(chunks, final, usage_at="last")
    folder = require_corpus("azure_openai")
    entry = load_corpus_entry(folder / "stream_v1_path.json")
    server.replay(entry)
    chunks, final = stream(mode, kw(server, shape), req)
    check_stream(chunks, final, usage_at="last")


class Tokens:
    def __init__(self) -> None:
        self.issued: list[str] = []

    def __call__(self) -> str:
        token = f"eyJhbGciOi.entra-{len(self.issued) + 1}.sig"
        self.issued.append(token)
        return token


@pytest.mark.parametrize("mode", MODES)
def test_entra_id_tokens_are_fetched_per_call(server: FakeLLMServer, mode: str) -> None:
    tokens = Tokens()
    settings = kw(server, "v1", api_key=None, extra={"azure_ad_token_provider": tokens})
    req = {"model": "chat-prod", "messages": [user("x")]}
    complete(mode, settings, req)
    stream(mode, settings, req)
    # a retry reuses its call's request (and token)
    server.enqueue(ScriptedReply.error(503, "busy"), ScriptedReply(text="ok"))
    assert complete(mode, settings, req).content == "ok"
    sent = [r.headers for r in server.requests]
    assert [h["authorization"] for h in sent] == [
        f"Bearer {tokens.issued[0]}",
        f"Bearer {tokens.issued[1]}",
        f"Bearer {tokens.issued[2]}",
        f"Bearer {tokens.issued[2]}",
    ]
    assert all("api-key" not in h for h in sent) and len(tokens.issued) == 3


@pytest.mark.parametrize("mode", MODES)
def test_tokens_never_leak(
    server: FakeLLMServer, mode: str, caplog: pytest.LogCaptureFixture
) -> None:
    tokens = Tokens()
    spans = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(spans))
    logger = logging.getLogger("test.azure.tokens")
    hooks = [OTelHook(provider), LoggingHook(logger)]
    settings = kw(
        server, api_key=None, hooks=hooks, extra={"azure_ad_token_provider": tokens}, max_retries=0
    )
    settings.pop("retry")
    first, second = "eyJhbGciOi.entra-1.sig", "eyJhbGciOi.entra-2.sig"
    server.enqueue(
        ScriptedReply.error(401, f"Token {first} is expired"),
        ScriptedReply(text="partial", error_event_after=1, error_message=f"bad token {second}"),
    )
    with caplog.at_level(logging.DEBUG):
        with pytest.raises(metallm.AuthenticationError) as plain:
            complete(mode, settings, {"model": "d", "messages": [user("x")]})
        with pytest.raises(metallm.APIError) as streamed:
            stream(mode, settings, {"model": "d", "messages": [user("x")]})
    assert tokens.issued == [first, second]
    texts = [str(plain.value), repr(plain.value), json.dumps(plain.value.body)]
    texts += [str(streamed.value), repr(streamed.value), json.dumps(streamed.value.body)]
    texts.append(caplog.text)
    for span in spans.get_finished_spans():
        texts.append(json.dumps(dict(span.attributes or {}), default=str))
        texts += [json.dumps(dict(e.attributes or {}), default=str) for e in span.events]
        texts.append(str(span.status.description))
    assert len(spans.get_finished_spans()) == 2 and "[REDACTED]" in str(plain.value)
    for text in texts:
        assert first not in text and second not in text and "entra-" not in text
    client = metallm.Client(**settings)
    assert "entra-" not in repr(client) and "entra-" not in repr(client.provider)
    provider.shutdown()


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("streamed", [False, True], ids=["plain", "stream"])
def test_a_filtered_prompt_raises_content_filter_error(
    server: FakeLLMServer, mode: str, streamed: bool
) -> None:
    server.enqueue(ScriptedReply.error(400, "", code="content_filter"))
    call = stream if streamed else complete
    with pytest.raises(metallm.ContentFilterError) as info:
        call(mode, kw(server), {"model": "chat-prod", "messages": [user("x")]})
    err = info.value
    assert isinstance(err, metallm.BadRequestError) and err.status_code == 400
    assert err.content_filter_result == FILTERED_PROMPT and err.code == "content_filter"
    assert "content management policy" in err.message
    assert len(server.requests) == 1  # never retried


@pytest.mark.parametrize("mode", MODES)
def test_a_filtered_completion_finishes_content_filter(server: FakeLLMServer, mode: str) -> None:
    reply = ScriptedReply(text="Once upon", finish_reason="content_filter", chunk_size=3)
    server.enqueue(reply)
    plain = complete(mode, kw(server), {"model": "chat-prod", "messages": [user("x")]})
    server.enqueue(reply)
    chunks, streamed = stream(mode, kw(server), {"model": "chat-prod", "messages": [user("x")]})
    assert plain.choices[0].finish_reason == streamed.choices[0].finish_reason == "content_filter"
    assert streamed.content == plain.content == "Once upon"
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "content_filter"
    server.enqueue(reply, ScriptedReply(text='{"text": "never asked for"}'))
    with pytest.raises(metallm.RefusalError), metallm.Client(**kw(server)) as client:
        client.parse(Story, model="chat-prod", messages=[user("x")])
    assert server.pending == 1  # a refusal is not re-asked


@pytest.mark.parametrize("mode", MODES)
def test_telemetry_names_azure_and_the_endpoint(server: FakeLLMServer, mode: str) -> None:
    spans = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(spans))
    complete(
        mode,
        kw(server, hooks=[OTelHook(provider)]),
        {"model": "chat-prod", "messages": [user("x")]},
    )
    (span,) = spans.get_finished_spans()
    attrs = dict(span.attributes or {})
    assert attrs["gen_ai.provider.name"] == "azure.ai.openai"
    assert (attrs["server.address"], attrs["server.port"]) == ("127.0.0.1", server.port)
    assert attrs["gen_ai.request.model"] == "chat-prod" and span.name == "chat chat-prod"
    assert not [k for k in attrs if k.startswith("openai.")]
    provider.shutdown()


def test_environment_variables(server: FakeLLMServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AZURE_OPENAI_ENDPOINT", raising=False)
    monkeypatch.delenv("AZURE_OPENAI_API_KEY", raising=False)
    with pytest.raises(metallm.ConfigurationError, match="AZURE_OPENAI_ENDPOINT"):
        metallm.Client(provider="azure_openai", api_key=KEY)
    with pytest.raises(metallm.ConfigurationError, match="AZURE_OPENAI_API_KEY"):
        metallm.AsyncClient(provider="azure_openai", base_url=server.url)
    monkeypatch.setenv("AZURE_OPENAI_ENDPOINT", server.url + "/openai/v1")
    monkeypatch.setenv("AZURE_OPENAI_API_KEY", f"{KEY}\n")  # as read from a secret mount
    with metallm.Client(provider="azure_openai", hooks=[]) as client:
        assert client.create_chat_completion(model="d", messages=[user("env")]).content
    sent = server.last_request
    assert sent.path == "/openai/v1/chat/completions" and sent.headers["api-key"] == KEY


def test_the_fake_server_refuses_what_azure_refuses(server: FakeLLMServer) -> None:
    body = {"model": "d", "messages": [{"role": "user", "content": "x"}]}
    server.enqueue(ScriptedReply(text="never served"))
    anonymous = httpx.post(f"{server.url}/openai/v1/chat/completions", json=body)
    assert anonymous.status_code == 401 and anonymous.json()["error"]["code"] == "401"
    unversioned = httpx.post(
        f"{server.url}/openai/deployments/d/chat/completions", json=body, headers={"api-key": "k"}
    )
    assert unversioned.status_code == 404
    assert unversioned.json()["error"]["message"] == "Resource not found"
    bearer = httpx.post(
        f"{server.url}/openai/deployments/d/chat/completions?api-version=2024-10-21",
        json=body,
        headers={"authorization": "Bearer t0k"},
    )
    assert bearer.status_code == 200 and bearer.json()["prompt_filter_results"]
    assert server.pending == 0 and len(server.requests) == 3

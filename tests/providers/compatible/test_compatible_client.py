"""The named OpenAI-compatible services end to end, over real sockets against FakeLLMServer,
every case sync and async.

Every file of ``openai_compatible/`` replays through a client of its own service, with its
parsed result, the path and the body sent checked against the recording; every preset streams
and answers plainly to equal responses that obey the chunk rules; refusals happen before any
byte is sent; the documented translations arrive on the wire; telemetry names the service as
the conventions spell it; and the key stays out of every error, log and repr.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import metallm
from _chunk_rules import check_stream
from _compatible_corpus import Recorded, folder, recorded, recorded_body_to_send, usage_tuple
from _corpus_requests import request_from_openai_body
from _helpers import MODES, complete, stream, user
from metallm.otel import OTelHook
from metallm.providers.compatible import PRESETS
from metallm.testing import FakeLLMServer, ScriptedReply, ScriptedToolCall, ScriptedUsage
from metallm.testing.wire import base_path

KEY = "sk-compat-client-SECRET-0123456789"
FAST = metallm.RetryPolicy(initial_backoff=0.01, max_backoff=0.2)
MODEL = {
    "groq": "llama-3.3-70b-versatile",
    "mistral": "mistral-small-latest",
    "deepseek": "deepseek-chat",
    "openrouter": "openai/gpt-4o",
    "together": "meta-llama/Llama-3.3-70B-Instruct-Turbo",
    "fireworks": "accounts/fireworks/models/llama-v3p1-8b-instruct",
    "cerebras": "llama3.1-8b",
    "perplexity": "sonar",
    "openai_compatible": "qwen2.5-7b-instruct",
}
MAX_TOKENS_FIELD = dict.fromkeys(PRESETS, "max_tokens") | {
    "groq": "max_completion_tokens",
    "cerebras": "max_completion_tokens",
}
SEMCONV = {"mistral": "mistral_ai"}


@pytest.fixture(scope="module")
def server() -> Iterator[FakeLLMServer]:
    with FakeLLMServer() as s:
        yield s


@pytest.fixture(autouse=True)
def _clean(server: FakeLLMServer) -> None:
    server.clear()


def kw(server: FakeLLMServer, provider: str, **extra: Any) -> dict[str, Any]:
    retry = None if "max_retries" in extra else FAST
    return {
        "provider": provider,
        "base_url": server.base_url(provider),
        "api_key": KEY,
        "retry": retry,
        **extra,
    }


def _corpus() -> list[Any]:
    items = recorded()
    return [pytest.param(r, id=r.stem) for r in items] or [pytest.param(None, id="no-corpus")]


def _given(item: Recorded | None) -> Recorded:
    if item is None:
        pytest.skip(f"corpus folder {folder()} not found (set METALLM_CORPUS)")
    return item


# --- the corpus, through a client of each file's service -------------------------------------


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("item", _corpus())
def test_corpus_replays_through_a_client_of_its_service(
    server: FakeLLMServer, item: Recorded | None, mode: str
) -> None:
    item = _given(item)
    entry, want, service = item.entry, item.expected, item.service
    request = request_from_openai_body(entry.request_body, "m")
    server.replay(entry)
    if entry.status >= 400:
        with pytest.raises(metallm.RateLimitError) as info:
            complete(mode, kw(server, service, max_retries=0), request)
        err = info.value
        assert (err.provider, err.status_code, err.code) == (service, want["status"], want["code"])
        assert err.message == want["message"]
    elif entry.is_stream:
        chunks, resp = stream(mode, kw(server, service), request)
        assert len(chunks) == want["chunks"]
        check_stream(chunks, resp, usage_at="last")
    else:
        resp = complete(mode, kw(server, service), request)
        assert resp.system_fingerprint == want["fingerprint"]
    sent = server.requests[0]
    assert sent.path == entry.request_path
    assert sent.json == recorded_body_to_send(entry)
    assert sent.headers["authorization"] == f"Bearer {KEY}"
    if entry.status >= 400:
        return
    assert (resp.id, resp.model, resp.provider) == (want["id"], want["model"], service)
    assert resp.content == want["content"]
    assert resp.choices[0].finish_reason == want["finish"]
    assert usage_tuple(resp.usage) == want["usage"]
    assert resp.cost is not None and resp.cost.total > 0  # genai-prices knows each model


@pytest.mark.parametrize("mode", MODES)
def test_openrouter_rate_limit_is_retried(server: FakeLLMServer, mode: str) -> None:
    items = [r for r in recorded("error") if r.service == "openrouter"]
    item = _given(items[0] if items else None)
    server.replay(item.entry)
    server.enqueue(ScriptedReply(text="after the wait"))
    request = request_from_openai_body(item.entry.request_body, "m")
    assert complete(mode, kw(server, "openrouter"), request).content == "after the wait"
    assert len(server.requests) == 2


# --- every preset, scripted ------------------------------------------------------------------

SCRIPTS = {
    "text": ScriptedReply(text="The quick brown fox jumps over the lazy dog.", chunk_size=5),
    "reasoning": ScriptedReply(text="Four.", reasoning="Two plus two is four.", chunk_size=3),
    "tools": ScriptedReply(
        tool_calls=[
            ScriptedToolCall(name="weather", arguments='{"city": "Paris"}', id="call_a"),
            ScriptedToolCall(name="time", arguments='{"tz": "Europe/Paris"}', id="call_b"),
        ],
        chunk_size=4,
    ),
    "length": ScriptedReply(
        text="cut", finish_reason="length", usage=ScriptedUsage(10, 2, cached_tokens=4)
    ),
}


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("script", sorted(SCRIPTS))
@pytest.mark.parametrize("provider", sorted(PRESETS))
def test_every_preset_streams_and_answers_to_equal_responses(
    server: FakeLLMServer, provider: str, script: str, mode: str
) -> None:
    request = metallm.ChatCompletionRequest(
        model=MODEL[provider], messages=[user("hi")], max_tokens=64
    )
    server.enqueue(SCRIPTS[script])
    plain = complete(mode, kw(server, provider), request)
    server.enqueue(SCRIPTS[script])
    chunks, streamed = stream(mode, kw(server, provider), request)
    check_stream(chunks, streamed, usage_at="last")
    assert streamed.model_dump(exclude={"id", "created"}) == plain.model_dump(
        exclude={"id", "created"}
    )
    assert plain.provider == provider
    first, second = server.requests
    assert first.path == second.path == base_path(provider) + "/chat/completions"
    assert first.json[MAX_TOKENS_FIELD[provider]] == 64
    assert second.json["stream"] is True
    assert ("stream_options" in second.json) is (provider != "mistral")
    if script == "reasoning":
        assert plain.choices[0].message.reasoning_content == "Two plus two is four."
        assert plain.content == "Four."


@pytest.mark.parametrize("mode", MODES)
def test_mistral_reasoning_arrives_as_thinking_chunks(server: FakeLLMServer, mode: str) -> None:
    """Magistral's replies carry thinking as content chunks (the fake server answers as
    Mistral does): it lands in reasoning_content, plain and streamed, never in content."""
    request = metallm.ChatCompletionRequest(
        model="magistral-medium-latest", messages=[user("2+2?")], seed=11
    )
    reply = ScriptedReply(text="4", reasoning="Two plus two.", chunk_size=3)
    server.enqueue(reply, reply)
    plain = complete(mode, kw(server, "mistral"), request)
    chunks, streamed = stream(mode, kw(server, "mistral"), request)
    for resp in (plain, streamed):
        assert (resp.content, resp.choices[0].message.reasoning_content) == ("4", "Two plus two.")
    check_stream(chunks, streamed, usage_at="last")
    raw_plain = json.loads(server.requests[0].body)
    assert raw_plain["random_seed"] == 11 and "seed" not in raw_plain
    assert "stream_options" not in server.requests[1].json


@pytest.mark.parametrize("mode", MODES)
def test_deepseek_gets_its_reasoning_back_in_a_tool_loop(server: FakeLLMServer, mode: str) -> None:
    """After a tool call, DeepSeek's thinking mode needs the assistant turn's
    reasoning_content back; the turn as the client returned it carries it."""
    server.enqueue(
        ScriptedReply(
            reasoning="Call the weather tool.",
            tool_calls=[ScriptedToolCall(name="weather", arguments='{"c": "Paris"}', id="c1")],
        ),
        ScriptedReply(text="18C in Paris."),
    )
    first = metallm.ChatCompletionRequest(model="deepseek-reasoner", messages=[user("Paris?")])
    turn = complete(mode, kw(server, "deepseek"), first).choices[0].message
    assert turn.reasoning_content == "Call the weather tool." and turn.tool_calls
    history = [
        *first.messages,
        turn,
        metallm.Message(role=metallm.Role.TOOL, tool_call_id="c1", content="18C"),
    ]
    second = metallm.ChatCompletionRequest(model="deepseek-reasoner", messages=history)
    assert complete(mode, kw(server, "deepseek"), second).content == "18C in Paris."
    sent = server.requests[1].json["messages"]
    assert sent[1]["reasoning_content"] == "Call the weather tool."
    assert sent[1]["tool_calls"][0]["id"] == "c1"


@pytest.mark.parametrize("mode", MODES)
def test_openrouter_attribution_headers_arrive(server: FakeLLMServer, mode: str) -> None:
    extra = {"app_url": "https://myapp.example", "app_title": "My App"}
    complete(mode, kw(server, "openrouter", extra=extra), {"model": "m", "messages": [user("x")]})
    headers = server.requests[0].headers
    assert (headers["http-referer"], headers["x-title"]) == ("https://myapp.example", "My App")


@pytest.mark.parametrize("mode", MODES)
def test_top_k_goes_where_documented(server: FakeLLMServer, mode: str) -> None:
    complete(mode, kw(server, "together"), {"model": "m", "messages": [user("x")], "top_k": 30})
    assert server.requests[0].json["top_k"] == 30


# --- bad input: refused before any I/O -------------------------------------------------------

REFUSALS: list[tuple[str, dict[str, Any], str]] = [
    ("groq", {"extra": {"logprobs": True}}, r"groq does not support extra\['logprobs'\]"),
    ("groq", {"n": 3}, "groq does not support n > 1"),
    ("mistral", {"user": "u-1"}, "mistral does not support user"),
    ("mistral", {"top_k": 5}, "mistral does not support top_k"),
    ("cerebras", {"top_k": 5}, "cerebras does not support top_k"),
    (
        "perplexity",
        {"tools": [{"type": "function", "function": {"name": "f"}}]},
        "perplexity does not support tools",
    ),
    (
        "deepseek",
        {
            "messages": [
                metallm.Message(
                    role=metallm.Role.USER,
                    content=[metallm.ImagePart.from_url("https://x.test/cat.png")],
                )
            ]
        },
        "deepseek does not support images",
    ),
    (
        "together",
        {
            "messages": [
                metallm.Message(
                    role=metallm.Role.USER,
                    content=[metallm.DocumentPart.from_base64("JVBERi0xLjQK", "application/pdf")],
                )
            ]
        },
        "together does not support PDF documents",
    ),
]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    ("provider", "fields", "message"), REFUSALS, ids=[f"{r[0]}-{i}" for i, r in enumerate(REFUSALS)]
)
def test_refused_before_any_io(
    server: FakeLLMServer, provider: str, fields: dict[str, Any], message: str, mode: str
) -> None:
    request = {"model": MODEL[provider], "messages": [user("x")], **fields}
    for call in (complete, stream):
        with pytest.raises(metallm.UnsupportedFeatureError, match=message):
            call(mode, kw(server, provider), request)
    assert server.requests == []


@pytest.mark.parametrize("provider", sorted(set(PRESETS) - {"openai_compatible"}))
def test_a_preset_without_its_key_names_the_variable(
    provider: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    variable = metallm.provider.get_spec(provider).api_key_env[0]
    assert variable == provider.upper() + "_API_KEY"
    monkeypatch.delenv(variable, raising=False)
    with pytest.raises(metallm.ConfigurationError, match=variable):
        metallm.Client(provider=provider)
    with pytest.raises(metallm.ConfigurationError, match=variable):
        metallm.AsyncClient(provider=metallm.ProviderName(provider))
    monkeypatch.setenv(variable, KEY)
    with metallm.Client(provider=provider) as client:
        assert client.provider_name == provider
        assert KEY not in repr(client) and KEY not in repr(client.provider)


@pytest.mark.parametrize("mode", MODES)
def test_openai_compatible_needs_a_base_url_and_no_key(server: FakeLLMServer, mode: str) -> None:
    with pytest.raises(metallm.ConfigurationError, match=r"openai_compatible.*base_url"):
        metallm.Client(provider="openai_compatible")
    keyless = {"provider": "openai_compatible", "base_url": server.base_url("openai_compatible")}
    assert complete(mode, keyless, {"model": "local", "messages": [user("hi")]}).content
    assert "authorization" not in server.requests[0].headers
    complete(mode, kw(server, "openai_compatible"), {"model": "local", "messages": [user("x")]})
    assert server.requests[1].headers["authorization"] == f"Bearer {KEY}"
    assert server.requests[1].path == "/v1/chat/completions"


@pytest.mark.parametrize("mode", MODES)
def test_openai_compatible_embeddings(server: FakeLLMServer, mode: str) -> None:
    import asyncio

    kwargs = kw(server, "openai_compatible")
    if mode == "sync":
        with metallm.Client(**kwargs) as client:
            emb = client.create_embeddings(model="local-embed", input=["a", "b"])
    else:

        async def go() -> metallm.EmbeddingsResponse:
            async with metallm.AsyncClient(**kwargs) as client:
                return await client.create_embeddings(model="local-embed", input=["a", "b"])

        emb = asyncio.run(go())
    assert len(emb.vectors) == 2 and emb.provider == "openai_compatible"
    assert server.requests[0].path == "/v1/embeddings"
    with (
        metallm.Client(**kw(server, "groq")) as client,
        pytest.raises(metallm.UnsupportedFeatureError, match="groq does not support"),
    ):
        client.create_embeddings(model="e", input=["a"])
    assert len(server.requests) == 1


# --- errors, streams that fail, secrets ------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("provider", ["groq", "mistral", "openrouter"])
def test_cut_stream_raises_after_what_came(server: FakeLLMServer, provider: str, mode: str) -> None:
    server.enqueue(
        ScriptedReply(text="abcdefghijklmnopqrstuvwxyz", chunk_size=2, cut_after=4),
    )
    got: list[str] = []
    with pytest.raises(metallm.APIConnectionError):
        stream(
            mode,
            kw(server, provider),
            {"model": MODEL[provider], "messages": [user("x")]},
            on_chunk=lambda c: got.append(c.choices[0].delta.content or "") if c.choices else None,
        )
    assert "".join(got).startswith("ab") and len(server.requests) == 1


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("provider", ["deepseek", "mistral"])
def test_error_event_mid_stream_raises_after_what_came(
    server: FakeLLMServer, provider: str, mode: str
) -> None:
    server.enqueue(ScriptedReply(text="partial answer here", chunk_size=3, error_event_after=2))
    got: list[str] = []
    with pytest.raises(metallm.APIError) as info:
        stream(
            mode,
            kw(server, provider, max_retries=0),
            {"model": MODEL[provider], "messages": [user("x")]},
            on_chunk=lambda c: got.append(c.choices[0].delta.content or "") if c.choices else None,
        )
    assert info.value.provider == provider and info.value.message
    assert got == ["", "par"] and len(server.requests) == 1


@pytest.mark.parametrize("mode", MODES)
def test_openrouter_error_event_mid_stream_raises_its_class(
    server: FakeLLMServer, mode: str
) -> None:
    """OpenRouter reports an upstream failure after a stream began as an SSE error event
    whose code is an integer."""
    head = {
        "id": "gen-1",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "openai/gpt-4o",
        "choices": [{"index": 0, "delta": {"role": "assistant", "content": "Hel"}}],
    }
    error = {"error": {"code": 429, "message": "Rate limit exceeded upstream"}}
    pieces = [
        b": OPENROUTER PROCESSING\n\n",
        b"data: " + json.dumps(head).encode() + b"\n\n",
        b"data: " + json.dumps(error).encode() + b"\n\n",
    ]
    server.enqueue(ScriptedReply.raw(200, {"content-type": "text/event-stream"}, pieces))
    got: list[metallm.ChatCompletionChunk] = []
    with pytest.raises(metallm.RateLimitError) as info:
        stream(
            mode,
            kw(server, "openrouter"),
            {"model": "m", "messages": [user("x")]},
            on_chunk=got.append,
        )
    assert info.value.code == "429" and info.value.provider == "openrouter"
    assert [c.choices[0].delta.content for c in got] == ["Hel"]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("provider", sorted(PRESETS))
def test_key_never_leaks(
    server: FakeLLMServer, provider: str, mode: str, caplog: pytest.LogCaptureFixture
) -> None:
    server.enqueue(
        ScriptedReply.error(401, f"Invalid API key: {KEY}"),
        *[ScriptedReply.error(503, f"upstream echoed {KEY}")] * 3,
    )
    with caplog.at_level(logging.DEBUG, logger="metallm"):
        for _ in range(2):
            with pytest.raises(metallm.APIError) as info:
                complete(mode, kw(server, provider), {"model": "m", "messages": [user("x")]})
            err = info.value
            assert err.provider == provider
            assert KEY not in str(err) and KEY not in repr(err) and KEY not in json.dumps(err.body)
    assert KEY not in caplog.text


# --- telemetry -------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("provider", sorted(PRESETS))
def test_spans_name_the_service_as_the_conventions_do(
    server: FakeLLMServer, provider: str, mode: str
) -> None:
    spans = InMemorySpanExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(spans))
    hook = OTelHook(tracer_provider=tracer_provider)
    server.enqueue(ScriptedReply(text="hello", id="resp-1"))
    request = {"model": MODEL[provider], "messages": [user("x")]}
    stream(mode, kw(server, provider, hooks=[hook], capture_content=True), request)
    tracer_provider.shutdown()
    (span,) = spans.get_finished_spans()
    attrs = dict(span.attributes or {})
    assert span.name == f"chat {MODEL[provider]}"
    assert attrs["gen_ai.provider.name"] == SEMCONV.get(provider, provider)
    assert (attrs["server.address"], attrs["server.port"]) == ("127.0.0.1", server.port)
    assert attrs["gen_ai.response.id"] == "resp-1"
    assert not [name for name in attrs if name.startswith("openai.")]
    assert KEY not in json.dumps(attrs)

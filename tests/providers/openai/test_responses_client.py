"""The Responses API end to end: real clients, real sockets, FakeLLMServer, sync and async.

Every file of ``corpus/openai_responses`` replays through ``Client`` / ``AsyncClient`` with its
result checked against the file's own JSON; scripted replies stream and return alike; a
reasoning turn goes back to a fake that verifies the encrypted reasoning it issued (also
through SQLite conversation memory); errors, cut streams and error events are typed; bad
settings and bad input fail before any I/O; spans say ``openai`` / ``chat`` / the response id;
the key appears nowhere.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode

import metallm
from _helpers import MODES, RecordingHook, complete, require_corpus, stream, user
from metallm.memory import SQLiteStore
from metallm.otel import OTelHook
from metallm.testing import FakeLLMServer, ScriptedReply, ScriptedToolCall, ScriptedUsage
from metallm.testing.corpus import corpus_files, load_corpus_entry

KEY = "sk-test-responses-client-SECRET-0123456789"
FAST = metallm.RetryPolicy(initial_backoff=0.01, max_backoff=0.2)
WEATHER = metallm.Tool(
    function=metallm.FunctionDefinition(
        name="get_weather",
        parameters={"type": "object", "properties": {"city": {"type": "string"}}},
    )
)


@pytest.fixture(scope="module")
def server() -> Iterator[FakeLLMServer]:
    with FakeLLMServer() as s:
        yield s


@pytest.fixture(autouse=True)
def _clean(server: FakeLLMServer) -> None:
    server.clear()


def kw(server: FakeLLMServer, *, by_name: bool = False, **extra: Any) -> dict[str, Any]:
    """Client settings for the fake: ``provider="openai", extra={"api": "responses"}``, or the
    registered name ``openai_responses`` (``by_name``)."""
    settings: dict[str, Any] = {
        "provider": metallm.ProviderName.OPENAI_RESPONSES if by_name else "openai",
        "base_url": server.base_url("openai"),
        "api_key": KEY,
        "retry": FAST,
        **extra,
    }
    if not by_name:
        settings["extra"] = {"api": "responses", **settings.get("extra", {})}
    return settings


def ask(text: str = "What is the weather in Paris?", **fields: Any) -> dict[str, Any]:
    return {"model": "gpt-5-mini", "messages": [user(text)], **fields}


# --- the corpus, replayed --------------------------------------------------------------------


def _expected(obj: dict[str, Any]) -> dict[str, Any]:
    texts, calls, summaries = [], [], []
    for item in obj["output"]:
        if item["type"] == "message":
            texts += [p["text"] for p in item["content"] if p["type"] == "output_text"]
        elif item["type"] == "function_call":
            calls.append((item["call_id"], item["name"], json.loads(item["arguments"])))
        elif item["type"] == "reasoning":
            summaries += [s["text"] for s in item["summary"]]
    u = obj["usage"]
    return {
        "text": "".join(texts),
        "calls": calls,
        "reasoning": "\n\n".join(summaries) or None,
        "usage": (
            u["input_tokens"],
            u["output_tokens"],
            u["output_tokens_details"]["reasoning_tokens"],
        ),
        "finish": "tool_calls"
        if calls
        else ("length" if obj["status"] == "incomplete" else "stop"),
    }


@pytest.mark.parametrize("mode", MODES)
def test_corpus_replays_through_the_client(server: FakeLLMServer, mode: str) -> None:
    folder = require_corpus("openai_responses")
    files = corpus_files(folder.name, folder.parent)
    assert len(files) == 8
    for path in files:
        entry = load_corpus_entry(path)
        body = entry.request_body
        request = metallm.ChatCompletionRequest(
            model=body["model"], messages=[user(body["input"][0]["content"])]
        )
        server.clear()
        server.replay(entry)
        call = stream if entry.is_stream else complete
        if entry.status >= 400:
            with pytest.raises(metallm.BadRequestError) as info:
                call(mode, kw(server, max_retries=0), request)
            raw = json.loads(entry.body_text)["error"]
            assert info.value.status_code == 400 and info.value.code == raw["code"], path.name
            assert info.value.message == raw["message"] and info.value.provider == "openai"
            assert info.value.request_id == entry.response_headers["x-request-id"]
            continue
        if entry.is_stream:
            chunks, response = stream(mode, kw(server), request)
            assert chunks[-1].usage is not None, path.name
            lines = [ln for ln in entry.body_text.splitlines() if ln.startswith("data: ")]
            final = json.loads(lines[-1][6:])["response"]
        else:
            response = complete(mode, kw(server), request)
            final = json.loads(entry.body_text)
        want = _expected(final)
        message = response.choices[0].message
        assert (message.content or "") == want["text"], path.name
        got_calls = [
            (t.id, t.function.name, json.loads(t.function.arguments))
            for t in message.tool_calls or ()
        ]
        assert got_calls == want["calls"], path.name
        assert message.reasoning_content == want["reasoning"], path.name
        assert response.choices[0].finish_reason == want["finish"], path.name
        u = response.usage
        assert (
            u is not None
            and (u.prompt_tokens, u.completion_tokens, u.reasoning_tokens) == want["usage"]
        )
        assert u.total_tokens == u.prompt_tokens + u.completion_tokens
        assert (response.id, response.model, response.provider) == (
            final["id"],
            final["model"],
            "openai",
        )
        sent = server.requests[0]
        assert sent.path == "/v1/responses" and sent.headers["authorization"] == f"Bearer {KEY}"
        assert sent.json["store"] is False and sent.stream == entry.is_stream


@pytest.mark.parametrize("mode", MODES)
def test_recorded_exchanges_with_a_known_model_are_priced(server: FakeLLMServer, mode: str) -> None:
    folder = require_corpus("openai_responses")
    for stem in ("stream_incomplete_max_output_tokens", "stream_reasoning_summary"):
        entry = load_corpus_entry(folder / f"{stem}.json")
        server.replay(entry)
        _, response = stream(mode, kw(server), ask(model=entry.request_body["model"]))
        assert response.cost is not None and response.cost.total > 0, stem


# --- scripted replies: plain and streamed alike ----------------------------------------------

SCRIPTS = {
    "text": ScriptedReply(text="The quick brown fox jumps over the lazy dog.", chunk_size=5),
    "reasoning": ScriptedReply(
        text="It is 42.",
        reasoning="Six times seven.\n\nThat is forty-two.",
        chunk_size=3,
        usage=ScriptedUsage(20, 15, cached_tokens=5, reasoning_tokens=8),
    ),
    "parallel_tools": ScriptedReply(
        text="Checking both.",
        tool_calls=[
            ScriptedToolCall("get_weather", {"city": "Paris"}, id="call_p"),
            ScriptedToolCall("get_weather", {"city": "Rome"}, id="call_r"),
        ],
        chunk_size=4,
    ),
    "length": ScriptedReply(text="cut short", finish_reason="length", usage=ScriptedUsage(9, 2)),
    "content_filter": ScriptedReply(text="", finish_reason="content_filter"),
    "unicode": ScriptedReply(text="ünïcödé ✓ 漢字 🎉", chunk_size=1),
}


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", list(SCRIPTS))
def test_stream_and_plain_accumulate_to_equal_responses(
    server: FakeLLMServer, mode: str, name: str
) -> None:
    request = ask(tools=[WEATHER], reasoning_effort="low")
    server.enqueue(SCRIPTS[name])
    plain = complete(mode, kw(server), request)
    server.enqueue(SCRIPTS[name])
    chunks, streamed = stream(mode, kw(server), request)
    assert len(chunks) > 1 and chunks[-1].usage is not None

    def comparable(response: metallm.ChatCompletionResponse) -> dict[str, Any]:
        dumped = response.model_dump(exclude={"id", "created"})
        for item in (
            (dumped["choices"][0]["message"]["provider_data"] or {})
            .get("openai", {})
            .get("reasoning", [])
        ):
            item.pop("id")  # each exchange issues its own item id and encryption
            item.pop("encrypted_content")
        for part in dumped["choices"][0]["message"]["reasoning"] or ():
            part.pop("encrypted")
        return dumped

    assert comparable(streamed) == comparable(plain)
    assert streamed.choices[0].finish_reason == plain.choices[0].finish_reason
    assert server.requests[1].json["stream"] is True and "stream" not in server.requests[0].json


@pytest.mark.parametrize("mode", MODES)
def test_the_registered_name_is_the_same_provider(server: FakeLLMServer, mode: str) -> None:
    server.enqueue(ScriptedReply(text="by name"))
    response = complete(mode, kw(server, by_name=True), ask())
    assert response.content == "by name" and response.provider == "openai"
    assert server.requests[0].path == "/v1/responses"
    with metallm.Client(**kw(server, by_name=True)) as client:
        assert client.provider_name == "openai" and KEY not in repr(client)


# --- reasoning that goes back ----------------------------------------------------------------


def _turn_back(mode: str, server: FakeLLMServer, streamed: bool) -> list[dict[str, Any]]:
    server.enqueue(
        ScriptedReply(
            reasoning="Paris first.\n\nThen answer.",
            tool_calls=[ScriptedToolCall("get_weather", {"city": "Paris"}, id="call_w")],
        ),
        ScriptedReply(text="Sunny, 21 C."),
    )
    first = ask(tools=[WEATHER], reasoning_effort="medium")
    call = stream if streamed else complete
    reply = call(mode, kw(server), first)
    response = reply[1] if isinstance(reply, tuple) else reply
    turn = response.choices[0].message
    assert (
        turn.reasoning
        and turn.reasoning[0].encrypted
        and turn.reasoning[0].text == "Paris first.\n\nThen answer."
    )
    history = [
        *first["messages"],
        turn,
        metallm.Message(role="tool", tool_call_id="call_w", content="sunny"),
    ]
    final = complete(mode, kw(server), {**first, "messages": history})
    assert final.content == "Sunny, 21 C."
    items: list[dict[str, Any]] = server.requests[-1].json["input"]
    return items


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("streamed", [False, True], ids=["plain", "streamed"])
def test_encrypted_reasoning_goes_back_before_the_call(
    server: FakeLLMServer, mode: str, streamed: bool
) -> None:
    items = _turn_back(mode, server, streamed)
    kinds = [i.get("type", i.get("role")) for i in items]
    assert kinds == ["user", "reasoning", "function_call", "function_call_output"]
    reasoning = items[1]
    assert reasoning["encrypted_content"].startswith("enc_")
    assert [s["text"] for s in reasoning["summary"]] == ["Paris first.", "Then answer."]


@pytest.mark.parametrize("mode", MODES)
def test_a_tampered_reasoning_item_is_refused_as_the_api_would(
    server: FakeLLMServer, mode: str
) -> None:
    server.enqueue(
        ScriptedReply(reasoning="Hm.", tool_calls=[ScriptedToolCall("get_weather", {}, id="c")])
    )
    response = complete(mode, kw(server), ask(tools=[WEATHER], reasoning_effort="low"))
    turn = response.choices[0].message
    data = json.loads(json.dumps(turn.provider_data))
    data["openai"]["reasoning"][0]["encrypted_content"] = "enc_forged"
    forged = turn.model_copy(update={"provider_data": data})
    history = [user("hi"), forged, metallm.Message(role="tool", tool_call_id="c", content="x")]
    with pytest.raises(metallm.BadRequestError, match="could not be verified"):
        complete(mode, kw(server, max_retries=0), ask(messages=history))


@pytest.mark.parametrize("mode", MODES)
def test_reasoning_survives_sqlite_memory(server: FakeLLMServer, mode: str, tmp_path: Path) -> None:
    store = SQLiteStore(str(tmp_path / "chats.db"))
    server.enqueue(
        ScriptedReply(
            reasoning="Check the tool.",
            tool_calls=[ScriptedToolCall("get_weather", {"city": "Oslo"}, id="call_o")],
        ),
        ScriptedReply(text="Cold."),
    )
    settings = kw(server, memory=store)
    request = ask(tools=[WEATHER], reasoning_effort="low")
    result = metallm.Message(role="tool", tool_call_id="call_o", content="-3 C")
    if mode == "sync":
        with metallm.Client(**settings) as client:
            client.create_chat_completion_with_memory("s1", request)
            answer = client.create_chat_completion_with_memory(
                "s1", {**request, "messages": [result]}
            )
    else:
        import asyncio

        async def go() -> metallm.ChatCompletionResponse:
            async with metallm.AsyncClient(**settings) as client:
                await client.create_chat_completion_with_memory("s1", request)
                return await client.create_chat_completion_with_memory(
                    "s1", {**request, "messages": [result]}
                )

        answer = asyncio.run(go())
    assert answer.content == "Cold."
    sent = server.requests[-1].json["input"]
    assert [i.get("type", i.get("role")) for i in sent] == [
        "user",
        "reasoning",
        "function_call",
        "function_call_output",
    ]


# --- failures ------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
def test_retries_then_typed_errors(server: FakeLLMServer, mode: str) -> None:
    server.enqueue(
        ScriptedReply.error(429, "slow down", headers={"retry-after-ms": "10"}),
        ScriptedReply.error(500, "oops"),
        ScriptedReply(text="third time"),
    )
    assert complete(mode, kw(server), ask()).content == "third time"
    assert len(server.requests) == 3
    server.clear()
    server.enqueue(ScriptedReply.error(404, "no such model", code="model_not_found"))
    with pytest.raises(metallm.NotFoundError) as info:
        complete(mode, kw(server, max_retries=0), ask())
    assert info.value.code == "model_not_found" and info.value.provider == "openai"


@pytest.mark.parametrize("mode", MODES)
def test_a_cut_stream_delivers_what_came_then_raises(server: FakeLLMServer, mode: str) -> None:
    hook = RecordingHook()
    server.enqueue(ScriptedReply(text="abcdefghijklmnopqrstuvwxyz", chunk_size=2, cut_after=8))
    got: list[str] = []
    with pytest.raises(metallm.APIConnectionError):
        stream(
            mode,
            kw(server, hooks=[hook]),
            ask(),
            on_chunk=lambda c: got.append(c.choices[0].delta.content or ""),
        )
    assert "".join(got).startswith("ab") and len(server.requests) == 1
    assert hook.events[-1][1][0] == "error"


@pytest.mark.parametrize("mode", MODES)
def test_a_stream_without_its_completed_event_is_a_stream_error(
    server: FakeLLMServer, mode: str
) -> None:
    created = {"type": "response.created", "response": {"id": "r", "model": "m", "output": []}}
    delta = {"type": "response.output_text.delta", "output_index": 0, "delta": "half"}
    pieces = [f"event: {e['type']}\ndata: {json.dumps(e)}\n\n".encode() for e in (created, delta)]
    server.enqueue(ScriptedReply.raw(200, {"content-type": "text/event-stream"}, pieces))
    got: list[str] = []
    with pytest.raises(metallm.StreamError, match=r"before response\.completed"):
        stream(
            mode, kw(server), ask(), on_chunk=lambda c: got.append(c.choices[0].delta.content or "")
        )
    assert got == ["", "half"]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    ("code", "cls", "status"),
    [
        (None, metallm.InternalServerError, 500),  # the fake's default: server_error
        ("rate_limit_exceeded", metallm.RateLimitError, 429),
        ("invalid_prompt", metallm.BadRequestError, 400),
    ],
)
def test_an_error_event_raises_its_class_after_what_came(
    server: FakeLLMServer, mode: str, code: str | None, cls: type, status: int
) -> None:
    server.enqueue(
        ScriptedReply(
            text="partial answer",
            chunk_size=3,
            error_event_after=5,
            error_code=code,
            error_message=f"bad {KEY}",
        )
    )
    got: list[str] = []
    with pytest.raises(cls) as info:
        stream(
            mode, kw(server), ask(), on_chunk=lambda c: got.append(c.choices[0].delta.content or "")
        )
    assert got == ["", "par"]  # created, then the one text delta before the error
    assert info.value.status_code == status and info.value.provider == "openai"
    assert KEY not in str(info.value) and KEY not in json.dumps(info.value.body)
    assert len(server.requests) == 1


@pytest.mark.parametrize("mode", MODES)
def test_a_failed_response_event_raises_and_is_not_retried(
    server: FakeLLMServer, mode: str
) -> None:
    failed = {
        "type": "response.failed",
        "response": {
            "id": "resp_f",
            "status": "failed",
            "output": [],
            "error": {"code": "server_error", "message": "The model crashed."},
        },
    }
    pieces = [f"event: response.failed\ndata: {json.dumps(failed)}\n\n".encode()]
    server.enqueue(ScriptedReply.raw(200, {"content-type": "text/event-stream"}, pieces))
    with pytest.raises(metallm.InternalServerError) as info:
        stream(mode, kw(server), ask())
    assert info.value.code == "server_error" and info.value.status_code == 500
    assert len(server.requests) == 1


# --- bad settings and bad input: before any I/O ----------------------------------------------


def test_an_unknown_api_is_a_configuration_error_naming_the_values(server: FakeLLMServer) -> None:
    with pytest.raises(metallm.ConfigurationError, match="'chat_completions', 'responses'"):
        metallm.Client(**{**kw(server), "extra": {"api": "x"}})
    with pytest.raises(metallm.ConfigurationError, match="use provider='openai'"):
        metallm.Client(**{**kw(server, by_name=True), "extra": {"api": "chat_completions"}})
    assert server.requests == []


@pytest.mark.parametrize("mode", MODES)
def test_unsupported_fields_fail_before_any_io(server: FakeLLMServer, mode: str) -> None:
    for fields in ({"stop": ["END"]}, {"seed": 1}, {"n": 3}):
        with pytest.raises(metallm.UnsupportedFeatureError, match="on the Responses API"):
            complete(mode, kw(server), ask(**fields))
        with pytest.raises(metallm.UnsupportedFeatureError):
            stream(mode, kw(server), ask(**fields))
    assert server.requests == []


# --- telemetry and secrets -----------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
def test_spans_report_openai_chat_and_the_response_id(server: FakeLLMServer, mode: str) -> None:
    spans = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(spans))
    hooks = [OTelHook(tracer_provider=provider)]
    reply = ScriptedReply(
        text="hi",
        reasoning="brief",
        id="resp_span_1",
        usage=ScriptedUsage(12, 7, cached_tokens=2, reasoning_tokens=3),
    )
    server.enqueue(reply, reply)
    complete(mode, kw(server, hooks=hooks), ask(max_tokens=50))
    stream(mode, kw(server, hooks=hooks), ask(max_tokens=50))
    server.enqueue(ScriptedReply.error(400, "nope", code="invalid_prompt"))
    with pytest.raises(metallm.BadRequestError):
        complete(mode, kw(server, hooks=hooks, max_retries=0), ask())
    plain, streamed, failed = spans.get_finished_spans()
    for span in (plain, streamed):
        attrs = dict(span.attributes or {})
        assert span.name == "chat gpt-5-mini"
        assert (
            attrs["gen_ai.provider.name"] == "openai" and attrs["gen_ai.operation.name"] == "chat"
        )
        assert attrs["gen_ai.response.id"] == "resp_span_1"
        assert attrs["gen_ai.response.model"] == "gpt-5-mini"
        assert attrs["gen_ai.response.finish_reasons"] == ("stop",)
        assert attrs["gen_ai.request.max_tokens"] == 50
        assert (attrs["gen_ai.usage.input_tokens"], attrs["gen_ai.usage.output_tokens"]) == (12, 7)
        assert attrs["gen_ai.usage.cache_read.input_tokens"] == 2
        assert attrs["gen_ai.usage.reasoning.output_tokens"] == 3
        assert attrs["openai.response.service_tier"] == "default"
        assert "gen_ai.system" not in attrs
    assert dict(streamed.attributes or {})["gen_ai.request.stream"] is True
    assert failed.status.status_code is StatusCode.ERROR
    assert dict(failed.attributes or {})["error.type"] == "invalid_prompt"
    provider.shutdown()


@pytest.mark.parametrize("mode", MODES)
def test_the_key_never_leaks(
    server: FakeLLMServer, mode: str, caplog: pytest.LogCaptureFixture
) -> None:
    server.enqueue(
        ScriptedReply.error(500, f"echo {KEY}"),
        ScriptedReply.error(401, f"Incorrect API key provided: {KEY}", code="invalid_api_key"),
    )
    with (
        caplog.at_level(logging.DEBUG, logger="metallm"),
        pytest.raises(metallm.AuthenticationError) as info,
    ):
        complete(mode, kw(server, max_retries=1), ask())
    error = info.value
    for text in (str(error), repr(error), json.dumps(error.body), caplog.text):
        assert KEY not in text
    assert "[REDACTED]" in str(error)


# --- the rest of the client works on it unchanged --------------------------------------------


def test_structured_output_tools_and_a_router_work_on_it(server: FakeLLMServer) -> None:
    from pydantic import BaseModel

    class Weather(BaseModel):
        city: str
        celsius: float

    server.enqueue(ScriptedReply(text='{"city": "Paris", "celsius": 18.5}'))
    with metallm.Client(**kw(server)) as client:
        parsed = client.parse(Weather, model="gpt-5-mini", messages=[user("Weather in Paris?")])
        assert parsed.parsed == Weather(city="Paris", celsius=18.5)
        fmt = server.requests[-1].json["text"]["format"]
        assert fmt["type"] == "json_schema" and fmt["strict"] is True and fmt["name"]
        assert fmt["schema"]["additionalProperties"] is False

        def get_weather(city: str) -> str:
            """The weather in a city."""
            return f"sunny in {city}"

        server.enqueue(
            ScriptedReply(tool_calls=[ScriptedToolCall("get_weather", {"city": "Rome"}, id="c")]),
            ScriptedReply(text="Sunny in Rome."),
        )
        result = client.run_tools(model="gpt-5-mini", messages=[user("Rome?")], tools=[get_weather])
        assert result.response.content == "Sunny in Rome."
        assert server.requests[-1].json["input"][-1] == {
            "type": "function_call_output",
            "call_id": "c",
            "output": "sunny in Rome",
        }
    server.enqueue(ScriptedReply(text="routed"))
    target = metallm.Target(model="gpt-5-mini", **kw(server))
    with metallm.Router(targets=[target]) as router:
        assert router.create_chat_completion(messages=[user("hi")]).content == "routed"
    assert server.requests[-1].path == "/v1/responses"


def test_the_fake_refuses_what_the_api_refuses_and_echoes_by_default(server: FakeLLMServer) -> None:
    import httpx

    url = server.base_url("openai") + "/responses"
    bad = [
        ({"tools": [{"type": "function", "function": {"name": "f"}}]}, "'tools[0].name'"),
        (
            {"input": [{"type": "function_call_output", "call_id": "nope", "output": "x"}]},
            "No tool call found for function call output with call_id nope",
        ),
        (
            {
                "input": [
                    {"type": "reasoning", "id": "rs_1", "summary": [], "encrypted_content": "x"}
                ]
            },
            "The encrypted content for item rs_1 could not be verified",
        ),
    ]
    for body, message in bad:
        server.enqueue(ScriptedReply(text="never sent"))
        reply = httpx.post(url, json={"model": "gpt-5", **body})
        assert reply.status_code == 400, body
        assert message in reply.json()["error"]["message"]
    server.clear()
    echoed = complete("sync", kw(server), ask("ping the fake"))
    assert echoed.content == "Hello from FakeLLMServer! You said: ping the fake"

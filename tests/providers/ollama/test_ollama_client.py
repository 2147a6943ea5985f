"""The Ollama codec through the real client over real sockets, sync and async.

Every Ollama corpus file is replayed by FakeLLMServer and checked field by field; scripted
replies rendered by ``wire_ollama`` (NDJSON streams and plain JSON) must accumulate to equal
responses; a whole tool-using conversation runs streamed and not; keys never leak.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from typing import Any

import pytest

import metallm
import metallm.testing.wire_ollama  # registers the /api/chat renderer
from _helpers import MODES, complete, require_corpus, stream, user
from metallm.provider import ProviderSettings
from metallm.providers.ollama import OllamaProvider
from metallm.providers.openai import OpenAIProvider
from metallm.testing.corpus import corpus_files, load_corpus_entry
from metallm.testing.fake_server import FakeLLMServer
from metallm.testing.script import ScriptedReply, ScriptedToolCall, ScriptedUsage

KEY = "sk-test-ollama-SECRET-0123456789abcdef"
FAST = metallm.RetryPolicy(initial_backoff=0.01, max_backoff=0.2)


@pytest.fixture(scope="module")
def server() -> Iterator[FakeLLMServer]:
    with FakeLLMServer() as s:
        yield s


@pytest.fixture(autouse=True)
def _clean(server: FakeLLMServer) -> None:
    server.clear()


def kw(server: FakeLLMServer, key: str | None = KEY, **extra: Any) -> dict[str, Any]:
    settings = ProviderSettings("ollama", api_key=key, base_url=server.base_url("ollama"))
    return {"custom_provider": OllamaProvider(settings), "retry": FAST, **extra}


def request_from_body(body: dict[str, Any]) -> metallm.ChatCompletionRequest:
    """The unified request a recorded Ollama request body corresponds to."""
    options = body.get("options") or {}
    tools = [metallm.Tool.model_validate(t) for t in body.get("tools") or []]
    return metallm.ChatCompletionRequest(
        model=body["model"],
        messages=[metallm.Message.model_validate(m) for m in body["messages"]],
        temperature=options.get("temperature"),
        seed=options.get("seed"),
        tools=tools or None,
    )


@pytest.mark.parametrize("mode", MODES)
def test_corpus_replays_through_client(server: FakeLLMServer, mode: str) -> None:
    folder = require_corpus("ollama")
    native = [
        p
        for p in corpus_files("ollama", folder.parent, operation="chat")
        if p.stem != "openai_compat_chat"
    ]
    assert len(native) == 4
    for path in native:
        entry = load_corpus_entry(path)
        req = request_from_body(entry.request_body)
        server.clear()
        server.replay(entry)
        if entry.status >= 400:
            with pytest.raises(metallm.NotFoundError) as info:
                complete(mode, kw(server, max_retries=0), req)
            err = info.value
            assert err.status_code == 404 and err.provider == "ollama"
            assert err.message == json.loads(entry.body_text)["error"]
            continue
        if entry.is_stream:
            chunks, resp = stream(mode, kw(server), req)
            lines = [json.loads(x) for x in entry.body_text.splitlines() if x.strip()]
            assert len(chunks) == len(lines)
            assert chunks[-1].usage is not None, "a stream ends with its usage"
            text = "".join(x["message"].get("content", "") for x in lines)
            reasoning = "".join(x["message"].get("thinking", "") for x in lines)
            final = lines[-1]
            assert server.requests[0].json["stream"] is True
        else:
            resp = complete(mode, kw(server), req)
            final = json.loads(entry.body_text)
            text = final["message"]["content"]
            reasoning = final["message"]["thinking"]
            assert server.requests[0].json["stream"] is False
        msg = resp.choices[0].message
        assert (resp.content or "") == text, path.name
        assert msg.reasoning_content == reasoning, path.name
        want_tools = [
            (t["id"], t["function"]["name"], t["function"]["arguments"])
            for t in final["message"].get("tool_calls") or []
        ]
        got_tools = [
            (t.id, t.function.name, json.loads(t.function.arguments)) for t in msg.tool_calls or []
        ]
        assert got_tools == want_tools, path.name
        assert resp.choices[0].finish_reason == ("tool_calls" if want_tools else "stop")
        assert resp.usage is not None
        assert resp.usage.prompt_tokens == final["prompt_eval_count"]
        assert resp.usage.completion_tokens == final["eval_count"]
        assert resp.usage.total_tokens == final["prompt_eval_count"] + final["eval_count"]
        assert resp.usage.reasoning_tokens is None and resp.usage.cached_tokens is None
        assert resp.provider == "ollama" and resp.model == final["model"]
        sent = server.requests[0]
        assert sent.path == "/api/chat" == entry.request_path
        assert sent.headers["authorization"] == f"Bearer {KEY}"
        assert sent.json["messages"] == entry.request_body["messages"]
        assert sent.json["options"] == entry.request_body["options"]
        if want_tools:
            assert sent.json["tools"] == entry.request_body["tools"]


@pytest.mark.parametrize("mode", MODES)
def test_openai_compatible_endpoint_through_client(server: FakeLLMServer, mode: str) -> None:
    entry = load_corpus_entry(require_corpus("ollama") / "openai_compat_chat.json")
    server.replay(entry)
    codec = OpenAIProvider(
        ProviderSettings("openai", api_key=KEY, base_url=server.base_url("ollama") + "/v1")
    )
    req = metallm.ChatCompletionRequest(model="gemma3:4b", messages=[user("What is 4200 + 42?")])
    resp = complete(mode, {"custom_provider": codec, "retry": FAST}, req)
    assert server.requests[0].path == "/v1/chat/completions"
    assert resp.id == "chatcmpl-674" and resp.model == "gemma3:4b"
    assert resp.content == "4200 + 42 = 4242\n" and resp.choices[0].finish_reason == "stop"
    assert resp.usage is not None
    assert (resp.usage.prompt_tokens, resp.usage.completion_tokens) == (21, 16)
    assert resp.usage.total_tokens == 37


SCRIPTS = [
    ScriptedReply(text="The quick brown fox jumps over the lazy dog. " * 3, chunk_size=5),
    ScriptedReply(
        text="Thinking done.", reasoning="Let me think about it step by step.", chunk_size=3
    ),
    ScriptedReply(  # parallel tool calls without ids: synthesised alike in both modes
        reasoning="Two tools.",
        tool_calls=[
            ScriptedToolCall(name="get_weather", arguments='{"city": "Paris", "unit": "C"}'),
            ScriptedToolCall(name="get_time", arguments='{"tz": "Europe/Paris"}'),
        ],
    ),
    ScriptedReply(
        tool_calls=[
            ScriptedToolCall(name="get_weather", arguments='{"city": "Oslo"}', id="call_a"),
            ScriptedToolCall(name="get_time", arguments="{}", id="call_b"),
        ],
    ),
    ScriptedReply(text="cut short", finish_reason="length", usage=ScriptedUsage(10, 2)),
    ScriptedReply(text="ünïcödé ✓ 漢字 🎉 split everywhere", chunk_size=1),
]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("script", range(len(SCRIPTS)))
def test_stream_and_plain_accumulate_to_equal_responses(
    server: FakeLLMServer, mode: str, script: int
) -> None:
    req = metallm.ChatCompletionRequest(model="llama3.2", messages=[user("hi")])
    server.enqueue(SCRIPTS[script])
    plain = complete(mode, kw(server), req)
    server.enqueue(SCRIPTS[script])
    chunks, streamed = stream(mode, kw(server), req)
    assert len(chunks) > 1 and chunks[-1].usage is not None
    # two separate exchanges: created_at (hence id and created) differ; all else must agree
    assert streamed.model_dump(exclude={"id", "created"}) == plain.model_dump(
        exclude={"id", "created"}
    )
    assert plain.id.startswith("ollama-") and streamed.id.startswith("ollama-")
    assert [r.json["stream"] for r in server.requests] == [False, True]
    script_reply = SCRIPTS[script]
    expected_finish = script_reply.finish_reason or (
        "tool_calls" if script_reply.tool_calls else "stop"
    )
    assert plain.choices[0].finish_reason == expected_finish
    calls = plain.choices[0].message.tool_calls or []
    assert [(c.id, c.function.name, json.loads(c.function.arguments)) for c in calls] == [
        (t.id or f"call_0_{i}", t.name, json.loads(t.arguments))
        for i, t in enumerate(script_reply.tool_calls)
    ]
    if script_reply.usage is not None:
        assert plain.usage is not None
        assert (plain.usage.prompt_tokens, plain.usage.completion_tokens) == (10, 2)


WEATHER = metallm.Tool(
    function=metallm.FunctionDefinition(
        name="get_weather",
        description="Weather in a city.",
        parameters={"type": "object", "properties": {"city": {"type": "string"}}},
    )
)


def _conversation(
    server: FakeLLMServer, mode: str, streamed: bool
) -> tuple[metallm.ChatCompletionResponse, metallm.ChatCompletionResponse]:
    call = ScriptedToolCall(name="get_weather", arguments='{"city": "Paris"}')
    server.enqueue(ScriptedReply(tool_calls=[call]), ScriptedReply(text="It is 21 C in Paris."))
    messages = [user("Weather in Paris?")]
    first_req = metallm.ChatCompletionRequest(model="qwen3", messages=messages, tools=[WEATHER])

    def run(req: metallm.ChatCompletionRequest) -> metallm.ChatCompletionResponse:
        return stream(mode, kw(server), req)[1] if streamed else complete(mode, kw(server), req)

    first = run(first_req)
    assistant = first.choices[0].message
    assert assistant.tool_calls is not None
    tool_result = metallm.Message(
        role=metallm.Role.TOOL, tool_call_id=assistant.tool_calls[0].id, content='{"temp": 21}'
    )
    second_req = first_req.model_copy(update={"messages": [*messages, assistant, tool_result]})
    return first, run(second_req)


@pytest.mark.parametrize("mode", MODES)
def test_tool_conversation_streamed_and_not(server: FakeLLMServer, mode: str) -> None:
    results = []
    for streamed in (False, True):
        server.clear()
        first, second = _conversation(server, mode, streamed)
        assert first.choices[0].finish_reason == "tool_calls"
        calls = first.choices[0].message.tool_calls
        assert calls is not None and calls[0].id == "call_0_0"
        assert second.content == "It is 21 C in Paris."
        assert second.choices[0].finish_reason == "stop"
        sent = server.requests[1].json
        assert sent["stream"] is streamed
        assert sent["messages"][1:] == [
            {
                "role": "assistant",
                "content": "",
                "tool_calls": [
                    {"function": {"name": "get_weather", "arguments": {"city": "Paris"}}}
                ],
            },
            {"role": "tool", "content": '{"temp": 21}', "tool_name": "get_weather"},
        ]
        assert sent["tools"][0]["function"]["name"] == "get_weather"
        results.append([r.model_dump(exclude={"id", "created"}) for r in (first, second)])
    assert results[0] == results[1]


@pytest.mark.parametrize("mode", MODES)
def test_key_never_appears_in_errors(server: FakeLLMServer, mode: str) -> None:
    req = metallm.ChatCompletionRequest(model="llama3.2", messages=[user("hi")])
    server.enqueue(ScriptedReply.error(401, f"bad token {KEY}"))
    with pytest.raises(metallm.AuthenticationError) as info:
        complete(mode, kw(server, max_retries=0), req)
    assert KEY not in str(info.value) and KEY not in repr(info.value)
    assert KEY not in json.dumps(info.value.body)
    server.enqueue(
        ScriptedReply(text="abcdefgh", chunk_size=2, error_event_after=2, error_message=KEY)
    )
    with pytest.raises(metallm.APIError) as err:
        stream(mode, kw(server, max_retries=0), req)
    assert KEY not in str(err.value) and KEY not in repr(err.value)


@pytest.mark.parametrize("mode", MODES)
def test_stream_errors(server: FakeLLMServer, mode: str) -> None:
    req = metallm.ChatCompletionRequest(model="llama3.2", messages=[user("hi")])
    server.enqueue(ScriptedReply(text="abcdefgh", chunk_size=2, cut_after=2))
    with pytest.raises(metallm.StreamError):
        stream(mode, kw(server, max_retries=0), req)
    server.enqueue(ScriptedReply.error(404, "model 'x' not found"))
    with pytest.raises(metallm.NotFoundError, match="model 'x' not found"):
        stream(mode, kw(server, key=None, max_retries=0), req)
    assert "authorization" not in server.requests[-1].headers
    reply = ScriptedReply(text="abcdefgh", chunk_size=2, error_event_after=3)
    server.enqueue(dataclasses.replace(reply, error_message="GPU out of memory"))
    chunks: list[metallm.ChatCompletionChunk] = []
    with pytest.raises(metallm.APIError, match="GPU out of memory"):
        stream(mode, kw(server, max_retries=0), req, on_chunk=chunks.append)
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == "abcdef"

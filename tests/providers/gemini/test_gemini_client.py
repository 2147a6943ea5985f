"""The Gemini codec through the real client over real sockets, sync and async.

Every ``corpus/gemini`` file replayed by FakeLLMServer and checked field by field; scripted
replies rendered by ``wire_gemini`` streamed and not, accumulating to equal responses (text,
reasoning, parallel tool calls, length); a whole tool-using conversation; errors typed,
including in-stream error events and cut streams; the key never leaves the library.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest

import metallm
import metallm.testing.wire_gemini
from _helpers import MODES, complete, require_corpus, stream, user
from metallm.provider import ProviderSettings
from metallm.providers.gemini import GeminiProvider
from metallm.testing.corpus import corpus_files, load_corpus_entry
from metallm.testing.fake_server import FakeLLMServer
from metallm.testing.script import ScriptedReply, ScriptedToolCall, ScriptedUsage
from metallm.testing.wire_signatures import call_signature

KEY = "sk-test-gemini-SECRET-0123456789abcdef"
FAST = metallm.RetryPolicy(initial_backoff=0.01, max_backoff=0.2)


@pytest.fixture(scope="module")
def server() -> Any:
    with FakeLLMServer() as s:
        yield s


@pytest.fixture(autouse=True)
def _clean(server: FakeLLMServer) -> None:
    server.clear()


def kw(server: FakeLLMServer, **extra: Any) -> dict[str, Any]:
    provider = GeminiProvider(
        ProviderSettings("gemini", api_key=KEY, base_url=server.base_url("gemini"))
    )
    retry = None if "max_retries" in extra else FAST
    return {"custom_provider": provider, "retry": retry, **extra}


def req(*messages: metallm.Message, **fields: Any) -> metallm.ChatCompletionRequest:
    return metallm.ChatCompletionRequest(
        model="gemini-2.5-flash", messages=list(messages) or [user("hi")], **fields
    )


def _expected(objs: list[dict[str, Any]]) -> dict[str, Any]:
    text, thoughts, tools, usage = "", "", [], {}
    for obj in objs:
        for part in obj["candidates"][0]["content"]["parts"]:
            if part.get("thought"):
                thoughts += part["text"]
            elif "text" in part:
                text += part["text"]
            if "functionCall" in part:
                fc = part["functionCall"]
                tools.append((f"call_0_{len(tools)}", fc["name"], fc["args"]))
        usage = obj.get("usageMetadata", usage)
    return {"text": text, "reasoning": thoughts or None, "tools": tools, "usage": usage}


@pytest.mark.parametrize("mode", MODES)
def test_corpus_replays_through_client(server: FakeLLMServer, mode: str) -> None:
    folder = require_corpus("gemini")
    files = corpus_files(folder.name, folder.parent, operation="chat")
    assert len(files) >= 11
    for path in files:
        entry = load_corpus_entry(path)
        body = entry.request_body
        text = body["contents"][0]["parts"][0]["text"]
        model = entry.request_path.split("/models/")[1].split(":")[0]
        request = metallm.ChatCompletionRequest(model=model, messages=[user(text)])
        server.clear()
        server.replay(entry)
        call = stream if entry.is_stream else complete
        if entry.status >= 400:
            with pytest.raises(metallm.APIError) as info:
                call(mode, kw(server, max_retries=0), request)
            err = info.value
            raw = json.loads(entry.body_text)["error"]
            assert err.status_code == entry.status and err.message == raw["message"], path.name
            assert err.type == raw["status"], path.name
            expected_cls = (
                metallm.AuthenticationError if "api_key" in path.name else metallm.NotFoundError
            )
            assert type(err) is expected_cls, path.name
            assert KEY not in str(err) and KEY not in repr(err)
        else:
            if entry.is_stream:
                chunks, resp = stream(mode, kw(server), request)
                assert chunks[-1].usage is not None, path.name
                exp = _expected(
                    [
                        json.loads(line[6:])
                        for line in entry.body_text.splitlines()
                        if line.startswith("data: ")
                    ]
                )
            else:
                resp = complete(mode, kw(server), request)
                exp = _expected([json.loads(entry.body_text)])
            msg = resp.choices[0].message
            assert (msg.content or "") == exp["text"], path.name
            assert msg.reasoning_content == exp["reasoning"], path.name
            got = [
                (t.id, t.function.name, json.loads(t.function.arguments))
                for t in msg.tool_calls or []
            ]
            assert got == exp["tools"], path.name
            finish = "tool_calls" if got else ("length" if "max_tokens" in path.name else "stop")
            assert resp.choices[0].finish_reason == finish, path.name
            u = exp["usage"]
            completion = u.get("candidatesTokenCount", 0) + u.get("thoughtsTokenCount", 0)
            assert resp.usage is not None
            assert (resp.usage.prompt_tokens, resp.usage.completion_tokens) == (
                u["promptTokenCount"],
                completion,
            ), path.name
            assert resp.usage.total_tokens == u["totalTokenCount"]
            assert resp.usage.reasoning_tokens == u.get("thoughtsTokenCount")
            assert resp.provider == "gemini"
        sent = server.requests[0]
        assert sent.path == entry.request_path, path.name
        assert sent.headers["x-goog-api-key"] == KEY and KEY not in sent.path
        assert sent.json == {"contents": [{"role": "user", "parts": [{"text": text}]}]}


SCRIPTS = [
    ScriptedReply(text="The quick brown fox jumps over the lazy dog. " * 3, chunk_size=5),
    ScriptedReply(text="Thinking done.", reasoning="Let me think step by step.", chunk_size=3),
    ScriptedReply(
        tool_calls=[
            ScriptedToolCall(name="get_weather", arguments='{"city": "Paris", "unit": "C"}'),
            ScriptedToolCall(name="get_time", arguments='{"tz": "Europe/Paris"}'),
        ],
    ),
    ScriptedReply(
        text="Calling both.",
        tool_calls=[
            ScriptedToolCall(name="a", arguments='{"x": 1}', id="fc_a"),
            ScriptedToolCall(name="b", arguments="{}", id="fc_b"),
        ],
        chunk_size=4,
    ),
    ScriptedReply(
        text="cut short",
        finish_reason="length",
        usage=ScriptedUsage(10, 5, cached_tokens=4, reasoning_tokens=2),
    ),
    ScriptedReply(text="ünïcödé ✓ 漢字 🎉 split everywhere", chunk_size=1),
]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("script", range(len(SCRIPTS)))
def test_stream_and_plain_accumulate_to_equal_responses(
    server: FakeLLMServer, mode: str, script: int
) -> None:
    server.enqueue(SCRIPTS[script])
    plain = complete(mode, kw(server), req())
    server.enqueue(SCRIPTS[script])
    chunks, streamed = stream(mode, kw(server), req())
    assert len(chunks) >= 1 and chunks[-1].usage is not None
    assert streamed.model_dump(exclude={"id"}) == plain.model_dump(exclude={"id"})
    reply = SCRIPTS[script]
    assert plain.content == reply.content
    assert plain.choices[0].message.reasoning_content == reply.reasoning
    calls = plain.choices[0].message.tool_calls or []
    assert [(c.function.name, c.function.arguments) for c in calls] == [
        (c.name, json.dumps(json.loads(c.arguments))) for c in reply.tool_calls
    ]
    assert [c.id for c in calls] == [c.id or f"call_0_{i}" for i, c in enumerate(reply.tool_calls)]
    assert plain.choices[0].finish_reason == reply.resolved_finish_reason()
    if reply.usage is not None:
        assert plain.usage is not None
        assert plain.usage.model_dump() == {
            "prompt_tokens": 10,
            "completion_tokens": 5,
            "total_tokens": 15,
            "cached_tokens": 4,
            "cache_write_tokens": None,
            "reasoning_tokens": 2,
        }
    paths = [r.path for r in server.requests]
    assert paths == [
        "/v1beta/models/gemini-2.5-flash:generateContent",
        "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse",
    ]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("streamed", [False, True])
def test_tool_conversation_round_trip(server: FakeLLMServer, mode: str, streamed: bool) -> None:
    tools = [
        metallm.Tool(
            function=metallm.FunctionDefinition(
                name="get_weather",
                description="Weather in a city.",
                parameters={"type": "object", "properties": {"city": {"type": "string"}}},
            )
        )
    ]
    call = stream if streamed else complete

    def run(request: metallm.ChatCompletionRequest) -> metallm.ChatCompletionResponse:
        result = call(mode, kw(server), request)
        return result[1] if isinstance(result, tuple) else result

    server.enqueue(
        ScriptedReply(tool_calls=[ScriptedToolCall("get_weather", '{"city": "Paris"}')]),
        ScriptedReply(text="It is sunny in Paris, 21 degrees."),
    )
    question = user("Weather in Paris?")
    first = run(req(question, tools=tools))
    assert first.choices[0].finish_reason == "tool_calls"
    tool_call = (first.choices[0].message.tool_calls or [])[0]
    assert (tool_call.id, tool_call.function.name) == ("call_0_0", "get_weather")
    history = [
        question,
        first.choices[0].message,
        metallm.Message(role=metallm.Role.TOOL, tool_call_id=tool_call.id, content="sunny, 21C"),
    ]
    final = run(req(*history, tools=tools))
    assert final.content == "It is sunny in Paris, 21 degrees."
    assert final.choices[0].finish_reason == "stop"
    sent = server.requests[1].json
    assert sent["contents"] == [
        {"role": "user", "parts": [{"text": "Weather in Paris?"}]},
        {
            "role": "model",
            "parts": [
                {
                    "functionCall": {"name": "get_weather", "args": {"city": "Paris"}},
                    # the signature the reply carried goes back on the part it came with
                    "thoughtSignature": call_signature("get_weather", {"city": "Paris"}),
                }
            ],
        },
        {
            "role": "user",
            "parts": [
                {"functionResponse": {"name": "get_weather", "response": {"result": "sunny, 21C"}}}
            ],
        },
    ]
    assert sent["tools"][0]["functionDeclarations"][0]["name"] == "get_weather"


@pytest.mark.parametrize("mode", MODES)
def test_errors_are_typed_and_the_key_never_leaks(
    server: FakeLLMServer, mode: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    leaky = f"API key not valid: {KEY}"
    server.enqueue(ScriptedReply.error(400, leaky, code="API_KEY_INVALID"))
    with pytest.raises(metallm.AuthenticationError) as info:
        complete(mode, kw(server, max_retries=0), req())
    server.enqueue(ScriptedReply.error(429, leaky, headers={"retry-after": "0"}))
    with pytest.raises(metallm.RateLimitError) as limited:
        stream(mode, kw(server, max_retries=0), req())
    assert limited.value.status_code == 429 and limited.value.type == "RESOURCE_EXHAUSTED"
    server.enqueue(
        ScriptedReply(text="partial answer", chunk_size=3, error_event_after=2, error_message=leaky)
    )
    got: list[str] = []
    with pytest.raises(metallm.InternalServerError) as in_stream:
        stream(
            mode,
            kw(server, max_retries=0),
            req(),
            on_chunk=lambda c: got.append(c.choices[0].delta.content or ""),
        )
    assert "".join(got) == "partia"  # two 3-character events, then the error event
    for err in (info.value, limited.value, in_stream.value):
        assert KEY not in str(err) and KEY not in repr(err) and KEY not in json.dumps(err.body)
        assert "[REDACTED]" in err.message
    assert KEY not in caplog.text


@pytest.mark.parametrize("mode", MODES)
def test_cut_stream_raises_stream_error(server: FakeLLMServer, mode: str) -> None:
    server.enqueue(ScriptedReply(text="abcdefghijklmnop", chunk_size=2, cut_after=3))
    with pytest.raises(metallm.APIConnectionError):
        stream(mode, kw(server), req())
    body = b'data: {"candidates": [{"content": {"parts": [{"text": "no end"}]}, "index": 0}]}\n\n'
    server.enqueue(ScriptedReply.raw(200, {"content-type": "text/event-stream"}, [body]))
    with pytest.raises(metallm.StreamError, match="finishReason"):
        stream(mode, kw(server), req())
    assert len(server.requests) == 2  # a stream that started is never retried

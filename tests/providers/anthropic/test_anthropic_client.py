"""The Anthropic codec through the real client over real sockets, sync and async.

The codec is injected as ``custom_provider`` so it runs on the client's own transport against
FakeLLMServer: every corpus file replayed, scripted replies rendered in Anthropic's wire format
(``metallm.testing.wire_anthropic``) streamed and not, a whole tool-using conversation (with
thinking sent back signed), errors, in-stream error events and cut streams, and the key kept
out of every error.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from typing import Any

import pytest
from test_anthropic_codec import ERRORS, EXPECTED, recorded_blocks

import metallm
import metallm.testing.wire_anthropic
from _helpers import MODES, complete, require_corpus, stream, user
from metallm.provider import ProviderSettings
from metallm.providers.anthropic import AnthropicProvider
from metallm.testing.corpus import corpus_files, load_corpus_entry
from metallm.testing.fake_server import FakeLLMServer
from metallm.testing.script import ScriptedReply, ScriptedToolCall, ScriptedUsage
from metallm.testing.wire_signatures import sign

KEY = "sk-test-ant-SECRET-0123456789abcdef"
FAST = metallm.RetryPolicy(initial_backoff=0.01, max_backoff=0.2)
MODEL = "claude-sonnet-4-0"


@pytest.fixture(scope="module")
def server() -> Any:
    with FakeLLMServer() as s:
        yield s


@pytest.fixture(autouse=True)
def _clean(server: FakeLLMServer) -> None:
    server.clear()


def kw(
    server: FakeLLMServer, provider: AnthropicProvider | None = None, **extra: Any
) -> dict[str, Any]:
    codec = provider or AnthropicProvider(
        ProviderSettings("anthropic", api_key=KEY, base_url=server.base_url("anthropic"))
    )
    retry = None if "max_retries" in extra else FAST
    return {"custom_provider": codec, "retry": retry, **extra}


def req(*messages: metallm.Message, **fields: Any) -> metallm.ChatCompletionRequest:
    return metallm.ChatCompletionRequest(
        model=MODEL, messages=list(messages) or [user("hi")], **fields
    )


@pytest.mark.parametrize("mode", MODES)
def test_corpus_replays_through_client(server: FakeLLMServer, mode: str) -> None:
    folder = require_corpus("anthropic")
    files = corpus_files(folder.name, folder.parent, operation="chat")
    assert {p.stem for p in files} == set(EXPECTED) | set(ERRORS)
    for path in files:
        entry = load_corpus_entry(path)
        server.clear()
        server.replay(entry)
        request = req(user("replayed"))
        if entry.status >= 400:
            with pytest.raises(metallm.APIError) as info:
                complete(mode, kw(server, max_retries=0), request)
            err = info.value
            cls, etype, _ = ERRORS[path.stem]
            raw = json.loads(entry.body_text)["error"]
            assert type(err) is cls, path.name
            assert (err.status_code, err.type, err.message) == (entry.status, etype, raw["message"])
            assert err.request_id == json.loads(entry.body_text)["request_id"]
            assert err.provider == "anthropic"
            continue
        if entry.is_stream:
            chunks, resp = stream(mode, kw(server), request)
            assert chunks[-1].usage is not None, "a stream ends with its usage"
        else:
            resp = complete(mode, kw(server), request)
        blocks, usage, _ = recorded_blocks(entry)
        msg = resp.choices[0].message
        tools = [b for b in blocks if b["type"] == "tool_use"]
        assert (msg.content or "") == "".join(b["text"] for b in blocks if b["type"] == "text")
        assert (msg.reasoning_content or "") == "".join(
            b["thinking"] for b in blocks if b["type"] == "thinking"
        )
        assert [
            (t.id, t.function.name, json.loads(t.function.arguments)) for t in msg.tool_calls or []
        ] == [(b["id"], b["name"], b["input"]) for b in tools], path.name
        finish, prompt, completion, _ = EXPECTED[path.stem]
        assert resp.choices[0].finish_reason == finish
        assert resp.usage is not None
        assert (
            resp.usage.prompt_tokens,
            resp.usage.completion_tokens,
            resp.usage.total_tokens,
        ) == (
            prompt,
            completion,
            prompt + completion,
        )
        assert resp.usage.cached_tokens == usage["cache_read_input_tokens"]
        assert resp.provider == "anthropic"
        sent = server.requests[0]
        assert sent.path == "/v1/messages"
        assert sent.headers["x-api-key"] == KEY
        assert sent.headers["anthropic-version"] == "2023-06-01"
        assert sent.json["max_tokens"] == 8192 and sent.json.get("stream") is (
            True if entry.is_stream else None
        )


SCRIPTS = [
    ScriptedReply(text="The quick brown fox jumps over the lazy dog. " * 3, chunk_size=5),
    ScriptedReply(
        text="Thinking done.", reasoning="Let me think about it step by step.", chunk_size=3
    ),
    ScriptedReply(
        text="Two lookups.",
        tool_calls=[
            ScriptedToolCall(
                name="get_weather", arguments='{"city":"Paris","unit":"C"}', id="toolu_a"
            ),
            ScriptedToolCall(name="get_time", arguments='{"tz": "Europe/Paris"}', id="toolu_b"),
            ScriptedToolCall(name="get_nothing", arguments="{}", id="toolu_c"),
        ],
        chunk_size=4,
    ),
    ScriptedReply(
        text="cut short", finish_reason="length", usage=ScriptedUsage(10, 2, cached_tokens=4)
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
    assert len(chunks) > 2 and chunks[-1].usage is not None
    assert streamed.model_dump(exclude={"id"}) == plain.model_dump(exclude={"id"})
    scripted = SCRIPTS[script]
    msg = plain.choices[0].message
    assert (msg.content or "") == scripted.content
    assert msg.reasoning_content == scripted.reasoning
    assert [
        (t.id, t.function.name, json.loads(t.function.arguments)) for t in msg.tool_calls or []
    ] == [(c.id, c.name, json.loads(c.arguments)) for c in scripted.tool_calls]
    assert plain.choices[0].finish_reason == scripted.resolved_finish_reason()
    if scripted.usage is not None:
        assert plain.usage is not None
        assert (
            plain.usage.prompt_tokens,
            plain.usage.completion_tokens,
            plain.usage.cached_tokens,
        ) == (10, 2, 4)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("streamed", [False, True])
def test_tool_conversation_with_thinking_round_trip(
    server: FakeLLMServer, mode: str, streamed: bool
) -> None:
    codec = AnthropicProvider(
        ProviderSettings("anthropic", api_key=KEY, base_url=server.base_url("anthropic"))
    )
    weather = metallm.Tool(
        function=metallm.FunctionDefinition(
            name="get_weather",
            description="Weather",
            parameters={"type": "object", "properties": {"city": {"type": "string"}}},
        )
    )
    server.enqueue(
        ScriptedReply(
            reasoning="The user wants weather; call the tool.",
            tool_calls=[
                ScriptedToolCall(name="get_weather", arguments='{"city": "Oslo"}', id="toolu_w1")
            ],
        ),
        ScriptedReply(text="It is -3C in Oslo."),
    )
    messages = [user("Weather in Oslo?")]
    call = stream if streamed else complete
    first = call(mode, kw(server, codec), req(*messages, tools=[weather], reasoning_effort="low"))
    first_resp = first[1] if isinstance(first, tuple) else first
    assistant = first_resp.choices[0].message
    assert first_resp.choices[0].finish_reason == "tool_calls"
    assert assistant.tool_calls and assistant.tool_calls[0].id == "toolu_w1"
    messages += [
        assistant,
        metallm.Message(role=metallm.Role.TOOL, tool_call_id="toolu_w1", content="-3C"),
    ]
    second = call(mode, kw(server, codec), req(*messages, tools=[weather], reasoning_effort="low"))
    final = second[1] if isinstance(second, tuple) else second
    assert final.content == "It is -3C in Oslo." and final.choices[0].finish_reason == "stop"
    sent = server.requests[1].json
    assert sent["thinking"] == {"type": "enabled", "budget_tokens": 1024}
    assert sent["messages"][1:] == [
        {
            "role": "assistant",
            "content": [
                {
                    "type": "thinking",
                    "thinking": "The user wants weather; call the tool.",
                    "signature": sign("The user wants weather; call the tool."),
                },
                {
                    "type": "tool_use",
                    "id": "toolu_w1",
                    "name": "get_weather",
                    "input": {"city": "Oslo"},
                },
            ],
        },
        {
            "role": "user",
            "content": [{"type": "tool_result", "tool_use_id": "toolu_w1", "content": "-3C"}],
        },
    ]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, metallm.BadRequestError),
        (401, metallm.AuthenticationError),
        (403, metallm.PermissionDeniedError),
        (404, metallm.NotFoundError),
        (429, metallm.RateLimitError),
        (500, metallm.InternalServerError),
        (529, metallm.OverloadedError),
    ],
)
def test_error_statuses(
    server: FakeLLMServer, mode: str, status: int, cls: type[Exception]
) -> None:
    server.enqueue(ScriptedReply.error(status, "scripted failure"))
    with pytest.raises(cls) as info:
        complete(mode, kw(server, max_retries=0), req())
    assert type(info.value) is cls and info.value.message == "scripted failure"  # type: ignore[attr-defined]


@pytest.mark.parametrize("mode", MODES)
def test_overloaded_is_retried_then_succeeds(server: FakeLLMServer, mode: str) -> None:
    server.enqueue(ScriptedReply.error(529, "Overloaded"), ScriptedReply(text="ok"))
    assert complete(mode, kw(server), req()).content == "ok"
    assert len(server.requests) == 2


@pytest.mark.parametrize("mode", MODES)
def test_error_event_and_cut_stream(server: FakeLLMServer, mode: str) -> None:
    server.enqueue(
        ScriptedReply(
            text="partial answer here",
            chunk_size=3,
            error_event_after=4,
            error_type="overloaded_error",
            error_message="Overloaded",
        )
    )
    with pytest.raises(metallm.OverloadedError) as info:
        stream(mode, kw(server), req())
    assert info.value.message == "Overloaded"
    server.enqueue(ScriptedReply(text="abcdefghijklmnop", chunk_size=2, cut_after=5))
    with pytest.raises(metallm.APIConnectionError):
        stream(mode, kw(server), req())
    assert len(server.requests) == 2  # a started stream is never retried


@pytest.mark.parametrize("mode", MODES)
def test_unsupported_field_fails_before_io(server: FakeLLMServer, mode: str) -> None:
    with pytest.raises(metallm.UnsupportedFeatureError):
        complete(mode, kw(server), req(n=2))
    assert server.requests == []


@pytest.mark.parametrize("mode", MODES)
def test_key_never_leaks(
    server: FakeLLMServer, mode: str, caplog: pytest.LogCaptureFixture
) -> None:
    server.enqueue(
        ScriptedReply.error(401, f"invalid x-api-key {KEY}"),
        dataclasses.replace(
            ScriptedReply(text="x" * 12, chunk_size=2, error_event_after=3),
            error_message=f"boom {KEY}",
        ),
        ScriptedReply.raw(200, {"content-type": "application/json"}, f"not json {KEY}".encode()),
    )
    with caplog.at_level(logging.DEBUG, logger="metallm"):
        for run in (
            lambda: complete(mode, kw(server, max_retries=0), req()),
            lambda: stream(mode, kw(server, max_retries=0), req()),
            lambda: complete(mode, kw(server, max_retries=0), req()),
        ):
            with pytest.raises(metallm.MetaLLMError) as info:
                run()
            err = info.value
            assert KEY not in str(err) and KEY not in repr(err)
            assert KEY not in json.dumps(getattr(err, "body", None), default=str)
    assert KEY not in caplog.text
    client = metallm.Client(**kw(server))
    assert KEY not in repr(client) and KEY not in repr(client.provider)


def _event_kinds(body: bytes) -> list[str]:
    kinds = []
    for block in body.decode().split("\n\n"):
        lines = block.splitlines()
        if lines:
            name, data = lines[0][len("event: ") :], json.loads(lines[1][len("data: ") :])
            assert name == data["type"]  # the event name always repeats the data's type
            kinds.append(name if name != "content_block_delta" else data["delta"]["type"])
    return kinds


def test_rendered_wire_has_the_recorded_shape() -> None:
    """The fake server's Anthropic bytes look like the recorded ones (same keys, same events)."""
    folder = require_corpus("anthropic")
    from metallm.testing.wire_anthropic import render_anthropic

    recorded = json.loads(load_corpus_entry(folder / "chat_tool_use.json").body_text)
    reply = ScriptedReply(
        text="Sure.",
        tool_calls=[
            ScriptedToolCall(name="f", arguments='{"a": 1}', id="toolu_1"),
            ScriptedToolCall(name="g", arguments='{"b": 2}', id="toolu_2"),
        ],
    )
    rendered = json.loads(
        b"".join(render_anthropic(reply, {"model": MODEL}, "/v1/messages").pieces)
    )
    assert set(rendered) == set(recorded)
    assert [b["type"] for b in rendered["content"]] == [b["type"] for b in recorded["content"]]
    assert set(rendered["content"][1]) == set(recorded["content"][1])
    assert rendered["stop_reason"] == recorded["stop_reason"] == "tool_use"
    assert set(recorded["usage"]) >= set(rendered["usage"])
    wire = render_anthropic(reply, {"model": MODEL, "stream": True}, "/v1/messages")
    assert wire.stream and wire.headers["content-type"].startswith("text/event-stream")
    got = _event_kinds(b"".join(wire.pieces))
    want = _event_kinds(load_corpus_entry(folder / "stream_tool_use.json").body_bytes)
    assert got[2] == "ping"  # as recorded: a ping right after the first block opens

    def squash(kinds: list[str]) -> list[str]:
        kept = [k for k in kinds if k != "ping"]
        return [k for i, k in enumerate(kept) if i == 0 or k != kept[i - 1]]

    assert squash(got) == squash(want)

"""The Anthropic Messages codec (metallm.providers.anthropic) against the corpus and by hand.

Every recorded exchange is parsed and checked field by field against the recorded JSON and a
hand-written table (usage after normalisation: prompt = input + cache creation + cache read);
recorded streams are split at arbitrary byte offsets; the request body for a request using
every supported unified field is compared with a body written from Anthropic's API reference.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from _codec_helpers import accumulate as accumulate_chunks
from _codec_helpers import corpus_entries, decode_pieces, entry_id, require_entry, split_at
from metallm.errors import (
    APIError,
    AuthenticationError,
    BadRequestError,
    InternalServerError,
    InvalidRequestError,
    NotFoundError,
    OverloadedError,
    RateLimitError,
    ResponseValidationError,
    StreamError,
    UnsupportedFeatureError,
)
from metallm.provider import HTTPProvider, HTTPResponse, ProviderSettings, ProviderSpec
from metallm.providers.anthropic import AnthropicProvider, create
from metallm.testing.corpus import CorpusEntry, corpus_files
from metallm.types import (
    ChatCompletionChunk,
    ChatCompletionRequest,
    ChatCompletionResponse,
    FunctionCall,
    FunctionDefinition,
    ImagePart,
    Message,
    ReasoningPart,
    ResponseFormat,
    Role,
    TextPart,
    Tool,
    ToolCall,
)

KEY = "sk-ant-test-0123456789SECRETKEY"
BASE = "https://api.anthropic.com"


def make(key: str | None = KEY, **extra: Any) -> AnthropicProvider:
    return create(ProviderSettings("anthropic", key, BASE, extra))


def user(text: str = "hi", **fields: Any) -> ChatCompletionRequest:
    return ChatCompletionRequest(
        model="claude-sonnet-4-0", messages=[Message(role=Role.USER, content=text)], **fields
    )


def _entries(kind: str) -> list[CorpusEntry | None]:
    return corpus_entries("anthropic", kind)


def _require(entry: CorpusEntry | None) -> CorpusEntry:
    return require_entry(entry, "anthropic")


_id = entry_id


def decode(provider: AnthropicProvider, *pieces: bytes) -> list[ChatCompletionChunk]:
    return decode_pieces(provider, user(), *pieces)


def accumulate(chunks: list[ChatCompletionChunk]) -> ChatCompletionResponse:
    return accumulate_chunks(chunks, "anthropic")


def raw_events(entry: CorpusEntry) -> list[dict[str, Any]]:
    out = []
    for block in entry.body_text.split("\n\n"):
        for line in block.splitlines():
            if line.startswith("data: "):
                out.append(json.loads(line[6:]))
    return out


def recorded_blocks(entry: CorpusEntry) -> tuple[list[dict[str, Any]], dict[str, Any], str]:
    """Content blocks, usage and stop reason of a recording, rebuilt from its events if streamed."""
    if not entry.is_stream:
        raw = json.loads(entry.body_text)
        return raw["content"], raw["usage"], raw["stop_reason"]
    blocks: dict[int, dict[str, Any]] = {}
    usage: dict[str, Any] = {}
    stop = ""
    for event in raw_events(entry):
        kind = event["type"]
        if kind == "message_start":
            usage = dict(event["message"]["usage"])
        elif kind == "content_block_start":
            blocks[event["index"]] = dict(event["content_block"], _json="")
        elif kind == "content_block_delta":
            block, delta = blocks[event["index"]], event["delta"]
            field = {"text_delta": "text", "thinking_delta": "thinking"}.get(delta["type"])
            if field:
                block[field] += delta[field]
            elif delta["type"] == "signature_delta":
                block["signature"] += delta["signature"]
            elif delta["type"] == "input_json_delta":
                block["_json"] += delta["partial_json"]
        elif kind == "message_delta":
            usage.update(event["usage"])
            stop = event["delta"]["stop_reason"]
    for block in blocks.values():
        if block["type"] == "tool_use" and block["_json"]:
            block["input"] = json.loads(block["_json"])
    return [blocks[i] for i in sorted(blocks)], usage, stop


# (finish, prompt, completion, tool names) written out from the recorded files.
EXPECTED: dict[str, tuple[str, int, int, list[str]]] = {
    "chat_basic": ("stop", 17, 15, []),
    "chat_max_tokens": ("length", 15, 50, []),
    "chat_thinking": ("stop", 67, 964, []),
    "chat_tool_result_followup": ("stop", 602, 39, []),
    "chat_tool_use": ("tool_calls", 416, 109, ["secret_retrieval_tool"] * 2),
    "stream_basic": ("stop", 17, 15, []),
    "stream_thinking": ("stop", 171, 107, []),
    "stream_thinking_llm_anthropic": ("stop", 46, 133, []),
    "stream_thinking_ping": ("stop", 43, 282, []),
    "stream_tool_use": ("tool_calls", 416, 109, ["secret_retrieval_tool"] * 2),
    "stream_tool_use_llm_anthropic": ("tool_calls", 543, 40, ["pelican_name_generator"]),
}
ERRORS = {
    "error_400_invalid_request": (BadRequestError, "invalid_request_error", "does not support"),
    "error_401_invalid_api_key": (AuthenticationError, "authentication_error", "invalid x-api-key"),
    "error_404_model_not_found": (NotFoundError, "not_found_error", "model: this-model-does"),
}


def test_every_corpus_file_is_checked_against_written_values() -> None:
    files = corpus_files("anthropic", operation="chat")
    if not files:
        _require(None)
    assert {p.stem for p in files} == set(EXPECTED) | set(ERRORS)


def _check_against_recording(entry: CorpusEntry, resp: ChatCompletionResponse) -> None:
    blocks, usage, stop = recorded_blocks(entry)
    (choice,) = resp.choices
    msg = choice.message
    text = "".join(b["text"] for b in blocks if b["type"] == "text")
    thinking = "".join(b["thinking"] for b in blocks if b["type"] == "thinking")
    tools = [b for b in blocks if b["type"] == "tool_use"]
    assert msg.role is Role.ASSISTANT
    assert msg.content == (text if text or not tools else None)
    assert msg.reasoning_content == (thinking or None)
    if thinking:
        assert thinking not in (msg.content or "")
    assert [
        (t.id, t.function.name, json.loads(t.function.arguments)) for t in msg.tool_calls or []
    ] == [(b["id"], b["name"], b["input"]) for b in tools]
    finish, prompt, completion, names = EXPECTED[entry.path.stem]
    assert [t.function.name for t in msg.tool_calls or []] == names
    assert choice.finish_reason == finish
    assert {"end_turn": "stop", "max_tokens": "length", "tool_use": "tool_calls"}[stop] == finish
    assert resp.usage is not None
    assert (
        resp.usage.prompt_tokens
        == prompt
        == (
            usage["input_tokens"]
            + usage["cache_creation_input_tokens"]
            + usage["cache_read_input_tokens"]
        )
    )
    assert resp.usage.completion_tokens == completion == usage["output_tokens"]
    assert resp.usage.total_tokens == prompt + completion
    assert resp.usage.cached_tokens == usage["cache_read_input_tokens"] == 0
    assert resp.usage.cache_write_tokens == usage["cache_creation_input_tokens"] == 0
    assert resp.usage.reasoning_tokens is None
    assert resp.provider == "anthropic"


@pytest.mark.parametrize("entry", _entries("chat"), ids=_id)
def test_corpus_chat(entry: CorpusEntry | None) -> None:
    entry = _require(entry)
    raw = json.loads(entry.body_text)
    resp = make().parse_response(HTTPResponse(200, entry.response_headers, entry.body_bytes))
    assert (resp.id, resp.model, resp.created) == (raw["id"], raw["model"], 0)
    _check_against_recording(entry, resp)
    assert ChatCompletionResponse.model_validate(resp.model_dump()) == resp


@pytest.mark.parametrize("entry", _entries("stream"), ids=_id)
def test_corpus_stream(entry: CorpusEntry | None) -> None:
    entry = _require(entry)
    chunks = decode(make(), entry.body_bytes)
    events = raw_events(entry)
    start = events[0]["message"]
    assert all((c.id, c.model) == (start["id"], start["model"]) for c in chunks)
    assert chunks[0].choices[0].delta.role is Role.ASSISTANT
    # one chunk per non-empty text/thinking/argument/signature delta, per tool or redacted
    # thinking head, plus start and end
    useful = [
        e
        for e in events
        if (
            e["type"] == "content_block_delta"
            and any(e["delta"].get(k) for k in ("text", "thinking", "partial_json", "signature"))
        )
        or (
            e["type"] == "content_block_start"
            and e["content_block"]["type"] in ("tool_use", "redacted_thinking")
        )
    ]
    assert len(chunks) == len(useful) + 2
    assert all(c.usage is None for c in chunks[:-1]) and chunks[-1].usage is not None
    for chunk in chunks:
        assert ChatCompletionChunk.model_validate(chunk.model_dump()) == chunk
    resp = accumulate(chunks)
    _check_against_recording(entry, resp)


@pytest.mark.parametrize("entry", _entries("stream"), ids=_id)
@settings(max_examples=40, deadline=None)
@given(points=st.lists(st.integers(min_value=0), max_size=60))
def test_corpus_stream_split_anywhere(entry: CorpusEntry | None, points: list[int]) -> None:
    entry = _require(entry)
    provider = make()
    assert decode(provider, *split_at(entry.body_bytes, points)) == decode(
        provider, entry.body_bytes
    )


@pytest.mark.parametrize("entry", _entries("stream"), ids=_id)
def test_corpus_stream_cut_before_message_stop(entry: CorpusEntry | None) -> None:
    entry = _require(entry)
    body = entry.body_bytes
    for cut in (body.index(b"event: message_stop"), body.index(b"\n\n") + 2, len(body) - 5):
        decoder = make().stream_decoder(user())
        decoder.feed(body[:cut])
        with pytest.raises(StreamError, match="before message_stop") as info:
            decoder.close()
        assert info.value.provider == "anthropic"


@pytest.mark.parametrize("entry", _entries("error"), ids=_id)
def test_corpus_errors(entry: CorpusEntry | None) -> None:
    entry = _require(entry)
    raw = json.loads(entry.body_text)
    err = make().parse_error(HTTPResponse(entry.status, entry.response_headers, entry.body_bytes))
    cls, etype, text = ERRORS[entry.path.stem]
    assert type(err) is cls
    assert (err.provider, err.status_code, err.type) == ("anthropic", entry.status, etype)
    assert err.message == raw["error"]["message"] and text in err.message
    # the header when recorded, else the body's request_id (the 400 recording has no header)
    assert err.request_id == entry.response_headers.get("request-id", raw["request_id"])
    assert err.request_id == raw["request_id"]


def test_overloaded_529_and_rate_limit() -> None:
    body = b'{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}'
    err = make().parse_error(HTTPResponse(529, {"retry-after": "2"}, body))
    assert type(err) is OverloadedError and err.retry_after == 2.0
    body = b'{"type":"error","error":{"type":"rate_limit_error","message":"slow down"}}'
    assert type(make().parse_error(HTTPResponse(429, {}, body))) is RateLimitError


# --- thinking signatures ---------------------------------------------------------------------


def _thinking_turn(
    reasoning: str, parts: list[ReasoningPart] | None = None
) -> ChatCompletionRequest:
    return ChatCompletionRequest(
        model="claude-sonnet-4-0",
        messages=[
            Message(role=Role.USER, content="q"),
            Message(role=Role.ASSISTANT, content="3", reasoning_content=reasoning, reasoning=parts),
            Message(role=Role.USER, content="which?"),
        ],
    )


@pytest.mark.parametrize(
    "entry",
    [e for e in _entries("chat") + _entries("stream") if e and "thinking" in e.features] or [None],
    ids=_id,
)
def test_thinking_is_sent_back_with_its_signature(entry: CorpusEntry | None) -> None:
    entry = _require(entry)
    provider = make()
    if entry.is_stream:
        resp = accumulate(decode(provider, entry.body_bytes))
    else:
        resp = provider.parse_response(HTTPResponse(200, {}, entry.body_bytes))
    reasoning = resp.choices[0].message.reasoning_content
    assert reasoning
    blocks = [b for b in recorded_blocks(entry)[0] if b["type"] == "thinking"]
    parts = resp.choices[0].message.reasoning
    assert parts and all(p.provider == "anthropic" for p in parts)
    # the signed blocks travel on the message: a fresh codec (another process) sends them back
    body = json.loads(
        make().build_request(_thinking_turn(reasoning, parts), stream=False).content or b""
    )
    assistant = body["messages"][1]
    assert assistant == {
        "role": "assistant",
        "content": [
            *(
                {"type": "thinking", "thinking": b["thinking"], "signature": b["signature"]}
                for b in blocks
            ),
            {"type": "text", "text": "3"},
        ],
    }
    assert all(b["signature"] for b in blocks)
    # Reasoning text without its signed parts is not sent (the API would reject it).
    other = json.loads(make().build_request(_thinking_turn(reasoning), stream=False).content or b"")
    assert other["messages"][1] == {"role": "assistant", "content": "3"}
    # nor are parts another provider signed
    foreign = [p.model_copy(update={"provider": "bedrock"}) for p in parts]
    turn = _thinking_turn(reasoning, foreign)
    assert json.loads(make().build_request(turn, stream=False).content or b"")["messages"][1] == {
        "role": "assistant",
        "content": "3",
    }


# --- requests --------------------------------------------------------------------------------

WEATHER = Tool(
    function=FunctionDefinition(
        name="weather",
        description="Current weather",
        parameters={"type": "object", "properties": {"city": {"type": "string"}}},
    )
)


def test_request_with_every_supported_field() -> None:
    """Hand-written from the Messages API reference (docs.anthropic.com/en/api/messages)."""
    request = ChatCompletionRequest(
        model="claude-sonnet-4-0",
        messages=[
            Message(role=Role.SYSTEM, content="Be brief."),
            Message(
                role=Role.USER,
                content=[
                    TextPart(text="What is here?"),
                    ImagePart.from_base64("aGVsbG8=", "image/jpeg"),
                    ImagePart.from_url("https://example.com/cat.png"),
                ],
            ),
            Message(
                role=Role.ASSISTANT,
                content="Checking.",
                tool_calls=[
                    ToolCall(
                        id="toolu_1",
                        function=FunctionCall(name="weather", arguments='{"city": "Oslo"}'),
                    ),
                    ToolCall(id="toolu_2", function=FunctionCall(name="weather", arguments="")),
                ],
            ),
            Message(role=Role.TOOL, tool_call_id="toolu_1", content="-3C"),
            Message(role=Role.TOOL, tool_call_id="toolu_2", content=[TextPart(text="n/a")]),
            Message(role=Role.USER, content="Thanks"),
        ],
        max_tokens=20000,
        temperature=1.0,
        top_p=0.9,
        top_k=40,
        stop=["END"],
        n=1,
        tools=[WEATHER],
        tool_choice={"type": "function", "function": {"name": "weather"}},
        response_format=ResponseFormat(type="text"),
        reasoning_effort="medium",
        user="user-42",
        metadata={"user_id": "ignored-for-user"},
        extra={"service_tier": "auto"},
    )
    http = make().build_request(request, stream=True)
    assert (http.method, http.url) == ("POST", f"{BASE}/v1/messages")
    assert dict(http.headers) == {
        "x-api-key": KEY,
        "anthropic-version": "2023-06-01",
        "content-type": "application/json",
        "accept": "text/event-stream",
        "user-agent": "metallm/0.1.0",
    }
    assert json.loads(http.content or b"") == {
        "model": "claude-sonnet-4-0",
        "system": "Be brief.",
        "messages": [
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "What is here?"},
                    {
                        "type": "image",
                        "source": {
                            "type": "base64",
                            "media_type": "image/jpeg",
                            "data": "aGVsbG8=",
                        },
                    },
                    {
                        "type": "image",
                        "source": {"type": "url", "url": "https://example.com/cat.png"},
                    },
                ],
            },
            {
                "role": "assistant",
                "content": [
                    {"type": "text", "text": "Checking."},
                    {
                        "type": "tool_use",
                        "id": "toolu_1",
                        "name": "weather",
                        "input": {"city": "Oslo"},
                    },
                    {"type": "tool_use", "id": "toolu_2", "name": "weather", "input": {}},
                ],
            },
            {
                "role": "user",
                "content": [
                    {"type": "tool_result", "tool_use_id": "toolu_1", "content": "-3C"},
                    {
                        "type": "tool_result",
                        "tool_use_id": "toolu_2",
                        "content": [{"type": "text", "text": "n/a"}],
                    },
                ],
            },
            {"role": "user", "content": "Thanks"},
        ],
        "max_tokens": 20000,
        "temperature": 1.0,
        "top_p": 0.9,
        "top_k": 40,
        "stop_sequences": ["END"],
        "metadata": {"user_id": "user-42"},
        "tools": [
            {
                "name": "weather",
                "description": "Current weather",
                "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}},
            }
        ],
        "tool_choice": {"type": "tool", "name": "weather"},
        "thinking": {"type": "enabled", "budget_tokens": 4096},
        "stream": True,
        "service_tier": "auto",
    }


@pytest.mark.parametrize(
    "entry",
    [e for e in _entries("chat") if e and e.path.stem == "chat_tool_result_followup"] or [None],
    ids=_id,
)
def test_tool_result_followup_matches_the_recorded_request(entry: CorpusEntry | None) -> None:
    """The unified form of the recorded conversation builds the recorded messages (cache
    markers and null citations aside, which metallm does not model)."""
    entry = _require(entry)
    recorded = entry.request_body
    calls = [
        ToolCall(
            id="toolu_01BUvqBj8Yb34pNAbCJJY1oc",
            function=FunctionCall(name="secret_retrieval_tool", arguments='{"password": "mellon"}'),
        ),
        ToolCall(
            id="toolu_01VPuQJ1LonDBYXrr8pqPkqQ",
            function=FunctionCall(
                name="secret_retrieval_tool", arguments='{"password": "radiance"}'
            ),
        ),
    ]
    request = ChatCompletionRequest(
        model="claude-sonnet-4-0",
        max_tokens=16000,
        messages=[
            Message(role=Role.SYSTEM, content="Use parallel tool calling."),
            Message(role=Role.USER, content=recorded["messages"][0]["content"]),
            Message(
                role=Role.ASSISTANT,
                content="I'll retrieve the secrets for both passwords you provided.",
                tool_calls=calls,
            ),
            Message(role=Role.TOOL, tool_call_id=calls[0].id, content="Welcome to Moria!"),
            Message(role=Role.TOOL, tool_call_id=calls[1].id, content="Life before Death"),
        ],
        tools=[
            Tool(
                function=FunctionDefinition(
                    name=t["name"], description=t["description"], parameters=t["input_schema"]
                )
            )
            for t in recorded["tools"]
        ],
    )
    body = json.loads(make().build_request(request, stream=False).content or b"")

    def strip(value: Any) -> Any:
        if isinstance(value, dict):
            return {
                k: strip(v) for k, v in value.items() if k not in ("cache_control", "citations")
            }
        if isinstance(value, list):
            return [strip(v) for v in value]
        return value

    assert body["messages"] == strip(recorded["messages"])
    assert body["tools"] == strip(recorded["tools"])
    assert body["system"] == recorded["system"][0]["text"]
    assert body["max_tokens"] == recorded["max_tokens"]


@pytest.mark.parametrize(
    ("choice", "wire"),
    [
        ("auto", {"type": "auto"}),
        ("required", {"type": "any"}),
        ("any", {"type": "any"}),
        ("none", {"type": "none"}),
        ({"type": "tool", "name": "weather"}, {"type": "tool", "name": "weather"}),
    ],
)
def test_tool_choice_mapping(choice: Any, wire: dict[str, Any]) -> None:
    body = json.loads(
        make().build_request(user(tools=[WEATHER], tool_choice=choice), stream=False).content or b""
    )
    assert body["tool_choice"] == wire


def test_max_tokens_defaults_and_thinking_budget() -> None:
    def body_of(**fields: Any) -> dict[str, Any]:
        request = user(**fields)
        body: dict[str, Any] = json.loads(
            make().build_request(request, stream=False).content or b""
        )
        return body

    assert body_of()["max_tokens"] == 8192  # catalog limit (64000) capped
    unknown = ChatCompletionRequest(
        model="claude-future-9", messages=[Message(role=Role.USER, content="x")]
    )
    assert (
        json.loads(make().build_request(unknown, stream=False).content or b"")["max_tokens"] == 4096
    )
    high = body_of(reasoning_effort="high")
    assert high["thinking"] == {"type": "enabled", "budget_tokens": 16384}
    assert high["max_tokens"] == 16384 + 8192  # raised above the budget
    low = body_of(reasoning_effort="low", max_tokens=500)
    assert (low["thinking"]["budget_tokens"], low["max_tokens"]) == (1024, 1524)
    assert body_of(reasoning_effort="low", max_tokens=3000)["max_tokens"] == 3000
    extra = body_of(extra={"thinking": {"type": "enabled", "budget_tokens": 10000}})
    assert extra["max_tokens"] == 18192
    assert (
        body_of(extra={"thinking": {"type": "enabled", "budget_tokens": 10000}, "max_tokens": 2})[
            "max_tokens"
        ]
        == 2
    )
    assert "thinking" not in body_of(reasoning_effort="none")
    assert "stream" not in body_of()


@pytest.mark.parametrize(
    ("fields", "name"),
    [
        ({"n": 2}, "n"),
        ({"seed": 1}, "seed"),
        ({"frequency_penalty": 0.5}, "frequency_penalty"),
        ({"presence_penalty": 0.5}, "presence_penalty"),
        ({"response_format": ResponseFormat(type="json_object")}, "response_format"),
        ({"response_format": {"type": "json_schema", "json_schema": {}}}, "response_format"),
        ({"reasoning_effort": "extreme"}, "reasoning_effort"),
        ({"metadata": {"team": "a"}}, "metadata"),
    ],
)
def test_unsupported_fields_raise_before_io(fields: dict[str, Any], name: str) -> None:
    with pytest.raises(UnsupportedFeatureError, match=f"anthropic does not support {name}"):
        make().build_request(user(**fields), stream=False)


def test_invalid_requests() -> None:
    bad_args = ChatCompletionRequest(
        model="m",
        messages=[
            Message(
                role=Role.ASSISTANT,
                tool_calls=[ToolCall(id="t", function=FunctionCall(name="f", arguments="{oops"))],
            )
        ],
    )
    with pytest.raises(InvalidRequestError, match="not JSON"):
        make().build_request(bad_args, stream=False)
    with pytest.raises(InvalidRequestError, match="tool_call_id"):
        make().build_request(
            ChatCompletionRequest(model="m", messages=[Message(role=Role.TOOL, content="x")]),
            stream=False,
        )
    with pytest.raises(InvalidRequestError, match="tool_choice"):
        make().build_request(user(tool_choice="sometimes"), stream=False)


# --- malformed input, stream events, secrets --------------------------------------------------


@pytest.mark.parametrize(
    ("body", "why"),
    [
        (b"<html>oops</html>", "not JSON"),
        (b'{"type":"message","id":"msg_1"}', "no 'content' list"),
        (
            b'{"content":[{"type":"text","text":"x"}],"usage":{"input_tokens":"many"}}',
            "malformed message",
        ),
    ],
)
def test_malformed_bodies(body: bytes, why: str) -> None:
    with pytest.raises(ResponseValidationError, match=why) as info:
        make().parse_response(HTTPResponse(200, {"request-id": "req_1"}, body))
    assert info.value.status_code == 200 and info.value.request_id == "req_1"


def _sse(*events: dict[str, Any]) -> bytes:
    return b"".join(f"event: {e['type']}\ndata: {json.dumps(e)}\n\n".encode() for e in events)


START = {
    "type": "message_start",
    "message": {
        "id": "msg_1",
        "model": "claude-x",
        "usage": {
            "input_tokens": 10,
            "cache_creation_input_tokens": 5,
            "cache_read_input_tokens": 100,
            "output_tokens": 1,
        },
    },
}


def test_stream_usage_with_cache_and_tool_input_in_head() -> None:
    body = _sse(
        START,
        {
            "type": "content_block_start",
            "index": 0,
            "content_block": {"type": "tool_use", "id": "toolu_9", "name": "f", "input": {"a": 1}},
        },
        {"type": "content_block_stop", "index": 0},
        {"type": "some_future_event", "x": 1},
        {
            "type": "message_delta",
            "delta": {"stop_reason": "tool_use"},
            "usage": {"output_tokens": 7},
        },
        {"type": "message_stop"},
    )
    resp = accumulate(decode(make(), body))
    usage = resp.usage
    assert usage is not None
    assert (usage.prompt_tokens, usage.completion_tokens, usage.total_tokens) == (115, 7, 122)
    assert (usage.cached_tokens, usage.cache_write_tokens) == (100, 5)
    (call,) = resp.choices[0].message.tool_calls or []
    assert (call.id, call.function.name, call.function.arguments) == ("toolu_9", "f", '{"a": 1}')


@pytest.mark.parametrize(
    ("stop", "finish"),
    [
        ("refusal", "content_filter"),
        ("pause_turn", "stop"),
        ("stop_sequence", "stop"),
        ("max_tokens", "length"),
    ],
)
def test_stop_reasons(stop: str, finish: str) -> None:
    body = {
        "id": "m",
        "model": "c",
        "content": [{"type": "text", "text": "x"}],
        "stop_reason": stop,
        "usage": {"input_tokens": 1, "output_tokens": 1},
    }
    resp = make().parse_response(HTTPResponse(200, {}, json.dumps(body).encode()))
    assert resp.choices[0].finish_reason == finish
    chunks = decode(
        make(),
        _sse(
            START,
            {
                "type": "message_delta",
                "delta": {"stop_reason": stop},
                "usage": {"output_tokens": 1},
            },
            {"type": "message_stop"},
        ),
    )
    assert chunks[-1].choices[0].finish_reason == finish


def test_unknown_events_are_skipped_and_logged(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG, logger="metallm"):
        chunks = decode(make(), _sse(START, {"type": "mystery"}, {"type": "message_stop"}))
    assert len(chunks) == 1 and "mystery" in caplog.text


def test_error_event_mid_stream_raises_api_error_without_the_key() -> None:
    decoder = make().stream_decoder(user())
    decoder.feed(_sse(START))
    err: dict[str, Any] = {
        "type": "error",
        "error": {"type": "overloaded_error", "message": f"Overloaded for {KEY}"},
        "request_id": "req_stream_1",
    }
    with pytest.raises(OverloadedError) as info:
        decoder.feed(_sse(err))
    assert info.value.provider == "anthropic" and KEY not in str(info.value)
    assert (info.value.request_id, info.value.status_code) == ("req_stream_1", None)
    assert KEY not in json.dumps(info.value.body)
    err["error"]["type"] = "api_error"
    with pytest.raises(APIError) as generic:
        make().stream_decoder(user()).feed(_sse(err))
    assert type(generic.value) is InternalServerError and generic.value.type == "api_error"


@pytest.mark.parametrize(
    "body",
    [
        b"event: message_start\ndata: {not json\n\n",
        b"data: [1, 2]\n\n",
        b'data: {"type":"content_block_delta","index":0}\n\n',
    ],
)
def test_malformed_stream_events(body: bytes) -> None:
    with pytest.raises(StreamError) as info:
        make().stream_decoder(user()).feed(body)
    assert info.value.provider == "anthropic"


def test_key_never_in_errors_or_repr() -> None:
    body = json.dumps(
        {"type": "error", "error": {"type": "authentication_error", "message": f"bad key {KEY}"}}
    ).encode()
    err = make().parse_error(HTTPResponse(401, {}, body))
    assert type(err) is AuthenticationError
    assert KEY not in str(err) and KEY not in repr(err) and KEY not in json.dumps(err.body)
    with pytest.raises(ResponseValidationError) as info:
        make().parse_response(HTTPResponse(200, {}, f"garbage {KEY}".encode()))
    assert KEY not in str(info.value)
    provider = make()
    assert KEY not in repr(provider) and KEY not in repr(
        provider.build_request(user(), stream=False)
    )


def test_provider_identity_and_settings() -> None:
    provider = make(headers={"anthropic-beta": "x"}, anthropic_version="2024-01-01")
    assert isinstance(provider, HTTPProvider)
    assert (provider.name, provider.base_url, provider.secrets()) == ("anthropic", BASE, (KEY,))
    assert repr(provider) == f"AnthropicProvider(name='anthropic', base_url='{BASE}')"
    headers = provider.build_request(user(), stream=False).headers
    assert (headers["anthropic-beta"], headers["anthropic-version"]) == ("x", "2024-01-01")
    assert "x-api-key" not in make(key=None).build_request(user(), stream=False).headers
    built = ProviderSpec(
        "anthropic", "metallm.providers.anthropic:create", default_base_url=BASE
    ).create(api_key=KEY)
    assert isinstance(built, AnthropicProvider) and built.base_url == BASE

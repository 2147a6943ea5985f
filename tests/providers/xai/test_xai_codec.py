"""The xAI codec (metallm.providers.xai) against the recorded corpus and by hand.

xAI speaks the OpenAI Chat Completions dialect with two twists the corpus shows: reasoning
text arrives as ``reasoning_content`` (message and deltas), and ``completion_tokens`` leaves
the reasoning tokens out (``total_tokens == prompt + completion + reasoning``).
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from _codec_helpers import corpus_entries, decode_pieces, entry_id, require_entry, split_at
from metallm.errors import (
    AuthenticationError,
    BadRequestError,
    OverloadedError,
    StreamError,
    UnsupportedFeatureError,
)
from metallm.provider import HTTPProvider, HTTPResponse, ProviderSettings, ProviderSpec
from metallm.providers.openai import OpenAIProvider
from metallm.providers.xai import XAIProvider, create
from metallm.testing.corpus import CorpusEntry, corpus_files
from metallm.types import (
    ChatCompletionChunk,
    ChatCompletionRequest,
    ChatCompletionResponse,
    FunctionCall,
    Message,
    Role,
    ToolCall,
    Usage,
)

KEY = "xai-test-0123456789SECRETKEY"
BASE = "https://api.x.ai/v1"


def make(key: str | None = KEY, **extra: Any) -> XAIProvider:
    return create(ProviderSettings("xai", key, BASE, extra))


def user(text: str = "hi", **fields: Any) -> ChatCompletionRequest:
    return ChatCompletionRequest(
        model="grok-3-mini", messages=[Message(role=Role.USER, content=text)], **fields
    )


def _entries(kind: str) -> list[CorpusEntry | None]:
    return corpus_entries("xai", kind)


def _require(entry: CorpusEntry | None) -> CorpusEntry:
    return require_entry(entry, "xai")


_id = entry_id


def decode(provider: XAIProvider, *pieces: bytes) -> list[ChatCompletionChunk]:
    return decode_pieces(provider, user(), *pieces)


def raw_events(entry: CorpusEntry) -> list[dict[str, Any]]:
    out = []
    for block in entry.body_text.split("\n\n"):
        if block.startswith("data: ") and block != "data: [DONE]":
            out.append(json.loads(block[6:]))
    return out


def usage_tuple(usage: Usage | None) -> tuple[int, int, int, int | None, int | None] | None:
    if usage is None:
        return None
    return (
        usage.prompt_tokens,
        usage.completion_tokens,
        usage.total_tokens,
        usage.cached_tokens,
        usage.reasoning_tokens,
    )


# Written out from the recorded files. Usage is (prompt, completion, total, cached,
# reasoning) AFTER normalisation: completion = recorded completion + reasoning.
REASONING = (
    "First, the user is asking about the weather in San Francisco. I have a function "
    'available called "weather" that gets the weather for a location.\n\n'
)
EXPECTED: dict[str, dict[str, Any]] = {
    "chat_tool_call_reasoning": {
        "content": "",
        "finish": "tool_calls",
        "usage": (291, 26 + 189, 506, 244, 189),
        "tool_calls": [("call_93562515", "weather", '{"location":"San Francisco"}')],
        "raw_usage": (291, 26, 506, 189),
    },
    "stream_reasoning_content": {
        "content": "Hello",
        "reasoning": "First, the user said",
        "finish": "stop",
        "tool_calls": [],
        "usage": (12, 1 + 290, 303, 11, 290),
        "raw_usage": (12, 1, 303, 290),
    },
    "stream_tool_call_reasoning": {
        "content": "",
        "reasoning": "First, the user is",
        "finish": "tool_calls",
        "tool_calls": [("call_55117580", "weather", '{"location":"San Francisco"}')],
        "usage": (291, 26 + 196, 513, 290, 196),
        "raw_usage": (291, 26, 513, 196),
    },
}


def test_every_corpus_file_is_checked_against_written_values() -> None:
    files = corpus_files("xai", operation="chat")
    if not files:
        _require(None)
    assert {p.stem for p in files} == set(EXPECTED)


@pytest.mark.parametrize(
    "entry", [e for e in _entries("chat") + _entries("stream") if e] or [None], ids=_id
)
def test_corpus_usage_semantics(entry: CorpusEntry | None) -> None:
    """The recorded xAI usage: completion excludes reasoning, prompt includes cached."""
    entry = _require(entry)
    raw_usage = (json.loads(entry.body_text) if not entry.is_stream else raw_events(entry)[-1])[
        "usage"
    ]
    prompt, completion, total = (
        raw_usage[k] for k in ("prompt_tokens", "completion_tokens", "total_tokens")
    )
    reasoning = raw_usage["completion_tokens_details"]["reasoning_tokens"]
    assert (prompt, completion, total, reasoning) == EXPECTED[entry.path.stem]["raw_usage"]
    assert total == prompt + completion + reasoning
    details = raw_usage["prompt_tokens_details"]
    assert details["text_tokens"] == prompt >= details["cached_tokens"]


@pytest.mark.parametrize("entry", _entries("chat"), ids=_id)
def test_corpus_chat(entry: CorpusEntry | None) -> None:
    entry = _require(entry)
    raw = json.loads(entry.body_text)
    resp = make().parse_response(HTTPResponse(200, entry.response_headers, entry.body_bytes))
    assert (resp.id, resp.created, resp.model, resp.provider, resp.system_fingerprint) == (
        raw["id"],
        raw["created"],
        raw["model"],
        "xai",
        raw["system_fingerprint"],
    )
    (choice,), (want,) = resp.choices, raw["choices"]
    msg = want["message"]
    assert choice.message.role is Role.ASSISTANT
    assert choice.message.content == msg["content"]
    assert choice.message.reasoning_content == msg["reasoning_content"]
    reasoning = choice.message.reasoning_content or ""
    assert reasoning.startswith(REASONING)
    assert reasoning.endswith("advance the user's request.")
    assert REASONING not in (choice.message.content or "")
    table = EXPECTED[entry.path.stem]
    assert choice.message.content == table["content"]
    assert (
        [(c.id, c.function.name, c.function.arguments) for c in choice.message.tool_calls or []]
        == table["tool_calls"]
        == [(c["id"], c["function"]["name"], c["function"]["arguments"]) for c in msg["tool_calls"]]
    )
    assert choice.finish_reason == table["finish"] == want["finish_reason"]
    assert usage_tuple(resp.usage) == table["usage"]
    assert resp.usage is not None and resp.usage.total_tokens == raw["usage"]["total_tokens"]
    assert ChatCompletionResponse.model_validate(resp.model_dump()) == resp


@pytest.mark.parametrize("entry", _entries("stream"), ids=_id)
def test_corpus_stream(entry: CorpusEntry | None) -> None:
    entry = _require(entry)
    chunks = decode(make(), entry.body_bytes)
    events = raw_events(entry)
    assert len(chunks) == len(events)
    text, reasoning, finish, calls = "", "", None, []
    for chunk, raw in zip(chunks, events, strict=True):
        assert (chunk.id, chunk.model, chunk.created, chunk.system_fingerprint) == (
            raw["id"],
            raw["model"],
            raw["created"],
            raw["system_fingerprint"],
        )
        for got, want in zip(chunk.choices, raw["choices"], strict=True):
            delta = want["delta"]
            # reasoning deltas land in reasoning_content, never in content
            assert got.delta.reasoning_content == delta.get("reasoning_content")
            assert got.delta.content == delta.get("content")
            assert got.delta.role == (Role.ASSISTANT if "role" in delta else None)
            text += got.delta.content or ""
            reasoning += got.delta.reasoning_content or ""
            calls += [
                (t.index, t.id, t.type, t.function.name, t.function.arguments)
                for t in got.delta.tool_calls or []
                if t.function
            ]
            finish = got.finish_reason or finish
        assert ChatCompletionChunk.model_validate(chunk.model_dump()) == chunk
    table = EXPECTED[entry.path.stem]
    assert (text, reasoning, finish) == (table["content"], table["reasoning"], table["finish"])
    assert [(c[1], c[3], c[4]) for c in calls] == table["tool_calls"]
    assert all(c[0] == 0 and c[2] == "function" for c in calls)
    assert chunks[-1].choices == []
    assert usage_tuple(chunks[-1].usage) == table["usage"]
    assert all(c.usage is None for c in chunks[:-1])


@pytest.mark.parametrize("entry", _entries("stream"), ids=_id)
@settings(max_examples=50, deadline=None)
@given(points=st.lists(st.integers(min_value=0), max_size=50))
def test_corpus_stream_split_anywhere(entry: CorpusEntry | None, points: list[int]) -> None:
    entry = _require(entry)
    provider = make()
    assert decode(provider, *split_at(entry.body_bytes, points)) == decode(
        provider, entry.body_bytes
    )


@pytest.mark.parametrize("entry", _entries("stream"), ids=_id)
def test_corpus_stream_cut_before_done(entry: CorpusEntry | None) -> None:
    entry = _require(entry)
    body = entry.body_bytes
    for cut in (body.index(b"data: [DONE]"), body.index(b"\n\n") + 2, len(body) - 5):
        decoder = make().stream_decoder(user())
        decoder.feed(body[:cut])
        with pytest.raises(StreamError, match=r"before \[DONE\]") as info:
            decoder.close()
        assert info.value.provider == "xai"


# --- requests --------------------------------------------------------------------------------


def history_request(**fields: Any) -> ChatCompletionRequest:
    return ChatCompletionRequest(
        model="grok-3-mini",
        messages=[
            Message(role=Role.USER, content="Weather in SF?"),
            Message(
                role=Role.ASSISTANT,
                content=None,
                reasoning_content="The user wants weather.",
                tool_calls=[
                    ToolCall(
                        id="call_93562515",
                        function=FunctionCall(
                            name="weather", arguments='{"location":"San Francisco"}'
                        ),
                    )
                ],
            ),
            Message(role=Role.TOOL, tool_call_id="call_93562515", content="18C, fog"),
        ],
        **fields,
    )


def test_request_body_uses_max_tokens_and_drops_reasoning_content() -> None:
    req = make().build_request(
        history_request(max_tokens=300, reasoning_effort="high", stop=["\n\n"]), stream=True
    )
    assert (req.method, req.url) == ("POST", f"{BASE}/chat/completions")
    assert req.content is not None
    assert json.loads(req.content) == {
        "model": "grok-3-mini",
        "messages": [
            {"role": "user", "content": "Weather in SF?"},
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": "call_93562515",
                        "type": "function",
                        "function": {
                            "name": "weather",
                            "arguments": '{"location":"San Francisco"}',
                        },
                    }
                ],
            },
            {"role": "tool", "content": "18C, fog", "tool_call_id": "call_93562515"},
        ],
        "max_tokens": 300,
        "reasoning_effort": "high",
        "stop": ["\n\n"],
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    assert b"The user wants weather." not in req.content


def test_headers_have_no_openai_organization() -> None:
    headers = dict(
        make(organization="org-1", project="p", headers={"x-grok": "1"})
        .build_request(user(), stream=False)
        .headers
    )
    assert headers == {
        "authorization": f"Bearer {KEY}",
        "content-type": "application/json",
        "accept": "application/json",
        "user-agent": "metallm/0.1.0",
        "x-grok": "1",
    }


def test_top_k_is_unsupported() -> None:
    with pytest.raises(UnsupportedFeatureError, match="xai does not support top_k"):
        make().build_request(user(top_k=5), stream=False)


def test_errors_in_xai_shape_and_key_redaction() -> None:
    # xAI error bodies carry the message as a plain string under "error".
    body = {
        "code": "Client specified an invalid argument",
        "error": f"Incorrect API key provided: {KEY}. Obtain one at https://console.x.ai.",
    }
    err = make().parse_error(HTTPResponse(400, {}, json.dumps(body).encode()))
    assert type(err) is BadRequestError
    assert (err.provider, err.status_code, err.code) == (
        "xai",
        400,
        "Client specified an invalid argument",
    )
    assert err.message.startswith("Incorrect API key provided: [REDACTED].")
    assert KEY not in str(err) and KEY not in repr(err) and KEY not in json.dumps(err.body)
    assert type(make().parse_error(HTTPResponse(401, {}, b'{"error":"no"}'))) is (
        AuthenticationError
    )


def test_provider_identity() -> None:
    provider = make()
    assert isinstance(provider, OpenAIProvider) and isinstance(provider, HTTPProvider)
    assert (provider.name, provider.base_url, provider.secrets()) == ("xai", BASE, (KEY,))
    assert repr(provider) == f"XAIProvider(name='xai', base_url='{BASE}')"
    assert KEY not in repr(provider)
    built = ProviderSpec(
        "xai", "metallm.providers.xai:create", default_base_url="https://api.x.ai/v1"
    ).create(api_key=KEY)
    assert isinstance(built, XAIProvider) and built.base_url == BASE
    assert XAIProvider(ProviderSettings("xai", KEY)).base_url == BASE


def test_stream_error_event_is_attributed_to_xai() -> None:
    body = b'data: {"error": {"message": "overloaded", "type": "overloaded_error"}}\n\n'
    with pytest.raises(OverloadedError) as info:
        make().stream_decoder(user()).feed(body)
    assert (info.value.provider, info.value.message) == ("xai", "overloaded")

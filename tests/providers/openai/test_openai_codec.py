"""The OpenAI codec (metallm.providers.openai) against the recorded corpus and by hand.

Every file of ``corpus/openai`` goes through the codec (``parse_response`` for chats,
``stream_decoder`` for streams, ``parse_error`` for error statuses) and the result is checked
field by field, both against the file's own JSON and against values written out below.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

import metallm.providers
from _codec_helpers import corpus_entries, decode_pieces, entry_id, require_entry, split_at
from metallm.errors import (
    APIError,
    AuthenticationError,
    BadRequestError,
    InternalServerError,
    InvalidRequestError,
    NotFoundError,
    RateLimitError,
    ResponseValidationError,
    StreamError,
    UnsupportedFeatureError,
)
from metallm.provider import (
    HTTPProvider,
    HTTPResponse,
    ProviderSettings,
    ProviderSpec,
    StreamDecoder,
    construct,
)
from metallm.providers.openai import OpenAIProvider, create
from metallm.providers.openai._request import USER_AGENT
from metallm.testing.corpus import CorpusEntry, corpus_dir, corpus_files, load_corpus_entry
from metallm.types import (
    ChatCompletionChunk,
    ChatCompletionRequest,
    ChatCompletionResponse,
    FunctionCall,
    FunctionDefinition,
    ImagePart,
    Message,
    ResponseFormat,
    Role,
    TextPart,
    Tool,
    ToolCall,
    Usage,
)

KEY = "sk-test-0123456789abcdefSECRET"
BASE = "https://api.openai.com/v1"
FINISH = {
    "stop": "stop",
    "length": "length",
    "tool_calls": "tool_calls",
    "function_call": "tool_calls",
    "content_filter": "content_filter",
}


def make(key: str | None = KEY, **extra: Any) -> OpenAIProvider:
    return create(ProviderSettings("openai", key, BASE, extra))


def user(text: str = "hi") -> ChatCompletionRequest:
    return ChatCompletionRequest(model="gpt-4o", messages=[Message(role=Role.USER, content=text)])


# --- corpus plumbing -----------------------------------------------------------------------


def _entries(kind: str) -> list[CorpusEntry | None]:
    return corpus_entries("openai", kind)


def _require(entry: CorpusEntry | None) -> CorpusEntry:
    return require_entry(entry, "openai")


_id = entry_id


def http(entry: CorpusEntry) -> HTTPResponse:
    return HTTPResponse(entry.status, entry.response_headers, entry.body_bytes)


def decode(provider: OpenAIProvider, *pieces: bytes) -> list[ChatCompletionChunk]:
    return decode_pieces(provider, user(), *pieces)


def raw_events(entry: CorpusEntry) -> list[dict[str, Any]]:
    """The JSON payloads of a recorded SSE body, read without the codec (LF framing)."""
    out = []
    for block in entry.body_text.split("\n\n"):
        data = "\n".join(
            line[5:].lstrip(" ") for line in block.split("\n") if line.startswith("data:")
        )
        if data and data != "[DONE]":
            out.append(json.loads(data))
    return out


def expected_usage(raw: dict[str, Any]) -> tuple[int, int, int, int | None, int | None]:
    """(prompt, completion, total, cached, reasoning) the unified Usage must hold."""
    prompt, completion = raw["prompt_tokens"], raw["completion_tokens"]
    cached = (raw.get("prompt_tokens_details") or {}).get("cached_tokens")
    reasoning = (raw.get("completion_tokens_details") or {}).get("reasoning_tokens")
    if reasoning and raw["total_tokens"] == prompt + completion + reasoning:
        completion += reasoning
    assert raw["total_tokens"] == prompt + completion, "recorded total is explained"
    return prompt, completion, prompt + completion, cached, reasoning


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


def fold(chunks: list[ChatCompletionChunk]) -> dict[str, Any]:
    """A test-local summary of a stream (choice 0): text, tool calls, finish, usage."""
    text, reasoning, finish, usage, roles = "", "", None, None, []
    calls: dict[int, list[str]] = {}
    for chunk in chunks:
        if chunk.usage is not None:
            usage = usage_tuple(chunk.usage)
        for choice in chunk.choices:
            delta = choice.delta
            roles += [delta.role] if delta.role else []
            text += delta.content or ""
            reasoning += delta.reasoning_content or ""
            for tc in delta.tool_calls or []:
                call = calls.setdefault(tc.index, ["", "", ""])
                call[0] = tc.id or call[0]
                if tc.function is not None:
                    call[1] = tc.function.name or call[1]
                    call[2] += tc.function.arguments or ""
            finish = choice.finish_reason or finish
    return {
        "text": text,
        "reasoning": reasoning,
        "finish": finish,
        "usage": usage,
        "tool_calls": [tuple(calls[i]) for i in sorted(calls)],
        "roles": roles,
    }


# --- values written out from the recorded files ----------------------------------------------

MELLON = '{"password": "mellon"}'
RADIANCE = '{"password": "radiance"}'
CHAT_EXPECTED: dict[str, dict[str, Any]] = {
    "chat_basic": {
        "content": r"\(4200 + 42 = 4242\).",
        "finish": "stop",
        "tool_calls": [],
        "usage": (16, 12, 28, 0, 0),
        "model": "gpt-4o-2024-08-06",
        "fingerprint": "fp_f64f290af2",
    },
    "chat_max_tokens_length": {
        "finish": "length",
        "tool_calls": [],
        "usage": (14, 50, 64, 0, 0),
        "fingerprint": "fp_eb3c3cb84d",
    },
    "chat_tool_call": {
        "content": None,
        "finish": "tool_calls",
        "usage": (75, 53, 128, 0, 0),
        "tool_calls": [
            ("call_v6LacIrChvs6ITVpIZqy5tFc", "secret_retrieval_tool", MELLON),
            ("call_onyWzk4mLTGKzW9cthmf4Llq", "secret_retrieval_tool", RADIANCE),
        ],
    },
    "chat_tool_result_followup": {
        "content": "The secrets associated with the passwords are as follows:\n"
        '- For "mellon": Welcome to Moria!\n- For "radiance": Life before Death',
        "finish": "stop",
        "tool_calls": [],
        "usage": (149, 32, 181, 0, 0),
    },
}
STREAM_EXPECTED: dict[str, dict[str, Any]] = {
    "stream_basic_include_usage": {
        "text": "4200 + 42 equals 4242.",
        "finish": "stop",
        "tool_calls": [],
        "usage": (16, 10, 26, 0, 0),
    },
    "stream_tool_call": {
        "text": "",
        "finish": "tool_calls",
        "usage": (75, 53, 128, 0, 0),
        "tool_calls": [
            ("call_M26z19sncd7b4LBgzKRRbaUE", "secret_retrieval_tool", MELLON),
            ("call_KPXe5NX7IcKkaBUhc6dto2QV", "secret_retrieval_tool", RADIANCE),
        ],
    },
    # An OpenAI-compatible router (Novita/kimi-k2): no finish reason at all, usage on a
    # chunk that still has a choice, the tool call's id and name repeated in two deltas.
    "stream_tool_call_llm": {
        "text": "",
        "finish": None,
        "usage": (57, 17, 74, 0, 0),
        "tool_calls": [("0", "llm_version", "{}")],
    },
    "stream_tool_result_followup": {
        "text": 'The secrets associated with the passwords are:\n\n- "mellon": Welcome to '
        'Moria!\n- "radiance": Life before Death',
        "finish": "stop",
        "tool_calls": [],
        "usage": (149, 28, 177, 0, 0),
    },
}
ERROR_EXPECTED: dict[str, tuple[type[APIError], str, str, str]] = {
    "error_400_unsupported_param": (
        BadRequestError,
        "unsupported_parameter",
        "req_3855783c722245b6ab7e4e7f7b2d85ce",
        "Unsupported parameter: 'stop' is not supported with this model.",
    ),
    "error_401_invalid_api_key": (
        AuthenticationError,
        "invalid_api_key",
        "req_1963efc19b3b4865af98403581d580af",
        "Incorrect API key provided: invalid-*****2345. You can find your API key at "
        "https://platform.openai.com/account/api-keys.",
    ),
    "error_404_model_not_found": (
        NotFoundError,
        "model_not_found",
        "req_aebf95a914bb46ae9d75a732aa1738f3",
        "The model `this-model-does-not-exist-12345` does not exist or you do not have "
        "access to it.",
    ),
}


def test_every_corpus_file_is_checked_against_written_values() -> None:
    files = corpus_files("openai", operation="chat")
    if not files:
        _require(None)
    stems = {p.stem for p in files}
    assert stems == set(CHAT_EXPECTED) | set(STREAM_EXPECTED) | set(ERROR_EXPECTED)


# --- chats ---------------------------------------------------------------------------------


@pytest.mark.parametrize("entry", _entries("chat"), ids=_id)
def test_corpus_chat(entry: CorpusEntry | None) -> None:
    entry = _require(entry)
    raw = json.loads(entry.body_text)
    resp = make().parse_response(http(entry))
    assert isinstance(resp, ChatCompletionResponse)
    assert (resp.id, resp.object, resp.created, resp.model, resp.provider) == (
        raw["id"],
        raw["object"],
        raw["created"],
        raw["model"],
        "openai",
    )
    assert resp.system_fingerprint == raw["system_fingerprint"]
    assert resp.service_tier == raw.get("service_tier")
    assert len(resp.choices) == len(raw["choices"])
    for got, want in zip(resp.choices, raw["choices"], strict=True):
        msg = want["message"]
        assert got.index == want["index"]
        assert got.message.role is Role.ASSISTANT
        assert got.message.content == msg["content"]
        assert got.message.reasoning_content is None
        want_calls = [
            (c["id"], c["function"]["name"], c["function"]["arguments"])
            for c in msg.get("tool_calls") or []
        ]
        got_calls = [
            (c.id, c.function.name, c.function.arguments) for c in got.message.tool_calls or []
        ]
        assert got_calls == want_calls
        assert got.finish_reason == ("tool_calls" if want_calls else FINISH[want["finish_reason"]])
    assert usage_tuple(resp.usage) == expected_usage(raw["usage"])

    table = CHAT_EXPECTED[entry.path.stem]
    first = resp.choices[0]
    if "content" in table:
        assert first.message.content == table["content"]
    assert first.finish_reason == table["finish"]
    assert [
        (c.id, c.function.name, c.function.arguments) for c in first.message.tool_calls or []
    ] == table["tool_calls"]
    assert usage_tuple(resp.usage) == table["usage"]
    assert resp.system_fingerprint == table.get("fingerprint", resp.system_fingerprint)
    assert resp.model == table.get("model", resp.model)
    assert type(resp).model_validate(resp.model_dump()) == resp  # every field well typed


def _entry(stem: str) -> CorpusEntry:
    path = corpus_dir() / "openai" / f"{stem}.json"
    return _require(load_corpus_entry(path) if path.is_file() else None)


def test_corpus_length_finish_keeps_the_partial_text() -> None:
    entry = _entry("chat_max_tokens_length")
    content = make().parse_response(http(entry)).choices[0].message.content
    assert isinstance(content, str)
    assert content.startswith("Certainly! Here is a list of all 50 U.S. states:\n\n1. Alabama")
    assert content.endswith("8. Delaware\n9. Florida")


# --- errors --------------------------------------------------------------------------------


@pytest.mark.parametrize("entry", _entries("error"), ids=_id)
def test_corpus_error(entry: CorpusEntry | None) -> None:
    entry = _require(entry)
    raw = json.loads(entry.body_text)["error"]
    err = make().parse_error(http(entry))
    cls, code, request_id, message = ERROR_EXPECTED[entry.path.stem]
    assert type(err) is cls
    assert (err.status_code, err.provider, err.request_id) == (entry.status, "openai", request_id)
    assert (err.message, err.type, err.code) == (raw["message"], raw["type"], raw["code"])
    assert (err.message, err.code, err.type) == (message, code, "invalid_request_error")
    assert err.body == {"error": raw}
    assert str(err).startswith(f"openai error {entry.status} (invalid_request_error, {code}): ")


def test_error_never_shows_the_key() -> None:
    body = json.dumps(
        {
            "error": {
                "message": f"Incorrect API key provided: {KEY}",
                "type": "invalid_request_error",
                "code": "invalid_api_key",
            }
        }
    )
    err = make().parse_error(HTTPResponse(401, {"retry-after": "3"}, body.encode()))
    assert isinstance(err, AuthenticationError)
    assert err.retry_after == 3.0
    for text in (str(err), repr(err), err.message, json.dumps(err.body)):
        assert KEY not in text
        assert "[REDACTED]" in text


# --- streams -------------------------------------------------------------------------------


@pytest.mark.parametrize("entry", _entries("stream"), ids=_id)
def test_corpus_stream(entry: CorpusEntry | None) -> None:
    entry = _require(entry)
    chunks = decode(make(), entry.body_bytes)
    events = raw_events(entry)
    assert len(chunks) == len(events)  # every event, the usage-only one included
    heads: set[tuple[int, int]] = set()  # (choice, tool) whose first delta has gone by
    for chunk, raw in zip(chunks, events, strict=True):
        assert (chunk.id, chunk.model, chunk.created) == (raw["id"], raw["model"], raw["created"])
        assert chunk.system_fingerprint == raw.get("system_fingerprint")
        assert chunk.service_tier == raw.get("service_tier")
        assert len(chunk.choices) == len(raw["choices"])
        for got, want in zip(chunk.choices, raw["choices"], strict=True):
            delta = want["delta"]
            assert got.index == want["index"]
            assert got.delta.content == delta.get("content")
            assert got.delta.role == (Role(delta["role"]) if "role" in delta else None)
            assert [
                (
                    t.index,
                    t.id,
                    t.function.name if t.function else None,
                    t.function.arguments if t.function else None,
                )
                for t in got.delta.tool_calls or []
            ] == [
                # a call's id and name ride on its first delta only, even where the recording
                # repeats them on later fragments (Novita): those read as arguments only
                (t["index"], t.get("id"), t["function"].get("name"), t["function"].get("arguments"))
                if (want["index"], t["index"]) not in heads
                else (t["index"], None, None, t["function"].get("arguments"))
                for t in delta.get("tool_calls") or []
            ]
            heads.update((want["index"], t["index"]) for t in delta.get("tool_calls") or [])
            reason = want.get("finish_reason")
            assert got.finish_reason == (None if reason is None else FINISH[reason])
        if raw.get("usage"):
            assert usage_tuple(chunk.usage) == expected_usage(raw["usage"])
        else:
            assert chunk.usage is None
        assert ChatCompletionChunk.model_validate(chunk.model_dump()) == chunk

    summary = fold(chunks)
    table = STREAM_EXPECTED[entry.path.stem]
    for key in ("text", "finish", "tool_calls", "usage"):
        assert summary[key] == table[key], key
    assert summary["reasoning"] == ""
    assert summary["roles"][0] is Role.ASSISTANT
    assert chunks[-1].usage is not None  # the usage chunk comes last


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
    for cut in (body.index(b"data: [DONE]"), len(body) // 2, 0):
        decoder = make().stream_decoder(user())
        decoder.feed(body[:cut])
        with pytest.raises(StreamError, match="before \\[DONE\\]") as info:
            decoder.close()
        assert info.value.provider == "openai"


def sse(*objects: Any, done: bool = True) -> bytes:
    body = b"".join(b"data: " + json.dumps(o).encode() + b"\n\n" for o in objects)
    return body + (b"data: [DONE]\n\n" if done else b"")


def chunk_obj(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> dict[str, Any]:
    return {
        "id": "c1",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "m",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        **extra,
    }


def test_stream_error_event_raises_api_error() -> None:
    decoder = make().stream_decoder(user())
    first = decoder.feed(sse(chunk_obj({"content": "Hel"}), done=False))
    assert first[0].choices[0].delta.content == "Hel"
    error = {
        "error": {
            "message": "Rate limit reached for gpt-4o",
            "type": "tokens",
            "code": "rate_limit_exceeded",
        }
    }
    with pytest.raises(RateLimitError) as info:
        decoder.feed(sse(error, done=False))
    err = info.value
    assert (err.provider, err.status_code, err.code, err.type) == (
        "openai",
        None,
        "rate_limit_exceeded",
        "tokens",
    )
    assert err.message == "Rate limit reached for gpt-4o"
    assert err.body == error


@pytest.mark.parametrize(
    ("error", "cls"),
    [
        ({"error": {"message": "The server had an error", "type": "server_error"}}, APIError),
        ({"error": {"message": "Upstream overloaded", "code": 502}}, InternalServerError),
        ({"error": {"message": "slow down", "code": 429}}, RateLimitError),
        ({"error": "plain text error"}, APIError),
    ],
)
def test_stream_error_event_classes(error: dict[str, Any], cls: type[APIError]) -> None:
    with pytest.raises(APIError) as info:
        make().stream_decoder(user()).feed(sse(error))
    assert type(info.value) is cls
    assert info.value.status_code is None
    assert info.value.message


def test_stream_error_event_by_event_type_and_redacted() -> None:
    body = f'event: error\ndata: {{"message": "bad key {KEY}"}}\n\n'.encode()
    with pytest.raises(APIError) as info:
        make().stream_decoder(user()).feed(body)
    assert KEY not in str(info.value) and KEY not in repr(info.value.body)
    assert "[REDACTED]" in info.value.message


def test_stream_invalid_json_raises_stream_error() -> None:
    with pytest.raises(StreamError, match="not JSON") as info:
        make().stream_decoder(user()).feed(b'data: {"id": oops\n\n')
    assert info.value.provider == "openai"
    with pytest.raises(StreamError, match="not a JSON object"):
        make().stream_decoder(user()).feed(b"data: [1, 2]\n\n")
    with pytest.raises(StreamError, match="malformed"):
        make().stream_decoder(user()).feed(sse({"choices": [{"delta": "nope"}]}))


def test_stream_ignores_data_after_done_and_keepalives() -> None:
    decoder = make().stream_decoder(user())
    body = b": keep-alive\n\ndata: {}\n\n" + sse(chunk_obj({"content": "a"}))
    chunks = decoder.feed(body + sse(chunk_obj({"content": "late"})) + b"data: garbage\n\n")
    assert [c.choices[0].delta.content for c in chunks] == ["a"]
    assert decoder.feed(b"data: more garbage\n\n") == []
    assert decoder.close() == []


def test_stream_done_without_trailing_blank_line_is_flushed_by_close() -> None:
    decoder = make().stream_decoder(user())
    assert len(decoder.feed(sse(chunk_obj({"content": "a"}), done=False))) == 1
    assert decoder.feed(b"data: [DONE]") == []
    assert decoder.close() == []


def test_stream_normalisation() -> None:
    body = sse(
        chunk_obj(
            {
                "role": "assistant",
                "tool_calls": [
                    {
                        "index": 0,
                        "type": "function",
                        "function": {"name": "f", "arguments": {"a": 1}},
                    },
                    {"index": 1, "function": {"name": "g", "arguments": ""}},
                ],
            }
        ),
        chunk_obj({"tool_calls": [{"index": 1, "function": {"arguments": "{}"}}]}),
        chunk_obj({}, "function_call"),
        chunk_obj({"reasoning": "hmm"}, "end_turn"),
        {
            "id": "c1",
            "choices": [],
            "usage": {"prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 7},
        },
    )
    chunks = decode(make(), body)
    first = chunks[0].choices[0].delta.tool_calls or []
    assert [(t.index, t.id, t.type) for t in first] == [
        (0, "call_0_0", "function"),
        (1, "call_0_1", None),
    ]
    assert first[0].function is not None and first[0].function.arguments == '{"a": 1}'
    later = chunks[1].choices[0].delta.tool_calls or []
    assert later[0].id is None  # only the first delta of a call carries the synthetic id
    assert chunks[2].choices[0].finish_reason == "tool_calls"
    assert chunks[3].choices[0].delta.reasoning_content == "hmm"
    assert chunks[3].choices[0].delta.content is None
    assert chunks[3].choices[0].finish_reason == "stop"
    assert usage_tuple(chunks[4].usage) == (3, 4, 7, None, None)


def test_stream_legacy_function_call_becomes_a_tool_call() -> None:
    body = sse(
        chunk_obj({"role": "assistant", "function_call": {"name": "f", "arguments": ""}}),
        chunk_obj({"function_call": {"arguments": '{"x":1}'}}),
        chunk_obj({}, "function_call"),
    )
    summary = fold(decode(make(), body))
    assert summary["tool_calls"] == [("call_0_0", "f", '{"x":1}')]
    assert summary["finish"] == "tool_calls"


def test_stream_repeated_tool_call_heads_read_as_arguments_only() -> None:
    # OpenRouter's Novita repeats a call's id, type and name on every fragment (and another
    # server may send a fresh id): only the first delta of a call is its head.
    def call(index: int, args: str, call_id: str | None = None, name: str | None = None) -> Any:
        return {
            "index": index,
            "id": call_id,
            "type": "function",
            "function": {"name": name, "arguments": args},
        }

    body = sse(
        chunk_obj({"role": "assistant", "tool_calls": [call(0, "", "0", "f")]}),
        chunk_obj({"tool_calls": [call(0, '{"a":', "0", "f"), call(1, "", "1", "g")]}),
        chunk_obj({"tool_calls": [call(0, " 1}", "other", "f2"), call(1, "{}", "1", "g")]}),
        chunk_obj({}, "tool_calls"),
    )
    chunks = decode(make(), body)
    deltas = [
        [(t.index, t.id, t.type, t.function.name if t.function else None) for t in calls]
        for c in chunks
        if (calls := c.choices[0].delta.tool_calls)
    ]
    assert deltas == [
        [(0, "0", "function", "f")],
        [(0, None, None, None), (1, "1", "function", "g")],
        [(0, None, None, None), (1, None, None, None)],
    ]
    assert fold(chunks)["tool_calls"] == [("0", "f", '{"a": 1}'), ("1", "g", "{}")]


def test_stream_refusal_goes_to_content_and_finishes_content_filter() -> None:
    body = sse(
        chunk_obj({"role": "assistant", "content": None, "refusal": ""}),
        chunk_obj({"refusal": "I can't help"}),
        chunk_obj({"refusal": " with that."}),
        chunk_obj({}, "stop"),
    )
    summary = fold(decode(make(), body))
    assert (summary["text"], summary["finish"]) == ("I can't help with that.", "content_filter")


# --- whole responses by hand -----------------------------------------------------------------


def reply(obj: Any, status: int = 200) -> HTTPResponse:
    text = obj if isinstance(obj, str) else json.dumps(obj)
    return HTTPResponse(status, {"x-request-id": "req_1"}, text.encode())


@pytest.mark.parametrize(
    ("body", "why"),
    [
        ("<html>Bad gateway</html>", "not JSON"),
        ("", "not JSON"),
        ({"object": "list", "data": []}, "no 'choices' list"),
        ({"choices": {"0": 1}}, "no 'choices' list"),
        ({"choices": [{"message": "nope"}]}, "malformed"),
        ({"choices": [{"message": {"content": 5}}]}, "malformed"),
        ({"choices": [], "usage": {"prompt_tokens": "many"}}, "malformed"),
    ],
)
def test_invalid_body_raises_response_validation_error(body: Any, why: str) -> None:
    with pytest.raises(ResponseValidationError, match=why) as info:
        make().parse_response(reply(body))
    err = info.value
    assert (err.status_code, err.provider, err.request_id) == (200, "openai", "req_1")
    head = body if isinstance(body, str) else json.dumps(body)
    if head:
        assert head[:20] in err.message and head[:20] in str(err.body)


def test_error_body_with_success_status_keeps_its_message() -> None:
    body = {"error": {"message": f"quota exceeded for {KEY}", "type": "insufficient_quota"}}
    with pytest.raises(ResponseValidationError) as info:
        make().parse_response(reply(body))
    assert "quota exceeded" in info.value.message and info.value.type == "insufficient_quota"
    assert KEY not in str(info.value) and KEY not in repr(info.value.body)


def test_response_normalisation() -> None:
    body = {
        "id": "x",
        "created": 5,
        "model": "m",
        "choices": [
            {
                "index": 0,
                "finish_reason": "stop",
                "message": {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [
                        {"function": {"name": "f", "arguments": {"q": "é"}}},
                        {"id": "call_b", "type": "function", "function": {"name": "g"}},
                    ],
                },
            },
            {
                "index": 1,
                "finish_reason": "stop",
                "message": {"content": None, "refusal": "I can't."},
            },
            {
                "index": 2,
                "finish_reason": "weird",
                "message": {
                    "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}],
                    "reasoning": "r",
                },
            },
            {
                "index": 3,
                "finish_reason": "function_call",
                "message": {
                    "content": None,
                    "function_call": {"name": "legacy", "arguments": "{}"},
                },
            },
            {"index": 4, "finish_reason": None, "message": {"content": "partial"}},
        ],
    }
    resp = make().parse_response(reply(body))
    c0, c1, c2, c3, c4 = resp.choices
    assert [(t.id, t.function.name, t.function.arguments) for t in c0.message.tool_calls or []] == [
        ("call_0_0", "f", '{"q": "é"}'),
        ("call_b", "g", "{}"),
    ]
    assert c0.finish_reason == "tool_calls"  # tool calls win over "stop"
    assert (c1.message.content, c1.finish_reason) == ("I can't.", "content_filter")
    assert (c2.message.content, c2.message.reasoning_content, c2.finish_reason) == (
        "ab",
        "r",
        "stop",
    )
    assert [(t.id, t.function.name) for t in c3.message.tool_calls or []] == [
        ("call_3_0", "legacy")
    ]
    assert c3.finish_reason == "tool_calls"
    assert (c4.message.content, c4.finish_reason) == ("partial", None)
    assert resp.usage is None and resp.system_fingerprint is None
    assert ChatCompletionResponse.model_validate(resp.model_dump()) == resp


def test_usage_without_details_reports_none_and_zero_details_stay_zero() -> None:
    def usage(raw: dict[str, Any]) -> Usage | None:
        return make().parse_response(reply({"choices": [], "usage": raw})).usage

    assert usage_tuple(usage({"prompt_tokens": 5, "completion_tokens": 2, "total_tokens": 7})) == (
        5,
        2,
        7,
        None,
        None,
    )
    assert usage_tuple(
        usage(
            {
                "prompt_tokens": 50,
                "completion_tokens": 30,
                "total_tokens": 80,
                "prompt_tokens_details": {"cached_tokens": 0},
                "completion_tokens_details": {"reasoning_tokens": 20},
            }
        )
    ) == (50, 30, 80, 0, 20)
    # total larger than the parts for a reason other than reasoning: left alone
    assert usage_tuple(
        usage(
            {
                "prompt_tokens": 5,
                "completion_tokens": 2,
                "total_tokens": 10,
                "completion_tokens_details": {"reasoning_tokens": 1},
            }
        )
    ) == (5, 2, 7, None, 1)


def test_construct_matches_model_construct() -> None:
    fields: dict[str, Any] = {
        "prompt_tokens": 1,
        "completion_tokens": 2,
        "total_tokens": 3,
        "cached_tokens": None,
        "cache_write_tokens": None,
        "reasoning_tokens": 0,
    }
    fast, slow = construct(Usage, dict(fields)), Usage.model_construct(**fields)
    assert fast == slow == Usage(**fields)
    assert fast.model_fields_set == slow.model_fields_set == set(fields)
    assert fast.model_dump() == slow.model_dump()
    assert fast.model_copy(update={"prompt_tokens": 9}).prompt_tokens == 9
    fast.prompt_tokens = 4
    assert fast.prompt_tokens == 4 and slow.prompt_tokens == 1
    assert isinstance(fast, BaseModel) and fast.__pydantic_extra__ is None


# --- requests --------------------------------------------------------------------------------


def rich_request(**overrides: Any) -> ChatCompletionRequest:
    weather = Tool(
        function=FunctionDefinition(
            name="get_weather",
            description="Weather for a city",
            parameters={
                "type": "object",
                "properties": {"city": {"type": "string"}},
                "required": ["city"],
            },
            strict=True,
        )
    )
    fields: dict[str, Any] = {
        "model": "gpt-4o",
        "messages": [
            Message(role=Role.SYSTEM, content="Be brief."),
            Message(
                role=Role.USER,
                name="ana",
                content=[
                    TextPart(text="What is in these? é"),
                    ImagePart.from_url("https://example.com/cat.png", detail="high"),
                    ImagePart.from_base64("aGVsbG8=", "image/jpeg"),
                ],
            ),
            Message(
                role=Role.ASSISTANT,
                content=None,
                reasoning_content="thinking...",
                tool_calls=[
                    ToolCall(
                        id="call_1",
                        function=FunctionCall(name="get_weather", arguments='{"city":"Paris"}'),
                    )
                ],
            ),
            Message(role=Role.TOOL, tool_call_id="call_1", content="sunny"),
        ],
        "max_tokens": 100,
        "temperature": 0.2,
        "top_p": 0.9,
        "stop": "END",
        "n": 1,
        "seed": 7,
        "frequency_penalty": 0.1,
        "presence_penalty": -0.1,
        "tools": [weather],
        "tool_choice": "auto",
        "response_format": ResponseFormat(
            type="json_schema",
            json_schema={
                "name": "answer",
                "strict": True,
                "schema": {"type": "object", "properties": {"a": {"type": "string"}}},
            },
        ),
        "reasoning_effort": "low",
        "user": "u-1",
        "metadata": {"run": "42"},
        "extra": {"parallel_tool_calls": False, "temperature": 0.5},
    }
    fields.update(overrides)
    return ChatCompletionRequest(**fields)


RICH_BODY: dict[str, Any] = {
    "model": "gpt-4o",
    "messages": [
        {"role": "system", "content": "Be brief."},
        {
            "role": "user",
            "name": "ana",
            "content": [
                {"type": "text", "text": "What is in these? é"},
                {
                    "type": "image_url",
                    "image_url": {"url": "https://example.com/cat.png", "detail": "high"},
                },
                {"type": "image_url", "image_url": {"url": "data:image/jpeg;base64,aGVsbG8="}},
            ],
        },
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'},
                }
            ],
        },
        {"role": "tool", "content": "sunny", "tool_call_id": "call_1"},
    ],
    "max_completion_tokens": 100,
    "temperature": 0.5,
    "top_p": 0.9,
    "stop": "END",
    "n": 1,
    "seed": 7,
    "frequency_penalty": 0.1,
    "presence_penalty": -0.1,
    "tools": [
        {
            "type": "function",
            "function": {
                "name": "get_weather",
                "description": "Weather for a city",
                "strict": True,
                "parameters": {
                    "type": "object",
                    "properties": {"city": {"type": "string"}},
                    "required": ["city"],
                },
            },
        }
    ],
    "tool_choice": "auto",
    "response_format": {
        "type": "json_schema",
        "json_schema": {
            "name": "answer",
            "strict": True,
            "schema": {"type": "object", "properties": {"a": {"type": "string"}}},
        },
    },
    "reasoning_effort": "low",
    "user": "u-1",
    "metadata": {"run": "42"},
    "parallel_tool_calls": False,
}


def test_rich_request_body() -> None:
    req = make().build_request(rich_request(), stream=False)
    assert (req.method, req.url) == ("POST", f"{BASE}/chat/completions")
    assert req.content is not None
    assert json.loads(req.content) == RICH_BODY
    assert b", " not in req.content and b'": ' not in req.content  # compact separators
    assert "é".encode() in req.content  # not \u-escaped
    assert dict(req.headers) == {
        "authorization": f"Bearer {KEY}",
        "content-type": "application/json",
        "accept": "application/json",
        "user-agent": USER_AGENT,
    }


def test_stream_request_asks_for_usage() -> None:
    req = make().build_request(rich_request(), stream=True)
    assert req.content is not None
    assert json.loads(req.content) == {
        **RICH_BODY,
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    assert req.headers["accept"] == "text/event-stream"


def test_minimal_request_omits_every_unset_field() -> None:
    req = make().build_request(user("hello"), stream=False)
    assert req.content == b'{"model":"gpt-4o","messages":[{"role":"user","content":"hello"}]}'


@pytest.mark.parametrize(
    ("fmt", "wire"),
    [
        (ResponseFormat(type="json_object"), {"type": "json_object"}),
        (ResponseFormat(type="text"), {"type": "text"}),
        (
            {"type": "json_schema", "json_schema": {"name": "x", "schema": {}}},
            {"type": "json_schema", "json_schema": {"name": "x", "schema": {}}},
        ),
    ],
)
def test_response_formats(fmt: Any, wire: dict[str, Any]) -> None:
    req = make().build_request(user().model_copy(update={"response_format": fmt}), stream=False)
    assert req.content is not None and json.loads(req.content)["response_format"] == wire


def test_json_schema_format_without_schema_is_rejected() -> None:
    request = user().model_copy(update={"response_format": ResponseFormat(type="json_schema")})
    with pytest.raises(InvalidRequestError, match="json_schema"):
        make().build_request(request, stream=False)


def test_stop_list_and_extra_none_removes_a_field() -> None:
    request = user().model_copy(update={"stop": ["a", "b"], "extra": {"stream_options": None}})
    req = make().build_request(request, stream=True)
    assert req.content is not None
    body = json.loads(req.content)
    assert body["stop"] == ["a", "b"] and body["stream"] is True and "stream_options" not in body


def test_top_k_is_unsupported() -> None:
    with pytest.raises(UnsupportedFeatureError) as info:
        make().build_request(rich_request(top_k=40), stream=False)
    assert (info.value.provider, info.value.feature) == ("openai", "top_k")
    assert str(info.value) == "openai does not support top_k"


def test_headers_from_settings() -> None:
    provider = make(
        organization="org-1", project="proj-2", headers={"X-Trace": "t", "User-Agent": "mine/1.0"}
    )
    headers = dict(provider.build_request(user(), stream=False).headers)
    assert headers == {
        "authorization": f"Bearer {KEY}",
        "content-type": "application/json",
        "accept": "application/json",
        "OpenAI-Organization": "org-1",
        "OpenAI-Project": "proj-2",
        "X-Trace": "t",
        "User-Agent": "mine/1.0",
    }
    keyless = make(key=None).build_request(user(), stream=False).headers
    assert "authorization" not in keyless
    assert make(key=None).secrets() == ()


def test_max_tokens_field_can_be_configured() -> None:
    request = user().model_copy(update={"max_tokens": 5})
    req = make(max_tokens_field="max_tokens").build_request(request, stream=False)
    assert req.content is not None and json.loads(req.content)["max_tokens"] == 5


def test_key_never_in_reprs() -> None:
    provider = make()
    assert provider.secrets() == (KEY,)
    assert KEY not in repr(provider) and KEY not in str(provider)
    assert repr(provider) == f"OpenAIProvider(name='openai', base_url='{BASE}')"
    assert KEY not in repr(provider.build_request(user(), stream=False))


# --- the provider as the rest of metallm sees it ---------------------------------------------


def test_registry_factory_and_protocols() -> None:
    spec = ProviderSpec(
        "openai", "metallm.providers.openai:create", default_base_url="https://api.openai.com/v1/"
    )
    provider = spec.create(api_key=KEY)
    assert isinstance(provider, OpenAIProvider) and isinstance(provider, HTTPProvider)
    assert (provider.name, provider.base_url) == ("openai", "https://api.openai.com/v1")
    assert isinstance(provider.stream_decoder(user()), StreamDecoder)
    bare = OpenAIProvider(ProviderSettings("openai", KEY))
    assert bare.base_url == "https://api.openai.com/v1"


def test_providers_import_no_io_or_telemetry_modules() -> None:
    forbidden = {"httpx", "asyncio", "opentelemetry"}
    root = Path(metallm.providers.__file__).parent
    for path in root.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            for name in names:
                assert name.split(".")[0] not in forbidden, f"{path} imports {name}"

"""The Ollama codec (metallm.providers.ollama) against the recorded corpus and by hand.

Ollama's native ``/api/chat`` differs from Chat Completions: NDJSON streaming ending in a
``"done": true`` line, ``thinking`` for reasoning, tool-call arguments as objects, usage as
``prompt_eval_count``/``eval_count``, no response id, ``{"error": "..."}`` errors. Its
OpenAI-compatible ``/v1/chat/completions`` endpoint is read by the OpenAI codec.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from _codec_helpers import accumulate as accumulate_chunks
from _codec_helpers import decode_pieces
from _helpers import require_corpus
from metallm.errors import (
    APIError,
    InternalServerError,
    InvalidRequestError,
    NotFoundError,
    ResponseValidationError,
    StreamError,
    UnsupportedFeatureError,
)
from metallm.provider import HTTPProvider, HTTPResponse, ProviderSettings
from metallm.providers.ollama import OllamaProvider, create, normalize_host
from metallm.providers.openai import OpenAIProvider
from metallm.testing.corpus import load_corpus_entry
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
)

KEY = "sk-test-ollama-proxy-SECRET-0123456789"
BASE = "http://localhost:11434"


def make(key: str | None = None, base: str = BASE) -> OllamaProvider:
    return create(ProviderSettings("ollama", key, base))


def user(text: str = "hi", **fields: Any) -> ChatCompletionRequest:
    return ChatCompletionRequest(
        model="llama3.2", messages=[Message(role=Role.USER, content=text)], **fields
    )


def corpus(name: str) -> Path:
    return require_corpus("ollama") / f"{name}.json"


def decode(provider: OllamaProvider, *pieces: bytes) -> list[ChatCompletionChunk]:
    return decode_pieces(provider, user(), *pieces)


def accumulate(chunks: list[ChatCompletionChunk]) -> ChatCompletionResponse:
    return accumulate_chunks(chunks, "ollama")


def ok(body: bytes | str) -> HTTPResponse:
    data = body.encode() if isinstance(body, str) else body
    return HTTPResponse(200, {"content-type": "application/json"}, data)


# -- the corpus -----------------------------------------------------------------------------


def test_codec_satisfies_the_protocol() -> None:
    provider = make()
    assert isinstance(provider, HTTPProvider)
    assert provider.name == "ollama" and provider.base_url == BASE
    assert provider.secrets() == ()


def test_chat_basic_field_by_field() -> None:
    entry = load_corpus_entry(corpus("chat_basic"))
    raw = json.loads(entry.body_text)
    resp = make().parse_response(ok(entry.body_bytes))
    msg = resp.choices[0].message
    assert resp.model == "qwen3.6:latest" and resp.provider == "ollama"
    assert msg.content == raw["message"]["content"]
    assert msg.text().startswith("The sky appears blue because")
    assert msg.reasoning_content == raw["message"]["thinking"]
    assert (msg.reasoning_content or "").startswith("Here's a thinking process:")
    assert msg.tool_calls is None
    assert resp.choices[0].finish_reason == "stop"
    assert resp.usage is not None
    assert (resp.usage.prompt_tokens, resp.usage.completion_tokens) == (21, 369)
    assert resp.usage.total_tokens == 390
    assert resp.usage.reasoning_tokens is None and resp.usage.cached_tokens is None
    # 2026-08-07T06:08:07.590207Z
    assert resp.created == 1786082887
    assert resp.id.startswith("ollama-") and len(resp.id) == len("ollama-") + 24


def test_chat_tool_call_field_by_field() -> None:
    entry = load_corpus_entry(corpus("chat_tool_call"))
    raw = json.loads(entry.body_text)
    resp = make().parse_response(ok(entry.body_bytes))
    msg = resp.choices[0].message
    assert raw["done_reason"] == "stop"
    assert resp.choices[0].finish_reason == "tool_calls"  # a choice with tool calls
    assert msg.content is None  # Ollama sent "" next to the tool call
    assert msg.reasoning_content == raw["message"]["thinking"]
    assert msg.tool_calls is not None and len(msg.tool_calls) == 1
    call = msg.tool_calls[0]
    assert call.id == "call_gsiiy8py"
    assert call.function.name == "get_current_weather"
    assert isinstance(call.function.arguments, str)
    assert json.loads(call.function.arguments) == {"city": "Paris"}
    assert resp.usage is not None
    assert (resp.usage.prompt_tokens, resp.usage.completion_tokens) == (292, 143)
    assert resp.usage.total_tokens == 435


def test_error_404_model_not_found() -> None:
    entry = load_corpus_entry(corpus("error_404_model_not_found"))
    err = make().parse_error(HTTPResponse(entry.status, entry.response_headers, entry.body_bytes))
    assert type(err) is NotFoundError
    assert err.status_code == 404 and err.provider == "ollama"
    assert err.message == "model 'nonexistent-model:latest' not found"
    assert err.type is None and err.code is None
    assert err.body == {"error": "model 'nonexistent-model:latest' not found"}


def _stream_expectation(body: str) -> dict[str, Any]:
    lines = [json.loads(line) for line in body.splitlines() if line.strip()]
    return {
        "text": "".join(x["message"].get("content", "") for x in lines),
        "reasoning": "".join(x["message"].get("thinking", "") for x in lines),
        "last": lines[-1],
        "first": lines[0],
        "count": len(lines),
    }


def test_stream_basic_field_by_field() -> None:
    entry = load_corpus_entry(corpus("stream_basic"))
    exp = _stream_expectation(entry.body_text)
    chunks = decode(make(), entry.body_bytes)
    assert len(chunks) == exp["count"] == 714
    assert all(c.id == chunks[0].id and c.created == chunks[0].created for c in chunks)
    assert chunks[0].choices[0].delta.role == Role.ASSISTANT
    assert chunks[-1].choices[0].finish_reason == "stop"
    assert all(c.usage is None for c in chunks[:-1])
    resp = accumulate(chunks)
    assert resp.content == exp["text"] == "1\n2\n3\n4\n5"
    assert resp.choices[0].message.reasoning_content == exp["reasoning"]
    assert resp.usage is not None
    last = exp["last"]
    assert (resp.usage.prompt_tokens, resp.usage.completion_tokens) == (
        last["prompt_eval_count"],
        last["eval_count"],
    )
    assert resp.usage.total_tokens == 21 + 889
    assert resp.created == 1786082894  # the first line's created_at, 06:08:14.947137Z
    assert resp.model == exp["first"]["model"]


def test_openai_compatible_endpoint_parses_with_the_openai_codec() -> None:
    entry = load_corpus_entry(corpus("openai_compat_chat"))
    assert entry.request_path == "/v1/chat/completions"
    codec = OpenAIProvider(ProviderSettings("openai", None, BASE + "/v1"))
    built = codec.build_request(user(), stream=False)
    assert built.url == BASE + "/v1/chat/completions"
    resp = codec.parse_response(HTTPResponse(200, entry.response_headers, entry.body_bytes))
    assert resp.id == "chatcmpl-674" and resp.model == "gemma3:4b"
    assert resp.created == 1765962162 and resp.system_fingerprint == "fp_ollama"
    assert resp.content == "4200 + 42 = 4242\n"
    assert resp.choices[0].finish_reason == "stop"
    assert resp.usage is not None
    assert (resp.usage.prompt_tokens, resp.usage.completion_tokens) == (21, 16)
    assert resp.usage.total_tokens == 37


@settings(max_examples=60, deadline=None)
@given(points=st.lists(st.integers(min_value=0), max_size=40))
def test_stream_split_anywhere_gives_identical_chunks(points: list[int]) -> None:
    data = load_corpus_entry(corpus("stream_basic")).body_bytes
    whole = decode(make(), data)
    cuts = sorted({p % (len(data) + 1) for p in points})
    pieces, start = [], 0
    for cut in cuts:
        pieces.append(data[start:cut])
        start = cut
    pieces.append(data[start:])
    assert decode(make(), *pieces) == whole


@settings(max_examples=30, deadline=None)
@given(size=st.integers(min_value=1, max_value=64))
def test_stream_fed_in_fixed_slices(size: int) -> None:
    data = load_corpus_entry(corpus("stream_basic")).body_bytes
    pieces = [data[i : i + size] for i in range(0, len(data), size)]
    assert decode(make(), *pieces) == decode(make(), data)


# -- streams and plain replies of the same exchange ---------------------------------------

_AT = "2026-01-02T03:04:05.123456789Z"
_CALLS: list[dict[str, Any]] = [
    {"function": {"name": "a", "arguments": {"x": 1}}},
    {"function": {"name": "b", "arguments": {"y": [2]}}},
]
_PLAIN: dict[str, Any] = {
    "model": "m",
    "created_at": _AT,
    "message": {
        "role": "assistant",
        "content": "",
        "thinking": "hmm",
        "tool_calls": _CALLS,
    },
    "done": True,
    "done_reason": "stop",
    "prompt_eval_count": 7,
    "eval_count": 9,
}
_STREAM: list[dict[str, Any]] = [
    {"model": "m", "created_at": _AT, "message": {"role": "assistant", "thinking": "hm"}},
    {"model": "m", "created_at": _AT, "message": {"role": "assistant", "thinking": "m"}},
    {
        "model": "m",
        "created_at": _AT,
        "message": {
            "role": "assistant",
            "content": "",
            "tool_calls": [_CALLS[0]],
        },
    },
    {
        "model": "m",
        "created_at": _AT,
        "message": {"role": "assistant", "tool_calls": [_CALLS[1]]},
    },
    {
        "model": "m",
        "created_at": _AT,
        "message": {"role": "assistant", "content": ""},
        "done": True,
        "done_reason": "stop",
        "prompt_eval_count": 7,
        "eval_count": 9,
    },
]


def test_stream_and_plain_parse_of_one_exchange_are_equal() -> None:
    plain = make().parse_response(ok(json.dumps(_PLAIN)))
    body = "".join(json.dumps({**line, "done": line.get("done", False)}) + "\n" for line in _STREAM)
    streamed = accumulate(decode(make(), body.encode()))
    assert streamed == plain
    calls = plain.choices[0].message.tool_calls
    assert calls is not None
    assert [(c.id, c.function.name, c.function.arguments) for c in calls] == [
        ("call_0_0", "a", '{"x": 1}'),
        ("call_0_1", "b", '{"y": [2]}'),
    ]
    assert plain.choices[0].finish_reason == "tool_calls"
    assert plain.created == 1767323045  # nanosecond fraction dropped


@pytest.mark.parametrize(
    ("reason", "expected"),
    [("stop", "stop"), ("length", "length"), ("load", "stop"), ("unload", "stop"), (None, "stop")],
)
def test_done_reasons(reason: str | None, expected: str) -> None:
    body = {"model": "m", "created_at": _AT, "message": {"content": "x"}, "done": True}
    if reason is not None:
        body["done_reason"] = reason
    assert make().parse_response(ok(json.dumps(body))).choices[0].finish_reason == expected
    line = json.dumps(body).encode() + b"\n"
    assert decode(make(), line)[-1].choices[0].finish_reason == expected


# -- requests ---------------------------------------------------------------------------------


def test_full_request_body_and_headers() -> None:
    weather = Tool(
        function=FunctionDefinition(
            name="get_weather",
            description="Weather in a city.",
            parameters={"type": "object", "properties": {"city": {"type": "string"}}},
            strict=True,
        )
    )
    request = ChatCompletionRequest(
        model="qwen3:8b",
        messages=[
            Message(role=Role.SYSTEM, content="Be brief."),
            Message(
                role=Role.USER,
                content=[
                    TextPart(text="What is this? "),
                    ImagePart.from_base64("iVBORw0KGgo=", "image/png"),
                    TextPart(text="And the weather?"),
                ],
            ),
            Message(
                role=Role.ASSISTANT,
                content=None,
                reasoning_content="Need the tool.",
                tool_calls=[
                    ToolCall(
                        id="call_1",
                        function=FunctionCall(name="get_weather", arguments='{"city":"Paris"}'),
                    )
                ],
            ),
            Message(role=Role.TOOL, tool_call_id="call_1", content='{"temp": 21}'),
        ],
        max_tokens=256,
        temperature=0.2,
        top_p=0.9,
        top_k=40,
        stop=["END"],
        n=1,
        seed=7,
        frequency_penalty=0.1,
        presence_penalty=0.2,
        tools=[weather],
        tool_choice="auto",
        response_format=ResponseFormat(
            type="json_schema", json_schema={"name": "out", "schema": {"type": "object"}}
        ),
        reasoning_effort="high",
        extra={"keep_alive": "5m", "options": {"num_ctx": 8192}},
    )
    built = make(KEY).build_request(request, stream=True)
    assert built.method == "POST" and built.url == "http://localhost:11434/api/chat"
    assert dict(built.headers) == {
        "accept": "application/x-ndjson",
        "content-type": "application/json",
        "user-agent": "metallm/0.1.0",
        "authorization": f"Bearer {KEY}",
    }
    assert built.content is not None
    assert json.loads(built.content) == {
        "model": "qwen3:8b",
        "messages": [
            {"role": "system", "content": "Be brief."},
            {
                "role": "user",
                "content": "What is this? And the weather?",
                "images": ["iVBORw0KGgo="],
            },
            {
                "role": "assistant",
                "content": "",
                "thinking": "Need the tool.",
                "tool_calls": [
                    {"function": {"name": "get_weather", "arguments": {"city": "Paris"}}}
                ],
            },
            {"role": "tool", "content": '{"temp": 21}', "tool_name": "get_weather"},
        ],
        "stream": True,
        "tools": [
            {
                "type": "function",
                "function": {
                    "name": "get_weather",
                    "description": "Weather in a city.",
                    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
                },
            }
        ],
        "format": {"type": "object"},
        "think": "high",
        "options": {
            "num_predict": 256,
            "temperature": 0.2,
            "top_p": 0.9,
            "top_k": 40,
            "seed": 7,
            "frequency_penalty": 0.1,
            "presence_penalty": 0.2,
            "stop": ["END"],
            "num_ctx": 8192,
        },
        "keep_alive": "5m",
    }
    assert KEY not in repr(built) and KEY not in repr(make(KEY))


def test_minimal_request_without_key_sends_stream_false_and_no_authorization() -> None:
    built = make().build_request(user("yo"), stream=False)
    assert "authorization" not in {k.lower() for k in built.headers}
    assert built.headers["accept"] == "application/json"
    assert built.content is not None
    assert json.loads(built.content) == {
        "model": "llama3.2",
        "messages": [{"role": "user", "content": "yo"}],
        "stream": False,
    }


@pytest.mark.parametrize(
    ("fmt", "expected"),
    [
        (ResponseFormat(type="json_object"), "json"),
        ({"type": "json_schema", "json_schema": {"schema": {"type": "array"}}}, {"type": "array"}),
        (ResponseFormat(type="text"), None),
    ],
)
def test_response_format(fmt: Any, expected: Any) -> None:
    built = make().build_request(user(response_format=fmt), stream=False)
    assert built.content is not None
    assert json.loads(built.content).get("format") == expected


@pytest.mark.parametrize(
    ("fields", "feature"),
    [
        ({"n": 2}, "n > 1"),
        ({"tool_choice": "required"}, "tool_choice"),
        ({"user": "u1"}, "user"),
        ({"metadata": {"a": "b"}}, "metadata"),
        ({"reasoning_effort": "minimal"}, "reasoning_effort='minimal'"),
    ],
)
def test_unsupported_fields(fields: dict[str, Any], feature: str) -> None:
    with pytest.raises(UnsupportedFeatureError) as info:
        make().build_request(user(**fields), stream=False)
    assert info.value.provider == "ollama" and info.value.feature == feature


def test_image_url_is_unsupported() -> None:
    request = ChatCompletionRequest(
        model="m",
        messages=[Message(role=Role.USER, content=[ImagePart.from_url("https://x/y.png")])],
    )
    with pytest.raises(UnsupportedFeatureError, match="image URLs"):
        make().build_request(request, stream=False)


def test_tool_result_without_matching_call_is_rejected() -> None:
    request = ChatCompletionRequest(
        model="m",
        messages=[
            Message(role=Role.USER, content="hi"),
            Message(role=Role.TOOL, tool_call_id="call_nowhere", content="42"),
        ],
    )
    with pytest.raises(InvalidRequestError, match="call_nowhere"):
        make().build_request(request, stream=False)


def test_tool_call_arguments_must_be_a_json_object() -> None:
    for arguments in ("not json", "[1, 2]"):
        request = ChatCompletionRequest(
            model="m",
            messages=[
                Message(
                    role=Role.ASSISTANT,
                    tool_calls=[
                        ToolCall(id="c", function=FunctionCall(name="f", arguments=arguments))
                    ],
                )
            ],
        )
        with pytest.raises(InvalidRequestError, match="'f'"):
            make().build_request(request, stream=False)


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("", "http://localhost:11434"),
        ("0.0.0.0", "http://0.0.0.0:11434"),
        ("example.com:8080", "http://example.com:8080"),
        ("[::1]", "http://[::1]:11434"),
        ("[::1]:9", "http://[::1]:9"),
        ("https://ollama.example.com/", "https://ollama.example.com"),
        ("http://host:11434/", "http://host:11434"),
    ],
)
def test_normalize_host(host: str, expected: str) -> None:
    assert normalize_host(host) == expected
    if host:
        assert make(base=host).build_request(user(), stream=False).url == expected + "/api/chat"


# -- malformed input and errors ----------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [b"not json", b"[]", b'{"model": "m"}', b'{"message": {"content": 5}}', b""],
)
def test_malformed_plain_bodies(body: bytes) -> None:
    with pytest.raises(ResponseValidationError) as info:
        make().parse_response(ok(body))
    assert info.value.status_code == 200


def test_stream_without_done_line_raises_on_close() -> None:
    data = load_corpus_entry(corpus("stream_basic")).body_bytes
    cut = data[: data.rindex(b"\n", 0, len(data) - 1) + 1]  # drop the done line
    decoder = make().stream_decoder(user())
    assert len(decoder.feed(cut)) == 713
    with pytest.raises(StreamError, match="done line"):
        decoder.close()
    decoder = make().stream_decoder(user())
    decoder.feed(data[:-40])  # cut inside the done line
    with pytest.raises(StreamError, match="inside a line"):
        decoder.close()


@pytest.mark.parametrize(
    "line",
    [
        b"{not json}\n",
        b"[1]\n",
        b'{"message": {"content": "\xff"}}\n',
        b'{"message": {"content": 3}, "done": false}\n',
    ],
)
def test_malformed_stream_lines(line: bytes) -> None:
    with pytest.raises(StreamError):
        make().stream_decoder(user()).feed(line)


def test_unknown_lines_are_skipped_and_a_final_line_without_newline_counts() -> None:
    body = (
        b'{"status": "pulling manifest"}\n'
        b'{"model":"m","created_at":"'
        + _AT.encode()
        + b'","message":{"content":"hi"},"done":false}\n'
        b'{"model":"m","created_at":"' + _AT.encode() + b'","message":{"content":""},"done":true}'
    )
    chunks = decode(make(), body)
    assert [c.choices[0].delta.content for c in chunks] == ["hi", None]
    assert chunks[-1].usage is None  # no counts reported, none invented


def test_error_line_in_stream_raises_api_error_with_key_redacted() -> None:
    provider = make(KEY)
    decoder = provider.stream_decoder(user())
    decoder.feed(b'{"model":"m","created_at":"' + _AT.encode() + b'","message":{"content":"a"}}\n')
    with pytest.raises(APIError) as info:
        decoder.feed(b'{"error": "backend failed using ' + KEY.encode() + b'"}\n')
    err = info.value
    assert type(err) is APIError and err.provider == "ollama"
    assert KEY not in str(err) and KEY not in repr(err) and KEY not in json.dumps(err.body)
    assert "[REDACTED]" in err.message


def test_error_body_on_status_is_typed_and_redacted() -> None:
    body = json.dumps({"error": f"upstream rejected {KEY}"}).encode()
    err = make(KEY).parse_error(HTTPResponse(500, {}, body))
    assert type(err) is InternalServerError
    assert KEY not in str(err) and KEY not in repr(err)

"""The public codec kit (``metallm.provider``) on its own, as a third-party codec uses it.

HTTPCodec: headers (ours, then the user's, case-insensitively; a non-mapping is refused),
``accept`` for plain and streamed calls, compact JSON, a ``repr`` without secrets, the default
error parser, telemetry facts and embeddings defaults. EventDecoder: split feeding, the end
marker, garbled events (redacted excerpts), error events, NDJSON framing. And the helpers.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

import metallm
from metallm.embeddings import EmbeddingsRequest
from metallm.errors import (
    APIError,
    ConfigurationError,
    RateLimitError,
    StreamError,
    UnsupportedFeatureError,
)
from metallm.provider import (
    NDJSON,
    USER_AGENT,
    EmbeddingsCodec,
    EventDecoder,
    HTTPCodec,
    HTTPProvider,
    HTTPRequest,
    HTTPResponse,
    StreamDecoder,
    arguments_text,
    as_int,
    construct,
    encode_json,
    json_body,
    make_assistant_message,
    make_choice,
    make_completion,
    make_tool_call,
    make_usage,
    merge_extra,
    merge_headers,
    new_chunk,
    new_chunk_choice,
    new_delta,
    new_function_delta,
    new_tool_call_delta,
    opt_int,
    refuse_fields,
    response_format_type,
    status_from_code,
    tool_call_id,
)
from metallm.types import (
    ChatCompletionChunk,
    ChatCompletionRequest,
    ChatCompletionResponse,
    Choice,
    ChunkChoice,
    Delta,
    FunctionCall,
    FunctionCallDelta,
    Message,
    ResponseFormat,
    ToolCall,
    ToolCallDelta,
    Usage,
)

KEY = "sk-kit-test-SECRET-0123456789"


class Acme(HTTPCodec):
    """A minimal third-party codec on the kit."""

    name = "acme"
    default_base_url = "https://api.acme.test/v1/"

    def build_request(self, request: ChatCompletionRequest, *, stream: bool) -> HTTPRequest:
        body = {"model": request.model, "stream": stream}
        return self.http_request(f"{self.base_url}/chat", body, stream=stream)

    def parse_response(self, response: HTTPResponse) -> ChatCompletionResponse:
        return ChatCompletionResponse.model_validate(json_body(self.name, response))

    def stream_decoder(self, request: ChatCompletionRequest) -> AcmeDecoder:
        return AcmeDecoder(self.name, self.secrets())


def _chunk(text: str) -> ChatCompletionChunk:
    delta = construct(
        Delta, {"role": None, "content": text, "reasoning_content": None, "tool_calls": None}
    )
    choice = construct(ChunkChoice, {"index": 0, "delta": delta, "finish_reason": None})
    return ChatCompletionChunk(id="x", model="m", choices=[choice])


class AcmeDecoder(EventDecoder):
    """``{"text": ...}`` events, ``[END]`` as the end marker."""

    __slots__ = ("names",)

    end_marker = "[END]"
    end_data = "[END]"

    def __init__(self, provider: str, secrets: tuple[str, ...] = ()) -> None:
        super().__init__(provider, secrets)
        self.names: list[str] = []

    def on_event(self, name: str, obj: dict[str, Any]) -> ChatCompletionChunk | None:
        self.names.append(name)
        if "skip" in obj:
            return None
        return _chunk(obj["text"])


class LineDecoder(AcmeDecoder):
    """The same over NDJSON, ended by a ``{"done": true}`` line."""

    __slots__ = ()

    framing = NDJSON
    end_marker = "its done line"
    end_data = None

    def on_event(self, name: str, obj: dict[str, Any]) -> ChatCompletionChunk | None:
        if obj.get("done"):
            self._done = True
            return None
        return super().on_event(name, obj)


def req() -> ChatCompletionRequest:
    return ChatCompletionRequest(model="m", messages=[Message(role="user", content="hi")])


def acme(**extra: Any) -> Acme:
    return Acme(KEY, "", user_headers=extra.get("headers"))


def texts(chunks: list[ChatCompletionChunk]) -> str:
    return "".join(c.choices[0].delta.content or "" for c in chunks)


def sse(*events: str) -> bytes:
    return "".join(f"data: {e}\n\n" for e in events).encode()


# -- HTTPCodec -------------------------------------------------------------------------------


def test_a_kit_codec_satisfies_the_protocols() -> None:
    codec = acme()
    assert isinstance(codec, HTTPProvider) and isinstance(codec, EmbeddingsCodec)
    assert isinstance(codec.stream_decoder(req()), StreamDecoder)
    assert (codec.name, codec.base_url) == ("acme", "https://api.acme.test/v1")
    assert Acme(None, "http://127.0.0.1:9/").base_url == "http://127.0.0.1:9"


def test_headers_ours_then_the_users_case_insensitively() -> None:
    codec = Acme(KEY, headers={"X-Acme-Version": "2"}, user_headers={"ACCEPT": "x/y", "A": "1"})
    plain, streamed = codec.headers(stream=False), codec.headers(stream=True)
    assert plain == {
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        "authorization": f"Bearer {KEY}",
        "X-Acme-Version": "2",
        "ACCEPT": "x/y",
        "A": "1",
    }
    assert streamed == plain  # the user's Accept replaced ours in both
    default = acme(headers={"User-Agent": "mine"})
    assert default.headers(stream=False)["accept"] == "application/json"
    assert default.headers(stream=True)["accept"] == "text/event-stream"
    assert default.headers(stream=True)["User-Agent"] == "mine"
    assert "user-agent" not in default.headers(stream=True)
    assert "authorization" not in Acme(None).headers(stream=False)
    copy = default.headers(stream=False)
    copy["x"] = "changed"
    assert "x" not in default.headers(stream=False)  # a fresh copy every time


def test_merge_headers_refuses_a_non_mapping_naming_the_provider() -> None:
    with pytest.raises(ConfigurationError, match=r"^acme: extra\['headers'\] must be a mapping"):
        acme(headers=["x-a", "1"])
    assert merge_headers({"a": "1"}, None, "p") == {"a": "1"}
    assert merge_headers({"Content-Type": "a", "x": "1"}, {"content-type": 2}, "p") == {
        "x": "1",
        "content-type": "2",
    }


def test_repr_never_shows_a_secret() -> None:
    codec = acme(headers={"x-secret": KEY})
    assert repr(codec) == "Acme(name='acme', base_url='https://api.acme.test/v1')"
    leaky = Acme(KEY, f"https://{KEY}@proxy.test")  # even a key inside the URL
    assert KEY not in repr(leaky) and "[REDACTED]" in repr(leaky)
    assert codec.secrets() == (KEY,) and Acme(None).secrets() == ()


def test_http_request_is_compact_utf8_json_with_the_right_accept() -> None:
    codec = acme()
    sent = codec.http_request("https://x.test/p", {"a": [1, 2], "t": "héllo ☃"}, stream=True)
    assert sent.method == "POST" and sent.url == "https://x.test/p"
    assert sent.content == '{"a":[1,2],"t":"héllo ☃"}'.encode()
    assert sent.headers["accept"] == "text/event-stream"
    assert KEY not in repr(sent)
    assert encode_json({"k": None}) == b'{"k":null}' == Acme.encode({"k": None})
    body = {"model": "m", "stream": False}
    assert json.loads(codec.build_request(req(), stream=False).content or b"") == body


def test_default_error_parser_types_and_redacts() -> None:
    body = json.dumps({"error": {"message": f"slow down {KEY}", "type": "rate_limit"}})
    err = acme().parse_error(HTTPResponse(429, {"retry-after": "2"}, body.encode()))
    assert type(err) is RateLimitError and err.provider == "acme" and err.retry_after == 2
    assert KEY not in err.message and "[REDACTED]" in err.message


def test_telemetry_facts_and_embeddings_defaults() -> None:
    codec = acme()
    assert codec.semconv_name == "acme" and codec.system_instructions_apart is False
    assert codec.max_embeddings_inputs == 0
    emb = EmbeddingsRequest(model="e", input=["a"])
    with pytest.raises(UnsupportedFeatureError, match="acme does not support embeddings"):
        codec.build_embeddings_request(emb)
    with pytest.raises(UnsupportedFeatureError):
        codec.parse_embeddings_response(HTTPResponse(200, {}, b"{}"), emb)


@pytest.mark.parametrize(
    ("provider", "base_url", "semconv", "apart"),
    [
        ("openai", "", "openai", False),
        ("xai", "", "x_ai", False),
        ("anthropic", "", "anthropic", True),
        ("gemini", "", "gcp.gemini", True),
        ("ollama", "", "ollama", False),
    ],
)
def test_built_in_provider_facts(provider: str, base_url: str, semconv: str, apart: bool) -> None:
    codec = metallm.provider.get_spec(provider).create(api_key=KEY, base_url=base_url or None)
    assert isinstance(codec, HTTPCodec)
    assert (codec.semconv_name, codec.system_instructions_apart) == (semconv, apart)


def test_gemini_on_vertex_reports_vertex_ai() -> None:
    codec = metallm.provider.get_spec("gemini").create(
        api_key=KEY,
        base_url="https://us-central1-aiplatform.googleapis.com",
        extra={"project": "p"},
    )
    assert isinstance(codec, HTTPCodec) and codec.semconv_name == "gcp.vertex_ai"


# -- EventDecoder ----------------------------------------------------------------------------


def test_events_split_anywhere_decode_the_same() -> None:
    body = sse('{"text": "hé"}', '{"text": "llo"}', '{"skip": 1}', "", "[END]") + b"data: x\n\n"
    for cut in range(len(body) + 1):
        decoder = acme().stream_decoder(req())
        chunks = decoder.feed(body[:cut]) + decoder.feed(body[cut:]) + decoder.close()
        assert texts(chunks) == "héllo", cut
        assert decoder.done
    one_by_one = acme().stream_decoder(req())
    chunks = [c for i in range(len(body)) for c in one_by_one.feed(body[i : i + 1])]
    assert texts(chunks + one_by_one.close()) == "héllo"


def test_after_the_end_marker_nothing_is_read() -> None:
    decoder = acme().stream_decoder(req())
    assert texts(decoder.feed(sse('{"text": "a"}', "[END]", '{"text": "b"}'))) == "a"
    assert decoder.feed(b"data: garbage\n\n") == [] and decoder.close() == []


def test_event_names_reach_on_event() -> None:
    decoder = acme().stream_decoder(req())
    decoder.feed(b'event: delta\ndata: {"text": "a"}\n\ndata: {"text": "b"}\n\n')
    assert decoder.names == ["delta", "message"]


def test_missing_end_marker_is_a_stream_error() -> None:
    decoder = acme().stream_decoder(req())
    assert texts(decoder.feed(sse('{"text": "a"}'))) == "a"
    with pytest.raises(StreamError, match=r"^stream ended before \[END\]$") as info:
        decoder.close()
    assert info.value.provider == "acme"
    cut = acme().stream_decoder(req())
    cut.feed(b'data: {"text": "a"}\n\ndata: {"tex')
    with pytest.raises(StreamError, match=r"before \[END\], inside an event \(stream event is"):
        cut.close()


def test_a_last_event_without_its_blank_line_still_counts() -> None:
    decoder = acme().stream_decoder(req())
    chunks = decoder.feed(b'data: {"text": "a"}\n\ndata: [END]')
    assert texts(chunks + decoder.close()) == "a"


@pytest.mark.parametrize(
    ("payload", "match"),
    [
        (f"not json {KEY}", r"^stream event is not JSON: not json \[REDACTED\]$"),
        (f'["{KEY}"]', r"^stream event is not a JSON object: \[\"\[REDACTED\]\"\]$"),
        (f'{{"nope": "{KEY}"}}', r"^malformed stream event \(KeyError: 'text'\): "),
        ("x" * 1000, r"^stream event is not JSON: x{297}\.\.\.$"),
    ],
)
def test_garbled_events_are_stream_errors_with_a_redacted_excerpt(payload: str, match: str) -> None:
    with pytest.raises(StreamError, match=match) as info:
        acme().stream_decoder(req()).feed(sse(payload))
    assert KEY not in str(info.value) and info.value.provider == "acme"


def test_error_events_raise_the_typed_api_error_redacted() -> None:
    event = {"error": {"message": f"quota for {KEY}", "type": "rate_limit_error", "code": "429"}}
    with pytest.raises(RateLimitError) as info:
        acme().stream_decoder(req()).feed(sse(json.dumps(event)))
    err = info.value
    assert (err.provider, err.status_code, err.type, err.code) == (
        "acme",
        None,
        "rate_limit_error",
        "429",
    )
    assert err.message == "quota for [REDACTED]"
    assert KEY not in json.dumps(err.body) and "[REDACTED]" in json.dumps(err.body)
    with pytest.raises(APIError, match="error event in stream"):
        acme().stream_decoder(req()).feed(b'event: error\ndata: {"detail": 1}\n\n')


def test_ndjson_framing() -> None:
    body = b'{"text": "a"}\r\n\n{"text": "b"}\n{"done": true}\n{"text": "after"}\n'
    for cut in range(len(body) + 1):
        decoder = LineDecoder("acme")
        chunks = decoder.feed(body[:cut]) + decoder.feed(body[cut:]) + decoder.close()
        assert texts(chunks) == "ab" and decoder.done, cut
    with pytest.raises(StreamError, match=r"^stream line is not JSON: \{\"te$"):
        LineDecoder("acme").feed(b'{"te\n')
    cut = LineDecoder("acme")
    cut.feed(b'{"text": "a"}\n{"te')
    with pytest.raises(StreamError, match=r"^stream ended before its done line, inside a line"):
        cut.close()
    with pytest.raises(StreamError, match=r"^stream ended before its done line$"):
        LineDecoder("acme").close()


# -- helpers ---------------------------------------------------------------------------------


def test_counts() -> None:
    assert (as_int(3), as_int(None), as_int(2.0)) == (3, 0, 2)
    assert (opt_int(None), opt_int(4)) == (None, 4)
    for bad in ("3", True):
        with pytest.raises(ValueError, match="not a number"):
            as_int(bad)


def test_arguments_text_and_tool_call_ids() -> None:
    assert arguments_text('{"a":1}') == '{"a":1}'
    assert arguments_text({"city": "Zürich", "n": 1}) == '{"city": "Zürich", "n": 1}'
    assert arguments_text(None) == "{}"
    assert tool_call_id("call_abc", 0, 1) == "call_abc"
    assert tool_call_id(None, 0, 2) == "call_0_2" and tool_call_id("", 1, 0) == "call_1_0"
    assert tool_call_id(None, 3, prefix="toolu") == "toolu_3"


def test_status_from_code_and_merge_extra() -> None:
    assert [status_from_code(c) for c in ("429", "200", "abc", None, "600")] == [
        429,
        None,
        None,
        None,
        None,
    ]
    assert status_from_code("200", lowest=100) == 200
    body = {"a": 1, "b": 2}
    assert merge_extra(body, {"b": None, "c": 3}) is body and body == {"a": 1, "c": 3}


def test_json_body_refuses_non_json_with_the_body_excerpt() -> None:
    assert json_body("acme", HTTPResponse(200, {}, b'{"a": 1}')) == {"a": 1}
    with pytest.raises(metallm.ResponseValidationError, match="response body is not JSON") as info:
        json_body("acme", HTTPResponse(200, {}, f"<html>{KEY}".encode()), (KEY,))
    assert KEY not in str(info.value) and info.value.status_code == 200


def test_builders_equal_validated_models() -> None:
    usage = make_usage(10, 5, cached_tokens=3)
    assert usage == Usage(prompt_tokens=10, completion_tokens=5, total_tokens=15, cached_tokens=3)
    call = make_tool_call("call_1", "f", '{"a": 1}')
    assert call == ToolCall(id="call_1", function=FunctionCall(name="f", arguments='{"a": 1}'))
    message = make_assistant_message(None, [call], "thought")
    assert message == Message(
        role="assistant", content=None, tool_calls=[call], reasoning_content="thought"
    )
    assert make_assistant_message("hi", []).tool_calls is None
    choice = make_choice(0, message, "tool_calls")
    assert choice == Choice(index=0, message=message, finish_reason="tool_calls")
    response = make_completion("acme", [choice], id="r1", model="m", usage=usage, created=7)
    assert response == ChatCompletionResponse(
        id="r1", created=7, model="m", provider="acme", choices=[choice], usage=usage
    )
    assert response.object == "chat.completion" and response.system_fingerprint is None


def test_stream_constructors_take_every_field() -> None:
    function = new_function_delta({"name": "f", "arguments": None})
    call = new_tool_call_delta({"index": 0, "id": "c", "type": "function", "function": function})
    delta = new_delta(
        {
            "role": None,
            "content": "x",
            "reasoning_content": None,
            "tool_calls": [call],
            "reasoning": None,
            "provider_data": None,
        }
    )
    choice = new_chunk_choice({"index": 0, "delta": delta, "finish_reason": None})
    chunk = new_chunk(
        {
            "id": "i",
            "object": "chat.completion.chunk",
            "created": 0,
            "model": "m",
            "choices": [choice],
            "usage": None,
            "system_fingerprint": None,
            "service_tier": None,
        }
    )
    expected_call = ToolCallDelta(id="c", type="function", function=FunctionCallDelta(name="f"))
    expected = ChatCompletionChunk(
        id="i",
        model="m",
        choices=[ChunkChoice(delta=Delta(content="x", tool_calls=[expected_call]))],
    )
    assert chunk == expected and chunk.model_dump() == expected.model_dump()


def test_refuse_fields_and_response_format_type() -> None:
    request = ChatCompletionRequest(
        model="m", messages=[Message(role="user", content="hi")], seed=1, top_k=2
    )
    refuse_fields(request, "acme", "user", "metadata")
    with pytest.raises(UnsupportedFeatureError, match=r"^acme does not support seed$"):
        refuse_fields(request, "acme", "user", "seed", "top_k")
    assert response_format_type(None) is None
    assert response_format_type(ResponseFormat(type="json_object")) == "json_object"
    assert response_format_type({"type": "text"}) == "text"
    assert response_format_type({}) is None

"""The Gemini codec (metallm.providers.gemini) against the recorded corpus and by hand.

Every file of ``corpus/gemini`` goes through the codec (``parse_response`` for chats,
``stream_decoder`` for streams, ``parse_error`` for error statuses) and the result is checked
field by field against the file's own JSON and against values written out below; stream bodies
are also split at arbitrary byte offsets. Requests are compared with hand-written bodies taken
from the Gemini API reference (``models.generateContent``).
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from _codec_helpers import accumulate as accumulate_chunks
from _codec_helpers import corpus_entries, decode_pieces, entry_id, require_entry, split_at
from metallm.errors import (
    AuthenticationError,
    ConfigurationError,
    InvalidRequestError,
    NotFoundError,
    RateLimitError,
    ResponseValidationError,
    StreamError,
    UnsupportedFeatureError,
)
from metallm.provider import HTTPProvider, HTTPResponse, ProviderSettings, StreamDecoder
from metallm.providers.gemini import DEFAULT_BASE_URL, GeminiProvider, create
from metallm.providers.gemini._response import FINISH_REASONS
from metallm.testing.corpus import CorpusEntry, corpus_dir, load_corpus_entry
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

KEY = "AIza-test-0123456789abcdefSECRET"


def make(key: str | None = KEY, base: str = DEFAULT_BASE_URL, **extra: Any) -> GeminiProvider:
    return create(ProviderSettings("gemini", key, base, extra))


def user(text: str = "hi") -> ChatCompletionRequest:
    return ChatCompletionRequest(
        model="gemini-2.5-flash", messages=[Message(role=Role.USER, content=text)]
    )


# --- corpus plumbing -----------------------------------------------------------------------


def _entries(kind: str) -> list[CorpusEntry | None]:
    return corpus_entries("gemini", kind)


def _require(entry: CorpusEntry | None) -> CorpusEntry:
    return require_entry(entry, "gemini")


_id = entry_id


def _named(name: str) -> CorpusEntry:
    path = corpus_dir() / "gemini" / f"{name}.json"
    if not path.exists():
        _require(None)
    return load_corpus_entry(path)


def http(entry: CorpusEntry) -> HTTPResponse:
    return HTTPResponse(entry.status, entry.response_headers, entry.body_bytes)


def decode(provider: GeminiProvider, *pieces: bytes) -> list[ChatCompletionChunk]:
    return decode_pieces(provider, user(), *pieces)


def accumulate(chunks: list[ChatCompletionChunk]) -> ChatCompletionResponse:
    return accumulate_chunks(chunks, "gemini")


def raw_events(entry: CorpusEntry) -> list[dict[str, Any]]:
    """The JSON payloads of a recorded SSE body, read without the codec."""
    out = []
    for block in entry.body_text.replace("\r\n", "\n").split("\n\n"):
        data = "\n".join(line[5:].strip() for line in block.split("\n") if line.startswith("data:"))
        if data:
            out.append(json.loads(data))
    return out


def expected(responses: list[dict[str, Any]]) -> dict[str, Any]:
    """What a reply (or a stream's events, folded) means, computed from the raw JSON."""
    text, thoughts, tools, finish, usage = [], [], [], None, None
    for obj in responses:
        for cand in obj.get("candidates", []):
            for part in cand["content"].get("parts", []):
                if "text" in part:
                    (thoughts if part.get("thought") else text).append(part["text"])
                if "functionCall" in part:
                    fc = part["functionCall"]
                    tools.append((f"call_0_{len(tools)}", fc["name"], fc.get("args", {})))
            finish = cand.get("finishReason", finish)
        usage = obj.get("usageMetadata", usage)
    assert usage is not None
    prompt = usage["promptTokenCount"] + usage.get("toolUsePromptTokenCount", 0)
    completion = usage.get("candidatesTokenCount", 0) + usage.get("thoughtsTokenCount", 0)
    return {
        "text": "".join(text),
        "reasoning": "".join(thoughts) or None,
        "tools": tools,
        "finish": "tool_calls" if tools else {"STOP": "stop", "MAX_TOKENS": "length"}[finish],
        "usage": (
            prompt,
            completion,
            prompt + completion,
            usage.get("cachedContentTokenCount"),
            usage.get("thoughtsTokenCount"),
        ),
        "total": usage["totalTokenCount"],
        "id": responses[0]["responseId"],
        "model": responses[0]["modelVersion"],
    }


def check(resp: ChatCompletionResponse, exp: dict[str, Any]) -> None:
    msg = resp.choices[0].message
    assert resp.id == exp["id"] and resp.model == exp["model"] and resp.provider == "gemini"
    assert (msg.content or "") == exp["text"]
    assert msg.reasoning_content == exp["reasoning"]
    got = [(t.id, t.function.name, json.loads(t.function.arguments)) for t in msg.tool_calls or []]
    assert got == exp["tools"]
    if exp["tools"]:
        assert msg.content is None
    assert resp.choices[0].finish_reason == exp["finish"]
    u = resp.usage
    assert u is not None
    got_usage = (u.prompt_tokens, u.completion_tokens, u.total_tokens, u.cached_tokens)
    assert (*got_usage, u.reasoning_tokens) == exp["usage"]
    assert u.total_tokens == exp["total"]  # Gemini's own total agrees with the normalisation


# --- corpus: chats, streams, errors --------------------------------------------------------


@pytest.mark.parametrize("entry", _entries("chat"), ids=_id)
def test_corpus_chat_parses_field_by_field(entry: CorpusEntry | None) -> None:
    entry = _require(entry)
    check(make().parse_response(http(entry)), expected([json.loads(entry.body_text)]))


@pytest.mark.parametrize("entry", _entries("stream"), ids=_id)
def test_corpus_stream_decodes_field_by_field(entry: CorpusEntry | None) -> None:
    entry = _require(entry)
    chunks = decode(make(), entry.body_bytes)
    assert chunks[-1].usage is not None, "a stream ends with its usage"
    assert all(c.usage is None for c in chunks[:-1]), "running usage is not repeated"
    assert chunks[-1].choices[0].finish_reason is not None
    check(accumulate(chunks), expected(raw_events(entry)))


@settings(max_examples=40, deadline=None)
@given(points=st.lists(st.integers(min_value=0), max_size=40), which=st.integers(0, 10))
def test_corpus_stream_split_anywhere_gives_identical_chunks(points: list[int], which: int) -> None:
    entries = [e for e in _entries("stream") if e is not None]
    if not entries:
        _require(None)
    entry = entries[which % len(entries)]
    whole = [c.model_dump() for c in decode(make(), entry.body_bytes)]
    split = [c.model_dump() for c in decode(make(), *split_at(entry.body_bytes, points))]
    assert split == whole


def test_corpus_hand_checked_values() -> None:
    basic = make().parse_response(http(_named("chat_basic")))
    assert basic.usage is not None
    assert basic.usage.model_dump() == {
        "prompt_tokens": 13,
        "completion_tokens": 102,  # 77 candidates + 25 thoughts
        "total_tokens": 115,
        "cached_tokens": None,
        "cache_write_tokens": None,
        "reasoning_tokens": 25,
    }
    assert basic.content.endswith("So, 4200 + 42 = **4242**.")
    thinking = make().parse_response(http(_named("chat_thinking")))
    assert thinking.content.endswith("3") and "**Analyzing Prime Numbers" in (
        thinking.choices[0].message.reasoning_content or ""
    )
    assert "Analyzing" not in thinking.content
    stream = accumulate(decode(make(), _named("stream_thinking").body_bytes))
    assert stream.content == "3" and stream.usage is not None
    assert (stream.usage.prompt_tokens, stream.usage.completion_tokens) == (30, 1947)
    maxed = make().parse_response(http(_named("chat_max_tokens")))
    assert (
        maxed.choices[0].finish_reason == "length" and maxed.content == "Here is a list of all 50 U"
    )


def test_stream_and_plain_tool_calls_get_the_same_ids() -> None:
    plain = make().parse_response(http(_named("chat_function_call")))
    streamed = accumulate(decode(make(), _named("stream_function_call").body_bytes))
    ids = ["call_0_0", "call_0_1"]
    for resp in (plain, streamed):
        calls = resp.choices[0].message.tool_calls or []
        assert [c.id for c in calls] == ids
        assert [c.function.arguments for c in calls] == [
            '{"password": "mellon"}',
            '{"password": "radiance"}',
        ]


@pytest.mark.parametrize("entry", _entries("error"), ids=_id)
def test_corpus_errors_are_typed(entry: CorpusEntry | None) -> None:
    entry = _require(entry)
    err = make().parse_error(http(entry))
    body = json.loads(entry.body_text)["error"]
    assert err.status_code == entry.status and err.provider == "gemini"
    assert err.message == body["message"] and err.type == body["status"]
    reasons = [d["reason"] for d in body.get("details", []) if "reason" in d]
    assert err.code == (reasons[0] if reasons else str(body["code"]))
    assert type(err) is (AuthenticationError if reasons == ["API_KEY_INVALID"] else NotFoundError)
    assert err.body == json.loads(entry.body_text)


def test_plain_json_error_on_a_stream_raises_the_typed_error() -> None:
    entry = _named("error_400_invalid_api_key_stream")
    assert entry.response_headers["content-type"].startswith("text/event-stream")
    decoder = make().stream_decoder(user())
    for piece in split_at(entry.body_bytes, [7, 50, 300]):
        assert decoder.feed(piece) == []
    with pytest.raises(AuthenticationError) as info:
        decoder.close()
    assert info.value.code == "API_KEY_INVALID" and info.value.status_code == 400


# --- requests -------------------------------------------------------------------------------


def full_request() -> ChatCompletionRequest:
    return ChatCompletionRequest(
        model="gemini-2.5-pro",
        messages=[
            Message(role=Role.SYSTEM, content="Be brief."),
            Message(role=Role.SYSTEM, content="Use tools."),
            Message(
                role=Role.USER,
                content=[
                    TextPart(text="What is in this image, and the weather?"),
                    ImagePart.from_base64("iVBORw0KGgo=", "image/png"),
                    ImagePart.from_url("https://example.com/cat.jpg"),
                ],
            ),
            Message(
                role=Role.ASSISTANT,
                content="Let me check.",
                reasoning_content="not sent back",
                tool_calls=[
                    ToolCall(
                        id="c1", function=FunctionCall(name="weather", arguments='{"city":"Paris"}')
                    ),
                    ToolCall(id="c2", function=FunctionCall(name="time", arguments="{}")),
                ],
            ),
            Message(role=Role.TOOL, tool_call_id="c1", content='{"temp": 21, "sky": "clear"}'),
            Message(role=Role.TOOL, tool_call_id="c2", content="14:05"),
            Message(role=Role.USER, content="Thanks."),
        ],
        max_tokens=256,
        temperature=0.5,
        top_p=0.9,
        top_k=40,
        stop=["END", "STOP"],
        n=2,
        seed=7,
        frequency_penalty=0.1,
        presence_penalty=0.2,
        tools=[
            Tool(
                function=FunctionDefinition(
                    name="weather",
                    description="Weather for a city.",
                    parameters={"type": "object", "properties": {"city": {"type": "string"}}},
                )
            ),
            Tool(function=FunctionDefinition(name="time")),
        ],
        tool_choice={"type": "function", "function": {"name": "weather"}},
        response_format=ResponseFormat(
            type="json_schema", json_schema={"name": "answer", "schema": {"type": "object"}}
        ),
        reasoning_effort="low",
        extra={"safetySettings": [{"category": "HARM_CATEGORY_HATE_SPEECH", "threshold": "OFF"}]},
    )


FULL_BODY = {
    "contents": [
        {
            "role": "user",
            "parts": [
                {"text": "What is in this image, and the weather?"},
                {"inlineData": {"mimeType": "image/png", "data": "iVBORw0KGgo="}},
                {"fileData": {"fileUri": "https://example.com/cat.jpg", "mimeType": "image/jpeg"}},
            ],
        },
        {
            "role": "model",
            "parts": [
                {"text": "Let me check."},
                {"functionCall": {"name": "weather", "args": {"city": "Paris"}}},
                {"functionCall": {"name": "time", "args": {}}},
            ],
        },
        {
            "role": "user",
            "parts": [
                {"functionResponse": {"name": "weather", "response": {"temp": 21, "sky": "clear"}}},
                {"functionResponse": {"name": "time", "response": {"result": "14:05"}}},
                {"text": "Thanks."},
            ],
        },
    ],
    "systemInstruction": {"parts": [{"text": "Be brief."}, {"text": "Use tools."}]},
    "tools": [
        {
            "functionDeclarations": [
                {
                    "name": "weather",
                    "description": "Weather for a city.",
                    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
                },
                {"name": "time"},
            ]
        }
    ],
    "toolConfig": {"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": ["weather"]}},
    "generationConfig": {
        "maxOutputTokens": 256,
        "temperature": 0.5,
        "topP": 0.9,
        "topK": 40,
        "seed": 7,
        "candidateCount": 2,
        "presencePenalty": 0.2,
        "frequencyPenalty": 0.1,
        "stopSequences": ["END", "STOP"],
        "responseMimeType": "application/json",
        "responseJsonSchema": {"type": "object"},
        "thinkingConfig": {"thinkingBudget": 1024, "includeThoughts": True},
    },
    "safetySettings": [{"category": "HARM_CATEGORY_HATE_SPEECH", "threshold": "OFF"}],
}


def test_full_request_body_and_headers() -> None:
    sent = make().build_request(full_request(), stream=False)
    assert sent.method == "POST"
    assert sent.url == (
        "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-pro:generateContent"
    )
    assert dict(sent.headers) == {
        "content-type": "application/json",
        "user-agent": "metallm/0.1.0",
        "x-goog-api-key": KEY,
        "accept": "application/json",
    }
    assert sent.content is not None
    assert json.loads(sent.content) == FULL_BODY
    assert KEY not in sent.url and KEY not in repr(sent) and KEY not in repr(make())


def test_stream_request_url_and_headers() -> None:
    sent = make().build_request(user(), stream=True)
    assert sent.url.endswith("/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse")
    assert sent.headers["accept"] == "text/event-stream"
    assert sent.content is not None
    assert json.loads(sent.content) == {"contents": [{"role": "user", "parts": [{"text": "hi"}]}]}


def test_corpus_tool_conversation_request_matches_the_recording() -> None:
    entry = _named("chat_function_response_followup")
    args = [{"password": "mellon"}, {"password": "radiance"}]
    outputs = ["Welcome to Moria!", "Life before Death"]
    req = ChatCompletionRequest(
        model="gemini-2.5-flash",
        messages=[
            Message(role=Role.SYSTEM, content="Use parallel tool calling."),
            Message(role=Role.USER, content=entry.request_body["contents"][0]["parts"][0]["text"]),
            Message(
                role=Role.ASSISTANT,
                tool_calls=[
                    ToolCall(
                        id=f"call_0_{i}",
                        function=FunctionCall(
                            name="secret_retrieval_tool", arguments=json.dumps(a)
                        ),
                    )
                    for i, a in enumerate(args)
                ],
            ),
            *(
                Message(
                    role=Role.TOOL, tool_call_id=f"call_0_{i}", content=json.dumps({"output": o})
                )
                for i, o in enumerate(outputs)
            ),
        ],
        tools=[
            Tool(
                function=FunctionDefinition(
                    name="secret_retrieval_tool", parameters={"type": "OBJECT"}
                )
            )
        ],
    )
    body = json.loads(make().build_request(req, stream=False).content or b"")
    recorded = entry.request_body
    for content in recorded["contents"]:  # thought signatures cannot ride on unified messages
        for part in content["parts"]:
            part.pop("thoughtSignature", None)
    assert body["contents"] == recorded["contents"]
    assert body["systemInstruction"]["parts"] == recorded["systemInstruction"]["parts"]
    assert entry.request_path == "/v1beta/models/gemini-2.5-flash:generateContent"


def test_vertex_ai_url_and_headers() -> None:
    vertex = make(
        "ya29.token-SECRET-value",
        "https://us-central1-aiplatform.googleapis.com",
        project="my-proj",
    )
    sent = vertex.build_request(user(), stream=True)
    assert vertex.vertex and sent.url == (
        "https://us-central1-aiplatform.googleapis.com/v1/projects/my-proj/locations/"
        "us-central1/publishers/google/models/gemini-2.5-flash:streamGenerateContent?alt=sse"
    )
    assert sent.headers["authorization"] == "Bearer ya29.token-SECRET-value"
    assert "x-goog-api-key" not in sent.headers
    plain = make(
        "tok-12345", "https://aiplatform.googleapis.com", project="p", location="europe-west4"
    )
    assert plain.build_request(user(), stream=False).url == (
        "https://aiplatform.googleapis.com/v1/projects/p/locations/europe-west4/publishers/google"
        "/models/gemini-2.5-flash:generateContent"
    )
    assert plain.secrets() == ("tok-12345",)
    with pytest.raises(ConfigurationError, match="project"):
        make("tok-12345", "https://aiplatform.googleapis.com")


def test_versioned_base_url_headers_override_and_model_prefix() -> None:
    p = make(base="http://127.0.0.1:9/v1beta/", headers={"X-Goog-Api-Key": "other", "x-extra": "1"})
    sent = p.build_request(user().model_copy(update={"model": "models/gemini-pro"}), stream=False)
    assert sent.url == "http://127.0.0.1:9/v1beta/models/gemini-pro:generateContent"
    assert sent.headers["X-Goog-Api-Key"] == "other" and "x-goog-api-key" not in sent.headers
    assert sent.headers["x-extra"] == "1"
    assert isinstance(p, HTTPProvider) and isinstance(p.stream_decoder(user()), StreamDecoder)
    assert (
        make(None).secrets() == ()
        and "x-goog-api-key" not in make(None).build_request(user(), stream=False).headers
    )


def test_tool_choice_json_object_and_extra_merging() -> None:
    def body(**fields: Any) -> dict[str, Any]:
        req = user().model_copy(update=fields)
        return json.loads(make().build_request(req, stream=False).content or b"")

    for choice, mode in (("auto", "AUTO"), ("none", "NONE"), ("required", "ANY")):
        assert body(tool_choice=choice)["toolConfig"] == {"functionCallingConfig": {"mode": mode}}
    assert body(response_format={"type": "json_object"})["generationConfig"] == {
        "responseMimeType": "application/json"
    }
    assert "generationConfig" not in body(response_format=ResponseFormat(type="text"))
    merged = body(
        temperature=1.0,
        extra={
            "generationConfig": {"temperature": None, "responseModalities": ["TEXT"]},
            "thinkingConfig": {"thinkingBudget": 0},
            "cachedContent": "cachedContents/abc",
        },
    )
    assert merged["generationConfig"] == {
        "responseModalities": ["TEXT"],
        "thinkingConfig": {"thinkingBudget": 0},
    }
    assert merged["cachedContent"] == "cachedContents/abc"
    assert body(extra={"contents": None}) == {}


@pytest.mark.parametrize(
    ("fields", "feature"),
    [
        ({"user": "u1"}, "user"),
        ({"metadata": {"a": "b"}}, "metadata"),
        ({"reasoning_effort": "extreme"}, "reasoning_effort='extreme'"),
        ({"tool_choice": "sometimes"}, "tool_choice='sometimes'"),
        (
            {"tools": [Tool(function=FunctionDefinition(name="f", strict=True))]},
            "tools[].function.strict",
        ),
        (
            {
                "messages": [
                    Message(role=Role.USER, content=[ImagePart.from_url("https://x/a.png", "high")])
                ]
            },
            "image_url.detail",
        ),
        (
            {
                "messages": [
                    Message(role=Role.USER, content=[ImagePart.from_url("https://x/image")])
                ]
            },
            "image URL without a known file type",
        ),
    ],
)
def test_unsupported_features_raise_before_io(fields: dict[str, Any], feature: str) -> None:
    with pytest.raises(UnsupportedFeatureError) as info:
        make().build_request(user().model_copy(update=fields), stream=False)
    assert info.value.provider == "gemini" and info.value.feature == feature


@pytest.mark.parametrize(
    ("messages", "match"),
    [
        ([Message(role=Role.TOOL, tool_call_id="nope", content="x")], "matches no earlier"),
        (
            [
                Message(
                    role=Role.ASSISTANT,
                    tool_calls=[ToolCall(id="a", function=FunctionCall(name="f", arguments="[1]"))],
                )
            ],
            "JSON object",
        ),
        (
            [
                Message(
                    role=Role.ASSISTANT,
                    tool_calls=[ToolCall(id="a", function=FunctionCall(name="f", arguments="{x"))],
                )
            ],
            "not JSON",
        ),
        ([Message(role=Role.USER, content=[ImagePart.from_url("ftp://x/a.png")])], "https"),
    ],
)
def test_invalid_requests_are_rejected(messages: list[Message], match: str) -> None:
    with pytest.raises(InvalidRequestError, match=match):
        make().build_request(user().model_copy(update={"messages": messages}), stream=False)
    with pytest.raises(InvalidRequestError, match="json_schema"):
        make().build_request(
            user().model_copy(update={"response_format": ResponseFormat(type="json_schema")}),
            stream=False,
        )


# --- normalisation details ------------------------------------------------------------------


def reply(obj: Any, status: int = 200) -> HTTPResponse:
    return HTTPResponse(status, {"content-type": "application/json"}, json.dumps(obj).encode())


def candidate(
    parts: list[dict[str, Any]], finish: str | None = "STOP", index: int = 0
) -> dict[str, Any]:
    out: dict[str, Any] = {"content": {"role": "model", "parts": parts}, "index": index}
    if finish:
        out["finishReason"] = finish
    return out


def test_finish_reasons_and_usage_normalise() -> None:
    assert FINISH_REASONS["SAFETY"] == "content_filter" and FINISH_REASONS["OTHER"] == "error"
    for wire, unified in [
        ("STOP", "stop"),
        ("MAX_TOKENS", "length"),
        ("RECITATION", "content_filter"),
        ("SPII", "content_filter"),
        ("PROHIBITED_CONTENT", "content_filter"),
        ("BLOCKLIST", "content_filter"),
        ("IMAGE_SAFETY", "content_filter"),
        ("MALFORMED_FUNCTION_CALL", "error"),
        ("SOMETHING_NEW", "stop"),
    ]:
        usage = {
            "promptTokenCount": 100,
            "cachedContentTokenCount": 60,
            "toolUsePromptTokenCount": 5,
            "candidatesTokenCount": 7,
            "thoughtsTokenCount": 3,
        }
        resp = make().parse_response(
            reply({"candidates": [candidate([{"text": "x"}], wire)], "usageMetadata": usage})
        )
        assert resp.choices[0].finish_reason == unified
        assert resp.usage is not None
        assert resp.usage.model_dump() == {
            "prompt_tokens": 105,
            "completion_tokens": 10,
            "total_tokens": 115,
            "cached_tokens": 60,
            "cache_write_tokens": None,
            "reasoning_tokens": 3,
        }
    blocked = make().parse_response(reply({"promptFeedback": {"blockReason": "SAFETY"}}))
    assert blocked.choices[0].finish_reason == "content_filter" and blocked.content == ""
    ided = make().parse_response(
        reply({"candidates": [candidate([{"functionCall": {"id": "fc-9", "name": "f"}}])]})
    )
    call = (ided.choices[0].message.tool_calls or [])[0]
    assert (call.id, call.function.arguments, ided.choices[0].finish_reason) == (
        "fc-9",
        "{}",
        "tool_calls",
    )


def sse(*objs: Any) -> bytes:
    return b"".join(b"data: " + json.dumps(o).encode() + b"\r\n\r\n" for o in objs)


def test_stream_multi_candidate_unknown_events_and_late_usage() -> None:
    body = sse(
        {"candidates": [candidate([{"text": "a"}], None, 0), candidate([{"text": "b"}], None, 1)]},
        {"somethingNew": True},
        {"candidates": [candidate([{"functionCall": {"name": "f", "args": {"x": 1}}}], "STOP", 1)]},
        {"candidates": [candidate([{"text": "c"}], "STOP", 0)]},
        {"usageMetadata": {"promptTokenCount": 4, "candidatesTokenCount": 2}},
    )
    chunks = decode(make(), body)
    assert chunks[-1].usage is not None and chunks[-1].usage.total_tokens == 6
    resp = accumulate(chunks)
    assert [c.message.content for c in resp.choices] == ["ac", "b"]
    assert [c.finish_reason for c in resp.choices] == ["stop", "tool_calls"]
    call = (resp.choices[1].message.tool_calls or [])[0]
    assert (call.id, call.function.arguments) == ("call_1_0", '{"x": 1}')
    # usage that arrived before the finish is still delivered, on a closing usage-only chunk
    early = decode(
        make(),
        sse(
            {
                "candidates": [candidate([{"text": "a"}], None)],
                "usageMetadata": {"promptTokenCount": 1},
            },
            {"candidates": [candidate([{"text": "b"}], "STOP")]},
        ),
    )
    assert early[-1].choices == [] and early[-1].usage is not None


def test_in_stream_error_event_raises_typed_error() -> None:
    err = {
        "error": {"code": 429, "message": "Quota exceeded " + KEY, "status": "RESOURCE_EXHAUSTED"}
    }
    decoder = make().stream_decoder(user())
    assert decoder.feed(sse({"candidates": [candidate([{"text": "a"}], None)]}))
    with pytest.raises(RateLimitError) as info:
        decoder.feed(sse(err))
    assert info.value.status_code == 429 and KEY not in str(info.value)
    assert KEY not in json.dumps(info.value.body) and "[REDACTED]" in json.dumps(info.value.body)


@pytest.mark.parametrize(
    ("body", "match"),
    [
        (sse({"candidates": [candidate([{"text": "a"}], None)]}), "before a finishReason"),
        (b"", "before a finishReason"),
        (b"data: {not json\n\n", "not JSON"),
        (b"data: [1, 2]\n\n", "not a JSON object"),
        (b'data: {"candidates": [{"content": 5}]}\n\n', "malformed stream event"),
        (b"<html>" + KEY.encode() + b"</html>", "no server-sent events"),
    ],
)
def test_malformed_streams_raise_stream_error(body: bytes, match: str) -> None:
    with pytest.raises(StreamError, match=match) as info:
        decode(make(), body)
    assert KEY not in str(info.value)


@pytest.mark.parametrize(
    ("body", "match"),
    [
        (b"not json " + KEY.encode(), "not JSON"),
        (b"[1]", "not a JSON object"),
        (b'{"usageMetadata": {}}', "no 'candidates'"),
        (
            b'{"candidates": [{"content": {"parts": [{"text": "a"}]}}],'
            b' "usageMetadata": {"promptTokenCount": "x"}}',
            "malformed",
        ),
    ],
)
def test_malformed_replies_raise_validation_error(body: bytes, match: str) -> None:
    with pytest.raises(ResponseValidationError, match=match) as info:
        make().parse_response(HTTPResponse(200, {}, body))
    assert KEY not in str(info.value) and info.value.status_code == 200


def test_error_bodies_are_redacted_and_typed() -> None:
    body = {"error": {"code": 429, "message": f"slow down {KEY}", "status": "RESOURCE_EXHAUSTED"}}
    err = make().parse_error(HTTPResponse(429, {"retry-after": "3"}, json.dumps(body).encode()))
    assert type(err) is RateLimitError and err.retry_after == 3.0
    assert KEY not in str(err) and KEY not in repr(err) and KEY not in json.dumps(err.body)
    wrapped = make().parse_error(HTTPResponse(500, {}, json.dumps([body]).encode()))
    assert type(wrapped) is RateLimitError  # RESOURCE_EXHAUSTED wins over the status


def test_gemini_3_replayed_calls_carry_the_skip_signature_sentinel() -> None:
    calls = [
        ToolCall(id=f"c{i}", function=FunctionCall(name="f", arguments="{}")) for i in range(2)
    ]
    messages = [
        Message(role=Role.USER, content="go"),
        Message(role=Role.ASSISTANT, tool_calls=calls),
        Message(role=Role.TOOL, tool_call_id="c0", content="a"),
        Message(role=Role.TOOL, tool_call_id="c1", content="b"),
    ]
    for model, signed in [
        ("gemini-3-flash-preview", True),
        ("gemini-3.1-pro", True),
        ("gemini-2.5-flash", False),
    ]:
        req = ChatCompletionRequest(model=model, messages=messages)
        body = json.loads(make().build_request(req, stream=False).content or b"")
        parts = body["contents"][1]["parts"]
        # parallel calls: only the first functionCall part of the turn has a signature
        assert [p.get("thoughtSignature") for p in parts] == [
            "skip_thought_signature_validator" if signed else None,
            None,
        ]

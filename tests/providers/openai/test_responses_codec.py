"""The OpenAI Responses API codec against the recorded corpus and hand-written streams.

Every file of ``corpus/openai_responses`` goes through the codec (``parse_response`` for
chats, ``stream_decoder`` for streams, ``parse_error`` for the error), and the result is
checked twice: against values written out below, and against the file's own JSON read here
without the codec (a stream's deltas must add up to the ``response`` object its last event
carries). Every recorded stream split at arbitrary points decodes identically (hypothesis).
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from _codec_helpers import accumulate, decode_pieces, entry_id, require_entry, split_at
from metallm.errors import (
    APIError,
    BadRequestError,
    ConfigurationError,
    InternalServerError,
    RateLimitError,
    ResponseValidationError,
    StreamError,
)
from metallm.provider import HTTPResponse, ProviderSettings, get_spec
from metallm.providers.openai import OpenAIProvider, OpenAIResponsesProvider, create
from metallm.testing.corpus import CorpusEntry, corpus_files, load_corpus_entry
from metallm.types import ChatCompletionChunk, ChatCompletionRequest, Message, Role

KEY = "sk-test-responses-SECRET-0123456789"
FOLDER = "openai_responses"


def make(**extra: Any) -> OpenAIResponsesProvider:
    codec = create(
        ProviderSettings("openai", KEY, "https://api.openai.com/v1", {"api": "responses", **extra})
    )
    assert isinstance(codec, OpenAIResponsesProvider)
    return codec


def req() -> ChatCompletionRequest:
    return ChatCompletionRequest(
        model="gpt-5-mini", messages=[Message(role=Role.USER, content="hi")]
    )


def entries(kind: str) -> list[CorpusEntry | None]:
    found = [load_corpus_entry(p) for p in corpus_files(FOLDER)]
    if kind == "error":
        chosen: list[CorpusEntry | None] = [e for e in found if e.status >= 400]
    else:
        chosen = [e for e in found if e.status < 400 and e.is_stream == (kind == "stream")]
    return chosen or [None]


def decode(
    *pieces: bytes, codec: OpenAIResponsesProvider | None = None
) -> list[ChatCompletionChunk]:
    return decode_pieces(codec or make(), req(), *pieces)


def events(body: str) -> list[dict[str, Any]]:
    """The JSON payloads of a recorded event stream, read without the codec."""
    out = []
    for block in body.split("\n\n"):
        data = [line[5:].lstrip(" ") for line in block.split("\n") if line.startswith("data:")]
        if data:
            out.append(json.loads("\n".join(data)))
    return out


def sse(*objs: dict[str, Any]) -> bytes:
    """An event stream in the Responses API's framing (``event:`` then ``data:``)."""
    return b"".join(f"event: {o['type']}\ndata: {json.dumps(o)}\n\n".encode() for o in objs)


# --- what the recorded response objects say, read without the codec ---------------------------


def expected_from_response(obj: dict[str, Any]) -> dict[str, Any]:
    texts, calls, summaries, encrypted, phase = [], [], [], [], None
    for item in obj["output"]:
        if item["type"] == "message":
            texts += [p["text"] for p in item["content"] if p["type"] == "output_text"]
            phase = item.get("phase", phase)
        elif item["type"] == "function_call":
            calls.append((item["call_id"], item["name"], item["arguments"]))
        elif item["type"] == "reasoning":
            parts = [s["text"] for s in item["summary"] if s["text"]]
            if parts:
                summaries.append("\n\n".join(parts))
            encrypted.append(item.get("encrypted_content"))
    u = obj["usage"]
    incomplete = (obj.get("incomplete_details") or {}).get("reason")
    finish = "tool_calls" if calls else {"max_output_tokens": "length"}.get(incomplete, "stop")
    return {
        "id": obj["id"],
        "model": obj["model"],
        "text": "".join(texts) if texts or not calls else None,
        "calls": calls,
        "reasoning": "\n\n".join(summaries) or None,
        "encrypted": encrypted,
        "phase": phase,
        "finish": finish,
        "usage": (
            u["input_tokens"],
            u["output_tokens"],
            u["total_tokens"],
            u["input_tokens_details"]["cached_tokens"],
            u["output_tokens_details"]["reasoning_tokens"],
        ),
    }


def summary(response: Any) -> dict[str, Any]:
    message = response.choices[0].message
    u = response.usage
    return {
        "id": response.id,
        "model": response.model,
        "text": message.content,
        "calls": [(t.id, t.function.name, t.function.arguments) for t in message.tool_calls or ()],
        "reasoning": message.reasoning_content,
        "encrypted": [p.encrypted for p in message.reasoning or ()],
        "phase": (message.provider_data or {}).get("openai", {}).get("phase"),
        "finish": response.choices[0].finish_reason,
        "usage": (
            u.prompt_tokens,
            u.completion_tokens,
            u.total_tokens,
            u.cached_tokens,
            u.reasoning_tokens,
        ),
    }


# --- values written out from the recorded files ----------------------------------------------

WRITTEN: dict[str, dict[str, Any]] = {
    "chat_basic": {
        "text": "pong",
        "finish": "stop",
        "usage": (11, 5, 16, 0, 0),
        "calls": [],
        "phase": "final_answer",
    },
    "chat_function_call_output_followup": {
        "text": "1231 * 2331 = 2,869,461",
        "finish": "stop",
        "usage": (94, 17, 111, 0, 0),
        "calls": [],
        "phase": "final_answer",
    },
    "chat_function_call_reasoning_encrypted": {
        "text": None,
        "finish": "tool_calls",
        "usage": (94, 85, 179, 0, 63),
        "calls": [("call_uy7tfNVokIN7NjFF6k7OtLyl", "lookup_population", '{"country":"Pundora"}')],
        "reasoning_items": ["rs_0f4809b27460351d0169fab21897dc8196960e8680fb72a88d"],
    },
    "stream_basic": {
        "text": "pong",
        "finish": "stop",
        "usage": (11, 5, 16, 0, 0),
        "calls": [],
        "phase": "final_answer",
    },
    "stream_function_call": {
        "text": None,
        "finish": "tool_calls",
        "usage": (58, 23, 81, 0, 0),
        "calls": [("call_sVidsfFJ6zlzRpelrPkTPlpd", "multiply", '{"a":1231,"b":2331}')],
    },
    "stream_incomplete_max_output_tokens": {
        "finish": "length",
        "usage": (14, 50, 64, 0, 0),
        "calls": [],
        "starts": "Sure! Here is a list of all 50 U.S. states:\n\n1. Alabama",
        "ends": "9. Florida",
    },
    "stream_reasoning_summary": {
        "finish": "stop",
        "usage": (13, 1680, 1693, 0, 1408),
        "calls": [],
        "starts": "I'm not a road safety professional",
        "reasoning_starts": "**Providing street crossing instructions**\n\nThe user is asking",
        "summary_parts": 4,
        "reasoning_items": ["rs_68c42d1d0878819d8266007cd3d1402c08fbf9b1584184ff"],
    },
}


def check_written(name: str, got: dict[str, Any], response: Any) -> None:
    want = WRITTEN[name]
    for key in ("finish", "usage", "calls"):
        assert got[key] == want[key], (name, key)
    assert got["phase"] == want.get("phase"), name
    if "text" in want:
        assert got["text"] == want["text"], name
    else:
        assert got["text"].startswith(want["starts"]), name
        assert got["text"].endswith(want.get("ends", "")), name
    if "reasoning_starts" in want:
        assert got["reasoning"].startswith(want["reasoning_starts"])
        assert got["reasoning"].count("\n\n**") == want["summary_parts"] - 1
    message = response.choices[0].message
    items = (message.provider_data or {}).get("openai", {}).get("reasoning", [])
    assert [i["id"] for i in items] == want.get("reasoning_items", []), name
    assert [p.provider for p in message.reasoning or ()] == ["openai"] * len(items)
    assert response.provider == "openai"


def test_every_corpus_file_has_written_values() -> None:
    names = {p.stem for p in corpus_files(FOLDER)}
    if not names:
        pytest.skip("corpus not found (set METALLM_CORPUS)")
    assert names == {*WRITTEN, "error_400_model_not_found"}


@pytest.mark.parametrize("entry", entries("chat"), ids=entry_id)
def test_corpus_reply_parses(entry: CorpusEntry | None) -> None:
    entry = require_entry(entry, FOLDER)
    response = make().parse_response(HTTPResponse(200, entry.response_headers, entry.body_bytes))
    raw = json.loads(entry.body_text)
    got = summary(response)
    assert got == expected_from_response(raw)
    check_written(entry.path.stem, got, response)
    assert response.created == raw["created_at"] and response.service_tier == raw["service_tier"]
    message = response.choices[0].message
    reasoning = [i for i in raw["output"] if i["type"] == "reasoning"]
    assert (message.provider_data or {}).get("openai", {}).get("reasoning", []) == reasoning


@pytest.mark.parametrize("entry", entries("stream"), ids=entry_id)
def test_corpus_stream_decodes(entry: CorpusEntry | None) -> None:
    entry = require_entry(entry, FOLDER)
    chunks = decode(*[b + b"\n\n" for b in entry.body_bytes.split(b"\n\n") if b])
    response = accumulate(chunks, "openai")
    raw = events(entry.body_text)
    final = raw[-1]["response"]
    assert raw[-1]["type"] in ("response.completed", "response.incomplete")
    got = summary(response)
    want = expected_from_response(final)
    # the stream keeps each reasoning item as its output_item.done event gave it (the final
    # response object re-encrypts the same reasoning)
    done = [e["item"] for e in raw if e["type"] == "response.output_item.done"]
    want["encrypted"] = [i.get("encrypted_content") for i in done if i["type"] == "reasoning"]
    assert got == want
    check_written(entry.path.stem, got, response)
    assert chunks[0].choices[0].delta.role is Role.ASSISTANT
    assert all(c.id == final["id"] and c.model == final["model"] for c in chunks)
    assert [i for i, c in enumerate(chunks) if c.usage is not None] == [len(chunks) - 1]
    assert [c.choices[0].finish_reason for c in chunks if c.choices[0].finish_reason] == [
        got["finish"]
    ]
    assert response.service_tier == final["service_tier"]
    for chunk in chunks:  # built without validation: still valid models
        assert ChatCompletionChunk.model_validate(chunk.model_dump()) == chunk


@pytest.mark.parametrize("entry", entries("stream"), ids=entry_id)
@settings(max_examples=40, deadline=None)
@given(points=st.lists(st.integers(min_value=0), max_size=60))
def test_corpus_stream_split_anywhere(entry: CorpusEntry | None, points: list[int]) -> None:
    entry = require_entry(entry, FOLDER)
    assert decode(*split_at(entry.body_bytes, points)) == decode(entry.body_bytes)


@pytest.mark.parametrize("entry", entries("stream"), ids=entry_id)
def test_corpus_stream_cut_before_its_end(entry: CorpusEntry | None) -> None:
    entry = require_entry(entry, FOLDER)
    body = entry.body_bytes
    last = body.rindex(b"event: response.")
    for cut in (last, len(body) // 2, 0, len(body) - 3):
        decoder = make().stream_decoder(req())
        delivered = decoder.feed(body[:cut])
        with pytest.raises(StreamError, match=r"before response\.completed") as info:
            decoder.close()
        assert info.value.provider == "openai"
        if cut == last:
            assert delivered, "what came before the cut is delivered"


@pytest.mark.parametrize("entry", entries("error"), ids=entry_id)
def test_corpus_error_is_typed(entry: CorpusEntry | None) -> None:
    entry = require_entry(entry, FOLDER)
    error = make().parse_error(HTTPResponse(entry.status, entry.response_headers, entry.body_bytes))
    raw = json.loads(entry.body_text)["error"]
    assert type(error) is BadRequestError and error.status_code == 400
    assert (error.message, error.type, error.code) == (raw["message"], raw["type"], raw["code"])
    assert error.code == "model_not_found"
    assert error.request_id == entry.response_headers["x-request-id"]


# --- hand-written streams: what the recordings do not show ---------------------------------


def _created(**response: Any) -> dict[str, Any]:
    return {
        "type": "response.created",
        "response": {
            "id": "resp_1",
            "model": "gpt-5",
            "created_at": 7,
            "status": "in_progress",
            "output": [],
            **response,
        },
    }


def _completed(output: list[Any], status: str = "completed", **response: Any) -> dict[str, Any]:
    usage = {
        "input_tokens": 20,
        "input_tokens_details": {"cached_tokens": 8, "cache_write_tokens": 4},
        "output_tokens": 9,
        "output_tokens_details": {"reasoning_tokens": 3},
        "total_tokens": 29,
    }
    body = {
        "id": "resp_1",
        "model": "gpt-5",
        "status": status,
        "output": output,
        "usage": usage,
        **response,
    }
    kind = "response.completed" if status == "completed" else f"response.{status}"
    return {"type": kind, "response": body}


def _call(n: int, call_id: str, name: str, arguments: str = "") -> dict[str, Any]:
    return {
        "id": f"fc_{n}",
        "type": "function_call",
        "call_id": call_id,
        "name": name,
        "arguments": arguments,
    }


def _args(n: int, text: str) -> dict[str, Any]:
    return {
        "type": "response.function_call_arguments.delta",
        "output_index": n,
        "item_id": f"fc_{n}",
        "delta": text,
    }


def test_parallel_calls_interleaved_keep_their_own_arguments() -> None:
    a, b = _call(0, "call_a", "get_weather"), _call(1, "call_b", "get_time")
    body = sse(
        _created(),
        {"type": "response.output_item.added", "output_index": 0, "item": a},
        {"type": "response.output_item.added", "output_index": 1, "item": b},
        _args(1, '{"tz": '),
        _args(0, '{"city": "Paris"}'),
        _args(1, '"UTC"}'),
        _completed([a, b]),
    )
    chunks = decode(body)
    response = accumulate(chunks, "openai")
    calls = [
        (t.id, t.function.name, t.function.arguments)
        for t in response.choices[0].message.tool_calls or ()
    ]
    assert calls == [
        ("call_a", "get_weather", '{"city": "Paris"}'),
        ("call_b", "get_time", '{"tz": "UTC"}'),
    ]
    heads = [td for c in chunks for td in c.choices[0].delta.tool_calls or () if td.id]
    assert [(h.index, h.id) for h in heads] == [(0, "call_a"), (1, "call_b")]
    assert response.choices[0].finish_reason == "tool_calls"
    u = response.usage
    assert u is not None
    assert (
        u.prompt_tokens,
        u.completion_tokens,
        u.cached_tokens,
        u.cache_write_tokens,
        u.reasoning_tokens,
    ) == (20, 9, 8, 4, 3)


def test_arguments_and_summaries_sent_only_whole_are_delivered() -> None:
    """A server that streams no deltas (the whole item on ``done``) still gives everything."""
    reasoning = {
        "id": "rs_1",
        "type": "reasoning",
        "encrypted_content": "enc",
        "summary": [
            {"type": "summary_text", "text": "One."},
            {"type": "summary_text", "text": "Two."},
        ],
    }
    call = _call(1, "call_x", "lookup", '{"q": 1}')
    body = sse(
        _created(),
        {"type": "response.output_item.done", "output_index": 0, "item": reasoning},
        {
            "type": "response.output_item.added",
            "output_index": 1,
            "item": {**call, "arguments": ""},
        },
        {"type": "response.output_item.done", "output_index": 1, "item": call},
        _completed([reasoning, call]),
    )
    streamed = accumulate(decode(body), "openai")
    plain = make().parse_response(
        HTTPResponse(200, {}, json.dumps(_completed([reasoning, call])["response"]).encode())
    )
    assert streamed.model_dump(exclude={"created", "service_tier"}) == plain.model_dump(
        exclude={"created", "service_tier"}
    )
    message = streamed.choices[0].message
    assert message.reasoning_content == "One.\n\nTwo."
    assert [(p.text, p.encrypted) for p in message.reasoning or ()] == [("One.\n\nTwo.", "enc")]
    assert message.tool_calls and message.tool_calls[0].function.arguments == '{"q": 1}'


def test_two_reasoning_items_stream_as_their_plain_parse() -> None:
    first = {
        "id": "rs_a",
        "type": "reasoning",
        "encrypted_content": "e1",
        "summary": [{"type": "summary_text", "text": "A1"}, {"type": "summary_text", "text": "A2"}],
    }
    second = {
        "id": "rs_b",
        "type": "reasoning",
        "encrypted_content": "e2",
        "summary": [{"type": "summary_text", "text": "B1"}],
    }
    message = {
        "id": "msg",
        "type": "message",
        "role": "assistant",
        "content": [{"type": "output_text", "text": "Done."}],
    }

    def delta(n: int, s: int, text: str) -> dict[str, Any]:
        return {
            "type": "response.reasoning_summary_text.delta",
            "output_index": n,
            "summary_index": s,
            "item_id": "x",
            "delta": text,
        }

    body = sse(
        _created(),
        {"type": "response.output_item.added", "output_index": 0, "item": {**first, "summary": []}},
        delta(0, 0, "A"),
        delta(0, 0, "1"),
        delta(0, 1, "A2"),
        {"type": "response.output_item.done", "output_index": 0, "item": first},
        {
            "type": "response.output_item.added",
            "output_index": 1,
            "item": {**second, "summary": []},
        },
        delta(1, 0, "B1"),
        {"type": "response.output_item.done", "output_index": 1, "item": second},
        {
            "type": "response.output_text.delta",
            "output_index": 2,
            "item_id": "msg",
            "delta": "Done.",
        },
        _completed([first, second, message]),
    )
    streamed = accumulate(decode(body), "openai")
    plain = make().parse_response(
        HTTPResponse(200, {}, json.dumps(_completed([first, second, message])["response"]).encode())
    )
    assert streamed.model_dump(exclude={"created"}) == plain.model_dump(exclude={"created"})
    got = streamed.choices[0].message
    assert got.reasoning_content == "A1\n\nA2\n\nB1"
    assert [(p.text, p.encrypted) for p in got.reasoning or ()] == [
        ("A1\n\nA2", "e1"),
        ("B1", "e2"),
    ]
    assert got.provider_data == {"openai": {"reasoning": [first, second]}}


@pytest.mark.parametrize(
    ("reason", "finish"), [("max_output_tokens", "length"), ("content_filter", "content_filter")]
)
def test_incomplete_reasons_map_to_finish_reasons(reason: str, finish: str) -> None:
    end = _completed([], "incomplete", incomplete_details={"reason": reason})
    body = sse(
        _created(), {"type": "response.output_text.delta", "output_index": 0, "delta": "Hi"}, end
    )
    assert accumulate(decode(body), "openai").choices[0].finish_reason == finish
    plain = make().parse_response(HTTPResponse(200, {}, json.dumps(end["response"]).encode()))
    assert plain.choices[0].finish_reason == finish


def test_a_refusal_is_content_filtered_text() -> None:
    refusal = {
        "id": "m",
        "type": "message",
        "content": [{"type": "refusal", "refusal": "I can't help."}],
    }
    body = sse(
        _created(),
        {"type": "response.refusal.delta", "output_index": 0, "delta": "I can't help."},
        _completed([refusal]),
    )
    streamed = accumulate(decode(body), "openai")
    plain = make().parse_response(
        HTTPResponse(200, {}, json.dumps(_completed([refusal])["response"]).encode())
    )
    for response in (streamed, plain):
        assert response.content == "I can't help."
        assert response.choices[0].finish_reason == "content_filter"


@pytest.mark.parametrize(
    ("code", "cls", "status"),
    [
        ("server_error", InternalServerError, 500),
        ("rate_limit_exceeded", RateLimitError, 429),
        ("invalid_prompt", BadRequestError, 400),
        ("image_too_large", BadRequestError, 400),
        ("something_new", APIError, None),
    ],
)
def test_a_failed_response_raises_its_mapped_error(
    code: str, cls: type[APIError], status: int | None
) -> None:
    failed = {
        "type": "response.failed",
        "response": {
            "id": "resp_1",
            "status": "failed",
            "output": [],
            "error": {"code": code, "message": f"boom {KEY}"},
        },
    }
    decoder = make().stream_decoder(req())
    delivered = decoder.feed(
        sse(_created(), {"type": "response.output_text.delta", "output_index": 0, "delta": "par"})
    )
    assert [c.choices[0].delta.content for c in delivered] == [None, "par"]
    with pytest.raises(APIError) as info:
        decoder.feed(sse(failed))
    error = info.value
    assert type(error) is cls and error.code == code and error.status_code == status
    assert (
        KEY not in error.message
        and KEY not in json.dumps(error.body)
        and "[REDACTED]" in error.message
    )
    plain = HTTPResponse(200, {}, json.dumps(failed["response"]).encode())
    with pytest.raises(cls) as plain_info:
        make().parse_response(plain)
    assert plain_info.value.code == code and KEY not in str(plain_info.value)


@pytest.mark.parametrize("framing", ["event", "data-only"])
def test_an_error_event_raises_typed(framing: str) -> None:
    obj = {
        "type": "error",
        "code": "rate_limit_exceeded",
        "message": "slow down",
        "param": None,
        "sequence_number": 3,
    }
    body = sse(obj) if framing == "event" else f"data: {json.dumps(obj)}\n\n".encode()
    with pytest.raises(RateLimitError) as info:
        decode(sse(_created()) + body)
    assert info.value.message == "slow down" and info.value.status_code == 429
    nested = {
        "type": "error",
        "error": {"type": "invalid_request_error", "code": None, "message": "bad"},
    }
    with pytest.raises(APIError, match="bad") as info2:
        decode(sse(nested))
    assert info2.value.type == "invalid_request_error"


def test_garbled_events_are_stream_errors_without_the_key() -> None:
    with pytest.raises(StreamError, match="not JSON") as info:
        decode(b"event: response.output_text.delta\ndata: {" + KEY.encode() + b"\n\n")
    assert KEY not in str(info.value)
    with pytest.raises(StreamError, match="malformed Responses stream event"):
        decode(
            sse(_created(), {"type": "response.output_text.delta", "output_index": 0, "delta": 3})
        )
    with pytest.raises(StreamError, match="never announced"):
        decode(sse(_created(), _args(4, "{}")))


def test_data_only_framing_decodes_as_event_framing() -> None:
    """A proxy that drops the ``event:`` lines: the ``type`` field says the same."""
    objs = [
        _created(),
        {"type": "response.output_text.delta", "output_index": 0, "delta": "Hi"},
        _completed([]),
    ]
    bare = b"".join(f"data: {json.dumps(o)}\n\n".encode() for o in objs)
    assert decode(bare) == decode(sse(*objs))


def test_unknown_events_are_skipped_and_done_events_add_nothing() -> None:
    body = sse(
        _created(),
        {"type": "response.in_progress", "response": {"id": "resp_1"}},
        {"type": "response.web_search_call.searching", "output_index": 0},
        {"type": "response.output_text.annotation.added", "output_index": 0, "annotation": {}},
        {"type": "response.output_text.delta", "output_index": 1, "delta": "ok"},
        {"type": "response.output_text.done", "output_index": 1, "text": "ok"},
        _completed([]),
    )
    chunks = decode(body)
    assert [c.choices[0].delta.content for c in chunks] == [None, "ok", None]


def test_a_reply_that_is_not_a_response_object_is_refused() -> None:
    for body, why in (
        (b"[1]", "not a JSON object"),
        (b'{"id": "x"}', "no 'output' list"),
        (b"nope", "not JSON"),
    ):
        with pytest.raises(ResponseValidationError, match=why):
            make().parse_response(HTTPResponse(200, {}, body))


# --- the codec: names, URLs, factories, reuse ----------------------------------------------


def test_the_codec_is_openai_on_the_responses_endpoint() -> None:
    codec = make()
    sent = codec.build_request(req(), stream=True)
    assert sent.url == "https://api.openai.com/v1/responses"
    assert (
        sent.headers["authorization"] == f"Bearer {KEY}"
        and sent.headers["accept"] == "text/event-stream"
    )
    assert codec.name == codec.semconv_name == "openai"
    assert KEY not in repr(codec) and codec.secrets() == (KEY,)
    assert codec.build_embeddings_request.__func__ is OpenAIProvider.build_embeddings_request  # type: ignore[attr-defined]
    by_name = get_spec("openai_responses").create(KEY, None, {})
    assert (
        type(by_name) is OpenAIResponsesProvider and by_name.base_url == "https://api.openai.com/v1"
    )
    assert type(get_spec("openai").create(KEY, None, {})) is OpenAIProvider


@pytest.mark.parametrize(
    ("name", "extra", "match"),
    [
        ("openai", {"api": "x"}, "extra\\['api'\\] must be one of 'chat_completions', 'responses'"),
        ("openai", {"api": None}, "got None"),
        ("openai_responses", {"api": "chat_completions"}, "use provider='openai'"),
        ("openai_responses", {"api": "assistants"}, "must be one of"),
    ],
)
def test_a_bad_api_setting_names_the_values(name: str, extra: dict[str, Any], match: str) -> None:
    with pytest.raises(ConfigurationError, match=match):
        get_spec(name).create(KEY, None, extra)


def test_another_endpoint_reuses_the_codec_with_class_attributes() -> None:
    """How Azure OpenAI (or a proxy) speaks the Responses API: attributes, not a copy."""

    class AzureLike(OpenAIResponsesProvider):
        name = "azure_like"
        semconv_name = "azure.ai.openai"

        def responses_url(self) -> str:
            return f"{self.base_url}/openai/v1/responses"

        def auth_headers(self) -> dict[str, str]:
            return {"api-key": self._api_key} if self._api_key else {}

    codec = AzureLike(ProviderSettings("azure_like", KEY, "https://res.openai.azure.com", {}))
    sent = codec.build_request(req(), stream=False)
    assert sent.url == "https://res.openai.azure.com/openai/v1/responses"
    assert sent.headers["api-key"] == KEY and "authorization" not in sent.headers
    reply = {
        "id": "r",
        "status": "completed",
        "output": [{"type": "reasoning", "id": "rs", "summary": [], "encrypted_content": "e"}],
    }
    parsed = codec.parse_response(HTTPResponse(200, {}, json.dumps(reply).encode()))
    message = parsed.choices[0].message
    assert parsed.provider == "azure_like" and message.provider_data == {
        "azure_like": {"reasoning": reply["output"]}
    }
    assert [p.provider for p in message.reasoning or ()] == ["azure_like"]


def test_chunks_before_an_error_in_the_same_read_are_delivered_first() -> None:
    """One read holding text and then an error event: the text comes out of that ``feed``, the
    error is raised by the next ``feed`` or by ``close``, and nothing after it is decoded."""
    error = {"type": "error", "code": "server_error", "message": "gone"}
    text = {"type": "response.output_text.delta", "output_index": 0, "delta": "Hel"}
    for follow in ("feed", "close"):
        decoder = make().stream_decoder(req())
        chunks = decoder.feed(sse(_created(), text, error, text))
        assert [c.choices[0].delta.content for c in chunks] == [None, "Hel"]
        with pytest.raises(InternalServerError, match="gone"):
            decoder.feed(sse(text)) if follow == "feed" else decoder.close()
    alone = make().stream_decoder(req())
    with pytest.raises(InternalServerError):
        alone.feed(sse(error))  # nothing came before it: raised at once

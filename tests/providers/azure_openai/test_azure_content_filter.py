"""Azure OpenAI's content filter: filtered choices, annotation events, filtered prompts.

No real filtered exchange is in the corpus (its README: the only cassettes found were
hand-edited), so the streams here are written out from the samples of Azure's content-streaming
guide (https://learn.microsoft.com/azure/ai-foundry/openai/concepts/content-streaming, the
asynchronous filter's "passes filters" and "blocked by filters" responses, shortened) and the
error from its content-filter guide (400, ``code: content_filter``, ``innererror``).
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from _codec_helpers import accumulate, decode_pieces, split_at
from metallm.errors import BadRequestError, ContentFilterError, error_class_for_status
from metallm.provider import HTTPResponse, ProviderSettings
from metallm.providers.azure_openai import AzureOpenAIProvider, create, filtered
from metallm.types import ChatCompletionRequest, Message, Role

KEY = "azure-filter-SECRET-0123456789"
SAFE = {
    k: {"filtered": False, "severity": "safe"} for k in ("hate", "self_harm", "sexual", "violence")
}
OFFSETS = {"check_offset": 44, "start_offset": 44, "end_offset": 198}


def make() -> AzureOpenAIProvider:
    return create(ProviderSettings("azure_openai", KEY, "https://r.openai.azure.com", {}))


def req() -> ChatCompletionRequest:
    return ChatCompletionRequest(
        model="gpt-35-turbo", messages=[Message(role=Role.USER, content="x")]
    )


def sse(*events: dict[str, Any]) -> bytes:
    return (
        b"".join(b"data: " + json.dumps(e).encode() + b"\n\n" for e in events) + b"data: [DONE]\n\n"
    )


def chunk(choices: list[dict[str, Any]], **fields: Any) -> dict[str, Any]:
    head = {
        "id": "chatcmpl-7rCNsVeZy0PGnX3H6jK8STps5nZUY",
        "object": "chat.completion.chunk",
        "created": 1692913344,
        "model": "gpt-35-turbo",
    }
    return {**head, "choices": choices, "usage": None, **fields}


def annotation(finish: str | None, results: dict[str, Any]) -> dict[str, Any]:
    choice = {
        "index": 0,
        "finish_reason": finish,
        "content_filter_results": results,
        "content_filter_offsets": OFFSETS,
    }
    return {"id": "", "object": "", "created": 0, "model": "", "choices": [choice], "usage": None}


PROMPT = {
    "id": "",
    "object": "",
    "created": 0,
    "model": "",
    "choices": [],
    "usage": None,
    "prompt_filter_results": [{"prompt_index": 0, "content_filter_results": SAFE}],
}
HEAD = chunk([{"index": 0, "finish_reason": None, "delta": {"role": "assistant"}}])


def delta(text: str) -> dict[str, Any]:
    return chunk([{"index": 0, "finish_reason": None, "delta": {"content": text}}])


PASSES = sse(
    PROMPT,
    HEAD,
    delta("Color"),
    delta(" is"),
    annotation(None, SAFE),
    delta(" a"),
    chunk([{"index": 0, "finish_reason": "stop", "delta": {}}]),
    annotation(None, SAFE),
)
BLOCKED = sse(
    PROMPT,
    HEAD,
    delta("Hey"),
    delta(" Jude"),
    annotation(None, SAFE),
    annotation("content_filter", {"protected_material_text": {"detected": True, "filtered": True}}),
)


def test_the_verdict_reader() -> None:
    assert not filtered(SAFE) and not filtered(None) and not filtered({}) and not filtered([1])
    assert filtered({**SAFE, "violence": {"filtered": True, "severity": "medium"}})
    assert not filtered({"error": {"code": "x", "message": "filter unavailable"}})


def test_async_filter_stream_that_passes_decodes_without_annotations() -> None:
    chunks = decode_pieces(make(), req(), PASSES)
    # the prompt annotation and both completion annotations carry nothing a chunk holds
    assert len(chunks) == 5
    assert all(c.id == "chatcmpl-7rCNsVeZy0PGnX3H6jK8STps5nZUY" for c in chunks)
    assert [c.choices[0].finish_reason for c in chunks] == [None, None, None, None, "stop"]
    assert accumulate(chunks, "azure_openai").content == "Color is a"


def test_async_filter_stream_that_is_blocked_finishes_content_filter() -> None:
    chunks = decode_pieces(make(), req(), BLOCKED)
    assert [c.choices[0].finish_reason for c in chunks] == [None, None, None, "content_filter"]
    last = chunks[-1]
    assert last.id == "" and last.choices[0].delta.content is None  # the annotation event's own
    resp = accumulate(chunks, "azure_openai")
    assert (resp.content, resp.id, resp.model) == ("Hey Jude", chunks[0].id, "gpt-35-turbo")
    assert resp.choices[0].finish_reason == "content_filter"


def test_a_verdict_earlier_in_the_stream_decides_the_finish() -> None:
    """A choice whose verdict said ``filtered`` on any event finishes ``content_filter``."""
    body = sse(
        HEAD,
        chunk(
            [
                {
                    "index": 0,
                    "finish_reason": None,
                    "delta": {"content": "a"},
                    "content_filter_results": {
                        **SAFE,
                        "hate": {"filtered": True, "severity": "high"},
                    },
                }
            ]
        ),
        annotation(None, {"violence": {"filtered": True, "severity": "medium"}}),
        chunk([{"index": 0, "finish_reason": "stop", "delta": {}}]),
    )
    chunks = decode_pieces(make(), req(), body)
    assert [c.choices[0].finish_reason for c in chunks] == [None, None, "content_filter"]
    assert accumulate(chunks, "azure_openai").content == "a"


@settings(max_examples=40, deadline=None)
@given(points=st.lists(st.integers(min_value=0), max_size=40))
def test_annotated_streams_split_anywhere(points: list[int]) -> None:
    for body in (PASSES, BLOCKED):
        assert decode_pieces(make(), req(), *split_at(body, points)) == decode_pieces(
            make(), req(), body
        )


def _reply(choices: list[dict[str, Any]]) -> HTTPResponse:
    body = {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1,
        "model": "gpt-4o",
        "choices": choices,
        "usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5},
        "prompt_filter_results": [{"prompt_index": 0, "content_filter_results": SAFE}],
    }
    return HTTPResponse(200, {}, json.dumps(body, indent=1).encode())  # spaces: "filtered": true


def test_a_filtered_choice_finishes_content_filter() -> None:
    withheld = {**SAFE, "sexual": {"filtered": True, "severity": "medium"}}
    call = {"id": "call_1", "type": "function", "function": {"name": "f", "arguments": "{}"}}
    resp = make().parse_response(
        _reply(
            [
                {
                    "index": 0,
                    "finish_reason": "content_filter",
                    "message": {"role": "assistant", "content": None},
                    "content_filter_results": withheld,
                },
                {
                    "index": 1,
                    "finish_reason": "stop",
                    "message": {"role": "assistant", "content": "ok"},
                    "content_filter_results": SAFE,
                },
                {
                    "index": 2,
                    "finish_reason": "stop",
                    "message": {"role": "assistant", "content": "cut"},
                    "content_filter_results": withheld,
                },
                {
                    "index": 3,
                    "finish_reason": "tool_calls",
                    "message": {"role": "assistant", "tool_calls": [call]},
                    "content_filter_results": withheld,
                },
            ]
        )
    )
    assert [c.finish_reason for c in resp.choices] == [
        "content_filter",
        "stop",
        "content_filter",  # the verdict says withheld, whatever finish_reason said
        "tool_calls",  # a choice that called tools finishes tool_calls (the unified rule)
    ]
    assert [c.message.content for c in resp.choices[:3]] == [None, "ok", "cut"]


def test_a_filtered_prompt_is_a_content_filter_error() -> None:
    verdict = {**SAFE, "jailbreak": {"detected": True, "filtered": True}}
    body = {
        "error": {
            "message": "The response was filtered due to the prompt triggering Azure OpenAI's "
            f"content management policy. (key {KEY})",
            "type": None,
            "param": "prompt",
            "code": "content_filter",
            "status": 400,
            "innererror": {
                "code": "ResponsibleAIPolicyViolation",
                "content_filter_result": verdict,
            },
        }
    }
    err = make().parse_error(HTTPResponse(400, {"x-request-id": "r-1"}, json.dumps(body).encode()))
    assert type(err) is ContentFilterError and isinstance(err, BadRequestError)
    assert (err.status_code, err.code, err.type, err.request_id) == (
        400,
        "content_filter",
        None,
        "r-1",
    )
    assert err.content_filter_result == verdict
    assert KEY not in str(err) and KEY not in repr(err) and KEY not in json.dumps(err.body)
    # the docs' other spelling, and an error without a verdict
    body["error"]["innererror"] = {"content_filter_results": verdict}
    assert (
        make().parse_error(HTTPResponse(400, {}, json.dumps(body).encode())).content_filter_result
        == verdict
    )
    bare = ContentFilterError("filtered", status_code=400, code="content_filter")
    assert bare.content_filter_result is None


def test_a_content_filter_error_event_in_a_stream() -> None:
    event = {"error": {"message": "filtered", "code": "content_filter"}}
    decoder = make().stream_decoder(req())
    try:
        decoder.feed(b"data: " + json.dumps(event).encode() + b"\n\n")
    except ContentFilterError as err:
        assert (err.status_code, err.provider) == (None, "azure_openai")
    else:
        raise AssertionError("no ContentFilterError")


def test_error_rules() -> None:
    rule = error_class_for_status
    assert rule(400, code="content_filter") is ContentFilterError
    assert rule(None, code="CONTENT_FILTER") is ContentFilterError  # an in-stream error event
    assert rule(500, code="content_filter").__name__ == "InternalServerError"
    assert rule(403, code="content_filter").__name__ == "PermissionDeniedError"
    # the rules that were there before, unchanged
    assert (
        rule(400, message="maximum context length is 8192").__name__ == "ContextLengthExceededError"
    )
    assert rule(400).__name__ == "BadRequestError" and rule(422).__name__ == "BadRequestError"
    assert (
        rule(429).__name__ == "RateLimitError"
        and rule(400, type="rate_limit_error").__name__ == "RateLimitError"
    )
    assert rule(529).__name__ == rule(500, type="overloaded_error").__name__ == "OverloadedError"
    assert rule(503).__name__ == "InternalServerError" and rule(None).__name__ == "APIError"
    assert rule(418).__name__ == "APIError" and rule(404).__name__ == "NotFoundError"

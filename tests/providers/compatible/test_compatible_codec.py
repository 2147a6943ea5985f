"""The preset codec (metallm.providers.compatible) against every file of ``openai_compatible/``.

Each recorded exchange goes through a codec of the service it was recorded against
(``source.service``): replies parse to the values written out in ``_compatible_corpus``,
streams decode identically however their bytes are split, a stream cut before ``[DONE]``
raises, and the request the codec builds for the recorded conversation is the recorded body.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from _codec_helpers import accumulate, decode_pieces, split_at
from _compatible_corpus import (
    EXPECTED,
    Recorded,
    folder,
    recorded,
    recorded_body_to_send,
    usage_tuple,
)
from _corpus_requests import expected_from_sse, request_from_openai_body
from metallm.errors import RateLimitError, StreamError
from metallm.provider import HTTPResponse, ProviderSettings, get_spec
from metallm.providers.compatible import PRESETS, CompatibleProvider
from metallm.types import ChatCompletionChunk, ChatCompletionResponse, Role

KEY = "sk-compat-SECRET-0123456789abcdef"


def codec(service: str) -> CompatibleProvider:
    """The codec the registry builds for ``service``, at its default base URL."""
    built = get_spec(service).create(api_key=KEY)
    assert isinstance(built, CompatibleProvider)
    return built


def _require(items: list[Recorded]) -> list[Any]:
    if items:
        return [pytest.param(r, id=r.stem) for r in items]
    return [pytest.param(None, id="no-corpus")]


def _given(item: Recorded | None) -> Recorded:
    if item is None:
        pytest.skip(f"corpus folder {folder()} not found (set METALLM_CORPUS)")
    return item


def raw_events(body: str) -> list[dict[str, Any]]:
    return [
        json.loads(block[6:])
        for block in body.split("\n\n")
        if block.startswith("data: ") and block != "data: [DONE]"
    ]


def test_every_file_is_checked_and_names_a_preset() -> None:
    items = recorded()
    if not items:
        _given(None)
    assert {r.stem for r in items} == set(EXPECTED)
    for r in items:
        assert r.service in PRESETS and r.stem.startswith(r.service + "_"), r.stem
        assert r.entry.provider == "openai_compatible"


@pytest.mark.parametrize("item", _require(recorded("chat")))
def test_corpus_chat(item: Recorded | None) -> None:
    item = _given(item)
    entry, want = item.entry, item.expected
    raw = json.loads(entry.body_text)  # OpenRouter's body starts with keep-alive whitespace
    resp = codec(item.service).parse_response(
        HTTPResponse(200, entry.response_headers, entry.body_bytes)
    )
    assert (resp.id, resp.model, resp.provider, resp.system_fingerprint) == (
        want["id"],
        want["model"],
        item.service,
        want["fingerprint"],
    )
    assert (resp.id, resp.created) == (raw["id"], raw["created"])
    (choice,) = resp.choices
    assert choice.message.role is Role.ASSISTANT
    assert choice.message.content == want["content"] == raw["choices"][0]["message"]["content"]
    assert choice.message.reasoning_content == want["reasoning"]
    assert choice.finish_reason == want["finish"]
    assert usage_tuple(resp.usage) == want["usage"]
    assert ChatCompletionResponse.model_validate(resp.model_dump()) == resp


@pytest.mark.parametrize("item", _require(recorded("stream")))
def test_corpus_stream(item: Recorded | None) -> None:
    item = _given(item)
    entry, want = item.entry, item.expected
    provider = codec(item.service)
    request = request_from_openai_body(entry.request_body, "m")
    chunks = decode_pieces(provider, request, entry.body_bytes)
    events = raw_events(entry.body_text)
    assert len(chunks) == len(events) == want["chunks"]
    for chunk, raw in zip(chunks, events, strict=True):
        assert (chunk.id, chunk.model, chunk.created) == (raw["id"], raw["model"], raw["created"])
        for got, sent in zip(chunk.choices, raw["choices"], strict=True):
            delta = sent["delta"]
            assert got.delta.content == delta.get("content")
            assert got.delta.reasoning_content == delta.get("reasoning_content")
            assert got.delta.role == (Role.ASSISTANT if "role" in delta else None)
        assert ChatCompletionChunk.model_validate(chunk.model_dump()) == chunk
    assert all(c.usage is None for c in chunks[:-1])
    assert usage_tuple(chunks[-1].usage) == want["usage"]
    final = accumulate(chunks, item.service)
    independent = expected_from_sse(entry.body_text)
    assert final.content == want["content"] == independent["text"]
    reasoning = final.choices[0].message.reasoning_content
    assert (reasoning or "") == independent["reasoning"]
    if "reasoning_length" in want:
        assert reasoning is not None and len(reasoning) == want["reasoning_length"]
        assert reasoning.startswith(want["reasoning_start"])
        assert reasoning.endswith(want["reasoning_end"])
        assert want["content"] not in reasoning  # reasoning never leaks into content
    else:
        assert reasoning is want["reasoning"]
    assert final.choices[0].finish_reason == want["finish"]
    assert (final.id, final.model, final.provider) == (want["id"], want["model"], item.service)


@pytest.mark.parametrize("item", _require(recorded("stream")))
@settings(max_examples=60, deadline=None)
@given(points=st.lists(st.integers(min_value=0), max_size=60))
def test_corpus_stream_split_anywhere_decodes_identically(
    item: Recorded | None, points: list[int]
) -> None:
    item = _given(item)
    provider = codec(item.service)
    request = request_from_openai_body(item.entry.request_body, "m")
    body = item.entry.body_bytes
    assert decode_pieces(provider, request, *split_at(body, points)) == decode_pieces(
        provider, request, body
    )


@pytest.mark.parametrize("item", _require(recorded("stream")))
def test_corpus_stream_cut_before_done_raises(item: Recorded | None) -> None:
    item = _given(item)
    body = item.entry.body_bytes
    request = request_from_openai_body(item.entry.request_body, "m")
    for cut in (body.index(b"data: [DONE]"), body.index(b"\n\n") + 2, len(body) - 5):
        decoder = codec(item.service).stream_decoder(request)
        decoder.feed(body[:cut])
        with pytest.raises(StreamError, match=r"before \[DONE\]") as info:
            decoder.close()
        assert info.value.provider == item.service


@pytest.mark.parametrize("item", _require(recorded("error")))
def test_corpus_error(item: Recorded | None) -> None:
    item = _given(item)
    entry, want = item.entry, item.expected
    err = codec(item.service).parse_error(
        HTTPResponse(entry.status, entry.response_headers, entry.body_bytes)
    )
    assert type(err) is RateLimitError
    assert (err.provider, err.status_code, err.code, err.retry_after) == (
        item.service,
        want["status"],
        want["code"],
        None,  # no retry-after was recorded
    )
    assert err.message == want["message"]  # the upstream detail, not just "Provider returned"
    assert err.body == json.loads(entry.body_text)


@pytest.mark.parametrize("item", _require(recorded()))
def test_request_for_the_recorded_conversation_is_the_recorded_body(
    item: Recorded | None,
) -> None:
    """What the codec sends for the conversation each file recorded (Mistral's without
    ``stream_options``, DeepSeek's with it) is byte-for-byte what was sent then, to the same
    path under the service's default base URL."""
    item = _given(item)
    entry = item.entry
    provider = codec(item.service)
    request = request_from_openai_body(entry.request_body, "m")
    sent = provider.build_request(request, stream=entry.is_stream)
    assert sent.content is not None
    assert json.loads(sent.content) == recorded_body_to_send(entry)
    assert urlsplit(sent.url).path == entry.request_path
    assert sent.url.startswith(get_spec(item.service).default_base_url)
    assert sent.headers["authorization"] == f"Bearer {KEY}"


def test_codec_needs_a_known_preset_and_a_base_url() -> None:
    from metallm.errors import ConfigurationError

    with pytest.raises(ConfigurationError, match=r"no OpenAI-compatible preset 'nope'"):
        CompatibleProvider(ProviderSettings("nope", KEY, "https://x.test/v1"))
    with pytest.raises(ConfigurationError, match=r"provider 'groq' needs base_url"):
        CompatibleProvider(ProviderSettings("groq", KEY))

"""Reasoning that goes back to its provider: recorded replies, accumulation, the rules between
providers, and the bad input refused before any I/O.

The recorded replies are real (Anthropic, Bedrock and Gemini thinking with tool calls): each is
parsed, appended to a history and sent back, and the follow-up body must hold the signed blocks
as the provider issued them, where its reference puts them. The cross-process round trip
through SQLite lives in ``test_reasoning_processes.py``.
"""

from __future__ import annotations

import base64
import json
import logging
import math
from datetime import datetime, timezone
from typing import Any

import pytest

import metallm
from _helpers import require_corpus
from metallm import (
    ChatCompletionChunk,
    ChatCompletionRequest,
    ChunkChoice,
    Delta,
    Message,
    ReasoningDelta,
    ReasoningPart,
    Role,
)
from metallm._accumulate import ChunkAccumulator
from metallm.provider import HTTPResponse, ProviderSettings, sent_back
from metallm.providers.anthropic import AnthropicProvider
from metallm.providers.bedrock import BedrockProvider
from metallm.providers.gemini import GeminiProvider
from metallm.providers.ollama import create as create_ollama
from metallm.providers.openai import create as create_openai
from metallm.testing import FakeLLMServer
from metallm.testing.corpus import load_corpus_entry


def _codec(name: str) -> Any:
    if name == "bedrock":
        return BedrockProvider(
            region="us-east-1",
            endpoint_url="http://127.0.0.1:9",
            aws_access_key_id="AKIDEXAMPLE",
            aws_secret_access_key="secret-0123456789",
        )
    settings = ProviderSettings(name, api_key="k-0123456789", base_url="http://127.0.0.1:9")
    factory = {
        "anthropic": AnthropicProvider,
        "gemini": GeminiProvider,
        "openai": create_openai,
        "ollama": create_ollama,
    }[name]
    return factory(settings)


def _follow_up(codec: Any, model: str, assistant: Message, call_id: str) -> dict[str, Any]:
    request = ChatCompletionRequest(
        model=model,
        messages=[
            Message(role=Role.USER, content="q"),
            assistant,
            Message(role=Role.TOOL, tool_call_id=call_id, content='{"output": "ok"}'),
        ],
        reasoning_effort="low",
    )
    return json.loads(codec.build_request(request, stream=False).content)  # type: ignore[no-any-return]


# -- recorded replies, sent back ------------------------------------------------------------------


def test_bedrock_recorded_reasoning_goes_back_first_and_byte_exact() -> None:
    entry = load_corpus_entry(require_corpus("bedrock") / "converse_tool_use_thinking.json")
    codec = _codec("bedrock")
    reply = codec.parse_response(HTTPResponse(200, {}, entry.body_bytes))
    message = reply.choices[0].message
    recorded = json.loads(entry.body_text)["output"]["message"]["content"]
    assert message.reasoning == [
        ReasoningPart(
            text=recorded[0]["reasoningContent"]["reasoningText"]["text"],
            signature=recorded[0]["reasoningContent"]["reasoningText"]["signature"],
            provider="bedrock",
        )
    ]
    body = _follow_up(
        codec, "us.anthropic.claude-3-7-sonnet", message, "tooluse_W9DaUFg4Tj2cRPpndqxWSg"
    )
    turn = body["messages"][1]["content"]
    assert turn[0] == recorded[0]  # the very block Bedrock issued, first in the turn
    assert [next(iter(b)) for b in turn] == ["reasoningContent", "text", "toolUse"]


@pytest.mark.parametrize("name", ["chat_function_call", "stream_function_call"])
def test_gemini_recorded_signatures_go_back_on_their_parts(name: str) -> None:
    folder = require_corpus("gemini")
    entry = load_corpus_entry(folder / f"{name}.json")
    codec = _codec("gemini")
    if entry.is_stream:
        acc = ChunkAccumulator("gemini")
        decoder = codec.stream_decoder(
            ChatCompletionRequest(model="m", messages=[{"role": "user", "content": "q"}])
        )
        for chunk in [*decoder.feed(entry.body_bytes), *decoder.close()]:
            acc.add(chunk)
        reply = acc.response()
    else:
        reply = codec.parse_response(HTTPResponse(200, {}, entry.body_bytes))
    message = reply.choices[0].message
    raw = entry.body_text.split("data: ")[-1] if entry.is_stream else entry.body_text
    parts = json.loads(raw)["candidates"][0]["content"]["parts"]
    signature = parts[0]["thoughtSignature"]
    assert message.provider_data == {"gemini": {"signatures": {"call_0_0": signature}}}
    assert message.reasoning is None
    body = _follow_up(codec, "gemini-2.5-flash", message, "call_0_0")
    model_turn = body["contents"][1]["parts"]
    assert model_turn[0]["thoughtSignature"] == signature  # on the call it came with
    assert "thoughtSignature" not in model_turn[1]  # the second call had none: none invented
    # The recorded follow-up (Google's SDK) sends the same signature, in URL-safe base64.
    followup = load_corpus_entry(folder / "chat_function_response_followup.json")
    sent = followup.request_body["contents"][1]["parts"][0]["thoughtSignature"]
    if not entry.is_stream:
        assert base64.urlsafe_b64decode(sent) == base64.b64decode(signature)


def test_anthropic_redacted_thinking_goes_back_as_it_came() -> None:
    reply = {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "model": "claude-sonnet-4-5",
        "content": [
            {"type": "thinking", "thinking": "Let me check.", "signature": "EqQB/sig+1=="},
            {"type": "redacted_thinking", "data": "EmwKAhgBEgy3va3p/redacted=="},
            {"type": "tool_use", "id": "toolu_1", "name": "f", "input": {"a": [1, 2]}},
        ],
        "stop_reason": "tool_use",
        "usage": {"input_tokens": 10, "output_tokens": 5},
    }
    codec = _codec("anthropic")
    message = (
        codec.parse_response(HTTPResponse(200, {}, json.dumps(reply).encode())).choices[0].message
    )
    assert message.reasoning_content == "Let me check."
    assert [p.model_dump() for p in message.reasoning or ()] == [
        {
            "type": "reasoning",
            "text": "Let me check.",
            "signature": "EqQB/sig+1==",
            "encrypted": None,
            "provider": "anthropic",
        },
        {
            "type": "reasoning",
            "text": "",
            "signature": None,
            "encrypted": "EmwKAhgBEgy3va3p/redacted==",
            "provider": "anthropic",
        },
    ]
    body = _follow_up(codec, "claude-sonnet-4-5", message, "toolu_1")
    assert body["messages"][1]["content"] == reply["content"]  # exactly what Anthropic sent


# -- accumulation ---------------------------------------------------------------------------------


def _chunk(delta: Delta, index: int = 0) -> ChatCompletionChunk:
    return ChatCompletionChunk(id="c", model="m", choices=[ChunkChoice(index=index, delta=delta)])


def test_reasoning_fragments_join_per_block_and_provider_data_merges() -> None:
    acc = ChunkAccumulator("my-gateway", "anthropic")
    for delta in (
        Delta(
            role=Role.ASSISTANT,
            reasoning_content="Thin",
            reasoning=[ReasoningDelta(index=0, text="Thin")],
        ),
        Delta(reasoning_content="king", reasoning=[ReasoningDelta(index=0, text="king")]),
        Delta(reasoning=[ReasoningDelta(index=1, encrypted="opaque==")]),
        Delta(reasoning=[ReasoningDelta(index=0, signature="sig-part-1/")]),
        Delta(reasoning=[ReasoningDelta(index=0, signature="part-2=")]),
        Delta(content="Hi", provider_data={"g": {"signatures": {"call_0_0": "a"}, "keep": [1]}}),
        Delta(provider_data={"g": {"signatures": {"call_0_1": "b"}, "text_signature": "t"}}),
        Delta(provider_data={"g": {"keep": [2]}, "h": 1}),
    ):
        acc.add(_chunk(delta))
    message = acc.response().choices[0].message
    assert message.reasoning_content == "Thinking" and message.content == "Hi"
    assert message.reasoning == [
        ReasoningPart(text="Thinking", signature="sig-part-1/part-2=", provider="anthropic"),
        ReasoningPart(text="", encrypted="opaque==", provider="anthropic"),
    ]
    assert message.provider_data == {
        "g": {"signatures": {"call_0_0": "a", "call_0_1": "b"}, "text_signature": "t", "keep": [2]},
        "h": 1,
    }
    assert acc.response().provider == "my-gateway"  # the parts carry the codec's name


def test_choices_keep_their_own_reasoning() -> None:
    acc = ChunkAccumulator("anthropic")
    acc.add(_chunk(Delta(reasoning=[ReasoningDelta(index=0, text="a", signature="s0")]), index=0))
    acc.add(_chunk(Delta(reasoning=[ReasoningDelta(index=0, text="b", signature="s1")]), index=1))
    first, second = (c.message.reasoning for c in acc.response().choices)
    assert first == [ReasoningPart(text="a", signature="s0", provider="anthropic")]
    assert second == [ReasoningPart(text="b", signature="s1", provider="anthropic")]


# -- between providers ----------------------------------------------------------------------------

SIGNED = Message(
    role=Role.ASSISTANT,
    content="Checking.",
    reasoning_content="secret thought",
    reasoning=[
        ReasoningPart(text="secret thought", signature="ANTHROPIC-SIG", provider="anthropic")
    ],
    provider_data={"gemini": {"signatures": {"toolu_1": "GEMINI-SIG"}}},
    tool_calls=[metallm.ToolCall(id="toolu_1", function=metallm.FunctionCall(name="f"))],
)


@pytest.mark.parametrize("name", ["openai", "gemini", "bedrock", "ollama", "anthropic"])
def test_a_signature_only_goes_back_to_its_provider(
    name: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="metallm")
    body = json.dumps(_follow_up(_codec(name), "gemini-2.5-flash", SIGNED, "toolu_1"))
    assert ("ANTHROPIC-SIG" in body) is (name == "anthropic")
    assert ("GEMINI-SIG" in body) is (name == "gemini")
    assert "Checking." in body  # the turn's text still goes
    dropped = [r.getMessage() for r in caplog.records if "not sending" in r.getMessage()]
    assert len(dropped) == 1 and dropped[0].startswith(f"{name}: ")


def test_sent_back_keeps_own_parts_in_order() -> None:
    message = SIGNED.model_copy(
        update={
            "reasoning": [
                ReasoningPart(text="1", signature="s1", provider="bedrock"),
                ReasoningPart(text="2", signature="s2", provider="anthropic"),
                ReasoningPart(text="3", signature="s3", provider="bedrock"),
            ]
        }
    )
    own, data = sent_back("bedrock", message)
    assert [p.text for p in own] == ["1", "3"] and data is None
    assert sent_back("gemini", message)[1] == {"signatures": {"toolu_1": "GEMINI-SIG"}}
    assert sent_back("openai", Message(role=Role.ASSISTANT, content="x")) == ([], None)


# -- bad input, before any I/O --------------------------------------------------------------------


@pytest.fixture(scope="module")
def server() -> Any:
    with FakeLLMServer() as s:
        yield s


BAD_DATA = [
    (
        {"gemini": {"when": datetime.now(timezone.utc)}},
        r"messages\[1\]\.provider_data\.gemini\.when is not JSON",
    ),
    ({"gemini": {"raw": b"\x00\x01"}}, r"messages\[1\]\.provider_data\.gemini\.raw is not JSON"),
    ({"gemini": {"n": [1, math.nan]}}, r"messages\[1\]\.provider_data\.gemini\.n\[1\] is not JSON"),
    ({"gemini": {1: "x"}}, r"messages\[1\]\.provider_data\.gemini \(key 1\) is not JSON"),
]


@pytest.mark.parametrize(("data", "needle"), BAD_DATA)
def test_provider_data_that_is_not_json_fails_before_io(
    server: FakeLLMServer, data: dict[str, Any], needle: str
) -> None:
    server.clear()
    message = Message.model_construct(role=Role.ASSISTANT, content="x", provider_data=data)
    with (
        metallm.Client(
            provider="openai", api_key="sk-0123456789", base_url=server.base_url("openai")
        ) as client,
        pytest.raises(metallm.InvalidRequestError, match=needle),
    ):
        client.create_chat_completion(
            model="gpt-4o-mini", messages=[Message(role=Role.USER, content="q"), message]
        )
    assert server.requests == []


def test_a_signature_that_is_not_text_fails_before_io(server: FakeLLMServer) -> None:
    server.clear()
    part = ReasoningPart.model_construct(
        type="reasoning", text="t", signature=b"sig", encrypted=None, provider="anthropic"
    )
    message = Message(role=Role.ASSISTANT, content="x")
    message.reasoning = [part]
    with (
        metallm.Client(
            provider="anthropic", api_key="sk-0123456789", base_url=server.base_url("anthropic")
        ) as client,
        pytest.raises(
            metallm.InvalidRequestError,
            match=r"messages\[1\]\.reasoning\[0\]\.signature must be text",
        ),
    ):
        client.create_chat_completion(
            model="claude-sonnet-4-5", messages=[Message(role=Role.USER, content="q"), message]
        )
    assert server.requests == []


def test_unknown_fields_of_a_reasoning_part_are_refused() -> None:
    with pytest.raises(metallm.InvalidRequestError, match="did you mean 'signature'"):
        ReasoningPart(text="t", signatur="s")
    with pytest.raises(metallm.InvalidRequestError, match=r"reasoning\[0\]\.sig"):
        metallm.Client(
            provider="openai", api_key="sk-0123456789", base_url="http://127.0.0.1:9"
        ).create_chat_completion(
            model="m",
            messages=[
                {"role": "user", "content": "q"},
                {"role": "assistant", "content": "a", "reasoning": [{"text": "t", "sig": "s"}]},
            ],
        )

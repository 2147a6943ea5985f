"""Prompt caching on Anthropic: where ``cache_control`` lands in the Messages body (exact JSON
for every placement), the limits checked before any I/O, and real client calls, plain and
streamed, sync and async, whose received body and reported cache reads and writes are checked.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

import metallm
from _helpers import MODES, complete, stream
from metallm import CacheControl, InvalidRequestError, UnsupportedFeatureError
from metallm.provider import ProviderSettings
from metallm.providers.anthropic import AnthropicProvider, create
from metallm.providers.anthropic._request import build_body
from metallm.testing import FakeLLMServer, ScriptedReply, ScriptedUsage
from metallm.types import (
    ChatCompletionRequest,
    FunctionCall,
    FunctionDefinition,
    ImagePart,
    Message,
    ReasoningPart,
    Role,
    TextPart,
    Tool,
    ToolCall,
)

KEY = "sk-ant-cache-test-0123456789SECRET"
MODEL = "claude-sonnet-4-0"
FIVE = {"type": "ephemeral"}
FIVE_EXPLICIT = {"type": "ephemeral", "ttl": "5m"}
HOUR = {"type": "ephemeral", "ttl": "1h"}
HOUR_CC = CacheControl(ttl="1h")
FIVE_CC = CacheControl()


def codec(base: str = "https://api.anthropic.com") -> AnthropicProvider:
    return create(ProviderSettings("anthropic", KEY, base, {}))


def request(*messages: Message, **fields: Any) -> ChatCompletionRequest:
    return ChatCompletionRequest(model=MODEL, messages=list(messages), **fields)


def body(*messages: Message, **fields: Any) -> dict[str, Any]:
    http = codec().build_request(request(*messages, **fields), stream=False)
    return json.loads(http.content or b"")


def msg(role: str, content: Any = None, **fields: Any) -> Message:
    return Message(role=Role(role), content=content, **fields)


def tool(name: str, cache: CacheControl | None = None) -> Tool:
    fn = FunctionDefinition(name=name, description="d", parameters={"type": "object"})
    return Tool(function=fn, cache_control=cache)


def spec(name: str, cache: dict[str, Any] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"name": name, "description": "d", "input_schema": {"type": "object"}}
    if cache is not None:
        out["cache_control"] = cache
    return out


# -- placements ----------------------------------------------------------------------------------


def test_a_marked_system_message_turns_system_into_text_blocks() -> None:
    sent = body(msg("system", "You are terse.", cache_control=HOUR_CC), msg("user", "hi"))
    assert sent["system"] == [{"type": "text", "text": "You are terse.", "cache_control": HOUR}]
    assert sent["messages"] == [{"role": "user", "content": "hi"}]


def test_unmarked_system_messages_stay_one_string() -> None:
    sent = body(msg("system", "A"), msg("system", "B"), msg("user", "hi"))
    assert sent["system"] == "A\n\nB"
    assert "cache_control" not in json.dumps(sent)


def test_each_system_message_becomes_blocks_and_parts_carry_their_own_marks() -> None:
    sent = body(
        msg("system", "Rules."),
        msg(
            "system", [TextPart(text="Doc one.", cache_control=HOUR_CC), TextPart(text="Doc two.")]
        ),
        msg("system", "Tail.", cache_control=FIVE_CC),
        msg("user", "hi"),
    )
    assert sent["system"] == [
        {"type": "text", "text": "Rules."},
        {"type": "text", "text": "Doc one.", "cache_control": HOUR},
        {"type": "text", "text": "Doc two."},
        {"type": "text", "text": "Tail.", "cache_control": FIVE},
    ]


def test_a_marked_system_message_refuses_images_and_needs_text() -> None:
    image = ImagePart.from_base64("aGVsbG8=")
    with pytest.raises(UnsupportedFeatureError, match="image_url parts in system"):
        body(msg("system", [TextPart(text="x"), image], cache_control=FIVE_CC), msg("user", "hi"))
    with pytest.raises(InvalidRequestError, match=r"messages\[0\]\.cache_control .*no text"):
        body(msg("system", "", cache_control=FIVE_CC), msg("user", "hi"))
    empty = [TextPart(text=""), TextPart(text="x")]
    assert body(msg("system", empty, cache_control=FIVE_CC), msg("user", "hi"))["system"] == [
        {"type": "text", "text": "x", "cache_control": FIVE}
    ]
    with pytest.raises(
        InvalidRequestError, match=r"messages\[0\]\.content\[0\]\.cache_control .*empty"
    ):
        body(msg("system", [TextPart(text="", cache_control=FIVE_CC)]), msg("user", "hi"))


def test_a_marked_string_message_becomes_one_text_block() -> None:
    sent = body(msg("user", "Read this.", cache_control=CacheControl(ttl="5m")))
    assert sent["messages"] == [
        {
            "role": "user",
            "content": [{"type": "text", "text": "Read this.", "cache_control": FIVE_EXPLICIT}],
        }
    ]


def test_parts_carry_their_marks_and_a_message_mark_goes_on_its_last_block() -> None:
    image = ImagePart.from_base64("aGVsbG8=", "image/png")
    sent = body(
        msg("user", [TextPart(text="a", cache_control=HOUR_CC), image], cache_control=FIVE_CC)
    )
    assert sent["messages"][0]["content"] == [
        {"type": "text", "text": "a", "cache_control": HOUR},
        {
            "type": "image",
            "source": {"type": "base64", "media_type": "image/png", "data": "aGVsbG8="},
            "cache_control": FIVE,
        },
    ]


def test_a_part_and_its_message_marking_one_block_must_agree() -> None:
    parts = [TextPart(text="a"), TextPart(text="b", cache_control=HOUR_CC)]
    agreed = body(msg("user", parts, cache_control=HOUR_CC))
    assert agreed["messages"][0]["content"] == [
        {"type": "text", "text": "a"},
        {"type": "text", "text": "b", "cache_control": HOUR},
    ]
    with pytest.raises(InvalidRequestError, match=r"messages\[0\]\.cache_control .*conflicts"):
        body(msg("user", [TextPart(text="b", cache_control=FIVE_CC)], cache_control=HOUR_CC))


def test_assistant_marks_go_on_the_last_block_text_or_tool_use() -> None:
    call = ToolCall(id="toolu_1", function=FunctionCall(name="f", arguments='{"x": 1}'))
    sent = body(
        msg("user", "q"),
        msg("assistant", "Plain answer.", cache_control=HOUR_CC),
        msg("user", "again"),
        msg("assistant", "Calling.", tool_calls=[call], cache_control=FIVE_CC),
        msg("tool", "42", tool_call_id="toolu_1"),
    )
    assert sent["messages"][1] == {
        "role": "assistant",
        "content": [{"type": "text", "text": "Plain answer.", "cache_control": HOUR}],
    }
    assert sent["messages"][3]["content"] == [
        {"type": "text", "text": "Calling."},
        {
            "type": "tool_use",
            "id": "toolu_1",
            "name": "f",
            "input": {"x": 1},
            "cache_control": FIVE,
        },
    ]


def test_a_tool_result_mark_goes_on_its_tool_result_block() -> None:
    calls = [ToolCall(id=f"toolu_{n}", function=FunctionCall(name="f")) for n in (1, 2, 3)]
    sent = body(
        msg("user", "q"),
        msg("assistant", tool_calls=calls),
        msg("tool", "one", tool_call_id="toolu_1"),
        msg("tool", [TextPart(text="two", cache_control=HOUR_CC)], tool_call_id="toolu_2"),
        msg("tool", "three", tool_call_id="toolu_3", cache_control=FIVE_CC),
    )
    assert sent["messages"][2] == {
        "role": "user",
        "content": [
            {"type": "tool_result", "tool_use_id": "toolu_1", "content": "one"},
            {
                "type": "tool_result",
                "tool_use_id": "toolu_2",
                "content": [{"type": "text", "text": "two", "cache_control": HOUR}],
            },
            {
                "type": "tool_result",
                "tool_use_id": "toolu_3",
                "content": "three",
                "cache_control": FIVE,
            },
        ],
    }


def test_a_tool_mark_goes_on_its_definition() -> None:
    sent = body(msg("user", "hi"), tools=[tool("a"), tool("b", HOUR_CC)])
    assert sent["tools"] == [spec("a"), spec("b", HOUR)]


def test_no_mark_no_change_and_no_beta_header_for_an_hour() -> None:
    plain = body(msg("system", "S"), msg("user", "hi"), tools=[tool("a")])
    assert plain["system"] == "S" and plain["tools"] == [spec("a")]
    assert plain["messages"] == [{"role": "user", "content": "hi"}]
    # the 1-hour TTL is generally available: no anthropic-beta header is needed or sent
    http = codec().build_request(request(msg("user", "hi", cache_control=HOUR_CC)), stream=True)
    assert not any(k.lower() == "anthropic-beta" for k in http.headers)


# -- limits, checked before any I/O ----------------------------------------------------------------


def test_at_most_four_breakpoints() -> None:
    four = [msg("user", f"m{i}", cache_control=FIVE_CC) for i in range(3)]
    assert len(body(*four, tools=[tool("a", FIVE_CC)])["tools"]) == 1
    with pytest.raises(InvalidRequestError, match=r"5 cache breakpoints \(tools\[0\], .*at most 4"):
        body(*four, msg("user", "m4", cache_control=FIVE_CC), tools=[tool("a", FIVE_CC)])


def test_one_hour_breakpoints_come_before_five_minute_ones_in_anthropic_order() -> None:
    with pytest.raises(
        InvalidRequestError,
        match=r"messages\[0\]\.cache_control\.ttl '1h' comes after the 5-minute breakpoint at "
        r"tools\[1\]",
    ):
        body(
            msg("system", "S", cache_control=HOUR_CC),
            msg("user", "hi"),
            tools=[tool("a", HOUR_CC), tool("b", FIVE_CC)],
        )
    # a system message listed after a user turn is still read first: 1h there is in order
    sent = body(
        msg("user", "hi", cache_control=FIVE_CC),
        msg("system", "S", cache_control=HOUR_CC),
        tools=[tool("a", HOUR_CC)],
    )
    assert sent["system"][0]["cache_control"] == HOUR
    with pytest.raises(InvalidRequestError, match=r"messages\[1\]\.cache_control\.ttl '1h'"):
        body(msg("user", "a", cache_control=FIVE_CC), msg("user", "b", cache_control=HOUR_CC))


def test_ttls_anthropic_does_not_offer_are_refused_by_the_codec() -> None:
    # the client refuses these earlier (tests/test_prompt_cache.py); the codec stands alone too
    with pytest.raises(InvalidRequestError, match=r"messages\[0\]\.cache_control\.ttl '7d'"):
        body(msg("user", "hi", cache_control=CacheControl(ttl="7d")))
    with pytest.raises(InvalidRequestError, match=r"tools\[0\]\.cache_control\.ttl '30m'"):
        body(msg("user", "hi"), tools=[tool("a", CacheControl(ttl="30m"))])
    with pytest.raises(
        InvalidRequestError, match=r"messages\[0\]\.content\[1\]\.cache_control\.ttl '2h'"
    ):
        body(
            msg(
                "user",
                [TextPart(text="a"), TextPart(text="b", cache_control=CacheControl(ttl="2h"))],
            )
        )


def test_a_mark_needs_a_block_that_can_carry_it() -> None:
    with pytest.raises(InvalidRequestError, match=r"messages\[0\]\.cache_control .*no content"):
        body(msg("user", "", cache_control=FIVE_CC))
    with pytest.raises(InvalidRequestError, match=r"messages\[1\]\.cache_control .*no content"):
        body(msg("user", "q"), msg("assistant", "", cache_control=FIVE_CC))
    signed = [ReasoningPart(text="hmm", signature="sig", provider="anthropic")]
    thinking_only = request(
        msg("user", "q"),
        msg("assistant", reasoning_content="hmm", reasoning=signed, cache_control=FIVE_CC),
    )
    with pytest.raises(InvalidRequestError, match=r"messages\[1\]\.cache_control .*thinking"):
        build_body(thinking_only, provider="anthropic", stream=False)


# -- through the real client -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def server() -> Any:
    with FakeLLMServer() as s:
        yield s


@pytest.fixture(autouse=True)
def _clean(server: FakeLLMServer) -> None:
    server.clear()


USAGE = ScriptedUsage(
    prompt_tokens=2000, completion_tokens=7, cached_tokens=1500, cache_write_tokens=400
)


def cached_request() -> ChatCompletionRequest:
    return request(
        msg("system", "A long, stable system prompt.", cache_control=HOUR_CC),
        msg("user", "What is in the document?", cache_control=FIVE_CC),
        tools=[tool("lookup", HOUR_CC)],
    )


def check_sent(sent: dict[str, Any]) -> None:
    assert sent["system"] == [
        {"type": "text", "text": "A long, stable system prompt.", "cache_control": HOUR}
    ]
    assert sent["messages"] == [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "What is in the document?", "cache_control": FIVE}
            ],
        }
    ]
    assert sent["tools"] == [spec("lookup", HOUR)]


def check_usage(usage: metallm.Usage | None) -> None:
    assert usage is not None
    assert (usage.prompt_tokens, usage.completion_tokens, usage.total_tokens) == (2000, 7, 2007)
    assert (usage.cached_tokens, usage.cache_write_tokens) == (1500, 400)


@pytest.mark.parametrize("mode", MODES)
def test_client_sends_breakpoints_and_reports_cache_reads_and_writes(
    server: FakeLLMServer, mode: str
) -> None:
    kw = {"provider": "anthropic", "api_key": KEY, "base_url": server.base_url("anthropic")}
    server.enqueue(ScriptedReply(text="It is about caching.", usage=USAGE))
    plain = complete(mode, kw, cached_request())
    check_sent(server.requests[-1].json)
    check_usage(plain.usage)
    server.enqueue(ScriptedReply(text="It is about caching.", usage=USAGE))
    chunks, streamed = stream(mode, kw, cached_request())
    check_sent({k: v for k, v in server.requests[-1].json.items() if k != "stream"})
    assert server.requests[-1].json["stream"] is True
    check_usage(chunks[-1].usage)
    check_usage(streamed.usage)
    assert streamed.content == plain.content == "It is about caching."

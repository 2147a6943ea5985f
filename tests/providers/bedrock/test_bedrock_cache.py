"""Prompt caching on Bedrock Converse: a ``cachePoint`` block right after what each
``CacheControl`` marks (exact JSON for system, message content, tool results and
``toolConfig.tools``), TTLs checked before any I/O, and real client calls (signed, plain and
streamed, sync and async) whose received body and reported cache reads and writes are checked.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from test_bedrock_codec import AKID, SECRET, verify_sigv4

from _helpers import MODES, complete, stream
from metallm import CacheControl, InvalidRequestError, UnsupportedFeatureError
from metallm.providers.bedrock import BedrockProvider
from metallm.testing import FakeLLMServer, ScriptedReply, ScriptedUsage
from metallm.types import (
    ChatCompletionRequest,
    FunctionCall,
    FunctionDefinition,
    ImagePart,
    Message,
    Role,
    TextPart,
    Tool,
    ToolCall,
)

MODEL = "us.anthropic.claude-3-7-sonnet-20250219-v1:0"
POINT = {"cachePoint": {"type": "default"}}
HOUR = {"cachePoint": {"type": "default", "ttl": "1h"}}
FIVE = {"cachePoint": {"type": "default", "ttl": "5m"}}
HOUR_CC = CacheControl(ttl="1h")


def codec(endpoint_url: str | None = None) -> BedrockProvider:
    return BedrockProvider(
        region="us-east-1",
        endpoint_url=endpoint_url,
        aws_access_key_id=AKID,
        aws_secret_access_key=SECRET,
    )


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


def spec(name: str) -> dict[str, Any]:
    return {
        "toolSpec": {"name": name, "description": "d", "inputSchema": {"json": {"type": "object"}}}
    }


def test_system_cache_points_follow_the_marked_text() -> None:
    sent = body(
        msg("system", "Rules."),
        msg("system", [TextPart(text="Doc.", cache_control=HOUR_CC), TextPart(text="More.")]),
        msg("system", "Tail.", cache_control=CacheControl()),
        msg("user", "hi"),
    )
    assert sent["system"] == [
        {"text": "Rules."},
        {"text": "Doc."},
        HOUR,
        {"text": "More."},
        {"text": "Tail."},
        POINT,
    ]
    assert sent["messages"] == [{"role": "user", "content": [{"text": "hi"}]}]


def test_message_and_part_cache_points_in_content() -> None:
    image = ImagePart.from_base64("aGVsbG8=", "image/png")
    sent = body(
        msg(
            "user",
            [TextPart(text="a", cache_control=HOUR_CC), image],
            cache_control=CacheControl(ttl="5m"),
        ),
        msg("assistant", "Noted.", cache_control=CacheControl()),
        msg("user", "next"),
    )
    assert sent["messages"] == [
        {
            "role": "user",
            "content": [
                {"text": "a"},
                HOUR,
                {"image": {"format": "png", "source": {"bytes": "aGVsbG8="}}},
                FIVE,
            ],
        },
        {"role": "assistant", "content": [{"text": "Noted."}, POINT]},
        {"role": "user", "content": [{"text": "next"}]},
    ]


def test_assistant_tool_calls_and_tool_results_are_followed_by_their_points() -> None:
    call = ToolCall(id="tooluse_1", function=FunctionCall(name="f", arguments='{"x": 1}'))
    sent = body(
        msg("user", "q"),
        msg("assistant", tool_calls=[call], cache_control=HOUR_CC),
        msg("tool", [TextPart(text="42", cache_control=HOUR_CC)], tool_call_id="tooluse_1"),
        msg("user", "thanks", cache_control=CacheControl()),
    )
    assert sent["messages"][1] == {
        "role": "assistant",
        "content": [{"toolUse": {"toolUseId": "tooluse_1", "name": "f", "input": {"x": 1}}}, HOUR],
    }
    assert sent["messages"][2] == {  # the tool result and the next user turn merge into one
        "role": "user",
        "content": [
            {"toolResult": {"toolUseId": "tooluse_1", "content": [{"text": "42"}]}},
            HOUR,
            {"text": "thanks"},
            POINT,
        ],
    }


def test_a_tool_result_holds_one_cache_point() -> None:
    call = ToolCall(id="t1", function=FunctionCall(name="f"))
    marked = msg("tool", [TextPart(text="ok", cache_control=HOUR_CC)], tool_call_id="t1")
    twice = marked.model_copy(update={"cache_control": HOUR_CC})
    sent = body(msg("user", "q"), msg("assistant", tool_calls=[call]), twice)
    assert sent["messages"][2]["content"] == [
        {"toolResult": {"toolUseId": "t1", "content": [{"text": "ok"}]}},
        HOUR,
    ]
    clash = marked.model_copy(update={"cache_control": CacheControl()})
    with pytest.raises(
        InvalidRequestError, match=r"messages\[2\]\.content\[0\]\.cache_control\.ttl '1h' differs"
    ):
        body(msg("user", "q"), msg("assistant", tool_calls=[call]), clash)


def test_tool_cache_points_go_in_tool_config() -> None:
    sent = body(msg("user", "hi"), tools=[tool("a"), tool("b", HOUR_CC)], tool_choice="auto")
    assert sent["toolConfig"] == {"tools": [spec("a"), spec("b"), HOUR], "toolChoice": {"auto": {}}}


def test_no_mark_no_cache_point() -> None:
    sent = body(msg("system", "S"), msg("user", "hi"), tools=[tool("a")])
    assert "cachePoint" not in json.dumps(sent)
    assert sent["system"] == [{"text": "S"}]


def test_bad_ttls_and_marks_with_nothing_to_carry_them_fail_before_io() -> None:
    with pytest.raises(InvalidRequestError, match=r"messages\[0\]\.cache_control\.ttl '7d'"):
        body(msg("user", "hi", cache_control=CacheControl(ttl="7d")))
    with pytest.raises(InvalidRequestError, match=r"tools\[1\]\.cache_control\.ttl '24h'"):
        body(msg("user", "hi"), tools=[tool("a"), tool("b", CacheControl(ttl="24h"))])
    with pytest.raises(InvalidRequestError, match=r"messages\[0\]\.cache_control .*no content"):
        body(msg("user", "", cache_control=CacheControl()))
    image = ImagePart.from_base64("aGVsbG8=")
    with pytest.raises(UnsupportedFeatureError, match="image_url parts in system"):
        body(msg("system", [image]), msg("user", "hi"))


# -- through the real client -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def server() -> Any:
    with FakeLLMServer() as s:
        yield s


@pytest.fixture(autouse=True)
def _clean(server: FakeLLMServer) -> None:
    server.clear()


USAGE = ScriptedUsage(
    prompt_tokens=1800, completion_tokens=9, cached_tokens=1200, cache_write_tokens=500
)


@pytest.mark.parametrize("mode", MODES)
def test_client_sends_cache_points_and_reports_cache_reads_and_writes(
    server: FakeLLMServer, mode: str
) -> None:
    req = request(
        msg("system", "A long, stable system prompt.", cache_control=HOUR_CC),
        msg("user", "Summarise.", cache_control=CacheControl()),
        tools=[tool("lookup", HOUR_CC)],
    )
    kw = {"custom_provider": codec(server.url)}
    expected = {
        "system": [{"text": "A long, stable system prompt."}, HOUR],
        "messages": [{"role": "user", "content": [{"text": "Summarise."}, POINT]}],
        "tools": [spec("lookup"), HOUR],
    }
    for streaming in (False, True):
        server.enqueue(ScriptedReply(text="A summary.", usage=USAGE))
        if streaming:
            chunks, resp = stream(mode, kw, req)
            usages = [chunks[-1].usage, resp.usage]
        else:
            resp = complete(mode, kw, req)
            usages = [resp.usage]
        recorded = server.last_request
        assert recorded.path.endswith("/converse-stream" if streaming else "/converse")
        verify_sigv4(recorded.method, server.url + recorded.path, recorded.headers, recorded.body)
        sent = recorded.json
        got = {
            "system": sent["system"],
            "messages": sent["messages"],
            "tools": sent["toolConfig"]["tools"],
        }
        assert got == expected
        assert resp.content == "A summary."
        for usage in usages:
            assert usage is not None
            assert (usage.prompt_tokens, usage.completion_tokens, usage.total_tokens) == (
                1800,
                9,
                1809,
            )
            assert (usage.cached_tokens, usage.cache_write_tokens) == (1200, 500)

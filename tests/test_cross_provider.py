"""One tool-using conversation against every built-in provider: equal unified results.

The user asks, the model calls a tool, the tool result goes back, the model answers. Each
provider's wire format is served by FakeLLMServer from the same script; through metallm every
provider must yield the same unified responses, streamed or not, sync or async.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

import metallm
from _helpers import MODES, complete, stream
from metallm.testing import FakeLLMServer, ScriptedReply, ScriptedToolCall, ScriptedUsage

PROVIDERS = ["openai", "anthropic", "gemini", "xai", "ollama", "bedrock", "openai_responses"]
AWS = {
    "region": "us-east-1",
    "aws_access_key_id": "AKIDEXAMPLE",
    "aws_secret_access_key": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
}
WEATHER = metallm.Tool(
    function=metallm.FunctionDefinition(
        name="get_weather",
        description="Current weather for a city",
        parameters={"type": "object", "properties": {"city": {"type": "string"}}},
    )
)


def _script() -> tuple[ScriptedReply, ScriptedReply]:
    call = ScriptedToolCall(name="get_weather", arguments='{"city": "Paris"}', id="call_w1")
    first = ScriptedReply(tool_calls=[call], usage=ScriptedUsage(20, 5), chunk_size=3)
    second = ScriptedReply(text="It is 18 C and clear in Paris.", usage=ScriptedUsage(30, 9))
    return first, second


def _conversation(mode: str, provider: str, streamed: bool) -> list[dict[str, Any]]:
    with FakeLLMServer() as server:
        server.enqueue(*_script())
        kw: dict[str, Any] = {"provider": provider, "base_url": server.base_url(provider)}
        if provider == "bedrock":
            kw["extra"] = AWS  # registered by name too; SigV4-signed with static test keys
        else:
            kw["api_key"] = "sk-x-test"
        history = [
            metallm.Message(role="system", content="Be brief."),
            metallm.Message(role="user", content="Weather in Paris?"),
        ]
        results = []
        for _ in range(2):
            req = metallm.ChatCompletionRequest(
                model="m-1", messages=history, tools=[WEATHER], max_tokens=100
            )
            resp = stream(mode, kw, req)[1] if streamed else complete(mode, kw, req)
            message = resp.choices[0].message
            history.append(message)
            for call in message.tool_calls or []:
                result = json.dumps({"temp_c": 18, "sky": "clear"})
                history.append(metallm.Message(role="tool", tool_call_id=call.id, content=result))
            results.append(_unified(resp))
        sent = server.requests[1].json
    assert sent is not None  # the tool result went back in the provider's own shape
    return results


def _unified(resp: metallm.ChatCompletionResponse) -> dict[str, Any]:
    choice = resp.choices[0]
    calls = [
        (c.function.name, json.loads(c.function.arguments)) for c in choice.message.tool_calls or []
    ]
    usage = resp.usage
    return {
        "content": choice.message.content or None,
        "tool_calls": calls,
        "finish_reason": choice.finish_reason,
        "usage": (usage.prompt_tokens, usage.completion_tokens, usage.total_tokens)
        if usage
        else None,
    }


EXPECTED = [
    {
        "content": None,
        "tool_calls": [("get_weather", {"city": "Paris"})],
        "finish_reason": "tool_calls",
        "usage": (20, 5, 25),
    },
    {
        "content": "It is 18 C and clear in Paris.",
        "tool_calls": [],
        "finish_reason": "stop",
        "usage": (30, 9, 39),
    },
]


@pytest.mark.parametrize("streamed", [False, True], ids=["plain", "stream"])
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("provider", PROVIDERS)
def test_same_tool_conversation_on_every_provider(provider: str, mode: str, streamed: bool) -> None:
    assert _conversation(mode, provider, streamed) == EXPECTED

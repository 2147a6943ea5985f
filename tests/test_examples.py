"""Every example runs, as a user would run it, against FakeLLMServer (never the network)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from metallm.testing.fake_server import FakeLLMServer
from metallm.testing.script import ScriptedReply, ScriptedToolCall

EXAMPLES = sorted((Path(__file__).resolve().parents[1] / "examples").glob("*.py"))


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_example_runs(path: Path) -> None:
    with FakeLLMServer() as server:
        if path.stem == "tools":
            call = ScriptedToolCall(name="get_weather", arguments='{"city": "Paris"}', id="call_1")
            server.enqueue(
                ScriptedReply(tool_calls=[call]),
                ScriptedReply(text="It is 18 C and clear in Paris."),
                ScriptedReply(text='{"ok": true}'),
            )
        if path.stem == "tool_loop":
            server.enqueue(
                ScriptedReply(
                    tool_calls=[
                        ScriptedToolCall(name="get_weather", arguments={"city": "Paris"}, id="w"),
                        ScriptedToolCall(name="local_time", arguments={"city": "Paris"}, id="t"),
                    ]
                ),
                ScriptedReply(text="18 C and noon in Paris."),
            )
        if path.stem == "structured_output":
            items = [{"name": "tea", "quantity": 2}, {"name": "lemon cake", "quantity": 1}]
            server.enqueue(
                ScriptedReply(text='{"customer": "Ann", "items": [{"name": "tea"}]}'),
                ScriptedReply(text=json.dumps({"customer": "Ann", "items": items})),
                ScriptedReply(text=json.dumps({"value": items}), chunk_size=6),
            )
        env = {
            **os.environ,
            "OPENAI_BASE_URL": server.base_url("openai"),
            "OPENAI_API_KEY": "sk-example-offline",
        }
        env.pop("GATEWAY_API_KEY", None)
        out = subprocess.run(
            [sys.executable, str(path)],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert out.returncode == 0, out.stderr
        assert "sk-example-offline" not in out.stdout + out.stderr
        requests = server.requests
    assert out.stdout.strip()
    expectations = {
        "basic": "Response: Hello from FakeLLMServer",
        "streaming": "finish: stop",
        "async_client": "Count to five.",
        "tools": "get_weather",
        "tool_loop": "answer: 18 C and noon in Paris.",
        "custom_provider": "gateway ->",
        "errors_and_retries": "raw httpx with RetryTransport: 200",
        "hooks_and_logging": "chunks",
        "observability_hooks": "totals: 4 calls, 1 failed",
        "memory_demo": "conversation survived the restart: 5 messages",
        "structured_output": "order for Ann: [('tea', 2), ('lemon cake', 1)]",
        "router_fallback": "answered by anthropic claude-sonnet-4-5: Hello from FakeLLMServer!",
    }
    assert expectations[path.stem] in out.stdout + out.stderr, out.stdout
    if path.stem == "tools":
        assert requests[1].json["messages"][-1] == {
            "role": "tool",
            "tool_call_id": "call_1",
            "content": '{"city": "Paris", "temperature_c": 18, "sky": "clear"}',
        }
    if path.stem == "structured_output":
        assert "attempts: 2" in out.stdout and "streamed items: 2" in out.stdout
        assert "partial: ['tea', 'lemon cake']" in out.stdout
        assert "quantity" in requests[1].json["messages"][-1]["content"]  # the re-ask
    if path.stem == "hooks_and_logging":
        assert "trace=trace-123" in out.stderr
    if path.stem == "router_fallback":  # runs its own two fake servers: 503s and answers
        for needle in (
            "attempt 1 -> oai-primary (openai/gpt-4o-mini)",
            "attempt 2 -> claude-backup (anthropic/claude-sonnet-4-5)",
            "tried ['oai-primary', 'claude-backup'], answered by claude-backup",
            "streamed by claude-backup: Hello from FakeLLMServer!",
            "oai-primary: InternalServerError 503",
            "claude-backup: OverloadedError 529",
            "tried ['claude-backup'], answered by claude-backup",  # the open breaker skipped
            "oai-primary: 3 calls, 3 failed, breaker open",
            "claude-backup: 4 calls, 1 failed, breaker closed",
            "no target serves model 'gpt-5'",
            "second call refused before any I/O: retry after",
            "the routed call's deadline of 0.5s passed",
        ):
            assert needle in out.stdout, needle
        shares = re.search(r"'claude-sonnet-4-5': (\d+), 'claude-haiku-4-5': (\d+)", out.stdout)
        assert shares is not None, out.stdout
        assert int(shares[1]) + int(shares[2]) == 40 and int(shares[1]) > int(shares[2])
        assert out.stdout.rstrip().endswith("answered by anthropic claude-sonnet-4-5")

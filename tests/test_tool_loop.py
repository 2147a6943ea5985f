"""``run_tools``: the tool loop, through real sockets (FakeLLMServer), sync and async.

Every provider runs the same two-parallel-tools conversation; the failure cases (a tool that
raises, invalid arguments, an unknown tool, ``max_steps``, ``on_tool_error="raise"``), the
concurrency of a step's tools (measured overlap), memory and the span tree run on both clients.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from typing import Any, Literal

import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

import metallm
from _helpers import MODES
from metallm.otel import OTelHook
from metallm.testing import FakeLLMServer, ScriptedReply, ScriptedToolCall

PROVIDERS = ["openai", "anthropic", "gemini", "xai", "ollama", "bedrock"]
AWS = {
    "region": "us-east-1",
    "aws_access_key_id": "AKIDEXAMPLE",
    "aws_secret_access_key": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
}
KEY = "sk-tools-test-key"
USER = [{"role": "user", "content": "Weather in Paris and Rome?"}]


@metallm.tool
def get_weather(city: str, unit: Literal["c", "f"] = "c") -> dict[str, Any]:
    """Current weather for a city.

    Args:
        city: The city's name.
        unit: Celsius or Fahrenheit.
    """
    return {"city": city, "temperature": 18 if unit == "c" else 64, "unit": unit}


def get_time(city: str) -> str:
    """The local time in a city."""
    return f"12:00 in {city}"


def explode(reason: str) -> str:
    """Always fails."""
    raise RuntimeError(f"broken: {reason}")


@pytest.fixture(scope="module")
def server() -> Iterator[FakeLLMServer]:
    with FakeLLMServer() as s:
        yield s


@pytest.fixture(autouse=True)
def _clean(server: FakeLLMServer) -> None:
    server.clear()


def client_kw(server: FakeLLMServer, provider: str = "openai", **extra: Any) -> dict[str, Any]:
    kw: dict[str, Any] = {"provider": provider, "base_url": server.base_url(provider)}
    if provider == "bedrock":
        kw["extra"] = AWS
    else:
        kw["api_key"] = KEY
    kw.setdefault("hooks", [])
    kw.update(extra)
    return kw


def run_tools(mode: str, kw: dict[str, Any], **call: Any) -> metallm.ToolRunResult:
    """One run_tools call with a fresh client, sync or async."""
    call.setdefault("model", "m-1")
    call.setdefault("messages", USER)
    if mode == "sync":
        with metallm.Client(**kw) as client:
            return client.run_tools(**call)

    async def go() -> metallm.ToolRunResult:
        async with metallm.AsyncClient(**kw) as client:
            return await client.run_tools(**call)

    return asyncio.run(go())


def calls(*items: tuple[str, Any, str]) -> ScriptedReply:
    return ScriptedReply(
        tool_calls=[ScriptedToolCall(name, args, id=cid) for name, args, cid in items]
    )


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("provider", PROVIDERS)
def test_two_parallel_tools_on_every_provider(
    server: FakeLLMServer, provider: str, mode: str
) -> None:
    server.enqueue(
        calls(
            ("get_weather", {"city": "Paris"}, "call_1"), ("get_time", {"city": "Rome"}, "call_2")
        ),
        ScriptedReply(text="18 C in Paris; noon in Rome."),
    )
    result = run_tools(mode, client_kw(server, provider), tools=[get_weather, get_time])
    assert result.content == "18 C in Paris; noon in Rome."
    assert [m.role for m in result.messages] == ["user", "assistant", "tool", "tool", "assistant"]
    first, second = result.messages[2], result.messages[3]
    assert (first.tool_call_id, second.tool_call_id) == ("call_1", "call_2")  # call order
    assert json.loads(str(first.content)) == {"city": "Paris", "temperature": 18, "unit": "c"}
    assert second.content == "12:00 in Rome"
    assert len(result.steps) == 2
    records = result.steps[0].tool_calls
    assert [(r.name, r.arguments, r.ok) for r in records] == [
        ("get_weather", {"city": "Paris", "unit": "c"}, True),
        ("get_time", {"city": "Rome"}, True),
    ]
    assert result.steps[1].tool_calls == []
    sent = server.requests[0].json
    assert "get_weather" in json.dumps(sent) and "The city's name." in json.dumps(sent)
    assert "12:00 in Rome" in json.dumps(server.requests[1].json)  # results went back


@pytest.mark.parametrize("mode", MODES)
def test_tool_errors_go_back_to_the_model(server: FakeLLMServer, mode: str) -> None:
    server.enqueue(
        calls(
            ("explode", {"reason": "disk"}, "c1"),
            ("get_weather", {"city": "Paris", "unit": "kelvin"}, "c2"),
            ("no_such_tool", {}, "c3"),
            ("get_weather", "not json", "c4"),
        ),
        ScriptedReply(text="sorry"),
    )
    result = run_tools(mode, client_kw(server), tools=[get_weather, explode])
    records = result.steps[0].tool_calls
    assert [r.error_kind for r in records] == [
        "raised",
        "invalid_arguments",
        "unknown_tool",
        "invalid_arguments",
    ]
    assert isinstance(records[0].error, RuntimeError)
    texts = [str(m.content) for m in result.messages if m.role == "tool"]
    assert texts[0] == "Error: tool 'explode' raised RuntimeError: broken: disk"
    assert "invalid arguments for tool 'get_weather'" in texts[1] and "unit" in texts[1]
    assert "unknown tool 'no_such_tool'" in texts[2] and "explode, get_weather" in texts[2]
    assert result.content == "sorry"
    tool_messages = server.requests[1].json["messages"][-4:]
    assert [m["tool_call_id"] for m in tool_messages] == ["c1", "c2", "c3", "c4"]


@pytest.mark.parametrize("mode", MODES)
def test_on_tool_error_raise(server: FakeLLMServer, mode: str) -> None:
    server.enqueue(calls(("get_time", {"city": "Oslo"}, "c1"), ("explode", {"reason": "x"}, "c2")))
    with pytest.raises(metallm.ToolExecutionError) as info:
        run_tools(mode, client_kw(server), tools=[get_time, explode], on_tool_error="raise")
    err = info.value
    assert (err.kind, err.tool_name, err.call_id) == ("raised", "explode", "c2")
    assert isinstance(err.__cause__, RuntimeError)
    assert [m.role for m in err.messages] == ["user", "assistant"]
    assert len(server.requests) == 1


@pytest.mark.parametrize("mode", MODES)
def test_unknown_tool_raises_when_asked(server: FakeLLMServer, mode: str) -> None:
    server.enqueue(calls(("missing", {}, "c9")))
    with pytest.raises(metallm.ToolExecutionError) as info:
        run_tools(mode, client_kw(server), tools=[get_time], on_tool_error="raise")
    assert info.value.kind == "unknown_tool" and info.value.tool_name == "missing"


@pytest.mark.parametrize("mode", MODES)
def test_max_steps_reached(server: FakeLLMServer, mode: str) -> None:
    ran: list[str] = []

    def note(city: str) -> str:
        ran.append(city)
        return "ok"

    server.enqueue(*(calls(("note", {"city": f"c{i}"}, f"id{i}")) for i in range(3)))
    with pytest.raises(metallm.MaxStepsExceededError) as info:
        run_tools(mode, client_kw(server), tools=[note], max_steps=2)
    err = info.value
    assert len(server.requests) == 2 and len(err.steps) == 2
    assert ran == ["c0"]  # the last step's tools were not run
    assert [m.role for m in err.messages] == ["user", "assistant", "tool", "assistant"]


@pytest.mark.parametrize("mode", MODES)
def test_stop_when_ends_the_loop(server: FakeLLMServer, mode: str) -> None:
    server.enqueue(calls(("get_time", {"city": "Oslo"}, "c1")), ScriptedReply(text="unused"))
    result = run_tools(
        mode, client_kw(server), tools=[get_time], stop_when=lambda step: step.index == 0
    )
    assert len(server.requests) == 1 and len(result.steps) == 1
    assert result.messages[-1].role == "tool"


class Overlap:
    """Counts tools running at once (threads or tasks): the measured overlap."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.active = 0
        self.peak = 0

    def enter(self) -> None:
        with self.lock:
            self.active += 1
            self.peak = max(self.peak, self.active)

    def leave(self) -> None:
        with self.lock:
            self.active -= 1


@pytest.mark.parametrize("kind", ["async_def", "plain"])
@pytest.mark.parametrize("mode", MODES)
def test_a_steps_tools_run_concurrently(server: FakeLLMServer, mode: str, kind: str) -> None:
    overlap = Overlap()
    both = threading.Barrier(3, timeout=10)  # three calls: each waits until all have started

    async def slow_async(n: int) -> int:
        overlap.enter()
        await asyncio.get_running_loop().run_in_executor(None, both.wait)
        overlap.leave()
        return n

    def slow_plain(n: int) -> int:
        overlap.enter()
        both.wait()
        overlap.leave()
        return n

    fn = slow_async if kind == "async_def" else slow_plain
    tool = metallm.tool(fn, name="slow")
    server.enqueue(
        calls(*(("slow", {"n": i}, f"c{i}") for i in range(3))), ScriptedReply(text="done")
    )
    result = run_tools(mode, client_kw(server), tools=[tool])
    assert overlap.peak == 3  # all three were running at once
    assert [m.content for m in result.messages if m.role == "tool"] == ["0", "1", "2"]


@pytest.mark.parametrize("mode", MODES)
def test_sequential_when_parallel_tool_calls_is_off(server: FakeLLMServer, mode: str) -> None:
    overlap = Overlap()

    def step(n: int) -> int:
        overlap.enter()
        overlap.leave()
        return n

    server.enqueue(calls(("step", {"n": 1}, "a"), ("step", {"n": 2}, "b")), ScriptedReply(text="k"))
    run_tools(mode, client_kw(server), tools=[step], parallel_tool_calls=False)
    assert overlap.peak == 1


@pytest.mark.parametrize("mode", MODES)
def test_a_tool_timeout(server: FakeLLMServer, mode: str) -> None:
    release = threading.Event()

    def stuck() -> str:
        release.wait(10)
        return "late"

    tool = metallm.tool(stuck, timeout=0.05)
    server.enqueue(calls(("stuck", {}, "c1")), ScriptedReply(text="gave up"))
    try:
        result = run_tools(mode, client_kw(server), tools=[tool])
    finally:
        release.set()
    record = result.steps[0].tool_calls[0]
    assert record.error_kind == "timeout"
    assert record.content == "Error: tool 'stuck' timed out after 0.05 s"


@pytest.mark.parametrize("mode", MODES)
def test_memory_stores_the_transcript_after_success_only(server: FakeLLMServer, mode: str) -> None:
    server.enqueue(
        calls(("get_time", {"city": "Oslo"}, "c1")),
        ScriptedReply(text="noon"),
        calls(("get_time", {"city": "Oslo"}, "c2")),
    )
    first = [{"role": "user", "content": "Time in Oslo?"}]
    later = [{"role": "user", "content": "Again?"}]

    def roles(messages: list[metallm.Message]) -> list[str]:
        return [str(m.role) for m in messages]

    if mode == "sync":
        with metallm.Client(**client_kw(server)) as client:
            client.run_tools_with_memory("s1", model="m-1", messages=first, tools=[get_time])
            stored = client.get_conversation_messages("s1")
            with pytest.raises(metallm.MaxStepsExceededError):
                client.run_tools_with_memory(
                    "s1", model="m-1", messages=later, tools=[get_time], max_steps=1
                )
            after = client.get_conversation_messages("s1")
    else:

        async def go() -> tuple[list[metallm.Message], list[metallm.Message]]:
            async with metallm.AsyncClient(**client_kw(server)) as client:
                await client.run_tools_with_memory(
                    "s1", model="m-1", messages=first, tools=[get_time]
                )
                stored = await client.get_conversation_messages("s1")
                with pytest.raises(metallm.MaxStepsExceededError):
                    await client.run_tools_with_memory(
                        "s1", model="m-1", messages=later, tools=[get_time], max_steps=1
                    )
                return stored, await client.get_conversation_messages("s1")

        stored, after = asyncio.run(go())
    assert roles(stored) == ["user", "assistant", "tool", "assistant"]
    assert stored[2].content == "12:00 in Oslo" and stored[3].content == "noon"
    assert roles(after) == roles(stored)  # the failed loop stored nothing
    history = server.requests[2].json["messages"]
    assert [m["role"] for m in history] == ["user", "assistant", "tool", "assistant", "user"]


def test_bad_input_fails_before_any_io(server: FakeLLMServer) -> None:
    def star(*args: int) -> int:
        return 0

    class Opaque:
        pass

    def opaque(x: Opaque) -> int:
        return 0

    with pytest.raises(metallm.ConfigurationError, match="star"):
        metallm.tool(star)
    with pytest.raises(metallm.ConfigurationError, match="opaque"):
        metallm.tool(opaque)
    with metallm.Client(**client_kw(server)) as client:
        with pytest.raises(metallm.ConfigurationError, match="get_time"):
            client.run_tools(model="m", messages=USER, tools=[get_time, get_time])
        with pytest.raises(metallm.InvalidRequestError, match="max_steps"):
            client.run_tools(model="m", messages=USER, tools=[get_time], max_steps=0)
        with pytest.raises(metallm.InvalidRequestError, match="on_tool_error"):
            client.run_tools(model="m", messages=USER, tools=[get_time], on_tool_error="x")
        with pytest.raises(metallm.InvalidRequestError):
            client.run_tools(model="m", messages=USER, tools=[])
    assert server.requests == []


def spans_of(tp: TracerProvider) -> InMemorySpanExporter:
    exporter = InMemorySpanExporter()
    tp.add_span_processor(SimpleSpanProcessor(exporter))
    return exporter


@pytest.mark.parametrize("capture", [False, True], ids=["no_content", "content"])
@pytest.mark.parametrize("mode", MODES)
def test_span_tree(server: FakeLLMServer, mode: str, capture: bool) -> None:
    tp = TracerProvider()
    exporter = spans_of(tp)
    server.enqueue(
        calls(("get_time", {"city": "Oslo"}, "c1"), ("explode", {"reason": "x"}, "c2")),
        ScriptedReply(text="done"),
    )
    kw = client_kw(server, hooks=[OTelHook(tracer_provider=tp)], capture_content=capture)
    run_tools(mode, kw, tools=[get_time, explode], agent_name="helper")
    spans: list[ReadableSpan] = list(exporter.get_finished_spans())
    (root,) = [s for s in spans if s.parent is None]
    assert root.name == "invoke_agent helper" and root.kind is SpanKind.INTERNAL
    assert root.attributes is not None
    assert root.attributes["gen_ai.operation.name"] == "invoke_agent"
    assert root.attributes["gen_ai.agent.name"] == "helper"
    assert root.status.status_code is StatusCode.UNSET
    children = [s for s in spans if s.parent is not None]
    assert all(s.parent.span_id == root.context.span_id for s in children)  # type: ignore[union-attr]
    chats = [s for s in children if s.name == "chat m-1"]
    tools = {s.name: s for s in children if s.name.startswith("execute_tool")}
    assert len(chats) == 2 and all(s.kind is SpanKind.CLIENT for s in chats)
    assert set(tools) == {"execute_tool get_time", "execute_tool explode"}
    ok, bad = tools["execute_tool get_time"], tools["execute_tool explode"]
    assert ok.kind is SpanKind.INTERNAL and ok.status.status_code is StatusCode.UNSET
    assert (
        dict(ok.attributes or {}).items()
        >= {
            "gen_ai.operation.name": "execute_tool",
            "gen_ai.tool.name": "get_time",
            "gen_ai.tool.call.id": "c1",
            "gen_ai.tool.type": "function",
        }.items()
    )
    assert bad.status.status_code is StatusCode.ERROR
    assert (bad.attributes or {})["error.type"] == "RuntimeError"
    assert ("gen_ai.tool.call.arguments" in (ok.attributes or {})) is capture
    assert ((ok.attributes or {}).get("gen_ai.tool.call.result") == "12:00 in Oslo") is capture
    for span in spans:
        assert KEY not in json.dumps(dict(span.attributes or {}))
    tp.shutdown()


@pytest.mark.parametrize("mode", MODES)
def test_failed_loop_span(server: FakeLLMServer, mode: str) -> None:
    tp = TracerProvider()
    exporter = spans_of(tp)
    server.enqueue(calls(("get_time", {"city": "a"}, "c1")))
    kw = client_kw(server, hooks=[OTelHook(tracer_provider=tp)])
    with pytest.raises(metallm.MaxStepsExceededError):
        run_tools(mode, kw, tools=[get_time], max_steps=1)
    (root,) = [s for s in exporter.get_finished_spans() if s.parent is None]
    assert root.name == "invoke_agent" and root.status.status_code is StatusCode.ERROR
    assert (root.attributes or {})["error.type"] == "metallm.errors.MaxStepsExceededError"
    tp.shutdown()


class _Broken:
    """A hook whose every tool-loop method raises: the loop must not notice."""

    def before_tool_loop(self, loop: object) -> None:
        raise RuntimeError("hook bug")

    def after_tool_loop(self, *args: object) -> None:
        raise RuntimeError("hook bug")

    def before_tool(self, call: object) -> None:
        raise RuntimeError("hook bug")

    def tool_context(self, call: object) -> object:
        raise RuntimeError("hook bug")

    def after_tool(self, call: object) -> None:
        raise RuntimeError("hook bug")


@pytest.mark.parametrize("mode", MODES)
def test_a_failing_hook_never_breaks_the_loop(server: FakeLLMServer, mode: str) -> None:
    server.enqueue(calls(("get_time", {"city": "Oslo"}, "c1")), ScriptedReply(text="noon"))
    result = run_tools(mode, client_kw(server, hooks=[_Broken()]), tools=[get_time])
    assert result.content == "noon" and result.steps[0].tool_calls[0].ok


def test_no_tracer_provider_means_no_loop_spans(server: FakeLLMServer) -> None:
    """Without a tracer provider the OTel hook keeps no loop state (it records nothing)."""
    from metallm.otel._context import tracing_unset

    if not tracing_unset():
        pytest.skip("a global tracer provider is installed in this process")
    seen: list[dict[object, object]] = []

    class Spy:
        def after_tool_loop(self, loop: metallm.hooks.ToolLoopInfo, *rest: object) -> None:
            seen.append(dict(loop.state))

    server.enqueue(ScriptedReply(text="hi"))
    run_tools("sync", client_kw(server, hooks=[OTelHook(), Spy()]), tools=[get_time])
    assert seen == [{}]


def test_the_tool_loop_benchmark_runs() -> None:
    """``benchmarks/tool_loop_bench.py`` still runs (figures printed, never asserted)."""
    import subprocess
    import sys
    from pathlib import Path

    script = Path(__file__).resolve().parents[1] / "benchmarks" / "tool_loop_bench.py"
    out = subprocess.run(
        [sys.executable, str(script), "--runs", "20", "--rounds", "1"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert "loop adds" in out.stdout and "us per step" in out.stdout

"""Memory-aware client calls over real HTTP against FakeLLMServer, sync and async alike.

History is prepended to what the server receives, the turn (tool calls included) is stored only
after success, a stream stores its reply only when it completes (never when cut or closed
early), a failed call leaves the session as it was, spans carry ``gen_ai.conversation.id``, and
bad input fails before anything is sent or written. Each scenario is written once, async; the
sync client runs it through a thin adapter.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import metallm
from metallm.memory import InMemoryStore
from metallm.otel import OTelHook
from metallm.testing import FakeLLMServer, MockKVS, ScriptedReply, ScriptedToolCall

KEY = "sk-memory-test-0123456789"
MODES = ["sync", "async"]
MODEL = "gpt-4o-mini"


@pytest.fixture(scope="module")
def server() -> Iterator[FakeLLMServer]:
    with FakeLLMServer() as s:
        yield s


@pytest.fixture(autouse=True)
def _clean(server: FakeLLMServer) -> None:
    server.clear()


class SyncAdapter:
    """The sync client behind the async method names the scenarios use."""

    def __init__(self, client: metallm.Client) -> None:
        self.c = client

    def __getattr__(self, name: str) -> Any:
        method = getattr(self.c, name)

        async def call(*a: Any, **kw: Any) -> Any:
            return method(*a, **kw)

        return call

    async def stream(self, sid: str, text: str, take: int | None = None) -> str:
        out = ""
        s = self.c.create_chat_completion_stream_with_memory(
            sid, model=MODEL, messages=[{"role": "user", "content": text}]
        )
        with s:
            for chunk in s:
                out += chunk.choices[0].delta.content or "" if chunk.choices else ""
                if take is not None and take <= 1:
                    s.close()
                    break
                take = None if take is None else take - 1
        return out


class AsyncAdapter:
    def __init__(self, client: metallm.AsyncClient) -> None:
        self.c = client

    def __getattr__(self, name: str) -> Any:
        return getattr(self.c, name)

    async def stream(self, sid: str, text: str, take: int | None = None) -> str:
        out = ""
        s = await self.c.create_chat_completion_stream_with_memory(
            sid, model=MODEL, messages=[{"role": "user", "content": text}]
        )
        async with s:
            async for chunk in s:
                out += chunk.choices[0].delta.content or "" if chunk.choices else ""
                if take is not None and take <= 1:
                    await s.close()
                    break
                take = None if take is None else take - 1
        return out


def run(mode: str, server: FakeLLMServer, scenario: Any, **client_kw: Any) -> None:
    kw: dict[str, Any] = {
        "provider": "openai",
        "base_url": server.base_url("openai"),
        "api_key": KEY,
        "hooks": [],
        "max_retries": 0,
        **client_kw,
    }
    if mode == "sync":
        with metallm.Client(**kw) as client:
            asyncio.run(scenario(SyncAdapter(client)))
        return

    async def main() -> None:
        async with metallm.AsyncClient(**kw) as client:
            await scenario(AsyncAdapter(client))

    asyncio.run(main())


def sent(server: FakeLLMServer, i: int) -> list[tuple[str, Any]]:
    return [(m["role"], m.get("content")) for m in server.requests[i].json["messages"]]


def ask(text: str) -> dict[str, Any]:
    return {"model": MODEL, "messages": [{"role": "user", "content": text}]}


@pytest.mark.parametrize("mode", MODES)
def test_history_is_prepended_and_turns_are_stored(mode: str, server: FakeLLMServer) -> None:
    server.enqueue(ScriptedReply(text="Hello Ada."), ScriptedReply(text="Your name is Ada."))

    async def scenario(c: Any) -> None:
        conv = await c.create_conversation_with_system_message("u1", "You remember names.")
        assert conv.messages[0].role is metallm.Role.SYSTEM
        r1 = await c.create_chat_completion_with_memory("u1", **ask("I am Ada."))
        assert r1.content == "Hello Ada."
        await c.create_chat_completion_with_memory("u1", **ask("Who am I?"))
        assert sent(server, 0) == [("system", "You remember names."), ("user", "I am Ada.")]
        assert sent(server, 1) == [
            ("system", "You remember names."),
            ("user", "I am Ada."),
            ("assistant", "Hello Ada."),
            ("user", "Who am I?"),
        ]
        msgs = await c.get_conversation_messages("u1")
        assert [(m.role.value, m.text()) for m in msgs][-2:] == [
            ("user", "Who am I?"),
            ("assistant", "Your name is Ada."),
        ]
        assert (await c.load_conversation("u1")).session_id == "u1"
        await c.append_message("u1", metallm.Message(role=metallm.Role.USER, content="note"))
        assert len(await c.get_conversation_messages("u1")) == 6
        await c.delete_conversation("u1")
        assert await c.get_conversation_messages("u1") == []

    run(mode, server, scenario)


@pytest.mark.parametrize("mode", MODES)
def test_tool_calls_are_stored_and_sent_back(mode: str, server: FakeLLMServer) -> None:
    call = ScriptedToolCall(name="get_time", arguments='{"tz": "UTC"}', id="call_9")
    server.enqueue(ScriptedReply(tool_calls=[call]), ScriptedReply(text="It is noon."))

    async def scenario(c: Any) -> None:
        await c.create_chat_completion_with_memory("t", **ask("Time?"))
        stored = (await c.get_conversation_messages("t"))[-1]
        assert stored.role is metallm.Role.ASSISTANT
        assert stored.tool_calls[0].id == "call_9"
        assert stored.tool_calls[0].function.arguments == '{"tz": "UTC"}'
        result = {"role": "tool", "tool_call_id": "call_9", "content": "12:00"}
        await c.create_chat_completion_with_memory("t", model=MODEL, messages=[result])
        body = server.requests[1].json["messages"]
        assert body[1]["tool_calls"][0]["id"] == "call_9"
        assert body[2] == result
        assert len(await c.get_conversation_messages("t")) == 4

    run(mode, server, scenario)


@pytest.mark.parametrize("mode", MODES)
def test_a_failed_call_stores_nothing(mode: str, server: FakeLLMServer) -> None:
    server.enqueue(ScriptedReply.error(400, "bad things"), ScriptedReply(disconnect=True))

    async def scenario(c: Any) -> None:
        await c.create_conversation_with_system_message("f", "sys")
        before = await c.load_conversation("f")
        for _ in range(2):
            with pytest.raises((metallm.BadRequestError, metallm.APIConnectionError)):
                await c.create_chat_completion_with_memory("f", **ask("will fail"))
        assert await c.load_conversation("f") == before

    run(mode, server, scenario)


@pytest.mark.parametrize("mode", MODES)
def test_stream_stores_only_when_it_completes(mode: str, server: FakeLLMServer) -> None:
    server.enqueue(
        ScriptedReply(text="streamed whole answer", chunk_size=3),
        ScriptedReply(text="abandoned answer here", chunk_size=2),
        ScriptedReply(text="cut short answer here", chunk_size=2, cut_after=3),
        ScriptedReply(text="error event answer", chunk_size=2, error_event_after=2),
    )

    async def scenario(c: Any) -> None:
        assert await c.stream("st", "first") == "streamed whole answer"
        stored = await c.get_conversation_messages("st")
        assert [m.text() for m in stored] == ["first", "streamed whole answer"]
        await c.stream("st", "abandon me", take=1)
        for _ in range(2):
            with pytest.raises((metallm.APIConnectionError, metallm.APIError)):
                await c.stream("st", "fails")
        assert [m.text() for m in await c.get_conversation_messages("st")] == [
            "first",
            "streamed whole answer",
        ]
        assert sent(server, 1) == [
            ("user", "first"),
            ("assistant", "streamed whole answer"),
            ("user", "abandon me"),
        ]

    run(mode, server, scenario)


@pytest.mark.parametrize("mode", MODES)
def test_spans_carry_the_conversation_id(mode: str, server: FakeLLMServer) -> None:
    spans = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(spans))
    hook = OTelHook(tracer_provider=provider)
    server.enqueue(ScriptedReply(text="a"), ScriptedReply(text="b"), ScriptedReply(text="c"))

    async def scenario(c: Any) -> None:
        await c.create_chat_completion_with_memory("conv-42", **ask("hi"))
        await c.stream("conv-42", "again")
        await c.create_chat_completion(**ask("no memory"))

    run(mode, server, scenario, hooks=[hook])
    finished = spans.get_finished_spans()
    assert [s.attributes.get("gen_ai.conversation.id") for s in finished] == [
        "conv-42",
        "conv-42",
        None,
    ]


@pytest.mark.parametrize("mode", MODES)
def test_bad_input_fails_before_sending_or_writing(mode: str, server: FakeLLMServer) -> None:
    kvs = MockKVS()

    async def scenario(c: Any) -> None:
        for sid in ["", "x" * 257]:
            with pytest.raises(metallm.InvalidSessionIdError):
                await c.create_chat_completion_with_memory(sid, **ask("hi"))
        with pytest.raises(metallm.InvalidRequestError):
            await c.create_chat_completion_with_memory(
                "ok", model=MODEL, messages=[{"role": "wizard", "content": "x"}]
            )
        with pytest.raises(metallm.InvalidRequestError):
            await c.append_message("ok", {"role": "user", "content": 5})

    run(mode, server, scenario, memory=kvs)
    assert server.requests == []
    assert [op for op, _ in kvs.calls if op != "get"] == []


def test_a_store_not_implementing_the_protocol_is_refused(tmp_path: Path) -> None:
    with pytest.raises(metallm.ConfigurationError, match="KVStore"):
        metallm.Client(provider="openai", api_key=KEY, memory=object())

    class SyncOnly:
        get = set = delete = InMemoryStore.get

    with pytest.raises(metallm.ConfigurationError, match="AsyncKVStore"):
        metallm.AsyncClient(provider="openai", api_key=KEY, memory=SyncOnly())


def test_memory_config_applies_to_client_calls(server: FakeLLMServer) -> None:
    server.enqueue(*[ScriptedReply(text=f"r{i}") for i in range(4)])
    config = metallm.MemoryConfig(max_messages=3, key_prefix="app")
    store = InMemoryStore()
    with metallm.Client(
        provider="openai",
        base_url=server.base_url("openai"),
        api_key=KEY,
        hooks=[],
        memory=store,
        memory_config=config,
    ) as c:
        c.create_conversation_with_system_message("m", "sys")
        for i in range(4):
            c.create_chat_completion_with_memory("m", **ask(f"q{i}"))
        assert [m.text() for m in c.get_conversation_messages("m")] == ["sys", "q3", "r3"]
    assert store.keys() == ["app:m"]
    assert metallm.MemoryConfig() == metallm.MemoryConfig(50, 86400, "metallm:conversations")


def test_a_garbage_collected_stream_stores_nothing(server: FakeLLMServer) -> None:
    import gc

    server.enqueue(ScriptedReply(text="never finished answer", chunk_size=2))
    store = InMemoryStore()
    with metallm.Client(
        provider="openai", base_url=server.base_url("openai"), api_key=KEY, hooks=[], memory=store
    ) as c:
        s = c.create_chat_completion_stream_with_memory("gc", **ask("drop me"))
        next(iter(s))
        del s
        gc.collect()
        assert c.get_conversation_messages("gc") == []


def test_every_shipped_store_implements_both_protocols(tmp_path: Path) -> None:
    from metallm.memory import AsyncKVStore, KVStore, SQLiteStore

    for store in (InMemoryStore(), MockKVS(), SQLiteStore(tmp_path / "p.db")):
        assert isinstance(store, KVStore) and isinstance(store, AsyncKVStore)
        assert callable(store.append) and callable(store.aappend)


@pytest.mark.parametrize("mode", MODES)
def test_store_failure_at_stream_end_surfaces_typed(mode: str, server: FakeLLMServer) -> None:
    kvs = MockKVS()
    server.enqueue(ScriptedReply(text="complete answer", chunk_size=4))

    async def scenario(c: Any) -> None:
        kvs.fail_next(1)
        with pytest.raises(metallm.MemoryStoreError):
            await c.stream("sf", "hello")  # the read fails: nothing is sent
        assert server.requests == []
        await c.create_conversation_with_system_message("sf", "sys")
        original_append = kvs.append

        def failing_append(*a: Any, **kw: Any) -> None:
            raise ConnectionError("store went away at the end of the stream")

        kvs.append = failing_append  # type: ignore[method-assign]
        try:
            with pytest.raises(metallm.MemoryStoreError, match="went away"):
                await c.stream("sf", "hello")
        finally:
            kvs.append = original_append  # type: ignore[method-assign]
        assert [m.text() for m in await c.get_conversation_messages("sf")] == ["sys"]

    run(mode, server, scenario, memory=kvs)

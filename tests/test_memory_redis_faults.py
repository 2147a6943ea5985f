"""Redis going away mid-run: typed errors fast, no partial write, and recovery once it is back.

Each test runs its own redis-server (an append-only file in a temp dir, so data survives the
restart we do to it) and stops and restarts that one process by PID.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import metallm
from _redis_server import RedisServer
from metallm.memory import ConversationMemory, MemoryConfig
from metallm.testing import FakeLLMServer


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(data_dir=tmp_path).start()
    try:
        yield server
    finally:
        server.stop()


def _store(server: RedisServer) -> object:
    from metallm.memory import RedisStore

    return RedisStore(server.url, socket_timeout=1.0, connect_timeout=0.5)


def test_stopped_mid_run_raises_fast_writes_nothing_partial_and_recovers(
    own_redis: RedisServer,
) -> None:
    memory = ConversationMemory(_store(own_redis), MemoryConfig(max_messages=100_000))
    memory.create("s", "sys")
    acked: list[int] = []
    failures: list[BaseException] = []
    stop = threading.Event()

    def writer() -> None:
        i = 0
        while not stop.is_set():
            try:
                memory.append("s", [{"role": "user", "content": f"m{i}"}])
                acked.append(i)
            except metallm.MemoryStoreError as exc:
                failures.append(exc)
                return
            i += 1

    t = threading.Thread(target=writer)
    t.start()
    time.sleep(0.3)
    own_redis.stop()  # mid-run
    t.join(timeout=10)
    stop.set()
    assert not t.is_alive() and failures, "the writer should have hit a MemoryStoreError"
    assert acked, "some appends should have succeeded before the stop"

    for op in (lambda: memory.load("s"), lambda: memory.append("s", [{"role": "user"}])):
        started = time.monotonic()
        with pytest.raises(metallm.MemoryStoreError) as info:
            op()
        assert time.monotonic() - started < 3.0
        assert info.value.session_id == "s"

    own_redis.start()  # same port, same data dir
    conv = memory.load("s")  # decodes: no half-written value
    texts = [m.text() for m in conv.messages[1:]]
    # every acknowledged append is there, in order; at most the one in flight beyond them
    assert texts[: len(acked)] == [f"m{i}" for i in acked]
    assert len(texts) - len(acked) in (0, 1)
    memory.append("s", [{"role": "user", "content": "after restart"}])
    assert memory.load("s").messages[-1].text() == "after restart"


def test_async_store_and_client_fail_typed_while_redis_is_down(own_redis: RedisServer) -> None:
    store = _store(own_redis)

    async def main(server: FakeLLMServer) -> None:
        async with metallm.AsyncClient(
            provider="openai",
            base_url=server.base_url("openai"),
            api_key="sk-test-key",
            memory=store,
            hooks=[],
        ) as client:
            await client.create_conversation_with_system_message("a", "sys")
            own_redis.stop()
            started = time.monotonic()
            with pytest.raises(metallm.MemoryStoreError):
                await client.create_chat_completion_with_memory(
                    "a", model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}]
                )
            assert time.monotonic() - started < 3.0
            assert server.requests == []  # the history could not be read: nothing was sent
            own_redis.start()
            reply = await client.create_chat_completion_with_memory(
                "a", model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}]
            )
            assert reply.content
            assert len(await client.get_conversation_messages("a")) == 3

    with FakeLLMServer() as server:
        asyncio.run(main(server))


def test_sync_client_fails_typed_while_redis_is_down(own_redis: RedisServer) -> None:
    with (
        FakeLLMServer() as server,
        metallm.Client(
            provider="openai",
            base_url=server.base_url("openai"),
            api_key="sk-test-key",
            memory=_store(own_redis),
            hooks=[],
        ) as client,
    ):
        client.create_conversation_with_system_message("b", "sys")
        own_redis.stop()
        with pytest.raises(metallm.MemoryStoreError, match="'b'"):
            client.append_message("b", metallm.Message(role=metallm.Role.USER, content="x"))
        with pytest.raises(metallm.MemoryStoreError):
            client.load_conversation("b")
        own_redis.start()
        client.append_message("b", metallm.Message(role=metallm.Role.USER, content="x"))
        assert [m.text() for m in client.get_conversation_messages("b")] == ["sys", "x"]

"""One contract, every store: InMemoryStore, SQLiteStore, RedisStore (a real redis-server) and
MockKVS, each through the sync and the async protocol.

Round trips (raw keys and whole conversations), trimming that keeps the system message, TTL
expiry and refresh on write, corrupted values (typed error naming the session, value left as
it is), bad input rejected before any write, and no lost message when 8 asyncio tasks (or 8
threads) append to one session at once.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import metallm
from _redis_server import RedisServer
from metallm.memory import ConversationMemory, InMemoryStore, MemoryConfig
from metallm.testing import MockKVS

STORES = ["inmemory", "sqlite", "redis", "mock"]
MODES = ["sync", "async"]


@pytest.fixture(params=STORES)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    kind = request.param
    if kind == "inmemory":
        s: Any = InMemoryStore()
    elif kind == "mock":
        s = MockKVS()
    elif kind == "sqlite":
        from metallm.memory import SQLiteStore

        s = SQLiteStore(tmp_path / "memory.db")
    else:
        from metallm.memory import RedisStore

        server: RedisServer = request.getfixturevalue("redis_server")
        s = RedisStore(server.url)
    yield s
    s.close()


class Runner:
    """Runs ConversationMemory operations through the sync or the async protocol."""

    def __init__(self, mode: str, store: Any, config: MemoryConfig) -> None:
        self.mode = mode
        self.store = store
        self.memory = ConversationMemory(store, config, is_async=mode == "async")
        self.config = config

    def _go(self, sync: Callable[[], Any], make_async: Callable[[], Awaitable[Any]]) -> Any:
        if self.mode == "sync":
            return sync()

        async def main() -> Any:
            return await make_async()

        return asyncio.run(main())

    def create(self, sid: str, system: str) -> metallm.Conversation:
        m = self.memory
        return self._go(lambda: m.create(sid, system), lambda: m.acreate(sid, system))

    def append(self, sid: str, *msgs: Any) -> None:
        m = self.memory
        self._go(lambda: m.append(sid, msgs), lambda: m.aappend(sid, msgs))

    def load(self, sid: str) -> metallm.Conversation:
        m = self.memory
        return self._go(lambda: m.load(sid), lambda: m.aload(sid))

    def delete(self, sid: str) -> None:
        m = self.memory
        self._go(lambda: m.delete(sid), lambda: m.adelete(sid))

    def raw_get(self, key: str) -> str | None:
        s = self.store
        return self._go(lambda: s.get(key), lambda: s.aget(key))

    def raw_set(self, key: str, value: str, ttl: float | None = None) -> None:
        s = self.store
        self._go(lambda: s.set(key, value, ttl), lambda: s.aset(key, value, ttl))


def runner(mode: str, store: Any, **config: Any) -> Runner:
    config.setdefault("key_prefix", f"test:{uuid.uuid4().hex}")
    return Runner(mode, store, MemoryConfig(**config))


def user(text: str) -> dict[str, str]:
    return {"role": "user", "content": text}


@pytest.mark.parametrize("mode", MODES)
def test_raw_get_set_delete(store: Any, mode: str) -> None:
    r = runner(mode, store)
    key = f"{r.config.key_prefix}:raw"
    assert r.raw_get(key) is None
    r.raw_set(key, '{"x": "ünïcode ✓"}')
    assert r.raw_get(key) == '{"x": "ünïcode ✓"}'
    r.raw_set(key, "second")
    assert r.raw_get(key) == "second"
    r._go(lambda: store.delete(key), lambda: store.adelete(key))
    assert r.raw_get(key) is None


@pytest.mark.parametrize("mode", MODES)
def test_conversation_round_trip(store: Any, mode: str) -> None:
    r = runner(mode, store)
    created = r.create("user-1", "You are terse.")
    assert [m.role for m in created.messages] == [metallm.Role.SYSTEM]
    tool_call = metallm.ToolCall(
        id="call_1", function=metallm.FunctionCall(name="f", arguments='{"a": [1, 2]}')
    )
    r.append("user-1", user('héllo / "quoted" ✓'))
    r.append(
        "user-1",
        metallm.Message(role=metallm.Role.ASSISTANT, content=None, tool_calls=[tool_call]),
        metallm.Message(role=metallm.Role.TOOL, tool_call_id="call_1", content="{}"),
        metallm.Message(
            role=metallm.Role.USER,
            content=[
                metallm.TextPart(text="look"),
                metallm.ImagePart.from_url("https://example.com/a.png"),
            ],
        ),
    )
    conv = r.load("user-1")
    assert conv.session_id == "user-1"
    assert [m.role.value for m in conv.messages] == ["system", "user", "assistant", "tool", "user"]
    assert conv.messages[1].content == 'héllo / "quoted" ✓'
    assert conv.messages[2].tool_calls == [tool_call]
    assert conv.messages[3].tool_call_id == "call_1"
    assert isinstance(conv.messages[4].content, list)
    assert conv.messages[4].content[1] == metallm.ImagePart.from_url("https://example.com/a.png")
    assert conv.updated_at >= conv.created_at == created.created_at
    r.delete("user-1")
    empty = r.load("user-1")
    assert empty.messages == [] and empty.session_id == "user-1"


@pytest.mark.parametrize("mode", MODES)
def test_trimming_keeps_the_system_message(store: Any, mode: str) -> None:
    r = runner(mode, store, max_messages=4)
    r.create("s", "system prompt")
    for i in range(10):
        r.append("s", user(f"m{i}"))
    texts = [m.text() for m in r.load("s").messages]
    assert texts == ["system prompt", "m7", "m8", "m9"]
    r.append("s", user("a"), user("b"), user("c"), user("d"), user("e"))
    assert [m.text() for m in r.load("s").messages] == ["system prompt", "c", "d", "e"]
    for i in range(6):
        r.append("plain", user(f"p{i}"))
    assert [m.text() for m in r.load("plain").messages] == ["p2", "p3", "p4", "p5"]


@pytest.mark.parametrize("mode", MODES)
def test_ttl_expires_and_is_refreshed_on_write(store: Any, mode: str) -> None:
    r = runner(mode, store, ttl=0.6)
    r.create("short", "sys")
    time.sleep(0.35)
    r.append("short", user("keep me alive"))
    time.sleep(0.35)  # 0.7 s after creation, 0.35 s after the refreshing write
    assert len(r.load("short").messages) == 2
    time.sleep(0.45)
    assert r.load("short").messages == []
    assert r.raw_get(r.config.key("short")) is None


@pytest.mark.parametrize("mode", MODES)
def test_corrupted_value_raises_naming_the_session_and_is_kept(store: Any, mode: str) -> None:
    r = runner(mode, store)
    for sid, junk in [("bad-json", "{not json"), ("bad-version", '{"v": 99, "messages": []}')]:
        key = r.config.key(sid)
        r.raw_set(key, junk)
        with pytest.raises(metallm.ConversationCorruptedError, match=sid) as info:
            r.load(sid)
        assert info.value.session_id == sid
        with pytest.raises(metallm.ConversationCorruptedError, match=sid):
            r.append(sid, user("x"))
        assert isinstance(info.value, metallm.MemoryStoreError)
        assert r.raw_get(key) == junk


@pytest.mark.parametrize("mode", MODES)
def test_bad_input_raises_typed_errors_before_any_write(store: Any, mode: str) -> None:
    r = runner(mode, store)
    r.create("ok", "sys")
    before = r.raw_get(r.config.key("ok"))
    for sid in ["", "x" * 257, "tab\there", 42]:
        with pytest.raises(metallm.InvalidSessionIdError):
            r.append(sid, user("x"))  # type: ignore[arg-type]
        with pytest.raises(metallm.InvalidSessionIdError):
            r.create(sid, "sys")  # type: ignore[arg-type]
    r.append("x" * 256, user("the longest id is fine"))
    for bad in [
        {"role": "wizard", "content": "x"},
        {"content": "no role"},
        "text",
        None,
        {"role": "tool", "content": "no id"},
    ]:
        with pytest.raises(metallm.InvalidRequestError):
            r.append("ok", user("valid"), bad)
    assert r.raw_get(r.config.key("ok")) == before
    for not_a_store in [object(), {"get": 1}]:
        with pytest.raises(metallm.ConfigurationError, match="does not implement"):
            ConversationMemory(not_a_store, is_async=mode == "async")


def _check_writers(messages: list[metallm.Message], writers: int, each: int) -> None:
    seen: dict[int, list[int]] = {w: [] for w in range(writers)}
    for m in messages:
        w, i = m.text()[1:].split("-")
        seen[int(w)].append(int(i))
    for w in range(writers):
        assert seen[w] == list(range(each)), f"writer {w} lost or reordered messages"


def test_asyncio_tasks_lose_nothing(store: Any) -> None:
    r = runner("async", store, max_messages=100_000)

    async def writer(w: int) -> None:
        for i in range(250):
            await r.memory.aappend("shared", [user(f"w{w}-{i}")])

    async def main() -> None:
        await asyncio.gather(*(writer(w) for w in range(8)))

    asyncio.run(main())
    messages = r.load("shared").messages
    assert len(messages) == 2000
    _check_writers(messages, 8, 250)


def test_threads_lose_nothing(store: Any) -> None:
    r = runner("sync", store, max_messages=100_000)
    errors: list[BaseException] = []

    def writer(w: int) -> None:
        try:
            for i in range(60):
                r.memory.append("threads", [user(f"w{w}-{i}")])
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    messages = r.load("threads").messages
    assert len(messages) == 480
    _check_writers(messages, 8, 60)


def test_trimming_under_concurrency_never_drops_the_system_message(store: Any) -> None:
    r = runner("async", store, max_messages=20)
    r.create("trim", "the system")

    async def writer(w: int) -> None:
        for i in range(40):
            await r.memory.aappend("trim", [user(f"w{w}-{i}")])
            if i % 10 == 0:
                conv = await r.memory.aload("trim")
                assert conv.messages[0].text() == "the system"

    async def main() -> None:
        await asyncio.gather(*(writer(w) for w in range(8)))

    asyncio.run(main())
    messages = r.load("trim").messages
    assert len(messages) == 20
    assert messages[0].role is metallm.Role.SYSTEM and messages[0].text() == "the system"
    assert all(m.role is metallm.Role.USER for m in messages[1:])


def test_mock_kvs_records_calls_and_injects_failures() -> None:
    kvs = MockKVS()
    memory = ConversationMemory(kvs, MemoryConfig(key_prefix="p"))
    memory.append("s", [user("a")])
    assert kvs.calls == [("append", "p:s")]
    assert list(kvs.data) == ["p:s"]
    kvs.fail_next()
    with pytest.raises(metallm.MemoryStoreError):
        memory.append("s", [user("b")])
    assert [m.text() for m in memory.load("s").messages] == ["a"]
    kvs.fail_next(error=RuntimeError("disk on fire"))
    with pytest.raises(metallm.MemoryStoreError, match="disk on fire") as info:
        memory.load("s")
    assert info.value.session_id == "s"
    kvs.reset()
    assert kvs.data == {} and kvs.calls == []


def test_a_store_without_native_append_still_works() -> None:
    class Plain:
        def __init__(self) -> None:
            self.data: dict[str, str] = {}

        def get(self, key: str) -> str | None:
            return self.data.get(key)

        def set(self, key: str, value: str, ttl: float | None = None) -> None:
            self.data[key] = value

        def delete(self, key: str) -> None:
            self.data.pop(key, None)

    memory = ConversationMemory(Plain(), MemoryConfig(max_messages=3))
    memory.create("s", "sys")
    for i in range(4):
        memory.append("s", [user(str(i))])
    assert [m.text() for m in memory.load("s").messages] == ["sys", "2", "3"]


SIGNED = metallm.Message(
    role=metallm.Role.ASSISTANT,
    content=None,
    reasoning_content="think",
    reasoning=[
        metallm.ReasoningPart(text="think", signature="EqQBCkgI/+sig==", provider="anthropic"),
        metallm.ReasoningPart(encrypted="EmwKAhgBEgy+redacted", provider="anthropic"),
    ],
    # what a Lua cjson round trip would have changed: [] -> {}, 17 digits -> 14, big ints
    provider_data={"gemini": {"a": [], "b": 0.12345678901234567, "c": 12345678901234567, "d": {}}},
    tool_calls=[metallm.ToolCall(id="toolu_1", function=metallm.FunctionCall(name="f"))],
)


@pytest.mark.parametrize("mode", MODES)
def test_reasoning_parts_and_provider_data_round_trip_exactly(store: Any, mode: str) -> None:
    r = runner(mode, store, max_messages=3)
    r.create("signed", "sys")
    r.append("signed", user("q"), SIGNED)
    r.append("signed", metallm.Message(role=metallm.Role.TOOL, tool_call_id="toolu_1", content="1"))
    stored = r.load("signed").messages[1]  # trimmed to 3: the system message stays in front
    assert stored == SIGNED
    assert stored.provider_data == SIGNED.provider_data  # the very values, types included
    assert type(stored.provider_data["gemini"]["a"]) is list  # type: ignore[index]
    assert stored.reasoning and stored.reasoning[0].signature == "EqQBCkgI/+sig=="


V1_RECORD = (
    '{"v":1,"session_id":"old","created_at":"2026-01-02T03:04:05+00:00",'
    '"updated_at":"2026-01-02T03:04:05+00:00","metadata":{"team":"a"},'
    '"messages":[{"role":"system","content":"be brief"},{"role":"user","content":"hi"},'
    '{"role":"assistant","content":"hello","reasoning_content":"greet"}]}'
)


@pytest.mark.parametrize("mode", MODES)
def test_a_version_1_record_is_read_and_migrated_on_the_next_append(store: Any, mode: str) -> None:
    r = runner(mode, store)
    key = r.config.key("old")
    r.raw_set(key, V1_RECORD)
    conv = r.load("old")
    assert [m.text() for m in conv.messages] == ["be brief", "hi", "hello"]
    assert conv.messages[2].reasoning_content == "greet" and conv.metadata == {"team": "a"}
    assert r.raw_get(key) == V1_RECORD  # reading never rewrites
    r.append("old", SIGNED)
    doc = json.loads(r.raw_get(key) or "")
    assert doc["v"] == 2 and doc["created_at"] == "2026-01-02T03:04:05+00:00"
    assert doc["messages"][:3] == json.loads(V1_RECORD)["messages"]
    assert r.load("old").messages[3] == SIGNED


@pytest.mark.parametrize("mode", MODES)
def test_a_record_from_a_newer_metallm_is_refused_and_left_as_it_is(store: Any, mode: str) -> None:
    r = runner(mode, store)
    key = r.config.key("future")
    newer = '{"v": 3, "session_id": "future", "messages": []}'
    r.raw_set(key, newer)
    for attempt in (lambda: r.load("future"), lambda: r.append("future", user("x"))):
        with pytest.raises(metallm.ConversationCorruptedError, match="newer metallm"):
            attempt()
    assert r.raw_get(key) == newer

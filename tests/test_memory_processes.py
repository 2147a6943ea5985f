"""Many OS processes appending to one session lose nothing: SQLite (one file) and Redis.

Eight ``spawn``ed processes wait on a barrier, then each appends 250 messages one by one to the
same session; exactly 2,000 are stored, and each writer's messages are in its own order. The
same with a small ``max_messages`` keeps the system message first, always.
"""

from __future__ import annotations

import multiprocessing
import uuid
from pathlib import Path

import pytest

import _memory_worker
from _redis_server import RedisServer
from metallm.memory import ConversationMemory, MemoryConfig

WRITERS = 8
EACH = 250


def _target(kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    if kind == "sqlite":
        return str(tmp_path / "shared.db")
    server: RedisServer = request.getfixturevalue("redis_server")
    return server.url


def _run_writers(kind: str, target: str, prefix: str, session: str, max_messages: int) -> None:
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(WRITERS)
    procs = [
        ctx.Process(
            target=_memory_worker.append_many,
            args=(kind, target, prefix, session, w, EACH, max_messages, barrier),
        )
        for w in range(WRITERS)
    ]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=110)
    codes = [p.exitcode for p in procs]
    for p in procs:
        if p.is_alive():
            p.kill()  # only our own children, by their handle
    assert codes == [0] * WRITERS, codes


@pytest.mark.timeout(180)
@pytest.mark.parametrize("kind", ["sqlite", "redis"])
def test_eight_processes_append_2000_messages_without_loss(
    kind: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    target = _target(kind, tmp_path, request)
    prefix = f"procs:{uuid.uuid4().hex}"
    _run_writers(kind, target, prefix, "shared", 100_000)
    store = _memory_worker.make_store(kind, target)
    messages = ConversationMemory(store, MemoryConfig(key_prefix=prefix)).load("shared").messages
    store.close()
    assert len(messages) == WRITERS * EACH
    order: dict[int, list[int]] = {w: [] for w in range(WRITERS)}
    for m in messages:
        w, i = m.text()[1:].split("-")
        order[int(w)].append(int(i))
    for w in range(WRITERS):
        assert order[w] == list(range(EACH)), f"writer {w}: lost or out of order"


@pytest.mark.timeout(180)
@pytest.mark.parametrize("kind", ["sqlite", "redis"])
def test_trimming_across_processes_keeps_the_system_message(
    kind: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    target = _target(kind, tmp_path, request)
    prefix = f"procs:{uuid.uuid4().hex}"
    store = _memory_worker.make_store(kind, target)
    memory = ConversationMemory(store, MemoryConfig(max_messages=30, key_prefix=prefix))
    memory.create("trim", "system survives")
    _run_writers(kind, target, prefix, "trim", 30)
    messages = memory.load("trim").messages
    store.close()
    assert len(messages) == 30
    assert messages[0].role.value == "system" and messages[0].text() == "system survives"
    assert all(m.role.value == "user" for m in messages[1:])

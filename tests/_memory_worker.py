"""Writers for the multi-process memory tests (importable by ``spawn``ed children)."""

from __future__ import annotations

from typing import Any

from metallm.memory import ConversationMemory, MemoryConfig


def make_store(kind: str, target: str) -> Any:
    """A store of ``kind`` ("sqlite" at a path, "redis" at a URL)."""
    if kind == "sqlite":
        from metallm.memory import SQLiteStore

        return SQLiteStore(target)
    from metallm.memory import RedisStore

    return RedisStore(target)


def append_many(
    kind: str,
    target: str,
    prefix: str,
    session: str,
    writer: int,
    count: int,
    max_messages: int,
    barrier: Any,
) -> None:
    """Append ``count`` messages ``w{writer}-{i}`` one by one, after all writers are ready."""
    store = make_store(kind, target)
    memory = ConversationMemory(store, MemoryConfig(max_messages=max_messages, key_prefix=prefix))
    barrier.wait(timeout=60)
    for i in range(count):
        memory.append(session, [{"role": "user", "content": f"w{writer}-{i}"}])
    store.close()

"""Conversation memory: multi-turn sessions kept in a key-value store.

::

    from metallm.memory import SQLiteStore, MemoryConfig
    client = metallm.Client(provider="openai", memory=SQLiteStore("chats.db"),
                            memory_config=MemoryConfig(max_messages=100))
    client.create_conversation_with_system_message("user-123", "You are terse.")
    client.create_chat_completion_with_memory("user-123", model="gpt-4o-mini",
                                              messages=[{"role": "user", "content": "Hi"}])

Stores: :class:`InMemoryStore` (the default; one process), :class:`SQLiteStore` (a file; many
threads and processes on one machine), :class:`RedisStore` (extra ``redis``; many machines).
Any object with ``get``/``set``/``delete`` (:class:`KVStore`) or ``aget``/``aset``/``adelete``
(:class:`AsyncKVStore`) works; an ``append``/``aappend`` makes appends atomic. ``SQLiteStore``
and ``RedisStore`` are imported on first use, so ``import metallm`` loads neither sqlite3 nor
redis.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .base import (
    FORMAT_VERSION,
    AsyncKVStore,
    Conversation,
    KVStore,
    MemoryConfig,
    apply_append,
    migrate,
    trim_messages,
    validate_session_id,
)
from .inmemory import InMemoryStore
from .manager import ConversationMemory

if TYPE_CHECKING:
    from .redis_store import RedisStore
    from .sqlite_store import SQLiteStore

__all__ = [
    "FORMAT_VERSION",
    "AsyncKVStore",
    "Conversation",
    "ConversationMemory",
    "InMemoryStore",
    "KVStore",
    "MemoryConfig",
    "RedisStore",
    "SQLiteStore",
    "apply_append",
    "migrate",
    "trim_messages",
    "validate_session_id",
]


def __getattr__(name: str) -> Any:
    if name == "SQLiteStore":
        from .sqlite_store import SQLiteStore

        return SQLiteStore
    if name == "RedisStore":
        from .redis_store import RedisStore

        return RedisStore
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

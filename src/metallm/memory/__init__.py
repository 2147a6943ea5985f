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
(:class:`AsyncKVStore`) works; an ``append``/``aappend`` makes appends atomic. Every name here
is imported on first use (see ``_LAZY``), so ``import metallm`` loads neither the stores nor
sqlite3 nor redis.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_attributes

if TYPE_CHECKING:
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

_LAZY = {
    "FORMAT_VERSION": "base",
    "AsyncKVStore": "base",
    "Conversation": "base",
    "ConversationMemory": "manager",
    "InMemoryStore": "inmemory",
    "KVStore": "base",
    "MemoryConfig": "base",
    "RedisStore": "redis_store",
    "SQLiteStore": "sqlite_store",
    "apply_append": "base",
    "migrate": "base",
    "trim_messages": "base",
    "validate_session_id": "base",
}
"""Every public name is imported at its first use: ``import metallm`` loads the clients' memory
methods (:mod:`.client_methods`, which import this package) but a client builds its memory
only when it is first used, so the store types (about 2 ms of pydantic models), sqlite3 and
redis load only then."""

if not TYPE_CHECKING:  # type checkers read the imports above (a typo stays an error)
    __getattr__, __dir__ = lazy_attributes(__name__, _LAZY, globals())

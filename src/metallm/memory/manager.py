"""``ConversationMemory``: a store plus a :class:`MemoryConfig`, with sync and async methods.

Owns the I/O pump around the pure rules of :mod:`metallm.memory.base`: validate first (nothing
is written for a bad session id or message), then one store call per operation. Appends use the
store's native atomic ``append``/``aappend`` when it has one, else read, apply, write. Errors a
store raises that are not metallm's own become :class:`MemoryStoreError` naming the session.
The sync and async methods differ only by ``await``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping
from datetime import datetime
from typing import Any, TypeVar

from ..errors import MemoryStoreError, MetaLLMError
from ..types import Message, Role
from .base import (
    Conversation,
    MemoryConfig,
    apply_append,
    check_async_store,
    check_store,
    coerce_messages,
    decode_conversation,
    encode_conversation,
    message_dict,
    new_document,
    utc_now,
    validate_session_id,
)

__all__ = ["ConversationMemory"]

T = TypeVar("T")


def _wrap(session_id: str, op: str, exc: Exception) -> MetaLLMError:
    if isinstance(exc, MemoryStoreError) and exc.session_id is None:
        exc.session_id = session_id  # a store speaks of keys; name the conversation too
        exc.message = f"conversation {session_id!r}: {exc.message}"
        exc.args = (exc.message,)
    if isinstance(exc, MetaLLMError):
        return exc
    return MemoryStoreError(
        f"memory store failed to {op} conversation {session_id!r}: {type(exc).__name__}: {exc}",
        session_id=session_id,
    )


def _empty(session_id: str) -> Conversation:
    now = datetime.fromisoformat(utc_now())
    return Conversation(session_id=session_id, created_at=now, updated_at=now)


class ConversationMemory:
    """Conversations in one store; ``is_async`` picks which protocol the store must implement."""

    def __init__(
        self, store: object, config: MemoryConfig | None = None, *, is_async: bool = False
    ) -> None:
        (check_async_store if is_async else check_store)(store)
        self.store: Any = store
        self.config = config or MemoryConfig()

    # -- preparation shared by both pumps -------------------------------------------------

    def _system_doc(
        self, session_id: str, system_message: str, metadata: Mapping[str, str] | None
    ) -> tuple[str, str]:
        validate_session_id(session_id)
        (msg,) = coerce_messages([Message(role=Role.SYSTEM, content=system_message)])
        doc = new_document(session_id, [message_dict(msg)], metadata=metadata)
        return self.config.key(session_id), encode_conversation(doc)

    def _prepare_append(
        self, session_id: str, messages: Iterable[Message | Mapping[str, Any]]
    ) -> tuple[str, list[dict[str, Any]]]:
        key = self.config.key(session_id)
        return key, [message_dict(m) for m in coerce_messages(messages)]

    def _decode(self, raw: str | bytes | None, session_id: str) -> Conversation:
        return _empty(session_id) if raw is None else decode_conversation(raw, session_id)

    # -- sync -----------------------------------------------------------------------------

    def _run(self, session_id: str, op: str, fn: Callable[[], T]) -> T:
        try:
            return fn()
        except Exception as exc:
            raise _wrap(session_id, op, exc) from exc

    def create(
        self, session_id: str, system_message: str, metadata: Mapping[str, str] | None = None
    ) -> Conversation:
        """Start (or restart) a session with a system message; returns the conversation."""
        key, text = self._system_doc(session_id, system_message, metadata)
        self._run(session_id, "write", lambda: self.store.set(key, text, self.config.ttl_seconds))
        return decode_conversation(text, session_id)

    def load(self, session_id: str) -> Conversation:
        """The session's conversation; an empty one (not stored) if there is none."""
        key = self.config.key(session_id)
        return self._decode(self._run(session_id, "read", lambda: self.store.get(key)), session_id)

    def append(self, session_id: str, messages: Iterable[Message | Mapping[str, Any]]) -> None:
        """Append messages atomically (trimming and refreshing the TTL)."""
        key, dicts = self._prepare_append(session_id, messages)
        if dicts:
            self._run(session_id, "append to", lambda: self._append(key, session_id, dicts))

    def _append(self, key: str, session_id: str, dicts: list[dict[str, Any]]) -> None:
        cfg = self.config
        native = getattr(self.store, "append", None)
        if callable(native):
            native(key, session_id, dicts, cfg.max_messages, cfg.ttl_seconds)
            return
        text = apply_append(self.store.get(key), session_id, dicts, cfg.max_messages)
        self.store.set(key, text, cfg.ttl_seconds)

    def delete(self, session_id: str) -> None:
        """Forget the session."""
        key = self.config.key(session_id)
        self._run(session_id, "delete", lambda: self.store.delete(key))

    # -- async ----------------------------------------------------------------------------

    async def _arun(self, session_id: str, op: str, fn: Callable[[], Awaitable[T]]) -> T:
        try:
            return await fn()
        except Exception as exc:
            raise _wrap(session_id, op, exc) from exc

    async def acreate(
        self, session_id: str, system_message: str, metadata: Mapping[str, str] | None = None
    ) -> Conversation:
        """Async :meth:`create`."""
        key, text = self._system_doc(session_id, system_message, metadata)
        await self._arun(
            session_id, "write", lambda: self.store.aset(key, text, self.config.ttl_seconds)
        )
        return decode_conversation(text, session_id)

    async def aload(self, session_id: str) -> Conversation:
        """Async :meth:`load`."""
        key = self.config.key(session_id)
        raw = await self._arun(session_id, "read", lambda: self.store.aget(key))
        return self._decode(raw, session_id)

    async def aappend(
        self, session_id: str, messages: Iterable[Message | Mapping[str, Any]]
    ) -> None:
        """Async :meth:`append`."""
        key, dicts = self._prepare_append(session_id, messages)
        if dicts:
            await self._arun(session_id, "append to", lambda: self._aappend(key, session_id, dicts))

    async def _aappend(self, key: str, session_id: str, dicts: list[dict[str, Any]]) -> None:
        cfg = self.config
        native = getattr(self.store, "aappend", None)
        if callable(native):
            await native(key, session_id, dicts, cfg.max_messages, cfg.ttl_seconds)
            return
        text = apply_append(await self.store.aget(key), session_id, dicts, cfg.max_messages)
        await self.store.aset(key, text, cfg.ttl_seconds)

    async def adelete(self, session_id: str) -> None:
        """Async :meth:`delete`."""
        key = self.config.key(session_id)
        await self._arun(session_id, "delete", lambda: self.store.adelete(key))

"""The data and the pure rules of conversation memory, shared by every store and both clients.

Owns: the :class:`KVStore` protocol and its async twin :class:`AsyncKVStore`, the
:class:`MemoryConfig` (the Go defaults), the :class:`Conversation` model and its versioned-JSON
form, session-id and message validation, and :func:`apply_append` (append then trim, keeping the
system message). Everything here is free of I/O so that the sync and async clients, and every
store that appends under its own lock or transaction, apply exactly the same rules. A store with
a native atomic append implements ``append`` (Redis applies this same rule inside an optimistic
``WATCH``/``MULTI`` transaction).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Protocol, TypeVar, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..errors import (
    ConfigurationError,
    ConversationCorruptedError,
    InvalidRequestError,
    InvalidSessionIdError,
)
from ..types import Message, Role

T = TypeVar("T")

Records = Sequence[dict[str, Any]]
"""Messages as stored: one JSON-ready dict each (what ``append`` takes)."""

__all__ = [
    "FORMAT_VERSION",
    "MAX_SESSION_ID_LENGTH",
    "AsyncKVStore",
    "Conversation",
    "KVStore",
    "MemoryConfig",
    "append_to_document",
    "apply_append",
    "check_async_store",
    "check_store",
    "coerce_messages",
    "decode_conversation",
    "encode_conversation",
    "load_document",
    "message_dict",
    "migrate",
    "new_document",
    "trim_messages",
    "utc_now",
    "validate_session_id",
]

FORMAT_VERSION = 2
"""The ``"v"`` field of a stored conversation, as this version writes it.

Version 2 (metallm 0.2) lets an assistant message carry its signed ``reasoning`` parts and
opaque ``provider_data``, so a conversation continued in another process sends the thinking
blocks a provider requires back byte-exact. A version-1 record is read through
:func:`migrate` and written back as version 2 on the next append; a record from a newer
version is refused with a :class:`~metallm.ConversationCorruptedError` saying so, never
rewritten (an older process must not drop what a newer one stored).
"""

_MIGRATIONS: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {}
"""``version -> step`` turning a document of that version into the next version's."""


def _v1_to_v2(doc: dict[str, Any]) -> dict[str, Any]:
    """Version 1 had no reasoning parts or provider data: its messages are valid version-2
    messages as they are; only the version changes."""
    doc["v"] = 2
    return doc


_MIGRATIONS[1] = _v1_to_v2

MAX_SESSION_ID_LENGTH = 256


@runtime_checkable
class KVStore(Protocol):
    """A synchronous key-value store for conversations (values are JSON text).

    ``ttl`` is in seconds; ``None`` or ``0`` means no expiry. A store may also define
    ``append(key, session_id, messages, max_messages, ttl)`` that applies :func:`apply_append`
    atomically; without it the memory reads, applies and writes back (atomic only within one
    process if the store is not).
    """

    def get(self, key: str) -> str | None: ...

    def set(self, key: str, value: str, ttl: float | None = None) -> None: ...

    def delete(self, key: str) -> None: ...


@runtime_checkable
class AsyncKVStore(Protocol):
    """The async twin of :class:`KVStore`: ``aget``, ``aset``, ``adelete`` (and ``aappend``)."""

    async def aget(self, key: str) -> str | None: ...

    async def aset(self, key: str, value: str, ttl: float | None = None) -> None: ...

    async def adelete(self, key: str) -> None: ...


def check_store(
    store: object, names: Sequence[str] = ("get", "set", "delete"), protocol: str = "KVStore"
) -> None:
    """Raise :class:`ConfigurationError` unless ``store`` implements :class:`KVStore`."""
    missing = [n for n in names if not callable(getattr(store, n, None))]
    if missing:
        raise ConfigurationError(
            f"memory store {type(store).__name__} does not implement {protocol}: "
            f"missing {', '.join(missing)}"
        )


def check_async_store(store: object) -> None:
    """Raise :class:`ConfigurationError` unless ``store`` implements :class:`AsyncKVStore`."""
    check_store(store, ("aget", "aset", "adelete"), "AsyncKVStore")


class AsyncFromSync:
    """The async half of a store whose sync methods do the work (``aget``, ``aset``,
    ``adelete``, ``aappend``).

    :meth:`_run` calls the sync method; an in-process store keeps that (it never blocks), a
    store doing blocking I/O overrides it to run the call in a worker thread (SQLite).
    """

    async def _run(self, fn: Callable[[], T]) -> T:
        return fn()

    async def aget(self, key: str) -> str | None:
        """Async ``get``."""
        return await self._run(lambda: self.get(key))  # type: ignore[attr-defined]

    async def aset(self, key: str, value: str, ttl: float | None = None) -> None:
        """Async ``set``."""
        await self._run(lambda: self.set(key, value, ttl))  # type: ignore[attr-defined]

    async def adelete(self, key: str) -> None:
        """Async ``delete``."""
        await self._run(lambda: self.delete(key))  # type: ignore[attr-defined]

    async def aappend(
        self, key: str, session_id: str, messages: Records, max_messages: int, ttl: float | None
    ) -> None:
        """Async ``append``."""
        await self._run(
            lambda: self.append(key, session_id, messages, max_messages, ttl)  # type: ignore[attr-defined]
        )


@dataclass(frozen=True)
class MemoryConfig:
    """How conversations are kept: the Go defaults (50 messages, 24 hours, the key prefix).

    ``max_messages`` bounds a conversation (the first system message is always kept); ``ttl``
    (seconds; ``None`` or 0 for none) is refreshed on every write; keys are
    ``f"{key_prefix}:{session_id}"``.
    """

    max_messages: int = 50
    ttl: float | None = 24 * 60 * 60
    key_prefix: str = "metallm:conversations"

    def __post_init__(self) -> None:
        if not isinstance(self.max_messages, int) or self.max_messages < 1:
            raise ConfigurationError(f"max_messages must be >= 1, got {self.max_messages!r}")
        if self.ttl is not None and self.ttl < 0:
            raise ConfigurationError(f"ttl must be >= 0 seconds or None, got {self.ttl!r}")
        if not self.key_prefix:
            raise ConfigurationError("key_prefix must not be empty")

    def key(self, session_id: str) -> str:
        """The store key of a (validated) session."""
        return f"{self.key_prefix}:{validate_session_id(session_id)}"

    @property
    def ttl_seconds(self) -> float | None:
        """The TTL, with 0 normalised to None."""
        return self.ttl or None


class Conversation(BaseModel):
    """One session's stored conversation."""

    model_config = ConfigDict(defer_build=True)  # schema built on first use: import stays lean

    session_id: str
    messages: list[Message] = Field(default_factory=list)
    created_at: datetime
    updated_at: datetime
    metadata: dict[str, str] = Field(default_factory=dict)


def utc_now() -> str:
    """The current time as ISO-8601 UTC text (how times are stored: no float precision loss)."""
    return datetime.now(timezone.utc).isoformat()


def validate_session_id(session_id: object) -> str:
    """``session_id`` if it is 1..256 characters of text without control characters."""
    if not isinstance(session_id, str):
        raise InvalidSessionIdError(f"session id must be a str, got {type(session_id).__name__}")
    if not session_id:
        raise InvalidSessionIdError("session id is empty")
    if len(session_id) > MAX_SESSION_ID_LENGTH:
        raise InvalidSessionIdError(
            f"session id is {len(session_id)} characters; the limit is {MAX_SESSION_ID_LENGTH}"
        )
    if any(ord(c) < 32 or ord(c) == 127 for c in session_id):
        raise InvalidSessionIdError(f"session id {session_id!r} contains control characters")
    return session_id


def coerce_messages(messages: Iterable[Message | Mapping[str, Any]]) -> list[Message]:
    """Validated messages from :class:`Message` objects or dicts (InvalidRequestError if not)."""
    out: list[Message] = []
    for i, m in enumerate(messages):
        try:
            msg = m if isinstance(m, Message) else Message.model_validate(m)
            Role(msg.role)
        except (ValidationError, ValueError, TypeError) as exc:
            raise InvalidRequestError(f"message {i} is not a valid Message: {exc}") from None
        if msg.role is Role.TOOL and not msg.tool_call_id:
            raise InvalidRequestError(f"message {i} is a tool result without tool_call_id")
        out.append(msg)
    return out


def message_dict(message: Message) -> dict[str, Any]:
    """A message as stored: JSON-ready, without ``None`` fields or empty lists."""
    data = message.model_dump(mode="json", exclude_none=True)
    return {k: v for k, v in data.items() if v != []}


def trim_messages(messages: list[Any], max_messages: int) -> list[Any]:
    """The last ``max_messages`` messages, keeping a leading system message in front."""
    if len(messages) <= max_messages:
        return messages
    first = messages[0]
    role = first.get("role") if isinstance(first, dict) else getattr(first, "role", None)
    if role == Role.SYSTEM.value or role is Role.SYSTEM:
        return [first, *messages[len(messages) - max_messages + 1 :]]
    return messages[len(messages) - max_messages :]


def new_document(
    session_id: str,
    messages: Sequence[dict[str, Any]],
    *,
    now: str | None = None,
    metadata: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """A fresh stored conversation (as a dict)."""
    now = now or utc_now()
    return {
        "v": FORMAT_VERSION,
        "session_id": session_id,
        "created_at": now,
        "updated_at": now,
        "metadata": dict(metadata or {}),
        "messages": list(messages),
    }


def encode_conversation(doc: Mapping[str, Any]) -> str:
    """The versioned JSON text of a conversation document."""
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":"))


def migrate(doc: dict[str, Any], session_id: str) -> dict[str, Any]:
    """``doc`` brought up to :data:`FORMAT_VERSION` (in place), one version step at a time.

    Raises :class:`ConversationCorruptedError` for a version this metallm does not know:
    a newer one (written by a newer metallm: upgrade to read it) or no version at all.
    """
    version = doc.get("v")
    while type(version) is int and version in _MIGRATIONS:
        doc = _MIGRATIONS[version](doc)
        version = doc.get("v")
    if version == FORMAT_VERSION:
        return doc
    if type(version) is int and version > FORMAT_VERSION:
        raise ConversationCorruptedError(
            f"conversation {session_id!r} was written in format v{version} by a newer metallm "
            f"(this one reads v1 to v{FORMAT_VERSION}); upgrade metallm to read it; it is "
            "left as it is",
            session_id=session_id,
        )
    raise ConversationCorruptedError(
        f"conversation {session_id!r} has an unknown format (v={version!r})",
        session_id=session_id,
    )


def load_document(raw: str | bytes, session_id: str) -> dict[str, Any]:
    """The document dict of stored text, migrated to the current format;
    :class:`ConversationCorruptedError` if unreadable."""
    try:
        loaded = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ConversationCorruptedError(
            f"conversation {session_id!r} is not valid JSON ({exc})", session_id=session_id
        ) from None
    if not isinstance(loaded, dict):
        raise ConversationCorruptedError(
            f"conversation {session_id!r} has an unknown format (v=None)",
            session_id=session_id,
        )
    doc: dict[str, Any] = loaded
    if doc.get("v") != FORMAT_VERSION:
        doc = migrate(doc, session_id)
    if not isinstance(doc.get("messages"), list):
        raise ConversationCorruptedError(
            f"conversation {session_id!r} has no message list", session_id=session_id
        )
    return doc


def decode_conversation(raw: str | bytes, session_id: str) -> Conversation:
    """A stored conversation read back; :class:`ConversationCorruptedError` naming it if not."""
    doc = load_document(raw, session_id)
    try:
        return Conversation.model_validate({k: v for k, v in doc.items() if k != "v"})
    except ValidationError as exc:
        raise ConversationCorruptedError(
            f"conversation {session_id!r} does not validate: {exc.error_count()} error(s), "
            f"first: {exc.errors()[0].get('msg')}",
            session_id=session_id,
        ) from None


def apply_append(
    raw: str | bytes | None,
    session_id: str,
    messages: Sequence[dict[str, Any]],
    max_messages: int,
    *,
    now: str | None = None,
) -> str:
    """The stored text after appending ``messages`` (dicts) and trimming, from ``raw`` or none."""
    doc = new_document(session_id, []) if raw is None else load_document(raw, session_id)
    return encode_conversation(append_to_document(doc, messages, max_messages, now=now))


def append_to_document(
    doc: dict[str, Any],
    messages: Sequence[dict[str, Any]],
    max_messages: int,
    *,
    now: str | None = None,
) -> dict[str, Any]:
    """``doc`` (a loaded document) with ``messages`` appended and trimmed, updated in place."""
    doc["messages"] = trim_messages([*doc["messages"], *messages], max_messages)
    doc["updated_at"] = now or utc_now()
    return doc

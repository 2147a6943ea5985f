"""The memory-aware methods of ``Client`` and ``AsyncClient`` (mixed into both).

Owns the order of a memory-aware call: validate the session id and the request, load the
history, send history + new messages (the call's ``info.conversation_id`` is the session id, so
telemetry spans carry ``gen_ai.conversation.id``), and only after success append the new
messages and the reply in one atomic store append. A failed call, or a stream that fails or is
closed before its end, stores nothing. The sync and async classes share every rule through
:mod:`metallm.memory.turns` and :class:`~metallm.memory.ConversationMemory`; only ``await``
differs.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from .._pump import arun, run
from .._validate import coerce_request
from ..streams import (
    AsyncChatCompletionStream,
    AsyncStreamOpener,
    ChatCompletionStream,
    StreamOpener,
)
from ..types import ChatCompletionRequest, ChatCompletionResponse, Message
from .turns import turn_messages, with_history

if TYPE_CHECKING:
    from .._exchange import Exchange
    from .base import Conversation
    from .manager import ConversationMemory

__all__ = ["AsyncMemoryMethods", "MemoryMethods"]

RequestLike = ChatCompletionRequest | Mapping[str, Any] | None
MessageLike = Message | Mapping[str, Any]


def _prepare(
    session_id: str, request: RequestLike, kwargs: Mapping[str, Any], default_model: str | None
) -> ChatCompletionRequest:
    # imported here, not at the top: ``import metallm`` loads this module, not the stores
    from .base import validate_session_id

    validate_session_id(session_id)
    return coerce_request(request, kwargs, default_model)


class MemoryMethods(StreamOpener):
    """Conversation memory for the synchronous client (and router)."""

    memory: ConversationMemory
    _exchange: Exchange
    _default_model: str | None = None

    def create_conversation_with_system_message(
        self, session_id: str, system_message: str, *, metadata: Mapping[str, str] | None = None
    ) -> Conversation:
        """Start (or restart) a session with a system message."""
        return self.memory.create(session_id, system_message, metadata)

    def create_chat_completion_with_memory(
        self, session_id: str, request: RequestLike = None, /, **kwargs: Any
    ) -> ChatCompletionResponse:
        """A call with the session's history prepended; on success the turn is stored."""
        req = _prepare(session_id, request, kwargs, self._default_model)
        history = self.memory.load(session_id).messages
        response = run(self._exchange.complete(with_history(req, history), session_id))
        self.memory.append(session_id, turn_messages(req.messages, response))
        return response

    def create_chat_completion_stream_with_memory(
        self, session_id: str, request: RequestLike = None, /, **kwargs: Any
    ) -> ChatCompletionStream:
        """A stream with the history prepended; the turn is stored when it completes."""
        req = _prepare(session_id, request, kwargs, self._default_model)
        history = self.memory.load(session_id).messages
        new = list(req.messages)

        def store(response: ChatCompletionResponse) -> None:
            self.memory.append(session_id, turn_messages(new, response))

        return self._open_stream(with_history(req, history), session_id, store)

    def load_conversation(self, session_id: str) -> Conversation:
        """The session's conversation (empty, and not stored, if there is none)."""
        return self.memory.load(session_id)

    def get_conversation_messages(self, session_id: str) -> list[Message]:
        """The session's messages."""
        return self.memory.load(session_id).messages

    def append_message(self, session_id: str, message: MessageLike) -> None:
        """Append one message (validated first; trimmed and TTL-refreshed like any write)."""
        self.memory.append(session_id, [message])

    def delete_conversation(self, session_id: str) -> None:
        """Forget the session."""
        self.memory.delete(session_id)


class AsyncMemoryMethods(AsyncStreamOpener):
    """Conversation memory for the asynchronous client (and router)."""

    memory: ConversationMemory
    _exchange: Exchange
    _default_model: str | None = None

    async def create_conversation_with_system_message(
        self, session_id: str, system_message: str, *, metadata: Mapping[str, str] | None = None
    ) -> Conversation:
        """Start (or restart) a session with a system message."""
        return await self.memory.acreate(session_id, system_message, metadata)

    async def create_chat_completion_with_memory(
        self, session_id: str, request: RequestLike = None, /, **kwargs: Any
    ) -> ChatCompletionResponse:
        """A call with the session's history prepended; on success the turn is stored."""
        req = _prepare(session_id, request, kwargs, self._default_model)
        history = (await self.memory.aload(session_id)).messages
        response = await arun(self._exchange.complete(with_history(req, history), session_id))
        await self.memory.aappend(session_id, turn_messages(req.messages, response))
        return response

    async def create_chat_completion_stream_with_memory(
        self, session_id: str, request: RequestLike = None, /, **kwargs: Any
    ) -> AsyncChatCompletionStream:
        """A stream with the history prepended; the turn is stored when it completes."""
        req = _prepare(session_id, request, kwargs, self._default_model)
        history = (await self.memory.aload(session_id)).messages
        new = list(req.messages)

        async def store(response: ChatCompletionResponse) -> None:
            await self.memory.aappend(session_id, turn_messages(new, response))

        return await self._open_stream(with_history(req, history), session_id, store)

    async def load_conversation(self, session_id: str) -> Conversation:
        """The session's conversation (empty, and not stored, if there is none)."""
        return await self.memory.aload(session_id)

    async def get_conversation_messages(self, session_id: str) -> list[Message]:
        """The session's messages."""
        return (await self.memory.aload(session_id)).messages

    async def append_message(self, session_id: str, message: MessageLike) -> None:
        """Append one message (validated first; trimmed and TTL-refreshed like any write)."""
        await self.memory.aappend(session_id, [message])

    async def delete_conversation(self, session_id: str) -> None:
        """Forget the session."""
        await self.memory.adelete(session_id)

"""The incremental decoder for OpenAI Responses API streams (``"stream": true`` on ``/responses``).

The Responses API streams *semantic events* (``event: response.output_text.delta`` /
``data: {"type": ..., ...}``), not Chat Completions chunks; this decoder turns them into the
same unified chunks, so a stream and a plain call of the same exchange accumulate to equal
responses (the whole-reply rules are in ``_responses_response``). Followed: OpenAI's
streaming-events reference and the ``openai-python`` SDK event types
(``ResponseStreamEvent``), checked on every stream of ``shared/corpus/openai_responses``.

* ``response.created``: the first chunk (id, model, creation time, the ``assistant`` role).
* ``response.output_text.delta`` / ``response.refusal.delta``: content (a refusal finishes
  ``content_filter``). This is the per-chunk hot path: one type test, then the chunk.
* ``response.output_item.added`` of a ``function_call``: a tool-call head (index 0, 1, ... in
  the order calls start, its ``call_id`` and name); ``response.function_call_arguments.delta``:
  argument text for the call of that ``output_index``, so parallel calls may interleave.
* ``response.reasoning_summary_text.delta``: ``reasoning_content`` and a
  :class:`~metallm.ReasoningDelta` of that reasoning item (summary parts after the first start
  with a blank line, as the plain parser joins them); ``response.output_item.done`` of a
  ``reasoning`` item: its ``encrypted_content`` and the items so far in
  ``Delta.provider_data`` (lists replace each other as provider data merges, so the last one
  holds every item); of a ``message`` item: its ``phase``, in ``Delta.provider_data`` too.
* ``response.completed`` / ``response.incomplete``: the last chunk, with the finish reason and
  the usage. ``response.failed`` and ``error`` events raise the typed
  :class:`~metallm.APIError`, after the chunks decoded before them; a body that ends before
  ``response.completed`` raises :class:`~metallm.StreamError`.

Other events (``response.in_progress``, ``*.done``, parts, annotations, built-in tools'
progress) carry nothing the unified chunks hold and are skipped. A call's arguments or a
reasoning summary sent only on the item's ``done`` event are delivered then.
"""

from __future__ import annotations

from typing import Any

from ...errors import APIError
from ...provider import (
    EventDecoder,
    arguments_text,
    as_int,
    new_chunk,
    new_chunk_choice,
    new_delta,
    new_function_delta,
    new_reasoning_delta,
    new_tool_call_delta,
    tool_call_id,
)
from ...types import ChatCompletionChunk, ChunkChoice, Role, Usage
from ._responses_reasoning import ReasoningTrack
from ._responses_response import event_error, finish_of, parse_responses_usage, replay_data

__all__ = ["ResponsesStreamDecoder"]

_TEXT = "response.output_text.delta"
_ERRORS = frozenset({"error", "response.failed"})
_ASSISTANT = Role.ASSISTANT


class ResponsesStreamDecoder(EventDecoder):
    """Turns a Responses API event stream into unified chunks; one instance per stream."""

    __slots__ = (
        "_args",
        "_created",
        "_error",
        "_id",
        "_model",
        "_reasoning",
        "_refused",
        "_role",
        "_tools",
    )

    end_marker = "response.completed"
    malformed = "malformed Responses stream event"

    def __init__(self, provider: str, secrets: tuple[str, ...] = ()) -> None:
        super().__init__(provider, secrets)
        self._id = ""
        self._model = ""
        self._created = 0
        self._role: Role | None = _ASSISTANT  # what the next choice delta carries, then None
        self._tools: dict[Any, int] = {}  # output slot -> tool-call index
        self._args: set[int] = set()  # tool calls whose arguments have streamed
        self._reasoning = ReasoningTrack()
        self._refused = False
        self._error: APIError | None = None  # an error event's, raised after what came

    # -- errors: raised once the chunks decoded before them are delivered ----------------------

    def feed(self, data: bytes) -> list[ChatCompletionChunk]:
        """The chunks completed by ``data``; an error event's ``APIError`` is raised after the
        chunks that came before it in the same read, by this call or the next one."""
        if self._done:
            if self._error is not None:
                raise self._error
            return []
        events = self._frames.feed(data)
        if not events:
            return []
        chunks = self.decode(events)
        if self._error is not None and not chunks:
            raise self._error
        return chunks

    def close(self) -> list[ChatCompletionChunk]:
        """End of body: a pending error event's ``APIError``, else as the base class."""
        if self._error is not None:
            raise self._error
        return super().close()

    def is_error(self, name: str, obj: dict[str, Any]) -> bool:
        """Never here: error events reach :meth:`on_event`, which keeps the error to raise
        after the chunks before it (the base class would drop those of the same read)."""
        return False

    def _failure(self, obj: dict[str, Any]) -> None:
        self._error = self.error_event(obj, "")
        self._done = True

    def error_event(self, obj: dict[str, Any], payload: str | bytes) -> APIError:
        """The typed error of an ``error`` event or of a failed response."""
        return event_error(self._provider, obj, self._secrets)

    # -- events ---------------------------------------------------------------------------------

    def on_event(self, name: str, obj: dict[str, Any]) -> ChatCompletionChunk | None:
        """The chunk of one event (see the module docstring), or None."""
        kind = obj.get("type")
        if kind == _TEXT:  # the hot path, inlined
            text = obj["delta"]
            if type(text) is not str:
                raise TypeError(f"{kind} delta is not a string")
            role = self._role
            if role is not None:
                self._role = None
            return new_chunk(
                {
                    "id": self._id,
                    "object": "chat.completion.chunk",
                    "created": self._created,
                    "model": self._model,
                    "choices": [
                        new_chunk_choice(
                            {
                                "index": 0,
                                "delta": new_delta(
                                    {
                                        "role": role,
                                        "content": text,
                                        "reasoning_content": None,
                                        "tool_calls": None,
                                        "reasoning": None,
                                        "provider_data": None,
                                    }
                                ),
                                "finish_reason": None,
                            }
                        )
                    ],
                    "usage": None,
                    "system_fingerprint": None,
                    "service_tier": None,
                }
            )
        if kind in _ERRORS or name in _ERRORS:  # by type, or by SSE name alone
            self._failure(obj)
            return None
        handler = _HANDLERS.get(kind)  # type: ignore[arg-type]
        return handler(self, obj) if handler is not None else None

    def _chunk(
        self,
        choices: list[ChunkChoice],
        usage: Usage | None = None,
        tier: str | None = None,
    ) -> ChatCompletionChunk:
        return new_chunk(
            {
                "id": self._id,
                "object": "chat.completion.chunk",
                "created": self._created,
                "model": self._model,
                "choices": choices,
                "usage": usage,
                "system_fingerprint": None,
                "service_tier": tier,
            }
        )

    def _choice(self, finish: Any = None, **fields: Any) -> list[ChunkChoice]:
        role = self._role
        self._role = None
        delta = new_delta(
            {
                "role": role,
                "content": fields.get("content"),
                "reasoning_content": fields.get("reasoning_content"),
                "tool_calls": fields.get("tool_calls"),
                "reasoning": fields.get("reasoning"),
                "provider_data": fields.get("provider_data"),
            }
        )
        return [new_chunk_choice({"index": 0, "delta": delta, "finish_reason": finish})]

    def _response(self, obj: dict[str, Any]) -> dict[str, Any]:
        """The event's ``response`` object, its id, model and time remembered."""
        response = obj["response"]
        if not self._id:
            self._id = str(response.get("id") or "")
        if not self._model:
            self._model = str(response.get("model") or "")
        if not self._created:
            created = response.get("created_at")
            self._created = as_int(created) if created is not None else 0
        return response  # type: ignore[no-any-return]

    def _created_event(self, obj: dict[str, Any]) -> ChatCompletionChunk | None:
        self._response(obj)
        if self._role is None:
            return None
        return self._chunk(self._choice())

    def _progress(self, obj: dict[str, Any]) -> None:
        self._response(obj)

    def _refusal(self, obj: dict[str, Any]) -> ChatCompletionChunk:
        text = _text(obj)
        self._refused = True
        return self._chunk(self._choice(content=text))

    def _item_added(self, obj: dict[str, Any]) -> ChatCompletionChunk | None:
        item = obj["item"]
        kind = item.get("type")
        slot = _slot(obj, item)
        if kind == "function_call":
            return self._tool_head(slot, item)
        if kind == "reasoning":
            self._reasoning.index(slot)
        return None

    def _tool_head(self, slot: Any, item: dict[str, Any]) -> ChatCompletionChunk:
        index = self._tools[slot] = len(self._tools)
        arguments = item.get("arguments")
        text = arguments_text(arguments) if arguments else None
        if text:
            self._args.add(index)
        call = new_tool_call_delta(
            {
                "index": index,
                "id": tool_call_id(item.get("call_id") or item.get("id"), 0, index),
                "type": "function",
                "function": new_function_delta(
                    {"name": str(item.get("name") or ""), "arguments": text}
                ),
            }
        )
        return self._chunk(self._choice(tool_calls=[call]))

    def _arguments(self, obj: dict[str, Any]) -> ChatCompletionChunk | None:
        text = _text(obj)
        index = self._tools.get(_slot(obj))
        if index is None:
            raise KeyError("arguments for a function call that was never announced")
        if not text:
            return None
        self._args.add(index)
        return self._call_arguments(index, text)

    def _call_arguments(self, index: int, text: str) -> ChatCompletionChunk:
        call = new_tool_call_delta(
            {
                "index": index,
                "id": None,
                "type": None,
                "function": new_function_delta({"name": None, "arguments": text}),
            }
        )
        return self._chunk(self._choice(tool_calls=[call]))

    def _summary_delta(self, obj: dict[str, Any]) -> ChatCompletionChunk | None:
        text = _text(obj)
        if not text:
            return None
        slot = _slot(obj)
        track = self._reasoning
        index = track.index(slot)
        shared, own = track.text(index, (slot, obj.get("summary_index")), text)
        return self._reasoning_chunk(index, shared, own)

    def _reasoning_chunk(
        self,
        index: int,
        shared: str | None,
        own: str | None,
        encrypted: str | None = None,
        data: dict[str, Any] | None = None,
    ) -> ChatCompletionChunk:
        piece = new_reasoning_delta(
            {"index": index, "text": own, "signature": None, "encrypted": encrypted}
        )
        choice = self._choice(reasoning_content=shared, reasoning=[piece], provider_data=data)
        return self._chunk(choice)

    def _item_done(self, obj: dict[str, Any]) -> ChatCompletionChunk | None:
        item = obj["item"]
        kind = item.get("type")
        slot = _slot(obj, item)
        if kind == "function_call":
            index = self._tools.get(slot)
            if index is None:  # never announced: the whole call now
                return self._tool_head(slot, item)
            arguments = item.get("arguments")
            if index not in self._args and arguments:
                self._args.add(index)
                return self._call_arguments(index, arguments_text(arguments))
            return None
        if kind == "message":
            phase = item.get("phase")
            if not isinstance(phase, str):
                return None
            return self._chunk(self._choice(provider_data=replay_data(self._provider, None, phase)))
        if kind != "reasoning":
            return None
        track = self._reasoning
        index, shared, own = track.done(slot, item)
        encrypted = item.get("encrypted_content")
        return self._reasoning_chunk(
            index,
            shared,
            own,
            encrypted if isinstance(encrypted, str) and encrypted else None,
            replay_data(self._provider, list(track.items), None),
        )

    def _finish(self, obj: dict[str, Any]) -> ChatCompletionChunk:
        response = self._response(obj)
        self._done = True
        usage = response.get("usage")
        tier = response.get("service_tier")
        finish = "tool_calls" if self._tools else finish_of(response, self._refused)
        return self._chunk(
            self._choice(finish),
            parse_responses_usage(usage) if isinstance(usage, dict) else None,
            tier if isinstance(tier, str) else None,
        )


def _text(obj: dict[str, Any]) -> str:
    """A delta event's text (anything but a string makes the event malformed)."""
    text = obj["delta"]
    if type(text) is not str:
        raise TypeError(f"{obj.get('type')} delta is not a string")
    return text


def _slot(obj: dict[str, Any], item: dict[str, Any] | None = None) -> Any:
    """Which output item an event is about: its ``output_index`` (else the item's id)."""
    slot = obj.get("output_index")
    if slot is None:
        slot = obj.get("item_id") if item is None else item.get("id")
    return slot


_HANDLERS: dict[str, Any] = {
    "response.created": ResponsesStreamDecoder._created_event,
    "response.in_progress": ResponsesStreamDecoder._progress,
    "response.queued": ResponsesStreamDecoder._progress,
    "response.refusal.delta": ResponsesStreamDecoder._refusal,
    "response.output_item.added": ResponsesStreamDecoder._item_added,
    "response.function_call_arguments.delta": ResponsesStreamDecoder._arguments,
    "response.reasoning_summary_text.delta": ResponsesStreamDecoder._summary_delta,
    "response.output_item.done": ResponsesStreamDecoder._item_done,
    "response.completed": ResponsesStreamDecoder._finish,
    "response.incomplete": ResponsesStreamDecoder._finish,
}
"""Event type -> handler, for every event but the text delta (tested first, inline)."""

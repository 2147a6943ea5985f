"""The incremental stream-decoder base: one skeleton for every event-stream codec.

Every provider's stream decoder does the same around its own event handling: cut the body
into events (Server-Sent Events or newline-delimited JSON), stop at the end marker and refuse
a body that ends without it, parse each event as a JSON object (an empty SSE ``data`` field is
skipped), turn an error event into the typed :class:`~metallm.APIError`, and turn garbage into
a :class:`~metallm.StreamError` whose message holds a short excerpt with the secrets redacted.
:class:`EventDecoder` owns all of that; a subclass says which :class:`Framing` it reads and
what its end marker is called, and implements :meth:`EventDecoder.on_event` (one JSON object
in, at most one chunk out), plus :meth:`~EventDecoder.is_error` /
:meth:`~EventDecoder.error_event` where its error events differ from the OpenAI shape.

A framing the base does not split itself (AWS event-stream, say) is read by the subclass's own
``feed``/``close``, which hand each event to :meth:`EventDecoder.decode_one`.

This is the per-chunk hot path of every stream: the loop in :meth:`EventDecoder.decode`
inlines ``decode_one`` (the same checks), parses with the JSON module's C scanner directly
(skipping ``json.loads``' argument checks and whitespace matching), and makes two method
calls per event (``is_error`` and ``on_event``), so a decoder on the kit costs what a
hand-written one did.
"""

from __future__ import annotations

import json
import json.scanner
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

from .._ndjson import NDJSONDecoder
from .._sse import SSEDecoder
from ..errors import (
    APIError,
    StreamError,
    error_class_for_status,
    excerpt,
    redact,
    redact_value,
)
from ..types import ChatCompletionChunk
from ._errors import error_fields
from ._helpers import status_from_code

__all__ = ["NDJSON", "SSE", "EventDecoder", "Framing"]

_loads = json.loads
_decode_json = json.JSONDecoder().decode  # json.loads minus its argument checks, for str
_scan: Callable[[str, int], tuple[Any, int]] = json.scanner.make_scanner(
    json.JSONDecoder()  # type: ignore[arg-type]  # typeshed names the wrong parameter type
)
"""The C scanner behind ``json.loads``, called directly: ``(object, end)`` for the JSON value
at an index. ``JSONDecoder.decode`` wraps it in two regex matches for surrounding whitespace
and a Python frame or two (about 0.6 us per event here); a stream event is a bare object, so
the loop in :meth:`EventDecoder.decode` scans it directly and hands whatever is not exactly
one value (whitespace around it, garbage, an error) to ``_decode_json``, which decides as
``json.loads`` would."""
_MALFORMED = (KeyError, TypeError, ValueError, AttributeError)


@dataclass(frozen=True)
class Framing:
    """How a body is cut into events: the splitter to use and what messages call one event.

    :data:`SSE` (``data:`` payloads, via :class:`~metallm.provider.SSEDecoder`) and
    :data:`NDJSON` (one JSON object per line, via :class:`~metallm.provider.NDJSONDecoder`)
    are decoded by :class:`EventDecoder` itself. Another framing (say AWS event-stream) may be
    given to a subclass that overrides ``feed`` and ``close`` and still uses the rest.
    """

    name: str
    unit: str
    """What one event is called in messages ("stream event" is not JSON)."""
    inside: str
    """Where a body cut inside its last event ended ("inside an event")."""
    splitter: Callable[[], Any]
    """Makes the incremental splitter: ``feed(bytes) -> list``, ``close() -> list``."""


SSE = Framing("sse", "stream event", "inside an event", SSEDecoder)
"""Server-Sent Events: each event's ``data`` is one JSON object (OpenAI, Anthropic, Gemini)."""
NDJSON = Framing("ndjson", "stream line", "inside a line", NDJSONDecoder)
"""Newline-delimited JSON: each line is one JSON object (Ollama)."""


class EventDecoder:
    """Base of incremental stream decoders: the feed/close skeleton, JSON checks, errors.

    Subclasses set :attr:`framing`, :attr:`end_marker` (and :attr:`end_data` when the end
    marker is a literal SSE payload such as ``[DONE]``), implement :meth:`on_event` and, to
    end the stream from an event, set ``self._done = True`` in it: events after it are
    ignored. They may read ``self._provider`` and ``self._secrets`` and must declare their own
    ``__slots__``. One instance decodes one stream; it satisfies
    :class:`~metallm.provider.StreamDecoder`.
    """

    __slots__ = ("_done", "_end", "_frames", "_provider", "_secrets", "_sse")

    framing: ClassVar[Framing] = SSE
    end_marker: ClassVar[str] = "its end marker"
    """The end marker as messages name it: "stream ended before [DONE]"."""
    end_data: ClassVar[str | None] = None
    """An SSE ``data`` payload that is the end marker itself, checked before JSON parsing."""
    malformed: ClassVar[str | None] = None
    """How an event that ``on_event`` could not read is called (default "malformed stream
    event" / "malformed stream line")."""

    def __init__(self, provider: str, secrets: tuple[str, ...] = ()) -> None:
        self._provider = provider
        self._secrets = secrets
        self._frames: Any = self.framing.splitter()
        self._sse = self.framing is SSE
        self._end = self.end_data
        self._done = False

    @property
    def done(self) -> bool:
        """Whether the end marker has arrived."""
        return self._done

    def feed(self, data: bytes) -> list[ChatCompletionChunk]:
        """The chunks completed by ``data``; raises an ``APIError`` for an error event."""
        if self._done:
            return []
        events = self._frames.feed(data)
        return self.decode(events) if events else []

    def close(self) -> list[ChatCompletionChunk]:
        """End of body: decode a last unterminated event; ``StreamError`` without the end."""
        if self._done:
            return []
        chunks = self.decode_last(self._frames.close())
        if not self.done:
            raise self.ended_early()
        return chunks

    def on_event(self, name: str, obj: dict[str, Any]) -> ChatCompletionChunk | None:
        """The chunk for one event's JSON object (``name`` is the SSE event type, or ``""``).

        ``None`` skips the event. ``KeyError``, ``TypeError``, ``ValueError`` and
        ``AttributeError`` become a ``StreamError`` naming the event malformed. Every decoder
        writes its own; this base has no event vocabulary to read.
        """
        raise TypeError(f"{type(self).__name__} does not say how to read its events (on_event)")

    def is_error(self, name: str, obj: dict[str, Any]) -> bool:
        """Whether an event is an error event: an ``error`` member or SSE type ``error``."""
        return obj.get("error") is not None or name == "error"

    def decode(self, events: list[Any]) -> list[ChatCompletionChunk]:
        """The chunks of a batch of framed events (SSE events or NDJSON lines)."""
        chunks: list[ChatCompletionChunk] = []
        sse = self._sse
        for event in events:
            # decode_one, inlined: this loop is every stream's per-chunk path
            if sse:
                name, payload, _, _ = event
                if payload == self._end:
                    self._done = True
                    break
                try:
                    obj, end = _scan(payload, 0)
                except (StopIteration, ValueError):
                    end = -1
                if end != len(payload):  # not exactly one JSON value: json.loads decides
                    try:
                        obj = _decode_json(payload)
                    except ValueError:
                        if not payload.strip():
                            continue  # an empty data field: nothing to decode
                        raise self._not_json(payload) from None
            else:
                name, payload = "", event
                try:
                    text = payload.decode()
                    obj, end = _scan(text, 0)
                except (StopIteration, ValueError):  # UnicodeDecodeError is a ValueError too
                    text, end = "", -1
                if end != len(text):
                    try:
                        obj = _decode_json(payload.decode())
                    except ValueError:
                        raise self._not_json(payload) from None
            if type(obj) is not dict:
                raise self._not_object(payload)
            if self.is_error(name, obj):
                raise self.error_event(obj, payload)
            try:
                chunk = self.on_event(name, obj)
            except _MALFORMED as exc:
                raise self._malformed(exc, payload) from exc
            if chunk is not None:
                chunks.append(chunk)
            if self._done:
                break
        return chunks

    def decode_one(self, name: str, payload: str | bytes) -> ChatCompletionChunk | None:
        """The chunk (or ``None``) of one event's payload: JSON text (``bytes`` are UTF-8).

        An empty SSE ``data`` field is skipped; a payload that is not a JSON object raises
        ``StreamError``; an error event raises its ``APIError`` (:meth:`is_error`,
        :meth:`error_event`); the rest goes to :meth:`on_event`.
        """
        try:
            obj = _decode_json(payload if isinstance(payload, str) else payload.decode())
        except ValueError:
            if isinstance(payload, str) and not payload.strip():
                return None  # an empty data field: nothing to decode
            raise self._not_json(payload) from None
        if type(obj) is not dict:
            raise self._not_object(payload)
        if self.is_error(name, obj):
            raise self.error_event(obj, payload)
        try:
            return self.on_event(name, obj)
        except _MALFORMED as exc:
            raise self._malformed(exc, payload) from exc

    def _not_json(self, payload: str | bytes) -> StreamError:
        return self.garbled(f"{self.framing.unit} is not JSON", payload)

    def _not_object(self, payload: str | bytes) -> StreamError:
        return self.garbled(f"{self.framing.unit} is not a JSON object", payload)

    def _malformed(self, exc: Exception, payload: str | bytes) -> StreamError:
        why = self.malformed or f"malformed {self.framing.unit}"
        return self.garbled(f"{why} ({type(exc).__name__}: {exc})", payload)

    def decode_last(self, events: list[Any]) -> list[ChatCompletionChunk]:
        """:meth:`decode` for the events flushed at the end of the body: a ``StreamError``
        there means the body was cut inside its last event, and says so."""
        try:
            return self.decode(events)
        except StreamError as exc:
            raise self.ended_early(f"{self.framing.inside} ({exc.message})") from exc

    def ended_early(self, where: str = "") -> StreamError:
        """The error for a body that ended before its end marker (``where``: more detail)."""
        text = f"stream ended before {self.end_marker}"
        return StreamError(f"{text}, {where}" if where else text, provider=self._provider)

    def garbled(self, why: str, payload: str | bytes) -> StreamError:
        """The error for an unreadable event: ``why`` and a redacted excerpt of it."""
        secrets = self._secrets
        text = payload.decode("utf-8", "replace") if isinstance(payload, bytes) else payload
        message = f"{why}: {excerpt(redact(text, secrets))}"
        return StreamError(redact(message, secrets), provider=self._provider)

    def redacted(self, obj: Any, payload: str | bytes) -> Any:
        """``obj`` with the secrets redacted from every string, in any of their escaped forms:
        an error carries its body, which must not carry a key. (The parsed strings, not the
        payload, are scrubbed: each is one escape shallower than in the payload's bytes.)"""
        return redact_value(obj, self._secrets) if self._secrets else obj

    def error_status(self, type: str | None, code: str | None) -> int | None:
        """The HTTP status an error event stands for (it came in a 200 stream): by default a
        numeric ``code`` in 400..599 (:func:`~metallm.provider.status_from_code`)."""
        return status_from_code(code)

    def error_event(self, obj: dict[str, Any], payload: str | bytes) -> APIError:
        """The typed error for an error event (``{"error": {"message", "type", "code"}}``).

        The class comes from :meth:`error_status`; ``status_code`` stays ``None`` (the HTTP
        status was 200); message and body are redacted.
        """
        body = self.redacted(obj, payload)
        message, etype, code = error_fields(body)
        message = redact(message or "error event in stream", self._secrets)
        status = self.error_status(etype, code)
        cls = error_class_for_status(status, type=etype, code=code, message=message)
        return cls(
            message, provider=self._provider, status_code=None, type=etype, code=code, body=body
        )

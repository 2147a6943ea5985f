"""An incremental Server-Sent Events decoder: ``feed(bytes) -> events``, no I/O.

It follows the WHATWG event-stream rules: lines end in CR, LF or CRLF (a CRLF split across two
reads counts once), lines starting with ``:`` are comments, a field's value loses one leading
space (``data:x`` and ``data: x`` are the same), several ``data`` lines join with newlines, a
blank line dispatches the event, and a leading byte-order mark is dropped. Lines are split as
bytes and decoded whole, so a multibyte UTF-8 character split across reads survives. At the end
of the body, :meth:`SSEDecoder.close` also dispatches an event that lacked its final blank line,
since several providers end streams that way.
"""

from __future__ import annotations

from typing import NamedTuple

__all__ = ["SSEDecoder", "SSEEvent"]

_BOM = b"\xef\xbb\xbf"


class SSEEvent(NamedTuple):
    """One dispatched event: its type (``message`` by default), data, id and retry hint."""

    event: str
    data: str
    id: str | None = None
    retry: int | None = None


class SSEDecoder:
    """Feed it bytes as they arrive; it returns the events each feed completes."""

    __slots__ = ("_bom", "_buf", "_data", "_event", "_id", "_retry", "_skip_lf", "_started")

    def __init__(self) -> None:
        self._buf = b""
        self._skip_lf = False
        self._started = False
        self._bom = b""
        self._data: list[bytes] = []
        self._event: str | None = None
        self._id: str | None = None
        self._retry: int | None = None

    def feed(self, data: bytes) -> list[SSEEvent]:
        """Decode ``data``; return the events whose terminating blank line it contained."""
        if not data:
            return []
        if not self._started:
            data = self._bom + data
            if len(data) < 3 and _BOM.startswith(data):
                self._bom = data  # maybe the start of a BOM split across reads
                return []
            self._started, self._bom = True, b""
            if data.startswith(_BOM):
                data = data[3:]
        if self._skip_lf:
            self._skip_lf = False
            if data[:1] == b"\n":
                data = data[1:]
        if b"\r" in data:
            self._skip_lf = data.endswith(b"\r")
            data = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        elif (
            # The commonest read of all: exactly one "data: ...\n\n" event, nothing pending.
            data[:6] == b"data: "
            and data[-2:] == b"\n\n"
            and data.find(b"\n") == len(data) - 2
            and not self._buf
            and not self._data
            and self._event is None
            and self._retry is None
        ):
            return [SSEEvent("message", data[6:-2].decode("utf-8", "replace"), self._id)]
        elif (
            # The same read with its type first, "event: T\ndata: ...\n\n" (Anthropic's and the
            # OpenAI Responses API's every event): two lines, nothing pending.
            data[:7] == b"event: "
            and data[-2:] == b"\n\n"
            and not self._buf
            and not self._data
            and self._event is None
            and self._retry is None
        ):
            first = data.find(b"\n")
            if (
                data[first + 1 : first + 7] == b"data: "
                and data.find(b"\n", first + 1) == len(data) - 2
            ):
                name = data[7:first].decode("utf-8", "replace") or "message"
                return [SSEEvent(name, data[first + 7 : -2].decode("utf-8", "replace"), self._id)]
        if b"\n" not in data:
            self._buf += data
            return []
        lines = (self._buf + data).split(b"\n")
        self._buf = lines.pop()
        events: list[SSEEvent] = []
        pending = self._data  # cleared in place by _dispatch, so this alias stays valid
        for line in lines:
            # The hot path, inlined: "data: ..." lines and the blank line ending an event.
            if line[:6] == b"data: ":
                pending.append(line[6:])
            elif line:
                self._line(line, events)
            elif len(pending) == 1 and self._event is None and self._retry is None:
                events.append(SSEEvent("message", pending[0].decode("utf-8", "replace"), self._id))
                pending.clear()
            else:
                self._dispatch(events)
        return events

    def close(self) -> list[SSEEvent]:
        """End of body: dispatch a last line and event that had no terminating blank line."""
        events: list[SSEEvent] = []
        if self._bom:
            self._buf, self._bom = self._buf + self._bom, b""
        if self._buf:
            self._line(self._buf, events)
            self._buf = b""
        self._dispatch(events)
        return events

    @property
    def has_pending(self) -> bool:
        """Whether bytes of an unfinished event are buffered (a cut stream shows as this)."""
        return bool(self._buf or self._data or self._event)

    def _line(self, line: bytes, events: list[SSEEvent]) -> None:
        if not line:
            self._dispatch(events)
            return
        if line.startswith(b"data:"):
            value = line[5:]
            self._data.append(value[1:] if value[:1] == b" " else value)
            return
        if line[:1] == b":":
            return
        name, sep, value = line.partition(b":")
        if sep and value[:1] == b" ":
            value = value[1:]
        if name == b"event":
            self._event = value.decode("utf-8", "replace")
        elif name == b"id":
            if b"\x00" not in value:
                self._id = value.decode("utf-8", "replace")
        elif name == b"retry" and value.isdigit():
            self._retry = int(value)
        elif name == b"data":  # a bare "data" line: an empty data field
            self._data.append(b"")

    def _dispatch(self, events: list[SSEEvent]) -> None:
        if self._data:
            data = b"\n".join(self._data).decode("utf-8", "replace")
            events.append(SSEEvent(self._event or "message", data, self._id, self._retry))
        self._data.clear()
        self._event = None
        self._retry = None

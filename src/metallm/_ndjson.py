"""An incremental newline-delimited JSON splitter: ``feed(bytes) -> lines``, no I/O.

Ollama streams one JSON object per line. Lines are split as bytes (so split UTF-8 survives),
a trailing CR is dropped, blank lines are skipped, and :meth:`NDJSONDecoder.close` returns a
last line that had no newline. Parsing is left to the codec, which knows the line's shape.
"""

from __future__ import annotations

__all__ = ["NDJSONDecoder"]


class NDJSONDecoder:
    """Feed it bytes; it returns the complete, non-blank lines (as bytes, for ``json.loads``)."""

    __slots__ = ("_buf",)

    def __init__(self) -> None:
        self._buf = b""

    def feed(self, data: bytes) -> list[bytes]:
        """The lines completed by ``data``."""
        if b"\n" not in data:
            self._buf += data
            return []
        lines = (self._buf + data).split(b"\n")
        self._buf = lines.pop()
        return [s for s in (line.strip() for line in lines) if s]

    def close(self) -> list[bytes]:
        """A last line without a newline, if any."""
        rest, self._buf = self._buf.strip(), b""
        return [rest] if rest else []

    @property
    def has_pending(self) -> bool:
        """Whether part of a line is buffered."""
        return bool(self._buf.strip())

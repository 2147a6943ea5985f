"""The reasoning bookkeeping of one Responses API stream: which part, which separator, which items.

A stream's reasoning arrives as summary-text deltas of numbered reasoning items and summary
parts, and each item ends with its whole self (``encrypted_content`` included). The plain
parser joins a reply's summary parts with a blank line (in ``reasoning_content`` across
items, in each :class:`~metallm.ReasoningPart` within its item), so the stream must put the
same separator before the first delta of every later part, and keep the items to send back.
:class:`ReasoningTrack` holds that state for the decoder, which only builds the chunks.
"""

from __future__ import annotations

from typing import Any

from ._responses_response import SUMMARY_SEPARATOR, summary_text

__all__ = ["ReasoningTrack"]


class ReasoningTrack:
    """Reasoning parts, summary parts and finished items of one stream."""

    __slots__ = ("_current", "_indices", "_parts", "_total", "items")

    def __init__(self) -> None:
        self._indices: dict[Any, int] = {}  # output slot -> reasoning-part index
        self._parts: dict[int, int] = {}  # reasoning index -> summary parts delivered
        self._current: tuple[Any, Any] | None = None  # the summary part streaming now
        self._total = 0  # summary parts delivered, across items
        self.items: list[dict[str, Any]] = []  # the items done, as the API sent them

    def index(self, slot: Any) -> int:
        """The reasoning-part index of the item in output ``slot`` (numbered as they come)."""
        index = self._indices.get(slot)
        if index is None:
            index = self._indices[slot] = len(self._indices)
        return index

    def text(self, index: int, key: tuple[Any, Any], text: str) -> tuple[str, str]:
        """``(reasoning_content, part text)`` for a delta of summary part ``key`` of item
        ``index``: the first delta of a new part starts with the separator, in the shared text
        after any earlier part, in the item's own text after an earlier part of that item."""
        shared = own = text
        if key != self._current:
            self._current = key
            if self._total:
                shared = SUMMARY_SEPARATOR + text
            self._total += 1
            parts = self._parts.get(index, 0)
            if parts:
                own = SUMMARY_SEPARATOR + text
            self._parts[index] = parts + 1
        return shared, own

    def done(self, slot: Any, item: dict[str, Any]) -> tuple[int, str | None, str | None]:
        """An item finished: ``(index, reasoning_content, part text)``, the texts set only when
        its summary was not streamed (a server that sends it whole, on ``done`` alone)."""
        index = self.index(slot)
        self.items.append(item)
        summary = summary_text(item)
        if not summary or self._parts.get(index):
            return index, None, None
        self._parts[index] = 1
        self._current = (slot, None)
        shared = SUMMARY_SEPARATOR + summary if self._total else summary
        self._total += 1
        return index, shared, summary

"""A small thread-safe LRU map, for what a codec must remember between calls.

A codec is pure, but some wire formats make it remember a little across exchanges: Anthropic
and Bedrock (Anthropic models) accept thinking sent back in a later turn only with the
signature they issued, and the unified ``Message`` has no field for it, so the codec keeps
reasoning text -> signature (or signed blocks) of the replies it parsed. One codec serves every
thread of a client, so the map is locked; it is bounded, so a long-running process does not
grow it without end. :class:`LRUCache` is that map, shared instead of copied per codec.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Generic, TypeVar

__all__ = ["LRUCache"]

_K = TypeVar("_K")
_V = TypeVar("_V")


class LRUCache(Generic[_K, _V]):
    """At most ``size`` entries; :meth:`put` and a hit of :meth:`get` make an entry the newest,
    and the oldest is dropped when the map is full."""

    __slots__ = ("_entries", "_lock", "_size")

    def __init__(self, size: int) -> None:
        self._entries: OrderedDict[_K, _V] = OrderedDict()
        self._lock = threading.Lock()
        self._size = size

    def put(self, key: _K, value: _V) -> None:
        """Remember ``value`` under ``key`` (replacing an older value)."""
        with self._lock:
            self._entries[key] = value
            self._entries.move_to_end(key)
            while len(self._entries) > self._size:
                self._entries.popitem(last=False)

    def get(self, key: _K) -> _V | None:
        """The value under ``key``, or ``None``."""
        with self._lock:
            value = self._entries.get(key)
            if value is not None:
                self._entries.move_to_end(key)
            return value

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

"""What the fake server records of each request, and what answers when its queue is empty."""

from __future__ import annotations

import json as _json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from metallm.testing.script import ScriptedReply

__all__ = ["DefaultReply", "RecordedRequest", "parse_json"]


@dataclass(frozen=True)
class RecordedRequest:
    """A request the server received, recorded before it was answered.

    ``path`` includes the query string; ``headers`` has lower-case names; ``json`` is the
    parsed body, or ``None`` when the body is empty or not JSON.
    """

    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    json: Any

    @property
    def stream(self) -> bool:
        """Whether the body asked for a stream (``"stream": true``)."""
        return isinstance(self.json, dict) and self.json.get("stream") is True


DefaultReply = ScriptedReply | Callable[[RecordedRequest], ScriptedReply] | None
"""What an empty queue answers: a reply, a function of the request, or ``None`` (echo)."""


def parse_json(body: bytes) -> Any:
    """The body as JSON, or None when it is empty or not JSON."""
    if not body:
        return None
    try:
        return _json.loads(body)
    except ValueError:
        return None

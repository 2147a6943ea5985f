"""The recorded folders a :class:`~metallm.testing.FakeLLMServer` replays, matched by request.

A folder given to :meth:`FakeLLMServer.replay <metallm.testing.FakeLLMServer.replay>` serves
each of its files to the request that matches it (method, path and normalised body: the rule of
:mod:`metallm.testing._cassette`), in any order; recordings of one request are served in
recording order, the last one again for later requests. A request that matches nothing gets a
404 that names it, when nothing else would answer it, so a test that drifted from its
recordings fails saying why instead of getting the server's echo.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from metallm.testing._cassette import RecordingIndex, recording_files
from metallm.testing.script import ScriptedReply

__all__ = ["ReplayFolders"]


class ReplayFolders:
    """The indexes of the folders being replayed (the server's lock guards changes)."""

    __slots__ = ("_indexes",)

    def __init__(self) -> None:
        self._indexes: list[RecordingIndex] = []

    def __bool__(self) -> bool:
        return bool(self._indexes)

    def add(self, folders: Iterable[Path]) -> None:
        """Replay the exchange files of more folders."""
        self._indexes.append(RecordingIndex(f for d in folders for f in recording_files(d)))

    def clear(self) -> None:
        """Replay no folder any more."""
        self._indexes.clear()

    def answer(self, recorded: Any, renderer: Any, *, last_resort: bool) -> ScriptedReply | None:
        """The recording that matches ``recorded`` (a ``RecordedRequest``); else, when nothing
        else will answer (``last_resort``), a 404 naming the request; else None."""
        for index in self._indexes:
            entry = index.take_request(recorded.method, recorded.path, recorded.body)
            if entry is not None:
                return ScriptedReply.from_corpus(entry)
        if not last_resort:
            return None
        message = (
            f"FakeLLMServer: no recording matches {recorded.method} {recorded.path} "
            "(method, path and body are compared)"
        )
        if renderer is not None:
            return ScriptedReply.error(404, message, type="not_found_error")
        body = json.dumps({"error": {"message": message, "type": "not_found_error"}})
        return ScriptedReply.raw(404, {"content-type": "application/json"}, body.encode())

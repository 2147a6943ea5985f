"""Every recorded exchange of the shared corpus, recorded again through the Recorder and replayed.

A FakeLLMServer serving each corpus file stands in for the live API. The client records the
exchange; then the recording is replayed twice, through a fresh FakeLLMServer given the folder
and in-process (``mode="replay"``, against a port nothing listens on), and all three calls must
give equal parsed results (responses, every chunk, or the same typed error with the same text).
The recorded body must be the corpus body byte for byte, and a recorded stream must come back
from the replaying server byte for byte, in the pieces it arrived in.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from _helpers import MODES
from _recorder_helpers import CLOSED, call_for, client_kwargs, outcome
from metallm.testing import FakeLLMServer, Recorder
from metallm.testing.corpus import corpus_dir, corpus_files, load_corpus_entry

FOLDERS = ["openai", "xai", "anthropic", "gemini", "ollama", "bedrock"]
FILES = [path for folder in FOLDERS for path in corpus_files(folder)]
REMOTE_COUNT_TOKENS = {"anthropic", "gemini", "bedrock"}


@pytest.fixture(scope="module")
def servers() -> Iterator[tuple[FakeLLMServer, FakeLLMServer]]:
    with FakeLLMServer() as live, FakeLLMServer() as replay:
        yield live, replay


def test_the_corpus_is_there() -> None:
    if not FILES:
        pytest.skip(f"corpus not found at {corpus_dir()} (set METALLM_CORPUS)")
    assert len(FILES) >= 50


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("path", FILES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_record_then_replay_gives_equal_results(
    servers: tuple[FakeLLMServer, FakeLLMServer], path: Path, mode: str, tmp_path: Path
) -> None:
    live_server, replay_server = servers
    entry = load_corpus_entry(path)
    call = call_for(entry)
    live_server.clear()
    live_server.replay(entry)
    recorder = Recorder(tmp_path / "cassettes")
    live = outcome(mode, client_kwargs(entry.provider, live_server.url, recorder=recorder), call)

    if call.operation == "count_tokens" and entry.provider not in REMOTE_COUNT_TOKENS:
        assert recorder.recorded == []  # counted locally: nothing went over HTTP
        return
    assert len(recorder.recorded) == 1, recorder.recorded
    recorded = load_corpus_entry(recorder.recorded[0])
    assert recorded.status == entry.status
    assert recorded.body_bytes == entry.body_bytes  # nothing in the corpus looks like a key
    assert recorded.provider == entry.provider
    assert recorded.kind == entry.kind or recorded.kind in ("chat", "stream")

    replay_server.clear()
    replay_server.replay(tmp_path / "cassettes")
    assert outcome(mode, client_kwargs(entry.provider, replay_server.url), call) == live
    assert len(replay_server.requests) == 1

    offline = Recorder(tmp_path / "cassettes", mode="replay")
    assert outcome(mode, client_kwargs(entry.provider, CLOSED, recorder=offline), call) == live
    assert offline.replayed == 1


@pytest.mark.parametrize(
    "path",
    [p for p in FILES if load_corpus_entry(p).is_stream],
    ids=lambda p: f"{p.parent.name}/{p.stem}",
)
def test_a_recorded_stream_replays_byte_exact(
    servers: tuple[FakeLLMServer, FakeLLMServer], path: Path, tmp_path: Path
) -> None:
    live_server, replay_server = servers
    entry = load_corpus_entry(path)
    live_server.clear()
    live_server.replay(entry)
    recorder = Recorder(tmp_path)
    outcome(
        "sync", client_kwargs(entry.provider, live_server.url, recorder=recorder), call_for(entry)
    )
    recorded = load_corpus_entry(recorder.recorded[0])
    sent = live_server.last_request
    if recorded.chunk_sizes is not None:
        assert sum(recorded.chunk_sizes) == len(entry.body_bytes)
        assert b"".join(recorded.pieces) == entry.body_bytes

    replay_server.clear()
    replay_server.replay(tmp_path)
    headers = {"content-type": sent.headers.get("content-type", "application/json")}
    with (
        httpx.Client() as raw,
        raw.stream(
            sent.method, replay_server.url + sent.path, content=sent.body, headers=headers
        ) as response,
    ):
        pieces = list(response.iter_raw())
    assert response.status_code == entry.status
    assert b"".join(pieces) == entry.body_bytes

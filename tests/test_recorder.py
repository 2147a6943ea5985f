"""Recorder over real sockets, every provider, sync and async: record from a FakeLLMServer that
stands in for the live API, replay through a fresh FakeLLMServer and in-process, equal results.

Scripted replies cover what the corpus does not: tool calls and reasoning on every wire
(Bedrock's binary ConverseStream included, kept as ``body_base64``), retries (a 429 and its
200, served again in order), an error status on a stream request, an in-stream error event, a
cut stream and a stream closed early.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from _helpers import MODES
from _recorder_helpers import CLOSED, MODELS, PROVIDERS, Call, client_kwargs, outcome
from metallm.testing import FakeLLMServer, Recorder, ScriptedReply, ScriptedToolCall
from metallm.testing.corpus import load_corpus_entry

CALL_TOOL = ScriptedToolCall("get_weather", {"city": "Paris"}, id="call_w1")


@pytest.fixture(scope="module")
def servers() -> Iterator[tuple[FakeLLMServer, FakeLLMServer]]:
    with FakeLLMServer() as live, FakeLLMServer() as replay:
        yield live, replay


@pytest.fixture(autouse=True)
def _clean(servers: tuple[FakeLLMServer, FakeLLMServer]) -> None:
    for server in servers:
        server.clear()


def call(provider: str, operation: str = "chat", **extra: object) -> Call:
    return Call(operation, MODELS[provider], extra=dict(extra))


def replays(
    servers: tuple[FakeLLMServer, FakeLLMServer], folder: Path, provider: str, mode: str, c: Call
) -> tuple[object, object]:
    """The call's outcome replayed over HTTP from ``folder``, and in-process."""
    replay_server = servers[1]
    replay_server.clear()
    replay_server.replay(folder)
    over_http = outcome(mode, client_kwargs(provider, replay_server.url), c)
    offline = Recorder(folder, mode="replay")
    in_process = outcome(mode, client_kwargs(provider, CLOSED, recorder=offline), c)
    return over_http, in_process


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize("operation", ["chat", "stream"])
def test_scripted_replies_record_and_replay_equal(
    servers: tuple[FakeLLMServer, FakeLLMServer],
    provider: str,
    operation: str,
    mode: str,
    tmp_path: Path,
) -> None:
    reply = ScriptedReply(text="It is sunny in Paris.", tool_calls=[CALL_TOOL], chunk_size=3)
    if provider != "ollama":  # Ollama's wire has thinking too, but only for think=True requests
        reply.reasoning = "The user wants the weather."
    servers[0].enqueue(reply)
    recorder = Recorder(tmp_path)
    c = call(provider, operation)
    live = outcome(mode, client_kwargs(provider, servers[0].url, recorder=recorder), c)
    assert live[0] == "ok", live
    final = live[-1]
    assert isinstance(final, dict)
    assert final["choices"][0]["message"]["tool_calls"][0]["function"]["name"] == "get_weather"

    (path,) = recorder.recorded
    entry = load_corpus_entry(path)
    assert entry.status == 200 and entry.provider == provider
    assert entry.kind == ("stream" if operation == "stream" else "chat")
    raw = json.loads(path.read_text(encoding="utf-8"))["response"]
    if operation == "stream":
        assert sum(raw["chunk_sizes"]) == len(entry.body_bytes)
        assert ("body_base64" in raw) == (provider == "bedrock")  # binary event-stream frames
    else:
        assert "chunk_sizes" not in raw and "body_text" in raw
    assert replays(servers, tmp_path, provider, mode, c) == (live, live)


@pytest.mark.parametrize("mode", MODES)
def test_a_retried_429_is_recorded_and_replayed_in_order(
    servers: tuple[FakeLLMServer, FakeLLMServer], mode: str, tmp_path: Path
) -> None:
    live_server = servers[0]
    live_server.enqueue(
        ScriptedReply.error(429, "slow down", headers={"retry-after-ms": "1"}),
        ScriptedReply(text="done"),
    )
    recorder = Recorder(tmp_path)
    c = call("openai")
    kwargs = client_kwargs("openai", live_server.url, recorder=recorder, max_retries=2)
    live = outcome(mode, kwargs, c)
    assert live[0] == "ok"
    first, second = (load_corpus_entry(p) for p in recorder.recorded)
    assert (first.status, second.status) == (429, 200)
    assert first.kind == "error" and "http_429" in first.features
    assert first.response_headers["retry-after-ms"] == "1"  # kept: the retry policy reads it
    assert recorder.recorded[1].name.endswith("-2.json")

    replay_server = servers[1]
    replay_server.replay(tmp_path)
    assert outcome(mode, client_kwargs("openai", replay_server.url, max_retries=2), c) == live
    assert len(replay_server.requests) == 2
    offline = Recorder(tmp_path, mode="replay")
    kwargs = client_kwargs("openai", CLOSED, recorder=offline, max_retries=2)
    assert outcome(mode, kwargs, c) == live
    assert offline.replayed == 2


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("provider", ["openai", "anthropic", "gemini", "bedrock"])
def test_an_error_status_on_a_stream_request(
    servers: tuple[FakeLLMServer, FakeLLMServer], provider: str, mode: str, tmp_path: Path
) -> None:
    servers[0].enqueue(ScriptedReply.error(400, "bad things", type="invalid_request_error"))
    recorder = Recorder(tmp_path)
    c = call(provider, "stream")
    live = outcome(mode, client_kwargs(provider, servers[0].url, recorder=recorder), c)
    assert live[:2] == ("error", "BadRequestError")
    entry = load_corpus_entry(recorder.recorded[0])
    assert entry.kind == "error" and "stream_request" in entry.features
    assert entry.chunk_sizes is None
    assert replays(servers, tmp_path, provider, mode, c) == (live, live)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("provider", ["openai", "anthropic", "gemini", "ollama", "bedrock"])
def test_an_error_event_mid_stream(
    servers: tuple[FakeLLMServer, FakeLLMServer], provider: str, mode: str, tmp_path: Path
) -> None:
    servers[0].enqueue(
        ScriptedReply(
            text="partial answer here",
            chunk_size=4,
            error_event_after=3,
            error_message="overloaded",
            status=200,
        )
    )
    recorder = Recorder(tmp_path)
    c = call(provider, "stream")
    live = outcome(mode, client_kwargs(provider, servers[0].url, recorder=recorder), c)
    assert live[0] == "error" and live[-1], live  # raised after the chunks before the event
    assert replays(servers, tmp_path, provider, mode, c) == (live, live)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("provider", ["openai", "gemini", "bedrock"])
def test_a_cut_stream_is_recorded_as_cut_and_replays_cut(
    servers: tuple[FakeLLMServer, FakeLLMServer], provider: str, mode: str, tmp_path: Path
) -> None:
    servers[0].enqueue(ScriptedReply(text="a long answer cut short", chunk_size=2, cut_after=4))
    recorder = Recorder(tmp_path)
    c = call(provider, "stream")
    live = outcome(mode, client_kwargs(provider, servers[0].url, recorder=recorder), c)
    assert live[:2] == ("error", "StreamError")
    entry = load_corpus_entry(recorder.recorded[0])
    assert entry.truncated is not None and entry.truncated.startswith("cut: StreamError: ")
    assert "truncated" in entry.features
    assert replays(servers, tmp_path, provider, mode, c) == (live, live)


@pytest.mark.parametrize("mode", MODES)
def test_a_stream_closed_early_is_recorded_as_closed(
    servers: tuple[FakeLLMServer, FakeLLMServer], mode: str, tmp_path: Path
) -> None:
    from _helpers import stream

    servers[0].enqueue(ScriptedReply(text="one two three four five six", chunk_size=2, delay=0.01))
    recorder = Recorder(tmp_path)
    kwargs = client_kwargs("openai", servers[0].url, recorder=recorder)
    request = call("openai", "stream").request()
    chunks, _ = stream(mode, kwargs, request, take=2)
    entry = load_corpus_entry(recorder.recorded[0])
    assert entry.truncated == "closed"
    assert entry.body_bytes  # what arrived before the close is kept
    offline = Recorder(tmp_path, mode="replay")
    again, _ = stream(mode, client_kwargs("openai", CLOSED, recorder=offline), request, take=2)
    assert [c.model_dump() for c in again] == [c.model_dump() for c in chunks]
    drained = outcome(
        mode, client_kwargs("openai", CLOSED, recorder=offline), call("openai", "stream")
    )
    assert drained[:2] == ("error", "StreamError")  # the recording ends where the stream was closed

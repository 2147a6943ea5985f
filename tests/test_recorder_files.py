"""The recording files and the matching rule: corpus-format fields, byte-exact pieces, matching.

A property test sends arbitrary bodies (binary, or UTF-8 cut inside characters) in arbitrary
pieces through a tapped transport over a real socket: the file must give back exactly the bytes
and the pieces that arrived, and an in-process replay must yield them again. The matching rule
(method, path with sorted query and no credential parameters, canonical JSON body) is checked
case by case, and FakeLLMServer's folder replay on matches, misses and corpus folders.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import metallm
from _recorder_helpers import Call, client_kwargs, outcome
from metallm._transport import SyncTransport
from metallm._transport_tap import transport_class
from metallm.provider import HTTPRequest
from metallm.testing import FakeLLMServer, Recorder, ScriptedReply
from metallm.testing._cassette import operation_of, request_key
from metallm.testing._scrub import Scrubber
from metallm.testing.corpus import corpus_dir, corpus_files, load_corpus_entry

NONE = Scrubber(())


@pytest.fixture(scope="module")
def server() -> Iterator[FakeLLMServer]:
    with FakeLLMServer() as s:
        yield s


@pytest.fixture(autouse=True)
def _clean(server: FakeLLMServer) -> None:
    server.clear()


def send_stream(server: FakeLLMServer, recorder: Recorder, body: bytes) -> list[bytes]:
    """One streamed exchange on a tapped transport; the pieces the caller read."""
    transport = transport_class(SyncTransport)("raw", (), httpx.Timeout(10.0), None, recorder)
    try:
        handle = transport.stream(HTTPRequest("POST", server.url + "/raw", {}, body))
        pieces = list(handle.chunks())
        handle.close()
        return pieces
    finally:
        transport.close()


bodies = st.one_of(
    st.binary(min_size=1, max_size=3000),
    st.text(min_size=1, max_size=800).map(lambda t: t.encode("utf-8")),
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(body=bodies, cuts=st.lists(st.integers(min_value=1, max_value=3000), max_size=12))
def test_any_body_in_any_pieces_is_recorded_and_replayed_byte_exact(
    server: FakeLLMServer, tmp_path_factory: pytest.TempPathFactory, body: bytes, cuts: list[int]
) -> None:
    server.clear()  # one server for every example
    folder = tmp_path_factory.mktemp("pieces")
    offsets = sorted({c for c in cuts if c < len(body)})
    pieces = [body[a:b] for a, b in zip([0, *offsets], [*offsets, len(body)], strict=True)]
    server.enqueue(ScriptedReply.raw(200, {"content-type": "application/octet-stream"}, pieces))
    recorder = Recorder(folder)
    arrived = send_stream(server, recorder, b'{"n": 1}')
    assert b"".join(arrived) == body

    entry = load_corpus_entry(recorder.recorded[0])
    assert entry.body_bytes == body
    assert entry.pieces == tuple(p for p in arrived if p)  # as they arrived, not as sent
    raw = json.loads(recorder.recorded[0].read_text(encoding="utf-8"))["response"]
    try:
        body.decode("utf-8")
        assert raw["body_text"] == body.decode("utf-8") and "body_base64" not in raw
    except UnicodeDecodeError:
        assert "body_base64" in raw and "body_text" not in raw

    again = send_stream(server, Recorder(folder, mode="replay"), b'{ "n" : 1 }')
    assert again == list(entry.pieces)  # same pieces, and the body's spacing does not matter
    assert len(server.requests) == 1


def test_the_match_key_ignores_key_order_spacing_query_order_and_credentials() -> None:
    base = request_key("POST", "https://a.test/v1/x?b=2&a=1", b'{"m": 1, "k": [1, 2]}', NONE)
    same = [
        ("post", "http://127.0.0.1:9/v1/x?a=1&b=2&key=AIzaSECRET", b'{"k":[1,2],"m":1}'),
        ("POST", "https://other.host/v1/x?a=1&X-Amz-Signature=ff&b=2", b' {"m":1,"k":[1,2]}\n'),
    ]
    for method, url, body in same:
        assert request_key(method, url, body, NONE) == base
    different = [
        ("GET", "https://a.test/v1/x?a=1&b=2", b'{"m": 1, "k": [1, 2]}'),
        ("POST", "https://a.test/v1/y?a=1&b=2", b'{"m": 1, "k": [1, 2]}'),
        ("POST", "https://a.test/v1/x?a=1&b=3", b'{"m": 1, "k": [1, 2]}'),
        ("POST", "https://a.test/v1/x?a=1&b=2", b'{"m": 1, "k": [2, 1]}'),
    ]
    for method, url, body in different:
        assert request_key(method, url, body, NONE) != base
    encoded = request_key("POST", "https://h/model/a%3A0/converse", None, NONE)
    assert encoded == request_key("POST", "https://h/model/a:0/converse", b"", NONE)


@pytest.mark.parametrize(
    ("path", "operation"),
    [
        ("/v1/chat/completions", "chat"),
        ("/v1/messages", "chat"),
        ("/v1/embeddings", "embeddings"),
        ("/v1beta/models/g:batchEmbedContents", "embeddings"),
        ("/v1beta1/projects/p/locations/l/publishers/google/models/g:predict", "embeddings"),
        ("/api/embed", "embeddings"),
        ("/model/amazon.titan-embed-text-v2%3A0/invoke", "embeddings"),
        ("/v1/messages/count_tokens?beta=true", "count_tokens"),
        ("/v1beta/models/g:countTokens", "count_tokens"),
        ("/model/m/count-tokens", "count_tokens"),
        ("/v1beta/models/g:streamGenerateContent?alt=sse", "chat"),
    ],
)
def test_the_operation_is_read_from_the_endpoint(path: str, operation: str) -> None:
    assert operation_of(path) == operation


def test_a_recorded_file_is_a_corpus_file(server: FakeLLMServer, tmp_path: Path) -> None:
    recorder = Recorder(tmp_path)
    kwargs = client_kwargs("openai", server.url, recorder=recorder)
    outcome("sync", kwargs, Call("chat", "gpt-4o-mini"))
    outcome("sync", kwargs, Call("embeddings", "text-embedding-3-small"))
    server.enqueue(ScriptedReply.error(404, "no such model"))
    outcome("sync", kwargs, Call("embeddings", "nope"))
    kwargs = client_kwargs("anthropic", server.url, recorder=recorder)
    outcome("sync", kwargs, Call("count_tokens", "claude-sonnet-4-5"))

    chat, embed, embed_error, count = (load_corpus_entry(p) for p in recorder.recorded)
    assert (chat.kind, chat.operation) == ("chat", "chat")
    assert (embed.kind, embed.operation) == ("embeddings", "embeddings")
    assert (embed_error.kind, embed_error.operation) == ("error", "embeddings")
    assert {"http_404", "embeddings", "recorded"} <= set(embed_error.features)
    assert (count.kind, count.operation, count.provider) == (
        "count_tokens",
        "count_tokens",
        "anthropic",
    )
    raw = json.loads(recorder.recorded[0].read_text(encoding="utf-8"))
    assert set(raw) == {"source", "provider", "kind", "features", "request", "response", "notes"}
    assert raw["request"]["path"] == "/v1/chat/completions"
    assert raw["request"]["body"]["model"] == "gpt-4o-mini"
    assert raw["source"]["recorder"] == "metallm.testing.Recorder"
    assert raw["source"]["recorded_host"] == "127.0.0.1"
    assert len(raw["source"]["match_key"]) == 64 and raw["source"]["sequence"] == 1
    assert recorder.recorded[0].name.startswith("openai_chat-" + raw["source"]["match_key"][:16])


def test_a_folder_replay_names_a_request_it_has_no_recording_for(
    server: FakeLLMServer, tmp_path: Path
) -> None:
    outcome(
        "sync",
        client_kwargs("openai", server.url, recorder=Recorder(tmp_path)),
        Call("chat", "gpt-4o-mini"),
    )
    server.clear()
    server.replay(tmp_path)
    other = Call("chat", "gpt-4o-mini", [metallm.Message(role="user", content="unrecorded")])
    missed = outcome("sync", client_kwargs("openai", server.url), other)
    assert missed[:2] == ("error", "NotFoundError")
    assert "no recording matches POST /v1/chat/completions" in missed[2]

    server.enqueue(ScriptedReply(text="from the queue"))
    queued = outcome("sync", client_kwargs("openai", server.url), other)
    assert queued[1]["choices"][0]["message"]["content"] == "from the queue"

    server.default_reply = ScriptedReply(text="the default")
    try:
        fallback = outcome("sync", client_kwargs("openai", server.url), other)
    finally:
        server.default_reply = None
    assert fallback[1]["choices"][0]["message"]["content"] == "the default"
    assert (
        outcome("sync", client_kwargs("openai", server.url), Call("chat", "gpt-4o-mini"))[0] == "ok"
    )
    server.clear()
    assert "Hello from FakeLLMServer" in json.dumps(
        outcome("sync", client_kwargs("openai", server.url), other)
    )


def test_a_corpus_folder_replays_by_request(server: FakeLLMServer) -> None:
    files = corpus_files("openai")
    if not files:
        pytest.skip(f"corpus not found at {corpus_dir()}")
    server.replay(files[0].parent)
    with httpx.Client() as raw:
        for path in files:
            entry = load_corpus_entry(path)
            if not isinstance(entry.request_body, dict):
                continue
            reply = raw.post(server.url + entry.request_path, json=entry.request_body)
            assert reply.status_code == entry.status
            assert reply.content == entry.body_bytes, entry.name


def test_the_standalone_server_replays_a_folder(server: FakeLLMServer, tmp_path: Path) -> None:
    recorder = Recorder(tmp_path)
    live = outcome(
        "sync",
        client_kwargs("openai", server.url, recorder=recorder),
        Call("stream", "gpt-4o-mini"),
    )
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    command = [sys.executable, "-m", "metallm.testing", "--port", "0", "--replay", str(tmp_path)]
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    ) as proc:
        assert proc.stdout is not None and proc.stderr is not None
        try:
            line: list[str] = []
            stdout = proc.stdout
            reader = threading.Thread(target=lambda: line.append(stdout.readline()), daemon=True)
            reader.start()
            reader.join(30)
            assert line and line[0].startswith("READY "), f"no READY line: {line}"
            root = f"http://127.0.0.1:{int(line[0].split()[1])}"
            assert (
                outcome("sync", client_kwargs("openai", root), Call("stream", "gpt-4o-mini"))
                == live
            )
        finally:
            os.kill(proc.pid, signal.SIGTERM)  # by PID: only the process this test started
            try:
                code = proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)
                raise
        assert code == 0, proc.stderr.read()
    bad = subprocess.run(
        [*command[:-1], str(tmp_path / "missing")],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert bad.returncode == 2 and "--replay needs a folder of recordings" in bad.stderr


def test_the_recorder_benchmark_runs() -> None:
    """``benchmarks/recorder_bench.py`` still runs (its figures are never asserted)."""
    script = Path(__file__).resolve().parents[1] / "benchmarks" / "recorder_bench.py"
    args = ["--rounds", "1", "--calls", "5", "--chunks", "20"]
    proc = subprocess.run(
        [sys.executable, str(script), *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    for row in ("plain", "plain, block open elsewhere", "recording"):
        assert re.search(rf"^{re.escape(row)}  +[\d.]+ +[\d.]+$", proc.stdout, re.MULTILINE)

"""FakeLLMServer over real sockets, driven with raw httpx (and raw sockets for framing details).

Covers the OpenAI/xAI wire rendering (plain, streamed, tool calls, reasoning, usage), every
scripted failure mode (HTTP errors, cut streams, in-stream errors, disconnects, stalls, raw
bytes), HTTP/1.1 behaviour (keep-alive, Connection: close, chunked request bodies, 404s),
request recording, byte-exact replay of every corpus file, concurrency and standalone mode.
Every network call carries a timeout so that a broken server fails fast instead of hanging.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

import metallm
from metallm.testing.corpus import corpus_dir, corpus_files, load_corpus_entry
from metallm.testing.fake_server import FakeLLMServer, RecordedRequest
from metallm.testing.script import ScriptedReply, ScriptedToolCall, ScriptedUsage, split_events
from metallm.testing.wire import WireResponse, register_wire, unregister_wire

TIMEOUT = httpx.Timeout(10.0)
PROVIDERS = ["openai", "xai", "anthropic", "gemini", "ollama", "bedrock"]


@pytest.fixture(scope="module")
def server() -> Iterator[FakeLLMServer]:
    with FakeLLMServer() as s:
        yield s


@pytest.fixture(autouse=True)
def _clean(server: FakeLLMServer) -> Iterator[None]:
    server.clear()
    server.default_reply = None
    yield
    server.default_reply = None


@pytest.fixture
def client(server: FakeLLMServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.base_url("openai"), timeout=TIMEOUT) as c:
        yield c


def body(
    text: str = "hi there", *, model: str = "gpt-4o", stream: bool = False, usage: bool = False
) -> dict[str, Any]:
    out: dict[str, Any] = {"model": model, "messages": [{"role": "user", "content": text}]}
    if stream:
        out["stream"] = True
    if usage:
        out["stream_options"] = {"include_usage": True}
    return out


def sse_data(client: httpx.Client, payload: dict[str, Any]) -> tuple[httpx.Response, list[str]]:
    """POST a stream request; the response and every ``data:`` payload, in order."""
    with client.stream("POST", "/chat/completions", json=payload) as r:
        data = [line[6:] for line in r.iter_lines() if line.startswith("data: ")]
    return r, data


def deltas(data: list[str]) -> list[dict[str, Any]]:
    return [
        json.loads(d)["choices"][0]["delta"]
        for d in data
        if d != "[DONE]" and json.loads(d).get("choices")
    ]


# -- plain responses --------------------------------------------------------------------------


def test_non_stream_text_is_wire_exact(server: FakeLLMServer, client: httpx.Client) -> None:
    server.enqueue(
        ScriptedReply(
            text="Hello, world!", id="chatcmpl-1", usage=ScriptedUsage(12, 3, cached_tokens=4)
        )
    )
    r = client.post("/chat/completions", json=body())
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/json"
    assert r.headers["x-request-id"].startswith("req_")
    assert int(r.headers["content-length"]) == len(r.content)
    data = r.json()
    assert list(data) == [
        "id",
        "object",
        "created",
        "model",
        "choices",
        "usage",
        "service_tier",
        "system_fingerprint",
    ]
    assert data["id"] == "chatcmpl-1" and data["object"] == "chat.completion"
    assert isinstance(data["created"], int) and data["model"] == "gpt-4o"
    assert data["system_fingerprint"] == "fp_fake"
    assert data["choices"] == [
        {
            "index": 0,
            "message": {
                "role": "assistant",
                "content": "Hello, world!",
                "refusal": None,
                "annotations": [],
            },
            "logprobs": None,
            "finish_reason": "stop",
        }
    ]
    assert data["usage"] == {
        "prompt_tokens": 12,
        "completion_tokens": 3,
        "total_tokens": 15,
        "prompt_tokens_details": {"cached_tokens": 4, "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": 0,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
    }


def test_model_override_and_estimated_usage(server: FakeLLMServer, client: httpx.Client) -> None:
    server.enqueue(ScriptedReply(text="one two three", model="gpt-4o-2024-08-06"))
    data = client.post("/chat/completions", json=body("a b c d e")).json()
    assert data["model"] == "gpt-4o-2024-08-06"
    assert data["id"].startswith("chatcmpl-")
    assert data["usage"]["prompt_tokens"] == 5 and data["usage"]["completion_tokens"] == 3
    assert data["usage"]["total_tokens"] == 8


def test_default_reply_echoes_last_user_message(client: httpx.Client) -> None:
    payload = body()
    payload["messages"] = [
        {"role": "system", "content": "be nice"},
        {"role": "user", "content": "first"},
        {"role": "assistant", "content": "ok"},
        {"role": "user", "content": [{"type": "text", "text": "ping?"}]},
    ]
    message = client.post("/chat/completions", json=payload).json()["choices"][0]["message"]
    assert message["content"] == "Hello from FakeLLMServer! You said: ping?"
    _, data = sse_data(client, {**payload, "stream": True})
    assert "".join(d.get("content") or "" for d in deltas(data)) == message["content"]
    assert data[-1] == "[DONE]"


def test_programmatic_default_reply(server: FakeLLMServer, client: httpx.Client) -> None:
    server.default_reply = ScriptedReply(text="fixed")
    assert (
        client.post("/chat/completions", json=body()).json()["choices"][0]["message"]["content"]
        == "fixed"
    )

    def by_request(request: RecordedRequest) -> ScriptedReply:
        return ScriptedReply(text="streamed" if request.stream else "plain")

    server.default_reply = by_request
    assert (
        client.post("/chat/completions", json=body()).json()["choices"][0]["message"]["content"]
        == "plain"
    )
    _, data = sse_data(client, body(stream=True))
    assert "".join(d.get("content") or "" for d in deltas(data)) == "streamed"


# -- streaming --------------------------------------------------------------------------------


def test_stream_chunking_and_done(server: FakeLLMServer, client: httpx.Client) -> None:
    server.enqueue(ScriptedReply(text="Hello world!", chunk_size=4))
    r, data = sse_data(client, body(stream=True))
    assert r.headers["content-type"] == "text/event-stream; charset=utf-8"
    assert r.headers["transfer-encoding"] == "chunked" and "x-request-id" in r.headers
    assert data[-1] == "[DONE]"
    chunks = [json.loads(d) for d in data[:-1]]
    assert all(c["object"] == "chat.completion.chunk" for c in chunks)
    assert len({c["id"] for c in chunks}) == 1
    assert all("usage" not in c for c in chunks), "no usage without include_usage"
    ds = [c["choices"][0]["delta"] for c in chunks]
    assert ds[0] == {"role": "assistant", "content": "", "refusal": None}
    assert [d["content"] for d in ds[1:-1]] == ["Hell", "o wo", "rld!"]
    assert ds[-1] == {} and chunks[-1]["choices"][0]["finish_reason"] == "stop"
    assert [c["choices"][0]["finish_reason"] for c in chunks[:-1]] == [None] * 4


def test_stream_usage_chunk_only_with_include_usage(
    server: FakeLLMServer, client: httpx.Client
) -> None:
    usage = ScriptedUsage(7, 5, cached_tokens=2, reasoning_tokens=1)
    server.enqueue(ScriptedReply(text="abcdef", chunks=["ab", "cd", "ef"], usage=usage))
    _, data = sse_data(client, body(stream=True, usage=True))
    assert data[-1] == "[DONE]"
    last = json.loads(data[-2])
    assert last["choices"] == []
    assert last["usage"]["prompt_tokens"] == 7 and last["usage"]["total_tokens"] == 12
    assert last["usage"]["prompt_tokens_details"]["cached_tokens"] == 2
    assert last["usage"]["completion_tokens_details"]["reasoning_tokens"] == 1
    others = [json.loads(d) for d in data[:-2]]
    assert all(c["usage"] is None for c in others), "OpenAI sends usage:null on the others"
    assert [d.get("content") for d in deltas(data)[1:-1]] == ["ab", "cd", "ef"]


def test_bench_stream(server: FakeLLMServer, client: httpx.Client) -> None:
    server.enqueue(ScriptedReply.bench_stream(300, "x "))
    _, data = sse_data(client, body(stream=True))
    contents = [d["content"] for d in deltas(data) if d.get("content")]
    assert contents == ["x "] * 300


def test_delays_hold_back_chunks_not_headers(server: FakeLLMServer, client: httpx.Client) -> None:
    server.enqueue(ScriptedReply(text="abc", chunk_size=1, first_chunk_delay=0.4, delay=0.05))
    start = time.monotonic()
    with client.stream("POST", "/chat/completions", json=body(stream=True)) as r:
        headers_at = time.monotonic() - start
        lines = r.iter_lines()
        first = next(line for line in lines if line.startswith("data:"))
        first_at = time.monotonic() - start
        rest = [line for line in lines if line.startswith("data:")]
    total = time.monotonic() - start
    assert first_at >= 0.45 - 0.01 and headers_at < first_at - 0.3, "headers come at once"
    assert json.loads(first[6:])["choices"][0]["delta"]["role"] == "assistant"
    assert total >= 0.45 + 5 * 0.05 - 0.01 and rest[-1] == "data: [DONE]"


# -- tool calls and reasoning -----------------------------------------------------------------

CALLS = [
    ScriptedToolCall("get_weather", '{"city": "Paris"}', id="call_a"),
    ScriptedToolCall("get_time", '{"tz": "UTC"}', id="call_b"),
]


def test_tool_calls_plain(server: FakeLLMServer, client: httpx.Client) -> None:
    server.enqueue(ScriptedReply(tool_calls=CALLS))
    choice = client.post("/chat/completions", json=body()).json()["choices"][0]
    assert choice["finish_reason"] == "tool_calls"
    assert choice["message"]["content"] is None
    assert choice["message"]["tool_calls"] == [
        {
            "id": "call_a",
            "type": "function",
            "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
        },
        {
            "id": "call_b",
            "type": "function",
            "function": {"name": "get_time", "arguments": '{"tz": "UTC"}'},
        },
    ]


def test_tool_calls_stream_interleaved(server: FakeLLMServer, client: httpx.Client) -> None:
    server.enqueue(ScriptedReply(tool_calls=CALLS, chunk_size=5))
    _, data = sse_data(client, body(stream=True))
    ds = deltas(data)
    assert ds[0] == {"role": "assistant", "content": None, "refusal": None}
    tool = [d["tool_calls"] for d in ds if "tool_calls" in d]
    assert all(len(t) == 1 for t in tool)
    flat = [t[0] for t in tool]
    assert flat[0] == {
        "index": 0,
        "id": "call_a",
        "type": "function",
        "function": {"name": "get_weather", "arguments": ""},
    }
    assert flat[1] == {
        "index": 1,
        "id": "call_b",
        "type": "function",
        "function": {"name": "get_time", "arguments": ""},
    }
    later = flat[2:]
    assert all(
        set(d) == {"index", "function"} and set(d["function"]) == {"arguments"} for d in later
    )
    assert [d["index"] for d in later[:4]] == [0, 1, 0, 1], "parallel calls interleave"
    for index, call in enumerate(CALLS):
        args = "".join(d["function"]["arguments"] for d in later if d["index"] == index)
        assert args == call.arguments
    assert json.loads(data[-2])["choices"][0]["finish_reason"] == "tool_calls"


def test_reasoning_plain_and_stream(server: FakeLLMServer, client: httpx.Client) -> None:
    server.enqueue(ScriptedReply(text="42", reasoning="think first"))
    message = client.post("/chat/completions", json=body()).json()["choices"][0]["message"]
    assert message["reasoning_content"] == "think first" and message["content"] == "42"
    server.enqueue(ScriptedReply(text="42", reasoning="think first", chunk_size=4))
    _, data = sse_data(client, body(stream=True))
    kinds = [
        next(iter(k for k in d if k in ("reasoning_content", "content")))
        for d in deltas(data)[1:-1]
    ]
    assert kinds == ["reasoning_content"] * 3 + ["content"]
    assert "".join(d.get("reasoning_content", "") for d in deltas(data)) == "think first"
    server.enqueue(ScriptedReply(text="no reasoning"))
    message = client.post("/chat/completions", json=body()).json()["choices"][0]["message"]
    assert "reasoning_content" not in message


def test_xai_flavour_for_grok_models(server: FakeLLMServer, client: httpx.Client) -> None:
    usage = ScriptedUsage(10, 30, cached_tokens=3, reasoning_tokens=20)
    server.enqueue(ScriptedReply(text="ok", reasoning="hmm", usage=usage))
    data = client.post("/chat/completions", json=body(model="grok-3-mini")).json()
    assert "logprobs" not in data["choices"][0]
    u = data["usage"]  # xAI leaves reasoning out of completion_tokens
    assert (u["prompt_tokens"], u["completion_tokens"], u["total_tokens"]) == (10, 10, 40)
    assert u["completion_tokens_details"]["reasoning_tokens"] == 20
    assert u["prompt_tokens_details"]["cached_tokens"] == 3
    server.enqueue(ScriptedReply(text="ok", reasoning="hmm", usage=usage))
    _, events = sse_data(client, body(model="grok-3-mini", stream=True, usage=True))
    assert deltas(events)[0] == {"role": "assistant", "reasoning_content": "hmm"}
    assert json.loads(events[-2])["usage"]["total_tokens"] == 40


# -- failures ---------------------------------------------------------------------------------


def test_error_reply(server: FakeLLMServer, client: httpx.Client) -> None:
    server.enqueue(
        ScriptedReply.error(
            400, "bad model", code="model_not_found", headers={"x-request-id": "req_42"}
        )
    )
    r = client.post("/chat/completions", json=body(stream=True))
    assert r.status_code == 400 and r.headers["x-request-id"] == "req_42"
    assert r.headers["content-type"] == "application/json"
    assert r.json() == {
        "error": {
            "message": "bad model",
            "type": "invalid_request_error",
            "param": None,
            "code": "model_not_found",
        }
    }
    server.enqueue(ScriptedReply.error(503, "busy", type="overloaded"))
    r = client.post("/chat/completions", json=body())
    assert r.status_code == 503 and r.json()["error"]["type"] == "overloaded"


def test_rate_limit_with_retry_after(server: FakeLLMServer, client: httpx.Client) -> None:
    server.enqueue(
        ScriptedReply.error(
            429, "slow down", headers={"retry-after": "2", "retry-after-ms": "1500"}
        )
    )
    r = client.post("/chat/completions", json=body())
    assert r.status_code == 429
    assert r.headers["retry-after"] == "2" and r.headers["retry-after-ms"] == "1500"
    assert r.json()["error"] == {
        "message": "slow down",
        "type": "requests",
        "param": None,
        "code": "rate_limit_exceeded",
    }


def test_529_has_a_reason_phrase(server: FakeLLMServer, client: httpx.Client) -> None:
    server.enqueue(ScriptedReply.error(529, "overloaded"))
    r = client.post("/chat/completions", json=body())
    assert r.status_code == 529 and r.reason_phrase == "Site Overloaded"


def test_cut_stream_raises_while_reading(server: FakeLLMServer, client: httpx.Client) -> None:
    server.enqueue(ScriptedReply(text="abcdefghijklmnop", chunk_size=2, cut_after=3))
    received: list[str] = []
    with (
        pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)),
        client.stream("POST", "/chat/completions", json=body(stream=True)) as r,
    ):
        assert r.status_code == 200
        received.extend(line for line in r.iter_lines() if line.startswith("data:"))
    assert len(received) == 3
    assert client.post("/chat/completions", json=body()).status_code == 200, "still serving"


def test_cut_plain_body(server: FakeLLMServer, client: httpx.Client) -> None:
    server.enqueue(ScriptedReply(text="a fairly long answer", cut_after=10))
    with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
        client.post("/chat/completions", json=body())


def test_error_event_mid_stream(server: FakeLLMServer, client: httpx.Client) -> None:
    server.enqueue(
        ScriptedReply(
            text="abcdefgh",
            chunk_size=2,
            error_event_after=3,
            error_message="upstream failed",
            error_code="E1",
        )
    )
    r, data = sse_data(client, body(stream=True))
    assert r.status_code == 200 and len(data) == 4
    assert [d.get("content") for d in deltas(data[:3])] == ["", "ab", "cd"]
    assert json.loads(data[3]) == {
        "error": {"message": "upstream failed", "type": "server_error", "param": None, "code": "E1"}
    }


def test_disconnect_without_response(server: FakeLLMServer, client: httpx.Client) -> None:
    server.enqueue(ScriptedReply(disconnect=True))
    with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
        client.post("/chat/completions", json=body())
    assert len(server.requests) == 1, "the request was still recorded"
    assert client.post("/chat/completions", json=body()).status_code == 200


def test_stall_times_out(server: FakeLLMServer) -> None:
    server.enqueue(ScriptedReply(stall=2.0, text="late"))
    with httpx.Client(timeout=httpx.Timeout(0.3)) as c:
        start = time.monotonic()
        with pytest.raises(httpx.ReadTimeout):
            c.post(server.url + "/v1/chat/completions", json=body())
        assert time.monotonic() - start < 1.5
    with httpx.Client(timeout=TIMEOUT) as c:  # other connections are served meanwhile
        assert c.post(server.url + "/v1/chat/completions", json=body()).status_code == 200


def test_raw_bytes(server: FakeLLMServer, client: httpx.Client) -> None:
    server.enqueue(ScriptedReply.raw(200, {"content-type": "application/json"}, b"{not json"))
    r = client.post("/chat/completions", json=body())
    assert r.content == b"{not json" and r.headers["content-type"] == "application/json"
    assert "x-request-id" not in r.headers, "raw headers are exactly the given ones"
    pieces = [b'data: {"a":', b"1}\n\n", b"data: [DONE]\n\n"]
    server.enqueue(ScriptedReply.raw(201, {"content-type": "text/event-stream"}, pieces))
    r = client.post("/chat/completions", json=body())
    assert r.status_code == 201 and r.content == b"".join(pieces)
    assert r.headers["transfer-encoding"] == "chunked"


def raw_exchange(server: FakeLLMServer, request: bytes) -> bytes:
    """Send raw request bytes on a new socket; everything until the server closes it."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(request)
        received = b""
        while data := sock.recv(65536):
            received += data
    return received


def test_one_http_chunk_per_piece(server: FakeLLMServer) -> None:
    server.enqueue(
        ScriptedReply.raw(
            200, {"content-type": "text/plain"}, [b"abc", b"", b"0123456789abcdefXYZ"]
        )
    )
    out = raw_exchange(
        server, b"POST /x HTTP/1.1\r\nhost: a\r\nconnection: close\r\ncontent-length: 0\r\n\r\n"
    )
    head, _, payload = out.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 OK\r\n") and b"connection: close" in head
    assert payload == b"3\r\nabc\r\n13\r\n0123456789abcdefXYZ\r\n0\r\n\r\n"


def test_malformed_request_gets_400(server: FakeLLMServer) -> None:
    out = raw_exchange(server, b"NONSENSE\r\n\r\n")
    assert out.startswith(b"HTTP/1.1 400 ")


def test_unknown_path_is_404_and_keeps_the_queue(server: FakeLLMServer) -> None:
    server.enqueue(ScriptedReply(text="kept"))
    with httpx.Client(timeout=TIMEOUT) as c:
        r = c.post(server.url + "/nowhere", json={})
        assert r.status_code == 404 and "no wire format" in r.json()["error"]["message"]
        assert c.get(server.url + "/v1/chat/completions").status_code == 404
        assert server.pending == 1
        server.enqueue(ScriptedReply.raw(200, {}, b"raw anywhere"))
        ok = c.post(server.url + "/v1/chat/completions", json=body()).json()
        assert ok["choices"][0]["message"]["content"] == "kept"
        assert c.post(server.url + "/nowhere", content=b"x").content == b"raw anywhere"


def test_custom_wire_renderer(server: FakeLLMServer) -> None:
    def render(reply: ScriptedReply, request: Any, path: str) -> WireResponse:
        return WireResponse(200, {"content-type": "text/plain"}, [reply.content.encode()])

    register_wire(r"^/custom/", render)
    try:
        server.enqueue(ScriptedReply(text="custom!"))
        with httpx.Client(timeout=TIMEOUT) as c:
            assert c.post(server.url + "/custom/go?x=1", json={}).text == "custom!"
    finally:
        unregister_wire(render)
    with httpx.Client(timeout=TIMEOUT) as c:
        assert c.post(server.url + "/custom/go", json={}).status_code == 404


def test_failing_renderer_or_default_gives_500(server: FakeLLMServer, client: httpx.Client) -> None:
    def broken(reply: ScriptedReply, request: Any, path: str) -> WireResponse:
        raise RuntimeError("renderer bug")

    def bad_default(request: RecordedRequest) -> ScriptedReply:
        raise RuntimeError("default bug")

    register_wire(r"^/broken$", broken)
    try:
        r = client.post(server.url + "/broken", json={})
        assert r.status_code == 500 and "renderer bug" in r.json()["error"]["message"]
    finally:
        unregister_wire(broken)
    server.default_reply = bad_default
    r = client.post("/chat/completions", json=body())
    assert r.status_code == 500 and "default bug" in r.json()["error"]["message"]
    assert len(server.requests) == 2


# -- HTTP/1.1 and recording -------------------------------------------------------------------


def _local_port(response: httpx.Response) -> int:
    stream = response.extensions["network_stream"]
    return int(stream.get_extra_info("client_addr")[1])


def test_keep_alive_serves_several_requests_per_connection(client: httpx.Client) -> None:
    ports = set()
    for _ in range(3):
        r = client.post("/chat/completions", json=body())
        assert r.status_code == 200
        ports.add(_local_port(r))
    with client.stream("POST", "/chat/completions", json=body(stream=True)) as r:
        r.read()
        ports.add(_local_port(r))
    assert len(ports) == 1, "one connection for every request"


def test_connection_close_is_honoured(client: httpx.Client) -> None:
    with client.stream(
        "POST", "/chat/completions", json=body(), headers={"connection": "close"}
    ) as first:
        port = _local_port(first)
        first.read()
    assert first.headers["connection"] == "close"
    with client.stream("POST", "/chat/completions", json=body()) as second:
        assert _local_port(second) != port
        second.read()


def test_requests_are_recorded(server: FakeLLMServer, client: httpx.Client) -> None:
    client.post("/chat/completions", json=body("recorded"), headers={"X-Custom": "Yes"})
    client.post("/chat/completions", content=b"not json", headers={"content-type": "text/plain"})

    def gen() -> Iterator[bytes]:  # no length: httpx sends a chunked request body
        yield b'{"model": "m", '
        yield b'"messages": []}'

    client.post("/chat/completions", content=gen())
    reqs = server.requests
    assert [r.method for r in reqs] == ["POST"] * 3
    assert reqs[0].path == "/v1/chat/completions" and reqs[0].headers["x-custom"] == "Yes"
    assert reqs[0].json == body("recorded") and json.loads(reqs[0].body) == body("recorded")
    assert reqs[1].json is None and reqs[1].body == b"not json"
    assert reqs[2].headers["transfer-encoding"] == "chunked"
    assert reqs[2].json == {"model": "m", "messages": []}
    assert server.last_request == reqs[2]
    server.clear()
    assert server.requests == [] and server.pending == 0


def test_enqueue_is_fifo_and_thread_safe(server: FakeLLMServer, client: httpx.Client) -> None:
    threads = [
        threading.Thread(
            target=lambda i=i: server.enqueue(*[ScriptedReply(text=f"t{i}") for _ in range(25)])
        )
        for i in range(4)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert server.pending == 100
    texts = [
        client.post("/chat/completions", json=body()).json()["choices"][0]["message"]["content"]
        for _ in range(100)
    ]
    assert sorted(texts) == sorted(f"t{i}" for i in range(4) for _ in range(25))
    assert server.pending == 0
    with pytest.raises(TypeError):
        server.enqueue("not a reply")  # type: ignore[arg-type]


def test_base_url_and_lifecycle() -> None:
    server = FakeLLMServer()
    with pytest.raises(RuntimeError):
        _ = server.url
    server.start()
    try:
        assert server.url == f"http://127.0.0.1:{server.port}"
        assert server.base_url("openai") == server.url + "/v1"
        assert server.base_url("xai") == server.url + "/v1"
        with pytest.raises(ValueError, match="unknown provider"):
            server.base_url("nope")
        assert server.start() is server
    finally:
        server.stop()
    server.stop()  # idempotent
    with pytest.raises(httpx.ConnectError), httpx.Client(timeout=TIMEOUT) as c:
        c.post(server.url + "/v1/chat/completions", json=body())


def test_stop_drops_stalled_connections() -> None:
    server = FakeLLMServer().start()
    server.enqueue(ScriptedReply(stall=30))
    errors: list[BaseException] = []

    def call() -> None:
        try:
            with httpx.Client(timeout=TIMEOUT) as c:
                c.post(server.base_url("openai") + "/chat/completions", json=body())
        except httpx.HTTPError as exc:
            errors.append(exc)

    t = threading.Thread(target=call)
    t.start()
    deadline = time.monotonic() + 5
    while not server.requests and time.monotonic() < deadline:
        time.sleep(0.01)
    start = time.monotonic()
    server.stop()
    t.join(10)
    assert time.monotonic() - start < 5 and len(errors) == 1


# -- corpus replay ----------------------------------------------------------------------------


def _corpus_params() -> list[Any]:
    files = [p for provider in PROVIDERS for p in corpus_files(provider)]
    if not files:
        return [pytest.param(None, id="corpus-missing")]
    return [pytest.param(p, id=f"{p.parent.name}/{p.stem}") for p in files]


@pytest.mark.parametrize("path", _corpus_params())
def test_replay_corpus_file_byte_exact(server: FakeLLMServer, path: Path | None) -> None:
    if path is None:
        msg = f"corpus not found at {corpus_dir()} (set METALLM_CORPUS)"
        if os.environ.get("CI") == "true":
            pytest.fail(msg)
        pytest.skip(msg)
    entry = load_corpus_entry(path)
    server.replay(path)
    with (
        httpx.Client(timeout=TIMEOUT) as c,
        c.stream(
            entry.method,
            server.url + entry.request_path,
            json=entry.request_body if entry.request_body is not None else {},
        ) as r,
    ):
        pieces = list(r.iter_raw())
    assert r.status_code == entry.status
    assert b"".join(pieces) == entry.body_bytes
    for name in ("content-type", "x-request-id", "request-id"):
        if name in entry.response_headers:
            assert r.headers[name] == entry.response_headers[name]
    if r.headers.get("content-type", "").startswith("text/event-stream"):
        assert r.headers.get("transfer-encoding") == "chunked"
    assert server.pending == 0


def test_split_events_keeps_every_byte() -> None:
    body_ = b"data: a\n\ndata: b\r\n\r\n: c\r\rdata: tail"
    assert split_events(body_) == [b"data: a\n\n", b"data: b\r\n\r\n", b": c\r\r", b"data: tail"]
    assert split_events(b"") == [b""]


# -- concurrency and standalone mode ----------------------------------------------------------


def test_fifty_concurrent_async_streams(server: FakeLLMServer) -> None:
    server.default_reply = ScriptedReply.bench_stream(100, "z")

    async def run() -> list[int]:
        limits = httpx.Limits(max_connections=50)
        async with httpx.AsyncClient(
            base_url=server.base_url("openai"), timeout=TIMEOUT, limits=limits
        ) as ac:

            async def one() -> int:
                count = 0
                async with ac.stream(
                    "POST", "/chat/completions", json=body(stream=True, usage=True)
                ) as r:
                    async for line in r.aiter_lines():
                        if line.startswith('data: {"id"') and '"content":"z"' in line:
                            count += 1
                        elif line == "data: [DONE]":
                            count += 1000
                return count

            return await asyncio.gather(*(one() for _ in range(50)))

    counts = asyncio.run(asyncio.wait_for(run(), 60))
    assert counts == [1100] * 50
    assert len(server.requests) == 50


def test_standalone_process() -> None:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    command = [sys.executable, "-m", "metallm.testing", "--port", "0", "--bench-stream", "20"]
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
            port = int(line[0].split()[1])
            with httpx.Client(base_url=f"http://127.0.0.1:{port}/v1", timeout=TIMEOUT) as c:
                plain = c.post("/chat/completions", json=body()).json()
                assert plain["choices"][0]["message"]["content"] == "Hello from FakeLLMServer!"
                with c.stream("POST", "/chat/completions", json=body(stream=True)) as r:
                    data = [x for x in r.iter_lines() if x.startswith("data: ")]
                assert len(data) == 1 + 20 + 1 + 1  # role, 20 deltas, finish, [DONE]
        finally:
            os.kill(proc.pid, signal.SIGTERM)  # by PID
            try:
                code = proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)
                raise
        assert code == 0, proc.stderr.read()


def test_tool_call_arguments_may_be_a_dict_and_anything_else_fails_at_once() -> None:
    call = ScriptedToolCall(name="get_weather", arguments={"city": "Paris"})
    assert call.arguments == '{"city": "Paris"}'
    with pytest.raises(TypeError, match="JSON text or a dict"):
        ScriptedToolCall(name="f", arguments=["Paris"])  # type: ignore[arg-type]


def test_scripts_are_checked_when_enqueued() -> None:
    with FakeLLMServer() as server:
        with pytest.raises(TypeError, match="tool_calls must be a list of ScriptedToolCall"):
            server.enqueue(ScriptedReply(tool_calls=[{"name": "f"}]))  # type: ignore[list-item]
        with pytest.raises(TypeError, match="not a ScriptedUsage"):
            server.enqueue(ScriptedReply(usage={"prompt_tokens": 1}))  # type: ignore[arg-type]
        assert server.pending == 0


def test_a_dict_of_arguments_reaches_the_client_as_json(server: FakeLLMServer) -> None:
    server.enqueue(ScriptedReply(tool_calls=[ScriptedToolCall("f", {"city": "Paris"})]))
    with metallm.Client(
        provider="openai", api_key="k", base_url=server.base_url("openai"), hooks=[]
    ) as client:
        resp = client.create_chat_completion(model="m", messages=[{"role": "user", "content": "x"}])
    (call,) = resp.choices[0].message.tool_calls or []
    assert json.loads(call.function.arguments) == {"city": "Paris"}


def test_only_the_last_max_recorded_requests_are_kept() -> None:
    with FakeLLMServer(max_recorded=3) as server, httpx.Client() as http:
        for i in range(5):
            http.post(server.url + "/v1/chat/completions", json={"model": f"m{i}", "messages": []})
        assert [r.json["model"] for r in server.requests] == ["m2", "m3", "m4"]
    with pytest.raises(ValueError, match="max_recorded"):
        FakeLLMServer(max_recorded=0)

"""Library overhead without a network: raw httpx vs metallm over ``httpx.MockTransport``.

``.venv/bin/python benchmarks/offline_ab.py [--rounds N]`` answers every request in-process
with the exact bytes the fake server sends (rendered by ``metallm.testing``'s OpenAI wire
format; a stream arrives one event per read, as from a real server), so no socket, server
process or scheduler noise is involved. It prints the median CPU time per call and per chunk of
raw httpx, a second raw httpx client (the noise floor: it should read +0), metallm, and
metallm + OTel SDK (``OTelHook`` on real SDK providers, ``telemetry.py``), in interleaved
rounds. On a busy two-core machine this resolves differences of a few microseconds that
``run.py``'s wall-clock figures (server in another process) cannot; it does not replace them
(no socket, no HTTP/1.1 parsing). Not run by ``make bench``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

import httpx
from sessions import API_KEY, MESSAGES, MODEL, STREAM_OPTIONS
from timing import median, quiet, rotated

__all__ = ["main"]

_URL = "http://bench.invalid/v1"


def _handler(chunks: int) -> Callable[[httpx.Request], httpx.Response]:
    from metallm.testing.script import ScriptedReply
    from metallm.testing.wire_openai import render_openai

    request = {"model": MODEL, "messages": MESSAGES}
    plain = render_openai(ScriptedReply(text="Hello from FakeLLMServer!"), request, "")
    streamed = render_openai(
        ScriptedReply.bench_stream(chunks),
        {**request, "stream": True, "stream_options": STREAM_OPTIONS},
        "",
    )
    body = b"".join(plain.pieces)

    def handle(req: httpx.Request) -> httpx.Response:
        if b'"stream":true' in req.content.replace(b" ", b""):
            return httpx.Response(200, headers=streamed.headers, content=iter(streamed.pieces))
        return httpx.Response(200, headers=plain.headers, content=body)

    return handle


def _contenders(chunks: int) -> dict[str, tuple[Callable[[], Any], Callable[[], Any]]]:
    import metallm

    handler = _handler(chunks)
    plain = {"model": MODEL, "messages": MESSAGES}
    streamed = {**plain, "stream": True, "stream_options": STREAM_OPTIONS}

    def raw(client: httpx.Client) -> tuple[Callable[[], Any], Callable[[], Any]]:
        url = _URL + "/chat/completions"

        def call() -> None:
            json.loads(client.post(url, json=plain).content)

        def stream() -> None:
            with client.stream("POST", url, json=streamed) as response:
                for line in response.iter_lines():
                    if line.startswith("data: ") and line != "data: [DONE]":
                        json.loads(line[6:])

        return call, stream

    def ml(**client_kwargs: Any) -> tuple[Callable[[], Any], Callable[[], Any]]:
        client = metallm.Client(provider="openai", base_url=_URL, api_key=API_KEY,
                                http_client=httpx.Client(transport=httpx.MockTransport(handler)),
                                **client_kwargs)

        def call() -> None:
            client.create_chat_completion(model=MODEL, messages=MESSAGES)

        def stream() -> None:
            with client.create_chat_completion_stream(model=MODEL, messages=MESSAGES) as chunks_:
                for _ in chunks_:
                    pass

        return call, stream

    from telemetry import METALLM_OTEL, metallm_otel_hook

    return {
        "raw httpx": raw(httpx.Client(transport=httpx.MockTransport(handler))),
        "raw httpx (again)": raw(httpx.Client(transport=httpx.MockTransport(handler))),
        "metallm": ml(),
        METALLM_OTEL: ml(hooks=[metallm_otel_hook()]),
    }


def _cpu(work: Callable[[], Any], repeat: int) -> float:
    quiet()
    start = time.process_time()
    for _ in range(repeat):
        work()
    return time.process_time() - start


def main(argv: Sequence[str] | None = None) -> int:
    """Measure and print the network-free overhead per call and per chunk."""
    parser = argparse.ArgumentParser(prog="benchmarks/offline_ab.py")
    parser.add_argument("--rounds", type=int, default=12)
    parser.add_argument("--calls", type=int, default=1000, help="calls per round")
    parser.add_argument("--chunks", type=int, default=5000, help="chunks per stream")
    args = parser.parse_args(argv)
    contenders = _contenders(args.chunks)
    names = list(contenders)
    for call, stream in contenders.values():  # warm-up
        _cpu(call, 100)
        stream()
    per_call: dict[str, list[float]] = {name: [] for name in names}
    per_chunk: dict[str, list[float]] = {name: [] for name in names}
    for round_index in range(args.rounds):
        for name in rotated(names, round_index):
            call, stream = contenders[name]
            per_call[name].append(_cpu(call, args.calls) / args.calls * 1e6)
            per_chunk[name].append(_cpu(stream, 1) / args.chunks * 1e6)
    base_call, base_chunk = median(per_call[names[0]]), median(per_chunk[names[0]])
    print(f"CPU time, median of {args.rounds} interleaved rounds, httpx.MockTransport")
    print(f"{'contender':24} {'us/call':>9} {'overhead':>9} {'us/chunk':>9} {'overhead':>9}")
    for name in names:
        call_us, chunk_us = median(per_call[name]), median(per_chunk[name])
        print(f"{name:24} {call_us:9.1f} {call_us - base_call:+9.1f} "
              f"{chunk_us:9.2f} {chunk_us - base_chunk:+9.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The Responses API stream decoder's cost per chunk against Chat Completions', in one run.

``.venv/bin/python benchmarks/responses_bench.py [--chunks N] [--rounds R]``. The issue's
target: decoding a Responses API stream costs no more per chunk than decoding a Chat
Completions stream. Both bodies are the exact bytes ``FakeLLMServer`` sends for the same
``ScriptedReply.bench_stream(N)`` (``wire_openai`` and ``wire_responses``: ``N`` text deltas,
then the usage), fed to a fresh decoder one event per ``feed``, as a server's reads arrive.
CPU time only (``time.process_time``), no socket, so machine noise is small; each figure is
the median of interleaved rounds, the two decoders alternating which goes first. Two rows:

- ``decoder``: ``codec.stream_decoder(request)``, ``feed`` every event, ``close``;
- ``client``: a whole ``client.create_chat_completion_stream`` read to the end over an
  in-process ``httpx.MockTransport`` (transport, decoder, accumulator, the default hooks), so
  the decoder's share is seen in what a user pays per chunk.

It prints microseconds per chunk for each API and their ratio (Responses / Chat Completions).
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from typing import Any

import httpx

import metallm
from metallm.provider import get_spec
from metallm.testing.script import ScriptedReply
from metallm.testing.wire_openai import render_openai
from metallm.testing.wire_responses import render_responses

MODEL = "gpt-4o"
MESSAGES = [{"role": "user", "content": "Say hello."}]
URL = "http://bench.invalid/v1"
APIS = ("chat_completions", "responses")


def _pieces(api: str, chunks: int) -> tuple[dict[str, str], list[bytes]]:
    """The headers and body events the fake server sends for a stream of ``chunks`` deltas."""
    reply = ScriptedReply.bench_stream(chunks)
    if api == "responses":
        rendered = render_responses(reply, {"model": MODEL, "input": MESSAGES, "stream": True}, "")
    else:
        request = {
            "model": MODEL,
            "messages": MESSAGES,
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        rendered = render_openai(reply, request, "")
    return rendered.headers, rendered.pieces


def _decoder_run(api: str, pieces: list[bytes]) -> Callable[[], int]:
    codec: Any = get_spec("openai").create("sk-bench", URL, {"api": api})
    request = metallm.ChatCompletionRequest(model=MODEL, messages=MESSAGES)

    def run() -> int:
        decoder = codec.stream_decoder(request)
        n = 0
        for piece in pieces:
            n += len(decoder.feed(piece))
        return n + len(decoder.close())

    return run


def _client_run(api: str, headers: dict[str, str], pieces: list[bytes]) -> Callable[[], int]:
    def handle(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers=headers, content=iter(pieces))

    client = metallm.Client(
        provider="openai",
        base_url=URL,
        api_key="sk-bench",
        extra={"api": api},
        http_client=httpx.Client(transport=httpx.MockTransport(handle)),
    )

    def run() -> int:
        with client.create_chat_completion_stream(model=MODEL, messages=MESSAGES) as stream:
            return sum(1 for _ in stream)

    return run


def _cpu_per_chunk(run: Callable[[], int], chunks: int) -> float:
    start = time.process_time()
    run()
    return (time.process_time() - start) / chunks * 1e6


def measure(chunks: int, rounds: int) -> dict[str, dict[str, float]]:
    """``{row: {api: median us per chunk}}`` for the decoder and client rows."""
    runs: dict[str, dict[str, Callable[[], int]]] = {"decoder": {}, "client": {}}
    for api in APIS:
        headers, pieces = _pieces(api, chunks)
        runs["decoder"][api] = _decoder_run(api, pieces)
        runs["client"][api] = _client_run(api, headers, pieces)
        for run in (runs["decoder"][api], runs["client"][api]):
            assert run() >= chunks, f"{api}: the stream decoded fewer chunks than it carries"
    figures: dict[str, dict[str, list[float]]] = {row: {api: [] for api in APIS} for row in runs}
    for index in range(rounds):
        order = APIS if index % 2 == 0 else APIS[::-1]
        for row, by_api in runs.items():
            for api in order:
                figures[row][api].append(_cpu_per_chunk(by_api[api], chunks))
    return {
        row: {api: statistics.median(values) for api, values in by_api.items()}
        for row, by_api in figures.items()
    }


def main(argv: list[str] | None = None) -> int:
    """Measure and print both APIs' cost per chunk, and their ratio."""
    parser = argparse.ArgumentParser(prog="benchmarks/responses_bench.py")
    parser.add_argument("--chunks", type=int, default=5000, help="text deltas per stream")
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args(argv)
    result = measure(args.chunks, args.rounds)
    print(f"CPU us per chunk, median of {args.rounds} interleaved rounds, {args.chunks} chunks")
    print(f"{'row':10} {'chat_completions':>17} {'responses':>10} {'ratio':>7}")
    for row, by_api in result.items():
        chat, responses = by_api["chat_completions"], by_api["responses"]
        print(f"{row:10} {chat:17.2f} {responses:10.2f} {responses / chat:7.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Library overhead per wire format, without a network: raw httpx vs metallm per provider.

``.venv/bin/python benchmarks/offline_wires.py [--rounds N] [--provider NAME ...]`` is
``offline_ab.py`` for every chat wire format the fake server speaks that has a streaming
codec of its own: OpenAI (``data:`` SSE), Anthropic (named SSE events, one
``content_block_delta`` per chunk), Gemini (``streamGenerateContent?alt=sse``, one
``GenerateContentResponse`` per chunk) and Ollama (NDJSON, one line per chunk). Each provider's
replies are rendered once by ``metallm.testing``'s own renderer for that wire (the bytes the
fake server sends) and served in-process by ``httpx.MockTransport``, a stream one event per
read. For each provider, raw httpx (``httpx`` + ``json.loads`` of every event, the floor) and
a default metallm ``Client`` run in interleaved rounds; the figures are median CPU times.

The last column divides each provider's metallm per-chunk overhead by OpenAI's: the issue 14
target is that no wire format costs more than 1.5x OpenAI's per chunk. Why a sibling and not
more rows in ``offline_ab.py``: that script's rows (OTel SDK included) are the ones the
README's history quotes, and its figures stay comparable run to run this way.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import httpx
from sessions import API_KEY, MESSAGES
from timing import median, quiet, rotated

__all__ = ["WIRES", "Wire", "main", "measure"]

_ROOT = "http://bench.invalid"
_TEXT = "Hello from FakeLLMServer!"


def _sse_events(response: httpx.Response) -> Iterator[Any]:
    """``data:`` payloads of an SSE body, parsed (``event:`` lines and ``[DONE]`` skipped)."""
    for line in response.iter_lines():
        if line.startswith("data: ") and line != "data: [DONE]":
            yield json.loads(line[6:])


def _ndjson_events(response: httpx.Response) -> Iterator[Any]:
    for line in response.iter_lines():
        if line:
            yield json.loads(line)


@dataclass(frozen=True)
class Wire:
    """One provider's wire: where metallm points, what raw httpx sends and how it reads it."""

    provider: str
    model: str
    base_url: str
    call_path: str
    stream_path: str
    call_body: dict[str, Any]
    stream_body: dict[str, Any]
    headers: dict[str, str]
    events: Callable[[httpx.Response], Iterator[Any]]
    renderer: str  # "module:function" in metallm.testing

    def render(self, chunks: int) -> Callable[[httpx.Request], httpx.Response]:
        """A MockTransport handler answering this wire's two requests with pre-rendered bytes."""
        import importlib

        from metallm.testing.script import ScriptedReply

        module, _, name = self.renderer.partition(":")
        render = getattr(importlib.import_module(f"metallm.testing.{module}"), name)
        cache: dict[tuple[str, bytes], tuple[int, dict[str, str], list[bytes], bool]] = {}

        def handle(request: httpx.Request) -> httpx.Response:
            key = (str(request.url.raw_path, "ascii"), request.content)
            if key not in cache:  # rendered once per distinct request, never timed
                body = json.loads(request.content)
                path = key[0].split("?", 1)[0]
                streaming = path == self.stream_path.split("?", 1)[0] and (
                    body.get("stream") is not False
                    if self.provider == "ollama"
                    else ("stream" in body or ":stream" in path)
                )
                reply = ScriptedReply.bench_stream(chunks) if streaming else ScriptedReply(
                    text=_TEXT
                )
                wire = render(reply, body, path)
                cache[key] = (wire.status, dict(wire.headers), list(wire.pieces), wire.stream)
            status, headers, pieces, stream = cache[key]
            if stream:
                return httpx.Response(status, headers=headers, content=iter(pieces))
            return httpx.Response(status, headers=headers, content=b"".join(pieces))

        return handle


def _claude(stream: bool) -> dict[str, Any]:
    body: dict[str, Any] = {"model": "claude-sonnet-4-5", "max_tokens": 1024,
                            "messages": MESSAGES}
    return {**body, "stream": True} if stream else body


_GEMINI_BODY = {"contents": [{"role": "user", "parts": [{"text": MESSAGES[0]["content"]}]}]}

WIRES: dict[str, Wire] = {
    "openai": Wire(
        "openai", "gpt-4o", _ROOT + "/v1", "/v1/chat/completions", "/v1/chat/completions",
        {"model": "gpt-4o", "messages": MESSAGES},
        {"model": "gpt-4o", "messages": MESSAGES, "stream": True,
         "stream_options": {"include_usage": True}},
        {"authorization": f"Bearer {API_KEY}"}, _sse_events, "wire_openai:render_openai",
    ),
    "anthropic": Wire(
        "anthropic", "claude-sonnet-4-5", _ROOT, "/v1/messages", "/v1/messages",
        _claude(False), _claude(True),
        {"x-api-key": API_KEY, "anthropic-version": "2023-06-01"}, _sse_events,
        "wire_anthropic:render_anthropic",
    ),
    "gemini": Wire(
        "gemini", "gemini-2.0-flash", _ROOT,
        "/v1beta/models/gemini-2.0-flash:generateContent",
        "/v1beta/models/gemini-2.0-flash:streamGenerateContent?alt=sse",
        _GEMINI_BODY, _GEMINI_BODY, {"x-goog-api-key": API_KEY}, _sse_events,
        "wire_gemini:render_gemini",
    ),
    "ollama": Wire(
        "ollama", "llama3.2", _ROOT, "/api/chat", "/api/chat",
        {"model": "llama3.2", "messages": MESSAGES, "stream": False},
        {"model": "llama3.2", "messages": MESSAGES}, {}, _ndjson_events,
        "wire_ollama:render_ollama",
    ),
}


Work = Callable[[], Any]


def _pair(wire: Wire, chunks: int) -> dict[str, tuple[Work, Work]]:
    """Raw httpx and metallm, each as (one call, one stream), over one handler."""
    import metallm

    handle = wire.render(chunks)

    def transport() -> httpx.MockTransport:
        return httpx.MockTransport(handle)

    raw_client = httpx.Client(transport=transport(), headers=wire.headers)

    def raw_call() -> None:
        json.loads(raw_client.post(_ROOT + wire.call_path, json=wire.call_body).content)

    def raw_stream() -> None:
        with raw_client.stream("POST", _ROOT + wire.stream_path, json=wire.stream_body) as r:
            for _ in wire.events(r):
                pass

    client = metallm.Client(provider=wire.provider, base_url=wire.base_url, api_key=API_KEY,
                            http_client=httpx.Client(transport=transport()))

    def ml_call() -> None:
        client.create_chat_completion(model=wire.model, messages=MESSAGES)

    def ml_stream() -> None:
        with client.create_chat_completion_stream(model=wire.model, messages=MESSAGES) as s:
            for _ in s:
                pass

    return {"raw httpx": (raw_call, raw_stream), "metallm": (ml_call, ml_stream)}


def _cpu(work: Work, repeat: int) -> float:
    quiet()
    start = time.process_time()
    for _ in range(repeat):
        work()
    return time.process_time() - start


def measure(providers: Sequence[str], rounds: int, calls: int,
            chunks: int) -> dict[str, dict[str, tuple[float, float]]]:
    """``{provider: {contender: (us per call, us per chunk)}}``, medians of ``rounds``."""
    runs = {(p, name): pair for p in providers for name, pair in _pair(WIRES[p], chunks).items()}
    keys = list(runs)
    for call, stream in runs.values():  # warm-up (also renders every reply once)
        _cpu(call, 50)
        stream()
    per_call: dict[tuple[str, str], list[float]] = {k: [] for k in keys}
    per_chunk: dict[tuple[str, str], list[float]] = {k: [] for k in keys}
    for round_index in range(rounds):
        for key in rotated(keys, round_index):
            call, stream = runs[key]
            per_call[key].append(_cpu(call, calls) / calls * 1e6)
            per_chunk[key].append(_cpu(stream, 1) / chunks * 1e6)
    out: dict[str, dict[str, tuple[float, float]]] = {}
    for provider, name in keys:
        out.setdefault(provider, {})[name] = (
            median(per_call[(provider, name)]), median(per_chunk[(provider, name)])
        )
    return out


def render(figures: dict[str, dict[str, tuple[float, float]]], rounds: int) -> str:
    """The table: per provider, the floor, metallm, the overheads and the ratio to OpenAI."""
    lines = [f"CPU time, median of {rounds} interleaved rounds, httpx.MockTransport",
             f"{'wire':10} {'raw us/call':>11} {'metallm':>9} {'overhead':>9} "
             f"{'raw us/chunk':>12} {'metallm':>8} {'overhead':>9} {'x openai':>9}"]
    base = None
    if "openai" in figures:
        base = figures["openai"]["metallm"][1] - figures["openai"]["raw httpx"][1]
    for provider, rows in figures.items():
        (raw_call, raw_chunk), (ml_call, ml_chunk) = rows["raw httpx"], rows["metallm"]
        over = ml_chunk - raw_chunk
        vs = f"{over / base:8.2f}x" if base and base > 0 else f"{'-':>9}"
        lines.append(f"{provider:10} {raw_call:11.1f} {ml_call:9.1f} {ml_call - raw_call:+9.1f} "
                     f"{raw_chunk:12.2f} {ml_chunk:8.2f} {over:+9.2f} {vs}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Measure and print the network-free overhead per call and per chunk for each wire."""
    parser = argparse.ArgumentParser(prog="benchmarks/offline_wires.py")
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--calls", type=int, default=500, help="calls per round")
    parser.add_argument("--chunks", type=int, default=2000, help="chunks per stream")
    parser.add_argument("--provider", action="append", choices=list(WIRES),
                        help="only this wire (repeatable; default: all)")
    args = parser.parse_args(argv)
    figures = measure(args.provider or list(WIRES), args.rounds, args.calls, args.chunks)
    print(render(figures, args.rounds))
    return 0


if __name__ == "__main__":
    sys.exit(main())

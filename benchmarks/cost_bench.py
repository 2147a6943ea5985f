"""What pricing adds to a call: ``.venv/bin/python benchmarks/cost_bench.py [--calls N]``.

Three figures, each the median of interleaved rounds so machine noise hits both sides alike:

- ``first cost``: a fresh interpreter's first ``cost_of`` (importing genai-prices' data and
  resolving one model), which ``import metallm`` never pays;
- ``cost_of``: one cached cost computation for a known model (``gpt-4o``, cached input);
- ``call``: a whole non-stream call over an in-process ``httpx.MockTransport`` (no socket), with
  pricing and with ``Call.price`` stubbed out, and the difference: what pricing adds per call.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from typing import Any

import httpx

import metallm
from metallm import _call, pricing
from metallm.testing.script import ScriptedReply, ScriptedUsage
from metallm.testing.wire_openai import render_openai

MODEL = "gpt-4o"
MESSAGES = [{"role": "user", "content": "Hello"}]
FIRST = (
    "import time, metallm; from metallm.types import Usage; t = time.perf_counter();"
    "metallm.pricing.cost_of('openai', 'gpt-4o', Usage(prompt_tokens=10, completion_tokens=5));"
    "print((time.perf_counter() - t) * 1e3)"
)


def _median(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[len(ordered) // 2]


def _client() -> metallm.Client:
    usage = ScriptedUsage(1200, 300, cached_tokens=1000)
    wire = render_openai(ScriptedReply(text="Hello!", usage=usage), {"model": MODEL}, "")
    data = b"".join(wire.pieces)

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=data, headers=wire.headers)

    http = httpx.Client(transport=httpx.MockTransport(handler))
    return metallm.Client(
        provider="openai", api_key="sk-bench", base_url="http://bench.invalid/v1",
        http_client=http, hooks=[],
    )  # fmt: skip


def _per_call(client: metallm.Client, calls: int) -> float:
    start = time.process_time()  # CPU time: less sensitive to other processes than wall time
    for _ in range(calls):
        client.create_chat_completion(model=MODEL, messages=MESSAGES)
    return (time.process_time() - start) / calls * 1e6


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args(argv)
    first = [
        float(subprocess.run([sys.executable, "-c", FIRST], capture_output=True, text=True,
                             check=True).stdout)
        for _ in range(3)
    ]  # fmt: skip
    usage = metallm.Usage(prompt_tokens=1200, completion_tokens=300, cached_tokens=1000)
    pricer = pricing.Pricer("openai")
    assert pricer.cost(MODEL, MODEL, usage) is not None
    client = _client()
    assert client.create_chat_completion(model=MODEL, messages=MESSAGES).cost is not None
    real = _call.Call.price
    stub: Any = lambda self, response: None  # noqa: E731
    cost_us, with_us, without_us = [], [], []
    for round_ in range(args.rounds):
        start = time.process_time()
        for _ in range(args.calls):
            pricer.cost(MODEL, MODEL, usage)
        cost_us.append((time.process_time() - start) / args.calls * 1e6)
        for priced in (True, False) if round_ % 2 else (False, True):  # alternate the order
            _call.Call.price = real if priced else stub  # type: ignore[method-assign]
            try:
                (with_us if priced else without_us).append(_per_call(client, args.calls))
            finally:
                _call.Call.price = real  # type: ignore[method-assign]
    diffs = [w - o for w, o in zip(with_us, without_us, strict=True)]
    print(f"first cost (fresh process): {_median(first):.1f} ms")
    print(f"cost_of, cached, known model: {_median(cost_us):.2f} us")
    print(f"call with pricing: {_median(with_us):.1f} us, without: {_median(without_us):.1f} us")
    print(f"pricing adds per call: {_median(diffs):.2f} us (median of {args.rounds} rounds)")


if __name__ == "__main__":
    main()

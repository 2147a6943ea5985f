"""What ``run_tools`` adds per step: ``.venv/bin/python benchmarks/tool_loop_bench.py [--runs N]``.

The issue's target: the loop adds at most 50 us per step beyond the model calls and the tools'
own time. Both sides make the same two model calls over ``httpx.MockTransport`` (the bytes the
fake server's OpenAI wire sends: a tool call, then the answer), so no socket is involved:

- ``loop``: ``client.run_tools(..., tools=[get_weather])`` (the tool runs inline and returns a
  constant, so its own time is next to nothing);
- ``by hand``: the same two ``create_chat_completion`` calls with the tool result appended by
  hand, as a user writes the loop without metallm.

``(loop - by hand) / 2`` is what the loop itself adds per step (argument validation, tool
execution bookkeeping, the transcript). Best of interleaved rounds, CPU time.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import httpx

import metallm
from metallm.testing.script import ScriptedReply, ScriptedToolCall
from metallm.testing.wire_openai import render_openai

MODEL = "gpt-4o-mini"
MESSAGES = [{"role": "user", "content": "Weather in Paris?"}]
WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    },
}


@metallm.tool
def get_weather(city: str) -> str:
    """Current weather for a city."""
    return "21C"


def _client() -> metallm.Client:
    request = {"model": MODEL, "messages": MESSAGES}
    call = ScriptedToolCall(name="get_weather", arguments={"city": "Paris"}, id="call_1")
    bodies = [
        b"".join(render_openai(ScriptedReply(tool_calls=[call]), request, "").pieces),
        b"".join(render_openai(ScriptedReply(text="Sunny."), request, "").pieces),
    ]
    sent = [0]

    def handler(_: httpx.Request) -> httpx.Response:
        body = bodies[sent[0] % 2]
        sent[0] += 1
        return httpx.Response(200, headers={"content-type": "application/json"}, content=body)

    return metallm.Client(
        provider="openai",
        api_key="sk-bench-0123456789",
        base_url="http://bench.invalid/v1",
        http_client=httpx.Client(transport=httpx.MockTransport(handler)),
        hooks=[],
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1000, help="loops per round (default 1000)")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    client = _client()

    def loop() -> None:
        client.run_tools(model=MODEL, messages=MESSAGES, tools=[get_weather])

    def by_hand() -> None:
        first = client.create_chat_completion(model=MODEL, messages=MESSAGES, tools=[WEATHER])
        result = {"role": "tool", "tool_call_id": "call_1", "content": "21C"}
        history = [*MESSAGES, first.choices[0].message, result]
        client.create_chat_completion(model=MODEL, messages=history, tools=[WEATHER])

    sides: dict[str, Callable[[], None]] = {"loop": loop, "by hand": by_hand}
    best = {name: float("inf") for name in sides}
    for fn in sides.values():
        for _ in range(max(1, args.runs // 10)):
            fn()  # warm: schemas, validators, the price lookup
    for _ in range(args.rounds):
        for name, fn in sides.items():
            start = time.process_time()
            for _ in range(args.runs):
                fn()
            best[name] = min(best[name], (time.process_time() - start) / args.runs * 1e6)
    for name, us in best.items():
        print(f"{name:10} {us:8.1f} us per two-step run")
    print(f"loop adds  {(best['loop'] - best['by hand']) / 2:8.1f} us per step (target: 50)")
    client.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

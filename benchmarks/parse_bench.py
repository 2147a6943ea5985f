"""What ``parse`` adds to a call: ``.venv/bin/python benchmarks/parse_bench.py [--calls N]``.

The issue's target: ``parse`` costs at most pydantic's own validation of the reply plus 20 us
per call. Three figures, each the best of interleaved rounds (noise hits every side alike), over
a scripted in-process provider (no socket, so only metallm's own work is timed):

- ``call``: a plain ``create_chat_completion`` whose reply is the JSON text;
- ``parse``: ``client.parse(Weather, ...)`` of the same reply (schema cached after the first);
- ``validation``: pydantic's ``TypeAdapter.validate_json`` of that text alone;

and ``parse - call - validation``, what the structured-output layer itself adds.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

from pydantic import BaseModel, TypeAdapter

import metallm
from metallm.testing.fake_provider import FakeProvider

TEXT = '{"city": "Paris", "celsius": 18.5}'
MESSAGES = [{"role": "user", "content": "Weather in Paris?"}]


class Weather(BaseModel):
    city: str
    celsius: float


def _per_call(fn: Callable[[], object], calls: int, provider: FakeProvider | None) -> float:
    if provider is not None:
        provider.add(*[TEXT] * calls)
    start = time.perf_counter()
    for _ in range(calls):
        fn()
    return (time.perf_counter() - start) / calls * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    provider = FakeProvider()
    client = metallm.Client(custom_provider=provider, hooks=[])
    adapter = TypeAdapter(Weather)
    figures: dict[str, list[float]] = {"call": [], "parse": [], "validation": []}
    for _ in range(args.rounds):
        figures["call"].append(
            _per_call(
                lambda: client.create_chat_completion(model="m", messages=MESSAGES),
                args.calls,
                provider,
            )
        )
        figures["parse"].append(
            _per_call(
                lambda: client.parse(Weather, model="m", messages=MESSAGES), args.calls, provider
            )
        )
        figures["validation"].append(
            _per_call(lambda: adapter.validate_json(TEXT), args.calls, None)
        )
    best = {name: min(values) for name, values in figures.items()}
    for name, value in best.items():
        print(f"{name:<28}{value:8.1f} us")
    added = best["parse"] - best["call"] - best["validation"]
    print(f"{'parse - call - validation':<28}{added:8.1f} us  (target: <= 20 us)")
    client.close()


if __name__ == "__main__":
    main()

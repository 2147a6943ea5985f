"""What recording costs, and that not recording costs nothing: CPU per call and per chunk.

``.venv/bin/python benchmarks/recorder_bench.py [--rounds N]`` runs, over ``httpx.MockTransport``
(no sockets, no hooks: library CPU only) and in interleaved rounds, the same client calls

- ``plain``: a client without a recorder, no ``with Recorder`` block open anywhere (the
  transport's plain methods, exactly the code of a metallm without recording);
- ``plain, block open elsewhere``: the same client while another thread holds a
  ``with Recorder(...)`` block open (the plain classes then route through the tap check,
  which finds no recorder in this context and sends as usual);
- ``recording``: a client with ``recorder=Recorder(tmp)``, writing one file per exchange
  (masking, JSON, an atomic file write; a stream's file is written when it ends).

It prints the median CPU time per call and per chunk of each. Not run by ``make bench``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

import httpx
from offline_ab import _URL, _handler
from sessions import API_KEY, MESSAGES, MODEL

__all__ = ["main"]


def _calls(client: Any) -> tuple[Callable[[], Any], Callable[[], Any]]:
    def call() -> None:
        client.create_chat_completion(model=MODEL, messages=MESSAGES)

    def stream() -> None:
        with client.create_chat_completion_stream(model=MODEL, messages=MESSAGES) as chunks:
            for _ in chunks:
                pass

    return call, stream


def _cpu(work: Callable[[], Any], repeat: int) -> float:
    start = time.process_time()
    for _ in range(repeat):
        work()
    return (time.process_time() - start) / repeat * 1e6


class _BlockElsewhere:
    """A ``with Recorder(...)`` block held open by another thread while the body runs."""

    def __init__(self, folder: str) -> None:
        self._folder = folder
        self._opened, self._close = threading.Event(), threading.Event()
        self._thread = threading.Thread(target=self._hold, daemon=True)

    def _hold(self) -> None:
        from metallm.testing import Recorder

        with Recorder(self._folder):
            self._opened.set()
            self._close.wait()

    def __enter__(self) -> None:
        self._thread.start()
        self._opened.wait()

    def __exit__(self, *exc: object) -> None:
        self._close.set()
        self._thread.join()


def main(argv: Sequence[str] | None = None) -> int:
    """Measure and print the three contenders."""
    import metallm
    from metallm.testing import Recorder

    parser = argparse.ArgumentParser(prog="benchmarks/recorder_bench.py")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--calls", type=int, default=400, help="calls per round")
    parser.add_argument("--chunks", type=int, default=2000, help="chunks per stream")
    args = parser.parse_args(argv)
    handler = _handler(args.chunks)
    folder = tempfile.mkdtemp(prefix="metallm-recorder-bench-")

    def client(**kwargs: Any) -> Any:
        transport = httpx.MockTransport(handler)
        return metallm.Client(
            provider="openai",
            base_url=_URL,
            api_key=API_KEY,
            hooks=[],
            http_client=httpx.Client(transport=transport),
            **kwargs,
        )

    plain, recording = _calls(client()), _calls(client(recorder=Recorder(folder)))
    rows: dict[str, tuple[list[float], list[float]]] = {
        "plain": ([], []),
        "plain, block open elsewhere": ([], []),
        "recording": ([], []),
    }
    for call, stream in (plain, recording):  # warm-up
        _cpu(call, 20)
        stream()
    for _ in range(args.rounds):
        for name, (call, stream) in (("plain", plain), ("recording", recording)):
            rows[name][0].append(_cpu(call, args.calls))
            rows[name][1].append(_cpu(stream, 1) / args.chunks)
        with _BlockElsewhere(folder + "/elsewhere"):
            rows["plain, block open elsewhere"][0].append(_cpu(plain[0], args.calls))
            rows["plain, block open elsewhere"][1].append(_cpu(plain[1], 1) / args.chunks)
    print(
        f"CPU time, median of {args.rounds} rounds, httpx.MockTransport, no hooks, "
        f"{args.chunks}-chunk stream"
    )
    print(f"{'contender':30} {'us/call':>9} {'us/chunk':>9}")
    for name, (calls, chunks) in rows.items():
        print(f"{name:30} {statistics.median(calls):9.1f} {statistics.median(chunks):9.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

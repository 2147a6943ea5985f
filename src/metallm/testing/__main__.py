"""Standalone FakeLLMServer: ``python -m metallm.testing --port 0``.

Runs the server in its own process, for demos, manual ``curl`` sessions and benchmarks (which
must not let the server steal the measured client's CPU or GIL). It prints one line,
``READY <port>``, on stdout once it accepts connections, then serves until SIGTERM or SIGINT.
``--bench-stream N`` makes the default reply a pre-rendered stream of N content chunks for
stream requests (and a short fixed text for the others). ``--replay DIR`` (repeatable) serves
a folder of recordings (:class:`~metallm.testing.Recorder` or corpus files), each to the
request that matches it, so code in any language can be tested against recorded traffic.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

from metallm.testing.fake_server import DefaultReply, FakeLLMServer, RecordedRequest
from metallm.testing.script import ScriptedReply

__all__ = ["main"]


def _bench_default(n_chunks: int, text: str) -> DefaultReply:
    if n_chunks <= 0:
        return None
    stream = ScriptedReply.bench_stream(n_chunks, text)
    fixed = ScriptedReply(text="Hello from FakeLLMServer!")

    def choose(request: RecordedRequest) -> ScriptedReply:
        return stream if request.stream else fixed

    return choose


def main(argv: Sequence[str] | None = None) -> int:
    """Parse arguments, serve until a termination signal, return the exit status."""
    parser = argparse.ArgumentParser(
        prog="python -m metallm.testing",
        description="Serve FakeLLMServer on 127.0.0.1 until SIGTERM/SIGINT.",
    )
    parser.add_argument("--port", type=int, default=0, help="TCP port (0: any free port)")
    parser.add_argument(
        "--bench-stream",
        type=int,
        default=0,
        metavar="N",
        help="answer stream requests with N content chunks by default",
    )
    parser.add_argument(
        "--bench-text",
        default="tok ",
        metavar="TEXT",
        help="the content of each bench chunk (default: 'tok ')",
    )
    parser.add_argument(
        "--replay",
        action="append",
        default=[],
        metavar="DIR",
        help="serve a folder of recorded exchanges, matched by request (repeatable)",
    )
    args = parser.parse_args(argv)
    missing = [folder for folder in args.replay if not Path(folder).is_dir()]
    if missing:
        parser.error(f"--replay needs a folder of recordings: {', '.join(missing)}")

    done = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        done.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    server = FakeLLMServer(port=args.port)
    server.default_reply = _bench_default(args.bench_stream, args.bench_text)
    if args.replay:
        server.replay(*args.replay)
    with server:
        sys.stdout.write(f"READY {server.port}\n")
        sys.stdout.flush()
        while not done.wait(0.5):
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())

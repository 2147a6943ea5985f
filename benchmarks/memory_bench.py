"""Conversation-memory benchmark (not a test): appends per second and load latency, per store.

For each store (InMemoryStore, SQLiteStore in a temp file, RedisStore) this fills one session
with 1,000 single-message appends (``fill``: the session grows 0 -> 1,000), then appends 300 more
at ``max_messages=1000`` (``steady``: every append rewrites and trims a full session), then loads
the 1,000-message session 200 times (``load``: the store read plus JSON decoding and validation
into a ``Conversation``). Redis uses ``REDIS_URL`` when set, else a ``redis-server`` this script
starts on 127.0.0.1 on a free port and stops (by PID) at the end; it is skipped if neither is
available. Run: ``.venv/bin/python benchmarks/memory_bench.py [--messages 1000] [--loads 200]``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from metallm.memory import ConversationMemory, InMemoryStore, MemoryConfig

CONTENT = "A user message of ordinary length, about as long as a typical chat turn is. " * 2


@contextmanager
def redis_url() -> Iterator[str | None]:
    """REDIS_URL, or a redis-server of our own for the run, or None."""
    if os.environ.get("REDIS_URL"):
        yield os.environ["REDIS_URL"]
        return
    binary = shutil.which("redis-server")
    if binary is None:
        yield None
        return
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    args = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(200):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def bench(name: str, store: Any, messages: int, loads: int) -> dict[str, Any]:
    memory = ConversationMemory(
        store, MemoryConfig(max_messages=messages, key_prefix=f"bench:{uuid.uuid4().hex}")
    )
    memory.create("s", "You are a helpful assistant.")
    started = time.perf_counter()
    for i in range(messages - 1):
        memory.append("s", [{"role": "user" if i % 2 else "assistant", "content": CONTENT}])
    fill = (messages - 1) / (time.perf_counter() - started)
    steady_n = 300
    started = time.perf_counter()
    for _ in range(steady_n):
        memory.append("s", [{"role": "user", "content": CONTENT}])
    steady = steady_n / (time.perf_counter() - started)
    times = []
    for _ in range(loads):
        t0 = time.perf_counter()
        conv = memory.load("s")
        times.append((time.perf_counter() - t0) * 1000)
    assert len(conv.messages) == messages and conv.messages[0].role.value == "system"
    times.sort()
    memory.delete("s")
    return {
        "store": name,
        "fill": fill,
        "steady": steady,
        "p50": statistics.median(times),
        "p95": times[int(len(times) * 0.95) - 1],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--loads", type=int, default=200)
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp, redis_url() as url:
        from metallm.memory import SQLiteStore

        stores: list[tuple[str, Any]] = [
            ("InMemoryStore", InMemoryStore()),
            ("SQLiteStore", SQLiteStore(Path(tmp) / "bench.db")),
        ]
        if url:
            from metallm.memory import RedisStore

            stores.append(("RedisStore", RedisStore(url)))
        for name, store in stores:
            rows.append(bench(name, store, args.messages, args.loads))
            store.close()
    print(f"sessions of {args.messages} messages (~{len(CONTENT)} chars each)\n")
    print("| store | appends/s, fill 0->N | appends/s at N (trim) | load p50 ms | load p95 ms |")
    print("|---|---:|---:|---:|---:|")
    for r in rows:
        print(
            f"| {r['store']} | {r['fill']:,.0f} | {r['steady']:,.0f} "
            f"| {r['p50']:.2f} | {r['p95']:.2f} |"
        )
    if not any(r["store"] == "RedisStore" for r in rows):
        print("\nRedisStore skipped: set REDIS_URL or install redis-server")


if __name__ == "__main__":
    main()

"""metallm's telemetry glue against the OpenTelemetry SDK's floor, in instructions, not time.

``.venv/bin/python benchmarks/telemetry_instructions.py [--calls N] [--chunks N]`` needs
``valgrind`` (Debian's package). It runs the rows of ``telemetry_floor.py`` under
``valgrind --tool=cachegrind`` and reports the instructions each executes per call and per
chunk: a count that does not move with the machine's load, where the CPU-time figures of a
2-core machine shared with other work swing by tens of microseconds per call.

Each row runs in two child processes that do the same set-up (imports, SDK providers, the
captured attribute sets, both stream bodies, a warm-up) and then ``N`` or ``2N`` units of the
row's work; the difference of their two counts divided by ``N`` is the row's count per unit,
so start-up and set-up cancel out (``PYTHONHASHSEED=0`` keeps the two runs alike). Every
thread is counted, the SDK's batch-export thread too (equal work per span on both sides).

Rows, per call: plain metallm (the default hook, no SDK behind the API); metallm with
``OTelHook`` on an SDK pair; and the floor made by hand around the same plain call (a bare SDK
span with exactly metallm's attributes, current while the request runs, ended, and every record
metallm makes with the span's context: ``telemetry_floor.py``'s ``around``). One client serves
all three (``telemetry_floor._Metallm``). Per chunk: one stream of ``N`` or ``2N`` chunks,
plain and with the SDK, and one ``time_per_output_chunk`` record with the span's context.

The gaps: per call, (metallm + SDK minus plain) over (by hand minus plain), target <= 1.10;
per chunk, metallm + SDK minus plain minus one record, target <= 2 us, read here as
instructions (the record's own count gives the scale: one record took about 11 us). What the
count does not see is the CPU caches: ``telemetry_floor.py`` measures time.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

__all__ = ["main"]

HERE = Path(__file__).resolve().parent
CALL_ROWS = ("plain call", "SDK call", "SDK by hand around a plain call")
CHUNK_ROWS = ("plain chunk", "SDK chunk", "one record, context=")
_WARM = 50
_REFS = re.compile(r"I\s+refs:\s+([\d,]+)")


def _setup(max_chunks: int) -> dict[str, Callable[[int], None]]:
    """Every row's work, ``work(units)``, built the same way whatever row runs."""
    sys.path.insert(0, str(HERE))
    from offline_ab import _handler
    from telemetry import sdk_providers
    from telemetry_floor import _capture, _floor, _Metallm

    from metallm.otel import OTelHook

    small, large = _handler(max_chunks // 2), _handler(max_chunks)
    floor = _floor(_capture(False, small), _capture(True, _handler(8)))
    tracer_provider, meter_provider = sdk_providers("instructions")
    hook = OTelHook(tracer_provider=tracer_provider, meter_provider=meter_provider)
    streams = {max_chunks // 2: _Metallm(small, hook), max_chunks: _Metallm(large, hook)}
    both = streams[max_chunks // 2]
    plain_call, _ = both.rows(sdk=False)
    sdk_call, _ = both.rows(sdk=True)
    by_hand = floor["around"](plain_call)
    record = floor["record with context"]

    def calls(work: Callable[[], Any]) -> Callable[[int], None]:
        def run(units: int) -> None:
            for _ in range(units):
                work()

        return run

    def chunks(sdk: bool) -> Callable[[int], None]:
        def run(units: int) -> None:
            streams[units].rows(sdk=sdk)[1]()

        return run

    def records(units: int) -> None:
        for _ in range(units // 1000):
            record()  # 1,000 records a run

    for work in (plain_call, sdk_call, by_hand):
        for _ in range(_WARM):
            work()
    for m in streams.values():
        for sdk in (False, True):
            m.rows(sdk=sdk)[1]()
    record()
    return {
        "plain call": calls(plain_call),
        "SDK call": calls(sdk_call),
        "SDK by hand around a plain call": calls(by_hand),
        "plain chunk": chunks(False),
        "SDK chunk": chunks(True),
        "one record, context=": records,
    }


def _child(row: str, units: int, max_chunks: int) -> int:
    _setup(max_chunks)[row](units)
    return 0


def _count(row: str, units: int, max_chunks: int) -> int:
    """Instructions of one child process running ``units`` of ``row`` after the set-up."""
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    proc = subprocess.run(
        ["valgrind", "--tool=cachegrind", "--cache-sim=no", "--cachegrind-out-file=/dev/null",
         sys.executable, __file__, "--child", row, "--units", str(units),
         "--max-chunks", str(max_chunks)],
        capture_output=True, text=True, env=env, check=False, timeout=1800,
    )
    found = _REFS.search(proc.stderr)
    if proc.returncode != 0 or found is None:
        raise RuntimeError(f"{row}: valgrind failed ({proc.returncode})\n{proc.stderr[-2000:]}")
    return int(found.group(1).replace(",", ""))


def _per_unit(row: str, units: int, max_chunks: int, chunk_row: bool) -> float:
    if chunk_row:  # one stream of max/2 chunks against one of max: the difference is max/2
        low, high = max_chunks // 2, max_chunks
    else:
        low, high = units, 2 * units
    return (_count(row, high, max_chunks) - _count(row, low, max_chunks)) / (high - low)


def main(argv: Sequence[str] | None = None) -> int:
    """Count every row's instructions per unit and print the gaps."""
    parser = argparse.ArgumentParser(prog="benchmarks/telemetry_instructions.py")
    parser.add_argument("--calls", type=int, default=400, help="calls of the shorter run")
    parser.add_argument("--chunks", type=int, default=4000, help="chunks of the longer stream")
    parser.add_argument("--only", choices=("call", "chunk"), help="one figure only")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--units", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--max-chunks", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        return _child(args.child, args.units, args.max_chunks)
    if shutil.which("valgrind") is None:
        print("valgrind is not installed (apt-get install valgrind); nothing measured")
        return 0
    chunks = max(2000, args.chunks - args.chunks % 2000)  # records run 1,000 at a time
    per: dict[str, float] = {}
    for row in CALL_ROWS if args.only != "chunk" else ():
        per[row] = _per_unit(row, args.calls, chunks, chunk_row=False)
    for row in CHUNK_ROWS if args.only != "call" else ():
        per[row] = _per_unit(row, args.calls, chunks, chunk_row=True)
    print(f"instructions per unit (valgrind cachegrind; {args.calls} vs {2 * args.calls} calls,"
          f" {chunks // 2} vs {chunks} chunks)")
    for row, count in per.items():
        print(f"{row:34} {count:12,.0f}")
    if args.only != "chunk":
        _call_gap(per)
    if args.only != "call":
        _chunk_gap(per)
    return 0


def _call_gap(per: dict[str, float]) -> None:
    added = per["SDK call"] - per["plain call"]
    floor = per["SDK by hand around a plain call"] - per["plain call"]
    print(f"per call: metallm + SDK adds {added:,.0f} instructions over plain metallm; the floor"
          f" by hand {floor:,.0f}; glue {added - floor:+,.0f} (ratio {added / floor:.3f},"
          f" target <= 1.10)")


def _chunk_gap(per: dict[str, float]) -> None:
    chunk_added = per["SDK chunk"] - per["plain chunk"]
    record = per["one record, context="]
    print(f"per chunk: metallm + SDK adds {chunk_added:,.0f} instructions over plain metallm;"
          f" one record {record:,.0f}; glue {chunk_added - record:+,.0f}"
          f" ({(chunk_added - record) / record:+.1%} of one record)")


if __name__ == "__main__":
    sys.exit(main())

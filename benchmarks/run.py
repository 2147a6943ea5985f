"""metallm benchmarks: ``.venv/bin/python benchmarks/run.py [--quick] [--only FIGURE ...]``.

Measures, in one run, every registered contender (``contenders.py``: raw httpx, the floor; the
official openai SDK, plain and under the official GenAI instrumentation; metallm, plain and on
a real OpenTelemetry SDK) against fake provider servers running in separate processes
(``servers.py``), and prints each figure with its ratio to raw httpx measured in the same run,
plus PASS/MISS against DESIGN.md section 9 for the rows the targets apply to:

1. ``import``     import time and RSS after import, in fresh interpreters (``measure_import``)
2. ``call``       sequential non-stream calls: calls/s, overhead per call (``measure_call``)
3. ``stream``     one long stream: cost per chunk; time to first chunk (``measure_stream``)
4. ``concurrent`` many concurrent async streams: wall time (``measure_concurrent``)
5. ``telemetry``  the OTel SDK's own floor beside metallm + SDK, per call and per chunk, in
   thread CPU time over ``httpx.MockTransport`` (``measure_telemetry``, ``telemetry_floor``)

The tables go to stdout as each figure completes (progress to stderr), then one summary table
(``summary.py``: the floor, metallm's figures and the ratios, the table README.md shows), then to
``.bench/results.json`` and ``.bench/results.md`` (``--out`` moves them). ``--quick`` runs
small sizes (a smoke run; its figures are not meant to be quoted). Never part of ``make test``.
The exit status is 1 when a contender failed with an error (a missing package is not one).
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import json
import os
import platform
import signal
import sys
import timeit
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from contenders import all_contenders
from measure_call import measure_calls
from measure_concurrent import measure_concurrent
from measure_import import measure_imports
from measure_stream import measure_stream
from measure_telemetry import measure_telemetry
from report import Section, render_text, write_results
from servers import BenchServer
from summary import summarize

__all__ = ["FULL", "QUICK", "Settings", "main"]

FIGURES = ("import", "call", "stream", "concurrent", "telemetry")
ROOT = Path(__file__).resolve().parents[1]
_PACKAGES = ("httpx", "httpcore", "pydantic", "pydantic-core", "opentelemetry-api",
             "opentelemetry-sdk", "openai", "opentelemetry-instrumentation-openai-v2",
             "opentelemetry-util-genai", "metallm")


@dataclass(frozen=True)
class Settings:
    """The sizes of one run."""

    import_runs: int = 7
    calls: int = 2000
    warmup: int = 100
    stream_chunks: int = 5000
    stream_runs: int = 5
    ttfc_runs: int = 30
    streams: int = 200
    stream_len: int = 200
    concurrent_runs: int = 3
    telemetry_rounds: int = 12
    telemetry_calls: int = 1000
    telemetry_chunks: int = 5000


FULL = Settings()
QUICK = Settings(import_runs=3, calls=200, warmup=20, stream_runs=1, ttfc_runs=3, streams=50,
                 stream_len=50, concurrent_runs=1, telemetry_rounds=1, telemetry_calls=20,
                 telemetry_chunks=50)


def _versions() -> dict[str, str]:
    found = {}
    for name in _PACKAGES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "not installed"
    return found


def _calibrate() -> float:
    """Microseconds one ``json.loads`` of a typical stream chunk takes here (best of 5)."""
    payload = (
        '{"id":"chatcmpl-fake0123456789abcdef0123","object":"chat.completion.chunk",'
        '"created":1700000000,"model":"gpt-4o","service_tier":"default",'
        '"system_fingerprint":"fp_fake","choices":[{"index":0,"delta":{"content":"tok "},'
        '"logprobs":null,"finish_reason":null}],"usage":null}'
    )
    best = min(timeit.repeat(lambda: json.loads(payload), number=20_000, repeat=5))
    return best / 20_000 * 1e6


def _header(settings: Settings, quick: bool) -> tuple[list[str], dict[str, Any]]:
    versions = _versions()
    load = os.getloadavg()
    calibration = _calibrate()
    meta: dict[str, Any] = {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "load_average_start": load,
        "json_loads_chunk_us": calibration,
        "versions": versions,
        "settings": dataclasses.asdict(settings),
        "quick": quick,
        "argv": sys.argv[1:],
    }
    lines = [
        f"metallm benchmarks, {meta['date']}"
        + (" (--quick: smoke sizes, do not quote)" if quick else ""),
        f"Python {meta['python']} ({meta['implementation']}) on {meta['platform']},"
        f" {meta['cpus']} CPUs, load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}",
        ", ".join(f"{name} {version}" for name, version in versions.items()),
        f"Machine speed: one json.loads of a stream chunk takes {calibration:.2f} us here"
        " (absolute targets are in us; ratios travel better between machines).",
    ]
    return lines, meta


def _parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="benchmarks/run.py",
        description="metallm vs raw httpx vs the openai SDK, against local fake servers.",
    )
    parser.add_argument("--quick", action="store_true",
                        help="small sizes: 200 calls, 1 run per stream, 50x50 concurrency")
    parser.add_argument("--only", action="append", choices=FIGURES, metavar="FIGURE",
                        help=f"run only this figure (repeatable): {', '.join(FIGURES)}")
    parser.add_argument("--calls", type=int, default=None,
                        help="sequential non-stream calls per contender (default 2000)")
    parser.add_argument("--out", type=Path, default=ROOT / ".bench",
                        help="folder for results.json and results.md (default: .bench)")
    return parser.parse_args(argv)


def _progress(message: str) -> None:
    sys.stderr.write(f"[bench] {message}\n")
    sys.stderr.flush()


def run(figures: Sequence[str], settings: Settings) -> list[Section]:
    """Measure ``figures`` in their canonical order, printing each section as it completes."""
    contenders = all_contenders()
    sections: list[Section] = []

    def done(section: Section) -> None:
        sections.append(section)
        sys.stdout.write(render_text([section], []))
        sys.stdout.flush()

    if "import" in figures:  # first, before any server process exists
        _progress(f"import: {settings.import_runs} fresh processes per statement")
        done(measure_imports(contenders, settings.import_runs))
    with ExitStack() as servers:
        short: BenchServer | None = None
        long: BenchServer | None = None
        if any(f in figures for f in ("call", "stream", "concurrent")):
            short = servers.enter_context(BenchServer(settings.stream_len))
        if "stream" in figures:
            long = servers.enter_context(BenchServer(settings.stream_chunks))
        if "call" in figures and short is not None:
            _progress(f"call: {settings.calls} calls per contender (server pid {short.pid})")
            done(measure_calls(contenders, short.base_url, settings.calls, settings.warmup))
        if "stream" in figures and short is not None and long is not None:
            _progress(f"stream: {settings.stream_runs} x {settings.stream_chunks} chunks, "
                      f"{settings.ttfc_runs} first chunks (server pids {long.pid}, {short.pid})")
            done(measure_stream(contenders, long_url=long.base_url, chunks=settings.stream_chunks,
                                runs=settings.stream_runs, short_url=short.base_url,
                                ttfc_runs=settings.ttfc_runs))
        if "concurrent" in figures and short is not None:
            _progress(f"concurrent: {settings.streams} x {settings.stream_len} chunks, "
                      f"{settings.concurrent_runs} rounds (server pid {short.pid})")
            done(measure_concurrent(contenders, short.base_url, settings.streams,
                                    settings.stream_len, settings.concurrent_runs))
    if "telemetry" in figures:  # in-process, no server: after theirs are stopped
        _progress(f"telemetry: {settings.telemetry_rounds} rounds of {settings.telemetry_calls}"
                  f" calls and a {settings.telemetry_chunks}-chunk stream per row")
        done(measure_telemetry(settings.telemetry_rounds, settings.telemetry_calls,
                               settings.telemetry_chunks))
    return sections


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmarks; the exit status is 1 if a contender failed with an error."""
    args = _parse(argv)
    # SIGTERM unwinds like Ctrl-C, so the server processes are stopped on the way out.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    settings = QUICK if args.quick else FULL
    if args.calls is not None:
        settings = dataclasses.replace(settings, calls=max(1, args.calls))
    figures = [f for f in FIGURES if not args.only or f in args.only]
    header, meta = _header(settings, args.quick)
    sys.stdout.write("\n".join(header) + "\n\n")
    sys.stdout.flush()
    sections = run(figures, settings)
    summary = summarize(sections)
    if summary is not None:  # last on screen, first in results.md (what README.md shows)
        sys.stdout.write(render_text([summary], []))
        sections.insert(0, summary)
    meta["load_average_end"] = os.getloadavg()
    json_path, md_path = write_results(args.out, sections, header, meta)
    _progress(f"wrote {json_path} and {md_path}")
    failed = [
        f"{section.key}: {row['contender']}"
        for section in sections
        for row in section.data
        if str(row.get("unavailable", "")).startswith("error")
    ]
    if failed:
        _progress("contenders failed: " + "; ".join(failed))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

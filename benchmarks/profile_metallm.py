"""Where metallm's own time goes: cProfile of plain calls and of one long stream.

``.venv/bin/python benchmarks/profile_metallm.py [--calls N] [--chunks N] [--top K] [--otel-sdk]``
starts a fake server process (as ``run.py`` does), profiles ``N`` sequential
``create_chat_completion`` calls and one ``N``-chunk stream through ``metallm.Client``, and
prints, for each, the functions of metallm (``src/metallm``), pydantic and opentelemetry with
the largest cumulative time, as a share of the profiled total. ``--otel-sdk`` profiles the
``metallm + OTel SDK`` row instead (``OTelHook`` on real SDK providers, ``telemetry.py``).
Not run by ``make bench``; cProfile inflates small functions, so read the shares, not the
absolute times.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from servers import BenchServer
from sessions import API_KEY, MESSAGES, MODEL

__all__ = ["main"]

_SRC = str(Path(__file__).resolve().parents[1] / "src" / "metallm")


def _profile(work: Callable[[], object]) -> pstats.Stats:
    profiler = cProfile.Profile()
    profiler.enable()
    work()
    profiler.disable()
    return pstats.Stats(profiler)


def _where(key: tuple[str, int, str]) -> str:
    filename, line, function = key
    if filename.startswith(_SRC):
        return f"metallm/{filename[len(_SRC) + 1:]}:{function}"
    if "site-packages/" in filename:
        return f"{filename.split('site-packages/', 1)[1]}:{function}"
    return f"{filename}:{function}" if line else function


def _package(key: tuple[str, int, str]) -> str:
    where = _where(key)
    if where.startswith("metallm/"):
        return "metallm"
    if "/" in where and not where.startswith("/"):
        return where.split("/", 1)[0]
    if where.startswith("<built-in method _json") or "json" in where:
        return "json"
    return "stdlib, builtins"


def _report(title: str, stats: pstats.Stats, units: int, unit: str, top: int) -> None:
    entries = stats.stats  # type: ignore[attr-defined]
    total = max(cumulative for (_, _, _, cumulative, _) in entries.values())
    print(f"\n{title}: {total / units * 1e6:,.1f} us/{unit} under cProfile")
    own_by_package: dict[str, float] = {}
    for key, (_, _, own, _, _) in entries.items():
        package = _package(key)
        own_by_package[package] = own_by_package.get(package, 0.0) + own
    print("own time by package: " + ", ".join(
        f"{package} {own / total * 100:.1f}%"
        for package, own in sorted(own_by_package.items(), key=lambda item: -item[1])
    ))
    rows = []
    for key, (_, calls, own, cumulative, _) in entries.items():
        where = _where(key)
        if where.startswith(("metallm/", "pydantic", "opentelemetry")):
            rows.append((cumulative, own, calls, where))
    rows.sort(reverse=True)
    print(f"{'cum %':>6} {'own %':>6} {'calls/' + unit:>10}  function")
    for cumulative, own, calls, where in rows[:top]:
        print(f"{cumulative / total * 100:6.1f} {own / total * 100:6.1f} "
              f"{calls / units:10.2f}  {where}")


def main(argv: Sequence[str] | None = None) -> int:
    """Profile plain calls and one stream; print the hot spots."""
    parser = argparse.ArgumentParser(prog="benchmarks/profile_metallm.py")
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--chunks", type=int, default=5000)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--otel-sdk", action="store_true",
                        help="hooks=[OTelHook(...)] on real SDK providers (metallm + OTel SDK)")
    args = parser.parse_args(argv)

    import metallm

    kwargs: dict[str, object] = {}
    if args.otel_sdk:
        from telemetry import metallm_otel_hook

        kwargs["hooks"] = [metallm_otel_hook()]
    with BenchServer(args.chunks) as server:
        client = metallm.Client(provider="openai", base_url=server.base_url, api_key=API_KEY,
                                **kwargs)
        try:
            for _ in range(100):
                client.create_chat_completion(model=MODEL, messages=MESSAGES)

            def calls() -> None:
                for _ in range(args.calls):
                    client.create_chat_completion(model=MODEL, messages=MESSAGES)

            def stream() -> None:
                with client.create_chat_completion_stream(model=MODEL, messages=MESSAGES) as s:
                    for _ in s:
                        pass

            stream()
            _report("non-stream calls", _profile(calls), args.calls, "call", args.top)
            _report("one stream", _profile(stream), args.chunks, "chunk", args.top)
        finally:
            client.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())

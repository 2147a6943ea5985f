"""The benchmarks still run: ``benchmarks/run.py --quick`` for the call and stream figures,
``benchmarks/router_bench.py`` for what a router adds (with its Redis rows on the suite's Redis).

Never asserts timings (a shared CI machine makes them meaningless here); only that the run
exits 0, prints a row for raw httpx, metallm and metallm + OTel SDK (whose SDK providers really
received spans), and a row for the instrumented openai SDK that is either figures or says why
not. It must pass whether or not ``openai`` and its OpenTelemetry instrumentation are
installed, so the call figure also runs once with ``openai`` made unimportable (both openai rows
then say "not installed"), and the instrumentation's own check is run with it made
unimportable ("not available", which does not fail a run).
"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from _redis_server import RedisServer

ROOT = Path(__file__).resolve().parents[1]
BENCHMARKS = ROOT / "benchmarks"
RUN = BENCHMARKS / "run.py"
OTEL_ROW = "metallm + OTel SDK"
INSTRUMENTED_ROW = "openai + GenAI instrumentation"
BUDGET = 90.0  # seconds, for every run of this module together

_deadline: list[float] = []


def _run(tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> str:
    if not _deadline:
        _deadline.append(time.monotonic() + BUDGET)
    left = _deadline[0] - time.monotonic()
    if left <= 5:
        pytest.fail(f"the benchmark smoke runs exceeded their {BUDGET:.0f} s budget")
    proc = subprocess.run(
        [sys.executable, str(RUN), "--quick", "--out", str(tmp_path / "bench"), *args],
        capture_output=True,
        text=True,
        timeout=left,
        env=env,
        cwd=ROOT,
        check=False,
    )
    assert proc.returncode == 0, f"exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    assert (tmp_path / "bench" / "results.json").is_file()
    assert (tmp_path / "bench" / "results.md").is_file()
    return proc.stdout


def _row(stdout: str, name: str) -> str:
    match = re.search(rf"^{re.escape(name)}  .*$", stdout, re.MULTILINE)
    assert match is not None, f"no {name!r} row in:\n{stdout}"
    return match.group(0)


def _spans_exported(stdout: str, name: str) -> int:
    match = re.search(rf"^  \* {re.escape(name)}: .* ([\d,]+) spans exported", stdout, re.MULTILINE)
    assert match is not None, f"no telemetry note for {name!r} in:\n{stdout}"
    return int(match.group(1).replace(",", ""))


@pytest.mark.parametrize("figure", ["call", "stream"])
def test_quick_figure_prints_rows(tmp_path: Path, figure: str) -> None:
    stdout = _run(tmp_path, "--only", figure)
    for name in ("raw httpx", "metallm", OTEL_ROW):
        row = _row(stdout, name)
        assert "error" not in row, row
    assert _spans_exported(stdout, OTEL_ROW) > 0
    summary = stdout[stdout.index("Summary: the floor, metallm and the ratios") :]
    label = "non-stream call, us" if figure == "call" else "stream, us per chunk"
    assert re.search(rf"^{label}.*\(\d+\.\d\dx\)", summary, re.MULTILINE), summary
    instrumented = _row(stdout, INSTRUMENTED_ROW)
    assert "error" not in instrumented, instrumented
    if not re.search(r"not installed|not available", instrumented):
        assert _spans_exported(stdout, INSTRUMENTED_ROW) > 0


def test_runs_without_openai(tmp_path: Path) -> None:
    shadow = tmp_path / "shadow"
    shadow.mkdir()
    (shadow / "openai.py").write_text("raise ImportError('hidden by the smoke test')\n")
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(shadow), *filter(None, [os.environ.get("PYTHONPATH")])]),
    }
    stdout = _run(tmp_path, "--only", "call", env=env)
    assert "not installed" in _row(stdout, "openai SDK")
    assert "not installed" in _row(stdout, INSTRUMENTED_ROW)
    _row(stdout, "raw httpx")
    _row(stdout, "metallm")
    assert "error" not in _row(stdout, OTEL_ROW)


def test_import_figure_reports_ratio_and_first_clients(tmp_path: Path) -> None:
    """The import figure prints metallm's ratio to the DESIGN baseline and, per provider, what
    the first client adds over ``import metallm`` (figures, not verdicts: never timed here)."""
    stdout = _run(tmp_path, "--only", "import")
    baseline = _row(stdout, "DESIGN baseline")
    assert re.search(r"  1\.00x  ", baseline), baseline
    assert re.search(r"  \d+\.\d\dx  ", _row(stdout, "metallm")), stdout
    for provider in ("openai", "anthropic"):
        row = _row(stdout, f"metallm first Client({provider})")
        assert "failed" not in row, row
        assert re.search(r"  [+-]\d+\.\d  ", row), row
        assert re.search(r"client (PASS|MISS)", row), row


@pytest.fixture
def bench_modules(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """``benchmarks/`` importable in this process, its modules forgotten afterwards."""
    names = ("contenders", "harness", "report", "sessions", "summary", "telemetry",
             "telemetry_instructions", "timing")
    for name in names:
        monkeypatch.delitem(sys.modules, name, raising=False)
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    yield
    for name in names:
        sys.modules.pop(name, None)


@pytest.mark.usefixtures("bench_modules")
def test_instrumentation_missing_is_not_available(monkeypatch: pytest.MonkeyPatch) -> None:
    import telemetry

    monkeypatch.setitem(sys.modules, "opentelemetry.instrumentation.openai_v2", None)
    problem = telemetry.instrumentation_problem()
    assert problem is not None and "is not installed" in problem, problem


@pytest.mark.usefixtures("bench_modules")
def test_soft_failure_does_not_fail_the_run() -> None:
    from contenders import Contender, all_contenders
    from harness import Lineup

    def broken(base_url: str) -> object:
        raise RuntimeError("incompatible")

    soft = Contender(
        name="soft",
        module="json",
        import_statement="import json",
        sync_session=broken,
        async_session=broken,
        fails_soft=True,
    )  # type: ignore[arg-type]
    lineup = Lineup([all_contenders()[0], soft])
    assert lineup.run(soft, lambda: soft.sync_session("http://127.0.0.1:9/v1")) is None
    assert lineup.why_not(soft) == "not available: RuntimeError: incompatible"


def _router_bench(*args: str) -> str:
    script = BENCHMARKS / "router_bench.py"
    proc = subprocess.run(
        [sys.executable, str(script), "--calls", "20", "--rounds", "1", *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        check=False,
    )
    assert proc.returncode == 0, f"exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


def test_router_bench_prints_its_rows() -> None:
    stdout = _router_bench()
    for name in ("plain Client", "Router, 1 target", "Router, 2 targets"):
        assert re.search(rf"^{re.escape(name)}  +[\d.]+ +[+-][\d.]+ ", stdout, re.MULTILINE), stdout
    assert "us CPU per call with one healthy target" in stdout
    assert "Redis rows skipped: no --redis-url given" in stdout


def test_router_bench_redis_rows(redis_server: RedisServer) -> None:
    """With a Redis, a routed call to a target without limits costs one round trip (the
    issue's "at most one Redis round trip more"), one with limits two; counted by Redis."""
    stdout = _router_bench("--redis-url", redis_server.url)
    if importlib.util.find_spec("metallm.router.redis_state") is None:
        assert "Redis rows skipped: RedisRouterState is not available here" in stdout
        return
    assert "one PING round trip added to the routed call" in stdout
    rows = {"Router, 1 target, Redis state": 1, "Router, 1 limited target, Redis": 2}
    for row, trips in rows.items():
        line = re.search(rf"^{re.escape(row)}: .*$", stdout, re.MULTILINE)
        assert line is not None, stdout
        assert f" {trips}.00 round trips per call" in line[0], line[0]


def test_the_responses_benchmark_runs() -> None:
    """``benchmarks/responses_bench.py`` still runs: both APIs' figures and their ratio are
    printed for the decoder and the client rows (never asserted: a shared machine)."""
    proc = subprocess.run(
        [
            sys.executable,
            str(BENCHMARKS / "responses_bench.py"),
            "--chunks",
            "200",
            "--rounds",
            "1",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        check=False,
    )
    assert proc.returncode == 0, f"exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    for row in ("decoder", "client"):
        assert re.search(rf"^{row} +[\d.]+ +[\d.]+ +[\d.]+$", proc.stdout, re.MULTILINE), (
            proc.stdout
        )


def test_the_telemetry_floor_benchmark_runs() -> None:
    """``benchmarks/telemetry_floor.py`` still runs: the SDK's floor, metallm with and without
    the SDK, and both gaps are printed (never asserted: a shared machine)."""
    proc = subprocess.run(
        [
            sys.executable,
            str(BENCHMARKS / "telemetry_floor.py"),
            "--rounds",
            "1",
            "--calls",
            "20",
            "--chunks",
            "50",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        check=False,
    )
    assert proc.returncode == 0, f"exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    for row in (
        "floor: span + 3 records",
        "floor: 1 record",
        "metallm call",
        "metallm + SDK call",
        "metallm chunk",
        "metallm + SDK chunk",
    ):
        assert re.search(rf"^{re.escape(row)} +[\d.]+$", proc.stdout, re.MULTILINE), proc.stdout
    assert re.search(
        r"^per call \(same telemetry floor\): .* gap [+-][\d.]+ us", proc.stdout, re.MULTILINE
    ), proc.stdout
    assert re.search(
        r"^per chunk \(no context floor\): .* gap [+-][\d.]+ us", proc.stdout, re.MULTILINE
    ), proc.stdout


@pytest.mark.usefixtures("bench_modules")
def test_the_summary_puts_the_floor_metallm_and_the_ratio_in_one_row() -> None:
    from report import Section
    from summary import summarize

    call = Section("call", "2. calls", ["contender"])
    call.data = [
        {"contender": "raw httpx", "us_per_call": 100.0},
        {"contender": "metallm", "us_per_call": 150.0},
        {"contender": "metallm + OTel SDK", "unavailable": "not installed"},
    ]
    summary = summarize([call])
    assert summary is not None
    assert summary.rows == [
        ["non-stream call, us (above the floor)", "100.0", "+50.0 (1.50x)", "-", "<= +60 us"]
    ]
    assert summarize([]) is None


@pytest.mark.parametrize(
    "row", ["plain call", "SDK call", "SDK by hand around a plain call", "plain chunk",
            "SDK chunk", "one record, context="],
)
def test_every_instruction_count_row_runs(row: str) -> None:
    """``benchmarks/telemetry_instructions.py`` counts each row under valgrind; here each row's
    child runs once without it (valgrind makes a run take seconds), so a row that broke fails."""
    units = 2000 if "chunk" in row or "record" in row else 2
    proc = subprocess.run(
        [sys.executable, str(BENCHMARKS / "telemetry_instructions.py"), "--child", row,
         "--units", str(units), "--max-chunks", "2000"],
        capture_output=True, text=True, timeout=120, cwd=ROOT, check=False,
    )
    assert proc.returncode == 0, f"exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}"


@pytest.mark.usefixtures("bench_modules")
def test_the_instruction_count_is_read_from_cachegrinds_summary() -> None:
    import telemetry_instructions

    summary = "==4242== \n==4242== I refs:        1,234,567,890\n"
    found = telemetry_instructions._REFS.search(summary)
    assert found is not None and found.group(1) == "1,234,567,890"


def test_quick_telemetry_figure_prints_both_gaps_and_their_summary_rows(tmp_path: Path) -> None:
    """``--only telemetry``: the per-call and per-chunk rows (floor, what the SDK adds, the gap,
    the verdict) and their two summary rows (figures, not verdicts: never timed here)."""
    stdout = _run(tmp_path, "--only", "telemetry")
    for unit in ("per call", "per chunk"):
        row = _row(stdout, unit)
        assert re.search(r"  [+-]\d+\.\d+  ", row), row
        assert re.search(r"(PASS|MISS)", row), row
    summary = stdout[stdout.index("Summary: the floor, metallm and the ratios") :]
    assert re.search(r"^OTel per call, .*\(\d+\.\d\dx\)", summary, re.MULTILINE), summary
    assert re.search(r"^OTel per chunk, .*\(\d+\.\d\dx\)", summary, re.MULTILINE), summary


@pytest.mark.usefixtures("bench_modules")
def test_the_summary_shows_the_first_client_cold_start_and_telemetry_rows() -> None:
    from report import Section
    from summary import summarize

    imports = Section("import", "1. import", ["row"])
    imports.data = [
        {"row": "DESIGN baseline", "import_ms": 100.0},
        {"row": "metallm", "import_ms": 140.0},
        {"row": "metallm first Client(openai)", "import_ms": 160.0,
         "first_client_ms_over_import": 20.0},
        {"row": "metallm cold start: first call", "import_ms": 230.0},
    ]
    telemetry = Section("telemetry", "5. telemetry", ["unit"])
    telemetry.data = [
        {"unit": "call", "floor_us": 100.0, "added_us": 105.0},
        {"unit": "chunk", "floor_us": 10.0, "added_us": 11.0},
    ]
    summary = summarize([imports, telemetry])
    assert summary is not None
    rows = {row[0]: row[1:] for row in summary.rows}
    assert rows["first Client(openai), ms over import metallm"] == ["-", "+20.0", "-", "<= +30 ms"]
    cold = rows["cold start: import, client, first call, ms (floor: the import floor)"]
    assert cold[:2] == ["100.0", "230.0 (2.30x)"]
    otel_call = rows["OTel per call, us the SDK adds (floor: the same telemetry by hand)"]
    assert otel_call == ["100.0", "-", "105.0 (1.05x)", "<= 1.10x"]
    otel_chunk = rows["OTel per chunk, us the SDK adds (floor: one record)"]
    assert otel_chunk == ["10.00", "-", "+1.00 (1.10x)", "<= +2 us"]

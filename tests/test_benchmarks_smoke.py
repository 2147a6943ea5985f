"""The benchmarks still run: ``benchmarks/run.py --quick`` for the call and stream figures.

Never asserts timings (a shared CI machine makes them meaningless here); only that the run
exits 0 and prints a row for raw httpx and one for metallm. It must pass whether or not the
``openai`` package is installed, so the call figure also runs once with ``openai`` made
unimportable, checking that its row then says "not installed" and the run still succeeds.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
RUN = ROOT / "benchmarks" / "run.py"
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


@pytest.mark.parametrize("figure", ["call", "stream"])
def test_quick_figure_prints_rows(tmp_path: Path, figure: str) -> None:
    stdout = _run(tmp_path, "--only", figure)
    for name in ("raw httpx", "metallm"):
        row = _row(stdout, name)
        assert "error" not in row, row


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
    _row(stdout, "raw httpx")
    _row(stdout, "metallm")

"""Figure 1: import time and RSS after import, each in fresh interpreters.

Each statement runs as ``python -c "<statement>"`` in a new process (after one untimed run that
warms the bytecode caches); its import time is the median wall time of those processes minus
the median of ``python -c "pass"``, measured in the same rounds (statements rotated each
round). The process then reports its peak RSS (``VmHWM``, falling back to ``ru_maxrss``), so
the RSS column is what the interpreter plus the imported modules hold, in MB of 1,024 KiB.
Bytecode caches are written once by an untimed run into a private ``PYTHONPYCACHEPREFIX``
(the environment may set ``PYTHONDONTWRITEBYTECODE``, and an editable install otherwise
recompiles metallm in every process, which no installed user sees).

The DESIGN baseline is ``import httpx, pydantic, opentelemetry.trace``. Plain ``import
pydantic`` is lazy and does not load ``BaseModel`` (nor pydantic-core's schema machinery), which
any pydantic-based library does load, so the baseline is printed a second time with
``from pydantic import BaseModel`` added.

The first-client rows time ``import metallm`` plus the first ``metallm.Client(provider=...)``
(per provider: it imports that provider's codec, the default OTel hook and httpx's transport),
and report what the client adds over the ``import metallm`` row: a serverless cold start pays
both. The key is a dummy given in the statement; no request is sent.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field

from contenders import BASELINE, Contender
from report import NOT_INSTALLED, Section, Target, num, ratio, times
from timing import clock, median, rotated

__all__ = ["measure_imports"]

BASELINE_STATEMENT = "import httpx, pydantic, opentelemetry.trace"
BASEMODEL_STATEMENT = BASELINE_STATEMENT + "; from pydantic import BaseModel"
ONE_MODEL_STATEMENT = BASEMODEL_STATEMENT + "\nclass _M(BaseModel):\n    x: int = 0"
"""What any library with pydantic models pays before its own code: defining the first model
loads ``pydantic.fields``, ``pydantic.types`` and ``annotated_types`` (their dataclasses)."""
_EMPTY = "pass"
_PROBE = """
import resource as _r, sys as _s
_hwm = 0
try:
    with open("/proc/self/status") as _f:
        _hwm = int(next(_l for _l in _f if _l.startswith("VmHWM:")).split()[1])
except (OSError, StopIteration):
    pass
_u = _r.getrusage(_r.RUSAGE_SELF)
_s.stdout.write(f"{_hwm} {_u.ru_maxrss} {_u.ru_utime + _u.ru_stime}")
"""
IMPORT_TARGET = Target(1.5, "<= 1.5x baseline")
RSS_TARGET = Target(40.0, "<= 40 MB")
CLIENT_TARGET = Target(30.0, "<= +30 ms over import metallm")
CLIENT_PROVIDERS = ("openai", "anthropic")
_METALLM_IMPORT = "import metallm"


@dataclass
class _Case:
    label: str
    statement: str
    contender: Contender | None = None
    provider: str | None = None  # a first-client row: the provider it builds
    shown: str | None = None  # the statement as the table prints it (one line), if not as run
    seconds: list[float] = field(default_factory=list)
    cpu_seconds: list[float] = field(default_factory=list)  # the process's own user + system
    rss_kib: list[int] = field(default_factory=list)
    maxrss_kib: list[int] = field(default_factory=list)
    failure: str | None = None

    def clear(self) -> None:
        self.seconds.clear()
        self.cpu_seconds.clear()
        self.rss_kib.clear()
        self.maxrss_kib.clear()


def _first_client_case(provider: str) -> _Case:
    """``import metallm`` and the first client of ``provider`` (a dummy key, no request)."""
    statement = (
        f"{_METALLM_IMPORT}; metallm.Client(provider={provider!r}, api_key='sk-bench-dummy')"
    )
    return _Case(f"metallm first Client({provider})", statement, provider=provider)


def _first_call_case() -> _Case:
    """A whole cold start: ``import metallm``, the first client and its first call, which
    builds the httpx client (httpcore, h11 and an SSL context with certifi's bundle) and runs
    the call's whole path to a refused connection on 127.0.0.1 (port 9: nothing listens), with
    no retry. The owned httpx client is built at the first request, so this row, not the
    first-client rows, carries that cost: a serverless cold start pays this row."""
    statement = (
        f"{_METALLM_IMPORT}; c = metallm.Client(provider='openai', api_key='sk-bench-dummy',"
        " base_url='http://127.0.0.1:9/v1', max_retries=0)\n"
        "try:\n c.create_chat_completion(model='gpt-4o-mini', messages=[{'role': 'user',"
        " 'content': 'hi'}])\nexcept metallm.APIConnectionError:\n pass"
    )
    shown = ("import metallm; metallm.Client(provider='openai', ...).create_chat_completion(...)"
             " (refused)")
    return _Case("metallm cold start: first call", statement, provider="openai", shown=shown)


def _environment(pycache: str) -> dict[str, str]:
    """The children's environment: bytecode cached (in a private tree), as after an install."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = pycache
    return env


def _run_once(case: _Case, env: dict[str, str]) -> None:
    start = clock()
    proc = subprocess.run(
        [sys.executable, "-c", case.statement + _PROBE],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env=env,
    )
    elapsed = clock() - start
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["?"])[-1]
        case.failure = NOT_INSTALLED if "ModuleNotFoundError" in last else f"failed: {last}"
        return
    hwm_text, maxrss_text, cpu_text = proc.stdout.split()
    hwm, maxrss = int(hwm_text), int(maxrss_text)
    case.seconds.append(elapsed)
    case.cpu_seconds.append(float(cpu_text))
    case.rss_kib.append(hwm or maxrss)
    case.maxrss_kib.append(maxrss)


def measure_imports(contenders: list[Contender], runs: int) -> Section:
    """Time ``runs`` fresh imports of the baselines and of every contender's import statement."""
    cases = [
        _Case("interpreter only", _EMPTY),
        _Case("DESIGN baseline", BASELINE_STATEMENT),
        _Case("baseline + BaseModel", BASEMODEL_STATEMENT),
        _Case("baseline + one model", ONE_MODEL_STATEMENT,
              shown=BASEMODEL_STATEMENT + "; class _M(BaseModel): x: int = 0"),
        *(_Case(c.name, c.import_statement, c) for c in contenders),
    ]
    if any(c.import_statement == _METALLM_IMPORT for c in contenders):
        cases += [_first_client_case(p) for p in CLIENT_PROVIDERS]
        cases.append(_first_call_case())
    for case in cases:
        if case.contender is not None and (why := case.contender.unavailable()):
            case.failure = why
    live = [c for c in cases if c.failure is None]
    with tempfile.TemporaryDirectory(prefix="metallm-bench-pycache-") as pycache:
        env = _environment(pycache)
        for case in live:  # untimed: writes the bytecode caches
            _run_once(case, env)
            case.clear()
        for round_index in range(runs):
            for case in rotated(live, round_index):
                if case.failure is None:
                    _run_once(case, env)

    def import_ms(case: _Case) -> float | None:
        if case.failure is not None or not case.seconds:
            return None
        return (median(case.seconds) - median(empty.seconds)) * 1000

    def cpu_ms(case: _Case) -> float | None:
        if case.failure is not None or not case.cpu_seconds:
            return None
        return (median(case.cpu_seconds) - median(empty.cpu_seconds)) * 1000

    empty, baseline, with_model = cases[0], cases[1], cases[2]
    httpx_case = next((c for c in cases if c.contender and c.contender.name == BASELINE), None)
    base_ms, model_ms = import_ms(baseline), import_ms(with_model)
    httpx_ms = import_ms(httpx_case) if httpx_case else None
    metallm_case = next((c for c in cases if c.statement == _METALLM_IMPORT), None)
    metallm_ms = import_ms(metallm_case) if metallm_case else None
    metallm_cpu = cpu_ms(metallm_case) if metallm_case else None
    base_cpu = cpu_ms(baseline)
    section = Section(
        "import",
        f"1. Import time and RSS (median of {runs} fresh processes each, minus `python -c pass`)",
        ["row", "statement", "import ms", "CPU ms", "CPU x baseline", "x raw httpx",
         "x baseline", "x baseline+BaseModel", "+ms over import metallm", "RSS MB", "target",
         "result"],
    )
    for case in cases:
        if case.failure is not None:
            section.unavailable(case.label, case.failure)
            section.rows[-1][1] = case.statement
            section.rows[-1][2] = case.failure
            continue
        ms = 0.0 if case is empty else import_ms(case)
        rss = median([float(k) for k in case.rss_kib]) / 1024
        vs_base, vs_model = ratio(ms, base_ms), ratio(ms, model_ms)
        vs_httpx = ratio(ms, httpx_ms)
        if case is empty:
            vs_base = vs_model = vs_httpx = None
        target, result = "", ""
        over = None if ms is None or metallm_ms is None else ms - metallm_ms
        cpu = 0.0 if case is empty else cpu_ms(case)
        cpu_over = None if cpu is None or metallm_cpu is None else cpu - metallm_cpu
        if case.provider is None:
            over = cpu_over = None
        if case.contender is not None and case.contender.has_target("import"):
            target = f"{IMPORT_TARGET.text}; {RSS_TARGET.text}"
            result = f"time {IMPORT_TARGET.verdict(vs_base)}, RSS {RSS_TARGET.verdict(rss)}"
        elif case.provider is not None and not case.label.startswith("metallm cold start"):
            target, result = CLIENT_TARGET.text, f"client {CLIENT_TARGET.verdict(over)}"
        section.add(
            [case.label, case.shown or case.statement, num(ms), num(cpu),
             "-" if case is empty else times(ratio(cpu, base_cpu)), times(vs_httpx),
             times(vs_base), times(vs_model), "" if over is None else f"{over:+.1f}",
             num(rss), target, result],
            {
                "row": case.label,
                "statement": case.statement,
                "import_ms": ms,
                "process_ms_median": median(case.seconds) * 1000,
                "import_ms_min": (min(case.seconds) - min(empty.seconds)) * 1000,
                "rss_mb": rss,
                "ru_maxrss_mb": median([float(k) for k in case.maxrss_kib]) / 1024,
                "ratio_raw_httpx": vs_httpx,
                "ratio_baseline": vs_base,
                "ratio_baseline_basemodel": vs_model,
                "first_client_ms_over_import": over,
                "cpu_ms": cpu,
                "cpu_ratio_baseline": None if case is empty else ratio(cpu, base_cpu),
                "first_client_cpu_ms_over_import": cpu_over,
                "target": target or None,
                "result": result or None,
            },
        )
    empty_ms = median(empty.seconds) * 1000
    section.notes += [
        f"`python -c pass` itself takes {num(empty_ms)} ms (subtracted from every row).",
        "First-client rows: `import metallm` plus the first `Client(provider=...)` (its codec,"
        " the default OTel hook, httpx's transport); `+ms over import metallm` is what the"
        " client adds to a cold start. The httpx client (httpcore, h11, an SSL context) is"
        " built at the first request, so the cold-start row (a first call, refused by"
        " 127.0.0.1:9) shows the whole of a serverless cold start.",
        "CPU ms: the process's own user + system time (getrusage) minus `python -c pass`'s,"
        " steadier than wall time on a busy machine; the verdicts use wall time.",
        "Plain `import pydantic` is lazy: it does not load BaseModel, which every pydantic-based"
        " library loads; the `+ BaseModel` baseline is the fairer floor, and `+ one model`"
        " (defining one model, which loads pydantic's field machinery) what any library with"
        " pydantic models pays before its own code.",
        "RSS: peak resident set of the importing process, interpreter included (VmHWM; Linux"
        " `ru_maxrss` also counts the parent's memory copied by fork before exec, so it is kept"
        " in results.json only).",
        "Bytecode is cached (in a private PYTHONPYCACHEPREFIX, written by one untimed run), as"
        " it is after `pip install`; PYTHONDONTWRITEBYTECODE is unset for these processes.",
    ]
    return section

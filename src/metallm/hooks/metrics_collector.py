"""``MetricsCollector``: in-process call metrics a program can read, print or export itself.

Not every program runs a metrics backend, yet most want to know, per model, how many calls
failed, how many tokens went out and how slow the slow calls are. This hook keeps those figures
in memory, keyed by ``(provider, model)``: counters for calls, errors (by error type), streams,
retries, tokens and cost (the sum of ``response.cost.total`` over the calls whose model has a
price, ``priced_calls`` of them), and a bounded window of the most recent call durations and
times to first chunk from which percentiles are computed when asked. It is another backend
behind the same hook interface as the OpenTelemetry hook, and needs only ``after_response``.

Recording is a few additions under a lock (safe from any thread and from asyncio tasks: it never
awaits); sorting for percentiles happens only in :meth:`MetricsCollector.snapshot` and friends.
"""

from __future__ import annotations

import math
import threading
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from ._chain import AnyRequest, AnyResponse, BaseHook, Failure
from ._info import LLMCallInfo

__all__ = ["LatencyStats", "MetricsCollector", "ModelStats"]

ALL = "*"
"""The ``provider`` and ``model`` of :meth:`MetricsCollector.totals`."""


@dataclass(frozen=True)
class LatencyStats:
    """Latency figures in seconds over a window of recent values.

    Percentiles use the nearest-rank method: ``pN`` is the smallest recorded value that at
    least N % of the values are less than or equal to (always one of the recorded values).
    """

    count: int
    min: float
    max: float
    mean: float
    p50: float
    p90: float
    p99: float

    @classmethod
    def of(cls, values: Iterable[float]) -> LatencyStats | None:
        """The figures of ``values``, or None when there are none."""
        ordered = sorted(values)
        n = len(ordered)
        if not n:
            return None

        def rank(p: float) -> float:
            return ordered[max(1, math.ceil(p / 100.0 * n)) - 1]

        return cls(n, ordered[0], ordered[-1], math.fsum(ordered) / n, rank(50), rank(90), rank(99))


@dataclass(frozen=True)
class ModelStats:
    """Everything recorded for one ``(provider, model)`` (or for all of them, ``"*"``).

    Counters cover every call since the collector was created or reset; ``duration`` (whole
    call, for streams until the stream ended) and ``time_to_first_chunk`` (streams that
    delivered a chunk) cover the most recent ``window`` values and are None when empty.
    ``cost`` sums the known costs (USD for the price data; a custom price's own currency) of
    the ``priced_calls`` calls that had one; calls to unpriced models add nothing to it.
    """

    provider: str
    model: str
    calls: int = 0
    errors: int = 0
    errors_by_type: Mapping[str, int] = field(default_factory=dict)
    streams: int = 0
    retries: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    total_tokens: int = 0
    cost: Decimal = Decimal(0)
    priced_calls: int = 0
    duration: LatencyStats | None = None
    time_to_first_chunk: LatencyStats | None = None

    @property
    def error_rate(self) -> float:
        """``errors / calls`` (0.0 before any call)."""
        return self.errors / self.calls if self.calls else 0.0


class _Series:
    """The mutable figures behind one key; only touched under the collector's lock."""

    __slots__ = (
        "calls",
        "cost",
        "durations",
        "errors",
        "errors_by_type",
        "input_tokens",
        "output_tokens",
        "priced_calls",
        "retries",
        "streams",
        "total_tokens",
        "ttfcs",
    )

    def __init__(self, window: int) -> None:
        self.calls = self.errors = self.streams = self.retries = 0
        self.input_tokens = self.output_tokens = self.total_tokens = 0
        self.cost = Decimal(0)
        self.priced_calls = 0
        self.errors_by_type: dict[str, int] = {}
        self.durations: deque[float] = deque(maxlen=window)
        self.ttfcs: deque[float] = deque(maxlen=window)


class MetricsCollector(BaseHook):
    """A hook that counts calls, errors, retries and tokens and keeps recent latencies.

    ``window`` bounds how many recent durations (and times to first chunk) are kept per
    ``(provider, model)`` for percentiles. Read with :meth:`snapshot`, :meth:`stats`,
    :meth:`totals` or :meth:`render`; :meth:`reset` starts over. A stream that is closed early
    counts as a call, not an error; one that fails or is garbage-collected counts as an error.
    """

    def __init__(self, *, window: int = 10_000) -> None:
        if window < 1:
            raise ValueError("window must be at least 1")
        self.window = window
        self._lock = threading.Lock()
        self._series: dict[tuple[str, str], _Series] = {}

    def __repr__(self) -> str:
        return f"MetricsCollector(window={self.window}, keys={len(self._series)})"

    def after_response(
        self, info: LLMCallInfo, request: AnyRequest, response: AnyResponse | None, error: Failure
    ) -> None:
        """Record one finished call: duration ``info.elapsed``, tokens from ``response``."""
        duration = info.elapsed
        ttfc = info.time_to_first_chunk
        usage = response.usage if response is not None else None
        cost = getattr(response, "cost", None)
        error_type = type(error).__name__ if error is not None else None
        key = (info.provider_name, info.model)
        with self._lock:
            series = self._series.get(key)
            if series is None:
                series = self._series[key] = _Series(self.window)
            series.calls += 1
            series.durations.append(duration)
            if error_type is not None:
                series.errors += 1
                series.errors_by_type[error_type] = series.errors_by_type.get(error_type, 0) + 1
            if info.streaming:
                series.streams += 1
                if ttfc is not None:
                    series.ttfcs.append(ttfc)
            series.retries += info.retries
            if usage is not None:
                series.input_tokens += usage.prompt_tokens
                series.output_tokens += getattr(usage, "completion_tokens", 0)
                series.total_tokens += usage.total_tokens
            if cost is not None:
                series.cost += cost.total
                series.priced_calls += 1

    def reset(self) -> None:
        """Forget everything recorded so far."""
        with self._lock:
            self._series.clear()

    def _copies(self, only: tuple[str, str] | None = None) -> list[tuple[tuple[str, str], _Series]]:
        """A consistent copy of every series (or of key ``only``), taken under the lock."""
        out = []
        with self._lock:
            items = self._series.items() if only is None else [(only, self._series.get(only))]
            for key, s in items:
                if s is None:
                    continue
                c = _Series(self.window)
                c.calls, c.errors, c.streams, c.retries = s.calls, s.errors, s.streams, s.retries
                c.input_tokens, c.output_tokens = s.input_tokens, s.output_tokens
                c.total_tokens, c.errors_by_type = s.total_tokens, dict(s.errors_by_type)
                c.cost, c.priced_calls = s.cost, s.priced_calls
                c.durations, c.ttfcs = s.durations.copy(), s.ttfcs.copy()
                out.append((key, c))
        return out

    @staticmethod
    def _stats(key: tuple[str, str], series: Iterable[_Series]) -> ModelStats:
        parts = list(series)
        errors_by_type: dict[str, int] = {}
        for s in parts:
            for name, n in s.errors_by_type.items():
                errors_by_type[name] = errors_by_type.get(name, 0) + n
        return ModelStats(
            provider=key[0],
            model=key[1],
            calls=sum(s.calls for s in parts),
            errors=sum(s.errors for s in parts),
            errors_by_type=dict(sorted(errors_by_type.items())),
            streams=sum(s.streams for s in parts),
            retries=sum(s.retries for s in parts),
            input_tokens=sum(s.input_tokens for s in parts),
            output_tokens=sum(s.output_tokens for s in parts),
            total_tokens=sum(s.total_tokens for s in parts),
            cost=sum((s.cost for s in parts), Decimal(0)),
            priced_calls=sum(s.priced_calls for s in parts),
            duration=LatencyStats.of(v for s in parts for v in s.durations),
            time_to_first_chunk=LatencyStats.of(v for s in parts for v in s.ttfcs),
        )

    def snapshot(self) -> dict[tuple[str, str], ModelStats]:
        """Figures for every ``(provider, model)`` seen, sorted by key."""
        return {key: self._stats(key, [s]) for key, s in sorted(self._copies())}

    def stats(self, provider: str, model: str) -> ModelStats | None:
        """Figures for one ``(provider, model)``, or None if no call to it was recorded."""
        key = (provider, model)
        found = [s for _, s in self._copies(key)]
        return self._stats(key, found) if found else None

    def totals(self) -> ModelStats:
        """All keys merged (``provider == model == "*"``); percentiles over all their windows."""
        return self._stats((ALL, ALL), (s for _, s in self._copies()))

    def render(self) -> str:
        """A small aligned text table, one row per key plus a total row when there are several.

        Latencies are in milliseconds; ``-`` marks a figure with no values yet.
        """
        snap = self.snapshot()
        rows = [_row(f"{p}/{m}", st) for (p, m), st in snap.items()]
        if len(snap) > 1:
            rows.append(_row("total", self.totals()))
        if not rows:
            return "(no calls recorded)"
        table = [_HEADER, *rows]
        widths = [max(len(r[i]) for r in table) for i in range(len(_HEADER))]
        lines = []
        for r in table:
            cells = [
                c.ljust(w) if i == 0 else c.rjust(w)
                for i, (c, w) in enumerate(zip(r, widths, strict=True))
            ]
            lines.append("  ".join(cells).rstrip())
        return "\n".join(lines)


_HEADER = (
    "provider/model",
    "calls",
    "errors",
    "streams",
    "retries",
    "in tok",
    "out tok",
    "p50 ms",
    "p90 ms",
    "p99 ms",
    "max ms",
    "ttfc p50 ms",
)


def _row(name: str, st: ModelStats) -> tuple[str, ...]:
    def ms(value: float | None) -> str:
        return "-" if value is None else f"{value * 1000.0:.1f}"

    d, t = st.duration, st.time_to_first_chunk
    return (
        name,
        str(st.calls),
        str(st.errors),
        str(st.streams),
        str(st.retries),
        str(st.input_tokens),
        str(st.output_tokens),
        ms(d.p50 if d else None),
        ms(d.p90 if d else None),
        ms(d.p99 if d else None),
        ms(d.max if d else None),
        ms(t.p50 if t else None),
    )

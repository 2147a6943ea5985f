"""Timing helpers shared by the ``measure_*`` modules: order rotation, quiet starts, medians.

On a two-core machine the server process, the measured client and whatever else runs share
the CPUs, so no contender may always go first or last: every measurement runs the contenders in
an order rotated by one place per round, and reports medians (or sums over all rounds).
"""

from __future__ import annotations

import gc
import statistics
import time
from collections.abc import Sequence
from typing import TypeVar

__all__ = ["clock", "cpu_clock", "median", "quiet", "rotated", "split"]

_T = TypeVar("_T")

clock = time.perf_counter
"""The clock every figure is read from."""

cpu_clock = time.process_time
"""This process's CPU time (user + system), printed beside wall times to show contention."""


def rotated(items: Sequence[_T], round_index: int) -> list[_T]:
    """``items`` rotated left by ``round_index`` places (round 0: as given)."""
    if not items:
        return []
    shift = round_index % len(items)
    return [*items[shift:], *items[:shift]]


def quiet() -> None:
    """Start a timed block from a clean heap (a full ``gc.collect()``)."""
    gc.collect()


def median(values: Sequence[float]) -> float:
    """``statistics.median`` (named here so every module reads the same way)."""
    return statistics.median(values)


def split(total: int, parts: int) -> list[int]:
    """``total`` cut into ``parts`` near-equal positive sizes (fewer if ``total`` is small)."""
    parts = max(1, min(parts, total))
    size, extra = divmod(total, parts)
    return [size + (1 if i < extra else 0) for i in range(parts)]

"""Observability hooks: the protocol every backend implements, and the hooks metallm ships.

- :class:`ObservabilityHook` (the protocol), :class:`BaseHook` (a do-nothing base to
  subclass), :class:`LLMCallInfo` (what a hook knows about one
  call) and :class:`HookChain` (runs a client's hooks in order, each guarded, so a failing hook
  never breaks a call);
- :class:`ToolLoopInfo` and :class:`ToolCallInfo`: what a hook knows about a ``run_tools``
  loop and each tool execution in it;
- :class:`LoggingHook`: one structured log record per call;
- :class:`MetricsCollector`: in-process per-model call figures.

The OpenTelemetry hook, the default, lives in :mod:`metallm.otel`.
"""

from typing import TYPE_CHECKING

from .._lazy import lazy_attributes
from ._chain import (
    AnyRequest,
    AnyResponse,
    BaseHook,
    ChunkIterator,
    Failure,
    HookChain,
    ObservabilityHook,
)
from ._info import LLMCallInfo, Operation, RouteInfo, StreamEndReason, SubRequest, clock

if TYPE_CHECKING:
    from ._tool_info import ToolCallInfo, ToolLoopInfo
    from .logging_hook import LOG_FIELDS, LoggingHook
    from .metrics_collector import LatencyStats, MetricsCollector, ModelStats

_LAZY = {
    "LOG_FIELDS": "logging_hook",
    "LatencyStats": "metrics_collector",
    "LoggingHook": "logging_hook",
    "MetricsCollector": "metrics_collector",
    "ModelStats": "metrics_collector",
    "ToolCallInfo": "_tool_info",
    "ToolLoopInfo": "_tool_info",
}
"""The hooks a client does not run by default, and the tool loop's infos, imported at their
first use: their five dataclasses cost about 4 ms of ``import metallm`` (dataclass creation
is most of metallm's own import time on Python 3.11: about 0.5 ms a class)."""

if not TYPE_CHECKING:  # type checkers read the imports above
    __getattr__, __dir__ = lazy_attributes(__name__, _LAZY, globals())

__all__ = [
    "LOG_FIELDS",
    "AnyRequest",
    "AnyResponse",
    "BaseHook",
    "ChunkIterator",
    "Failure",
    "HookChain",
    "LLMCallInfo",
    "LatencyStats",
    "LoggingHook",
    "MetricsCollector",
    "ModelStats",
    "ObservabilityHook",
    "Operation",
    "RouteInfo",
    "StreamEndReason",
    "SubRequest",
    "ToolCallInfo",
    "ToolLoopInfo",
    "clock",
]

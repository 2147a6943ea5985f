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
from ._tool_info import ToolCallInfo, ToolLoopInfo
from .logging_hook import LOG_FIELDS, LoggingHook
from .metrics_collector import LatencyStats, MetricsCollector, ModelStats

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

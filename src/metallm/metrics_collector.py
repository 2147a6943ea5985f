"""Where ``MetricsCollector`` was first published; it lives in :mod:`metallm.hooks` now."""

from .hooks.metrics_collector import LatencyStats, MetricsCollector, ModelStats

__all__ = ["LatencyStats", "MetricsCollector", "ModelStats"]

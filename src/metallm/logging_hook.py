"""Where ``LoggingHook`` was first published; it lives in :mod:`metallm.hooks` now."""

from .hooks.logging_hook import LOG_FIELDS, LoggingHook

__all__ = ["LOG_FIELDS", "LoggingHook"]

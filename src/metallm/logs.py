"""Logging: an injectable logger, silent by default, and a context-scoped logger.

metallm logs through the standard :mod:`logging` module under the ``metallm`` logger, which has
a ``NullHandler`` so a library user sees nothing unless they configure logging. A client takes
its own ``logger=``. :func:`log_context` is the Python form of the Go design's
``ContextWithLogger``: inside it (in this thread or asyncio task, via :mod:`contextvars`) every
record metallm emits goes to the given logger and carries the given fields (trace id, user id,
...) as ``extra`` attributes, without threading them through every call.

Nothing logged here ever contains an API key: call sites log names, statuses and durations,
and exception texts pass through :func:`metallm.errors.redact` first.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping, MutableMapping
from contextlib import contextmanager
from contextvars import ContextVar
from types import MappingProxyType
from typing import Any

__all__ = ["ContextLogger", "default_logger", "log_context", "logger_from_context"]

_LOGGER = logging.getLogger("metallm")
_LOGGER.addHandler(logging.NullHandler())

_context_logger: ContextVar[logging.Logger | None] = ContextVar("metallm_logger", default=None)
_context_fields: ContextVar[Mapping[str, Any]] = ContextVar(
    "metallm_log_fields", default=MappingProxyType({})
)


def default_logger() -> logging.Logger:
    """The ``metallm`` logger (silent unless the application configures logging)."""
    return _LOGGER


class ContextLogger(logging.LoggerAdapter):  # type: ignore[type-arg]
    """A logger adapter that adds the context's fields to every record's ``extra``."""

    def process(
        self, msg: Any, kwargs: MutableMapping[str, Any]
    ) -> tuple[Any, MutableMapping[str, Any]]:
        fields = _context_fields.get()
        if fields or self.extra:
            merged = {**(self.extra or {}), **fields, **kwargs.get("extra", {})}
            kwargs["extra"] = merged
        return msg, kwargs


@contextmanager
def log_context(logger: logging.Logger | None = None, **fields: Any) -> Iterator[None]:
    """Route metallm's records inside the block to ``logger`` and tag them with ``fields``.

    Nested blocks merge their fields; the previous logger and fields come back on exit.
    """
    token_l = _context_logger.set(logger) if logger is not None else None
    token_f = _context_fields.set({**_context_fields.get(), **fields})
    try:
        yield
    finally:
        _context_fields.reset(token_f)
        if token_l is not None:
            _context_logger.reset(token_l)


def logger_from_context(fallback: logging.Logger | None = None) -> ContextLogger:
    """The context's logger (else ``fallback``, else ``metallm``), tagged with its fields."""
    return ContextLogger(_context_logger.get() or fallback or _LOGGER, {})

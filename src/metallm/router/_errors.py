"""The router's own error: every target it could use failed.

It lives beside the router rather than in :mod:`metallm.errors` (which draws it in its tree)
because only a routed call raises it; it is an :class:`~metallm.APIError`, so code that
catches provider errors catches it too.
"""

from __future__ import annotations

from typing import NamedTuple

from ..errors import APIError

__all__ = ["AllTargetsFailedError", "FailedAttempt"]


class FailedAttempt(NamedTuple):
    """One failed attempt of a routed call: the target's name and what it raised."""

    target: str
    error: BaseException


class AllTargetsFailedError(APIError):
    """Every target of a routed call failed (or was unavailable): ``attempts`` lists each
    attempt's target and exception, newest last; ``skipped`` maps the targets never tried
    to why (``circuit_open``, ``requests``, ``tokens``, ``concurrency``,
    ``context_window``). ``status_code`` and ``retry_after`` are the last attempt's (for a
    call that found every circuit open, ``retry_after`` is when the first one half-opens).
    """

    def __init__(
        self,
        attempts: list[FailedAttempt],
        skipped: dict[str, str] | None = None,
        retry_after: float | None = None,
    ) -> None:
        self.attempts = attempts
        self.skipped = dict(skipped or {})
        last = attempts[-1].error if attempts else None
        parts = [f"{a.target}: {type(a.error).__name__}: {a.error}" for a in attempts]
        parts += [f"{name}: not tried ({why})" for name, why in self.skipped.items()]
        count = len(attempts)
        super().__init__(
            f"all targets failed ({count} attempt{'s' if count != 1 else ''}): " + "; ".join(parts),
            provider="router",
            status_code=getattr(last, "status_code", None),
            retry_after=retry_after if last is None else getattr(last, "retry_after", None),
        )

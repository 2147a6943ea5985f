"""``LoggingHook``: one structured :mod:`logging` record per LLM call, for apps without tracing.

Many programs have a log pipeline (JSON logs shipped to a search index) long before they have
OpenTelemetry. This hook gives them what a span would hold, as one record per call written when
the call ends (for a stream: when it is drained, closed, fails or is garbage-collected): a short
human message and a fixed set of ``llm_*`` attributes in ``extra`` that formatters and JSON
handlers can read. It also shows that the hook interface serves backends other than tracing.

It costs nothing per chunk (the chunk count comes from ``info.chunk_gaps``, which the client
keeps anyway) and nothing at all when its level is disabled. Error texts go through
``info.redact`` so the API key never reaches a log, even when a provider echoes it.
"""

from __future__ import annotations

import logging
from typing import Any

from ..logs import ContextLogger, logger_from_context
from ._chain import AnyRequest, AnyResponse, BaseHook, Failure
from ._info import LLMCallInfo

__all__ = ["LOG_FIELDS", "LoggingHook"]

LOG_FIELDS: tuple[str, ...] = (
    "llm_call_id",
    "llm_provider",
    "llm_model",
    "llm_response_model",
    "llm_streaming",
    "llm_duration_ms",
    "llm_time_to_first_chunk_ms",
    "llm_chunks",
    "llm_input_tokens",
    "llm_output_tokens",
    "llm_total_tokens",
    "llm_cost",
    "llm_cost_currency",
    "llm_finish_reasons",
    "llm_retries",
    "llm_end_reason",
    "llm_error_type",
    "llm_status_code",
    "llm_error",
)
"""The ``extra`` attributes of every end-of-call record; all present, ``None`` when unknown."""

_START_FIELDS = ("llm_call_id", "llm_provider", "llm_model", "llm_streaming")


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000.0, 3)


class LoggingHook(BaseHook):
    """Logs each call once when it ends, with structured ``llm_*`` fields (see ``LOG_FIELDS``).

    ``logger``: where records go; by default the logger of the current
    :func:`metallm.log_context` (else ``metallm``). Either way the context's fields (trace id,
    user id, ...) are attached. ``level`` is used for calls that succeed or are closed early,
    ``error_level`` for calls that fail; ``log_start=True`` adds a DEBUG record when a call
    starts. Field meanings:

    - ``llm_duration_ms``: call start to end (for streams, to the end of the stream);
      ``llm_time_to_first_chunk_ms`` and ``llm_chunks``: streams only, else ``None``.
    - ``llm_input_tokens`` / ``llm_output_tokens`` / ``llm_total_tokens``: from the response's
      usage, ``None`` when the provider reported none (e.g. a stream closed early).
    - ``llm_cost`` / ``llm_cost_currency``: ``response.cost.total`` as a float (a number JSON
      log pipelines can sum) and its currency; ``None`` when the model has no price.
    - ``llm_finish_reasons``: the choices' finish reasons (a list, possibly empty).
    - ``llm_end_reason``: ``complete``, ``closed``, ``error`` or ``garbage_collected``, also
      for plain calls (``complete`` or ``error``).
    - ``llm_error_type`` / ``llm_status_code`` / ``llm_error``: the exception's class name,
      HTTP status (``None`` when there was none) and redacted text; all ``None`` on success.
    """

    def __init__(
        self,
        logger: logging.Logger | None = None,
        *,
        level: int = logging.INFO,
        error_level: int = logging.WARNING,
        log_start: bool = False,
    ) -> None:
        self.logger = logger
        self.level = level
        self.error_level = error_level
        self.log_start = log_start

    def __repr__(self) -> str:
        name = self.logger.name if self.logger is not None else "<context>"
        return f"LoggingHook(logger={name!r}, level={logging.getLevelName(self.level)!r})"

    def _target(self) -> ContextLogger:
        if self.logger is None:
            return logger_from_context()
        return ContextLogger(self.logger, {})

    def before_request(self, info: LLMCallInfo, request: AnyRequest) -> None:
        """Log the start of the call at DEBUG when ``log_start`` is set."""
        if not self.log_start:
            return
        log = self._target()
        if not log.isEnabledFor(logging.DEBUG):
            return
        kind = "stream " if info.streaming else ""
        values = (info.call_id, info.provider_name, info.model, info.streaming)
        log.debug(
            "metallm %s %s/%s %sstarted",
            info.operation,
            info.provider_name,
            info.model,
            kind,
            extra=dict(zip(_START_FIELDS, values, strict=True)),
        )

    def after_response(
        self, info: LLMCallInfo, request: AnyRequest, response: AnyResponse | None, error: Failure
    ) -> None:
        """Write the call's record: ``level`` on success or early close, else ``error_level``."""
        duration = info.elapsed
        level = self.level if error is None else self.error_level
        log = self._target()
        if not log.isEnabledFor(level):
            return
        fields = self.fields(info, response, error, duration)
        log.log(level, info.redact(self.message(fields, info.operation)), extra=fields)

    @staticmethod
    def fields(
        info: LLMCallInfo,
        response: AnyResponse | None,
        error: BaseException | None,
        duration: float,
    ) -> dict[str, Any]:
        """The record's ``extra`` attributes (``LOG_FIELDS``), every text already redacted."""
        usage = response.usage if response is not None else None
        cost = getattr(response, "cost", None)
        ttfc = info.time_to_first_chunk
        chunks: int | None = None
        if info.streaming:
            chunks = 0 if ttfc is None else len(info.chunk_gaps) + 1
        status = getattr(error, "status_code", None) if error is not None else None
        end_reason = info.end_reason or ("complete" if error is None else "error")
        values = (
            info.call_id,
            info.provider_name,
            info.model,
            info.redact(response.model) if response is not None and response.model else None,
            info.streaming,
            _ms(duration),
            _ms(ttfc),
            chunks,
            usage.prompt_tokens if usage is not None else None,
            getattr(usage, "completion_tokens", 0) if usage is not None else None,
            usage.total_tokens if usage is not None else None,
            float(cost.total) if cost is not None else None,
            cost.currency if cost is not None else None,
            [c.finish_reason for c in getattr(response, "choices", ()) if c.finish_reason],
            info.retries,
            end_reason,
            type(error).__name__ if error is not None else None,
            status if isinstance(status, int) else None,
            info.redact(str(error)) if error is not None else None,
        )
        return dict(zip(LOG_FIELDS, values, strict=True))

    @staticmethod
    def message(fields: dict[str, Any], operation: str = "chat") -> str:
        """The human line, e.g. ``metallm chat openai/gpt-4o ok in 812.3 ms, 12+34 tokens``
        (``metallm embeddings ...`` for embeddings calls)."""
        failed = fields["llm_error_type"] is not None
        end = fields["llm_end_reason"]
        if end == "garbage_collected":
            outcome = "abandoned (garbage-collected)"
        elif failed:
            outcome = "failed"
        else:
            outcome = "closed early" if end == "closed" else "ok"
        kind = " stream" if fields["llm_streaming"] else ""
        parts = [
            f"metallm {operation} {fields['llm_provider']}/{fields['llm_model']}{kind} {outcome}"
            f" in {fields['llm_duration_ms']:.1f} ms"
        ]
        retries = fields["llm_retries"]
        if retries:
            parts[0] += f" after {retries} {'retry' if retries == 1 else 'retries'}"
        chunks = fields["llm_chunks"]
        if chunks is not None:
            first = fields["llm_time_to_first_chunk_ms"]
            noun = "chunk" if chunks == 1 else "chunks"
            parts.append(f"{chunks} {noun}" + (f", first at {first:.1f} ms" if chunks else ""))
        if fields["llm_input_tokens"] is not None:
            parts.append(f"{fields['llm_input_tokens']}+{fields['llm_output_tokens']} tokens")
        text = ", ".join(parts)
        if failed:
            status = fields["llm_status_code"]
            text += f": {fields['llm_error_type']}" + (f" {status}" if status is not None else "")
        return text

"""Observability hooks and context-scoped logging.

A hook sees every call (``before_request``, ``after_response``, ``wrap_stream``); a failing hook
is logged and skipped. ``log_context`` attaches request-level fields (trace id, user id) to
every record metallm logs inside the block.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import metallm
from metallm import LLMCallInfo


class TimingHook:
    """Prints one line per call: provider, model, duration, tokens or error."""

    def before_request(self, info: LLMCallInfo, request: metallm.ChatCompletionRequest) -> None:
        print(f"[{info.call_id}] start {info.provider_name} {info.model} stream={info.streaming}")

    def after_response(
        self, info: LLMCallInfo, request: Any, response: Any, error: BaseException | None
    ) -> None:
        ms = info.elapsed * 1000
        if error is not None:
            print(f"[{info.call_id}] failed after {ms:.1f} ms: {error!r}")
        else:
            tokens = response.usage.total_tokens if response and response.usage else "?"
            print(f"[{info.call_id}] done in {ms:.1f} ms, {tokens} tokens, end={info.end_reason}")

    def wrap_stream(
        self, info: LLMCallInfo, request: Any, stream: Iterator[metallm.ChatCompletionChunk]
    ) -> Any:
        def counted() -> Iterator[metallm.ChatCompletionChunk]:
            n = 0
            for chunk in stream:
                n += 1
                yield chunk
            print(f"[{info.call_id}] {n} chunks")

        return counted() if not info.is_async else stream


def main() -> None:
    handler = logging.StreamHandler()
    fmt = "%(levelname)s %(name)s %(message)s trace=%(trace_id)s"
    handler.setFormatter(logging.Formatter(fmt, defaults={"trace_id": "-"}))
    app_logger = logging.getLogger("myapp.llm")
    app_logger.addHandler(handler)
    app_logger.setLevel(logging.INFO)
    hook: metallm.ObservabilityHook = TimingHook()
    with (
        metallm.Client(provider="openai", hooks=[hook], logger=app_logger) as client,
        metallm.log_context(logger=app_logger, trace_id="trace-123", user_id="u-42"),
    ):
        metallm.logger_from_context().info("calling the model")
        client.create_chat_completion(
            model="gpt-4o-mini", messages=[metallm.Message(role="user", content="hi")]
        )
        with client.create_chat_completion_stream(
            model="gpt-4o-mini", messages=[metallm.Message(role="user", content="stream")]
        ) as stream:
            for _ in stream:
                pass


if __name__ == "__main__":
    main()

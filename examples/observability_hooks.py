"""Built-in hooks without OpenTelemetry: JSON call logs and in-process metrics.

``LoggingHook`` writes one structured ``logging`` record per call (here rendered as JSON lines,
as a log shipper would want them); ``MetricsCollector`` keeps per-model counters and latency
percentiles the program reads itself. Both are plain hooks, side by side in ``hooks=[...]``.

Run against the real API with OPENAI_API_KEY set, or offline as the test suite does, with
OPENAI_BASE_URL pointing at a metallm.testing.FakeLLMServer.
"""

from __future__ import annotations

import json
import logging
import sys

import metallm
from metallm.logging_hook import LOG_FIELDS, LoggingHook
from metallm.metrics_collector import LatencyStats, MetricsCollector, ModelStats


class JSONLines(logging.Formatter):
    """One JSON object per record: the message, the ``llm_*`` fields and the trace id."""

    def format(self, record: logging.LogRecord) -> str:
        doc = {"level": record.levelname, "message": record.getMessage()}
        doc.update({k: getattr(record, k) for k in (*LOG_FIELDS, "trace_id") if hasattr(record, k)})
        return json.dumps(doc)


def main() -> None:
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(JSONLines())
    app_logger = logging.getLogger("myapp.llm")
    app_logger.addHandler(handler)
    app_logger.setLevel(logging.INFO)

    metrics = MetricsCollector(window=1_000)
    hooks = [LoggingHook(app_logger), metrics]
    messages = [metallm.Message(role=metallm.Role.USER, content="Say hello in five words.")]
    model = metallm.models.GPT_4O_MINI

    with (
        metallm.Client(provider="openai", hooks=hooks) as client,
        metallm.log_context(trace_id="trace-7"),  # its fields land on every record
    ):
        client.create_chat_completion(model=model, messages=messages, max_tokens=20)
        with client.create_chat_completion_stream(model=model, messages=messages) as stream:
            for _ in stream:
                pass
        with client.create_chat_completion_stream(model=model, messages=messages) as stream:
            next(stream)  # leaving the block early: logged as "closed early"

    # A failing call: nothing listens on port 9, so the connection is refused at once.
    with metallm.Client(
        provider="openai", base_url="http://127.0.0.1:9/v1", hooks=hooks, max_retries=0, timeout=5
    ) as unreachable:
        try:
            unreachable.create_chat_completion(model=model, messages=messages)
        except metallm.APIConnectionError as exc:
            print("expected failure:", type(exc).__name__)

    print()
    print(metrics.render())
    stats: ModelStats | None = metrics.stats("openai", model)
    if stats is not None and stats.duration is not None:
        duration: LatencyStats = stats.duration
        print(f"p50 {duration.p50 * 1000:.1f} ms, p99 {duration.p99 * 1000:.1f} ms")
    totals = metrics.totals()
    print(f"totals: {totals.calls} calls, {totals.errors} failed, {totals.total_tokens} tokens")


if __name__ == "__main__":
    main()

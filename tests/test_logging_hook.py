"""LoggingHook: one structured record per call, sync and async, plain and streamed, never a key."""

from __future__ import annotations

import gc
import itertools
import logging
import re
from typing import Any

import pytest

import metallm
from _helpers import MODES, complete, stream, user
from metallm.logging_hook import LOG_FIELDS, LoggingHook
from metallm.testing import FakeLLMServer, ScriptedReply, ScriptedUsage
from metallm.testing.fake_provider import FakeProvider

SECRET = "sk-test-SECRET-123456"
_names = itertools.count()


class Capture(logging.Handler):
    """Keeps every record it is handed."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def cap() -> tuple[logging.Logger, Capture]:
    """A private logger (DEBUG, not propagating) and the handler recording what it gets."""
    logger = logging.getLogger(f"test.logging_hook.{next(_names)}")
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    handler = Capture()
    logger.addHandler(handler)
    return logger, handler


def _req(model: str = "m") -> metallm.ChatCompletionRequest:
    return metallm.ChatCompletionRequest(model=model, messages=[user("hi")])


def _kwargs(provider: Any, hook: Any, **extra: Any) -> dict[str, Any]:
    return {"custom_provider": provider, "hooks": [hook], "max_retries": 0, **extra}


def _fields(record: logging.LogRecord) -> dict[str, Any]:
    return {name: getattr(record, name) for name in LOG_FIELDS}


def _no_secret(records: list[logging.LogRecord]) -> None:
    for record in records:
        everything = f"{record.getMessage()} {record.msg} {record.args!r} {vars(record)!r}"
        assert SECRET not in everything
        assert record.exc_info is None and record.exc_text is None


def test_is_an_observability_hook() -> None:
    assert isinstance(LoggingHook(), metallm.ObservabilityHook)
    assert "LoggingHook" in repr(LoggingHook())


@pytest.mark.parametrize("mode", MODES)
def test_plain_call_logs_one_record_with_every_field(mode: str, cap: Any) -> None:
    logger, handler = cap
    resp = complete(mode, _kwargs(FakeProvider(["hello there"]), LoggingHook(logger)), _req())
    assert resp.content == "hello there"
    (record,) = handler.records
    assert record.levelno == logging.INFO
    f = _fields(record)
    assert f["llm_duration_ms"] > 0
    assert re.fullmatch(r"metallm chat fake/m ok in \d+\.\d ms, 1\+2 tokens", record.getMessage())
    assert f["llm_call_id"].startswith("call-")
    del f["llm_call_id"], f["llm_duration_ms"]
    assert f == {
        "llm_provider": "fake",
        "llm_model": "m",
        "llm_response_model": "m",
        "llm_streaming": False,
        "llm_time_to_first_chunk_ms": None,
        "llm_chunks": None,
        "llm_input_tokens": 1,
        "llm_output_tokens": 2,
        "llm_total_tokens": 3,
        "llm_cost": None,  # a custom provider's model "m" has no price
        "llm_cost_currency": None,
        "llm_finish_reasons": ["stop"],
        "llm_retries": 0,
        "llm_end_reason": "complete",
        "llm_error_type": None,
        "llm_status_code": None,
        "llm_error": None,
    }


@pytest.mark.parametrize("mode", MODES)
def test_drained_stream_counts_chunks_and_first_chunk_time(mode: str, cap: Any) -> None:
    logger, handler = cap
    provider = FakeProvider(["a streamed reply"])
    chunks, final = stream(mode, _kwargs(provider, LoggingHook(logger)), _req())
    assert final.content == "a streamed reply"
    (record,) = handler.records
    f = _fields(record)
    assert record.levelno == logging.INFO
    assert f["llm_streaming"] is True and f["llm_end_reason"] == "complete"
    assert f["llm_chunks"] == len(chunks) == 5
    assert 0 < f["llm_time_to_first_chunk_ms"] <= f["llm_duration_ms"]
    assert f["llm_finish_reasons"] == ["stop"]
    assert f["llm_input_tokens"] is None  # FakeProvider streams report no usage
    assert re.fullmatch(
        r"metallm chat fake/m stream ok in [\d.]+ ms, 5 chunks, first at [\d.]+ ms",
        record.getMessage(),
    )


@pytest.mark.parametrize("mode", MODES)
def test_stream_closed_early_is_logged_once_as_closed(mode: str, cap: Any) -> None:
    logger, handler = cap
    provider = FakeProvider(["a long streamed reply"])
    chunks, _ = stream(mode, _kwargs(provider, LoggingHook(logger)), _req(), take=2)
    assert len(chunks) == 2
    (record,) = handler.records
    assert record.levelno == logging.INFO
    assert record.llm_end_reason == "closed"
    assert record.llm_chunks == 2
    assert record.llm_error_type is None
    assert " stream closed early in " in record.getMessage()


@pytest.mark.parametrize("mode", MODES)
def test_failure_is_logged_at_error_level_with_type_and_status(mode: str, cap: Any) -> None:
    logger, handler = cap
    provider = FakeProvider([metallm.RateLimitError("slow down", status_code=429)])
    with pytest.raises(metallm.RateLimitError):
        complete(mode, _kwargs(provider, LoggingHook(logger)), _req())
    (record,) = handler.records
    assert record.levelno == logging.WARNING
    assert re.fullmatch(r"metallm chat fake/m failed in [\d.]+ ms: RateLimitError 429", record.msg)
    f = _fields(record)
    assert f["llm_error_type"] == "RateLimitError"
    assert f["llm_status_code"] == 429
    assert "slow down" in f["llm_error"]
    assert f["llm_end_reason"] == "error"
    assert f["llm_input_tokens"] is None and f["llm_finish_reasons"] == []


@pytest.mark.parametrize("mode", MODES)
def test_retries_are_counted_and_levels_are_configurable(mode: str, cap: Any) -> None:
    logger, handler = cap
    provider = FakeProvider([metallm.RateLimitError("busy", status_code=429), "fine"])
    policy = metallm.RetryPolicy(max_retries=2, initial_backoff=0, jitter=0)
    hook = LoggingHook(logger, level=logging.DEBUG, error_level=logging.ERROR)
    kwargs = {"custom_provider": provider, "hooks": [hook], "retry": policy}
    assert complete(mode, kwargs, _req()).content == "fine"
    (record,) = handler.records
    assert record.levelno == logging.DEBUG
    assert record.llm_retries == 1
    assert " ok in " in record.msg and " after 1 retry, 1+1 tokens" in record.msg


def test_garbage_collected_stream_is_logged_as_abandoned(cap: Any) -> None:
    logger, handler = cap
    client = metallm.Client(**_kwargs(FakeProvider(["abandoned reply"]), LoggingHook(logger)))
    s = client.create_chat_completion_stream(_req())
    next(s)
    del s
    gc.collect()
    (record,) = handler.records
    assert record.levelno == logging.WARNING
    assert record.llm_end_reason == "garbage_collected"
    assert record.llm_error_type == "StreamError"
    assert record.llm_chunks == 1
    assert " stream abandoned (garbage-collected) in " in record.msg
    assert record.msg.endswith(": StreamError")


@pytest.mark.parametrize("mode", MODES)
def test_key_echoed_in_errors_never_reaches_a_record(mode: str, cap: Any) -> None:
    logger, handler = cap
    provider = FakeProvider(
        [
            metallm.AuthenticationError(f"bad key {SECRET}", status_code=401),
            RuntimeError(f"transport broke while sending {SECRET}"),
        ]
    )
    kwargs = _kwargs(provider, LoggingHook(logger, log_start=True), api_key=SECRET)
    with pytest.raises(metallm.AuthenticationError):
        complete(mode, kwargs, _req())
    with pytest.raises(RuntimeError):
        complete(mode, kwargs, _req())
    ends = [r for r in handler.records if r.levelno == logging.WARNING]
    assert [r.llm_error_type for r in ends] == ["AuthenticationError", "RuntimeError"]
    assert ends[0].llm_error.endswith("bad key [REDACTED]")
    assert ends[1].llm_error == "transport broke while sending [REDACTED]"
    _no_secret(handler.records)


def test_log_start_adds_a_debug_record(cap: Any) -> None:
    logger, handler = cap
    complete("sync", _kwargs(FakeProvider(["x"]), LoggingHook(logger, log_start=True)), _req())
    start, end = handler.records
    assert start.levelno == logging.DEBUG
    assert start.getMessage() == "metallm chat fake/m started"
    assert start.llm_call_id == end.llm_call_id
    assert (start.llm_provider, start.llm_model, start.llm_streaming) == ("fake", "m", False)


def test_disabled_level_writes_nothing(cap: Any) -> None:
    logger, handler = cap
    logger.setLevel(logging.WARNING)
    provider = FakeProvider(["ok", metallm.RateLimitError("no", status_code=429)])
    kwargs = _kwargs(provider, LoggingHook(logger, log_start=True))
    complete("sync", kwargs, _req())
    assert handler.records == []
    with pytest.raises(metallm.RateLimitError):
        complete("sync", kwargs, _req())
    assert [r.llm_error_type for r in handler.records] == ["RateLimitError"]


@pytest.mark.parametrize("mode", MODES)
def test_records_carry_log_context_fields_and_follow_its_logger(mode: str, cap: Any) -> None:
    logger, handler = cap
    explicit, explicit_handler = logging.getLogger(f"test.explicit.{next(_names)}"), Capture()
    explicit.addHandler(explicit_handler)
    explicit.setLevel(logging.INFO)
    explicit.propagate = False
    provider = FakeProvider(["one", "two"])
    with metallm.log_context(logger=logger, trace_id="trace-9"):
        complete(mode, _kwargs(provider, LoggingHook()), _req())
        complete(mode, _kwargs(provider, LoggingHook(explicit)), _req())
    (ctx_record,) = handler.records  # no logger given: the context's logger
    (own_record,) = explicit_handler.records  # a logger given: it wins, fields still attached
    assert ctx_record.trace_id == own_record.trace_id == "trace-9"


@pytest.mark.parametrize("mode", MODES)
def test_over_http_tokens_chunks_and_an_echoed_key(mode: str, cap: Any) -> None:
    logger, handler = cap
    with FakeLLMServer() as server:
        server.enqueue(
            ScriptedReply(text="plain answer", usage=ScriptedUsage(7, 3)),
            ScriptedReply(text="streamed answer", chunk_size=2, usage=ScriptedUsage(5, 8)),
            ScriptedReply.error(429, f"Rate limited for key {SECRET}"),
        )
        kwargs = {
            "provider": "openai",
            "base_url": server.base_url("openai"),
            "api_key": SECRET,
            "hooks": [LoggingHook(logger, log_start=True)],
            "max_retries": 0,
        }
        assert complete(mode, kwargs, _req("gpt-4o")).content == "plain answer"
        chunks, final = stream(mode, kwargs, _req("gpt-4o"))
        assert final.content == "streamed answer"
        with pytest.raises(metallm.RateLimitError):
            complete(mode, kwargs, _req("gpt-4o"))
    plain, streamed, failed = (r for r in handler.records if r.levelno >= logging.INFO)
    assert (plain.llm_input_tokens, plain.llm_output_tokens, plain.llm_total_tokens) == (7, 3, 10)
    assert plain.llm_provider == "openai" and plain.llm_response_model == "gpt-4o"
    assert plain.msg.endswith(", 7+3 tokens")
    assert (streamed.llm_input_tokens, streamed.llm_output_tokens) == (5, 8)
    assert streamed.llm_chunks == len(chunks) > 8
    assert streamed.llm_time_to_first_chunk_ms <= streamed.llm_duration_ms
    assert failed.levelno == logging.WARNING and failed.llm_status_code == 429
    assert failed.msg.endswith(": RateLimitError 429")
    assert "[REDACTED]" in failed.llm_error
    assert len(handler.records) == 6  # three starts, three ends
    _no_secret(handler.records)

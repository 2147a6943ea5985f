"""Logging: silent by default, injectable, and context-scoped fields across threads and tasks."""

from __future__ import annotations

import asyncio
import logging
import threading

import pytest

import metallm
from metallm.testing.fake_provider import FakeProvider


def test_metallm_logger_is_silent_by_default() -> None:
    logger = logging.getLogger("metallm")
    assert any(isinstance(h, logging.NullHandler) for h in logger.handlers)


def test_log_context_routes_and_tags_records(caplog: pytest.LogCaptureFixture) -> None:
    mine = logging.getLogger("myapp.requests")
    with caplog.at_level(logging.INFO):
        with metallm.log_context(logger=mine, trace_id="t-1"):
            with metallm.log_context(user_id="u-9"):
                metallm.logger_from_context().info("inner")
            metallm.logger_from_context().info("outer")
        metallm.logger_from_context().info("after")
    inner, outer, after = caplog.records[-3:]
    assert inner.name == "myapp.requests" and inner.trace_id == "t-1" and inner.user_id == "u-9"  # type: ignore[attr-defined]
    assert outer.trace_id == "t-1" and not hasattr(outer, "user_id")  # type: ignore[attr-defined]
    assert after.name == "metallm" and not hasattr(after, "trace_id")


def test_context_is_per_thread_and_per_task() -> None:
    seen: dict[str, object] = {}

    def worker() -> None:
        seen["thread"] = metallm.logger_from_context().extra

    with metallm.log_context(trace_id="main"):
        t = threading.Thread(target=worker)
        t.start()
        t.join()

    async def task(name: str) -> str:
        with metallm.log_context(trace_id=name):
            await asyncio.sleep(0.01)
            return str(metallm.logs._context_fields.get()["trace_id"])

    async def both() -> list[str]:
        return list(await asyncio.gather(task("a"), task("b")))

    assert asyncio.run(both()) == ["a", "b"]
    assert "trace_id" not in metallm.logs._context_fields.get()


def test_client_retry_logs_go_to_context_logger(caplog: pytest.LogCaptureFixture) -> None:
    fp = FakeProvider([metallm.InternalServerError("boom", status_code=500), "ok"])
    client = metallm.Client(custom_provider=fp, retry=metallm.RetryPolicy(initial_backoff=0.001))
    with (
        caplog.at_level(logging.INFO),
        metallm.log_context(logger=logging.getLogger("req"), request_id="r-7"),
    ):
        client.create_chat_completion(model="m", messages=[{"role": "user", "content": "x"}])
    rec = next(r for r in caplog.records if "retrying" in r.getMessage())
    assert rec.name == "req" and rec.request_id == "r-7"  # type: ignore[attr-defined]

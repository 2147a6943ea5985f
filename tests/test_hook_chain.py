"""HookChain: each hook point runs every hook that has it, guarded; BaseHook's no-ops are free."""

from __future__ import annotations

import logging
from typing import Any

import pytest

import metallm
from metallm.hooks import BaseHook, HookChain, LLMCallInfo


class OnlyAfter(BaseHook):
    def __init__(self) -> None:
        self.seen: list[Any] = []

    def after_response(self, info: Any, request: Any, response: Any, error: Any) -> None:
        self.seen.append((response, error))


class Broken:
    def before_request(self, info: Any, request: Any) -> None:
        raise RuntimeError("hook bug")

    def on_retry(self, info: Any, event: Any) -> None:
        raise RuntimeError("hook bug")


def _info() -> LLMCallInfo:
    return LLMCallInfo.start("p", "m", streaming=False, is_async=False)


def test_a_base_hook_is_an_observability_hook_whose_no_ops_are_skipped() -> None:
    hook = OnlyAfter()
    assert isinstance(hook, metallm.ObservabilityHook)
    chain = HookChain([hook], logging.getLogger("test"))
    assert chain._before == [] and chain._wrap == []
    assert len(chain._after) == 1
    chain.after_response(_info(), None, "resp", None)  # type: ignore[arg-type]
    assert hook.seen == [("resp", None)]


def test_a_failing_hook_is_logged_and_the_others_still_run(
    caplog: pytest.LogCaptureFixture,
) -> None:
    after = OnlyAfter()
    chain = HookChain([Broken(), after], logging.getLogger("test.chain"))
    with caplog.at_level(logging.WARNING, "test.chain"):
        chain.before_request(_info(), None)  # type: ignore[arg-type]
        chain.on_retry(_info(), metallm.RetryEvent(1, 0.1))
        chain.after_response(_info(), None, None, ValueError("x"))  # type: ignore[arg-type]
    assert [r.getMessage() for r in caplog.records] == [
        "observability hook Broken.before_request failed; skipped",
        "observability hook Broken.on_retry failed; skipped",
    ]
    assert len(after.seen) == 1


def test_wrap_stream_of_a_base_hook_leaves_the_stream_as_it_is() -> None:
    stream = iter([])
    assert BaseHook().wrap_stream(_info(), None, stream) is stream  # type: ignore[arg-type]

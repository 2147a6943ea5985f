"""The router's fallbacks over real sockets, sync and async: which errors move on to the next
target (after the target's own retries), which raise at once, streams before and after their
first chunk, the deadline, context-length fallbacks, model groups, and the failure report."""

from __future__ import annotations

import logging
import socket
from collections.abc import Iterator

import pytest

import metallm
from _helpers import MODES
from _router_helpers import USER, Harness, target
from metallm.testing import FakeLLMServer, ScriptedReply

R = ScriptedReply


@pytest.fixture
def a() -> Iterator[FakeLLMServer]:
    with FakeLLMServer() as server:
        yield server


@pytest.fixture
def b() -> Iterator[FakeLLMServer]:
    with FakeLLMServer() as server:
        yield server


def _pair(a: FakeLLMServer, b: FakeLLMServer) -> list[metallm.Target]:
    return [target(a, "openai", name="oai"), target(b, "anthropic", name="claude")]


@pytest.mark.parametrize("mode", MODES)
def test_falls_back_on_503_after_the_targets_own_retries(
    mode: str, a: FakeLLMServer, b: FakeLLMServer
) -> None:
    a.enqueue(R.error(503, "overloaded"), R.error(503, "overloaded"))
    b.enqueue(R(text="from claude"))
    with Harness(mode, _pair(a, b)) as h:
        resp = h.chat()
        stats = h.router.stats()
    assert resp.choices[0].message.content == "from claude"
    assert (resp.provider, resp.model) == ("anthropic", "claude-sonnet-4-5")
    assert len(a.requests) == 2  # the first try and its one retry, then the fallback
    assert len(b.requests) == 1
    assert b.last_request.json["model"] == "claude-sonnet-4-5"
    assert stats["oai"].failures == 1 and stats["claude"].calls == 1


@pytest.mark.parametrize("mode", MODES)
def test_falls_back_on_429_after_retries_honouring_retry_after(
    mode: str, a: FakeLLMServer, b: FakeLLMServer
) -> None:
    limited = R.error(429, "slow down", headers={"retry-after": "0.05"})
    a.enqueue(limited, limited)
    b.enqueue(R(text="ok"))
    with Harness(mode, _pair(a, b)) as h:
        assert h.chat().provider == "anthropic"
    assert len(a.requests) == 2


@pytest.mark.parametrize("mode", MODES)
def test_a_retry_after_longer_than_the_policy_waits_falls_back_at_once(
    mode: str, a: FakeLLMServer, b: FakeLLMServer
) -> None:
    a.enqueue(R.error(429, "come back in a minute", headers={"retry-after": "60"}))
    b.enqueue(R(text="ok"))
    with Harness(mode, _pair(a, b)) as h:
        assert h.chat().provider == "anthropic"
    assert len(a.requests) == 1  # no 60 s wait while another target can answer


@pytest.mark.parametrize("mode", MODES)
def test_falls_back_on_a_timeout(mode: str, a: FakeLLMServer, b: FakeLLMServer) -> None:
    a.enqueue(R(text="late", stall=3.0), R(text="late", stall=3.0))
    b.enqueue(R(text="on time"))
    targets = [
        target(a, "openai", name="slow", timeout=0.2, retry=metallm.RetryPolicy.none()),
        target(b, "anthropic"),
    ]
    with Harness(mode, targets) as h:
        resp = h.chat()
        stats = h.router.stats()
    assert resp.choices[0].message.content == "on time"
    assert stats["slow"].failures == 1


@pytest.mark.parametrize("mode", MODES)
def test_falls_back_on_connection_refused(mode: str, b: FakeLLMServer) -> None:
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    refused = metallm.Target(
        provider="openai", model="gpt-4o-mini", api_key="sk-x", name="down",
        base_url=f"http://127.0.0.1:{port}/v1", retry=metallm.RetryPolicy.none(), hooks=[],
    )  # fmt: skip
    b.enqueue(R(text="up"))
    with Harness(mode, [refused, target(b, "anthropic")]) as h:
        assert h.chat().choices[0].message.content == "up"


@pytest.mark.parametrize("mode", MODES)
def test_no_fallback_on_a_400_the_request_caused(
    mode: str, a: FakeLLMServer, b: FakeLLMServer
) -> None:
    a.enqueue(R.error(400, "messages[0].content is invalid"))
    with Harness(mode, _pair(a, b)) as h, pytest.raises(metallm.BadRequestError) as caught:
        h.chat()
        assert not isinstance(caught.value, metallm.AllTargetsFailedError)
    assert "invalid" in str(caught.value)
    assert len(b.requests) == 0
    assert h.router.stats()["oai"].breaker == "closed"


@pytest.mark.parametrize("mode", MODES)
def test_all_targets_failed_lists_every_attempt_newest_last(
    mode: str, a: FakeLLMServer, b: FakeLLMServer
) -> None:
    a.enqueue(R.error(503, "a down"), R.error(503, "a down"))
    b.enqueue(R.error(500, "b broken"), R.error(500, "b broken"))
    with Harness(mode, _pair(a, b)) as h, pytest.raises(metallm.AllTargetsFailedError) as caught:
        h.chat()
    error = caught.value
    assert isinstance(error, metallm.APIError)
    assert [attempt.target for attempt in error.attempts] == ["oai", "claude"]
    assert isinstance(error.attempts[0].error, metallm.InternalServerError)
    assert error.attempts[0].error.status_code == 503
    assert error.attempts[1].error.status_code == 500  # type: ignore[attr-defined]
    assert error.status_code == 500
    assert "a down" in str(error) and "b broken" in str(error)
    assert "sk-router-test" not in str(error) and "sk-router-test" not in repr(error)


@pytest.mark.parametrize("mode", MODES)
def test_authentication_errors_fall_back_and_are_logged(
    mode: str, a: FakeLLMServer, b: FakeLLMServer, caplog: pytest.LogCaptureFixture
) -> None:
    a.enqueue(R.error(401, "invalid api key"))
    b.enqueue(R(text="ok"))
    with caplog.at_level(logging.WARNING, "metallm"), Harness(mode, _pair(a, b)) as h:
        assert h.chat().provider == "anthropic"
    assert any("oai refused its credentials" in r.getMessage() for r in caplog.records)
    assert "sk-router-test" not in caplog.text


@pytest.mark.parametrize("mode", MODES)
def test_every_target_refusing_its_key_says_so(
    mode: str, a: FakeLLMServer, b: FakeLLMServer
) -> None:
    a.enqueue(R.error(401, "invalid api key"))
    b.enqueue(R.error(401, "invalid x-api-key"))
    with Harness(mode, _pair(a, b)) as h, pytest.raises(metallm.AllTargetsFailedError) as caught:
        h.chat()
    assert all(isinstance(x.error, metallm.AuthenticationError) for x in caught.value.attempts)
    assert caught.value.status_code == 401


@pytest.mark.parametrize("mode", MODES)
def test_stream_falls_back_before_its_first_chunk(
    mode: str, a: FakeLLMServer, b: FakeLLMServer
) -> None:
    a.enqueue(R.error(503, "down"), R.error(503, "down"))  # refused at once
    b.enqueue(R(text="streamed by claude"))
    with Harness(mode, _pair(a, b)) as h:
        text, answered, final = h.stream()
    assert (text, answered) == ("streamed by claude", "claude")
    assert final.choices[0].message.content == "streamed by claude"


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("failure", ["error_event", "cut"])
def test_stream_failing_before_any_chunk_falls_back(
    mode: str, failure: str, a: FakeLLMServer, b: FakeLLMServer
) -> None:
    bad = (
        R(text="never", error_event_after=0, error_message="overloaded", error_type="server_error")
        if failure == "error_event"
        else R(text="never", cut_after=0)
    )
    a.enqueue(bad)
    b.enqueue(R(text="second target"))
    with Harness(mode, _pair(a, b)) as h:
        text, answered, _ = h.stream()
    assert (text, answered) == ("second target", "claude")


@pytest.mark.parametrize("mode", MODES)
def test_no_stream_fallback_after_the_first_chunk(
    mode: str, a: FakeLLMServer, b: FakeLLMServer
) -> None:
    a.enqueue(R(text="half an answer that is cut", chunk_size=4, cut_after=3))
    b.enqueue(R(text="must not be used"))
    with Harness(mode, _pair(a, b)) as h, pytest.raises(metallm.StreamError):
        h.stream()
    assert len(b.requests) == 0


@pytest.mark.parametrize("mode", MODES)
def test_the_deadline_cuts_a_running_attempt_and_starts_no_other(
    mode: str, a: FakeLLMServer, b: FakeLLMServer
) -> None:
    a.enqueue(R(text="too late", stall=3.0))
    b.enqueue(R(text="never asked"))
    with Harness(mode, _pair(a, b), timeout=0.4) as h, pytest.raises(metallm.APITimeoutError):
        h.chat()
    assert len(b.requests) == 0


@pytest.mark.parametrize("mode", MODES)
def test_a_single_target_cut_at_the_deadline_raises_the_deadline(
    mode: str, a: FakeLLMServer
) -> None:
    a.enqueue(R(text="too late", stall=3.0))
    h = Harness(mode, [target(a, name="only")], timeout=0.4)
    with h, pytest.raises(metallm.APITimeoutError) as caught:
        h.chat()
    assert not isinstance(caught.value, metallm.AllTargetsFailedError)
    assert "deadline of 0.4s passed" in str(caught.value)


@pytest.mark.parametrize("mode", MODES)
def test_no_retry_starts_after_the_deadline(mode: str, a: FakeLLMServer, b: FakeLLMServer) -> None:
    slow_retry = metallm.RetryPolicy(max_retries=3, initial_backoff=2.0, jitter=0)
    targets = [target(a, "openai", name="oai", retry=slow_retry), target(b, "anthropic")]
    a.enqueue(R.error(503, "down"), R.error(503, "down"))
    b.enqueue(R(text="in time"))
    with Harness(mode, targets, timeout=0.5) as h:
        # the 2 s backoff would end past the deadline: no retry, the next target instead
        assert h.chat().choices[0].message.content == "in time"
        assert len(a.requests) == 1
        with pytest.raises(metallm.AllTargetsFailedError) as caught:
            h.chat(model="oai")  # alone: its retry is refused, saying why
    assert len(a.requests) == 2
    assert "past the routed call's deadline" in str(caught.value.attempts[0].error)


@pytest.mark.parametrize("mode", MODES)
def test_context_length_falls_back_only_to_a_larger_window(
    mode: str, a: FakeLLMServer, b: FakeLLMServer
) -> None:
    with FakeLLMServer() as c:
        targets = [
            target(a, "openai", name="small", model="gpt-4o-mini"),  # 128k in the catalog
            target(c, "openai", name="same", model="gpt-4o"),  # 128k: skipped
            target(b, "gemini", name="large", model="gemini-2.5-flash"),  # 1M
        ]
        a.enqueue(R.error(400, "maximum context length exceeded", code="context_length_exceeded"))
        b.enqueue(R(text="fits"))
        with Harness(mode, targets) as h:
            resp = h.chat()
        assert resp.choices[0].message.content == "fits"
        assert len(c.requests) == 0


@pytest.mark.parametrize("mode", MODES)
def test_model_selects_a_model_group(mode: str, a: FakeLLMServer, b: FakeLLMServer) -> None:
    targets = [
        target(a, "openai", name="oai-1", model="gpt-4o-mini"),
        target(b, "openai", name="oai-2", model="gpt-4o-mini"),
        target(b, "anthropic", name="claude"),
    ]
    a.enqueue(R.error(503, "down"), R.error(503, "down"))
    b.enqueue(R(text="group member two"), R(text="by name"))
    with Harness(mode, targets) as h:
        assert h.chat(model="gpt-4o-mini").choices[0].message.content == "group member two"
        assert h.chat(model="claude").provider == "anthropic"  # a target's name selects it
        with pytest.raises(metallm.InvalidRequestError) as caught:
            h.chat(model="gpt-5")
    assert "claude-sonnet-4-5" in str(caught.value) and "gpt-4o-mini" in str(caught.value)


@pytest.mark.parametrize("mode", MODES)
def test_embeddings_fall_back(mode: str, a: FakeLLMServer, b: FakeLLMServer) -> None:
    targets = [
        target(a, "openai", name="e1", model="text-embedding-3-small"),
        target(b, "openai", name="e2", model="text-embedding-3-small"),
    ]
    a.enqueue(R.error(503, "down"), R.error(503, "down"))
    with Harness(mode, targets) as h:
        emb = h.embed(input=["a", "b", "c"], model="text-embedding-3-small")
    assert len(emb.data) == 3
    assert len(b.requests) == 1


@pytest.mark.parametrize("mode", MODES)
def test_memory_aware_calls_store_through_the_router(
    mode: str, a: FakeLLMServer, b: FakeLLMServer
) -> None:
    a.enqueue(R.error(503, "down"), R.error(503, "down"), R(text="second answer"))
    b.enqueue(R(text="first answer"))
    with Harness(mode, _pair(a, b)) as h:
        h.call("create_chat_completion_with_memory", "s-1", messages=USER)
        if mode == "sync":
            with h.router.create_chat_completion_stream_with_memory("s-1", messages=USER) as s:
                list(s)
        else:

            async def go() -> None:
                s = await h.router.create_chat_completion_stream_with_memory("s-1", messages=USER)
                async with s:
                    async for _ in s:
                        pass

            h.run(go)
        messages = h.call("get_conversation_messages", "s-1")
    assert [m.content for m in messages] == ["hi", "first answer", "hi", "second answer"]
    sent = a.last_request.json["messages"]  # the history went to whichever target answered
    assert [m["content"] for m in sent][:2] == ["hi", "first answer"]

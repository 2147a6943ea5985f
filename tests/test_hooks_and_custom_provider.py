"""Hook points and custom providers, sync and async: each hook method once per call, guarded."""

from __future__ import annotations

import gc
import logging
from typing import Any

import pytest

import metallm
from _helpers import MODES, RecordingHook, complete, stream, user
from metallm.testing.fake_provider import FakeProvider


def _req() -> metallm.ChatCompletionRequest:
    return metallm.ChatCompletionRequest(model="m", messages=[user("hi")])


@pytest.mark.parametrize("mode", MODES)
def test_hooks_run_once_per_plain_call(mode: str) -> None:
    hook = RecordingHook()
    resp = complete(mode, {"custom_provider": FakeProvider(["hello"]), "hooks": [hook]}, _req())
    assert resp.content == "hello"
    assert hook.names() == ["before", "after"]
    end_reason, response, error = hook.events[1][1]
    assert response is resp and error is None and end_reason is None


@pytest.mark.parametrize("mode", MODES)
def test_hooks_run_once_per_stream(mode: str) -> None:
    hook = RecordingHook()
    _, final = stream(
        mode, {"custom_provider": FakeProvider(["streamed words"]), "hooks": [hook]}, _req()
    )
    assert final.content == "streamed words"
    assert hook.names() == ["before", "wrap", "after"]
    assert hook.events[1][1] is (mode == "async")
    end_reason, response, error = hook.events[2][1]
    assert end_reason == "complete" and error is None
    assert response.content == "streamed words"
    assert response.choices[0].finish_reason == "stop"


@pytest.mark.parametrize("mode", MODES)
def test_early_close_ends_call_once_as_closed(mode: str) -> None:
    hook = RecordingHook()
    chunks, final = stream(
        mode,
        {"custom_provider": FakeProvider(["a long streamed reply"]), "hooks": [hook]},
        _req(),
        take=2,
    )
    assert len(chunks) == 2
    assert final.content == "a long s"
    assert hook.names() == ["before", "wrap", "after"]
    assert hook.events[2][1][0] == "closed"


def test_garbage_collected_stream_ends_call_as_failure() -> None:
    hook = RecordingHook()
    client = metallm.Client(custom_provider=FakeProvider(["abandoned reply"]), hooks=[hook])
    s = client.create_chat_completion_stream(_req())
    next(s)
    del s
    gc.collect()
    assert hook.names() == ["before", "wrap", "after"]
    end_reason, _, error = hook.events[2][1]
    assert end_reason == "garbage_collected"
    assert isinstance(error, metallm.StreamError)


def test_exception_in_users_with_block_ends_call_as_error() -> None:
    hook = RecordingHook()
    client = metallm.Client(custom_provider=FakeProvider(["some reply"]), hooks=[hook])
    with pytest.raises(KeyError), client.create_chat_completion_stream(_req()) as s:
        next(s)
        raise KeyError("user bug")
    end_reason, _, error = hook.events[-1][1]
    assert end_reason == "error" and isinstance(error, KeyError)
    assert hook.names().count("after") == 1


class _Exploding:
    def before_request(self, info: Any, request: Any) -> None:
        raise RuntimeError("before broke")

    def after_response(self, *args: Any) -> None:
        raise RuntimeError("after broke")

    def wrap_stream(self, *args: Any) -> Any:
        raise RuntimeError("wrap broke")

    def on_retry(self, *args: Any) -> None:
        raise RuntimeError("retry broke")

    def attempt(self, info: Any) -> Any:
        raise RuntimeError("attempt broke")

    def on_chunk(self, *args: Any) -> None:
        raise RuntimeError("chunk broke")


@pytest.mark.parametrize("mode", MODES)
def test_failing_hooks_never_break_calls(mode: str, caplog: pytest.LogCaptureFixture) -> None:
    fast = metallm.RetryPolicy(initial_backoff=0.001)
    fp = FakeProvider([metallm.InternalServerError("x", status_code=500), "fine", "streamed fine"])
    kwargs = {"custom_provider": fp, "hooks": [_Exploding(), RecordingHook()], "retry": fast}
    with caplog.at_level(logging.WARNING, logger="metallm"):
        assert complete(mode, kwargs, _req()).content == "fine"
        assert stream(mode, kwargs, _req())[1].content == "streamed fine"
    assert "before_request failed" in caplog.text
    assert "on_chunk failed" in caplog.text


def test_hook_missing_methods_is_accepted() -> None:
    class OnlyBefore:
        seen = 0

        def before_request(self, info: Any, request: Any) -> None:
            OnlyBefore.seen += 1

    client = metallm.Client(
        custom_provider=FakeProvider(["x", "y"]), hooks=[OnlyBefore(), object()]
    )
    client.create_chat_completion(_req())
    list(client.create_chat_completion_stream(_req()))
    assert OnlyBefore.seen == 2


@pytest.mark.parametrize("mode", MODES)
def test_custom_provider_errors_are_retried_and_hooks_told(mode: str) -> None:
    hook = RecordingHook()
    fp = FakeProvider([metallm.RateLimitError("slow", status_code=429, retry_after=0.01), "ok"])
    resp = complete(mode, {"custom_provider": fp, "hooks": [hook]}, _req())
    assert resp.content == "ok" and resp.provider == "fake"
    assert hook.names() == ["before", "retry", "after"]
    assert hook.events[1][1].delay == 0.01


@pytest.mark.parametrize("mode", MODES)
def test_custom_provider_final_error_reaches_after_response(mode: str) -> None:
    hook = RecordingHook()
    fp = FakeProvider([metallm.AuthenticationError("bad key", status_code=401)])
    with pytest.raises(metallm.AuthenticationError):
        complete(mode, {"custom_provider": fp, "hooks": [hook]}, _req())
    assert hook.names() == ["before", "after"]
    assert isinstance(hook.events[1][1][2], metallm.AuthenticationError)


def test_close_closes_custom_provider() -> None:
    fp = FakeProvider()
    with metallm.Client(custom_provider=fp):
        pass
    assert fp.closed


def test_object_without_protocol_is_a_configuration_error() -> None:
    with pytest.raises(metallm.ConfigurationError, match="neither HTTPProvider nor Provider"):
        metallm.Client(custom_provider=object())
    with pytest.raises(metallm.ConfigurationError):
        metallm.Client()


def test_sync_only_provider_rejected_by_async_client() -> None:
    class SyncOnly:
        name = "s"

        def create_chat_completion(self, r: Any) -> Any: ...

        def create_chat_completion_stream(self, r: Any) -> Any: ...

        def close(self) -> None: ...

    metallm.Client(custom_provider=SyncOnly())
    with pytest.raises(metallm.ConfigurationError, match="AsyncProvider"):
        metallm.AsyncClient(custom_provider=SyncOnly())


@pytest.mark.parametrize("mode", MODES)
def test_custom_provider_errors_are_scrubbed_of_the_key(mode: str) -> None:
    secret = "sk-custom-SECRET-998877"
    fp = FakeProvider([metallm.AuthenticationError(f"bad key {secret}", status_code=401)])
    with pytest.raises(metallm.AuthenticationError) as info:
        complete(mode, {"custom_provider": fp, "api_key": secret}, _req())
    assert secret not in str(info.value) and secret not in repr(info.value)
    assert "[REDACTED]" in info.value.message

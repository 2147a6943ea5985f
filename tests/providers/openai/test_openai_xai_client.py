"""The client end to end over real sockets against FakeLLMServer, sync and async.

Corpus replay for OpenAI and xAI, streamed and plain results that add up to equal responses,
retries (429 with retry hints, 5xx, connection reset, timeouts; never after a stream started),
every error status, cut streams and in-stream error events, and the key kept secret.
"""

from __future__ import annotations

import asyncio
import json
import logging

import httpx
import pytest

import metallm
from _corpus_requests import expected_from_sse, request_from_openai_body
from _helpers import MODES, RecordingHook, complete, require_corpus, stream, user
from metallm.testing.corpus import corpus_files, load_corpus_entry
from metallm.testing.fake_server import FakeLLMServer
from metallm.testing.script import ScriptedReply, ScriptedToolCall, ScriptedUsage

KEY = "sk-test-SECRET-key-0123456789abcdef"
FAST = metallm.RetryPolicy(initial_backoff=0.01, max_backoff=0.5)


@pytest.fixture(scope="module")
def server() -> FakeLLMServer:
    with FakeLLMServer() as s:
        yield s


@pytest.fixture(autouse=True)
def _clean(server: FakeLLMServer) -> None:
    server.clear()


def kw(server: FakeLLMServer, provider: str = "openai", **extra: object) -> dict[str, object]:
    """Client settings for the fake server; fast retries unless max_retries is given."""
    retry = None if "max_retries" in extra else FAST
    return {
        "provider": provider,
        "base_url": server.base_url(provider),
        "api_key": KEY,
        "retry": retry,
        **extra,
    }


def _usage_expectation(u: dict[str, int], provider: str) -> tuple[int, int, int | None, int | None]:
    reasoning = (u.get("completion_tokens_details") or {}).get("reasoning_tokens")
    cached = (u.get("prompt_tokens_details") or {}).get("cached_tokens")
    completion = u["completion_tokens"]
    if reasoning and u["total_tokens"] == u["prompt_tokens"] + completion + reasoning:
        completion += reasoning  # xAI reports reasoning apart from completion
    return u["prompt_tokens"], completion, cached, reasoning


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("provider", ["openai", "xai"])
def test_corpus_replays_through_client(server: FakeLLMServer, provider: str, mode: str) -> None:
    folder = require_corpus(provider)
    files = corpus_files(folder.name, folder.parent, operation="chat")
    assert files, f"no corpus files in {folder}"
    for path in files:
        entry = load_corpus_entry(path)
        req = request_from_openai_body(entry.request_body, "grok-3-mini")
        server.clear()
        server.replay(entry)
        if entry.status >= 400:
            with pytest.raises(metallm.APIError) as info:
                (stream if entry.is_stream else complete)(
                    mode, kw(server, provider, max_retries=0), req
                )
            err = info.value
            body = json.loads(entry.body_text)["error"]
            assert err.status_code == entry.status, path.name
            assert err.message == body["message"] and err.code == body.get("code"), path.name
            assert err.request_id == entry.response_headers.get("x-request-id")
            expected_cls = {
                400: metallm.BadRequestError,
                401: metallm.AuthenticationError,
                404: metallm.NotFoundError,
            }
            assert type(err) is expected_cls[entry.status], path.name
            continue
        if entry.is_stream:
            chunks, resp = stream(mode, kw(server, provider), req)
            exp = expected_from_sse(entry.body_text)
            assert chunks[-1].usage is not None, "a stream ends with its usage"
            assert resp.content == exp["text"], path.name
            assert (resp.choices[0].message.reasoning_content or "") == exp["reasoning"]
            got_tools = [
                {"id": t.id, "name": t.function.name, "arguments": t.function.arguments}
                for t in resp.choices[0].message.tool_calls or []
            ]
            assert got_tools == exp["tools"], path.name
            usage = exp["usage"]
        else:
            resp = complete(mode, kw(server, provider), req)
            raw = json.loads(entry.body_text)
            msg = raw["choices"][0]["message"]
            assert resp.id == raw["id"] and resp.model == raw["model"]
            assert (resp.content or "") == (msg.get("content") or "")
            assert resp.choices[0].message.reasoning_content == msg.get("reasoning_content")
            got_tools = [
                (t.id, t.function.name, json.loads(t.function.arguments))
                for t in resp.choices[0].message.tool_calls or []
            ]
            want_tools = [
                (t["id"], t["function"]["name"], json.loads(t["function"]["arguments"]))
                for t in msg.get("tool_calls") or []
            ]
            assert got_tools == want_tools, path.name
            usage = raw["usage"]
        sent = server.requests[0]
        assert sent.path == entry.request_path
        assert sent.headers["authorization"] == f"Bearer {KEY}"
        finish = resp.choices[0].finish_reason
        assert finish == (
            "tool_calls"
            if resp.choices[0].message.tool_calls
            else ("length" if "length" in path.name else "stop")
        )
        prompt, completion, cached, reasoning = _usage_expectation(usage, provider)
        assert resp.usage is not None
        assert (resp.usage.prompt_tokens, resp.usage.completion_tokens) == (prompt, completion), (
            path.name
        )
        assert resp.usage.cached_tokens == cached and resp.usage.reasoning_tokens == reasoning
        assert resp.usage.total_tokens == prompt + completion
        assert resp.provider == provider


SCRIPTS = [
    ScriptedReply(text="The quick brown fox jumps over the lazy dog. " * 3, chunk_size=5),
    ScriptedReply(
        text="Thinking done.", reasoning="Let me think about it step by step.", chunk_size=3
    ),
    ScriptedReply(
        tool_calls=[
            ScriptedToolCall(
                name="get_weather", arguments='{"city": "Paris", "unit": "C"}', id="call_a"
            ),
            ScriptedToolCall(name="get_time", arguments='{"tz": "Europe/Paris"}', id="call_b"),
        ],
        chunk_size=4,
    ),
    ScriptedReply(
        text="cut short",
        finish_reason="length",
        usage=ScriptedUsage(10, 2, cached_tokens=4, reasoning_tokens=1),
    ),
    ScriptedReply(text="ünïcödé ✓ 漢字 🎉 split everywhere", chunk_size=1),
]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("script", range(len(SCRIPTS)))
def test_stream_and_plain_accumulate_to_equal_responses(
    server: FakeLLMServer, mode: str, script: int
) -> None:
    req = metallm.ChatCompletionRequest(model="gpt-4o", messages=[user("hi")])
    server.enqueue(SCRIPTS[script])
    plain = complete(mode, kw(server), req)
    server.enqueue(SCRIPTS[script])
    chunks, streamed = stream(mode, kw(server), req)
    assert len(chunks) > 1
    assert chunks[-1].usage is not None
    # ids differ between two separate exchanges; everything else must agree
    assert streamed.model_dump(exclude={"id", "created"}) == plain.model_dump(
        exclude={"id", "created"}
    )
    assert server.requests[1].json["stream_options"] == {"include_usage": True}


@pytest.mark.parametrize("mode", MODES)
def test_retries_429_with_hints_then_succeeds(server: FakeLLMServer, mode: str) -> None:
    hook = RecordingHook()
    server.enqueue(
        ScriptedReply.error(429, "rate limited", headers={"retry-after-ms": "30"}),
        ScriptedReply.error(429, "rate limited", headers={"retry-after": "0"}),
        ScriptedReply(text="finally"),
    )
    resp = complete(mode, kw(server, hooks=[hook]), {"model": "m", "messages": [user("x")]})
    assert resp.content == "finally"
    retries = [e for n, e in hook.events if n == "retry"]
    assert [r.delay for r in retries] == [0.03, 0.0]
    assert len(server.requests) == 3


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("status", [500, 502, 503, 504, 408, 409, 529])
def test_retries_retryable_statuses(server: FakeLLMServer, mode: str, status: int) -> None:
    server.enqueue(ScriptedReply.error(status, "transient"), ScriptedReply(text="ok"))
    assert complete(mode, kw(server), {"model": "m", "messages": [user("x")]}).content == "ok"


@pytest.mark.parametrize("mode", MODES)
def test_rate_limit_error_carries_retry_after_when_exhausted(
    server: FakeLLMServer, mode: str
) -> None:
    server.enqueue(
        *[
            ScriptedReply.error(
                429,
                "slow down",
                type="tokens",
                code="rate_limit_exceeded",
                headers={"retry-after": "0.01"},
            )
        ]
        * 3
    )
    with pytest.raises(metallm.RateLimitError) as info:
        complete(mode, kw(server), {"model": "m", "messages": [user("x")]})
    assert info.value.retry_after == 0.01 and info.value.status_code == 429
    assert len(server.requests) == 3


@pytest.mark.parametrize("mode", MODES)
def test_retry_after_longer_than_cap_gives_up_at_once(server: FakeLLMServer, mode: str) -> None:
    server.enqueue(ScriptedReply.error(429, "come back later", headers={"retry-after": "120"}))
    with pytest.raises(metallm.RateLimitError) as info:
        complete(mode, kw(server), {"model": "m", "messages": [user("x")]})
    assert info.value.retry_after == 120 and len(server.requests) == 1


@pytest.mark.parametrize("mode", MODES)
def test_connection_reset_is_retried(server: FakeLLMServer, mode: str) -> None:
    server.enqueue(ScriptedReply(disconnect=True), ScriptedReply(text="second try"))
    assert (
        complete(mode, kw(server), {"model": "m", "messages": [user("x")]}).content == "second try"
    )


@pytest.mark.parametrize("mode", MODES)
def test_timeouts_are_retried_then_raise_timeout_error(server: FakeLLMServer, mode: str) -> None:
    server.enqueue(ScriptedReply(stall=1.0), ScriptedReply(text="fast now"))
    assert (
        complete(mode, kw(server, timeout=0.2), {"model": "m", "messages": [user("x")]}).content
        == "fast now"
    )
    server.enqueue(*[ScriptedReply(stall=1.0)] * 2)
    with pytest.raises(metallm.APITimeoutError):
        complete(
            mode, kw(server, timeout=0.2, max_retries=1), {"model": "m", "messages": [user("x")]}
        )


@pytest.mark.parametrize("mode", MODES)
def test_cut_stream_raises_after_delivering_what_came_and_is_not_retried(
    server: FakeLLMServer, mode: str
) -> None:
    hook = RecordingHook()
    server.enqueue(ScriptedReply(text="abcdefghijklmnopqrstuvwxyz", chunk_size=2, cut_after=4))
    got: list[str] = []
    with pytest.raises(metallm.APIConnectionError):
        stream(
            mode,
            kw(server, hooks=[hook]),
            {"model": "m", "messages": [user("x")]},
            on_chunk=lambda c: got.append(c.choices[0].delta.content or "") if c.choices else None,
        )
    assert "".join(got).startswith("ab") and len(got) >= 2
    assert len(server.requests) == 1
    assert hook.names() == ["before", "wrap", "after"]
    assert hook.events[-1][1][0] == "error"


@pytest.mark.parametrize("mode", MODES)
def test_error_event_inside_stream_raises_api_error(server: FakeLLMServer, mode: str) -> None:
    server.enqueue(ScriptedReply(text="partial answer here", chunk_size=3, error_event_after=2))
    with pytest.raises(metallm.APIError) as info:
        stream(mode, kw(server), {"model": "m", "messages": [user("x")]})
    assert info.value.message


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, metallm.BadRequestError),
        (401, metallm.AuthenticationError),
        (403, metallm.PermissionDeniedError),
        (404, metallm.NotFoundError),
        (422, metallm.BadRequestError),
        (429, metallm.RateLimitError),
        (500, metallm.InternalServerError),
        (503, metallm.InternalServerError),
        (529, metallm.OverloadedError),
    ],
)
def test_every_status_maps_to_its_class(
    server: FakeLLMServer, mode: str, status: int, cls: type
) -> None:
    server.enqueue(
        ScriptedReply.error(status, f"status {status}", headers={"x-request-id": "req_42"})
    )
    with pytest.raises(cls) as info:
        complete(mode, kw(server, max_retries=0), {"model": "m", "messages": [user("x")]})
    assert info.value.status_code == status and info.value.request_id == "req_42"
    assert info.value.provider == "openai"


def test_context_length_error_is_recognised(server: FakeLLMServer) -> None:
    server.enqueue(
        ScriptedReply.error(
            400,
            "This model's maximum context length is 128000 tokens",
            code="context_length_exceeded",
        )
    )
    with pytest.raises(metallm.ContextLengthExceededError):
        complete("sync", kw(server), {"model": "m", "messages": [user("x")]})


@pytest.mark.parametrize("mode", MODES)
def test_malformed_reply_is_a_typed_error_with_excerpt(server: FakeLLMServer, mode: str) -> None:
    server.enqueue(
        ScriptedReply.raw(200, {"content-type": "application/json"}, b"{not json at all")
    )
    with pytest.raises(metallm.ResponseValidationError) as info:
        complete(mode, kw(server), {"model": "m", "messages": [user("x")]})
    assert info.value.status_code == 200 and "not json" in str(info.value)
    server.enqueue(
        ScriptedReply.raw(200, {"content-type": "application/json"}, b'{"unexpected": true}')
    )
    with pytest.raises(metallm.ResponseValidationError):
        complete(mode, kw(server), {"model": "m", "messages": [user("x")]})


@pytest.mark.parametrize("mode", MODES)
def test_key_never_leaks(
    server: FakeLLMServer, mode: str, caplog: pytest.LogCaptureFixture
) -> None:
    echo = f"Incorrect API key provided: {KEY}"
    server.enqueue(
        ScriptedReply.error(401, echo),
        ScriptedReply.error(503, KEY),
        ScriptedReply.error(503, KEY),
        ScriptedReply.error(503, KEY),
    )
    with caplog.at_level(logging.DEBUG, logger="metallm"):
        for _ in range(2):
            with pytest.raises(metallm.APIError) as info:
                complete(mode, kw(server), {"model": "m", "messages": [user("x")]})
            err = info.value
            assert KEY not in str(err) and KEY not in repr(err) and KEY not in json.dumps(err.body)
    assert KEY not in caplog.text
    assert "retrying" in caplog.text  # the retries were logged, key-free
    client = metallm.Client(**kw(server))
    assert (
        KEY not in repr(client)
        and KEY not in repr(client.config)
        and KEY not in repr(client.provider)
    )


def test_user_http_client_is_used_and_not_closed(server: FakeLLMServer) -> None:
    seen: list[str] = []
    http = httpx.Client(event_hooks={"request": [lambda r: seen.append(str(r.url))]})
    with metallm.Client(**kw(server, http_client=http)) as client:
        client.create_chat_completion(model="m", messages=[user("x")])
    assert seen and not http.is_closed
    http.close()
    with pytest.raises(metallm.ConfigurationError):
        metallm.Client(**kw(server, http_client=httpx.AsyncClient()))


def test_missing_key_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("XAI_API_KEY", raising=False)
    with pytest.raises(metallm.ConfigurationError, match="OPENAI_API_KEY"):
        metallm.Client(provider="openai")
    with pytest.raises(metallm.ConfigurationError, match="XAI_API_KEY"):
        metallm.AsyncClient(provider=metallm.ProviderName.XAI)
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    assert metallm.Client(provider="openai").provider_name == "openai"
    with pytest.raises(metallm.ConfigurationError, match="unknown provider"):
        metallm.Client(provider="nope", api_key="x")


def test_many_concurrent_async_streams(server: FakeLLMServer) -> None:
    async def go() -> list[str]:
        async with metallm.AsyncClient(**kw(server)) as client:

            async def one(i: int) -> str:
                s = await client.create_chat_completion_stream(model="m", messages=[user(f"n{i}")])
                async with s:
                    return (await s.final_response()).content

            return await asyncio.gather(*(one(i) for i in range(50)))

    results = asyncio.run(go())
    assert all(r.endswith(f"n{i}") for i, r in enumerate(results)), results[:3]


def test_abandoned_streams_release_their_connection(server: FakeLLMServer) -> None:
    """With a one-connection pool, a leaked connection would make the next call time out."""
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    http = httpx.Client(limits=limits, timeout=httpx.Timeout(5, pool=1.0))
    long_reply = ScriptedReply(text="word " * 400, chunk_size=5)
    msgs = {"model": "m", "messages": [user("x")]}
    with metallm.Client(**kw(server, http_client=http)) as client:
        server.enqueue(long_reply)
        s = client.create_chat_completion_stream(msgs)
        next(s)
        s.close()  # closed early
        server.enqueue(long_reply)
        with client.create_chat_completion_stream(msgs) as s2:
            next(s2)  # left by the with block
        server.enqueue(long_reply)
        s3 = client.create_chat_completion_stream(msgs)
        next(s3)
        del s3  # dropped without closing
        assert client.create_chat_completion(msgs).content
    http.close()


def test_async_abandoned_streams_release_their_connection(server: FakeLLMServer) -> None:
    async def go() -> str:
        limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
        http = httpx.AsyncClient(limits=limits, timeout=httpx.Timeout(5, pool=1.0))
        long_reply = ScriptedReply(text="word " * 400, chunk_size=5)
        msgs = {"model": "m", "messages": [user("x")]}
        async with metallm.AsyncClient(**kw(server, http_client=http)) as client:
            server.enqueue(long_reply)
            s = await client.create_chat_completion_stream(msgs)
            await s.__anext__()
            await s.close()
            server.enqueue(long_reply)
            s2 = await client.create_chat_completion_stream(msgs)
            async with s2:
                await s2.__anext__()
            server.enqueue(long_reply)
            s3 = await client.create_chat_completion_stream(msgs)
            await s3.__anext__()
            del s3
            await asyncio.sleep(0.05)  # the dropped stream's close task runs
            content = (await client.create_chat_completion(msgs)).content
        await http.aclose()
        return content

    assert asyncio.run(go())

"""The sans-IO exchange, driven by hand: every decision is visible without any I/O.

The exchange yields actions and is sent outcomes; these tests play the pump's part themselves,
so retries, error mapping, splitting and the hook points are checked action by action. The
last tests run the real pumps (``run``/``arun``) over in-memory functions.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import pytest

import metallm
from metallm._actions import Attempt, Parallel, Sleep
from metallm._exchange import Exchange
from metallm._pump import arun, run
from metallm.embeddings import EmbeddingsRequest, EmbeddingsResponse, coerce_embeddings_request
from metallm.hooks import HookChain
from metallm.provider import HTTPRequest, HTTPResponse, error_from_response
from metallm.types import ChatCompletionRequest, Message

SECRET = "sk-exchange-secret-123456"


class Recorder:
    """A hook recording every hook point it sees."""

    def __init__(self) -> None:
        self.events: list[tuple[str, Any]] = []
        self.infos: list[metallm.LLMCallInfo] = []

    def before_request(self, info: metallm.LLMCallInfo, request: Any) -> None:
        self.infos.append(info)
        self.events.append(("before", info.operation))

    def attempt(self, info: metallm.LLMCallInfo) -> Any:
        events = self.events

        class _Ctx:
            def __enter__(self) -> None:
                events.append(("enter", None))

            def __exit__(self, *exc: object) -> None:
                events.append(("exit", None))

        return _Ctx()

    def on_retry(self, info: metallm.LLMCallInfo, event: metallm.RetryEvent) -> None:
        self.events.append(("retry", event.status_code))

    def after_response(
        self, info: metallm.LLMCallInfo, request: Any, response: Any, error: Any
    ) -> None:
        self.events.append(("after", type(error).__name__ if error else "ok"))


class Codec:
    """A tiny JSON codec: chat replies ``{"text": ...}``, embeddings ``{"vectors": [...]}``."""

    name = "toy"
    base_url = "http://toy.invalid"
    semconv_name = "toy.semconv"
    system_instructions_apart = True
    max_embeddings_inputs = 2

    def secrets(self) -> tuple[str, ...]:
        return (SECRET,)

    def build_request(self, request: ChatCompletionRequest, *, stream: bool) -> HTTPRequest:
        return HTTPRequest("POST", f"{self.base_url}/chat", {"k": SECRET}, b"{}")

    def parse_response(self, response: HTTPResponse) -> metallm.ChatCompletionResponse:
        text = json.loads(response.content)["text"]
        return metallm.ChatCompletionResponse(
            id="r1",
            model="",
            choices=[metallm.Choice(index=0, message=Message(role="assistant", content=text))],
        )

    def stream_decoder(self, request: ChatCompletionRequest) -> Any:
        return None

    def parse_error(self, response: HTTPResponse) -> metallm.APIError:
        return error_from_response(self.name, response, secrets=self.secrets())

    def build_embeddings_request(self, request: EmbeddingsRequest) -> HTTPRequest:
        body = json.dumps({"input": request.inputs}).encode()
        return HTTPRequest("POST", f"{self.base_url}/embed", {}, body)

    def parse_embeddings_response(
        self, response: HTTPResponse, request: EmbeddingsRequest
    ) -> EmbeddingsResponse:
        vectors = json.loads(response.content)["vectors"]
        return EmbeddingsResponse(
            model=request.model,
            data=[metallm.Embedding(index=i, embedding=v) for i, v in enumerate(vectors)],
            usage=metallm.EmbeddingsUsage(prompt_tokens=len(vectors), total_tokens=len(vectors)),
        )


class Transport:
    """Stands in for the client's transport: its methods are what Attempt actions carry."""

    def request(self, req: HTTPRequest) -> HTTPResponse:
        raise AssertionError("the exchange must not call I/O itself")

    def stream(self, req: HTTPRequest) -> Any:
        raise AssertionError("the exchange must not call I/O itself")


def _exchange(hook: Recorder, *, policy: metallm.RetryPolicy | None = None) -> Exchange:
    return Exchange(
        Codec(),
        Transport(),
        provider_name="toy",
        hooks=HookChain([hook], logging.getLogger("test")),
        policy=policy or metallm.RetryPolicy(initial_backoff=0.25, jitter=0),
        logger=logging.getLogger("test"),
        secrets=(SECRET,),
        server=("toy.invalid", 80),
    )


def _chat() -> ChatCompletionRequest:
    return ChatCompletionRequest(model="m", messages=[Message(role="user", content="hi")])


def _ok(body: dict[str, Any]) -> HTTPResponse:
    return HTTPResponse(200, {}, json.dumps(body).encode())


def _status(code: int, **headers: str) -> HTTPResponse:
    body = json.dumps({"error": {"message": f"status {code} {SECRET}", "code": str(code)}})
    return HTTPResponse(code, headers, body.encode())


def _finish(flow: Any, outcome: Any) -> Any:
    with pytest.raises(StopIteration) as stop:
        flow.send(outcome)
    return stop.value.value


def test_a_plain_call_is_one_attempt_then_the_parsed_reply() -> None:
    hook = Recorder()
    flow = _exchange(hook).complete(_chat())
    action = flow.send(None)
    assert type(action) is Attempt and action.fn.__func__ is Transport.request
    assert action.arg.url == "http://toy.invalid/chat"
    response = _finish(flow, _ok({"text": "hello"}))
    assert response.content == "hello" and response.model == "m" and response.provider == "toy"
    assert hook.events == [("before", "chat"), ("after", "ok")]
    info = hook.infos[0]
    assert info.semconv_name == "toy.semconv" and info.system_instructions_apart
    assert (info.server_address, info.server_port) == ("toy.invalid", 80)


def test_a_retryable_status_sleeps_per_the_policy_then_tries_again() -> None:
    hook = Recorder()
    flow = _exchange(hook).complete(_chat())
    first = flow.send(None)
    sleep = flow.send(_status(503))
    assert sleep == Sleep(0.25)
    assert flow.send(None) == first  # the same attempt again
    sleep = flow.send(_status(429, **{"retry-after": "1.5"}))
    assert sleep == Sleep(1.5)  # the server's hint wins over the backoff
    flow.send(None)
    assert _finish(flow, _ok({"text": "at last"})).content == "at last"
    assert hook.infos[0].retries == 2
    assert [e for e in hook.events if e[0] == "retry"] == [("retry", 503), ("retry", 429)]


def test_a_connection_error_outcome_is_retried_like_a_status() -> None:
    hook = Recorder()
    flow = _exchange(hook).complete(_chat())
    flow.send(None)
    assert type(flow.send(metallm.APIConnectionError("refused", provider="toy"))) is Sleep
    flow.send(None)
    assert _finish(flow, _ok({"text": "ok"})).content == "ok"


def test_a_final_error_is_typed_scrubbed_and_ends_the_call_once() -> None:
    hook = Recorder()
    flow = _exchange(hook).complete(_chat())
    flow.send(None)
    with pytest.raises(metallm.BadRequestError) as info:
        flow.send(_status(400))
    assert SECRET not in str(info.value) and info.value.status_code == 400
    assert hook.events == [("before", "chat"), ("after", "BadRequestError")]


def test_retries_run_out_after_max_retries() -> None:
    hook = Recorder()
    flow = _exchange(hook, policy=metallm.RetryPolicy(max_retries=1, jitter=0)).complete(_chat())
    flow.send(None)
    flow.send(_status(500))  # sleep
    flow.send(None)  # the second attempt
    with pytest.raises(metallm.InternalServerError):
        flow.send(_status(500))
    assert hook.events[-1] == ("after", "InternalServerError")


def test_an_exception_thrown_in_by_the_pump_ends_the_call() -> None:
    hook = Recorder()
    flow = _exchange(hook).complete(_chat())
    flow.send(None)
    with pytest.raises(KeyboardInterrupt):
        flow.throw(KeyboardInterrupt())
    assert hook.events == [("before", "chat"), ("after", "KeyboardInterrupt")]


def test_a_garbled_success_reply_is_a_response_validation_error() -> None:
    hook = Recorder()
    flow = _exchange(hook).complete(_chat())
    flow.send(None)
    with pytest.raises(metallm.ResponseValidationError) as info:
        flow.send(HTTPResponse(200, {}, b"not json"))
    assert "not json" in str(info.value)


def _embed(n: int) -> EmbeddingsRequest:
    return coerce_embeddings_request(None, {"model": "e", "input": [f"t{i}" for i in range(n)]})


def _vectors(action: Attempt) -> HTTPResponse:
    inputs = json.loads(action.arg.content)["input"]
    return _ok({"vectors": [[float(t[1:]), 1.0] for t in inputs]})


def _drive(flow: Any) -> Any:
    """Play the pump for a sub-flow whose attempts all succeed."""
    action = flow.send(None)
    while True:
        try:
            action = flow.send(_vectors(action))
        except StopIteration as stop:
            return stop.value


def test_embeddings_within_the_limit_are_one_request() -> None:
    hook = Recorder()
    flow = _exchange(hook).embeddings(_embed(2))
    action = flow.send(None)
    assert type(action) is Attempt and json.loads(action.arg.content) == {"input": ["t0", "t1"]}
    response = _finish(flow, _vectors(action))
    assert response.vectors == [[0.0, 1.0], [1.0, 1.0]] and response.provider == "toy"
    assert hook.events == [("before", "embeddings"), ("after", "ok")]
    assert hook.infos[0].sub_requests == []


def test_a_long_embeddings_list_is_split_into_parallel_parts_merged_in_order() -> None:
    hook = Recorder()
    flow = _exchange(hook).embeddings(_embed(5))
    action = flow.send(None)
    assert type(action) is Parallel and action.limit == 4 and len(action.flows) == 3
    results = [_drive(sub) for sub in reversed(action.flows)]  # order of completion is free
    response = _finish(flow, list(reversed(results)))
    assert [item.index for item in response.data] == [0, 1, 2, 3, 4]
    assert [v[0] for v in response.vectors] == [0.0, 1.0, 2.0, 3.0, 4.0]
    assert response.usage.prompt_tokens == 5 and response.usage.total_tokens == 5
    parts = sorted(hook.infos[0].sub_requests, key=lambda p: p.index)
    assert [(p.index, p.inputs, p.input_tokens) for p in parts] == [(0, 2, 2), (1, 2, 2), (2, 1, 1)]


def test_a_failed_part_fails_the_whole_call() -> None:
    hook = Recorder()
    flow = _exchange(hook).embeddings(_embed(3))
    assert type(flow.send(None)) is Parallel
    with pytest.raises(metallm.NotFoundError):
        flow.send(metallm.NotFoundError("no such model", provider="toy", status_code=404))
    assert hook.events[-1] == ("after", "NotFoundError")


def test_a_reply_with_too_few_vectors_is_refused_with_the_counts() -> None:
    flow = _exchange(Recorder()).embeddings(_embed(2))
    flow.send(None)
    with pytest.raises(metallm.ResponseValidationError, match="1 vectors for 2 inputs"):
        flow.send(_ok({"vectors": [[1.0]]}))


class _ChatOnly:
    name = "chat-only"

    def create_chat_completion(self, request: Any) -> Any:
        raise AssertionError

    def create_chat_completion_stream(self, request: Any) -> Any:
        raise AssertionError

    def close(self) -> None:
        pass


def test_a_custom_provider_without_embeddings_is_unsupported_before_any_io() -> None:
    hook = Recorder()
    exchange = Exchange(
        _ChatOnly(),
        None,
        provider_name="chat-only",
        hooks=HookChain([hook], logging.getLogger("test")),
        policy=metallm.RetryPolicy(),
        logger=logging.getLogger("test"),
        secrets=(),
    )
    flow = exchange.embeddings(_embed(1))
    with pytest.raises(metallm.UnsupportedFeatureError, match="chat-only does not support"):
        flow.send(None)
    assert hook.events == [("before", "embeddings"), ("after", "UnsupportedFeatureError")]


# -- the real pumps ---------------------------------------------------------------------------


class _Served:
    """A transport answering from memory; counts concurrency for the async pump."""

    def __init__(self, delay: float = 0.0) -> None:
        self.delay = delay
        self.in_flight = 0
        self.most = 0
        self.calls = 0

    def request(self, req: HTTPRequest) -> HTTPResponse:
        self.calls += 1
        if self.calls == 2:
            return _status(429, **{"retry-after": "0"})
        inputs = json.loads(req.content or b"{}")["input"]
        return _ok({"vectors": [[float(t[1:]), 1.0] for t in inputs]})

    async def arequest(self, req: HTTPRequest) -> HTTPResponse:
        self.in_flight += 1
        self.most = max(self.most, self.in_flight)
        await asyncio.sleep(self.delay)
        self.in_flight -= 1
        return self.request(req)


def _served_exchange(served: Any, *, is_async: bool) -> Exchange:
    exchange = _exchange(Recorder())
    exchange.is_async = is_async
    if is_async:
        exchange.transport = type("T", (), {"request": staticmethod(served.arequest)})()
    else:
        exchange.transport = served
    return exchange


def test_the_sync_pump_runs_parts_in_turn_and_retries_a_429() -> None:
    served = _Served()
    response = run(_served_exchange(served, is_async=False).embeddings(_embed(9)))
    assert [v[0] for v in response.vectors] == [float(i) for i in range(9)]
    assert served.calls == 6  # five parts, one of them retried once


def test_the_async_pump_runs_at_most_four_parts_at_once() -> None:
    served = _Served(delay=0.01)
    response = asyncio.run(arun(_served_exchange(served, is_async=True).embeddings(_embed(20))))
    assert [v[0] for v in response.vectors] == [float(i) for i in range(20)]
    assert served.most == 4 and served.calls == 11

"""The rest of a client's call methods on a router: ``parse_stream`` with a fallback before its
first chunk, and the router's own budget (checked before any target is tried, charged with
whichever target answered, streams included), sync and async."""

from __future__ import annotations

from collections.abc import Iterator

import pydantic
import pytest

import metallm
from _helpers import MODES
from _router_helpers import USER, Harness, target
from metallm.testing import FakeLLMServer, ScriptedReply, ScriptedUsage

R = ScriptedReply


@pytest.fixture
def a() -> Iterator[FakeLLMServer]:
    with FakeLLMServer() as server:
        yield server


@pytest.fixture
def b() -> Iterator[FakeLLMServer]:
    with FakeLLMServer() as server:
        yield server


class Pet(pydantic.BaseModel):
    name: str
    legs: int


@pytest.mark.parametrize("mode", MODES)
def test_parse_stream_falls_back_before_the_first_chunk(
    mode: str, a: FakeLLMServer, b: FakeLLMServer
) -> None:
    targets = [target(a, "openai", name="oai"), target(b, "openai", name="oai-2")]
    a.enqueue(R.error(503, "down"), R.error(503, "down"))
    b.enqueue(R(text='{"name": "Rex", "legs": 4}', chunk_size=5))
    with Harness(mode, targets) as h:
        if mode == "sync":
            with h.router.parse_stream(Pet, messages=USER) as s:
                partials = list(s)
                final = s.final_result()
        else:

            async def go() -> tuple[list[Pet], Pet]:
                s = await h.router.parse_stream(Pet, messages=USER)
                async with s:
                    seen = [p async for p in s]
                    return seen, await s.final_result()

            partials, final = h.run(go)
    assert final.parsed == Pet(name="Rex", legs=4)
    assert partials and partials[-1] == final.parsed
    assert b.last_request.json["response_format"]["type"] == "json_schema"


@pytest.mark.parametrize("mode", MODES)
def test_the_routers_budget_is_checked_first_and_charged_by_whoever_answers(
    mode: str, a: FakeLLMServer, b: FakeLLMServer
) -> None:
    budget = metallm.Budget(max_tokens_per_window=100, window=3600)
    a.enqueue(R.error(503, "down"), R.error(503, "down"))
    b.enqueue(
        R(text="one", usage=ScriptedUsage(40, 20)), R(text="two", usage=ScriptedUsage(30, 20))
    )
    targets = [target(a, "openai", name="oai"), target(b, "anthropic", name="c")]
    with Harness(mode, targets, budget=budget) as h:
        h.chat()  # 60 tokens, answered by the fallback
        h.call("create_chat_completion", messages=USER, model="c")  # 50 more: 110
        with pytest.raises(metallm.BudgetExceededError):
            h.chat()
    assert len(a.requests) == 2 and len(b.requests) == 2  # the refused call sent nothing


@pytest.mark.parametrize("mode", MODES)
def test_a_routed_stream_charges_the_routers_budget_when_it_ends(
    mode: str, a: FakeLLMServer
) -> None:
    budget = metallm.Budget(max_tokens_per_window=50, window=3600)
    a.enqueue(R(text="streamed", usage=ScriptedUsage(40, 20)))
    with Harness(mode, [target(a, "openai", name="oai")], budget=budget) as h:
        text, _, _ = h.stream()
        assert text == "streamed"
        if mode == "async":  # the charge is a task of the loop: let it run
            h.run(_yield)
        with pytest.raises(metallm.BudgetExceededError):
            h.chat()
    assert len(a.requests) == 1


async def _yield() -> None:
    import asyncio

    await asyncio.sleep(0.05)

"""``parse_stream`` on every provider through FakeLLMServer, sync and async: validated partial
objects that grow as the JSON arrives, each yielded once, and a fully validated final object."""

from __future__ import annotations

import dataclasses
import itertools

import pytest

import metallm
from _helpers import MODES
from _structured_helpers import (
    OBJECT_ROOT,
    PROVIDERS,
    Item,
    Order,
    client_kwargs,
    messages,
    model_for,
    parse_stream,
    reply,
)
from metallm.testing import FakeLLMServer, ScriptedReply, ScriptedToolCall

BIG = {
    "customer": "Annabel Lee",
    "items": [{"name": f"item number {i}", "qty": i} for i in range(1, 6)],
    "note": "leave at the door",
}


def _check_growing(partials: list[Order], final: Order) -> None:
    assert len(partials) >= 5, partials
    assert all(isinstance(p, Order) for p in partials)  # every partial is a valid Order
    assert all(a != b for a, b in itertools.pairwise(partials))  # only changes
    sizes = [len(p.items) for p in partials]
    assert sizes == sorted(sizes) and sizes[-1] == 5
    for p in partials:  # each partial is a prefix of the answer: items complete, in order
        assert final.customer.startswith(p.customer)
        assert p.items == final.items[: len(p.items)]
    assert partials[-1] == final


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("provider", PROVIDERS)
def test_partials_grow_and_the_final_validates(mode: str, provider: str) -> None:
    with FakeLLMServer() as server:
        server.enqueue(dataclasses.replace(reply(provider, BIG), chunk_size=3))
        kw = client_kwargs(server, provider)
        partials, result = parse_stream(
            mode, kw, Order, model=model_for(provider), messages=messages()
        )
        sent = server.last_request
        assert sent.stream or "stream" in sent.path.lower()  # Gemini and Bedrock: by path
    assert result.parsed == Order.model_validate(BIG)
    assert result.response.usage is not None
    _check_growing(partials, result.parsed)


@pytest.mark.parametrize("mode", MODES)
def test_anthropic_forced_tool_streams_its_arguments(mode: str) -> None:
    with FakeLLMServer() as server:
        call = ScriptedToolCall(name="Order", arguments=BIG)
        server.enqueue(ScriptedReply(tool_calls=[call], chunk_size=4))
        kw = client_kwargs(server, "anthropic")
        partials, result = parse_stream(
            mode, kw, Order, model="claude-3-haiku-20240307", messages=messages()
        )
    _check_growing(partials, result.parsed)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("provider", ["openai", "gemini", "bedrock"])
def test_a_streamed_list_grows_item_by_item(mode: str, provider: str) -> None:
    items = BIG["items"]
    value = {"value": items} if provider in OBJECT_ROOT else items
    with FakeLLMServer() as server:
        server.enqueue(dataclasses.replace(reply(provider, value, name="list_Item"), chunk_size=2))
        kw = client_kwargs(server, provider)
        partials, result = parse_stream(
            mode, kw, list[Item], model=model_for(provider), messages=messages()
        )
    assert result.parsed == [Item.model_validate(i) for i in items]
    sizes = [len(p) for p in partials]
    assert sizes == sorted(sizes) and sizes[-1] == 5 and len(set(sizes)) == len(sizes)
    assert partials[-1] == result.parsed


@pytest.mark.parametrize("mode", MODES)
def test_an_invalid_streamed_reply_fails_at_final(mode: str) -> None:
    with FakeLLMServer() as server:
        server.enqueue(ScriptedReply(text='{"customer": "Ann", "items": [{"name": 3}]}'))
        kw = client_kwargs(server, "openai")
        with pytest.raises(metallm.StructuredOutputError) as caught:
            parse_stream(mode, kw, Order, model="m-1", messages=messages())
    error = caught.value
    assert error.raw.startswith('{"customer"') and len(error.responses) == 1
    assert {tuple(e["loc"]) for e in error.errors} == {("items", 0, "name"), ("items", 0, "qty")}


def test_final_without_iterating_drains_the_stream() -> None:
    with FakeLLMServer() as server:
        server.enqueue(ScriptedReply(text='{"customer": "Ann", "items": []}'))
        client = metallm.Client(**client_kwargs(server, "openai"))
        with client, client.parse_stream(Order, model="m-1", messages=messages()) as stream:
            assert stream.final() == Order(customer="Ann", items=[])
            assert stream.final_result().response.choices[0].finish_reason == "stop"
            assert stream.stream.finished

"""Prompt caching, provider-neutral: the unknown-field check reaches ``cache_control``, a TTL no
provider offers fails before any I/O naming where, providers that cache on their own (OpenAI,
xAI, Gemini, Ollama) send exactly the body they send without marks (codec and real client
call), and a marked message survives a round trip through SQLite conversation memory and is
sent from there as a breakpoint. Per-provider placements are in
``tests/providers/{anthropic,bedrock}/test_*_cache.py``.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import metallm
from _helpers import MODES, complete
from metallm import CacheControl, InvalidRequestError, Message, Role, TextPart
from metallm.memory import SQLiteStore
from metallm.provider import get_spec
from metallm.testing import FakeLLMServer, ScriptedReply
from metallm.testing.fake_provider import FakeProvider

KEY = "sk-cache-neutral-0123456789abcdef"
HOUR = CacheControl(ttl="1h")
AUTOMATIC = ["openai", "xai", "gemini", "ollama"]
MODELS = {
    "openai": "gpt-4o-mini",
    "xai": "grok-4",
    "gemini": "gemini-2.5-flash",
    "ollama": "llama3.2",
}


def tools(marked: bool) -> list[metallm.Tool]:
    return [
        metallm.Tool(
            function=metallm.FunctionDefinition(name=f"t{k}", parameters={"type": "object"}),
            cache_control=HOUR if marked and k == 1 else None,
        )
        for k in range(2)
    ]


def conversation(marked: bool) -> list[Message]:
    cache = HOUR if marked else None
    return [
        Message(role=Role.SYSTEM, content="A long, stable system prompt.", cache_control=cache),
        Message(
            role=Role.USER,
            content=[TextPart(text="Doc.", cache_control=cache), TextPart(text="Question?")],
            cache_control=CacheControl() if marked else None,
        ),
    ]


def cached_request(model: str, marked: bool) -> metallm.ChatCompletionRequest:
    return metallm.ChatCompletionRequest(
        model=model, messages=conversation(marked), tools=tools(marked)
    )


# -- the types -------------------------------------------------------------------------------------


def test_unknown_fields_inside_cache_control_are_refused() -> None:
    bad = {"ttl": "1h", "tll": 1}
    with pytest.raises(InvalidRequestError, match=r"'cache_control\.tll' of CacheControl"):
        Message(role="user", content="x", cache_control=bad)
    client = metallm.Client(custom_provider=(fp := FakeProvider()))
    cases = [
        ({"messages": [{"role": "user", "content": "x", "cache_control": bad}]}, "messages[0]."),
        (
            {
                "messages": [
                    {
                        "role": "user",
                        "content": [{"type": "text", "text": "x", "cache_control": bad}],
                    }
                ]
            },
            "messages[0].content[0].",
        ),
        (
            {
                "messages": [{"role": "user", "content": "x"}],
                "tools": [{"function": {"name": "f"}, "cache_control": bad}],
            },
            "tools[0].",
        ),
    ]
    for fields, where in cases:
        with pytest.raises(
            InvalidRequestError,
            match=rf"'{re.escape(where)}cache_control\.tll' of CacheControl; did you mean 'ttl'",
        ):
            client.create_chat_completion(model="m", **fields)
    assert fp.requests == []
    assert CacheControl().model_dump() == {"type": "ephemeral", "ttl": None}
    with pytest.raises(InvalidRequestError, match="type"):
        client.create_chat_completion(
            model="m",
            messages=[{"role": "user", "content": "x", "cache_control": {"type": "persistent"}}],
        )


@pytest.mark.parametrize(
    ("fields", "needle"),
    [
        (
            {"messages": [{"role": "user", "content": "x", "cache_control": {"ttl": "7d"}}]},
            r"messages\[0\]\.cache_control\.ttl '7d' is not a cache TTL any provider offers",
        ),
        (
            {
                "messages": [
                    {"role": "system", "content": "s"},
                    {
                        "role": "user",
                        "content": [
                            {"type": "text", "text": "a"},
                            {"type": "text", "text": "b", "cache_control": {"ttl": "10m"}},
                        ],
                    },
                ]
            },
            r"messages\[1\]\.content\[1\]\.cache_control\.ttl '10m'",
        ),
        (
            {
                "messages": [{"role": "user", "content": "x"}],
                "tools": [
                    {"function": {"name": "a"}},
                    {"function": {"name": "b"}},
                    {"function": {"name": "c"}, "cache_control": {"ttl": "1d"}},
                ],
            },
            r"tools\[2\]\.cache_control\.ttl '1d'",
        ),
    ],
)
def test_a_ttl_no_provider_offers_fails_before_io(fields: dict[str, Any], needle: str) -> None:
    fp = FakeProvider()
    client = metallm.Client(custom_provider=fp)
    with pytest.raises(InvalidRequestError, match=needle):
        client.create_chat_completion(model="m", **fields)
    request = metallm.ChatCompletionRequest(model="m", **fields)  # built fine, refused at the call
    with pytest.raises(InvalidRequestError, match=needle):
        client.create_chat_completion(request)
    assert fp.requests == []


# -- providers that cache on their own ---------------------------------------------------------


@pytest.mark.parametrize("name", AUTOMATIC)
def test_automatic_caching_codecs_send_the_unmarked_body(name: str) -> None:
    codec: Any = get_spec(name).create(api_key=KEY, base_url="https://example.test")
    for stream in (False, True):
        marked = codec.build_request(cached_request(MODELS[name], True), stream=stream)
        plain = codec.build_request(cached_request(MODELS[name], False), stream=stream)
        assert marked.content == plain.content
        assert b"cache" not in (marked.content or b"")


@pytest.fixture(scope="module")
def server() -> Iterator[FakeLLMServer]:
    with FakeLLMServer() as s:
        yield s


@pytest.fixture(autouse=True)
def _clean(server: FakeLLMServer) -> None:
    server.clear()


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", AUTOMATIC)
def test_automatic_caching_providers_receive_the_unmarked_body(
    server: FakeLLMServer, name: str, mode: str
) -> None:
    kw = {"provider": name, "api_key": KEY, "base_url": server.base_url(name), "hooks": []}
    server.enqueue(ScriptedReply(text="ok"), ScriptedReply(text="ok"))
    assert complete(mode, kw, cached_request(MODELS[name], True)).content == "ok"
    assert complete(mode, kw, cached_request(MODELS[name], False)).content == "ok"
    marked, plain = server.requests[-2], server.requests[-1]
    assert marked.path == plain.path
    assert marked.json == plain.json


# -- conversation memory -----------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
def test_cache_control_round_trips_through_sqlite_memory_and_is_sent_from_there(
    server: FakeLLMServer, mode: str, tmp_path: Path
) -> None:
    store = SQLiteStore(tmp_path / "memory.db")
    kw: dict[str, Any] = {
        "provider": "anthropic",
        "api_key": KEY,
        "base_url": server.base_url("anthropic"),
        "hooks": [],
        "memory": store,
    }
    system = Message(role=Role.SYSTEM, content="Stable rules.", cache_control=HOUR)
    noted = Message(
        role=Role.USER,
        content=[TextPart(text="Background.", cache_control=CacheControl(ttl="5m"))],
    )
    ask = {"model": "claude-sonnet-4-0", "messages": [{"role": "user", "content": "Go."}]}
    server.enqueue(ScriptedReply(text="Done."))

    async def scenario(client: Any, call: Any) -> list[Message]:
        await call(client.append_message, "s1", system)
        await call(client.append_message, "s1", noted)
        await call(client.create_chat_completion_with_memory, "s1", ask)
        return list(await call(client.get_conversation_messages, "s1"))

    async def direct(method: Any, *args: Any) -> Any:
        return method(*args)

    async def awaited(method: Any, *args: Any) -> Any:
        return await method(*args)

    if mode == "sync":
        with metallm.Client(**kw) as client:
            stored = asyncio.run(scenario(client, direct))
    else:

        async def main() -> list[Message]:
            async with metallm.AsyncClient(**kw) as client:
                return await scenario(client, awaited)

        stored = asyncio.run(main())
    assert stored[0] == system and stored[1] == noted
    assert stored[0].cache_control == CacheControl(ttl="1h")
    assert [m.role for m in stored] == [Role.SYSTEM, Role.USER, Role.USER, Role.ASSISTANT]
    sent = server.requests[-1].json
    assert sent["system"] == [
        {
            "type": "text",
            "text": "Stable rules.",
            "cache_control": {"type": "ephemeral", "ttl": "1h"},
        }
    ]
    assert sent["messages"][0] == {
        "role": "user",
        "content": [
            {
                "type": "text",
                "text": "Background.",
                "cache_control": {"type": "ephemeral", "ttl": "5m"},
            }
        ],
    }
    raw = json.dumps([m.model_dump(mode="json", exclude_none=True) for m in stored])
    assert raw.count('"cache_control"') == 2  # unmarked messages store no cache field

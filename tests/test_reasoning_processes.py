"""A thinking model's tool-use conversation, stored in SQLite by one process and continued by
another, for Anthropic, Gemini 3 and Bedrock, plain and streamed.

The second process has nothing but the stored conversation. FakeLLMServer checks the rule the
real APIs enforce (signed thinking first in the tool-calling turn, a Gemini 3 call with its
``thoughtSignature``) and answers 400 as they do when it is broken; the test also reads the
second request body and finds the signed blocks the first reply carried, byte-exact. A
conversation whose signed parts are gone (as a version-1 record, or reasoning text alone)
gets that 400 from Anthropic and Bedrock, which shows the fake is not lenient; Gemini's codec
then sends Google's documented stand-in signature, and a body without any gets the 400.
"""

from __future__ import annotations

import json
import multiprocessing
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

import _reasoning_worker as worker
from metallm.memory import ConversationMemory, SQLiteStore
from metallm.testing import FakeLLMServer, ScriptedReply, ScriptedToolCall
from metallm.testing.wire_signatures import call_signature, sign

THOUGHT = "The user wants Oslo's weather: call get_weather with city Oslo."
PROVIDERS = ["anthropic", "gemini", "bedrock"]


@pytest.fixture(scope="module")
def server() -> Iterator[FakeLLMServer]:
    with FakeLLMServer() as s:
        yield s


def _url(server: FakeLLMServer, provider: str) -> str:
    return server.url if provider == "bedrock" else server.base_url(provider)


def _in_process(fn: Any, *args: Any) -> str:
    ctx = multiprocessing.get_context("spawn")
    out = ctx.Queue()
    proc = ctx.Process(target=fn, args=(*args, out))
    proc.start()
    try:
        result = out.get(timeout=60)
    finally:
        proc.join(timeout=60)
        if proc.is_alive():
            proc.kill()  # our own child, by its handle
    assert proc.exitcode == 0, proc.exitcode
    return str(result)


def _expected_signed(provider: str) -> Any:
    """The signed blocks the first reply carried, as the API must get them back."""
    if provider == "anthropic":
        return {"type": "thinking", "thinking": THOUGHT, "signature": sign(THOUGHT)}
    if provider == "bedrock":
        return {
            "reasoningContent": {"reasoningText": {"text": THOUGHT, "signature": sign(THOUGHT)}}
        }
    return call_signature("get_weather", {"city": "Oslo"})


def _assistant_turn(provider: str, body: dict[str, Any]) -> list[Any]:
    if provider == "gemini":
        return next(c for c in body["contents"] if c["role"] == "model")["parts"]  # type: ignore[no-any-return]
    return next(m for m in body["messages"] if m["role"] == "assistant")["content"]  # type: ignore[no-any-return]


def _script(server: FakeLLMServer) -> None:
    server.clear()
    server.enqueue(
        ScriptedReply(
            reasoning=THOUGHT,
            tool_calls=[ScriptedToolCall(name="get_weather", arguments={"city": "Oslo"})],
            chunk_size=7,
        ),
        ScriptedReply(text="It is -3C in Oslo.", chunk_size=5),
    )


@pytest.mark.timeout(180)
@pytest.mark.parametrize("streamed", [False, True], ids=["plain", "streamed"])
@pytest.mark.parametrize("provider", PROVIDERS)
def test_signed_reasoning_survives_a_process_boundary(
    server: FakeLLMServer, tmp_path: Path, provider: str, streamed: bool
) -> None:
    db = str(tmp_path / "conversations.db")
    url = _url(server, provider)
    _script(server)
    assert _in_process(worker.first_turn, provider, url, db, streamed) == "tool_calls:"
    assert _in_process(worker.second_turn, provider, url, db, streamed) == (
        "stop:It is -3C in Oslo."
    )
    first, second = server.requests
    turn = _assistant_turn(provider, second.json)
    if provider == "gemini":
        assert turn[0]["thoughtSignature"] == _expected_signed(provider)
        assert turn[0]["functionCall"] == {"name": "get_weather", "args": {"city": "Oslo"}}
    else:  # the signed thinking comes first, before the tool call, byte for byte
        assert turn[0] == _expected_signed(provider)
        assert json.dumps(turn[0]) in json.dumps(second.json)
        assert len(turn) == 2 and ("tool_use" in json.dumps(turn[1]) or "toolUse" in turn[1])
    assert "thinking" in json.dumps(first.json) or "thinkingConfig" in json.dumps(first.json)


@pytest.mark.timeout(180)
@pytest.mark.parametrize("provider", PROVIDERS)
def test_without_its_signed_parts_the_api_refuses_the_turn(
    server: FakeLLMServer, tmp_path: Path, provider: str
) -> None:
    db = str(tmp_path / "conversations.db")
    url = _url(server, provider)
    _script(server)
    assert _in_process(worker.first_turn, provider, url, db, False) == "tool_calls:"
    store = SQLiteStore(db)
    memory = ConversationMemory(store)
    messages = memory.load(worker.SESSION).messages
    stripped = [m.model_copy(update={"reasoning": None, "provider_data": None}) for m in messages]
    memory.delete(worker.SESSION)
    memory.append(worker.SESSION, stripped)  # what a signature-less record looks like
    store.close()
    answer = _in_process(worker.second_turn, provider, url, db, False)
    if provider == "gemini":
        # the codec sends Google's documented stand-in when the real signature is unknown ...
        sent = _assistant_turn(provider, server.requests[-1].json)
        assert answer == "stop:It is -3C in Oslo."
        assert sent[0]["thoughtSignature"] == "skip_thought_signature_validator"
        # ... and without any, the API (and the fake) refuse the turn
        body = server.requests[-1].json
        del body["contents"][1]["parts"][0]["thoughtSignature"]
        server.enqueue(ScriptedReply(text="never sent"))
        path = server.requests[-1].path
        refused = httpx.post(server.url + path, json=body, headers={"x-goog-api-key": "k"})
        server.clear()
        assert refused.status_code == 400
        assert refused.json()["error"]["status"] == "INVALID_ARGUMENT"
        assert "Function call is missing a thought_signature" in refused.text
        return
    assert answer.startswith("error:400:"), answer
    wording = {
        "anthropic": "Expected `thinking` or `redacted_thinking`, but found `tool_use`",
        "bedrock": "Expected `thinking` or `redacted_thinking`, but found `toolUse`",
    }[provider]
    assert wording in answer

"""The chunks users read obey one contract on every provider (see ``_chunk_rules``).

Every recorded chat stream of the corpus (OpenAI, xAI, Anthropic, Gemini, Ollama, and the
OpenAI-compatible and Azure recordings through the OpenAI codec; Bedrock has no recorded
stream) is replayed by FakeLLMServer through the real client, sync and async, and so is every
scripted stream (text, reasoning, several parallel tool calls, tool calls without ids, a
``length`` finish with cached tokens, one-character deltas) rendered in each provider's wire
format, Bedrock's binary event stream included. Streams the scripts cannot express are served
as raw bytes in the provider's shape: ``n=2`` on OpenAI (two interleaved choices, one with
parallel tool calls) and Gemini (two candidates finishing apart, each finish bringing a
larger running usage), and xAI's running usage on every chunk. The rules are checked on the
chunks themselves, not only on what they accumulate to. The Responses API recordings
(``openai_responses``) and scripts go through the Responses codec (``openai_responses``, which
reports itself as ``openai``).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

import metallm
from _chunk_rules import UsageAt, check_stream
from _helpers import MODES, stream, user
from metallm.testing import FakeLLMServer, ScriptedReply, ScriptedToolCall, ScriptedUsage
from metallm.testing.corpus import corpus_dir, corpus_files, load_corpus_entry

KEY = "sk-test-chunks-SECRET-0123456789"
AWS = {
    "region": "us-east-1",
    "aws_access_key_id": "AKIDEXAMPLE",
    "aws_secret_access_key": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
}
PROVIDERS = ["openai", "xai", "anthropic", "gemini", "ollama", "bedrock", "openai_responses"]
MODELS = {
    "openai": "gpt-4o-mini",
    "xai": "grok-3-mini",  # FakeLLMServer speaks the xAI flavour for grok models
    "anthropic": "claude-sonnet-4-5",
    "gemini": "gemini-2.5-flash",
    "ollama": "qwen3:0.6b",
    "bedrock": "us.anthropic.claude-3-7-sonnet-20250219-v1:0",
    "openai_responses": "gpt-5-mini",
}
CORPUS_FOLDERS = {
    "openai": "openai",
    "xai": "xai",
    "anthropic": "anthropic",
    "gemini": "gemini",
    "ollama": "ollama",
    "bedrock": "bedrock",
    "openai_compatible": "openai",
    "azure_openai": "openai",
    "openai_responses": "openai_responses",
}
"""Corpus folder -> the built-in provider whose codec reads its streams."""
REPORTED = {"openai_responses": "openai"}
"""Registered names whose responses report another provider name (the Responses API is
OpenAI's)."""
NO_FINISH = {"openai/stream_tool_call_llm"}
"""Recorded streams whose server sends no finish reason at all (OpenRouter's Novita): their
chunks carry none, and only ``final_response()`` says ``tool_calls`` (by normalisation)."""


def _tool(name: str) -> metallm.Tool:
    return metallm.Tool(
        function=metallm.FunctionDefinition(
            name=name, parameters={"type": "object", "properties": {}}
        )
    )


TOOLS = [_tool("get_weather"), _tool("get_time"), _tool("noop")]


@dataclass(frozen=True)
class Case:
    """One stream: who serves it, what it is, and where its usage is."""

    provider: str
    reply: ScriptedReply | None
    usage_at: UsageAt
    corpus: Path | None = None
    fields: tuple[tuple[str, Any], ...] = ()
    finish_sent: bool = True

    def request(self) -> metallm.ChatCompletionRequest:
        return metallm.ChatCompletionRequest(
            model=MODELS[self.provider],
            messages=[user("What is the weather in Paris?")],
            tools=TOOLS,
            max_tokens=200,
            **dict(self.fields),
        )


# --- scripted streams: one script, every provider's wire format ---------------------------

SCRIPTS = {
    "text": ScriptedReply(
        text="The quick brown fox jumps over the lazy dog.",
        chunk_size=5,
        usage=ScriptedUsage(12, 9),
    ),
    "reasoning": ScriptedReply(
        text="It is 42.",
        reasoning="Six times seven is forty-two.",
        chunk_size=4,
        usage=ScriptedUsage(20, 15, reasoning_tokens=8),
    ),
    "parallel_tools": ScriptedReply(
        text="Checking all three.",
        tool_calls=[
            ScriptedToolCall("get_weather", '{"city": "Paris", "unit": "c"}', id="call_w"),
            ScriptedToolCall("get_time", '{"tz": "Europe/Paris"}', id="call_t"),
            ScriptedToolCall("noop", "{}", id="call_n"),
        ],
        chunk_size=4,
        usage=ScriptedUsage(30, 25),
    ),
    "tools_without_ids": ScriptedReply(
        tool_calls=[
            ScriptedToolCall("get_weather", {"city": "Zürich"}),
            ScriptedToolCall("get_time", {"tz": "UTC"}),
        ],
        chunk_size=3,
    ),
    "length": ScriptedReply(
        text="This answer was cut",
        finish_reason="length",
        usage=ScriptedUsage(50, 5, cached_tokens=20),
    ),
    "one_char_deltas": ScriptedReply(text="ünï ✓ 漢字 🎉", chunk_size=1),
}


def _scripted() -> list[Any]:
    return [
        pytest.param(Case(provider, reply, "last"), id=f"{provider}-{name}")
        for provider in PROVIDERS
        for name, reply in SCRIPTS.items()
    ]


# --- raw streams: what the scripts cannot say ----------------------------------------------


def _sse(*events: dict[str, Any], done: bool = True) -> ScriptedReply:
    pieces = [b"data: " + json.dumps(e).encode() + b"\n\n" for e in events]
    if done:
        pieces.append(b"data: [DONE]\n\n")
    return ScriptedReply.raw(headers={"content-type": "text/event-stream"}, body=pieces)


def _openai_chunk(*choices: dict[str, Any], usage: Any = None) -> dict[str, Any]:
    return {
        "id": "chatcmpl-n2",
        "object": "chat.completion.chunk",
        "created": 1766000000,
        "model": "gpt-4o-mini-2024-07-18",
        "system_fingerprint": "fp_n2",
        "choices": list(choices),
        "usage": usage,
    }


def _oc(index: int, finish: str | None = None, **delta: Any) -> dict[str, Any]:
    return {"index": index, "delta": delta, "logprobs": None, "finish_reason": finish}


def _head(index: int, call_id: str, name: str) -> dict[str, Any]:
    fn = {"name": name, "arguments": ""}
    return {"index": index, "id": call_id, "type": "function", "function": fn}


def _args(index: int, text: str) -> dict[str, Any]:
    return {"index": index, "function": {"arguments": text}}


OPENAI_N2 = _sse(
    _openai_chunk(_oc(0, role="assistant", content="", refusal=None)),
    _openai_chunk(_oc(1, role="assistant", content=None, refusal=None)),
    _openai_chunk(_oc(0, content="Sunny")),
    _openai_chunk(_oc(1, tool_calls=[_head(0, "call_a", "get_weather")])),
    _openai_chunk(_oc(1, tool_calls=[_head(1, "call_b", "get_time")])),
    _openai_chunk(_oc(0, content=" in Paris.")),
    _openai_chunk(_oc(1, tool_calls=[_args(1, '{"tz": ')])),
    _openai_chunk(_oc(1, tool_calls=[_args(0, '{"city": "Paris"}')])),
    _openai_chunk(_oc(1, tool_calls=[_args(1, '"UTC"}')])),
    _openai_chunk(_oc(0, "stop")),
    _openai_chunk(_oc(1, "tool_calls")),
    _openai_chunk(usage={"prompt_tokens": 40, "completion_tokens": 31, "total_tokens": 71}),
)
"""``n=2``, as OpenAI streams it: one choice per chunk, the two interleaved, the second making
two parallel calls whose fragments interleave too, then the usage-only chunk."""


def _xai_chunk(completion: int, finish: str | None = None, **delta: Any) -> dict[str, Any]:
    choice: dict[str, Any] = {"index": 0, "delta": delta}
    if finish is not None:
        choice["finish_reason"] = finish
    return {
        "id": "5c1e0f6a-xai-running-usage",
        "object": "chat.completion.chunk",
        "created": 1770774058,
        "model": "grok-3-mini",
        "choices": [choice],
        "usage": {
            "prompt_tokens": 12,
            "completion_tokens": completion,
            "total_tokens": 12 + completion + 4,
            "completion_tokens_details": {"reasoning_tokens": 4},
        },
        "system_fingerprint": "fp_xai",
    }


XAI_RUNNING_USAGE = _sse(
    _xai_chunk(0, role="assistant", reasoning_content="Hmm"),
    _xai_chunk(0, reasoning_content=", greet."),
    _xai_chunk(1, content="Hello"),
    _xai_chunk(2, content=" there"),
    _xai_chunk(3, content="!"),
    _xai_chunk(3, "stop"),
)
"""xAI's running usage: every chunk carries the usage so far (the last one is the call's)."""


def _candidate(index: int, parts: list[dict[str, Any]], finish: str | None = None) -> Any:
    out: dict[str, Any] = {"content": {"parts": parts, "role": "model"}, "index": index}
    if finish is not None:
        out["finishReason"] = finish
    return out


def _gemini_event(candidates: list[Any], candidates_tokens: int) -> dict[str, Any]:
    usage = {"promptTokenCount": 9, "totalTokenCount": 9 + candidates_tokens}
    if candidates_tokens:
        usage["candidatesTokenCount"] = candidates_tokens
    return {
        "candidates": candidates,
        "usageMetadata": usage,
        "modelVersion": "gemini-2.5-flash",
        "responseId": "gemini-n2-response",
    }


GEMINI_N2 = _sse(
    _gemini_event([_candidate(0, [{"text": "Paris is"}]), _candidate(1, [{"text": "Let me"}])], 0),
    _gemini_event([_candidate(1, [{"text": " check."}])], 0),
    _gemini_event(
        [
            _candidate(
                1,
                [
                    {"functionCall": {"name": "get_weather", "args": {"city": "Paris"}}},
                    {"functionCall": {"name": "get_time", "args": {"tz": "CET"}}},
                ],
                "STOP",
            )
        ],
        14,
    ),
    _gemini_event([_candidate(0, [{"text": " sunny."}], "STOP")], 21),
    done=False,
)
"""``candidateCount: 2``: the second candidate finishes (with two calls) before the first, and
each finishing event brings a larger running usage, so two chunks carry usage."""


def _raw() -> list[Any]:
    return [
        pytest.param(Case("openai", OPENAI_N2, "last", fields=(("n", 2),)), id="openai-n2"),
        pytest.param(Case("xai", XAI_RUNNING_USAGE, "every"), id="xai-running-usage"),
        pytest.param(Case("gemini", GEMINI_N2, "from_finish", fields=(("n", 2),)), id="gemini-n2"),
    ]


# --- recorded streams -----------------------------------------------------------------------


def _recorded() -> list[Any]:
    root = corpus_dir()
    cases = []
    for folder, provider in CORPUS_FOLDERS.items():
        for path in corpus_files(folder, root, operation="chat"):
            entry = load_corpus_entry(path)
            if entry.is_stream and entry.status < 400:
                finish_sent = f"{folder}/{path.stem}" not in NO_FINISH
                case = Case(provider, None, "last", corpus=path, finish_sent=finish_sent)
                cases.append(pytest.param(case, id=f"{folder}-{path.stem}"))
    return cases or [pytest.param(None, id="no-corpus")]


# --- the tests ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def server() -> Any:
    with FakeLLMServer() as s:
        yield s


@pytest.fixture(autouse=True)
def _clean(server: FakeLLMServer) -> None:
    server.clear()


def _client_kwargs(server: FakeLLMServer, provider: str) -> dict[str, Any]:
    kw: dict[str, Any] = {
        "provider": provider,
        "base_url": server.base_url(provider),
        "max_retries": 0,
    }
    if provider == "bedrock":
        kw["extra"] = AWS  # SigV4-signed with static test keys
    else:
        kw["api_key"] = KEY
    return kw


def _run(server: FakeLLMServer, case: Case, mode: str) -> None:
    if case.corpus is not None:
        server.replay(case.corpus)
    else:
        assert case.reply is not None
        server.enqueue(case.reply)
    chunks, final = stream(mode, _client_kwargs(server, case.provider), case.request())
    assert server.pending == 0
    check_stream(chunks, final, usage_at=case.usage_at, finish_sent=case.finish_sent)
    assert final.provider == REPORTED.get(case.provider, case.provider)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("case", _recorded())
def test_recorded_stream_chunks_obey_the_rules(
    server: FakeLLMServer, case: Case | None, mode: str
) -> None:
    if case is None:
        msg = f"corpus folder {corpus_dir()} not found (set METALLM_CORPUS)"
        if os.environ.get("CI") == "true":
            pytest.fail(msg)
        pytest.skip(msg)
    _run(server, case, mode)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("case", _scripted() + _raw())
def test_scripted_stream_chunks_obey_the_rules(
    server: FakeLLMServer, case: Case, mode: str
) -> None:
    _run(server, case, mode)


def test_every_provider_and_the_whole_corpus_are_covered() -> None:
    """A provider or a recorded stream left out of the parametrisation fails here."""
    scripted = {p.values[0].provider for p in _scripted()}
    assert scripted == set(PROVIDERS)
    assert {p.values[0].provider for p in _raw()} == {"openai", "xai", "gemini"}
    root = corpus_dir()
    if not root.is_dir():
        pytest.skip(f"corpus folder {root} not found")
    recorded = {p.values[0].corpus for p in _recorded()}
    for folder in sorted(p.name for p in root.iterdir() if p.is_dir()):
        streams = [
            path
            for path in sorted((root / folder).glob("*.json"))
            if (e := load_corpus_entry(path)).is_stream and e.status < 400 and e.kind == "stream"
        ]
        assert set(streams) <= recorded, f"{folder}: recorded streams left out"

"""The command line: ``python -m metallm demo`` and ``python -m metallm chat``.

``demo`` is the main job of ``make demo``: offline by default, it starts a
:class:`~metallm.testing.FakeLLMServer` on 127.0.0.1 and drives the real client through it (a
plain call, a streamed call printing tokens as they arrive, a tool call, an async call,
embeddings, a document with a prompt-cache mark, a thinking model's tool-use turn continued
by a fresh client from SQLite memory with its signed reasoning sent back, a budget that
stops spending, and a routed call falling back from a failing OpenAI to Anthropic; each call's
usage line shows its cost when the price data knows the model).
With
``--provider X`` and that provider's key in the environment it runs the same against the real
API. ``chat`` is a small interactive loop with history, on the same choice of endpoint.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from decimal import Decimal
from typing import Any, TextIO

from . import models
from .budget import Budget
from .client import AsyncClient, Client
from .errors import BudgetExceededError, MetaLLMError, UnsupportedFeatureError
from .types import (
    CacheControl,
    ChatCompletionRequest,
    DocumentPart,
    FunctionDefinition,
    Message,
    Role,
    TextPart,
    Tool,
)

__all__ = ["main"]

_DEFAULT_MODELS = {
    "openai": models.GPT_4O_MINI,
    "xai": models.GROK_3_MINI,
    "ollama": models.OLLAMA_LLAMA3_1,
    "anthropic": models.CLAUDE_SONNET_4_5,
    "gemini": models.GEMINI_2_5_FLASH,
    "bedrock": models.BEDROCK_CLAUDE_SONNET_4_5,
}
_EMBEDDING_MODELS = {
    "openai": models.TEXT_EMBEDDING_3_SMALL,
    "xai": "v1",
    "ollama": models.OLLAMA_NOMIC_EMBED_TEXT,
    "gemini": models.GEMINI_EMBEDDING_001,
    "bedrock": models.BEDROCK_TITAN_EMBED_TEXT_V2,
}
_KEY_ENV = {
    "openai": "OPENAI_API_KEY",
    "xai": "XAI_API_KEY",
    "ollama": "OLLAMA_HOST",
    "anthropic": "ANTHROPIC_API_KEY",
    "gemini": "GEMINI_API_KEY",
    "bedrock": "AWS_ACCESS_KEY_ID",
}


@contextmanager
def _endpoint(provider: str, live: bool, out: TextIO) -> Iterator[tuple[dict[str, Any], Any]]:
    """Client settings (and the fake server, offline): the real API when live."""
    if live:
        out.write(f"Using the real {provider} API (key from ${_KEY_ENV.get(provider, '?')}).\n")
        region = {"region": os.environ.get("AWS_REGION", "us-east-1")}
        yield {"provider": provider, **({"extra": region} if provider == "bedrock" else {})}, None
        return
    from .testing import FakeLLMServer

    with FakeLLMServer() as server:
        out.write(f"Offline: FakeLLMServer speaking the {provider} wire format at {server.url}\n")
        settings: dict[str, Any] = {"provider": provider, "base_url": server.base_url(provider)}
        if provider == "bedrock":  # SigV4-signed with static demo credentials
            settings["extra"] = {
                "region": "us-east-1",
                "aws_access_key_id": "AKIDDEMOOFFLINE",
                "aws_secret_access_key": "demo-offline-secret-key",
            }
        else:
            settings["api_key"] = "sk-demo-offline"
        yield settings, server


def _usage_line(resp: Any) -> str:
    u = resp.usage
    if u is None:
        return "usage: not reported"
    line = f"usage: {u.prompt_tokens} in + {u.completion_tokens} out = {u.total_tokens} tokens"
    cost = getattr(resp, "cost", None)
    return line + (f", cost {cost.total:.8f} {cost.currency}" if cost is not None else "")


def _demo(provider: str, model: str, live: bool, out: TextIO) -> None:
    from .otel._summary import DemoTelemetry

    telemetry = DemoTelemetry()
    try:
        _demo_calls(provider, model, live, out)
        out.write("\n" + telemetry.render())
    finally:
        telemetry.shutdown()


def _demo_calls(provider: str, model: str, live: bool, out: TextIO) -> None:
    with _endpoint(provider, live, out) as (settings, server):
        client = Client(**settings)
        out.write(f"Client: {client!r}\n\n")

        out.write("1) Plain call\n")
        hello = [
            Message(role=Role.SYSTEM, content="You are concise."),
            Message(role=Role.USER, content="Say hello to a new metallm user."),
        ]
        counted = client.count_tokens(model=model, messages=hello)
        how = f"exact, {counted.source}" if counted.exact else "an estimate: no tokenizer here"
        out.write(f"   counted before sending: {counted.input_tokens} tokens ({how})\n")
        t0 = time.perf_counter()
        resp = client.create_chat_completion(model=model, messages=hello, max_tokens=100)
        ms = (time.perf_counter() - t0) * 1000
        out.write(f"   reply: {resp.content}\n   finish: {resp.choices[0].finish_reason}, ")
        out.write(f"{_usage_line(resp)}, {ms:.1f} ms, model {resp.model}\n\n")

        out.write("2) Streamed call (tokens as they arrive)\n   ")
        if server is not None:
            from .testing import ScriptedReply

            story = "Once upon a time, a developer switched LLM providers by changing one word."
            server.enqueue(ScriptedReply(text=story, chunk_size=3, delay=0.02))
        t0 = time.perf_counter()
        first: float | None = None
        with client.create_chat_completion_stream(
            model=model, messages=[Message(role=Role.USER, content="Stream a short greeting.")]
        ) as stream:
            for chunk in stream:
                if chunk.choices and chunk.choices[0].delta.content:
                    first = first or time.perf_counter()
                    out.write(chunk.choices[0].delta.content)
                    out.flush()
            final = stream.final_response()
        ttft = ((first or time.perf_counter()) - t0) * 1000
        out.write(f"\n   time to first token {ttft:.1f} ms, {_usage_line(final)}\n\n")

        out.write("3) Tool call\n")
        if server is not None:
            from .testing import ScriptedReply, ScriptedToolCall

            scripted = ScriptedToolCall(name="get_weather", arguments='{"city": "Paris"}')
            server.enqueue(ScriptedReply(tool_calls=[scripted]))
        weather = Tool(
            function=FunctionDefinition(
                name="get_weather",
                description="Current weather for a city",
                parameters={
                    "type": "object",
                    "properties": {"city": {"type": "string"}},
                    "required": ["city"],
                },
            )
        )
        resp = client.create_chat_completion(
            model=model,
            messages=[Message(role=Role.USER, content="What's the weather in Paris?")],
            tools=[weather],
        )
        for call in resp.choices[0].message.tool_calls or []:
            out.write(
                f"   model asks: {call.function.name}({call.function.arguments}) id={call.id}\n"
            )
        out.write(f"   finish: {resp.choices[0].finish_reason}\n\n")
        client.close()

        out.write("4) Async call\n")

        async def run_async() -> str:
            async with AsyncClient(**settings) as ac:
                r = await ac.create_chat_completion(
                    model=model, messages=[Message(role=Role.USER, content="Hello from asyncio!")]
                )
                return r.content

        out.write(f"   reply: {asyncio.run(run_async())}\n\n")
        _demo_embeddings(provider, settings, out)
        _demo_document(model, settings, server, out)
        _demo_signed_memory(provider, model, settings, server, out)
        _demo_budget(model, settings, out)
        _demo_router(server, out)
        out.write("Done.\n")


def _demo_embeddings(provider: str, settings: dict[str, Any], out: TextIO) -> None:
    out.write("5) Embeddings\n")
    model = _EMBEDDING_MODELS.get(provider)
    if model is None:
        out.write(f"   {provider} has no embeddings API (Anthropic points to Voyage AI)\n\n")
        return
    with Client(**settings) as client:
        emb = client.create_embeddings(model=model, input=["first text", "second text"])
    head = ", ".join(f"{v:.3f}" for v in emb.vectors[0][:3])
    out.write(
        f"   {len(emb.data)} vectors of {emb.dimensions} floats from {emb.model}: [{head}, ...]"
        f", {emb.usage.prompt_tokens} input tokens\n\n"
    )


def _demo_document(model: str, settings: dict[str, Any], server: Any, out: TextIO) -> None:
    out.write("6) A document, with a prompt-cache mark on the system prompt\n")
    notes = DocumentPart.from_text("metallm 0.2: documents, audio, prompt caching.", name="notes")
    with Client(**settings) as client:
        try:
            resp = client.create_chat_completion(
                model=model,
                messages=[
                    Message(role=Role.SYSTEM, content="Be brief.", cache_control=CacheControl()),
                    Message(role=Role.USER, content=[TextPart(text="What is new?"), notes]),
                ],
            )
        except UnsupportedFeatureError as exc:
            out.write(f"   refused before any I/O: {exc}\n\n")
            return
    out.write(f"   reply: {resp.content}\n")
    if server is not None:
        sent = json.dumps(server.last_request.json)
        marked = "cache_control" in sent or "cachePoint" in sent
        out.write(f"   the provider got the document; cache mark sent: {marked}")
        out.write(" (OpenAI, xAI, Gemini and Ollama cache on their own)\n" if not marked else "\n")
    out.write("\n")


def _demo_signed_memory(
    provider: str, model: str, settings: dict[str, Any], server: Any, out: TextIO
) -> None:
    out.write("7) Thinking + a tool call, continued by a new client from SQLite memory\n")
    if server is None and provider not in ("anthropic", "bedrock", "gemini"):
        out.write(f"   {provider} signs no reasoning: nothing to send back\n\n")
        return
    if server is not None:  # offline: Anthropic's wire, which refuses unsigned thinking
        from .testing import ScriptedReply, ScriptedToolCall

        provider, model = "anthropic", models.CLAUDE_SONNET_4_5
        settings = {**settings, "provider": "anthropic", "base_url": server.base_url(provider)}
        settings.pop("extra", None)
        settings.setdefault("api_key", "sk-demo-offline")
        call = ScriptedToolCall(name="get_weather", arguments={"city": "Paris"})
        thought = "The user wants the weather: call get_weather for Paris."
        server.enqueue(
            ScriptedReply(reasoning=thought, tool_calls=[call]), ScriptedReply(text="Sunny, 21C.")
        )
    from .memory import SQLiteStore

    weather = {"type": "function", "function": {"name": "get_weather", "parameters": {}}}
    with tempfile.TemporaryDirectory() as folder:
        db = os.path.join(folder, "conversations.db")
        fields: dict[str, Any] = {"model": model, "tools": [weather], "reasoning_effort": "low"}
        with Client(**settings, memory=SQLiteStore(db)) as first:
            asked = first.create_chat_completion_with_memory(
                "demo", messages=[{"role": "user", "content": "Weather in Paris?"}], **fields
            )
        message = asked.choices[0].message
        out.write(f"   turn 1: {len(message.reasoning or [])} signed reasoning block(s) stored\n")
        if not message.tool_calls:
            out.write("   (the model answered without the tool)\n\n")
            return
        with Client(**settings, memory=SQLiteStore(db)) as second:  # as another process would
            result = {"role": "tool", "tool_call_id": message.tool_calls[0].id, "content": "21C"}
            final = second.create_chat_completion_with_memory("demo", messages=[result], **fields)
    out.write(f"   turn 2 (new client, signed blocks sent back): {final.content}\n\n")


def _demo_budget(model: str, settings: dict[str, Any], out: TextIO) -> None:
    out.write("8) A budget stops spending (checked before each call, charged after)\n")
    budget = Budget(limit=Decimal("0.00002"), max_tokens_per_window=80, window=3600)
    with Client(**settings, budget=budget) as client:
        for n in range(1, 20):
            try:
                resp = client.create_chat_completion(
                    model=model, messages=[Message(role=Role.USER, content="Count to three.")]
                )
            except BudgetExceededError as exc:
                out.write(f"   call {n} refused before any I/O: {exc}\n\n")
                return
            out.write(f"   call {n}: {_usage_line(resp)}\n")


def _demo_router(server: Any, out: TextIO) -> None:
    """A Router over two wires of the demo's server: OpenAI answers 503 (twice: its own retry
    goes first), so the call falls back to Anthropic; its telemetry is one routed span over one
    span per attempt."""
    out.write("9) A routed call: OpenAI answers 503 (and again to its retry), so the router\n")
    out.write("   falls back to Anthropic\n")
    if server is None:  # a real provider cannot be made to fail on cue
        out.write("   offline only (it needs an OpenAI endpoint that answers 503)\n\n")
        return
    from .retry import RetryPolicy
    from .router import Router, Target
    from .testing import ScriptedReply

    server.enqueue(*[ScriptedReply.error(503, "overloaded, try later")] * 2)
    primary = Target(
        provider="openai",
        model=models.GPT_4O_MINI,
        name="openai-primary",
        base_url=server.base_url("openai"),
        api_key="sk-demo-offline",
        retry=RetryPolicy(max_retries=1, initial_backoff=0.05),
    )
    backup = Target(
        provider="anthropic",
        model=models.CLAUDE_SONNET_4_5,
        name="anthropic-backup",
        base_url=server.base_url("anthropic"),
        api_key="sk-demo-offline",
    )
    with Router([primary, backup]) as router:  # strategy="fallback": in order
        resp = router.create_chat_completion(
            messages=[Message(role=Role.USER, content="Hello, whoever answers!")]
        )
        stats = router.stats()
    out.write(f"   reply from {resp.provider} {resp.model}: {resp.content}\n")
    for s in stats.values():
        tries = f"{s.calls} attempt{'s' if s.calls != 1 else ''}"
        out.write(f"   {s.name}: {tries}, {s.failures} failed, breaker {s.breaker}\n")
    out.write("   (below: a routed INTERNAL span over one CLIENT span per attempt)\n\n")


def _chat(provider: str, model: str, live: bool, inp: TextIO, out: TextIO) -> None:
    with _endpoint(provider, live, out) as (settings, _), Client(**settings) as client:
        history: list[Message] = []
        out.write("Type a message (empty line or Ctrl-D to quit).\n")
        while True:
            out.write("> ")
            out.flush()
            line = inp.readline()
            if not line.strip():
                return
            history.append(Message(role=Role.USER, content=line.strip()))
            request = ChatCompletionRequest(model=model, messages=history)
            with client.create_chat_completion_stream(request) as stream:
                for chunk in stream:
                    if chunk.choices and chunk.choices[0].delta.content:
                        out.write(chunk.choices[0].delta.content)
                        out.flush()
                final = stream.final_response()
            out.write("\n")
            history.append(final.choices[0].message)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m metallm`` and the ``metallm`` script."""
    parser = argparse.ArgumentParser(prog="metallm", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("demo", "chat"):
        p = sub.add_parser(name)
        p.add_argument(
            "--provider",
            default=None,
            help="openai, anthropic, gemini, xai, ollama or bedrock (default: openai)",
        )
        p.add_argument("--model", default=None)
        p.add_argument("--offline", action="store_true", help="use the fake server even with a key")
    args = parser.parse_args(argv)
    provider = args.provider or "openai"
    live = (
        bool(args.provider)
        and not args.offline
        and bool(os.environ.get(_KEY_ENV.get(provider, "")))
    )
    model = args.model or _DEFAULT_MODELS.get(provider, "default")
    try:
        if args.command == "demo":
            _demo(provider, model, live, sys.stdout)
        else:
            _chat(provider, model, live, sys.stdin, sys.stdout)
    except MetaLLMError as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 1
    return 0

"""The command line: ``python -m metallm demo`` and ``python -m metallm chat``.

``demo`` is the main job of ``make demo``: offline by default, it starts a
:class:`~metallm.testing.FakeLLMServer` on 127.0.0.1 and drives the real client through it (a
plain call, a streamed call printing tokens as they arrive, a tool call, an async call,
embeddings, a document with a prompt-cache mark, a thinking model's tool-use turn continued
by a fresh client from SQLite memory with its signed reasoning sent back, a budget that
stops spending, a routed call falling back from a failing OpenAI to Anthropic, and one call
each on Azure OpenAI, Groq and the Responses API with an exchange recorded and replayed with
no server; each call's usage line shows its cost when the price data knows the model). The
steps after the fourth live in :mod:`metallm._demo_steps`.
With
``--provider X`` and that provider's key in the environment it runs the same against the real
API. ``chat`` is a small interactive loop with history, on the same choice of endpoint.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TextIO

from . import models
from ._demo_steps import demo_steps, usage_line
from .client import AsyncClient, Client
from .errors import MetaLLMError
from .types import (
    ChatCompletionRequest,
    FunctionDefinition,
    Message,
    Role,
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
        out.write(f"{usage_line(resp)}, {ms:.1f} ms, model {resp.model}\n\n")

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
        out.write(f"\n   time to first token {ttft:.1f} ms, {usage_line(final)}\n\n")

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
        demo_steps(provider, model, settings, server, out)
        out.write("Done.\n")


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

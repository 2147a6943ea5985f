"""The demo's later steps (``python -m metallm demo``), one function each.

:mod:`metallm.cli` runs the first calls itself (plain, streamed, tools, async) and then these,
each showing one capability briefly on the demo's own endpoint: embeddings, a document with
a prompt-cache mark, signed reasoning continued from SQLite memory, a budget, a routed call,
and the other wire formats (Azure OpenAI, a named OpenAI-compatible service, the Responses
API, and the Recorder). Kept apart so the command line module stays about the command line.
"""

from __future__ import annotations

import json
import os
import tempfile
from decimal import Decimal
from typing import Any, TextIO

from . import models
from .budget import Budget
from .client import Client
from .errors import BudgetExceededError, UnsupportedFeatureError
from .types import (
    CacheControl,
    DocumentPart,
    Message,
    Role,
    TextPart,
)

__all__ = ["demo_steps", "usage_line"]

_EMBEDDING_MODELS = {
    "openai": models.TEXT_EMBEDDING_3_SMALL,
    "xai": "v1",
    "ollama": models.OLLAMA_NOMIC_EMBED_TEXT,
    "gemini": models.GEMINI_EMBEDDING_001,
    "bedrock": models.BEDROCK_TITAN_EMBED_TEXT_V2,
}


def usage_line(resp: Any) -> str:
    u = resp.usage
    if u is None:
        return "usage: not reported"
    line = f"usage: {u.prompt_tokens} in + {u.completion_tokens} out = {u.total_tokens} tokens"
    cost = getattr(resp, "cost", None)
    return line + (f", cost {cost.total:.8f} {cost.currency}" if cost is not None else "")


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
            out.write(f"   call {n}: {usage_line(resp)}\n")


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


def _demo_wire_formats(server: Any, out: TextIO) -> None:
    """One call each on the wire formats beyond the six providers' own: Azure OpenAI (a
    deployment), a named OpenAI-compatible service, OpenAI's Responses API; then the Recorder
    turning one live exchange into a file that replays with no server at all."""
    out.write("10) More wire formats, one word each; and a recorded exchange replayed offline\n")
    if server is None:
        out.write("   offline only (each needs its own service's key)\n\n")
        return
    from .testing import Recorder

    ask = [Message(role=Role.USER, content="Which wire is this?")]
    calls: list[tuple[str, str, dict[str, Any], str]] = [
        ("azure_openai", "azure_openai", {"api_version": "2024-10-21"}, "chat-prod"),
        ("groq", "groq", {}, "llama-3.3-70b-versatile"),
        ("openai (Responses API)", "openai", {"api": "responses"}, models.GPT_4O_MINI),
    ]
    for label, name, extra, deployment in calls:
        settings = {"provider": name, "base_url": server.base_url(name), "extra": extra}
        with Client(**settings, api_key="sk-demo-offline") as client:
            resp = client.create_chat_completion(model=deployment, messages=ask)
        out.write(f"   {label}: {resp.content} [{resp.id[:12]}...]\n")
    key = "gsk_demo_SECRET_key_0123456789"
    model = "llama-3.3-70b-versatile"
    with tempfile.TemporaryDirectory() as folder:
        live = Recorder(folder)
        with Client(provider="groq", base_url=server.base_url("groq"), api_key=key,
                    recorder=live) as client:  # fmt: skip
            first = client.create_chat_completion(model=model, messages=ask)
        [path] = live.recorded
        with open(path, encoding="utf-8") as recorded:
            leaked = "SECRET" in recorded.read()
        offline = Recorder(folder, mode="replay")  # never sends: port 9 has no server
        with Client(provider="groq", base_url="http://127.0.0.1:9/openai/v1", api_key=key,
                    recorder=offline) as client:  # fmt: skip
            again = client.create_chat_completion(model=model, messages=ask)
    same = "the same reply" if again.content == first.content else "a different reply"
    out.write(f"   recorded {os.path.basename(path)} (the key in it: {'yes' if leaked else 'no'})")
    out.write(f";\n   replayed with no server: {same}\n\n")


def demo_steps(
    provider: str, model: str, settings: dict[str, Any], server: Any, out: TextIO
) -> None:
    """Run the demo's later steps, in order."""
    _demo_embeddings(provider, settings, out)
    _demo_document(model, settings, server, out)
    _demo_signed_memory(provider, model, settings, server, out)
    _demo_budget(model, settings, out)
    _demo_router(server, out)
    _demo_wire_formats(server, out)

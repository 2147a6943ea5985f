"""Shared helpers of the structured-output tests: one parse, sync or async, the same way."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from pydantic import BaseModel

import metallm
from metallm.testing import FakeLLMServer, ScriptedReply, ScriptedToolCall

PROVIDERS = ["openai", "xai", "anthropic", "gemini", "ollama", "bedrock"]
AWS = {
    "region": "us-east-1",
    "aws_access_key_id": "AKIDEXAMPLE",
    "aws_secret_access_key": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
}
MODELS = {"anthropic": "claude-sonnet-4-5", "bedrock": "anthropic.claude-3-haiku"}
FORCED_TOOL = {"bedrock"}
"""Providers answering through a forced tool call (Anthropic too on an older model)."""
OBJECT_ROOT = {"openai", "xai", "anthropic", "bedrock"}
"""Providers whose schemas get an object at the top (a list is wrapped in ``value``)."""


class Item(BaseModel):
    name: str
    qty: int


class Order(BaseModel):
    """An order with its items."""

    customer: str
    items: list[Item]
    note: str | None = None


ORDER = {"customer": "Ann", "items": [{"name": "tea", "qty": 2}, {"name": "cake", "qty": 1}]}


def client_kwargs(server: FakeLLMServer, provider: str, **more: Any) -> dict[str, Any]:
    kw: dict[str, Any] = {"provider": provider, "base_url": server.base_url(provider)}
    if provider == "bedrock":
        kw["extra"] = AWS
    else:
        kw["api_key"] = "sk-structured-test-key"
    kw.setdefault("hooks", [])
    kw.update(more)
    return kw


def model_for(provider: str) -> str:
    return MODELS.get(provider, "m-1")


def reply(provider: str, value: Any, name: str = "Order", **more: Any) -> ScriptedReply:
    """The fake model's answer, as the provider delivers it (text, or the forced tool call)."""
    if provider in FORCED_TOOL:
        return ScriptedReply(tool_calls=[ScriptedToolCall(name=name, arguments=value)], **more)
    return ScriptedReply(text=json.dumps(value), **more)


def messages() -> list[dict[str, str]]:
    return [{"role": "user", "content": "Ann ordered two teas and a cake."}]


def parse(mode: str, kw: dict[str, Any], response_model: Any, **call: Any) -> Any:
    """One ``parse`` with a fresh client of ``mode``."""
    if mode == "sync":
        with metallm.Client(**kw) as client:
            return client.parse(response_model, **call)

    async def go() -> Any:
        async with metallm.AsyncClient(**kw) as client:
            return await client.parse(response_model, **call)

    return asyncio.run(go())


def parse_stream(
    mode: str, kw: dict[str, Any], response_model: Any, **call: Any
) -> tuple[list[Any], Any]:
    """One ``parse_stream``: every partial yielded, and ``final_result()``."""
    if mode == "sync":
        with metallm.Client(**kw) as client, client.parse_stream(response_model, **call) as s:
            partials = list(s)
            return partials, s.final_result()

    async def go() -> tuple[list[Any], Any]:
        async with metallm.AsyncClient(**kw) as client:
            s = await client.parse_stream(response_model, **call)
            async with s:
                partials = [p async for p in s]
                return partials, await s.final_result()

    return asyncio.run(go())

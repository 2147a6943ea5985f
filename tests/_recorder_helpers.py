"""Shared scaffolding of the Recorder tests: clients per provider, one call run to a comparable
outcome (result or typed error), sync or async, plain, streamed, embeddings or token count.

An outcome is plain data (``model_dump`` of every chunk and response, or the error's class and
text), so a live call, its replay over HTTP and its in-process replay compare with ``==``.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

import metallm
from metallm.testing.corpus import CorpusEntry

AKID = "AKIAIOSFODNN7EXAMPLE"  # AWS's documented example id: the shape the scrubber masks
SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
TOKEN = "FwoGZXIvYXdzEXAMPLE-session+token/0123456789"
KEYS = {
    "openai": "sk-proj-live0123456789abcdefABCDEF",
    "xai": "xai-" + "Live0123456789" * 4,
    "anthropic": "sk-ant-api03-Live0123456789abcdef-ABCDEF",
    "gemini": "AIzaSyLive0123456789abcdefghijklmnopqr",
    "ollama": None,
}
PROVIDERS = ["openai", "xai", "anthropic", "gemini", "ollama", "bedrock"]
CLOSED = "http://127.0.0.1:1"  # nothing listens: an in-process replay must not need the network
MODELS = {
    "openai": "gpt-4o-mini",
    "xai": "grok-4",
    "anthropic": "claude-sonnet-4-5",
    "gemini": "gemini-2.5-flash",
    "ollama": "llama3.2",
    "bedrock": "us.anthropic.claude-sonnet-4-5-20250929-v1:0",
}


def client_kwargs(provider: str, root: str, **extra: Any) -> dict[str, Any]:
    """Client keyword arguments for ``provider`` against a server at ``root`` (no hooks)."""
    kwargs: dict[str, Any] = {"hooks": [], "max_retries": 0, **extra}
    if provider == "bedrock":
        from metallm.providers.bedrock import BedrockProvider

        kwargs["custom_provider"] = BedrockProvider(
            region="us-east-1",
            endpoint_url=root,
            aws_access_key_id=AKID,
            aws_secret_access_key=SECRET,
            aws_session_token=TOKEN,
        )
        return kwargs
    from metallm.testing.wire import base_path

    kwargs.setdefault("api_key", KEYS[provider])
    kwargs.update(provider=provider, base_url=root + base_path(provider))
    return kwargs


@dataclass(frozen=True)
class Call:
    """One call to make: ``operation`` is chat, stream, embeddings or count_tokens."""

    operation: str
    model: str
    messages: list[metallm.Message] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)
    inputs: tuple[str, ...] = ("a", "b")

    def request(self) -> metallm.ChatCompletionRequest:
        messages = self.messages or [metallm.Message(role="user", content="Hello")]
        return metallm.ChatCompletionRequest(model=self.model, messages=messages, **self.extra)


def call_for(entry: CorpusEntry) -> Call:
    """The call that makes the client read a corpus entry's reply as that entry's operation."""
    provider = entry.provider
    body = entry.request_body if isinstance(entry.request_body, dict) else {}
    model = body.get("model") or ""
    if not model and "/model/" in entry.request_path:
        model = unquote(entry.request_path.split("/model/")[1].split("/")[0])
    if not model and "/models/" in entry.request_path:
        model = entry.request_path.split("/models/")[1].split(":")[0]
    model = str(model or MODELS.get(provider, "test-model"))
    operation = entry.operation
    if operation == "chat" and entry.is_stream:
        operation = "stream"
    count = 1  # as many texts as the recorded reply has vectors
    for name in ("input", "requests", "instances", "texts"):
        if isinstance(body.get(name), list):
            count = len(body[name])
    return Call(operation, model, inputs=tuple("abcdefgh"[:count]))


def _error(exc: BaseException) -> tuple[str, str, str]:
    return ("error", type(exc).__name__, str(exc))


def _dump(value: Any) -> Any:
    return value.model_dump(mode="json") if hasattr(value, "model_dump") else repr(value)


def outcome(mode: str, kwargs: dict[str, Any], call: Call) -> Any:
    """What ``call`` gives on a fresh client: its result(s) as plain data, or its error."""
    if mode == "sync":
        with metallm.Client(**kwargs) as client:
            return _sync(client, call)
    return asyncio.run(_async_outcome(kwargs, call))


def _sync(client: metallm.Client, call: Call) -> Any:
    try:
        if call.operation == "chat":
            return ("ok", _dump(client.create_chat_completion(call.request())))
        if call.operation == "embeddings":
            return (
                "ok",
                _dump(client.create_embeddings(model=call.model, input=list(call.inputs))),
            )
        if call.operation == "count_tokens":
            return ("ok", _dump(client.count_tokens(call.request())))
    except metallm.MetaLLMError as exc:
        return _error(exc)
    chunks: list[Any] = []
    try:
        with client.create_chat_completion_stream(call.request()) as stream:
            chunks.extend(_dump(chunk) for chunk in stream)
            return ("ok", chunks, _dump(stream.final_response()))
    except metallm.MetaLLMError as exc:
        return (*_error(exc), chunks)


async def _async_outcome(kwargs: dict[str, Any], call: Call) -> Any:
    async with metallm.AsyncClient(**kwargs) as client:
        try:
            if call.operation == "chat":
                return ("ok", _dump(await client.create_chat_completion(call.request())))
            if call.operation == "embeddings":
                reply = await client.create_embeddings(model=call.model, input=list(call.inputs))
                return ("ok", _dump(reply))
            if call.operation == "count_tokens":
                return ("ok", _dump(await client.count_tokens(call.request())))
        except metallm.MetaLLMError as exc:
            return _error(exc)
        chunks: list[Any] = []
        try:
            stream = await client.create_chat_completion_stream(call.request())
            async with stream:
                async for chunk in stream:
                    chunks.append(_dump(chunk))
                return ("ok", chunks, _dump(await stream.final_response()))
        except metallm.MetaLLMError as exc:
            return (*_error(exc), chunks)

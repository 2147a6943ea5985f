"""One turn of a thinking model's tool-use conversation, run in its own ``spawn``ed process.

Each call builds a fresh client on the shared SQLite file, so nothing but the stored
conversation links the two turns of ``tests/test_reasoning_processes.py``.
"""

from __future__ import annotations

from typing import Any

import metallm
from metallm.memory import SQLiteStore

SESSION = "thinking-tools"
WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    },
}
MODELS = {
    "anthropic": "claude-sonnet-4-5",
    "gemini": "gemini-3-pro-preview",
    "bedrock": "us.anthropic.claude-sonnet-4-5-20250929-v1:0",
}


def _client(provider: str, url: str, db: str) -> metallm.Client:
    memory = SQLiteStore(db)
    retry = metallm.RetryPolicy(max_retries=0)
    if provider == "bedrock":
        from metallm.providers.bedrock import BedrockProvider

        codec = BedrockProvider(
            region="us-east-1",
            endpoint_url=url,
            aws_access_key_id="AKIDEXAMPLE",
            aws_secret_access_key="wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
        )
        return metallm.Client(custom_provider=codec, memory=memory, retry=retry)
    return metallm.Client(
        provider=provider, api_key="test-key-0123456789", base_url=url, memory=memory, retry=retry
    )


def _call(client: metallm.Client, provider: str, streamed: bool, message: dict[str, Any]) -> str:
    fields: dict[str, Any] = {
        "model": MODELS[provider],
        "messages": [message],
        "tools": [WEATHER],
        "reasoning_effort": "low",
    }
    if not streamed:
        reply = client.create_chat_completion_with_memory(SESSION, **fields)
        return f"{reply.choices[0].finish_reason}:{reply.content}"
    with client.create_chat_completion_stream_with_memory(SESSION, **fields) as stream:
        for _ in stream:
            pass
        reply = stream.final_response()
    return f"{reply.choices[0].finish_reason}:{reply.content}"


def first_turn(provider: str, url: str, db: str, streamed: bool, out: Any) -> None:
    """The user asks; the model thinks and calls the tool; the turn is stored."""
    client = _client(provider, url, db)
    out.put(_call(client, provider, streamed, {"role": "user", "content": "Weather in Oslo?"}))
    client.close()


def second_turn(provider: str, url: str, db: str, streamed: bool, out: Any) -> None:
    """Another process answers the tool call from the stored conversation alone."""
    client = _client(provider, url, db)
    call_id = client.get_conversation_messages(SESSION)[-1].tool_calls[0].id  # type: ignore[index]
    result = {"role": "tool", "tool_call_id": call_id, "content": "-3C"}
    try:
        out.put(_call(client, provider, streamed, result))
    except metallm.APIError as exc:
        out.put(f"error:{exc.status_code}:{exc}")
    client.close()

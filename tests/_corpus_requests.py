"""Rebuilding a unified request from a recorded OpenAI-format request body (corpus replay)."""

from __future__ import annotations

import json
from typing import Any

import metallm


def _content(value: Any) -> Any:
    if isinstance(value, list):
        parts: list[Any] = []
        for p in value:
            if p.get("type") == "text":
                parts.append(metallm.TextPart(text=p["text"]))
            elif p.get("type") == "image_url":
                parts.append(metallm.ImagePart.from_url(p["image_url"]["url"]))
        return parts
    return value


def request_from_openai_body(body: Any, fallback_model: str) -> metallm.ChatCompletionRequest:
    """The unified request that produces the recorded body (or a plain one when not recorded)."""
    if not isinstance(body, dict):
        return metallm.ChatCompletionRequest(
            model=fallback_model, messages=[metallm.Message(role="user", content="Hello")]
        )
    messages = []
    for m in body["messages"]:
        tool_calls = None
        if m.get("tool_calls"):
            tool_calls = [
                metallm.ToolCall(
                    id=tc["id"],
                    function=metallm.FunctionCall(
                        name=tc["function"]["name"],
                        arguments=tc["function"].get("arguments") or "{}",
                    ),
                )
                for tc in m["tool_calls"]
            ]
        messages.append(
            metallm.Message(
                role=m["role"],
                content=_content(m.get("content")),
                tool_calls=tool_calls,
                tool_call_id=m.get("tool_call_id"),
                name=m.get("name"),
            )
        )
    tools = None
    if body.get("tools"):
        tools = [metallm.Tool.model_validate(t) for t in body["tools"]]
    known = {
        "model",
        "messages",
        "tools",
        "stream",
        "stream_options",
        "max_completion_tokens",
        "max_tokens",
    }
    extra = {k: v for k, v in body.items() if k not in known}
    kwargs = {
        k: extra.pop(k) for k in list(extra) if k in metallm.ChatCompletionRequest.model_fields
    }
    return metallm.ChatCompletionRequest(
        model=body["model"],
        messages=messages,
        tools=tools,
        max_tokens=body.get("max_completion_tokens") or body.get("max_tokens"),
        extra=extra,
        **kwargs,
    )


def expected_from_sse(body_text: str) -> dict[str, Any]:
    """Text, reasoning, tool calls, finish reason and usage, read independently from SSE text."""
    text, reasoning, finish, usage = [], [], None, None
    tools: dict[int, dict[str, Any]] = {}
    for line in body_text.splitlines():
        if not line.startswith("data:") or line[5:].strip() == "[DONE]":
            continue
        obj = json.loads(line[5:])
        usage = obj.get("usage") or usage
        for ch in obj.get("choices", []):
            d = ch.get("delta") or {}
            text.append(d.get("content") or "")
            reasoning.append(d.get("reasoning_content") or "")
            for tc in d.get("tool_calls") or []:
                t = tools.setdefault(tc["index"], {"id": None, "name": "", "arguments": ""})
                t["id"] = t["id"] or tc.get("id")
                fn = tc.get("function") or {}
                t["name"] = t["name"] or fn.get("name") or ""
                t["arguments"] += fn.get("arguments") or ""
            finish = ch.get("finish_reason") or finish
    return {
        "text": "".join(text),
        "reasoning": "".join(reasoning),
        "tools": [tools[i] for i in sorted(tools)],
        "finish": finish,
        "usage": usage,
    }

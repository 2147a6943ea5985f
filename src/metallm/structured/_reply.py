"""Reading a structured reply: its JSON text, a refusal, and the re-ask after a bad one.

Provider-neutral by construction: a codec answers a ``json_schema`` request either with the JSON
as the message's text (OpenAI, xAI, Gemini, Ollama, Anthropic's ``output_config``) or with a
forced tool call named after the schema (Anthropic's older models, Bedrock). :func:`reply_text`
takes the tool call's arguments when there is one, else the text. A ``content_filter`` finish
(OpenAI's ``refusal``, which the OpenAI codec reports so; Anthropic's ``refusal`` stop reason;
Gemini's safety blocks) is a refusal, never something to re-ask.
"""

from __future__ import annotations

import json
from typing import Any

from ..errors import RefusalError, StructuredOutputError
from ..types import ChatCompletionResponse, Message, Role

__all__ = ["feedback", "reply_text"]

_MAX_ERRORS = 10
"""Validation errors quoted back to the model (the rest are counted)."""


def reply_text(
    response: ChatCompletionResponse, name: str, responses: list[ChatCompletionResponse]
) -> str:
    """The JSON text of a reply (raises :class:`RefusalError` for a refusal)."""
    if not response.choices:
        raise StructuredOutputError("the reply has no choices", responses=responses)
    choice = response.choices[0]
    message = choice.message
    if choice.finish_reason == "content_filter":
        raise RefusalError(message.text(), responses=responses)
    for call in message.tool_calls or ():
        if call.function.name == name:
            return call.function.arguments
    return message.text()


def feedback(text: str, errors: list[Any]) -> list[Message]:
    """The two turns a re-ask appends: the invalid reply as the assistant's, and a user turn
    listing what failed (location, message, offending input), asking for corrected JSON."""
    lines = []
    for err in errors[:_MAX_ERRORS]:
        where = ".".join(str(p) for p in err.get("loc", ())) or "(top level)"
        line = f"- {where}: {err.get('msg', 'invalid')}"
        if "input" in err and err.get("type") != "missing":
            line += f" (got {_short(err['input'])})"
        lines.append(line)
    if len(errors) > _MAX_ERRORS:
        lines.append(f"- ... and {len(errors) - _MAX_ERRORS} more")
    ask = (
        "Your reply did not validate against the required JSON schema:\n"
        + "\n".join(lines)
        + "\nReply again with only the corrected JSON."
    )
    return [
        Message(role=Role.ASSISTANT, content=text or "(empty reply)"),
        Message(role=Role.USER, content=ask),
    ]


def _short(value: Any) -> str:
    try:
        text = json.dumps(value, ensure_ascii=False, default=str)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= 200 else text[:200] + "..."

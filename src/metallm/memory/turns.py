"""The pure rules linking a memory-aware call to its conversation: what is sent, what is kept.

Owns :func:`with_history` (the stored history in front of the new messages) and
:func:`turn_messages` (the new messages plus the reply, tool calls included, that one successful
call appends). Both clients use these, sync and async alike; only their I/O differs.
"""

from __future__ import annotations

from collections.abc import Sequence

from .._validate import check_conversation
from ..types import ChatCompletionRequest, ChatCompletionResponse, Message, Role

__all__ = ["turn_messages", "with_history"]


def with_history(
    request: ChatCompletionRequest, history: Sequence[Message]
) -> ChatCompletionRequest:
    """``request`` with the stored ``history`` in front of its messages (checked again)."""
    if not history:
        return request
    full = request.model_copy(update={"messages": [*history, *request.messages]})
    check_conversation(full, model_optional=True)  # its model was checked when it was made
    return full


def turn_messages(new: Sequence[Message], response: ChatCompletionResponse) -> list[Message]:
    """What one successful call appends: the new messages and the reply (without reasoning)."""
    out = list(new)
    if response.choices:
        reply = response.choices[0].message
        if reply.content is not None or reply.tool_calls:
            out.append(reply.model_copy(update={"reasoning_content": None, "role": Role.ASSISTANT}))
    return out

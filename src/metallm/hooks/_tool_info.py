"""What a hook knows about a tool loop (``run_tools``) and about one tool execution in it.

The loop flow (:mod:`metallm.tools._flow`) fills these; hooks only read them and keep their own
scratch state in ``state``. Like :class:`~metallm.hooks.LLMCallInfo` they carry the provider
facts telemetry needs (the semconv provider name), so a hook never names a provider, and the
client's ``redact`` so content a hook records never holds a key.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

__all__ = ["ToolCallInfo", "ToolLoopInfo"]


def _no_secrets(text: str) -> str:
    return text


@dataclass
class ToolLoopInfo:
    """One ``run_tools`` loop: the model, the provider, and how it went.

    ``agent_name`` is the caller's name for the loop (None when not given); ``steps`` counts
    the model calls made so far; ``capture_content`` is the client's setting (None: the hook's
    or the environment's); ``conversation_id`` the memory session when one is used.
    """

    provider_name: str
    semconv_name: str
    model: str
    agent_name: str | None = None
    conversation_id: str | None = None
    capture_content: str | None = None
    redact: Callable[[str], str] = _no_secrets
    steps: int = 0
    start_time: float = field(default_factory=time.time)
    state: dict[Any, Any] = field(default_factory=dict)


@dataclass
class ToolCallInfo:
    """One execution of one tool call; ``error`` is set once it failed.

    ``arguments`` is the model's JSON text and ``result`` the text sent back to the model
    (both content: a hook records them only with content capture on). ``error`` is what made
    the call fail: the tool's own exception, a pydantic ``ValidationError`` for invalid
    arguments, ``TimeoutError``, or a :class:`~metallm.ToolExecutionError` for an unknown tool.
    """

    loop: ToolLoopInfo
    name: str
    call_id: str
    arguments: str
    description: str | None = None
    result: str | None = None
    error: BaseException | None = None
    start_time: float = field(default_factory=time.time)
    state: dict[Any, Any] = field(default_factory=dict)

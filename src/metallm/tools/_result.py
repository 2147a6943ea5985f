"""What ``run_tools`` returns: the final answer, the transcript, and a record of every step."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..types import ChatCompletionResponse, Message, ToolCall

__all__ = ["ToolCallRecord", "ToolRunResult", "ToolStep"]


@dataclass
class ToolCallRecord:
    """One tool call of a step and how its execution went.

    ``arguments`` are the validated, converted arguments (None when the tool was unknown or
    they did not validate); ``output`` is the tool's return value and ``content`` the text sent
    back to the model (the error message when it failed). ``error`` is the exception and
    ``error_kind`` one of ``unknown_tool``, ``invalid_arguments``, ``raised``, ``timeout``;
    ``duration`` is the execution's seconds.
    """

    call: ToolCall
    name: str
    arguments: dict[str, Any] | None
    output: Any
    content: str
    error: BaseException | None = None
    error_kind: str | None = None
    duration: float = 0.0

    @property
    def ok(self) -> bool:
        """Whether the tool ran and returned."""
        return self.error is None


@dataclass
class ToolStep:
    """One model call of the loop and the tools it asked for.

    ``model_duration`` and ``tools_duration`` are seconds (the tools' wall time for the whole
    step: concurrent calls overlap, so it is less than the sum of their durations).
    """

    index: int
    response: ChatCompletionResponse
    tool_calls: list[ToolCallRecord] = field(default_factory=list)
    model_duration: float = 0.0
    tools_duration: float = 0.0


@dataclass
class ToolRunResult:
    """The loop's outcome: ``response`` is the final model reply, ``messages`` the whole
    transcript (what was sent first, then every assistant reply and tool result), ``steps``
    one :class:`ToolStep` per model call."""

    response: ChatCompletionResponse
    messages: list[Message]
    steps: list[ToolStep]

    @property
    def content(self) -> str | None:
        """The final answer's text (the first choice's content)."""
        if not self.response.choices:
            return None
        content = self.response.choices[0].message.content
        return content if isinstance(content, str) or content is None else str(content)

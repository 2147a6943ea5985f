"""``run_tools`` and ``run_tools_with_memory`` on ``Client`` and ``AsyncClient`` (mixed in).

Each method is thin: check the input (:class:`~metallm.tools._flow.ToolLoop`, before any I/O),
then drive the loop's flow with the client's pump inside the loop's hook context. The memory
variant loads the session's history first and, only after the loop succeeded, appends the new
messages and the whole transcript the loop added in one atomic store append; a loop that fails
(a model error, ``MaxStepsExceededError``, ``ToolExecutionError``) stores nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeAlias

from .._pump import arun, run
from .._validate import coerce_request
from ..memory.turns import with_history
from ..types import ChatCompletionRequest, Message

if TYPE_CHECKING:
    from .._exchange import Exchange
    from ..memory.manager import ConversationMemory
    from ._define import FunctionTool
    from ._result import ToolRunResult, ToolStep

__all__ = ["AsyncToolMethods", "ToolMethods"]

RequestLike = ChatCompletionRequest | Mapping[str, Any] | None
ToolsLike: TypeAlias = "Iterable[FunctionTool | Callable[..., Any]]"
StopWhen: TypeAlias = "Callable[[ToolStep], bool] | None"

# ``import metallm`` loads this module (the clients mix it in) but not the loop: each method
# imports :mod:`._flow` (with ``asyncio`` and a thread pool, about 12 ms) and the memory
# machinery when it first runs; that costs well under a microsecond per run_tools call.


def _stored(new: Sequence[Message], history: int, result: ToolRunResult) -> list[Message]:
    """What a successful loop appends: the caller's new messages, then everything the loop
    added (assistant replies without reasoning text, as a plain memory call stores them)."""
    added = result.messages[history + len(new) :]
    return [*new, *(m.model_copy(update={"reasoning_content": None}) for m in added)]


class ToolMethods:
    """The tool loop for the synchronous client."""

    _exchange: Exchange
    _default_model: str | None = None
    """The model a request without one gets (None: it must name one; a router: "")."""
    memory: ConversationMemory

    def run_tools(
        self,
        request: RequestLike = None,
        /,
        *,
        tools: ToolsLike,
        max_steps: int = 8,
        parallel_tool_calls: bool = True,
        on_tool_error: str = "return",
        stop_when: StopWhen = None,
        max_concurrency: int = 8,
        agent_name: str | None = None,
        **kwargs: Any,
    ) -> ToolRunResult:
        """Call the model, run the tools it asks for, send the results back, until it answers.

        Tools of one step run concurrently in threads (at most ``max_concurrency``); see the
        README's "Running tools" for every option."""
        from ._flow import ToolLoop

        loop = ToolLoop(
            self._exchange,
            coerce_request(request, kwargs, self._default_model),
            tools,
            max_steps=max_steps,
            parallel_tool_calls=parallel_tool_calls,
            on_tool_error=on_tool_error,
            stop_when=stop_when,
            max_concurrency=max_concurrency,
            agent_name=agent_name,
        )
        with loop.running():
            return run(loop.flow())

    def run_tools_with_memory(
        self,
        session_id: str,
        request: RequestLike = None,
        /,
        *,
        tools: ToolsLike,
        max_steps: int = 8,
        parallel_tool_calls: bool = True,
        on_tool_error: str = "return",
        stop_when: StopWhen = None,
        max_concurrency: int = 8,
        agent_name: str | None = None,
        **kwargs: Any,
    ) -> ToolRunResult:
        """``run_tools`` with the session's history in front; the transcript is stored (one
        atomic append) only when the loop succeeds."""
        from ..memory.base import validate_session_id
        from ._flow import ToolLoop

        validate_session_id(session_id)
        req = coerce_request(request, kwargs, self._default_model)
        history = self.memory.load(session_id).messages
        loop = ToolLoop(
            self._exchange,
            with_history(req, history),
            tools,
            max_steps=max_steps,
            parallel_tool_calls=parallel_tool_calls,
            on_tool_error=on_tool_error,
            stop_when=stop_when,
            max_concurrency=max_concurrency,
            agent_name=agent_name,
            conversation_id=session_id,
        )
        with loop.running():
            result = run(loop.flow())
        self.memory.append(session_id, _stored(req.messages, len(history), result))
        return result


class AsyncToolMethods:
    """The tool loop for the asynchronous client."""

    _exchange: Exchange
    _default_model: str | None = None
    """The model a request without one gets (None: it must name one; a router: "")."""
    memory: ConversationMemory

    async def run_tools(
        self,
        request: RequestLike = None,
        /,
        *,
        tools: ToolsLike,
        max_steps: int = 8,
        parallel_tool_calls: bool = True,
        on_tool_error: str = "return",
        stop_when: StopWhen = None,
        max_concurrency: int = 8,
        agent_name: str | None = None,
        **kwargs: Any,
    ) -> ToolRunResult:
        """Call the model, run the tools it asks for, send the results back, until it answers.

        Tools of one step run as concurrent tasks (plain functions in worker threads), at most
        ``max_concurrency`` at once."""
        from ._flow import ToolLoop

        loop = ToolLoop(
            self._exchange,
            coerce_request(request, kwargs, self._default_model),
            tools,
            max_steps=max_steps,
            parallel_tool_calls=parallel_tool_calls,
            on_tool_error=on_tool_error,
            stop_when=stop_when,
            max_concurrency=max_concurrency,
            agent_name=agent_name,
        )
        with loop.running():
            return await arun(loop.flow())

    async def run_tools_with_memory(
        self,
        session_id: str,
        request: RequestLike = None,
        /,
        *,
        tools: ToolsLike,
        max_steps: int = 8,
        parallel_tool_calls: bool = True,
        on_tool_error: str = "return",
        stop_when: StopWhen = None,
        max_concurrency: int = 8,
        agent_name: str | None = None,
        **kwargs: Any,
    ) -> ToolRunResult:
        """``run_tools`` with the session's history in front; the transcript is stored (one
        atomic append) only when the loop succeeds."""
        from ..memory.base import validate_session_id
        from ._flow import ToolLoop

        validate_session_id(session_id)
        req = coerce_request(request, kwargs, self._default_model)
        history = (await self.memory.aload(session_id)).messages
        loop = ToolLoop(
            self._exchange,
            with_history(req, history),
            tools,
            max_steps=max_steps,
            parallel_tool_calls=parallel_tool_calls,
            on_tool_error=on_tool_error,
            stop_when=stop_when,
            max_concurrency=max_concurrency,
            agent_name=agent_name,
            conversation_id=session_id,
        )
        with loop.running():
            result = await arun(loop.flow())
        await self.memory.aappend(session_id, _stored(req.messages, len(history), result))
        return result

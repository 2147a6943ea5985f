"""The tool loop: an outer flow over the exchange, shared by both clients.

:class:`ToolLoop` checks everything before any I/O (the tools' definitions, ``max_steps``,
``on_tool_error``, ``stop_when``) and :meth:`ToolLoop.flow` is a generator of the same actions
every exchange yields, so the client's one pump drives it: each model step is
``yield from exchange.complete(...)`` (retries, budget, hooks and the inference span exactly as
for a plain call), and the tools of a step are one :class:`~metallm._actions.Attempt` whose
function is the client's batch runner (:mod:`metallm.tools._execute`: threads in ``Client``,
tasks in ``AsyncClient``). That runner is the only thing that differs between the clients.

A step: send the transcript; no tool calls in the reply -> done; the reply is the last of
``max_steps`` model calls -> :class:`~metallm.MaxStepsExceededError` (its tools are not run:
nothing would read their results); else validate each call's arguments, run the runnable calls
(concurrently unless ``parallel_tool_calls=False``), append one tool message per call in call
order, and ask ``stop_when(step)`` whether to end here. With ``on_tool_error="raise"`` the
first failed call (in call order) raises :class:`~metallm.ToolExecutionError` once the step's
tools have finished; with ``"return"`` (the default) its error text goes back to the model.

Telemetry goes through the hook chain only: ``before_tool_loop``/``after_tool_loop`` around the
flow, ``tool_loop_context`` current while the client drives it (so the inference spans are its
children), and per execution ``before_tool``/``tool_context``/``after_tool``, whose info is not
even built when no hook has those methods.
"""

from __future__ import annotations

import contextlib
import functools
import time
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any

import pydantic

from .._actions import Attempt, Flow
from ..errors import InvalidRequestError, MaxStepsExceededError, ToolExecutionError
from ..hooks import ToolCallInfo, ToolLoopInfo
from ..types import ChatCompletionRequest, Message, Role
from ._define import FunctionTool, as_tools
from ._execute import Job, arun_batch, run_batch
from ._result import ToolCallRecord, ToolRunResult, ToolStep

if TYPE_CHECKING:
    from .._exchange import Exchange

__all__ = ["ON_TOOL_ERROR", "ToolLoop"]

ON_TOOL_ERROR = ("return", "raise")

_NO_CONTEXT = contextlib.nullcontext()


def _no_context() -> contextlib.nullcontext[None]:
    return _NO_CONTEXT


class ToolLoop:
    """One ``run_tools`` call: its checked settings, and the flow that runs it."""

    def __init__(
        self,
        exchange: Exchange,
        request: ChatCompletionRequest,
        tools: Iterable[FunctionTool | Callable[..., Any]],
        *,
        max_steps: int = 8,
        parallel_tool_calls: bool = True,
        on_tool_error: str = "return",
        stop_when: Callable[[ToolStep], bool] | None = None,
        max_concurrency: int = 8,
        agent_name: str | None = None,
        conversation_id: str | None = None,
    ) -> None:
        if isinstance(max_steps, bool) or not isinstance(max_steps, int) or max_steps < 1:
            raise InvalidRequestError(f"max_steps must be an int >= 1, got {max_steps!r}")
        if on_tool_error not in ON_TOOL_ERROR:
            raise InvalidRequestError(
                f"on_tool_error must be 'return' or 'raise', got {on_tool_error!r}"
            )
        if stop_when is not None and not callable(stop_when):
            raise InvalidRequestError("stop_when must be a callable taking the step")
        if isinstance(max_concurrency, bool) or not isinstance(max_concurrency, int):
            raise InvalidRequestError("max_concurrency must be an int >= 1")
        if max_concurrency < 1:
            raise InvalidRequestError("max_concurrency must be an int >= 1")
        if request.tools:
            raise InvalidRequestError(
                "pass the tools to run_tools(tools=[...]), not in the request: "
                "run_tools describes them from the functions it runs"
            )
        self.tools = as_tools(tools)
        self.exchange = exchange
        self.request = request.model_copy(
            update={"tools": [t.definition for t in self.tools.values()]}
        )
        self.max_steps = max_steps
        self.parallel = bool(parallel_tool_calls)
        self.raise_errors = on_tool_error == "raise"
        self.stop_when = stop_when
        self.conversation_id = conversation_id
        runner = arun_batch if exchange.is_async else run_batch
        self._runner = functools.partial(runner, limit=max_concurrency)
        self.info = ToolLoopInfo(
            provider_name=exchange.provider_name,
            semconv_name=exchange.semconv_name,
            model=request.model,
            agent_name=agent_name,
            conversation_id=conversation_id,
            capture_content=exchange.capture_content,
            redact=exchange.redact,
        )

    @contextlib.contextmanager
    def running(self) -> Iterator[None]:
        """Start the loop for the hooks and keep their loop context current around the pump
        (the flow itself ends the loop for the hooks, with its result or error)."""
        hooks = self.exchange.hooks
        hooks.before_tool_loop(self.info)
        with hooks.tool_loop_context(self.info):
            yield

    def flow(self) -> Flow[ToolRunResult]:
        """The whole loop; ends the loop for the hooks however it ends."""
        hooks = self.exchange.hooks
        try:
            result = yield from self._steps()
        except BaseException as exc:
            hooks.after_tool_loop(self.info, None, exc)
            raise
        hooks.after_tool_loop(self.info, result.response, None)
        return result

    def _steps(self) -> Flow[ToolRunResult]:
        messages: list[Message] = list(self.request.messages)
        steps: list[ToolStep] = []
        exchange = self.exchange
        request = self.request
        for index in range(self.max_steps):
            started = time.perf_counter()
            if index:
                request = self.request.model_copy(update={"messages": list(messages)})
            response = yield from exchange.complete(request, self.conversation_id)
            self.info.steps = index + 1
            step = ToolStep(index, response, model_duration=time.perf_counter() - started)
            steps.append(step)
            reply = response.choices[0].message if response.choices else None
            if reply is None:
                return ToolRunResult(response, messages, steps)
            if reply.role != Role.ASSISTANT:
                reply = reply.model_copy(update={"role": Role.ASSISTANT})
            messages.append(reply)
            calls = reply.tool_calls
            if not calls:
                return ToolRunResult(response, messages, steps)
            if index + 1 == self.max_steps:
                raise MaxStepsExceededError(self.max_steps, messages, steps)
            jobs = [self._job(call) for call in calls]
            tools_started = time.perf_counter()
            runnable = [job for job in jobs if job.runnable]
            batches = [runnable] if self.parallel or len(runnable) < 2 else [[j] for j in runnable]
            for batch in batches:
                if batch:
                    outcome = yield Attempt(self._runner, batch, _no_context)
                    if isinstance(outcome, BaseException):
                        raise outcome
            step.tools_duration = time.perf_counter() - tools_started
            step.tool_calls = [_record(job) for job in jobs]
            if self.raise_errors:
                self._raise_first_failure(jobs, messages)
            messages.extend(
                Message(role=Role.TOOL, tool_call_id=job.call.id, content=job.content)
                for job in jobs
            )
            if self.stop_when is not None and self.stop_when(step):
                return ToolRunResult(response, messages, steps)
        raise AssertionError("unreachable: the last step returns or raises")  # pragma: no cover

    def _job(self, call: Any) -> Job:
        """A call as a job: its tool found and its arguments validated, or settled as failed."""
        hooks = self.exchange.hooks
        name = call.function.name
        tool = self.tools.get(name)
        info = None
        if hooks.observes_tools:
            info = ToolCallInfo(
                self.info,
                name,
                call.id,
                call.function.arguments or "",
                tool.description if tool is not None else None,
            )
        job = Job(call, tool, hooks, info)
        if tool is None:
            known = ", ".join(sorted(self.tools))
            error = ToolExecutionError(
                f"Error: unknown tool {name!r}; the available tools are: {known}",
                kind="unknown_tool",
                tool_name=name,
                call_id=call.id,
                arguments=call.function.arguments or "",
            )
            job.fail_before_start(error, "unknown_tool")
            return job
        try:
            job.args, job.kwargs = tool.arguments(call.function.arguments or "")
        except pydantic.ValidationError as exc:
            job.fail_before_start(exc, "invalid_arguments")
        return job

    def _raise_first_failure(self, jobs: list[Job], messages: list[Message]) -> None:
        for job in jobs:
            if job.error is None:
                continue
            if isinstance(job.error, ToolExecutionError):
                job.error.messages = messages
                raise job.error
            raise ToolExecutionError(
                job.content,
                kind=job.kind or "raised",
                tool_name=job.call.function.name,
                call_id=job.call.id,
                arguments=job.call.function.arguments or "",
                messages=messages,
            ) from job.error


def _record(job: Job) -> ToolCallRecord:
    return ToolCallRecord(
        call=job.call,
        name=job.call.function.name,
        arguments=None if job.kwargs is None else _named(job),
        output=job.output,
        content=job.content,
        error=job.error,
        error_kind=job.kind,
        duration=job.duration,
    )


def _named(job: Job) -> dict[str, Any]:
    """The validated arguments by name (positional-only ones included)."""
    assert job.kwargs is not None
    if not job.args or job.tool is None:
        return dict(job.kwargs)
    return {**dict(zip(job.tool.positional, job.args, strict=True)), **job.kwargs}

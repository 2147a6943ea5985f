"""Running one step's tool calls: the only part of the loop that differs between clients.

The loop flow (:mod:`metallm.tools._flow`) turns a step's tool calls into :class:`Job` values
(the tool, its validated arguments, or why it cannot run) and yields them to the pump as one
:class:`~metallm._actions.Attempt` whose function is a batch runner:

- :func:`run_batch` (``Client``): the calls of a step run in worker threads, at most
  ``limit`` at once; a lone synchronous call without a timeout runs inline (no thread for the
  common case). An ``async def`` tool runs in its worker thread on its own event loop
  (``asyncio.run``): the sync client has no loop to lend it, and a thread keeps it concurrent
  with its siblings.
- :func:`arun_batch` (``AsyncClient``): each call is a task (at most ``limit`` at once); an
  ``async def`` tool is awaited, a plain function runs in a worker thread
  (``anyio.to_thread``) so it never blocks the event loop.

A tool's ``timeout`` starts when the tool starts. An async tool is cancelled at its deadline; a
sync function's thread cannot be stopped, so its call is settled as timed out and whatever it
returns later is discarded. Results always go back in call order. Each job is settled once,
first settler wins (:meth:`Job.settle`): a late thread never overwrites a timeout.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import threading
import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Any

import pydantic
from pydantic_core import to_json

from ..hooks import HookChain, ToolCallInfo
from ..types import ToolCall
from ._define import FunctionTool

__all__ = ["Job", "arun_batch", "run_batch"]

_POLL = 0.05
"""How often the sync runner re-checks deadlines of timed tools still queued behind others."""


class Job:
    """One tool call of a step: what to run, and (once settled) how it went."""

    __slots__ = (
        "_lock",
        "args",
        "call",
        "content",
        "duration",
        "error",
        "hooks",
        "info",
        "kind",
        "kwargs",
        "output",
        "settled",
        "started",
        "tool",
    )

    def __init__(
        self, call: ToolCall, tool: FunctionTool | None, hooks: HookChain, info: ToolCallInfo | None
    ) -> None:
        self.call = call
        self.tool = tool
        self.hooks = hooks
        self.info = info
        self.args: tuple[Any, ...] = ()
        self.kwargs: dict[str, Any] | None = None
        self.output: Any = None
        self.content = ""
        self.error: BaseException | None = None
        self.kind: str | None = None
        self.started: float | None = None
        self.duration = 0.0
        self.settled = False
        self._lock = threading.Lock()

    @property
    def runnable(self) -> bool:
        """Whether the tool is known and its arguments validated (else it is settled already)."""
        return self.tool is not None and self.kwargs is not None and not self.settled

    def start(self) -> None:
        """Mark the start (the timeout's clock) and tell the hooks."""
        self.started = time.perf_counter()
        if self.info is not None:
            self.hooks.before_tool(self.info)

    def settle(self, output: Any, error: BaseException | None, kind: str | None) -> bool:
        """Record the outcome once (first caller wins) and tell the hooks; False if late."""
        with self._lock:
            if self.settled:
                return False
            self.settled = True
        if self.started is not None:
            self.duration = time.perf_counter() - self.started
        self.output, self.error, self.kind = output, error, kind
        self.content = error_text(self) if error is not None else result_text(output)
        if self.info is not None:
            self.info.result = self.content
            self.info.error = error
            self.hooks.after_tool(self.info)
        return True

    def fail_before_start(self, error: BaseException, kind: str) -> None:
        """A call that cannot run (unknown tool, invalid arguments): still one execution for the
        hooks, so the trace shows what the model asked and why it failed."""
        self.start()
        self.settle(None, error, kind)


def result_text(output: Any) -> str:
    """A tool's return value as the text the model reads: strings as they are, else JSON."""
    if isinstance(output, str):
        return output
    return to_json(output, fallback=str).decode()


def error_text(job: Job) -> str:
    """What the model is told when a call failed, so that it can correct itself."""
    name = job.call.function.name
    error = job.error
    if job.kind == "unknown_tool":
        return str(error)
    if job.kind == "invalid_arguments" and isinstance(error, pydantic.ValidationError):
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'arguments'}: {e['msg']}"
            for e in error.errors(include_url=False)
        )
        return f"Error: invalid arguments for tool {name!r}: {problems}"
    if job.kind == "timeout":
        return f"Error: tool {name!r} timed out after {job.tool.timeout if job.tool else 0:g} s"
    return f"Error: tool {name!r} raised {type(error).__name__}: {error}"


def _invoke(job: Job) -> Any:
    """Call the tool in this thread (an async tool on an event loop of its own)."""
    tool = job.tool
    assert tool is not None and job.kwargs is not None
    if tool.is_async:
        coroutine = tool.fn(*job.args, **job.kwargs)
        if tool.timeout is not None:
            coroutine = asyncio.wait_for(coroutine, tool.timeout)
        return asyncio.run(coroutine)
    return tool.fn(*job.args, **job.kwargs)


def _work(job: Job) -> None:
    """One job in the calling thread: start, run inside the hooks' context, settle."""
    job.start()
    assert job.info is None or job.tool is not None
    try:
        with job.hooks.tool_context(job.info) if job.info is not None else _NULL:
            output = _invoke(job)
    except TimeoutError as exc:
        job.settle(None, exc, "timeout" if job.tool and job.tool.is_async else "raised")
    except Exception as exc:
        job.settle(None, exc, "raised")
    else:
        job.settle(output, None, None)


class _Null:
    __slots__ = ()

    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


_NULL = _Null()


def run_batch(jobs: list[Job], limit: int) -> list[Job]:
    """Run the runnable ``jobs`` in threads (at most ``limit`` at once); return ``jobs``."""
    todo = [job for job in jobs if job.runnable]
    if not todo:
        return jobs
    if len(todo) == 1 and not todo[0].tool.is_async and todo[0].tool.timeout is None:  # type: ignore[union-attr]
        _work(todo[0])
        return jobs
    pool = ThreadPoolExecutor(max_workers=min(limit, len(todo)), thread_name_prefix="metallm-tool")
    try:
        futures: dict[Future[None], Job] = {
            pool.submit(contextvars.copy_context().run, _work, job): job for job in todo
        }
        pending = set(futures)
        while pending:
            _, pending = wait(
                pending, timeout=_next_wait(pending, futures), return_when=FIRST_COMPLETED
            )
            now = time.perf_counter()
            for future in list(pending):
                job = futures[future]
                timeout = job.tool.timeout if job.tool is not None else None
                if timeout is not None and job.started is not None and now - job.started >= timeout:
                    job.settle(None, TimeoutError(f"timed out after {timeout:g} s"), "timeout")
                    pending.discard(future)
    finally:
        pool.shutdown(wait=False, cancel_futures=True)  # a timed-out thread runs on, ignored
    return jobs


def _next_wait(pending: set[Future[None]], futures: dict[Future[None], Job]) -> float | None:
    """Seconds until the nearest deadline of a pending timed job (None: no deadline)."""
    nearest: float | None = None
    now = time.perf_counter()
    for future in pending:
        job = futures[future]
        timeout = job.tool.timeout if job.tool is not None else None
        if timeout is None:
            continue
        left = _POLL if job.started is None else max(0.0, job.started + timeout - now)
        nearest = left if nearest is None else min(nearest, left)
    return nearest


async def arun_batch(jobs: list[Job], limit: int) -> list[Job]:
    """Run the runnable ``jobs`` as tasks (at most ``limit`` at once); return ``jobs``."""
    import anyio
    import anyio.to_thread

    todo = [job for job in jobs if job.runnable]
    if not todo:
        return jobs
    limiter = anyio.CapacityLimiter(max(1, limit))

    async def one(job: Job) -> None:
        tool = job.tool
        assert tool is not None and job.kwargs is not None
        async with limiter:
            job.start()
            done = False
            output: Any = None
            try:
                with job.hooks.tool_context(job.info) if job.info is not None else _NULL:
                    with anyio.move_on_after(tool.timeout) as scope:
                        if tool.is_async:
                            output = await tool.fn(*job.args, **job.kwargs)
                        else:
                            call = functools.partial(tool.fn, *job.args, **job.kwargs)
                            output = await anyio.to_thread.run_sync(call, abandon_on_cancel=True)
                        done = True
            except Exception as exc:
                job.settle(None, exc, "raised")
                return
            if done:
                job.settle(output, None, None)
            elif scope.cancelled_caught:
                message = f"timed out after {tool.timeout:g} s"
                job.settle(None, TimeoutError(message), "timeout")

    if len(todo) == 1:
        await one(todo[0])
        return jobs
    async with anyio.create_task_group() as group:
        for job in todo:
            group.start_soon(one, job)
    return jobs

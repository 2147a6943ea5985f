"""FakeLLMServer: a real HTTP/1.1 server on 127.0.0.1 that speaks LLM providers' wire formats.

Tests (ours and our users') point a real client at it, so the whole stack runs — sockets,
HTTP framing, streaming, retries, telemetry — with replies that are scripted
(:class:`~metallm.testing.script.ScriptedReply`) or replayed from recorded exchanges. It runs an
asyncio server in its own event loop on a daemon thread, so it works the same under sync and
async tests. This module owns the server's life cycle, the reply queue, request recording and
the transport-level failure modes (delays, stalls, cuts, disconnects); the HTTP framing lives
in ``_http11`` and each provider's bytes in a wire renderer (see ``wire``).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import json as _json
import logging
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from metallm.testing import (
    wire_anthropic,  # noqa: F401  (registers the Anthropic wire format)
    wire_bedrock,  # noqa: F401  (registers the Bedrock Converse wire format)
    wire_embeddings,  # noqa: F401  (registers every provider's embeddings wire format)
    wire_gemini,  # noqa: F401  (registers the Gemini wire format)
    wire_ollama,  # noqa: F401  (registers the Ollama wire format)
    wire_openai,  # noqa: F401  (registers the OpenAI/xAI wire format)
    wire_responses,  # noqa: F401  (registers the OpenAI Responses API wire format)
    wire_tokens,  # noqa: F401  (registers the token-counting wire formats)
)
from metallm.testing._http11 import (
    BadRequest,
    Request,
    read_request,
    send_stream,
    send_whole,
    write_error,
)
from metallm.testing.corpus import CorpusEntry
from metallm.testing.script import ScriptedReply
from metallm.testing.wire import (
    WireRenderer,
    base_path,
    find_wire,
    last_user_text,
    render_raw,
)

__all__ = ["DefaultReply", "FakeLLMServer", "RecordedRequest"]

_log = logging.getLogger("metallm.testing")
_HOST = "127.0.0.1"


@dataclass(frozen=True)
class RecordedRequest:
    """A request the server received, recorded before it was answered.

    ``path`` includes the query string; ``headers`` has lower-case names; ``json`` is the
    parsed body, or ``None`` when the body is empty or not JSON.
    """

    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    json: Any

    @property
    def stream(self) -> bool:
        """Whether the body asked for a stream (``"stream": true``)."""
        return isinstance(self.json, dict) and self.json.get("stream") is True


DefaultReply = ScriptedReply | Callable[[RecordedRequest], ScriptedReply] | None
"""What an empty queue answers: a reply, a function of the request, or ``None`` (echo)."""


class FakeLLMServer:
    """A local LLM endpoint for tests, serving scripted or recorded replies over real HTTP.

    >>> with FakeLLMServer() as server:                          # doctest: +SKIP
    ...     server.enqueue(ScriptedReply(text="Hi!"))
    ...     client = metallm.Client(provider="openai", base_url=server.base_url("openai"),
    ...                             api_key="test")
    ...     client.create_chat_completion(request)               # answered "Hi!"
    ...     server.requests[-1].json["model"]

    Each request takes the next queued reply (FIFO); with the queue empty it gets
    :attr:`default_reply`, which by default echoes the last user message
    (``Hello from FakeLLMServer! You said: ...``). Replies are rendered in the wire format of
    the path called (OpenAI/xAI: ``POST .../chat/completions``), streamed when the body says
    ``"stream": true``. A path no wire format knows gets a 404 with a JSON error body and does
    not consume a scripted reply; raw and replayed replies are served on any path.
    All methods are thread-safe.
    """

    def __init__(
        self, port: int = 0, *, default_reply: DefaultReply = None, max_recorded: int = 10_000
    ) -> None:
        """Bind 127.0.0.1 on ``port`` (0: a free port chosen by the OS) once started.

        The server keeps the last ``max_recorded`` requests (:attr:`requests`), so a long soak
        test does not grow without bound.
        """
        if max_recorded < 1:
            raise ValueError("max_recorded must be >= 1")
        self.default_reply: DefaultReply = default_reply
        self._requested_port = port
        self._port = 0
        self._lock = threading.Lock()
        self._queue: collections.deque[ScriptedReply] = collections.deque()
        self._requests: collections.deque[RecordedRequest] = collections.deque(maxlen=max_recorded)
        self._state = threading.Lock()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._tasks: set[asyncio.Task[Any]] = set()

    # -- life cycle -----------------------------------------------------------------------------

    def start(self) -> FakeLLMServer:
        """Start serving (no-op when already running); returns ``self``."""
        with self._state:
            if self._thread is not None:
                return self
            ready = threading.Event()
            failure: list[BaseException] = []
            thread = threading.Thread(
                target=self._run, args=(ready, failure), name="FakeLLMServer", daemon=True
            )
            thread.start()
            ready.wait()
            if failure:
                thread.join()
                raise failure[0]
            self._thread = thread
        return self

    def stop(self) -> None:
        """Stop serving, drop open connections and join the thread. Idempotent."""
        with self._state:
            thread, loop = self._thread, self._loop
            self._thread = None
            if thread is None or loop is None:
                return
            with contextlib.suppress(RuntimeError):  # the loop is already closed
                loop.call_soon_threadsafe(loop.stop)
            thread.join(timeout=30)

    def __enter__(self) -> FakeLLMServer:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: object
    ) -> None:
        self.stop()

    @property
    def port(self) -> int:
        """The TCP port (valid once started)."""
        if not self._port:
            raise RuntimeError("FakeLLMServer is not started")
        return self._port

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT``, the server root."""
        return f"http://{_HOST}:{self.port}"

    def base_url(self, provider: str) -> str:
        """The ``base_url`` to give a client of ``provider`` (``openai``/``xai``: ``url/v1``).

        Raises ValueError for a provider the server does not know.
        """
        return self.url + base_path(provider)

    # -- scripting ------------------------------------------------------------------------------

    def enqueue(self, *replies: ScriptedReply) -> None:
        """Queue replies; each request consumes one, in order."""
        for reply in replies:
            if not isinstance(reply, ScriptedReply):
                raise TypeError(f"expected ScriptedReply, got {type(reply).__name__}")
            reply.check()
        with self._lock:
            self._queue.extend(replies)

    def replay(self, *entries: CorpusEntry | str | os.PathLike[str]) -> None:
        """Queue recorded exchanges (corpus files or entries), served verbatim.

        See :meth:`ScriptedReply.from_corpus`: same status, recorded headers and body bytes,
        event streams sent one HTTP chunk per event.
        """
        self.enqueue(*(ScriptedReply.from_corpus(entry) for entry in entries))

    @property
    def pending(self) -> int:
        """How many queued replies are still unconsumed."""
        with self._lock:
            return len(self._queue)

    @property
    def requests(self) -> list[RecordedRequest]:
        """A copy of the requests received so far (the last ``max_recorded``), oldest first."""
        with self._lock:
            return list(self._requests)

    @property
    def last_request(self) -> RecordedRequest:
        """The most recent request (IndexError when there is none)."""
        with self._lock:
            return self._requests[-1]

    def clear(self) -> None:
        """Drop the queued replies and the recorded requests."""
        with self._lock:
            self._queue.clear()
            self._requests.clear()

    # -- the event loop thread ------------------------------------------------------------------

    def _run(self, ready: threading.Event, failure: list[BaseException]) -> None:
        loop = asyncio.new_event_loop()
        try:
            server = loop.run_until_complete(
                asyncio.start_server(
                    self._connection, _HOST, self._requested_port, backlog=2048, limit=1 << 20
                )
            )
        except BaseException as exc:
            failure.append(exc)
            loop.close()
            ready.set()
            return
        self._port = server.sockets[0].getsockname()[1]
        self._loop = loop
        ready.set()
        try:
            loop.run_forever()
        finally:
            loop.run_until_complete(self._shutdown(server))
            loop.close()

    async def _shutdown(self, server: asyncio.AbstractServer) -> None:
        server.close()
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(server.wait_closed(), 5)

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        clean = False
        try:
            while True:
                try:
                    request = await read_request(reader, writer)
                except BadRequest as exc:
                    write_error(writer, 400, "invalid_request_error", str(exc), False)
                    await writer.drain()
                    break
                if request is None or not await self._respond(request, writer):
                    break
            clean = True
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        except asyncio.CancelledError:
            # Only stop() cancels; ending normally keeps asyncio's connection callback (which
            # calls task.exception() on 3.11) from logging a spurious traceback.
            pass
        except Exception:
            _log.exception("FakeLLMServer: error while serving a connection")
        finally:
            if task is not None:
                self._tasks.discard(task)
            if clean:
                writer.close()
            else:
                writer.transport.abort()

    # -- answering one request ------------------------------------------------------------------

    def _take(self, recorded: RecordedRequest) -> tuple[ScriptedReply | None, WireRenderer | None]:
        renderer = find_wire(recorded.path) if recorded.method == "POST" else None
        with self._lock:
            self._requests.append(recorded)
            if self._queue:
                head = self._queue[0]
                if not head.needs_wire or renderer is not None:
                    return self._queue.popleft(), renderer
                return None, None
        if renderer is None:
            return None, None
        default = self.default_reply
        if default is None:
            said = last_user_text(recorded.json)
            text = "Hello from FakeLLMServer!" + (f" You said: {said}" if said else "")
            default = ScriptedReply(text=text)
        elif not isinstance(default, ScriptedReply):
            default = default(recorded)
        return default, renderer

    async def _respond(self, request: Request, writer: asyncio.StreamWriter) -> bool:
        """Answer one request; whether the connection stays open for the next one."""
        recorded = RecordedRequest(
            request.method, request.target, request.headers, request.body, _parse_json(request.body)
        )
        keep_alive = request.keep_alive
        try:
            reply, renderer = self._take(recorded)
        except Exception as exc:  # a default_reply function that raised
            _log.exception("FakeLLMServer: default_reply failed")
            write_error(
                writer,
                500,
                "server_error",
                f"FakeLLMServer default_reply failed: {exc!r}",
                keep_alive,
            )
            await writer.drain()
            return keep_alive
        if reply is None:
            message = f"FakeLLMServer: no wire format serves {request.method} {request.target}"
            write_error(writer, 404, "not_found_error", message, keep_alive)
            await writer.drain()
            return keep_alive
        if reply.stall:
            await asyncio.sleep(reply.stall)
        if reply.disconnect:
            writer.transport.abort()
            return False
        try:
            if renderer is None or reply.is_raw:
                response = render_raw(reply)
            else:
                response = renderer(reply, recorded.json, recorded.path)
        except Exception as exc:
            _log.exception("FakeLLMServer: wire renderer failed")
            write_error(
                writer, 500, "server_error", f"FakeLLMServer renderer failed: {exc!r}", keep_alive
            )
            await writer.drain()
            return keep_alive
        if response.stream:
            return await send_stream(
                writer,
                response.status,
                response.headers,
                response.pieces,
                keep_alive=keep_alive,
                first_pause=reply.first_chunk_delay + reply.delay,
                delay=reply.delay,
                cut_after=reply.cut_after,
            )
        return await send_whole(
            writer,
            response.status,
            response.headers,
            b"".join(response.pieces),
            keep_alive=keep_alive,
            pause=reply.first_chunk_delay + reply.delay,
            cut_after=reply.cut_after,
        )


def _parse_json(body: bytes) -> Any:
    if not body:
        return None
    try:
        return _json.loads(body)
    except ValueError:
        return None

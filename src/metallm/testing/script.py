"""Scripted replies for :class:`~metallm.testing.FakeLLMServer`: what the next request gets.

A :class:`ScriptedReply` says *what* a model answers (text, reasoning, tool calls, usage), *how*
it arrives (chunk sizes, delays) and *how it fails* (HTTP error, cut stream, in-stream error
event, dropped connection, stall). It is wire-neutral on purpose: one script drives every
provider's wire format, and each wire renderer (``wire_openai`` and the ones to come) turns it
into that provider's exact bytes. Two kinds bypass rendering: :meth:`ScriptedReply.raw` (bytes
you choose) and :meth:`ScriptedReply.from_corpus` (a recorded exchange, replayed verbatim).
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from metallm.testing.corpus import CorpusEntry

__all__ = ["ScriptedReply", "ScriptedToolCall", "ScriptedUsage", "split_events"]


@dataclass(frozen=True)
class ScriptedToolCall:
    """One tool call the fake model makes.

    ``arguments`` is JSON text, exactly what the wire carries, or a dict (serialised to JSON
    text here); anything else is a ``TypeError`` at once, not a reply that silently ignores
    it. ``id`` defaults to a fresh provider-style id (``call_...``) when ``None``.
    """

    name: str
    arguments: str | dict[str, Any] = "{}"
    id: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise TypeError(f"ScriptedToolCall.name must be a non-empty str, got {self.name!r}")
        if isinstance(self.arguments, dict):
            object.__setattr__(self, "arguments", json.dumps(self.arguments))
        elif not isinstance(self.arguments, str):
            raise TypeError(
                "ScriptedToolCall.arguments must be JSON text or a dict, got "
                f"{type(self.arguments).__name__}"
            )

    @property
    def arguments_json(self) -> str:
        """The arguments as the JSON text the wire carries."""
        return str(self.arguments)


@dataclass(frozen=True)
class ScriptedUsage:
    """Token counts to report, in the unified meaning (see DESIGN.md section 2).

    ``prompt_tokens`` includes ``cached_tokens`` (cache reads) and ``cache_write_tokens``
    (tokens written to a prompt cache, which Anthropic and Bedrock report; other wires have no
    field for them); ``completion_tokens`` includes ``reasoning_tokens``. Each wire renderer
    re-expresses them in its provider's own convention (for example xAI, whose
    ``completion_tokens`` leave reasoning out, or Anthropic, whose ``input_tokens`` leave both
    cache counts out).
    """

    prompt_tokens: int
    completion_tokens: int
    cached_tokens: int = 0
    reasoning_tokens: int = 0
    cache_write_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        """``prompt_tokens + completion_tokens``."""
        return self.prompt_tokens + self.completion_tokens


@dataclass
class ScriptedReply:
    """The reply to one request, rendered in the wire format of the endpoint that was called.

    Content:
        text: the assistant's text (ignored when ``chunks`` is given).
        reasoning: reasoning/thinking text (OpenAI-compatible wires send it as
            ``reasoning_content``), streamed before the content.
        tool_calls: tool calls, streamed after the content; several calls stream interleaved.
        finish_reason: ``None`` means ``"tool_calls"`` when there are tool calls, else ``"stop"``.
        usage: ``None`` estimates counts from word counts of the request and the reply.
        model: ``None`` echoes the request's ``model``. id: ``None`` makes a fresh one.

    Streaming (used when the request asks for a stream):
        chunk_size: characters per content, reasoning and tool-argument delta (``<= 0``: one).
        chunks: explicit content deltas; the content is their concatenation.
        delay: seconds to wait before each streamed event.
        first_chunk_delay: extra seconds before the first event (and before a non-stream
            response), for time-to-first-chunk tests. Stream headers are sent at once.

    Failures:
        status: HTTP status; ``>= 400`` renders the provider's error body (see :meth:`error`).
        error_message, error_type, error_code: the error's fields, for ``status >= 400`` and
            for ``error_event_after``.
        headers: extra response headers (``retry-after``, ``x-request-id``, ...).
        cut_after: send that many stream events, then abort the connection (no final chunk).
        error_event_after: after that many events, send an in-stream error event and end.
        disconnect: close the connection without sending any response.
        stall: wait that many seconds after reading the request before responding.

    The fields are plain data: ``dataclasses.replace(reply, delay=0.01)`` adds a control to
    any reply, including those made by :meth:`error`, :meth:`raw` and :meth:`from_corpus`.
    """

    text: str = ""
    reasoning: str | None = None
    tool_calls: list[ScriptedToolCall] = field(default_factory=list)
    finish_reason: str | None = None
    usage: ScriptedUsage | None = None
    model: str | None = None
    id: str | None = None
    chunk_size: int = 4
    chunks: list[str] | None = None
    delay: float = 0.0
    first_chunk_delay: float = 0.0
    status: int = 200
    error_message: str | None = None
    error_type: str | None = None
    error_code: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    cut_after: int | None = None
    error_event_after: int | None = None
    disconnect: bool = False
    stall: float | None = None
    raw_body: list[bytes] | None = None
    """Set by :meth:`raw` and :meth:`from_corpus`: the exact body pieces, served unrendered."""
    raw_stream: bool = False
    """With ``raw_body``: send it chunked, one HTTP chunk per piece (else with Content-Length)."""

    # -- constructors ---------------------------------------------------------------------------

    @classmethod
    def error(
        cls,
        status: int,
        message: str,
        *,
        type: str | None = None,
        code: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> ScriptedReply:
        """An HTTP error in the provider's own error shape.

        OpenAI/xAI: ``{"error": {"message", "type", "param": null, "code"}}``. ``type``
        defaults to a provider-appropriate value for the status (``invalid_request_error``,
        ``rate_limit_error``, ...). Put ``retry-after`` or ``retry-after-ms`` in ``headers``
        to test back-off.
        """
        return cls(
            status=status,
            error_message=message,
            error_type=type,
            error_code=code,
            headers=dict(headers or {}),
        )

    @classmethod
    def raw(
        cls,
        status: int = 200,
        headers: dict[str, str] | None = None,
        body: bytes | list[bytes] = b"",
    ) -> ScriptedReply:
        """Exact bytes, whatever the endpoint: for malformed-body and chunking tests.

        ``bytes`` is sent with ``Content-Length``; a list is sent with
        ``Transfer-Encoding: chunked``, one HTTP chunk per item, in order. ``headers`` are sent
        as given; the server only adds the framing headers (it always owns
        ``content-length``, ``transfer-encoding`` and ``connection``).
        """
        pieces = list(body) if isinstance(body, list) else [bytes(body)]
        return cls(
            status=status,
            headers=dict(headers or {}),
            raw_body=pieces,
            raw_stream=isinstance(body, list),
        )

    @classmethod
    def bench_stream(cls, n_chunks: int, text: str = "tok ") -> ScriptedReply:
        """``n_chunks`` content deltas of ``text`` each, for throughput benchmarks.

        Identical deltas are rendered once per stream, so serving it costs little more than
        writing the bytes.
        """
        return cls(
            chunks=[text] * n_chunks,
            usage=ScriptedUsage(prompt_tokens=8, completion_tokens=n_chunks),
        )

    @classmethod
    def from_corpus(cls, entry: CorpusEntry | str | os.PathLike[str]) -> ScriptedReply:
        """A recorded exchange (``shared/corpus`` file or :class:`CorpusEntry`), verbatim.

        Status, recorded headers (content-type, request ids, retry hints) and the body bytes
        are kept exactly. Event-stream bodies are sent chunked, one HTTP chunk per event, and
        NDJSON stream bodies one chunk per line, so a client really streams them; the chunks
        concatenate to the recorded body. A missing content-type gets the provider's usual one.
        A stream written by :class:`~metallm.testing.Recorder` is sent in the pieces it arrived
        in (its ``chunk_sizes``), and one that ended early (``truncated``) is cut there.
        """
        from metallm.testing.corpus import CorpusEntry, load_corpus_entry

        if not isinstance(entry, CorpusEntry):
            entry = load_corpus_entry(entry)
        headers = dict(entry.response_headers)
        body = entry.body_bytes
        ctype = headers.get("content-type", "")
        if not ctype:
            ctype = "application/x-ndjson" if entry.is_stream else "application/json"
            if entry.is_stream and body.startswith(b"data:"):
                ctype = "text/event-stream"
            headers["content-type"] = ctype
        lowered = ctype.lower()
        if entry.chunk_sizes or entry.truncated:
            pieces = [piece for piece in entry.pieces if piece]
            cut = len(pieces) if entry.truncated else None
            return cls(
                status=entry.status,
                headers=headers,
                raw_body=pieces or [b""],
                raw_stream=True,
                cut_after=cut,
            )
        if lowered.startswith("text/event-stream"):
            return cls(
                status=entry.status, headers=headers, raw_body=split_events(body), raw_stream=True
            )
        if "ndjson" in lowered:
            return cls(
                status=entry.status, headers=headers, raw_body=split_lines(body), raw_stream=True
            )
        return cls(status=entry.status, headers=headers, raw_body=[body])

    # -- derived values used by renderers ------------------------------------------------------

    def check(self) -> ScriptedReply:
        """``self`` if every field has a type the server can render, else ``TypeError`` now.

        :meth:`FakeLLMServer.enqueue` calls it, so a mistyped script fails where it is written
        instead of being answered with the default echo.
        """
        problems = []
        if not isinstance(self.text, str):
            problems.append(f"text is a {type(self.text).__name__}")
        bad_calls = [
            type(c).__name__ for c in self.tool_calls if not isinstance(c, ScriptedToolCall)
        ]
        if not isinstance(self.tool_calls, list) or bad_calls:
            problems.append(f"tool_calls must be a list of ScriptedToolCall (got {bad_calls})")
        if self.usage is not None and not isinstance(self.usage, ScriptedUsage):
            problems.append(f"usage is a {type(self.usage).__name__}, not a ScriptedUsage")
        if self.chunks is not None and not all(isinstance(c, str) for c in self.chunks):
            problems.append("chunks must be a list of str")
        if not isinstance(self.status, int) or not 100 <= self.status <= 599:
            problems.append(f"status {self.status!r} is not an HTTP status")
        if not all(isinstance(k, str) and isinstance(v, str) for k, v in self.headers.items()):
            problems.append("headers must map str to str")
        if problems:
            raise TypeError("invalid ScriptedReply: " + "; ".join(problems))
        return self

    @property
    def is_raw(self) -> bool:
        """Whether the reply carries its own bytes (no wire rendering)."""
        return self.raw_body is not None

    @property
    def needs_wire(self) -> bool:
        """Whether serving it needs a wire renderer (raw and disconnect replies do not)."""
        return self.raw_body is None and not self.disconnect

    @property
    def content(self) -> str:
        """The full assistant text: ``"".join(chunks)`` when chunks are given, else ``text``."""
        return "".join(self.chunks) if self.chunks is not None else self.text

    def content_deltas(self) -> list[str]:
        """The content as streamed: ``chunks``, or ``text`` cut every ``chunk_size`` chars."""
        if self.chunks is not None:
            return list(self.chunks)
        return split_text(self.text, self.chunk_size)

    def reasoning_deltas(self) -> list[str]:
        """The reasoning text cut every ``chunk_size`` characters (empty when none)."""
        return split_text(self.reasoning or "", self.chunk_size)

    def argument_deltas(self, call: ScriptedToolCall) -> list[str]:
        """One tool call's argument text cut every ``chunk_size`` characters."""
        return split_text(call.arguments_json, self.chunk_size)

    def resolved_finish_reason(self) -> str:
        """``finish_reason``, or ``tool_calls``/``stop`` when it is ``None``."""
        if self.finish_reason is not None:
            return self.finish_reason
        return "tool_calls" if self.tool_calls else "stop"

    def resolved_usage(self, prompt_words: int) -> ScriptedUsage:
        """``usage``, or an estimate: request words in, reply words (reasoning included) out."""
        if self.usage is not None:
            return self.usage
        reasoning = _words(self.reasoning or "")
        out = (
            _words(self.content)
            + reasoning
            + sum(_words(c.arguments_json) for c in self.tool_calls)
        )
        return ScriptedUsage(
            prompt_tokens=max(prompt_words, 1),
            completion_tokens=max(out, 1),
            reasoning_tokens=reasoning,
        )


def split_text(text: str, size: int) -> list[str]:
    """``text`` in pieces of ``size`` characters (one piece when ``size <= 0``; none if empty)."""
    if not text:
        return []
    if size <= 0 or len(text) <= size:
        return [text]
    return [text[i : i + size] for i in range(0, len(text), size)]


_EVENT_END = re.compile(rb"\r\n\r\n|\n\n|\r\r")


def split_events(body: bytes) -> list[bytes]:
    """An event-stream body cut after each blank line; the pieces join back to ``body``."""
    pieces: list[bytes] = []
    start = 0
    for match in _EVENT_END.finditer(body):
        pieces.append(body[start : match.end()])
        start = match.end()
    if start < len(body) or not pieces:
        pieces.append(body[start:])
    return pieces


def split_lines(body: bytes) -> list[bytes]:
    """An NDJSON body cut after each newline; the pieces join back to ``body``."""
    pieces = body.splitlines(keepends=True)
    return pieces or [body]


def _words(text: str) -> int:
    return len(text.split())

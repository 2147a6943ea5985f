"""The minimal HTTP/1.1 of FakeLLMServer: read one request, write one response, on asyncio streams.

Hand-written on purpose: the server must be fast and exact about framing, and the standard
library's ``http.server`` is neither asynchronous nor able to cut a chunked stream mid-way. It
reads a request line, headers and a body (``Content-Length`` or ``Transfer-Encoding: chunked``,
answering ``Expect: 100-continue``), and writes responses with ``Content-Length`` or chunked
framing, one HTTP chunk per body piece. Nothing here knows about LLM providers.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from http import HTTPStatus

__all__ = [
    "BadRequest",
    "Request",
    "chunk",
    "read_request",
    "response_head",
    "send_stream",
    "send_whole",
    "write_error",
]

_EXTRA_REASONS = {529: "Site Overloaded"}
_FRAMING = frozenset({"content-length", "transfer-encoding", "connection"})
_END = b"0\r\n\r\n"
_BATCH_BYTES = 1 << 16


class BadRequest(Exception):
    """The bytes received are not an HTTP/1.x request this server can read."""


@dataclass
class Request:
    """One parsed request: method, target (path and query), lower-case headers and body."""

    method: str
    target: str
    headers: dict[str, str]
    body: bytes
    keep_alive: bool


async def read_request(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> Request | None:
    """Read the next request of a connection; ``None`` when the client closed it cleanly."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError as exc:
        if exc.partial.strip():
            raise BadRequest("connection closed inside the request head") from None
        return None
    except asyncio.LimitOverrunError:
        raise BadRequest("request head too large") from None
    lines = head.lstrip(b"\r\n").decode("latin-1").split("\r\n")
    parts = lines[0].split(" ")
    if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
        raise BadRequest(f"malformed request line {lines[0]!r}")
    method, target, version = parts
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if not line:
            continue
        name, sep, value = line.partition(":")
        if not sep:
            raise BadRequest(f"malformed header line {line!r}")
        name = name.strip().lower()
        value = value.strip()
        headers[name] = f"{headers[name]}, {value}" if name in headers else value
    if headers.get("expect", "").lower() == "100-continue":
        writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
    if "chunked" in headers.get("transfer-encoding", "").lower():
        body = await _read_chunked(reader)
    elif "content-length" in headers:
        try:
            length = int(headers["content-length"])
        except ValueError:
            raise BadRequest("malformed content-length") from None
        body = await reader.readexactly(length) if length > 0 else b""
    else:
        body = b""
    tokens = {t.strip().lower() for t in headers.get("connection", "").split(",")}
    keep_alive = "keep-alive" in tokens if version == "HTTP/1.0" else "close" not in tokens
    return Request(method, target, headers, body, keep_alive)


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    parts: list[bytes] = []
    while True:
        line = await reader.readuntil(b"\r\n")
        try:
            size = int(line.split(b";", 1)[0].strip(), 16)
        except ValueError:
            raise BadRequest("malformed chunk size") from None
        if size == 0:
            while (await reader.readuntil(b"\r\n")) != b"\r\n":  # trailers
                pass
            return b"".join(parts)
        parts.append(await reader.readexactly(size))
        if await reader.readexactly(2) != b"\r\n":
            raise BadRequest("chunk not followed by CRLF")


def response_head(
    status: int, headers: dict[str, str], *, length: int | None, keep_alive: bool
) -> bytes:
    """Status line and headers; ``length=None`` means a chunked body.

    The framing headers (``content-length``, ``transfer-encoding``, ``connection``) are always
    the server's: any in ``headers`` are replaced.
    """
    try:
        reason = HTTPStatus(status).phrase
    except ValueError:
        reason = _EXTRA_REASONS.get(status, "Unknown")
    lines = [f"HTTP/1.1 {status} {reason}"]
    lines.extend(f"{k}: {v}" for k, v in headers.items() if k.lower() not in _FRAMING)
    lines.append("transfer-encoding: chunked" if length is None else f"content-length: {length}")
    if not keep_alive:
        lines.append("connection: close")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8")


def chunk(piece: bytes) -> bytes:
    """One HTTP chunk carrying ``piece`` (which must not be empty)."""
    return b"%x\r\n%b\r\n" % (len(piece), piece)


async def send_whole(
    writer: asyncio.StreamWriter,
    status: int,
    headers: dict[str, str],
    body: bytes,
    *,
    keep_alive: bool,
    pause: float,
    cut_after: int | None,
) -> bool:
    """Send a ``Content-Length`` response after ``pause`` seconds; whether to keep the
    connection. ``cut_after`` sends only that many body bytes, then aborts the connection."""
    if pause > 0:
        await asyncio.sleep(pause)
    head = response_head(status, headers, length=len(body), keep_alive=keep_alive)
    if cut_after is not None:
        writer.write(head + body[:cut_after])
        await abort_after_flush(writer)
        return False
    writer.write(head + body)
    await writer.drain()
    return keep_alive


async def send_stream(
    writer: asyncio.StreamWriter,
    status: int,
    headers: dict[str, str],
    pieces: list[bytes],
    *,
    keep_alive: bool,
    first_pause: float,
    delay: float,
    cut_after: int | None,
) -> bool:
    """Send a chunked response, one HTTP chunk per piece; whether to keep the connection.

    Headers go at once; ``first_pause`` seconds pass before the first piece and ``delay``
    before each later one. ``cut_after`` sends that many pieces, then aborts the connection
    without the terminating zero-size chunk.
    """
    frames = [chunk(piece) for piece in pieces if piece]  # an empty chunk would end the body
    if cut_after is not None:
        frames = frames[:cut_after]
    else:
        frames.append(_END)
    head = response_head(status, headers, length=None, keep_alive=keep_alive)
    if first_pause > 0 or delay > 0:
        writer.write(head)
        await writer.drain()
        for index, frame in enumerate(frames):
            pause = first_pause if index == 0 else delay
            if pause > 0 and frame is not _END:
                await asyncio.sleep(pause)
            writer.write(frame)
            await writer.drain()
    else:
        # No delay: the frames are ready, so coalesce them into large writes. The client still
        # gets one HTTP chunk per event, but the server makes one syscall per 64 KiB instead of
        # one per event, which keeps an in-process server from fighting the client for the GIL.
        frames.insert(0, head)
        start, size = 0, 0
        for index, frame in enumerate(frames):
            size += len(frame)
            if size >= _BATCH_BYTES:
                writer.write(b"".join(frames[start : index + 1]))
                await writer.drain()
                start, size = index + 1, 0
        if start < len(frames):
            writer.write(b"".join(frames[start:]))
            await writer.drain()
    if cut_after is not None:
        await abort_after_flush(writer)
        return False
    return keep_alive


async def abort_after_flush(writer: asyncio.StreamWriter) -> None:
    """Abort the connection once everything written so far has reached the socket."""
    transport = writer.transport
    transport.set_write_buffer_limits(high=0)
    await writer.drain()
    transport.abort()


def write_error(
    writer: asyncio.StreamWriter, status: int, kind: str, message: str, keep_alive: bool
) -> None:
    """Write a small JSON error response (OpenAI-style ``{"error": {...}}`` body)."""
    body = json.dumps(
        {"error": {"message": message, "type": kind, "param": None, "code": None}}
    ).encode()
    head = response_head(
        status, {"content-type": "application/json"}, length=len(body), keep_alive=keep_alive
    )
    writer.write(head + body)

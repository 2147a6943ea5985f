"""Fake provider servers for the benchmarks, each in its own process.

``python -m metallm.testing --port 0 --bench-stream N`` serves the OpenAI wire format on
127.0.0.1 and prints ``READY <port>`` once it accepts connections; a stream request gets ``N``
content chunks (then the usage chunk and ``[DONE]``), a plain request a short fixed reply. A
separate process keeps the server off the measured client's GIL; on a small machine it still
competes for CPU, the same way for every contender. :class:`BenchServer` starts one, waits for
its READY line and always stops it by its PID (SIGTERM, then SIGKILL), also on error; on
Linux the server also gets SIGTERM if the benchmark process itself is killed.
"""

from __future__ import annotations

import contextlib
import os
import selectors
import signal
import subprocess
import sys
import tempfile
import time
from types import TracebackType
from typing import IO

__all__ = ["BenchServer", "ServerError"]

_READY_TIMEOUT = 30.0
_PR_SET_PDEATHSIG = 1
_STOP_TIMEOUT = 5.0


def _die_with_parent() -> None:
    """In the child, before exec: ask Linux for SIGTERM when the benchmark process dies.

    ``stop()`` covers every orderly exit; this covers a benchmark killed outright (SIGKILL,
    e.g. by a test's timeout), which would otherwise leave the server running.
    """
    import ctypes

    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


class ServerError(RuntimeError):
    """The server process did not come up (its stderr tail is in the message)."""


class BenchServer:
    """One ``metallm.testing`` server process answering streams with ``chunks`` chunks."""

    def __init__(self, chunks: int) -> None:
        self.chunks = chunks
        self.port = 0
        self._proc: subprocess.Popen[bytes] | None = None
        self._stderr: IO[bytes] | None = None

    @property
    def base_url(self) -> str:
        """The OpenAI-style ``base_url`` (``http://127.0.0.1:PORT/v1``)."""
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def pid(self) -> int:
        """The server process id (0 when not running)."""
        return self._proc.pid if self._proc is not None else 0

    def start(self) -> BenchServer:
        """Start the process and wait for ``READY <port>``; raise ServerError if it never comes."""
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115 (closed by stop())
        cmd = [sys.executable, "-m", "metallm.testing", "--port", "0",
               "--bench-stream", str(self.chunks)]
        self._proc = subprocess.Popen(
            cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=self._stderr,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
            preexec_fn=_die_with_parent if sys.platform == "linux" else None,  # noqa: PLW1509
        )
        try:
            self.port = self._wait_ready(self._proc)
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_ready(self, proc: subprocess.Popen[bytes]) -> int:
        assert proc.stdout is not None
        deadline = time.monotonic() + _READY_TIMEOUT
        with selectors.DefaultSelector() as selector:
            selector.register(proc.stdout, selectors.EVENT_READ)
            buffer = b""
            while b"\n" not in buffer:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise ServerError(self._failure("no READY line within "
                                                    f"{_READY_TIMEOUT:.0f} s"))
                if not selector.select(timeout=left):
                    continue
                data = os.read(proc.stdout.fileno(), 4096)
                if not data:
                    raise ServerError(self._failure(f"exited with status {proc.wait()}"))
                buffer += data
        line = buffer.split(b"\n", 1)[0].decode(errors="replace").strip()
        word, _, port = line.partition(" ")
        if word != "READY" or not port.isdigit():
            raise ServerError(self._failure(f"unexpected first line {line!r}"))
        return int(port)

    def _failure(self, what: str) -> str:
        tail = ""
        if self._stderr is not None:
            self._stderr.seek(0)
            tail = self._stderr.read().decode(errors="replace")[-2000:]
        return f"bench server (--bench-stream {self.chunks}) {what}" + (
            f"; stderr:\n{tail}" if tail.strip() else ""
        )

    def stop(self) -> None:
        """Terminate the process by its PID (SIGTERM, then SIGKILL) and reap it. Idempotent."""
        proc, self._proc = self._proc, None
        if proc is not None:
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=_STOP_TIMEOUT)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
            if proc.stdout is not None:
                proc.stdout.close()
        if self._stderr is not None:
            self._stderr.close()
            self._stderr = None

    def __enter__(self) -> BenchServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

"""The HTTP value types a sans-IO provider codec builds and reads.

They carry only plain data (bytes, strings, dicts) so that a codec never touches a socket, an
HTTP library or an event loop; the client's transport turns them into real exchanges.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

__all__ = ["HTTPRequest", "HTTPResponse", "server_address_port"]

_REQUEST_ID_HEADERS = ("x-request-id", "request-id", "x-goog-request-id", "x-amzn-requestid")


@dataclass(frozen=True)
class HTTPRequest:
    """One request to send: absolute URL, headers (secrets included) and the body bytes.

    ``repr`` leaves headers out, since they carry the key. ``timeout`` (seconds), when set,
    bounds this one exchange below the client's own timeout: a router sets it to what is left
    of a routed call's deadline, so a running attempt is cut there.
    """

    method: str
    url: str
    headers: Mapping[str, str] = field(repr=False)
    content: bytes | None = field(default=None, repr=False)
    timeout: float | None = None


@dataclass(frozen=True)
class HTTPResponse:
    """What came back: status, headers (a case-insensitive mapping) and the whole body."""

    status_code: int
    headers: Mapping[str, str]
    content: bytes = field(repr=False)

    @property
    def request_id(self) -> str | None:
        """The provider's request id, when it sent one under a well-known header."""
        for name in _REQUEST_ID_HEADERS:
            value = self.headers.get(name)
            if value:
                return value
        return None

    @property
    def text(self) -> str:
        """The body decoded as UTF-8, bad bytes replaced."""
        return self.content.decode("utf-8", "replace")


def server_address_port(url: str) -> tuple[str, int]:
    """``(host, port)`` of a URL, with the scheme's default port; for telemetry."""
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return parts.hostname or "", port

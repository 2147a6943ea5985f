"""A key's escaped forms are redacted too: repr/ascii, bytes repr, JSON, percent-encoding.

A key is printable ASCII, but one with ``\\``, ``'``, ``"``, ``/`` or ``+`` (AWS secret keys
have the last two) changes when a text quotes it. The regression tests make real failing
calls: a real HTTP server on 127.0.0.1 that echoes the request's ``authorization`` header back
in its error reply, in the form the test asks for (a misbehaving proxy or gateway does this),
and a custom httpx transport whose error quotes the key. The error the caller gets (``str``,
``repr``, ``args``, ``message``, ``body``), the span's status and exception event, and every
log line must hold the key in none of its forms, nor any piece of it.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import quote, quote_plus

import httpx
import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode

import metallm
from _helpers import MODES, complete, stream, user
from metallm.errors import contains_secret, redact, scrub, secret_forms
from metallm.hooks import LoggingHook
from metallm.otel import OTelHook

KEY = "sk-Zq9'Wv\\Xr\"Yt/Uo+Pn42"
"""A key with every printable special that escaping changes."""
PIECES = ("Zq9", "Wv", "Xr", "Yt", "Uo", "Pn42")
"""Fragments of the key: none may survive anywhere (a partial redaction leaves some)."""

ECHO_FORMS: dict[str, Callable[[str], str]] = {
    "literal": lambda header: header,
    "repr": repr,
    "ascii": ascii,
    "bytes-repr": lambda header: repr(header.encode()),
    "json": json.dumps,
    "json-in-repr": lambda header: repr(json.dumps(header)),
    "quote": lambda header: "https://gw/?auth=" + quote(header, safe=""),
    "quote-slash-safe": lambda header: "https://gw/?auth=" + quote(header),
    "quote-plus": lambda header: "https://gw/?auth=" + quote_plus(header),
    "quote-lower-hex": lambda header: re.sub(
        "%[0-9A-F]{2}", lambda m: m.group(0).lower(), quote(header, safe="")
    ),
}


def leaks(text: str) -> list[str]:
    """The pieces of the key found in ``text``."""
    return [piece for piece in PIECES if piece in text]


class EchoServer:
    """POST anything: a 401 (or, with ``stream``, a 200 event stream ending in an error
    event) whose message quotes the ``authorization`` header in the form named by the
    ``x-echo-form`` header, and whose JSON body carries the header itself in ``echo``."""

    def __init__(self) -> None:
        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                request = json.loads(self.rfile.read(length) or b"{}")
                header = self.headers.get("authorization", "")
                quoted = ECHO_FORMS[self.headers.get("x-echo-form", "literal")](header)
                error = {
                    "message": f"Invalid credentials: {quoted}",
                    "type": "invalid_request_error",
                    "code": "invalid_api_key",
                    "echo": header,
                }
                if request.get("stream"):
                    event = json.dumps({"error": error})
                    self._answer(200, f"data: {event}\n\n".encode(), "text/event-stream")
                else:
                    self._answer(401, json.dumps({"error": error}).encode(), "application/json")

            def _answer(self, status: int, body: bytes, content_type: str) -> None:
                self.send_response(status)
                self.send_header("content-type", content_type)
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def __enter__(self) -> EchoServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


@pytest.fixture(scope="module")
def echo() -> Iterator[EchoServer]:
    with EchoServer() as server:
        yield server


@pytest.fixture
def spans() -> Iterator[tuple[InMemorySpanExporter, TracerProvider]]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    yield exporter, provider
    provider.shutdown()


def _error_texts(error: BaseException) -> list[str]:
    body = getattr(error, "body", None)
    return [
        str(error),
        repr(error),
        repr(error.args),
        str(getattr(error, "message", "")),
        json.dumps(body) if body is not None else "",
        repr(body),
    ]


def _span_texts(exporter: InMemorySpanExporter) -> list[str]:
    [span] = exporter.get_finished_spans()
    assert span.status.status_code is StatusCode.ERROR
    texts = [span.status.description or "", repr(dict(span.attributes or {}))]
    [event] = [e for e in span.events if e.name == "exception"]
    texts += [str(v) for v in (event.attributes or {}).values()]
    assert "Invalid credentials" in "".join(texts)  # the error did reach the span
    return texts


def _client_kw(echo: EchoServer, form: str, tracer: TracerProvider) -> dict[str, Any]:
    return {
        "provider": "openai",
        "base_url": echo.base_url,
        "api_key": KEY,
        "retry": metallm.RetryPolicy(max_retries=0),
        "hooks": [OTelHook(tracer_provider=tracer), LoggingHook(logging.getLogger("metallm"))],
        "extra": {"headers": {"x-echo-form": form}},
    }


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("form", list(ECHO_FORMS))
def test_echoed_key_is_redacted_in_every_form(
    echo: EchoServer,
    spans: tuple[InMemorySpanExporter, TracerProvider],
    caplog: pytest.LogCaptureFixture,
    form: str,
    mode: str,
) -> None:
    exporter, tracer = spans
    request = metallm.ChatCompletionRequest(model="gpt-4o", messages=[user("hi")])
    with (
        caplog.at_level(logging.DEBUG, "metallm"),
        pytest.raises(metallm.AuthenticationError) as caught,
    ):
        complete(mode, _client_kw(echo, form, tracer), request)
    error = caught.value
    texts = _error_texts(error) + _span_texts(exporter)
    texts += [record.getMessage() for record in caplog.records]
    texts += [repr(record.__dict__) for record in caplog.records]
    assert caplog.records  # the logging hook and the client did log the failure
    assert [leaks(t) for t in texts] == [[] for _ in texts], form
    assert "[REDACTED]" in error.message
    assert error.body["error"]["echo"] == "Bearer [REDACTED]"  # the raw JSON body, too


@pytest.mark.parametrize("form", ["repr", "json", "quote"])
def test_error_event_in_a_stream_is_redacted(
    echo: EchoServer, spans: tuple[InMemorySpanExporter, TracerProvider], form: str
) -> None:
    exporter, tracer = spans
    request = metallm.ChatCompletionRequest(model="gpt-4o", messages=[user("hi")])
    with pytest.raises(metallm.APIError) as caught:
        stream("sync", _client_kw(echo, form, tracer), request)
    texts = _error_texts(caught.value) + _span_texts(exporter)
    assert [leaks(t) for t in texts] == [[] for _ in texts]
    assert caught.value.body["error"]["echo"] == "Bearer [REDACTED]"


@pytest.mark.parametrize("form", ["repr", "bytes-repr", "json", "quote-plus"])
def test_a_transport_error_quoting_the_key_is_redacted(
    spans: tuple[InMemorySpanExporter, TracerProvider], form: str
) -> None:
    """A custom transport (a proxy library, say) whose error text quotes the request's key."""
    exporter, tracer = spans

    def refuse(request: httpx.Request) -> httpx.Response:
        header = request.headers["authorization"]
        raise httpx.ConnectError(f"Invalid credentials: {ECHO_FORMS[form](header)}")

    http_client = httpx.Client(transport=httpx.MockTransport(refuse))
    with (
        http_client,
        metallm.Client(
            provider="openai",
            base_url="http://127.0.0.1:9/v1",
            api_key=KEY,
            http_client=http_client,
            retry=metallm.RetryPolicy(max_retries=0),
            hooks=[OTelHook(tracer_provider=tracer)],
        ) as client,
        pytest.raises(metallm.APIConnectionError) as caught,
    ):
        client.create_chat_completion(model="gpt-4o", messages=[user("hi")])
    texts = _error_texts(caught.value) + _span_texts(exporter)
    assert [leaks(t) for t in texts] == [[] for _ in texts]


def test_a_custom_error_is_scrubbed_in_place() -> None:
    """An error raised by custom code (a hook, a custom provider) with the key in its fields."""
    error = metallm.APIError(
        f"failed with {KEY!r}",
        provider="custom",
        status_code=401,
        code=quote(KEY, safe=""),
        body={"headers": {"authorization": json.dumps(f"Bearer {KEY}")}, "list": [KEY]},
    )
    scrub(error, (KEY,))
    texts = [*_error_texts(error), str(error.code)]
    assert [leaks(t) for t in texts] == [[] for _ in texts]
    assert error.body == {
        "headers": {"authorization": '"Bearer [REDACTED]"'},
        "list": ["[REDACTED]"],
    }


def test_forms_and_their_cache() -> None:
    aws = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLE+KEY"
    forms = secret_forms(aws)
    assert aws in forms and quote(aws, safe="") in forms and quote_plus(aws) in forms
    assert "wJalrXUtnFEMI%2fK7MDENG%2fbPxRfiCYEXAMPLE%2bKEY" in forms  # lower-case hex
    assert "wJalrXUtnFEMI\\/K7MDENG\\/bPxRfiCYEXAMPLE+KEY" in forms  # JSON's escaped slash
    assert secret_forms("sk-plain_KEY-123") == ("sk-plain_KEY-123",)  # one form: str search
    signed = f"GET /?X-Amz-Credential=x&secret={quote(aws, safe='')} HTTP/1.1"
    assert redact(signed, [aws]) == "GET /?X-Amz-Credential=x&secret=[REDACTED] HTTP/1.1"
    assert contains_secret(repr(f"k={aws}".encode()), (aws,))
    assert not contains_secret("nothing here", (aws,))
    assert redact(f"{KEY} and {KEY!r}", ("abc", KEY)) == "[REDACTED] and '[REDACTED]'"
    assert redact("abc stays", ("abc",)) == "abc stays"  # too short to hide
    # longest form first: a JSON-escaped key inside a repr leaves no stray backslashes
    assert redact(repr(json.dumps(KEY)), (KEY,)) == repr(json.dumps("[REDACTED]"))

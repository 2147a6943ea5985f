"""Documents and audio through the real clients over real sockets, sync and async.

One call per provider against FakeLLMServer, checking the body the server received (and that
the fake server, replaying each wire format, echoes the text around the new blocks); refusals
and bad input that never reach the server; the telemetry content parts an in-memory span
exporter records; and a conversation holding a document and an audio part stored in SQLite
memory and read back equal, then sent again.
"""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import metallm
import metallm.testing.wire_bedrock  # registers the Converse renderer
from _helpers import MODES, complete, stream
from metallm import AudioPart, DocumentPart, Message, Role, TextPart
from metallm.memory import SQLiteStore
from metallm.otel import OTelHook
from metallm.otel import attributes as A
from metallm.providers.bedrock import BedrockProvider
from metallm.testing import FakeLLMServer

KEY = "sk-media-test-0123456789"
PDF = base64.b64encode(b"%PDF-1.4 a tiny document").decode()
WAV = base64.b64encode(b"RIFF\x00\x00\x00\x00WAVEfmt ").decode()


@pytest.fixture(scope="module")
def server() -> Iterator[FakeLLMServer]:
    with FakeLLMServer() as s:
        yield s


@pytest.fixture(autouse=True)
def _clean(server: FakeLLMServer) -> None:
    server.clear()


def client_kw(server: FakeLLMServer, provider: str, **extra: Any) -> dict[str, Any]:
    if provider == "bedrock":
        codec = BedrockProvider(
            region="us-east-1",
            endpoint_url=server.url,
            aws_access_key_id="AKIDEXAMPLE",
            aws_secret_access_key="wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        )
        return {"custom_provider": codec, "max_retries": 0, "hooks": [], **extra}
    return {
        "provider": provider,
        "base_url": server.base_url(provider),
        "api_key": KEY,
        "max_retries": 0,
        "hooks": [],
        **extra,
    }


def ask(*parts: Any, model: str = "m-1") -> metallm.ChatCompletionRequest:
    return metallm.ChatCompletionRequest(
        model=model,
        messages=[Message(role=Role.USER, content=[TextPart(text="Summarise."), *parts])],
    )


# Per provider: the parts it takes, and the blocks the server must receive for them.
CALLS: dict[str, tuple[list[Any], list[Any]]] = {
    "openai": (
        [DocumentPart.from_base64(PDF, name="r.pdf"), AudioPart.from_base64(WAV, "wav")],
        [
            {"type": "text", "text": "Summarise."},
            {
                "type": "file",
                "file": {"filename": "r.pdf", "file_data": f"data:application/pdf;base64,{PDF}"},
            },
            {"type": "input_audio", "input_audio": {"data": WAV, "format": "wav"}},
        ],
    ),
    "xai": (
        [DocumentPart.from_text("the notes")],
        [{"type": "text", "text": "Summarise."}, {"type": "text", "text": "the notes"}],
    ),
    "anthropic": (
        [DocumentPart.from_base64(PDF, name="r"), DocumentPart.from_text("the notes")],
        [
            {"type": "text", "text": "Summarise."},
            {
                "type": "document",
                "source": {"type": "base64", "media_type": "application/pdf", "data": PDF},
                "title": "r",
            },
            {
                "type": "document",
                "source": {"type": "text", "media_type": "text/plain", "data": "the notes"},
            },
        ],
    ),
    "gemini": (
        [DocumentPart.from_url("gs://b/r.pdf"), AudioPart.from_base64(WAV, "mp3")],
        [
            {"text": "Summarise."},
            {"fileData": {"fileUri": "gs://b/r.pdf", "mimeType": "application/pdf"}},
            {"inlineData": {"mimeType": "audio/mp3", "data": WAV}},
        ],
    ),
    "bedrock": (
        [DocumentPart.from_base64(PDF, name="r.pdf"), AudioPart.from_base64(WAV, "wav")],
        [
            {"text": "Summarise."},
            {"document": {"format": "pdf", "name": "r", "source": {"bytes": PDF}}},
            {"audio": {"format": "wav", "source": {"bytes": WAV}}},
        ],
    ),
}


def received_blocks(provider: str, sent: dict[str, Any]) -> list[Any]:
    if provider == "gemini":
        return list(sent["contents"][0]["parts"])
    return list(sent["messages"][0]["content"])


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("provider", sorted(CALLS))
def test_one_call_per_provider_sends_the_blocks(
    server: FakeLLMServer, mode: str, provider: str
) -> None:
    parts, expected = CALLS[provider]
    response = complete(mode, client_kw(server, provider), ask(*parts))
    [recorded] = server.requests
    assert received_blocks(provider, recorded.json) == expected
    assert "Summarise." in response.content  # the fake server echoes the text beside the blocks


@pytest.mark.parametrize("provider", sorted(CALLS))
def test_streamed_call_sends_the_same_blocks(server: FakeLLMServer, provider: str) -> None:
    parts, expected = CALLS[provider]
    _, final = stream("async", client_kw(server, provider), ask(*parts))
    [recorded] = server.requests
    assert received_blocks(provider, recorded.json) == expected
    assert "Summarise." in final.content


REFUSED = [
    ("ollama", DocumentPart.from_base64(PDF)),
    ("ollama", AudioPart.from_base64(WAV, "wav")),
    ("xai", AudioPart.from_base64(WAV, "wav")),
    ("xai", DocumentPart.from_base64(PDF)),
    ("openai", DocumentPart.from_url("https://x.test/r.pdf")),
    ("anthropic", AudioPart.from_base64(WAV, "wav")),
    ("bedrock", DocumentPart.from_url("https://x.test/r.pdf")),
]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(("provider", "part"), REFUSED)
def test_refusals_happen_before_any_io(
    server: FakeLLMServer, mode: str, provider: str, part: Any
) -> None:
    with pytest.raises(metallm.UnsupportedFeatureError) as info:
        complete(mode, client_kw(server, provider), ask(part))
    assert info.value.provider == provider
    assert server.requests == []


@pytest.mark.parametrize("mode", MODES)
def test_bad_input_fails_before_sending(server: FakeLLMServer, mode: str) -> None:
    cases = [
        ({"type": "document"}, "needs data or url"),
        ({"type": "document", "data": PDF, "mime_type": "image/png"}, "mime_type 'image/png'"),
        ({"type": "document", "data": "%PDF raw bytes"}, "not base64"),
        (
            {"type": "input_audio", "input_audio": {"data": WAV, "format": "amr"}},
            "'amr' is unknown",
        ),
    ]
    for part, message in cases:
        request = {"model": "m-1", "messages": [{"role": "user", "content": [part]}]}
        with pytest.raises(
            metallm.InvalidRequestError, match=r"messages\[0\]\.content\[0\]: .*" + message
        ):
            complete(mode, client_kw(server, "openai"), request)
    assert server.requests == []


@pytest.mark.parametrize("mode", MODES)
def test_telemetry_content_parts(server: FakeLLMServer, mode: str) -> None:
    spans = InMemorySpanExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(spans))
    hook = OTelHook(tracer_provider=tracer_provider)
    request = ask(
        DocumentPart.from_base64(PDF, name="r.pdf"),
        DocumentPart.from_url("gs://b/notes.txt", "text/plain"),
        AudioPart.from_base64(WAV, "mp3"),
        model="gemini-2.5-flash",
    )
    kw = client_kw(server, "gemini", hooks=[hook], capture_content="SPAN_ONLY")
    complete(mode, kw, request)
    [span] = spans.get_finished_spans()
    tracer_provider.shutdown()
    assert json.loads(str((span.attributes or {})[A.INPUT_MESSAGES])) == [
        {
            "role": "user",
            "parts": [
                {"type": "text", "content": "Summarise."},
                {
                    "type": "blob",
                    "mime_type": "application/pdf",
                    "modality": "document",
                    "content": PDF,
                },
                {
                    "type": "uri",
                    "mime_type": "text/plain",
                    "modality": "document",
                    "uri": "gs://b/notes.txt",
                },
                {"type": "blob", "mime_type": "audio/mp3", "modality": "audio", "content": WAV},
            ],
        },
    ]


@pytest.mark.parametrize("mode", MODES)
def test_memory_round_trip_in_sqlite(server: FakeLLMServer, mode: str, tmp_path: Path) -> None:
    path = tmp_path / "media.db"
    question = Message(
        role=Role.USER,
        content=[
            TextPart(text="What is in these?"),
            DocumentPart.from_base64(PDF, name="r.pdf"),
            DocumentPart.from_text("plain notes", name="n.txt"),
            AudioPart.from_base64(WAV, "wav"),
        ],
    )
    follow_up = Message(role=Role.USER, content="And now?")
    kw = client_kw(server, "openai")

    async def calls(client: Any, awaiting: bool) -> list[Message]:
        async def run(value: Any) -> Any:
            return await value if awaiting else value

        await run(client.create_chat_completion_with_memory("s1", model="m-1", messages=[question]))
        await run(
            client.create_chat_completion_with_memory("s1", model="m-1", messages=[follow_up])
        )
        return list(await run(client.get_conversation_messages("s1")))

    if mode == "sync":
        with metallm.Client(**kw, memory=SQLiteStore(path)) as client:
            stored = asyncio.run(calls(client, awaiting=False))
    else:

        async def main() -> list[Message]:
            async with metallm.AsyncClient(**kw, memory=SQLiteStore(path)) as client:
                return await calls(client, awaiting=True)

        stored = asyncio.run(main())
    assert stored[0] == question and stored[2] == follow_up
    assert isinstance(stored[0].content, list)
    assert isinstance(stored[0].content[2], DocumentPart)
    assert stored[0].content[2].text() == "plain notes"
    with metallm.Client(**kw, memory=SQLiteStore(path)) as reopened:  # read back from the file
        assert reopened.get_conversation_messages("s1") == stored
    resent = server.requests[1].json["messages"][0]["content"]
    assert resent[1] == {
        "type": "file",
        "file": {"filename": "r.pdf", "file_data": f"data:application/pdf;base64,{PDF}"},
    }
    assert resent[3] == {"type": "input_audio", "input_audio": {"data": WAV, "format": "wav"}}

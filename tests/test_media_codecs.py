"""Documents and audio at the codec level: the exact JSON each provider gets, and its refusals.

Every built-in codec turns a ``DocumentPart`` (PDF or plain text, inline or by URL, named or
not) and an ``AudioPart`` into the block its API reference documents, or raises
``UnsupportedFeatureError`` naming what it cannot take, while building the request, before any
I/O. The shared input rules (``metallm._validate``) are pinned here too, since every client
call runs them first.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

import metallm
from metallm import AudioPart, DocumentPart, Message, Role, TextPart
from metallm._validate import coerce_request
from metallm.provider import HTTPProvider, ProviderSettings
from metallm.providers.anthropic import create as anthropic
from metallm.providers.bedrock import BedrockProvider
from metallm.providers.gemini import create as gemini
from metallm.providers.ollama import create as ollama
from metallm.providers.openai import create as openai
from metallm.providers.xai import create as xai

PDF = base64.b64encode(b"%PDF-1.4 tiny").decode()
WAV = base64.b64encode(b"RIFF....WAVEfmt ").decode()


def codec(name: str) -> HTTPProvider:
    if name == "bedrock":
        return BedrockProvider(
            region="us-east-1", aws_access_key_id="AKIDEXAMPLE", aws_secret_access_key="s" * 40
        )
    factory = {
        "openai": openai,
        "xai": xai,
        "anthropic": anthropic,
        "gemini": gemini,
        "ollama": ollama,
    }[name]
    return factory(ProviderSettings(name, "test-key", "http://127.0.0.1:9", {}))


def ask(*parts: Any, role: Role = Role.USER) -> metallm.ChatCompletionRequest:
    return metallm.ChatCompletionRequest(
        model="m", messages=[Message(role=role, content=[TextPart(text="Read this."), *parts])]
    )


def body(name: str, request: metallm.ChatCompletionRequest) -> dict[str, Any]:
    http = codec(name).build_request(coerce_request(request, {}), stream=False)
    return dict(json.loads(http.content or b""))


def content(name: str, request: metallm.ChatCompletionRequest) -> list[Any]:
    """The wire blocks of the request's one user message, in each provider's place for them."""
    sent = body(name, request)
    if name == "gemini":
        return list(sent["contents"][0]["parts"])
    return list(sent["messages"][0]["content"])


# -- the types ---------------------------------------------------------------------------------


def test_constructors_and_text_round_trip() -> None:
    doc = DocumentPart.from_text("Grüße, world", name="notes.txt")
    assert doc.mime_type == "text/plain" and doc.name == "notes.txt" and doc.url is None
    assert base64.b64decode(doc.data or "") == "Grüße, world".encode()
    assert doc.text() == "Grüße, world"
    assert DocumentPart.from_base64(PDF, name="r.pdf").model_dump() == {
        "type": "document",
        "data": PDF,
        "url": None,
        "mime_type": "application/pdf",
        "name": "r.pdf",
        "cache_control": None,
    }
    assert DocumentPart.from_url("https://x.test/a.pdf").url == "https://x.test/a.pdf"
    audio = AudioPart.from_base64(WAV, "wav")
    assert audio.model_dump() == {
        "type": "input_audio",
        "input_audio": {"data": WAV, "format": "wav"},
        "cache_control": None,
    }
    assert audio.mime_type() == "audio/wav"
    assert AudioPart.from_base64(WAV, "mp3").mime_type() == "audio/mp3"
    with pytest.raises(metallm.InvalidRequestError, match="text/plain"):
        DocumentPart.from_base64(PDF).text()


def test_parts_validate_from_dicts_and_reject_unknown_fields() -> None:
    req = coerce_request(
        {
            "model": "m",
            "messages": [
                {
                    "role": "user",
                    "content": [
                        {"type": "document", "data": PDF, "name": "a"},
                        {"type": "input_audio", "input_audio": {"data": WAV, "format": "wav"}},
                    ],
                }
            ],
        },
        {},
    )
    parts = req.messages[0].content
    assert isinstance(parts, list)
    assert parts == [DocumentPart(data=PDF, name="a"), AudioPart.from_base64(WAV, "wav")]
    with pytest.raises(metallm.InvalidRequestError, match="did you mean 'mime_type'"):
        coerce_request(
            {"model": "m", "messages": [{"role": "user", "content": [
                {"type": "document", "data": PDF, "mimetype": "text/plain"}]}]},
            {},
        )  # fmt: skip
    with pytest.raises(metallm.InvalidRequestError, match="did you mean 'format'"):
        AudioPart(input_audio={"data": WAV, "formt": "wav"})  # type: ignore[arg-type]


# -- the shared input rules --------------------------------------------------------------------

BAD_INPUT = [
    (DocumentPart(), r"messages\[1\]\.content\[2\]: a DocumentPart needs data or url"),
    (
        DocumentPart(data=PDF, url="https://x.test/a.pdf"),
        r"messages\[1\]\.content\[2\]: a DocumentPart takes data or url, not both",
    ),
    (
        DocumentPart(data=PDF, mime_type="application/msword"),
        r"messages\[1\]\.content\[2\]: document mime_type 'application/msword' is not supported",
    ),
    (DocumentPart(data="not base64!"), r"messages\[1\]\.content\[2\]: DocumentPart\.data is not"),
    (DocumentPart(data="abc"), r"DocumentPart\.data is not base64"),
    (
        DocumentPart(data="data:application/pdf;base64," + PDF),
        r"DocumentPart\.data is not base64",
    ),
    (DocumentPart(data=PDF[:-4] + "!" * 4 + "A" * 1000), r"DocumentPart\.data is not base64"),
    (DocumentPart(data="A" * 1000 + "#AAA"), r"DocumentPart\.data is not base64"),
    (DocumentPart(url="report.pdf"), r"DocumentPart\.url 'report\.pdf' is not a URL"),
    (
        AudioPart.from_base64(WAV, "midi"),
        r"messages\[1\]\.content\[2\]: audio format 'midi' is unknown; known: wav, mp3",
    ),
    (AudioPart.from_base64(WAV, "WAV"), r"audio format 'WAV' is unknown; use 'wav'"),
    (AudioPart.from_base64("RIFF WAVE", "wav"), r"input_audio\.data is not base64"),
]


@pytest.mark.parametrize(("part", "message"), BAD_INPUT)
def test_bad_parts_are_refused_naming_the_part(part: Any, message: str) -> None:
    request = metallm.ChatCompletionRequest(
        model="m",
        messages=[
            Message(role=Role.SYSTEM, content="Be brief."),
            Message(role=Role.USER, content=[TextPart(text="a"), TextPart(text="b"), part]),
        ],
    )
    with pytest.raises(metallm.InvalidRequestError, match=message):
        coerce_request(request, {})


def test_large_base64_is_checked_at_its_ends_only() -> None:
    big = "A" * 4_000_000  # a 3 MB file: accepted without a scan of the whole string
    coerce_request(ask(DocumentPart(data=big), AudioPart.from_base64(big, "flac")), {})


# -- OpenAI and xAI ----------------------------------------------------------------------------


def test_openai_blocks() -> None:
    parts = content(
        "openai",
        ask(
            DocumentPart.from_base64(PDF, name="report.pdf"),
            DocumentPart.from_base64(PDF),
            DocumentPart.from_text("plain words", name="n.txt"),
            AudioPart.from_base64(WAV, "wav"),
            AudioPart.from_base64(WAV, "mp3"),
        ),
    )
    assert parts == [
        {"type": "text", "text": "Read this."},
        {
            "type": "file",
            "file": {"filename": "report.pdf", "file_data": f"data:application/pdf;base64,{PDF}"},
        },
        {
            "type": "file",
            "file": {"filename": "document.pdf", "file_data": f"data:application/pdf;base64,{PDF}"},
        },
        {"type": "text", "text": "plain words"},
        {"type": "input_audio", "input_audio": {"data": WAV, "format": "wav"}},
        {"type": "input_audio", "input_audio": {"data": WAV, "format": "mp3"}},
    ]


def test_xai_takes_text_documents_only() -> None:
    parts = content("xai", ask(DocumentPart.from_text("plain words")))
    assert parts[1] == {"type": "text", "text": "plain words"}


REFUSED = [
    ("openai", DocumentPart.from_url("https://x.test/a.pdf"), "documents by URL"),
    ("openai", AudioPart.from_base64(WAV, "flac"), "audio format 'flac'"),
    ("xai", DocumentPart.from_base64(PDF), "PDF documents"),
    ("xai", DocumentPart.from_url("https://x.test/a.pdf"), "documents by URL"),
    ("xai", AudioPart.from_base64(WAV, "wav"), "audio input"),
    ("anthropic", AudioPart.from_base64(WAV, "wav"), "audio input"),
    ("anthropic", DocumentPart.from_url("https://x.test/a.txt", "text/plain"), "text/plain"),
    ("gemini", AudioPart.from_base64(WAV, "opus"), "audio format 'opus'"),
    ("gemini", DocumentPart.from_url("s3://bucket/a.pdf"), "document URLs"),
    ("bedrock", DocumentPart.from_url("https://x.test/a.pdf"), "document URLs other than s3://"),
    ("bedrock", AudioPart.from_base64(WAV, "aiff"), "audio format 'aiff'"),
    ("ollama", DocumentPart.from_base64(PDF), "documents"),
    ("ollama", DocumentPart.from_text("x"), "documents"),
    ("ollama", AudioPart.from_base64(WAV, "wav"), "audio input"),
]


@pytest.mark.parametrize(("name", "part", "feature"), REFUSED)
def test_refusals_name_the_feature(name: str, part: Any, feature: str) -> None:
    with pytest.raises(metallm.UnsupportedFeatureError, match=feature) as info:
        body(name, ask(part))
    assert info.value.provider == name


# -- Anthropic ---------------------------------------------------------------------------------


def test_anthropic_blocks() -> None:
    parts = content(
        "anthropic",
        ask(
            DocumentPart.from_base64(PDF, name="Q4 report"),
            DocumentPart.from_text("plain words"),
            DocumentPart.from_url("https://x.test/a.pdf", name="remote"),
        ),
    )
    assert parts == [
        {"type": "text", "text": "Read this."},
        {
            "type": "document",
            "source": {"type": "base64", "media_type": "application/pdf", "data": PDF},
            "title": "Q4 report",
        },
        {
            "type": "document",
            "source": {"type": "text", "media_type": "text/plain", "data": "plain words"},
        },
        {
            "type": "document",
            "source": {"type": "url", "url": "https://x.test/a.pdf"},
            "title": "remote",
        },
    ]


def test_anthropic_refuses_documents_in_the_system_prompt() -> None:
    request = ask(DocumentPart.from_base64(PDF), role=Role.SYSTEM)
    request.messages.append(Message(role=Role.USER, content="hi"))
    with pytest.raises(metallm.UnsupportedFeatureError, match="system messages"):
        body("anthropic", request)


def test_anthropic_documents_reach_tool_results() -> None:
    call = metallm.ToolCall(id="t1", function=metallm.FunctionCall(name="fetch"))
    request = metallm.ChatCompletionRequest(
        model="m",
        messages=[
            Message(role=Role.USER, content="fetch it"),
            Message(role=Role.ASSISTANT, tool_calls=[call]),
            Message(role=Role.TOOL, tool_call_id="t1", content=[DocumentPart.from_text("found")]),
        ],
    )
    result = body("anthropic", request)["messages"][2]["content"][0]
    assert result["content"] == [
        {
            "type": "document",
            "source": {"type": "text", "media_type": "text/plain", "data": "found"},
        }
    ]


# -- Gemini ------------------------------------------------------------------------------------


def test_gemini_parts() -> None:
    parts = content(
        "gemini",
        ask(
            DocumentPart.from_base64(PDF, name="ignored"),
            DocumentPart.from_text("plain words"),
            DocumentPart.from_url("gs://bucket/a.pdf"),
            DocumentPart.from_url(
                "https://generativelanguage.googleapis.com/v1beta/files/x", "text/plain"
            ),
            AudioPart.from_base64(WAV, "wav"),
            AudioPart.from_base64(WAV, "mp3"),
            AudioPart.from_base64(WAV, "flac"),
        ),
    )
    text = base64.b64encode(b"plain words").decode()
    assert parts == [
        {"text": "Read this."},
        {"inlineData": {"mimeType": "application/pdf", "data": PDF}},
        {"inlineData": {"mimeType": "text/plain", "data": text}},
        {"fileData": {"fileUri": "gs://bucket/a.pdf", "mimeType": "application/pdf"}},
        {
            "fileData": {
                "fileUri": "https://generativelanguage.googleapis.com/v1beta/files/x",
                "mimeType": "text/plain",
            }
        },
        {"inlineData": {"mimeType": "audio/wav", "data": WAV}},
        {"inlineData": {"mimeType": "audio/mp3", "data": WAV}},
        {"inlineData": {"mimeType": "audio/flac", "data": WAV}},
    ]


# -- Bedrock -----------------------------------------------------------------------------------


def test_bedrock_blocks_and_derived_names() -> None:
    parts = content(
        "bedrock",
        ask(
            DocumentPart.from_base64(PDF, name="Q4 report (final)"),
            DocumentPart.from_base64(PDF, name="report.pdf"),
            DocumentPart.from_text("plain words"),
            DocumentPart.from_url("s3://bucket/key.pdf", name="report"),
            DocumentPart.from_base64(PDF, name="résumé  v2.pdf"),
            AudioPart.from_base64(WAV, "wav"),
        ),
    )
    text = base64.b64encode(b"plain words").decode()
    assert parts == [
        {"text": "Read this."},
        {"document": {"format": "pdf", "name": "Q4 report (final)", "source": {"bytes": PDF}}},
        {"document": {"format": "pdf", "name": "report", "source": {"bytes": PDF}}},
        {"document": {"format": "txt", "name": "document-3", "source": {"bytes": text}}},
        {
            "document": {
                "format": "pdf",
                "name": "report (2)",
                "source": {"s3Location": {"uri": "s3://bucket/key.pdf"}},
            }
        },
        {"document": {"format": "pdf", "name": "r-sum- v2", "source": {"bytes": PDF}}},
        {"audio": {"format": "wav", "source": {"bytes": WAV}}},
    ]


def test_bedrock_names_stay_within_the_aws_rules() -> None:
    names = [
        block["document"]["name"]
        for block in content(
            "bedrock",
            ask(
                *(DocumentPart.from_base64(PDF, name=n) for n in ("x" * 300, "***", "a\t\nb", None))
            ),
        )[1:]
    ]
    assert names == ["x" * 200, "document-2", "a b", "document-4"]

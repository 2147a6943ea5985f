"""The decoder's direct JSON scan decides every event exactly as ``json.loads`` would.

``EventDecoder.decode`` parses each event with the JSON module's C scanner and hands anything
that is not exactly one JSON value to ``JSONDecoder.decode``; these events pin that the two
paths agree: whitespace around a value, trailing garbage, a value that is not an object, bad
UTF-8 on an NDJSON line, an unterminated string, and an empty data field.
"""

from __future__ import annotations

import json

import pytest
from test_codec_kit import AcmeDecoder, LineDecoder

from metallm import StreamError


def _texts(decoder: AcmeDecoder, data: bytes) -> list[str | None]:
    return [c.choices[0].delta.content for c in decoder.feed(data)]


@pytest.mark.parametrize(
    "payload", ['{"text":"a"}', ' {"text":"a"}', '{"text":"a"}  ', '\t{"text": "a"}\t']
)
def test_an_object_with_or_without_whitespace_decodes(payload: str) -> None:
    assert json.loads(payload) == {"text": "a"}
    assert _texts(AcmeDecoder("acme"), f"data: {payload}\n\n".encode()) == ["a"]


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ('{"text":"a"} x', "stream event is not JSON"),
        ('{"text":"a"}{"text":"b"}', "stream event is not JSON"),
        ('{"text":"a', "stream event is not JSON"),
        ("nope", "stream event is not JSON"),
        ("[1, 2]", "not a JSON object"),
        ("7", "not a JSON object"),
    ],
)
def test_what_json_loads_refuses_is_refused(payload: str, message: str) -> None:
    with pytest.raises(StreamError, match=message):
        AcmeDecoder("acme").feed(f"data: {payload}\n\n".encode())


def test_an_empty_data_field_is_skipped() -> None:
    decoder = AcmeDecoder("acme")
    assert _texts(decoder, b'data: \n\ndata: {"text":"b"}\n\n') == ["b"]


def test_ndjson_lines_decode_and_bad_utf8_is_a_stream_error() -> None:
    assert _texts(LineDecoder("acme"), b'{"text":"a"}\n {"text":"b"} \n') == ["a", "b"]
    with pytest.raises(StreamError, match="stream line is not JSON"):
        LineDecoder("acme").feed(b'{"text":"\xff"}\n')

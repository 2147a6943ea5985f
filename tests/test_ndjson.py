"""The incremental NDJSON splitter (metallm._ndjson): lines, CRLF, blanks, splits, UTF-8."""

from __future__ import annotations

import json
import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from metallm._ndjson import NDJSONDecoder
from metallm.testing.corpus import corpus_dir, load_corpus_entry


def decode(*parts: bytes) -> list[bytes]:
    decoder = NDJSONDecoder()
    lines: list[bytes] = []
    for part in parts:
        lines.extend(decoder.feed(part))
    lines.extend(decoder.close())
    return lines


def split_at(data: bytes, points: list[int]) -> list[bytes]:
    cuts = sorted(p % (len(data) + 1) for p in points)
    pieces, start = [], 0
    for cut in cuts:
        pieces.append(data[start:cut])
        start = cut
    pieces.append(data[start:])
    return pieces


def test_lines_split_on_lf() -> None:
    assert decode(b'{"a":1}\n{"b":2}\n') == [b'{"a":1}', b'{"b":2}']


def test_crlf_and_surrounding_whitespace_dropped() -> None:
    assert decode(b'{"a":1}\r\n  {"b":2}  \r\n') == [b'{"a":1}', b'{"b":2}']


def test_blank_lines_skipped() -> None:
    assert decode(b"\n\n{}\n\r\n   \n[]\n\n") == [b"{}", b"[]"]


def test_last_line_without_newline_returned_by_close() -> None:
    decoder = NDJSONDecoder()
    assert decoder.feed(b'{"a":1}\n{"b"') == [b'{"a":1}']
    assert decoder.has_pending
    assert decoder.feed(b":2}") == []
    assert decoder.close() == [b'{"b":2}']
    assert not decoder.has_pending
    assert decoder.close() == []


def test_whitespace_only_tail_is_not_pending() -> None:
    decoder = NDJSONDecoder()
    assert decoder.feed(b"{}\n  \r") == [b"{}"]
    assert not decoder.has_pending
    assert decoder.close() == []


def test_feed_returns_only_complete_lines() -> None:
    decoder = NDJSONDecoder()
    assert decoder.feed(b'{"x"') == []
    assert decoder.feed(b":1") == []
    assert decoder.feed(b"}\n") == [b'{"x":1}']
    assert decoder.feed(b"") == []


def test_multibyte_split_at_every_offset() -> None:
    line = json.dumps({"content": "héllo 世界 🎉"}, ensure_ascii=False).encode()
    body = line + b"\n" + line + b"\n"
    for cut in range(len(body) + 1):
        lines = decode(body[:cut], body[cut:])
        assert lines == [line, line], cut
        assert json.loads(lines[0])["content"] == "héllo 世界 🎉"


def _ollama_stream_body() -> bytes:
    path = corpus_dir() / "ollama" / "stream_basic.json"
    if not path.is_file():
        reason = f"corpus file {path} not found (set METALLM_CORPUS)"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    return load_corpus_entry(path).body_bytes


def test_ollama_corpus_stream_lines_are_json_objects() -> None:
    body = _ollama_stream_body()
    lines = decode(body)
    objects = [json.loads(line) for line in lines]
    assert len(objects) == body.count(b"\n") + (0 if body.endswith(b"\n") else 1)
    assert all(isinstance(o, dict) for o in objects)
    assert objects[-1]["done"] is True
    assert all(o["done"] is False for o in objects[:-1])


@settings(max_examples=100, deadline=None)
@given(points=st.lists(st.integers(min_value=0), max_size=60))
def test_ollama_corpus_stream_split_anywhere(points: list[int]) -> None:
    body = _ollama_stream_body()
    assert decode(*split_at(body, points)) == decode(body)


@settings(max_examples=200, deadline=None)
@given(
    objects=st.lists(
        st.dictionaries(st.text(max_size=5), st.text(max_size=10) | st.integers(), max_size=3),
        max_size=6,
    ),
    eol=st.sampled_from([b"\n", b"\r\n"]),
    points=st.lists(st.integers(min_value=0), max_size=10),
)
def test_random_lines_round_trip(
    objects: list[dict[str, object]], eol: bytes, points: list[int]
) -> None:
    body = b"".join(json.dumps(o, ensure_ascii=False).encode() + eol for o in objects)
    assert [json.loads(x) for x in decode(*split_at(body, points))] == objects

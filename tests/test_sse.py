"""The incremental SSE decoder (metallm._sse): line ends, fields, UTF-8 and arbitrary splits."""

from __future__ import annotations

import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from _codec_helpers import split_at
from metallm._sse import SSEDecoder, SSEEvent
from metallm.testing.corpus import CorpusEntry, corpus_dir, corpus_files, load_corpus_entry

SSE_PROVIDERS = ("openai", "xai", "anthropic", "gemini")


def decode(*parts: bytes) -> list[SSEEvent]:
    """Feed ``parts`` one by one, then close; all events in order."""
    decoder = SSEDecoder()
    events: list[SSEEvent] = []
    for part in parts:
        events.extend(decoder.feed(part))
    events.extend(decoder.close())
    return events


# --- line endings ------------------------------------------------------------------------


@pytest.mark.parametrize("eol", [b"\n", b"\r", b"\r\n"], ids=["LF", "CR", "CRLF"])
def test_line_endings(eol: bytes) -> None:
    body = eol.join([b"event: delta", b"data: one", b"data: two", b"", b"data: three", b"", b""])
    assert decode(body) == [SSEEvent("delta", "one\ntwo"), SSEEvent("message", "three")]


@pytest.mark.parametrize("eol", [b"\n", b"\r", b"\r\n"], ids=["LF", "CR", "CRLF"])
def test_line_endings_fed_byte_by_byte(eol: bytes) -> None:
    body = eol.join([b"data: a", b"data: b", b"", b"data: c", b"", b""])
    pieces = [body[i : i + 1] for i in range(len(body))]
    assert decode(*pieces) == [SSEEvent("message", "a\nb"), SSEEvent("message", "c")]


def test_crlf_split_across_feeds_counts_once() -> None:
    # Were the LF after a CR counted as a second line end, "a" would be dispatched alone.
    assert decode(b"data: a\r", b"\ndata: b\r", b"\n\r", b"\n") == [SSEEvent("message", "a\nb")]


def test_empty_feed_between_cr_and_lf() -> None:
    assert decode(b"data: a\r", b"", b"\ndata: b\r\n\r\n") == [SSEEvent("message", "a\nb")]


def test_cr_then_cr_in_next_feed_is_a_blank_line() -> None:
    assert decode(b"data: a\r", b"\rdata: b\r\r") == [
        SSEEvent("message", "a"),
        SSEEvent("message", "b"),
    ]


def test_mixed_line_endings_in_one_stream() -> None:
    assert decode(b"data: a\r\n\ndata: b\r\rdata: c\n\r\n") == [
        SSEEvent("message", "a"),
        SSEEvent("message", "b"),
        SSEEvent("message", "c"),
    ]


# --- fields ------------------------------------------------------------------------------


def test_comments_are_ignored() -> None:
    body = b": keep-alive\n:\ndata: x\n: in the middle\ndata: y\n\n: trailing comment\n\n"
    assert decode(body) == [SSEEvent("message", "x\ny")]


def test_data_with_and_without_space() -> None:
    assert decode(b"data:x\n\ndata: x\n\ndata:  x\n\n") == [
        SSEEvent("message", "x"),
        SSEEvent("message", "x"),
        SSEEvent("message", " x"),  # only one leading space is removed
    ]


def test_multiline_data_and_empty_data_lines() -> None:
    assert decode(b"data: first\ndata:\ndata\ndata: last\n\n") == [
        SSEEvent("message", "first\n\n\nlast")
    ]


def test_data_value_may_contain_colons() -> None:
    assert decode(b'data: {"a": "b:c"}\n\n') == [SSEEvent("message", '{"a": "b:c"}')]


def test_event_id_retry_fields() -> None:
    body = (
        b"event: message_start\nid: 7\nretry: 1500\ndata: {}\n\n"
        b"data: second\n\n"  # id persists (last event id), event type and retry reset
        b"event: x\nid\nretry: soon\ndata: third\n\n"  # empty id resets it; bad retry ignored
    )
    assert decode(body) == [
        SSEEvent("message_start", "{}", "7", 1500),
        SSEEvent("message", "second", "7", None),
        SSEEvent("x", "third", "", None),
    ]


def test_id_with_nul_is_ignored() -> None:
    assert decode(b"id: 1\n\nid: a\x00b\ndata: z\n\n") == [SSEEvent("message", "z", "1")]


def test_unknown_fields_and_empty_event_name() -> None:
    assert decode(b"foo: bar\nevent:\ndata: v\n\n") == [SSEEvent("message", "v")]


def test_blank_lines_without_data_dispatch_nothing() -> None:
    assert decode(b"\n\n\nevent: ping\n\n\n") == []
    # ... and the event type of a data-less event does not leak into the next one
    assert decode(b"event: ping\n\ndata: x\n\n") == [SSEEvent("message", "x")]


def test_bom_is_dropped_only_at_the_start() -> None:
    assert decode(b"\xef\xbb\xbfdata: a\n\n") == [SSEEvent("message", "a")]
    assert decode(b"data: \xef\xbb\xbfa\n\n") == [SSEEvent("message", "\ufeffa")]


def test_bom_split_across_feeds() -> None:
    assert decode(b"\xef", b"\xbb\xbfdata: a\n\n") == [SSEEvent("message", "a")]


def test_empty_feeds_are_harmless() -> None:
    assert decode(b"", b"data: a\n", b"", b"\n", b"") == [SSEEvent("message", "a")]


# --- UTF-8 -------------------------------------------------------------------------------


def test_multibyte_characters_split_at_every_offset() -> None:
    text = "héllo 世界 🎉 ünïcödé"
    body = f"data: {text}\n\n".encode()
    for cut in range(len(body) + 1):
        assert decode(body[:cut], body[cut:]) == [SSEEvent("message", text)], cut


def test_invalid_utf8_is_replaced_not_raised() -> None:
    assert decode(b"data: a\xffb\n\n") == [SSEEvent("message", "a\ufffdb")]


# --- end of body -------------------------------------------------------------------------


def test_close_flushes_event_without_final_blank_line() -> None:
    assert decode(b"data: one\n\ndata: two\n") == [
        SSEEvent("message", "one"),
        SSEEvent("message", "two"),
    ]
    assert decode(b"data: one\n\ndata: two") == [
        SSEEvent("message", "one"),
        SSEEvent("message", "two"),
    ]


def test_feed_returns_only_completed_events() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"data: a\n") == []
    assert decoder.feed(b"\ndata: b") == [SSEEvent("message", "a")]
    assert decoder.close() == [SSEEvent("message", "b")]
    assert decoder.close() == []


def test_has_pending() -> None:
    decoder = SSEDecoder()
    assert not decoder.has_pending
    decoder.feed(b"da")
    assert decoder.has_pending  # part of a line
    decoder.feed(b"ta: x\n")
    assert decoder.has_pending  # a whole data line, event not dispatched yet
    assert decoder.feed(b"\n") == [SSEEvent("message", "x")]
    assert not decoder.has_pending
    decoder.feed(b"event: e\n")
    assert decoder.has_pending
    decoder.feed(b": comment\n\n")
    assert not decoder.has_pending
    decoder.feed(b"data: y")
    assert decoder.has_pending
    assert decoder.close() == [SSEEvent("message", "y")]
    assert not decoder.has_pending


# --- properties --------------------------------------------------------------------------


def _sse_entries() -> list[CorpusEntry]:
    entries = []
    for provider in SSE_PROVIDERS:
        for path in corpus_files(provider):
            entry = load_corpus_entry(path)
            ctype = entry.response_headers.get("content-type", "")
            if entry.status == 200 and ctype.startswith("text/event-stream"):
                entries.append(entry)
    return entries


_ENTRIES = _sse_entries()


def _require_corpus() -> None:
    reason = f"corpus not found at {corpus_dir()} (set METALLM_CORPUS)"
    if os.environ.get("CI") == "true":
        pytest.fail(reason)
    pytest.skip(reason)


def test_corpus_has_sse_streams_of_every_provider() -> None:
    if not _ENTRIES:
        _require_corpus()
    assert {e.provider for e in _ENTRIES} == set(SSE_PROVIDERS)


@pytest.mark.parametrize("entry", _ENTRIES or [None], ids=lambda e: e.name if e else "none")
@settings(max_examples=60, deadline=None)
@given(points=st.lists(st.integers(min_value=0), max_size=40))
def test_corpus_streams_split_anywhere(entry: CorpusEntry | None, points: list[int]) -> None:
    if entry is None:
        _require_corpus()
        return
    body = entry.body_bytes
    whole = decode(body)
    assert whole, "a recorded stream decodes to events"
    assert all(e.data for e in whole)
    assert decode(*split_at(body, points)) == whole


@pytest.mark.parametrize("entry", _ENTRIES or [None], ids=lambda e: e.name if e else "none")
def test_corpus_streams_byte_by_byte(entry: CorpusEntry | None) -> None:
    if entry is None:
        _require_corpus()
        return
    body = entry.body_bytes
    assert decode(*(body[i : i + 1] for i in range(len(body)))) == decode(body)


_names = st.text(alphabet="abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=12)
_ids = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-", max_size=10)
# Any encodable text but CR (a CR inside data can only be sent as a line break, like LF).
_data = st.text(alphabet=st.characters(codec="utf-8", exclude_characters="\r"), max_size=40)
_event = st.tuples(st.none() | _names, _data, st.none() | _ids)


def _encode(events: list[tuple[str | None, str, str | None]], eol: str) -> bytes:
    out = []
    for name, data, event_id in events:
        if name is not None:
            out.append(f"event: {name}{eol}")
        out.extend(f"data: {line}{eol}" for line in data.split("\n"))
        if event_id is not None:
            out.append(f"id: {event_id}{eol}")
        out.append(eol)
    return "".join(out).encode("utf-8")


@settings(max_examples=300, deadline=None)
@given(
    events=st.lists(_event, max_size=8),
    eol=st.sampled_from(["\n", "\r", "\r\n"]),
    points=st.lists(st.integers(min_value=0), max_size=20),
)
def test_random_events_round_trip(
    events: list[tuple[str | None, str, str | None]], eol: str, points: list[int]
) -> None:
    expected, last_id = [], None
    for name, data, event_id in events:
        last_id = event_id if event_id is not None else last_id
        expected.append(SSEEvent(name or "message", data, last_id, None))
    assert decode(*split_at(_encode(events, eol), points)) == expected


@pytest.mark.parametrize(
    "body",
    [
        b'event: response.output_text.delta\ndata: {"delta": "hi"}\n\n',
        b"event: \ndata: x\n\n",  # an empty type is "message"
        b"event:  spaced\ndata: x\n\n",  # only one leading space goes
        b"event: t\ndata: a\ndata: b\n\n",  # two data lines: the general path
        b"event: t\nid: 7\ndata: a\n\n",
        b"event: t\ndata: caf\xc3\xa9 \xe2\x9c\x93\n\n",
    ],
)
def test_one_event_read_with_a_type_decodes_as_the_general_path(body: bytes) -> None:
    """A read of exactly one ``event:``/``data:`` event (the fast path of Anthropic's and the
    Responses API's streams) gives what the same bytes give split byte by byte."""
    assert decode(body) == decode(*[body[i : i + 1] for i in range(len(body))])
    # after a pending event, the read is not taken whole: the pending part joins it
    assert decode(b"data: pending\n", body)[0].data.startswith("pending")

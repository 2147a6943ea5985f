"""ChatCompletionStream and its async twin, built from an OpenedStream without a network.

Mirrors ``src/metallm/streams.py`` and the ``StreamTracker`` of ``src/metallm/_call.py``: the
chunks a stream yields, ``final_response()``, how the call ends (exactly once: drained, closed,
failed, an exception in the user's ``with`` block, garbage-collected), ``on_complete``, the
release of the source, the timings, ``on_chunk`` and ``wrap_stream`` hooks. The sources are a
custom provider's chunk iterator or a stand-in HTTP handle read by the real OpenAI decoder.
Every case runs sync and async through the same assertions (the ``kit`` fixture).
"""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Iterator
from typing import Any

import pytest

import metallm
from _helpers import MODES
from _stream_kit import (
    BODY,
    KEY,
    Driver,
    Hook,
    Kit,
    Source,
    accumulated,
    chunk_event,
    chunks_of,
    opened_stream,
    read_then_raise,
    split,
    sse,
)
from metallm import streams
from metallm.streams import AsyncChatCompletionStream
from metallm.types import ChatCompletionChunk, ChunkChoice, Delta


@pytest.fixture(params=MODES)
def kit(request: pytest.FixtureRequest) -> Iterator[Kit]:
    made = Kit(request.param)
    yield made
    made.shutdown()


def test_iteration_yields_the_chunks_and_drains_complete(kit: Kit) -> None:
    items = chunks_of("Hel", "lo")
    hook = Hook()
    s, source = kit.source(items, hook)
    assert s.drain() == items
    assert s.stream.finished
    info, response, error = hook.end
    assert info.end_reason == "complete" and error is None
    assert response == accumulated(items)
    assert response.content == "Hello" and response.provider == "fake"
    assert source.closes == 1
    s.close()  # closing a drained stream neither ends the call again nor re-releases
    assert len(hook.ends) == 1 and source.closes == 1


def test_final_response_drains_the_rest_first(kit: Kit) -> None:
    items = chunks_of("a", "b", "c")
    hook = Hook()
    s, source = kit.source(items, hook)
    assert s.next() is items[0]
    final = s.final()
    assert source.pulled == len(items)
    assert final == accumulated(items)
    assert final.usage is not None and final.usage.total_tokens == 6
    assert hook.end[0].end_reason == "complete"
    assert s.final() == final  # again: no more reading, same answer


def test_the_requests_model_fills_in_when_no_chunk_names_one(kit: Kit) -> None:
    items = [ChatCompletionChunk(choices=[ChunkChoice(delta=Delta(content="x"))])]
    s, _ = kit.source(items, Hook())
    assert s.final().model == "req-model"


def test_closed_early_ends_the_call_once_as_closed(kit: Kit) -> None:
    hook = Hook()
    done: list[Any] = []
    s, source = kit.source(chunks_of("a", "b", "c"), hook, done.append)
    s.next()
    s.close()
    s.close()  # idempotent
    info, response, error = hook.end
    assert info.end_reason == "closed" and error is None
    assert response.content == "a"
    assert s.final().content == "a"  # what was read before closing
    assert source.closes == 1
    assert done == []  # on_complete runs only when drained


def test_an_error_from_the_source_ends_the_call_as_error(kit: Kit) -> None:
    cut = metallm.StreamError(f"connection cut (key {KEY})", provider="fake")
    hook = Hook()
    done: list[Any] = []
    s, source = kit.source([*chunks_of("a")[:1], cut], hook, done.append)
    s.next()
    with pytest.raises(metallm.StreamError) as info:
        s.next()
    assert info.value is cut
    assert KEY not in str(cut)  # scrubbed of the client's secrets
    end_info, response, error = hook.end
    assert end_info.end_reason == "error" and error is cut
    assert response.content == "a"
    with pytest.raises(metallm.StreamError) as again:
        s.final()
    assert again.value is cut
    assert source.closes == 1 and done == []


def test_an_exception_in_the_users_with_block_ends_the_call_as_error(kit: Kit) -> None:
    hook = Hook()
    done: list[Any] = []
    s, source = kit.source(chunks_of("a", "b"), hook, done.append)

    with pytest.raises(KeyError):
        s.within(read_then_raise(KeyError("user bug")))
    info, _, error = hook.end
    assert info.end_reason == "error"
    assert isinstance(error, KeyError) and error.args == ("user bug",)
    assert source.closes == 1 and done == []


def test_leaving_the_with_block_closes(kit: Kit) -> None:
    hook = Hook()
    s, source = kit.source(chunks_of("a", "b"), hook)
    s.within(read_then_raise(None))
    assert hook.end[0].end_reason == "closed"
    assert source.closes == 1


def test_on_complete_runs_once_when_drained(kit: Kit) -> None:
    items = chunks_of("x", "y")
    done: list[metallm.ChatCompletionResponse] = []
    s, _ = kit.source(items, Hook(), done.append)
    s.drain()
    assert done == [accumulated(items)]
    assert s.final() == done[0]
    assert len(done) == 1


def test_an_on_complete_error_surfaces_from_the_iteration_that_reached_the_end(kit: Kit) -> None:
    def fail(response: metallm.ChatCompletionResponse) -> None:
        raise ValueError(f"store failed for {response.content}")

    hook = Hook()
    s, _ = kit.source(chunks_of("a", "b"), hook, fail)
    s.next()
    s.next()
    s.next()  # the last chunk (finish and usage) is still delivered
    with pytest.raises(ValueError, match="store failed for ab"):
        s.next()
    assert hook.end[0].end_reason == "complete"


def _end_by(s: Driver, how: str) -> None:
    if how == "drain":
        s.drain()
    elif how == "close":
        s.next()
        s.close()
    elif how == "error":
        with pytest.raises(metallm.StreamError):
            s.drain()
    else:
        with pytest.raises(RuntimeError):
            s.within(read_then_raise(RuntimeError("user bug")))


@pytest.mark.parametrize("how", ["drain", "close", "error", "with-error"])
def test_the_source_is_released_exactly_once(kit: Kit, how: str) -> None:
    items: list[Any] = chunks_of("a", "b")
    if how == "error":
        items.insert(1, metallm.StreamError("cut"))
    hook = Hook()
    s, source = kit.source(items, hook)
    _end_by(s, how)
    s.close()
    s.close()
    assert len(hook.ends) == 1
    assert source.closes == 1


@pytest.mark.parametrize("how", ["drain", "close"])
def test_a_source_that_is_its_own_iterator_is_released_exactly_once(kit: Kit, how: str) -> None:
    # The Provider protocol: the stream is "any iterator of chunks"; if it has close(), the
    # client calls it when the user closes or abandons the stream. An iterator's __iter__
    # returns itself, so the stream's iterator and its source are one object here.
    hook = Hook()
    s, source = kit.source(chunks_of("a", "b"), hook, self_iter=True)
    _end_by(s, how)
    s.close()
    assert len(hook.ends) == 1
    assert source.closes == 1


def test_timings_are_filled(kit: Kit) -> None:
    items = chunks_of("a", "b", "c", "d")
    hook = Hook()
    s, _ = kit.source(items, hook)
    s.drain()
    info = hook.end[0]
    assert info.streaming and info.is_async is (kit.mode == "async")
    assert info.time_to_first_chunk is not None
    assert 0 <= info.time_to_first_chunk <= info.elapsed
    assert len(info.chunk_gaps) == len(items) - 1
    assert all(gap >= 0 for gap in info.chunk_gaps)


def test_on_chunk_hooks_see_every_chunk(kit: Kit) -> None:
    items = chunks_of("a", "b", "c")
    hook = Hook()
    s, _ = kit.source(items, hook)
    got = s.drain()
    assert hook.seen == got == items
    assert all(a is b for a, b in zip(hook.seen, items, strict=True))


def test_a_hooks_wrap_stream_replaces_the_iterator(kit: Kit) -> None:
    def shout(c: ChatCompletionChunk) -> list[ChatCompletionChunk]:
        if c.choices and c.choices[0].delta.content == "skip":
            return []
        return [c.model_copy(update={"choices": [_upper(ch) for ch in c.choices]})]

    hook = Hook(shout)
    s, source = kit.source(chunks_of("ab", "skip", "cd"), hook)
    got = s.drain()
    assert [c.choices[0].delta.content for c in got] == ["AB", "CD", None]
    assert hook.seen == got
    info, response, _ = hook.end
    assert response.content == "ABCD" == s.final().content
    assert len(info.chunk_gaps) == len(got) - 1
    assert source.closes == 1


def _upper(ch: ChunkChoice) -> ChunkChoice:
    content = ch.delta.content
    delta = ch.delta.model_copy(update={"content": content.upper() if content else content})
    return ch.model_copy(update={"delta": delta})


def test_garbage_collected_without_close() -> None:
    hook = Hook()
    done: list[Any] = []
    s, source = Kit("sync").source(chunks_of("a", "b"), hook, done.append)
    s.next()
    del s
    gc.collect()
    info, response, error = hook.end
    assert info.end_reason == "garbage_collected"
    assert isinstance(error, metallm.StreamError)
    assert response.content == "a"
    assert source.closes == 1 and done == []


def test_async_garbage_collected_without_close() -> None:
    hook = Hook()
    source = Source(chunks_of("a", "b"))

    async def go() -> None:
        s = AsyncChatCompletionStream(opened_stream("async", hook, source=source))
        await s.__anext__()
        del s
        gc.collect()
        await asyncio.gather(*list(streams._PENDING))  # the close task it left behind

    asyncio.run(go())
    info, response, error = hook.end
    assert info.end_reason == "garbage_collected"
    assert isinstance(error, metallm.StreamError)
    assert response.content == "a"
    assert source.closes == 1


@pytest.mark.parametrize("size", [1, 7, 10_000])
def test_an_http_stream_is_decoded_as_it_arrives(kit: Kit, size: int) -> None:
    hook = Hook()
    s, handle = kit.http(split(BODY, size), hook)
    got = s.drain()
    assert [c.choices[0].delta.content for c in got if c.choices] == ["Hé", "llo", None]
    final = s.final()
    assert final.content == "Héllo" and final.id == "chatcmpl-9"
    assert final.choices[0].finish_reason == "stop"
    assert final.usage is not None and final.usage.total_tokens == 11
    assert hook.end[0].end_reason == "complete"
    s.close()
    assert handle.closes == 1


def test_an_http_stream_cut_before_done_raises(kit: Kit) -> None:
    hook = Hook()
    s, handle = kit.http(split(sse(chunk_event("partial"), done=False), 5), hook)
    assert s.next().choices[0].delta.content == "partial"
    with pytest.raises(metallm.StreamError):
        s.next()
    info, response, error = hook.end
    assert info.end_reason == "error" and isinstance(error, metallm.StreamError)
    assert response.content == "partial"
    assert handle.closes == 1


def test_a_transport_failure_mid_stream_raises(kit: Kit) -> None:
    hook = Hook()
    fail = metallm.StreamError("stream interrupted (ReadError)", provider="openai")
    s, handle = kit.http([sse(chunk_event("a"), done=False)], hook, fail=fail)
    with pytest.raises(metallm.StreamError) as info:
        s.drain()
    assert info.value is fail and hook.end[2] is fail
    assert handle.closes == 1


def test_an_error_event_in_an_http_stream_raises_an_api_error(kit: Kit) -> None:
    hook = Hook()
    err = {"error": {"message": f"bad key {KEY}", "type": "server_error", "code": None}}
    s, handle = kit.http([sse(chunk_event("a"), err)], hook)
    with pytest.raises(metallm.APIError) as info:
        s.drain()
    assert KEY not in str(info.value)
    assert hook.end[0].end_reason == "error" and hook.end[2] is info.value
    assert handle.closes == 1


def test_an_http_stream_closed_early_releases_the_handle_once(kit: Kit) -> None:
    hook = Hook()
    s, handle = kit.http(split(BODY, 3), hook)
    s.next()
    s.close()
    s.close()
    assert hook.end[0].end_reason == "closed"
    assert handle.closes == 1

"""Recorder modes, the ``with Recorder(...)`` form, and bad settings, over real sockets.

``replay_or_record`` answers what is recorded without I/O and records only what is missing;
``replay`` never sends and names a missing recording; ``record`` replaces a request's earlier
recordings. A block records the calls made in its context by any client (made before it or
inside it, tasks it starts), nothing outside it, and leaves the plain transport methods in place
once closed. Bad settings are a ConfigurationError before any I/O; a recording that cannot be
written never breaks the call.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import metallm
from _helpers import MODES
from _recorder_helpers import CLOSED, Call, client_kwargs, outcome
from metallm._transport import AsyncTransport, SyncTransport
from metallm.testing import FakeLLMServer, FakeProvider, Recorder, ScriptedReply
from metallm.testing.corpus import load_corpus_entry

HELLO = Call("chat", "gpt-4o-mini")
OTHER = Call("chat", "gpt-4o-mini", [metallm.Message(role="user", content="Something else")])


@pytest.fixture(scope="module")
def server() -> Iterator[FakeLLMServer]:
    with FakeLLMServer() as s:
        yield s


@pytest.fixture(autouse=True)
def _clean(server: FakeLLMServer) -> None:
    server.clear()


def kw(server: FakeLLMServer, **extra: Any) -> dict[str, Any]:
    return client_kwargs("openai", server.url, **extra)


def plain_methods_in_place() -> bool:
    return all(
        vars(cls)["request"] is vars(cls)["_send"] and vars(cls)["stream"] is vars(cls)["_open"]
        for cls in (SyncTransport, AsyncTransport)
    )


@pytest.mark.parametrize("mode", MODES)
def test_replay_or_record_records_only_what_is_missing(
    server: FakeLLMServer, mode: str, tmp_path: Path
) -> None:
    server.enqueue(ScriptedReply(text="first"))
    first = outcome(mode, kw(server, recorder=Recorder(tmp_path)), HELLO)
    assert len(server.requests) == 1

    server.enqueue(ScriptedReply(text="second"))
    both = Recorder(tmp_path, mode="replay_or_record")
    assert outcome(mode, kw(server, recorder=both), HELLO) == first  # replayed: no request
    assert len(server.requests) == 1 and both.replayed == 1
    other = outcome(mode, kw(server, recorder=both), OTHER)  # missing: sent and recorded
    assert other[1]["choices"][0]["message"]["content"] == "second"
    assert len(server.requests) == 2 and len(both.recorded) == 1

    again = Recorder(tmp_path, mode="replay_or_record")
    assert outcome(mode, kw(server, recorder=again), HELLO) == first
    assert outcome(mode, kw(server, recorder=again), OTHER) == other
    assert len(server.requests) == 2 and again.replayed == 2 and again.recorded == []


@pytest.mark.parametrize("mode", MODES)
def test_replay_or_record_keeps_a_new_request_live_for_its_retries(
    server: FakeLLMServer, mode: str, tmp_path: Path
) -> None:
    server.enqueue(ScriptedReply.error(503, "busy"), ScriptedReply(text="after the retry"))
    recorder = Recorder(tmp_path, mode="replay_or_record")
    result = outcome(mode, kw(server, recorder=recorder, max_retries=1), HELLO)
    assert result[0] == "ok" and len(server.requests) == 2
    assert [load_corpus_entry(p).status for p in recorder.recorded] == [503, 200]


@pytest.mark.parametrize("mode", MODES)
def test_replay_mode_never_sends_and_names_what_is_missing(
    server: FakeLLMServer, mode: str, tmp_path: Path
) -> None:
    outcome(mode, kw(server, recorder=Recorder(tmp_path)), HELLO)
    offline = Recorder(tmp_path, mode="replay")
    result = outcome(mode, client_kwargs("openai", CLOSED, recorder=offline), OTHER)
    assert result[:2] == ("error", "ConfigurationError")
    assert "no recording of POST /v1/chat/completions" in result[2]
    assert "mode='replay_or_record'" in result[2]
    assert len(server.requests) == 1


def test_recording_a_request_again_replaces_its_earlier_recordings(
    server: FakeLLMServer, tmp_path: Path
) -> None:
    server.enqueue(ScriptedReply.error(429, "wait", headers={"retry-after-ms": "1"}))
    server.enqueue(ScriptedReply(text="old"), ScriptedReply(text="new"))
    outcome("sync", kw(server, recorder=Recorder(tmp_path), max_retries=1), HELLO)
    assert len(list(tmp_path.glob("*.json"))) == 2
    again = Recorder(tmp_path)
    outcome("sync", kw(server, recorder=again), HELLO)
    assert sorted(tmp_path.glob("*.json")) == again.recorded
    assert "new" in load_corpus_entry(again.recorded[0]).body_text


def test_a_block_records_clients_made_before_and_inside_it(
    server: FakeLLMServer, tmp_path: Path
) -> None:
    before = metallm.Client(**kw(server))
    assert plain_methods_in_place()
    with Recorder(tmp_path / "a") as recorder:
        assert not plain_methods_in_place()
        before.create_chat_completion(HELLO.request())
        with metallm.Client(**kw(server)) as inside:
            inside.create_chat_completion(OTHER.request())
    assert plain_methods_in_place()
    before.create_chat_completion(HELLO.request())  # after the block: not recorded
    before.close()
    assert len(recorder.recorded) == 2 and len(server.requests) == 3


def test_blocks_nest_and_a_clients_own_recorder_wins(server: FakeLLMServer, tmp_path: Path) -> None:
    own = Recorder(tmp_path / "own")
    with Recorder(tmp_path / "outer") as outer:
        with Recorder(tmp_path / "inner") as inner, metallm.Client(**kw(server)) as client:
            client.create_chat_completion(HELLO.request())
        with metallm.Client(**kw(server, recorder=own)) as client:
            client.create_chat_completion(HELLO.request())
        with metallm.Client(**kw(server)) as client:
            client.create_chat_completion(OTHER.request())
    assert (len(inner.recorded), len(own.recorded), len(outer.recorded)) == (1, 1, 1)
    assert plain_methods_in_place()


def test_a_block_records_the_tasks_it_starts_but_not_other_threads(
    server: FakeLLMServer, tmp_path: Path
) -> None:
    async def calls() -> None:
        async with metallm.AsyncClient(**kw(server)) as client:
            await asyncio.gather(
                *(client.create_chat_completion(HELLO.request()) for _ in range(3)),
                client.create_chat_completion(OTHER.request()),
            )

    outside: list[object] = []
    started, release = threading.Event(), threading.Event()

    def other_thread() -> None:
        started.set()
        release.wait(10)
        with metallm.Client(**kw(server)) as client:
            outside.append(client.create_chat_completion(OTHER.request()))

    thread = threading.Thread(target=other_thread)
    thread.start()
    started.wait(10)
    with Recorder(tmp_path) as recorder:
        asyncio.run(calls())
        release.set()
        thread.join(10)
    assert outside and len(server.requests) == 5
    assert len(recorder.recorded) == 4  # three of one request (sequence 1..3) and one other
    names = [p.name for p in recorder.recorded]
    assert sum(n.endswith(("-2.json", "-3.json")) for n in names) == 2


def test_a_block_records_routed_calls(server: FakeLLMServer, tmp_path: Path) -> None:
    target = metallm.Target(model="gpt-4o-mini", **kw(server))
    with metallm.Router(targets=[target], hooks=[]) as router, Recorder(tmp_path) as recorder:
        router.create_chat_completion(messages=[metallm.Message(role="user", content="hi")])
    assert len(recorder.recorded) == 1


def test_a_router_target_takes_its_own_recorder(server: FakeLLMServer, tmp_path: Path) -> None:
    recorder = Recorder(tmp_path)
    target = metallm.Target(model="gpt-4o-mini", recorder=recorder, **kw(server))
    with metallm.Router(targets=[target], hooks=[]) as router:
        router.create_chat_completion(messages=[metallm.Message(role="user", content="hi")])
    assert len(recorder.recorded) == 1


def test_a_recording_that_cannot_be_written_never_breaks_the_call(
    server: FakeLLMServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    recorder = Recorder(blocker / "cassettes")
    with caplog.at_level(logging.ERROR, logger="metallm.testing"):
        result = outcome("sync", kw(server, recorder=recorder), HELLO)
    assert result[0] == "ok" and recorder.recorded == []
    assert "Recorder could not record POST /v1/chat/completions" in caplog.text


@pytest.mark.parametrize(
    ("make", "needle"),
    [
        (lambda p: Recorder(p, mode="playback"), "mode='playback' is not one of"),  # type: ignore[arg-type]
        (lambda p: Recorder(p / "missing", mode="replay"), "does not exist"),
        (lambda p: Recorder(p / "f.json"), "is a file"),
        (lambda p: Recorder(p, keep_headers=["Authorization"]), "cannot keep authorization"),
        (lambda p: Recorder(p, secrets=[""]), "non-empty"),
        (lambda p: Recorder(""), "needs a folder path"),
    ],
)
def test_bad_recorder_settings_fail_at_once(make: Any, needle: str, tmp_path: Path) -> None:
    (tmp_path / "f.json").write_text("{}")
    with pytest.raises(metallm.ConfigurationError, match=None) as caught:
        make(tmp_path)
    assert needle in str(caught.value)


@pytest.mark.parametrize("mode", MODES)
def test_a_client_refuses_what_cannot_record_before_any_io(
    server: FakeLLMServer, mode: str, tmp_path: Path
) -> None:
    client_class = metallm.Client if mode == "sync" else metallm.AsyncClient
    with pytest.raises(metallm.ConfigurationError, match=r"must be a metallm\.testing\.Recorder"):
        client_class(**kw(server, recorder=object()))
    fake = FakeProvider(["hi"])
    with pytest.raises(metallm.ConfigurationError, match="brings its own I/O"):
        client_class(custom_provider=fake, recorder=Recorder(tmp_path))
    assert server.requests == []

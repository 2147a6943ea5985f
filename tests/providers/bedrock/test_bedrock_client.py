"""The Bedrock codec through the real client over real sockets, sync and async.

``BedrockProvider`` is injected as ``custom_provider`` (the way users get Bedrock) and runs on
the client's own transport against FakeLLMServer: the corpus replayed, the SigV4 signature of
the recorded request verified with botocore, scripted Converse and ConverseStream replies
(binary event-stream frames from ``wire_bedrock``) accumulating to equal responses, a whole
tool-using conversation, HTTP and in-stream errors, cut streams, and the secret key kept out
of every error and log.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from typing import Any

import pytest
from test_bedrock_codec import AKID, SECRET, verify_sigv4

import metallm
import metallm.testing.wire_bedrock  # registers the renderer
from _helpers import MODES, complete, require_corpus, stream, user
from metallm.providers.bedrock import BedrockProvider
from metallm.testing.corpus import corpus_files, load_corpus_entry
from metallm.testing.fake_server import FakeLLMServer
from metallm.testing.script import ScriptedReply, ScriptedToolCall, ScriptedUsage

FAST = metallm.RetryPolicy(initial_backoff=0.01, max_backoff=0.2)
MODEL = "us.anthropic.claude-3-7-sonnet-20250219-v1:0"


@pytest.fixture(scope="module")
def server() -> Any:
    with FakeLLMServer() as s:
        yield s


@pytest.fixture(autouse=True)
def _clean(server: FakeLLMServer) -> None:
    server.clear()


def provider(server: FakeLLMServer) -> BedrockProvider:
    return BedrockProvider(
        region="us-east-1",
        endpoint_url=server.url,
        aws_access_key_id=AKID,
        aws_secret_access_key=SECRET,
    )


def kw(server: FakeLLMServer, codec: BedrockProvider | None = None, **extra: Any) -> dict[str, Any]:
    retry = None if "max_retries" in extra else FAST
    return {"custom_provider": codec or provider(server), "retry": retry, **extra}


def req(*messages: metallm.Message, **fields: Any) -> metallm.ChatCompletionRequest:
    return metallm.ChatCompletionRequest(
        model=MODEL, messages=list(messages) or [user("hi")], **fields
    )


def check_signed(server: FakeLLMServer) -> None:
    recorded = server.last_request
    fields = verify_sigv4(
        recorded.method, server.url + recorded.path, recorded.headers, recorded.body
    )
    assert fields["Credential"].startswith(f"{AKID}/")
    assert "x-amz-date" in recorded.headers


@pytest.mark.parametrize("mode", MODES)
def test_corpus_replays_through_client(server: FakeLLMServer, mode: str) -> None:
    folder = require_corpus("bedrock")
    for path in corpus_files("bedrock", folder.parent, operation="chat"):
        entry = load_corpus_entry(path)
        server.clear()
        server.replay(entry)
        model = entry.request_path.split("/")[2].replace("%3A", ":")
        request = metallm.ChatCompletionRequest(model=model, messages=[user("replayed")])
        if entry.status >= 400:
            with pytest.raises(metallm.BadRequestError) as info:
                complete(mode, kw(server, max_retries=0), request)
            assert info.value.status_code == 400
            assert info.value.message == json.loads(entry.body_text)["message"]
            assert SECRET not in str(info.value)
        else:
            resp = complete(mode, kw(server), request)
            raw = json.loads(entry.body_text)
            usage = raw["usage"]
            assert resp.usage is not None
            assert resp.usage.total_tokens == usage["totalTokens"]
            assert resp.usage.cached_tokens == usage["cacheReadInputTokens"]
            texts = [b["text"] for b in raw["output"]["message"]["content"] if "text" in b]
            assert resp.choices[0].message.content == "".join(texts)
        assert server.last_request.path == entry.request_path
        check_signed(server)


REPLIES = {
    "text": ScriptedReply(text="The capital of France is Paris.", chunk_size=5),
    "reasoning": ScriptedReply(text="42", reasoning="Let me think about it carefully."),
    "parallel_tools": ScriptedReply(
        text="Checking both.",
        tool_calls=[
            ScriptedToolCall("get_weather", '{"city": "Paris", "unit": "c"}', id="tooluse_w"),
            ScriptedToolCall("get_time", '{"tz": "Europe/Paris"}', id="tooluse_t"),
            ScriptedToolCall("noop", "{}", id="tooluse_n"),
        ],
        chunk_size=4,
    ),
    "length": ScriptedReply(
        text="This answer was cut",
        finish_reason="length",
        usage=ScriptedUsage(prompt_tokens=50, completion_tokens=5, cached_tokens=20),
    ),
}


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", sorted(REPLIES))
def test_streamed_and_whole_replies_accumulate_equal(
    server: FakeLLMServer, mode: str, name: str
) -> None:
    reply = REPLIES[name]
    server.enqueue(reply, reply)
    whole = complete(mode, kw(server), req(user("question one two")))
    check_signed(server)
    assert server.last_request.path.endswith("/converse")
    chunks, streamed = stream(mode, kw(server), req(user("question one two")))
    check_signed(server)
    assert server.last_request.path.endswith("/converse-stream")
    assert server.last_request.headers["accept"] == "application/vnd.amazon.eventstream"
    assert len(chunks) > 3
    a, b = whole.choices[0], streamed.choices[0]
    assert a.message.content == b.message.content == (reply.content or a.message.content)
    assert a.message.reasoning_content == b.message.reasoning_content == reply.reasoning
    assert a.finish_reason == b.finish_reason == reply.resolved_finish_reason()
    assert a.message.tool_calls == b.message.tool_calls
    assert [(c.id, c.function.name, c.function.arguments) for c in a.message.tool_calls or []] == [
        (c.id, c.name, c.arguments) for c in reply.tool_calls
    ]
    assert whole.usage == streamed.usage
    assert whole.usage is not None
    assert whole.usage.total_tokens == whole.usage.prompt_tokens + whole.usage.completion_tokens
    assert streamed.model == MODEL and whole.provider == streamed.provider == "bedrock"


@pytest.mark.parametrize("mode", MODES)
def test_tool_conversation(server: FakeLLMServer, mode: str) -> None:
    tool = metallm.Tool(
        function=metallm.FunctionDefinition(
            name="get_user_country", parameters={"type": "object", "properties": {}}
        )
    )
    codec = provider(server)
    first = ScriptedReply(
        text="I'll check.",
        reasoning="Need the country first.",
        tool_calls=[ScriptedToolCall("get_user_country", "{}", id="tooluse_c1")],
    )
    server.enqueue(first, ScriptedReply(text="The largest city is Mexico City."))
    question = user("What is the largest city in the user country?")
    resp = complete(mode, kw(server, codec), req(question, tools=[tool]))
    assistant = resp.choices[0].message
    assert resp.choices[0].finish_reason == "tool_calls"
    (call,) = assistant.tool_calls or []
    result = metallm.Message(
        role=metallm.Role.TOOL, tool_call_id=call.id, content='{"country": "Mexico"}'
    )
    final = complete(mode, kw(server, codec), req(question, assistant, result, tools=[tool]))
    assert final.choices[0].message.content == "The largest city is Mexico City."
    assert final.choices[0].finish_reason == "stop"
    sent = server.last_request.json["messages"]
    assert [m["role"] for m in sent] == ["user", "assistant", "user"]
    thought = sent[1]["content"][0]["reasoningContent"]["reasoningText"]
    assert thought["text"] == "Need the country first." and thought["signature"]
    assert sent[1]["content"][2] == {
        "toolUse": {"toolUseId": "tooluse_c1", "name": "get_user_country", "input": {}}
    }
    assert sent[2]["content"] == [
        {"toolResult": {"toolUseId": "tooluse_c1", "content": [{"json": {"country": "Mexico"}}]}}
    ]
    check_signed(server)


@pytest.mark.parametrize("mode", MODES)
def test_http_errors_are_typed(server: FakeLLMServer, mode: str) -> None:
    server.enqueue(ScriptedReply.error(429, f"Too many requests {SECRET}"))
    with pytest.raises(metallm.RateLimitError) as info:
        complete(mode, kw(server, max_retries=0), req())
    err = info.value
    assert err.type == "ThrottlingException" and err.status_code == 429
    assert err.request_id and SECRET not in str(err) and SECRET not in repr(err)
    server.enqueue(ScriptedReply.error(400, "Malformed input request", type="ValidationException"))
    with pytest.raises(metallm.BadRequestError):
        stream(mode, kw(server, max_retries=0), req())


@pytest.mark.parametrize("mode", MODES)
def test_in_stream_exception_and_cut_stream(
    server: FakeLLMServer, mode: str, caplog: pytest.LogCaptureFixture
) -> None:
    reply = ScriptedReply(text="partial answer here", error_message=f"slow down {SECRET}")
    server.enqueue(dataclasses.replace(reply, error_event_after=3))
    with (
        caplog.at_level(logging.DEBUG, logger="metallm"),
        pytest.raises(metallm.RateLimitError) as info,
    ):
        stream(mode, kw(server, max_retries=0), req())
    assert info.value.type == "throttlingException"
    assert SECRET not in str(info.value) and SECRET not in caplog.text
    server.enqueue(dataclasses.replace(reply, cut_after=3))
    with pytest.raises(metallm.StreamError):
        stream(mode, kw(server, max_retries=0), req())

"""The Bedrock Converse codec, pure: corpus replies field by field, request bodies, SigV4,
ConverseStream event-stream decoding (split at arbitrary byte offsets), errors, malformed input.

The codec is built only on public names; streams are rendered by ``wire_bedrock`` (the
corpus has no ConverseStream recording, since its bodies are binary).
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import metallm
import metallm.testing.wire_bedrock  # registers the renderer
from _helpers import require_corpus
from metallm import ChatCompletionRequest, ImagePart, Message, Role, TextPart
from metallm.provider import HTTPProvider, HTTPResponse, ProviderSettings
from metallm.providers.bedrock import BedrockProvider, create
from metallm.testing.corpus import corpus_files, load_corpus_entry
from metallm.testing.script import ScriptedReply, ScriptedToolCall, ScriptedUsage
from metallm.testing.wire_bedrock import encode_frame, render_bedrock

AKID = "AKIDEXAMPLE"
SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
TOKEN = "FwoGZXIvYXdzEXAMPLE-session-token-0123456789"
MODEL = "us.anthropic.claude-3-7-sonnet-20250219-v1:0"


def codec(**kw: Any) -> BedrockProvider:
    args: dict[str, Any] = {"aws_access_key_id": AKID, "aws_secret_access_key": SECRET}
    args.update(kw)
    return BedrockProvider(region="us-east-1", **args)


def user(text: str) -> Message:
    return Message(role=Role.USER, content=text)


def entry_response(entry: Any, headers: dict[str, str] | None = None) -> HTTPResponse:
    return HTTPResponse(
        entry.status, {**entry.response_headers, **(headers or {})}, entry.body_bytes
    )


def verify_sigv4(method: str, url: str, headers: dict[str, str], body: bytes) -> dict[str, str]:
    """Recompute the SigV4 signature with botocore from what was sent; return its fields."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    lower = {k.lower(): v for k, v in headers.items()}
    scheme, _, rest = lower["authorization"].partition(" ")
    assert scheme == "AWS4-HMAC-SHA256"
    fields = dict(part.strip().split("=", 1) for part in rest.split(","))
    signed = fields["SignedHeaders"].split(";")
    assert {"host", "x-amz-date", "content-type"} <= set(signed)
    # host comes from the URL when the headers leave it to the transport (as the codec does)
    sent = {h: lower[h] for h in signed if h != "host" or h in lower}
    aws = AWSRequest(method=method, url=url, data=body, headers=sent)
    aws.context["timestamp"] = lower["x-amz-date"]
    auth = SigV4Auth(Credentials(AKID, SECRET), "bedrock", "us-east-1")
    assert auth.signed_headers(auth.headers_to_sign(aws)) == fields["SignedHeaders"]
    canonical = auth.canonical_request(aws)
    expected = auth.signature(auth.string_to_sign(aws, canonical), aws)
    assert fields["Signature"] == expected
    date = lower["x-amz-date"][:8]
    assert fields["Credential"] == f"{AKID}/{date}/us-east-1/bedrock/aws4_request"
    return fields


# -- corpus ---------------------------------------------------------------------------------


def test_corpus_files_are_the_expected_ones() -> None:
    folder = require_corpus("bedrock")
    assert {p.stem for p in corpus_files("bedrock", folder.parent, operation="chat")} == {
        "converse_basic",
        "converse_tool_use_thinking",
        "error_400_invalid_model",
    }


def test_converse_basic_cache_usage() -> None:
    entry = load_corpus_entry(require_corpus("bedrock") / "converse_basic.json")
    raw = json.loads(entry.body_text)
    resp = codec().parse_response(entry_response(entry))
    usage = raw["usage"]
    assert resp.provider == "bedrock"
    (choice,) = resp.choices
    assert choice.message.content == raw["output"]["message"]["content"][0]["text"] == "5"
    assert choice.message.role == Role.ASSISTANT
    assert choice.message.tool_calls is None and choice.message.reasoning_content is None
    assert choice.finish_reason == "stop"
    assert resp.usage is not None
    # Bedrock's inputTokens leaves the cache out: 13 + 1504 + 0 is the whole prompt.
    assert resp.usage.prompt_tokens == usage["inputTokens"] + usage["cacheReadInputTokens"] == 1517
    assert resp.usage.completion_tokens == usage["outputTokens"] == 5
    assert resp.usage.total_tokens == usage["totalTokens"] == 1522
    assert resp.usage.cached_tokens == 1504
    assert resp.usage.cache_write_tokens == 0
    assert resp.usage.reasoning_tokens is None


def test_converse_tool_use_thinking() -> None:
    entry = load_corpus_entry(require_corpus("bedrock") / "converse_tool_use_thinking.json")
    blocks = json.loads(entry.body_text)["output"]["message"]["content"]
    provider = codec()
    resp = provider.parse_response(entry_response(entry))
    (choice,) = resp.choices
    thought = blocks[0]["reasoningContent"]["reasoningText"]
    assert choice.message.reasoning_content == thought["text"]
    assert choice.message.content == blocks[1]["text"]
    assert choice.finish_reason == "tool_calls"
    (call,) = choice.message.tool_calls or []
    assert call.id == blocks[2]["toolUse"]["toolUseId"] == "tooluse_W9DaUFg4Tj2cRPpndqxWSg"
    assert call.function.name == "get_user_country"
    assert json.loads(call.function.arguments) == blocks[2]["toolUse"]["input"] == {}
    assert resp.usage is not None
    assert (resp.usage.prompt_tokens, resp.usage.completion_tokens) == (397, 130)
    assert resp.usage.total_tokens == 527 and resp.usage.cached_tokens == 0
    # The signed thinking is sent back on the next turn, with its signature.
    follow = ChatCompletionRequest(
        model=MODEL, messages=[user("q"), choice.message, tool_msg(call.id, '"France"')]
    )
    body = json.loads(provider.build_request(follow, stream=False).content or b"")
    sent = body["messages"][1]["content"][0]["reasoningContent"]["reasoningText"]
    assert sent == {"text": thought["text"], "signature": thought["signature"]}


def test_corpus_request_bodies_are_what_we_build() -> None:
    entry = load_corpus_entry(require_corpus("bedrock") / "converse_tool_use_thinking.json")
    tool = metallm.Tool(
        function=metallm.FunctionDefinition(
            name="get_user_country",
            parameters={"additionalProperties": False, "properties": {}, "type": "object"},
        )
    )
    request = ChatCompletionRequest(
        model="us.anthropic.claude-3-7-sonnet-20250219-v1:0",
        messages=[user("What is the largest city in the user country?")],
        tools=[tool],
        extra={
            "additionalModelRequestFields": {"thinking": {"type": "enabled", "budget_tokens": 1024}}
        },
    )
    http = codec().build_request(request, stream=False)
    expected = {k: v for k, v in entry.request_body.items() if v != []}  # we omit empty system
    assert json.loads(http.content or b"") == expected
    assert http.url == "https://bedrock-runtime.us-east-1.amazonaws.com" + entry.request_path


@pytest.mark.parametrize(
    ("header", "cls", "etype"),
    [
        (None, metallm.BadRequestError, None),
        (
            "ValidationException:http://internal.amazon.com/",
            metallm.BadRequestError,
            "ValidationException",
        ),
    ],
)
def test_corpus_error(header: str | None, cls: type, etype: str | None) -> None:
    entry = load_corpus_entry(require_corpus("bedrock") / "error_400_invalid_model.json")
    headers = {"x-amzn-errortype": header, "x-amzn-requestid": "rid-1"} if header else {}
    err = codec().parse_error(entry_response(entry, headers))
    assert type(err) is cls
    assert err.status_code == 400 and err.provider == "bedrock"
    assert err.message == json.loads(entry.body_text)["message"]
    assert err.type == etype
    assert err.request_id == ("rid-1" if header else None)


@pytest.mark.parametrize(
    ("status", "etype", "cls"),
    [
        (429, "ThrottlingException", metallm.RateLimitError),
        (403, "AccessDeniedException", metallm.PermissionDeniedError),
        (403, "UnrecognizedClientException", metallm.PermissionDeniedError),
        (404, "ResourceNotFoundException", metallm.NotFoundError),
        (424, "ModelErrorException", metallm.InternalServerError),
        (503, "ServiceUnavailableException", metallm.InternalServerError),
    ],
)
def test_http_error_types(status: int, etype: str, cls: type) -> None:
    body = json.dumps({"message": f"boom {SECRET}"}).encode()
    err = codec().parse_error(HTTPResponse(status, {"x-amzn-errortype": etype}, body))
    assert type(err) is cls and err.status_code == status and err.type == etype
    assert SECRET not in str(err) and SECRET not in repr(err) and SECRET not in json.dumps(err.body)


# -- requests ---------------------------------------------------------------------------------


def tool_msg(call_id: str, content: str) -> Message:
    return Message(role=Role.TOOL, tool_call_id=call_id, content=content)


def test_every_supported_field_body_and_headers() -> None:
    tool = metallm.Tool(
        function=metallm.FunctionDefinition(
            name="get_weather",
            description="Weather for a city",
            parameters={"type": "object", "properties": {"city": {"type": "string"}}},
        )
    )
    call = metallm.ToolCall(
        id="tooluse_1",
        function=metallm.FunctionCall(name="get_weather", arguments='{"city":"Paris"}'),
    )
    request = ChatCompletionRequest(
        model=MODEL,
        messages=[
            Message(role=Role.SYSTEM, content="Be brief."),
            Message(
                role=Role.USER,
                content=[
                    TextPart(text="What is this?"),
                    ImagePart.from_base64("iVBORw0K", "image/png"),
                ],
            ),
            Message(role=Role.ASSISTANT, content="Let me check.", tool_calls=[call]),
            tool_msg("tooluse_1", '{"temp": 21}'),
            tool_msg("tooluse_2", "sunny"),
            user("Thanks"),
        ],
        max_tokens=256,
        temperature=0.5,
        top_p=0.9,
        top_k=40,
        stop="END",
        tools=[tool],
        tool_choice={"type": "function", "function": {"name": "get_weather"}},
        reasoning_effort="medium",
        metadata={"team": "a"},
        extra={"guardrailConfig": {"guardrailIdentifier": "g1", "guardrailVersion": "1"}},
    )
    http = codec(aws_session_token=TOKEN).build_request(request, stream=True)
    assert http.method == "POST"
    assert http.url == (
        "https://bedrock-runtime.us-east-1.amazonaws.com/model/"
        "us.anthropic.claude-3-7-sonnet-20250219-v1%3A0/converse-stream"
    )
    assert json.loads(http.content or b"") == {
        "messages": [
            {
                "role": "user",
                "content": [
                    {"text": "What is this?"},
                    {"image": {"format": "png", "source": {"bytes": "iVBORw0K"}}},
                ],
            },
            {
                "role": "assistant",
                "content": [
                    {"text": "Let me check."},
                    {
                        "toolUse": {
                            "toolUseId": "tooluse_1",
                            "name": "get_weather",
                            "input": {"city": "Paris"},
                        }
                    },
                ],
            },
            {
                "role": "user",
                "content": [
                    {"toolResult": {"toolUseId": "tooluse_1", "content": [{"json": {"temp": 21}}]}},
                    {"toolResult": {"toolUseId": "tooluse_2", "content": [{"text": "sunny"}]}},
                    {"text": "Thanks"},
                ],
            },
        ],
        "system": [{"text": "Be brief."}],
        "inferenceConfig": {
            "maxTokens": 256,
            "temperature": 0.5,
            "topP": 0.9,
            "stopSequences": ["END"],
        },
        "toolConfig": {
            "tools": [
                {
                    "toolSpec": {
                        "name": "get_weather",
                        "description": "Weather for a city",
                        "inputSchema": {"json": tool.function.parameters},
                    }
                }
            ],
            "toolChoice": {"tool": {"name": "get_weather"}},
        },
        "additionalModelRequestFields": {
            "top_k": 40,
            "thinking": {"type": "enabled", "budget_tokens": 8192},
        },
        "requestMetadata": {"team": "a"},
        "guardrailConfig": {"guardrailIdentifier": "g1", "guardrailVersion": "1"},
    }
    headers = dict(http.headers)
    assert headers["content-type"] == "application/json"
    assert headers["accept"] == "application/vnd.amazon.eventstream"
    assert headers["x-amz-security-token"] == TOKEN
    fields = verify_sigv4(http.method, http.url, headers, http.content or b"")
    assert "x-amz-security-token" in fields["SignedHeaders"].split(";")
    assert SECRET not in repr(http) and SECRET not in json.dumps(headers)


def test_signature_check_has_teeth() -> None:
    http = codec().build_request(
        ChatCompletionRequest(model=MODEL, messages=[user("hi")]), stream=False
    )
    verify_sigv4(http.method, http.url, dict(http.headers), http.content or b"")
    with pytest.raises(AssertionError):
        verify_sigv4(http.method, http.url, dict(http.headers), (http.content or b"") + b" ")


@pytest.mark.parametrize(
    ("fields", "feature"),
    [
        ({"n": 2}, "n > 1"),
        ({"seed": 1}, "seed"),
        ({"frequency_penalty": 0.1}, "frequency_penalty"),
        ({"presence_penalty": 0.1}, "presence_penalty"),
        ({"user": "u1"}, "user"),
        ({"response_format": {"type": "json_object"}}, "response_format='json_object'"),
        ({"reasoning_effort": "extreme"}, "reasoning_effort='extreme'"),
        (
            {"messages": [user("x"), Message(role=Role.USER, content="y", name="bob")]},
            "message name",
        ),
        (
            {
                "messages": [
                    Message(role=Role.USER, content=[ImagePart.from_url("https://x/a.png")])
                ]
            },
            "image URLs (send base64 data: images)",
        ),
        (
            {
                "messages": [
                    Message(role=Role.USER, content=[ImagePart.from_base64("AA", "image/tiff")])
                ]
            },
            "image type 'image/tiff'",
        ),
    ],
)
def test_unsupported_features(fields: dict[str, Any], feature: str) -> None:
    base: dict[str, Any] = {"model": MODEL, "messages": [user("hi")]}
    with pytest.raises(metallm.UnsupportedFeatureError) as info:
        codec().build_request(ChatCompletionRequest(**{**base, **fields}), stream=False)
    assert info.value.feature == feature and info.value.provider == "bedrock"


def test_tool_choice_none_is_unsupported_and_auto_required_map() -> None:
    tool = metallm.Tool(function=metallm.FunctionDefinition(name="f"))
    for choice, wire in (("auto", {"auto": {}}), ("required", {"any": {}})):
        req = ChatCompletionRequest(
            model=MODEL, messages=[user("x")], tools=[tool], tool_choice=choice
        )
        body = json.loads(codec().build_request(req, stream=False).content or b"")
        assert body["toolConfig"]["toolChoice"] == wire
        assert body["toolConfig"]["tools"][0]["toolSpec"]["inputSchema"] == {
            "json": {"type": "object", "properties": {}}
        }
    req = ChatCompletionRequest(model=MODEL, messages=[user("x")], tools=[tool], tool_choice="none")
    with pytest.raises(metallm.UnsupportedFeatureError):
        codec().build_request(req, stream=False)


def test_unsigned_reasoning_is_not_sent_back() -> None:
    msg = Message(role=Role.ASSISTANT, content="ok", reasoning_content="unknown thought")
    req = ChatCompletionRequest(model=MODEL, messages=[user("a"), msg, user("b")])
    body = json.loads(codec().build_request(req, stream=False).content or b"")
    assert body["messages"][1]["content"] == [{"text": "ok"}]


# -- the provider object --------------------------------------------------------------------


def test_provider_identity_secrets_and_factory(monkeypatch: pytest.MonkeyPatch) -> None:
    p = codec(aws_session_token=TOKEN)
    assert isinstance(p, HTTPProvider)
    assert p.name == "bedrock" and p.region == "us-east-1"
    assert p.base_url == "https://bedrock-runtime.us-east-1.amazonaws.com"
    assert p.secrets() == (SECRET, TOKEN)
    assert SECRET not in repr(p) and TOKEN not in repr(p)
    made = create(
        ProviderSettings(
            "bedrock",
            base_url="http://127.0.0.1:9/",
            extra={
                "region": "eu-west-3",
                "aws_access_key_id": AKID,
                "aws_secret_access_key": SECRET,
            },
        )
    )
    assert (made.region, made.base_url) == ("eu-west-3", "http://127.0.0.1:9")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDENV")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    monkeypatch.setenv("AWS_REGION", "ap-south-1")
    from_env = BedrockProvider()
    assert from_env.region == "ap-south-1" and from_env.secrets() == (SECRET,)
    http = from_env.build_request(
        ChatCompletionRequest(model="m", messages=[user("x")]), stream=False
    )
    assert "Credential=AKIDENV/" in http.headers["authorization"]
    with pytest.raises(metallm.ConfigurationError):
        BedrockProvider(region="us-east-1", aws_access_key_id=AKID)
    with pytest.raises(metallm.ConfigurationError, match="ProfileNotFound"):
        BedrockProvider(region="us-east-1", profile="metallm-no-such-profile")
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_REGION", "AWS_DEFAULT_REGION"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent/config")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/credentials")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    with pytest.raises(metallm.ConfigurationError, match="no region"):
        BedrockProvider(aws_access_key_id=AKID, aws_secret_access_key=SECRET)


PUBLIC_MODULES = {
    "metallm.provider",
    "metallm.types",
    "metallm.errors",
    "metallm.models",
    "metallm.embeddings",
}


def test_package_uses_only_the_public_interface() -> None:
    import ast
    from pathlib import Path

    import metallm.providers.bedrock as pkg

    for path in Path(pkg.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                if node.level:
                    assert node.level == 1, path.name  # only siblings in the package
                    continue
                names = [node.module or ""]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            else:
                continue
            for name in names:
                if name.startswith("metallm"):
                    # the public provider interface, never the package root or a private module
                    assert name in PUBLIC_MODULES, (path.name, name)
                else:
                    assert name.split(".")[0] in {
                        "__future__",
                        "json",
                        "logging",
                        "os",
                        "threading",
                        "collections",
                        "typing",
                        "urllib",
                        "botocore",
                    }, (path.name, name)


def test_import_metallm_does_not_import_botocore() -> None:
    code = (
        "import sys, metallm, metallm.provider, metallm.providers.bedrock;"
        "print('botocore' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# -- streams ---------------------------------------------------------------------------------

REPLY = ScriptedReply(
    text="Paris is lovely in spring.",
    reasoning="The user wants weather.",
    tool_calls=[
        ScriptedToolCall("get_weather", '{"city": "Paris"}', id="tooluse_a"),
        ScriptedToolCall("get_time", "{}", id="tooluse_b"),
    ],
    usage=ScriptedUsage(prompt_tokens=30, completion_tokens=12, cached_tokens=10),
    chunk_size=3,
)


def stream_body(reply: ScriptedReply = REPLY) -> bytes:
    wire = render_bedrock(reply, {"messages": []}, f"/model/{MODEL}/converse-stream")
    assert wire.headers["content-type"] == "application/vnd.amazon.eventstream"
    return b"".join(wire.pieces)


def decode(body: bytes, cuts: list[int] | None = None) -> list[metallm.ChatCompletionChunk]:
    dec = codec().stream_decoder(ChatCompletionRequest(model=MODEL, messages=[user("x")]))
    points = sorted({min(c, len(body)) for c in cuts or []})
    chunks: list[metallm.ChatCompletionChunk] = []
    start = 0
    for point in [*points, len(body)]:
        chunks.extend(dec.feed(body[start:point]))
        start = point
    chunks.extend(dec.close())
    return chunks


def test_stream_decodes_every_part() -> None:
    chunks = decode(stream_body())
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    reasoning = "".join(c.choices[0].delta.reasoning_content or "" for c in chunks if c.choices)
    assert (text, reasoning) == (REPLY.text, REPLY.reasoning)
    assert chunks[0].choices[0].delta.role == Role.ASSISTANT
    heads = [t for c in chunks if c.choices for t in c.choices[0].delta.tool_calls or [] if t.id]
    assert [(t.index, t.id, t.function and t.function.name) for t in heads] == [
        (0, "tooluse_a", "get_weather"),
        (1, "tooluse_b", "get_time"),
    ]
    args = ["", ""]
    for c in chunks:
        for t in (c.choices[0].delta.tool_calls or []) if c.choices else []:
            args[t.index] += (t.function.arguments or "") if t.function else ""
    assert args == ['{"city": "Paris"}', "{}"]
    finishes = [
        c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason
    ]
    assert finishes == ["tool_calls"]
    assert chunks[-1].usage == metallm.Usage(
        prompt_tokens=30,
        completion_tokens=12,
        total_tokens=42,
        cached_tokens=10,
        cache_write_tokens=0,
    )
    assert all(c.model == MODEL for c in chunks)


@settings(max_examples=60, deadline=None)
@given(cuts=st.lists(st.integers(min_value=0, max_value=len(stream_body())), max_size=80))
def test_stream_split_anywhere_gives_identical_chunks(cuts: list[int]) -> None:
    body = stream_body()
    assert decode(body, cuts) == decode(body)


def test_stream_byte_by_byte() -> None:
    body = stream_body()
    assert decode(body, list(range(len(body)))) == decode(body)


def frame(event: str, payload: dict[str, Any], kind: str = "event") -> bytes:
    headers = {":event-type": event, ":content-type": "application/json", ":message-type": kind}
    return encode_frame(headers, json.dumps(payload).encode())


@pytest.mark.parametrize(
    ("etype", "cls"),
    [
        ("throttlingException", metallm.RateLimitError),
        ("validationException", metallm.BadRequestError),
        ("modelStreamErrorException", metallm.InternalServerError),
        ("serviceUnavailableException", metallm.InternalServerError),
        ("accessDeniedException", metallm.PermissionDeniedError),
    ],
)
def test_exception_frame_raises_typed_error(etype: str, cls: type) -> None:
    exc = encode_frame(
        {
            ":exception-type": etype,
            ":content-type": "application/json",
            ":message-type": "exception",
        },
        json.dumps({"message": f"bad {SECRET}"}).encode(),
    )
    dec = codec().stream_decoder(ChatCompletionRequest(model=MODEL, messages=[user("x")]))
    with pytest.raises(metallm.APIError) as info:
        dec.feed(frame("messageStart", {"role": "assistant"}) + exc)
    assert type(info.value) is cls and info.value.type == etype
    assert info.value.message == "bad [REDACTED]" and SECRET not in repr(info.value)


def test_stream_without_end_markers_raises_on_close() -> None:
    body = stream_body()
    dec = codec().stream_decoder(ChatCompletionRequest(model=MODEL, messages=[user("x")]))
    dec.feed(body[:-5])
    with pytest.raises(metallm.StreamError, match="inside an event-stream frame"):
        dec.close()
    start = frame("messageStart", {"role": "assistant"})
    stop = frame("messageStop", {"stopReason": "end_turn"})
    for cut, missing in ((start, "messageStop"), (start + stop, "metadata")):
        dec = codec().stream_decoder(ChatCompletionRequest(model=MODEL, messages=[user("x")]))
        dec.feed(cut)
        with pytest.raises(metallm.StreamError, match=f"before {missing}"):
            dec.close()


def test_stream_malformed_frames(caplog: pytest.LogCaptureFixture) -> None:
    body = bytearray(frame("messageStart", {"role": "assistant"}))
    body[-1] ^= 0xFF  # message CRC
    dec = codec().stream_decoder(ChatCompletionRequest(model=MODEL, messages=[user("x")]))
    with pytest.raises(metallm.StreamError, match="bad event-stream frame"):
        dec.feed(bytes(body))
    bad = encode_frame({":event-type": "messageStart", ":message-type": "event"}, b"not json")
    with pytest.raises(metallm.StreamError, match="not JSON"):
        codec().stream_decoder(ChatCompletionRequest(model=MODEL, messages=[user("x")])).feed(bad)
    odd = frame("contentBlockDelta", {"contentBlockIndex": 0})
    with pytest.raises(metallm.StreamError, match="malformed stream event"):
        codec().stream_decoder(ChatCompletionRequest(model=MODEL, messages=[user("x")])).feed(odd)
    with caplog.at_level(logging.DEBUG, logger="metallm"):
        dec = codec().stream_decoder(ChatCompletionRequest(model=MODEL, messages=[user("x")]))
        assert dec.feed(frame("somethingNew", {"x": 1})) == []
    assert "somethingNew" in caplog.text


@pytest.mark.parametrize(
    "body",
    [b"not json", b'{"output": {}}', b'{"output": {"message": {"content": 5}}}', b"[]"],
)
def test_malformed_reply(body: bytes) -> None:
    with pytest.raises(metallm.ResponseValidationError) as info:
        codec().parse_response(HTTPResponse(200, {}, body))
    assert "malformed Converse reply" in info.value.message


@pytest.mark.parametrize(
    ("stop", "finish"),
    [
        ("end_turn", "stop"),
        ("stop_sequence", "stop"),
        ("max_tokens", "length"),
        ("guardrail_intervened", "content_filter"),
        ("content_filtered", "content_filter"),
    ],
)
def test_stop_reasons(stop: str, finish: str) -> None:
    body = {
        "output": {"message": {"role": "assistant", "content": [{"text": "x"}]}},
        "stopReason": stop,
    }
    resp = codec().parse_response(HTTPResponse(200, {}, json.dumps(body).encode()))
    assert resp.choices[0].finish_reason == finish
    assert resp.usage is None

"""The Azure OpenAI codec (metallm.providers.azure_openai) against the recorded corpus and by hand.

Azure speaks OpenAI's Chat Completions with its own URLs (the dated deployment path with
``api-version``, the v1 path), credentials (``api-key``) and content-filter annotations: a
``content_filter_results`` verdict on each choice, ``prompt_filter_results`` on replies, and a
first stream event with empty ``choices``, ``id`` and ``model``. Both recorded files are parsed
with their results checked against values written out from them; the stream is also fed split
at arbitrary points.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from _codec_helpers import accumulate, decode_pieces, require_entry, split_at
from _corpus_requests import request_from_openai_body
from metallm.embeddings import EmbeddingsRequest
from metallm.errors import (
    AuthenticationError,
    ConfigurationError,
    RateLimitError,
    StreamError,
)
from metallm.provider import HTTPProvider, HTTPRequest, HTTPResponse, ProviderSettings, get_spec
from metallm.providers.azure_openai import (
    DEFAULT_API_VERSION,
    AzureOpenAICodec,
    AzureOpenAIProvider,
    create,
)
from metallm.providers.openai import OpenAIProvider
from metallm.testing.corpus import CorpusEntry, corpus_files, load_corpus_entry
from metallm.types import ChatCompletionChunk, ChatCompletionRequest, Message, Role

KEY = "azure-test-0123456789SECRETKEY"
ENDPOINT = "https://myres.openai.azure.com"


def make(base_url: str = ENDPOINT, key: str | None = KEY, **extra: Any) -> AzureOpenAIProvider:
    return create(ProviderSettings("azure_openai", key, base_url, extra))


def user(text: str = "hi", model: str = "gpt-4o", **fields: Any) -> ChatCompletionRequest:
    return ChatCompletionRequest(
        model=model, messages=[Message(role=Role.USER, content=text)], **fields
    )


def _entry(stem: str) -> CorpusEntry:
    files = {p.stem: p for p in corpus_files("azure_openai")}
    return require_entry(load_corpus_entry(files[stem]) if stem in files else None, "azure_openai")


def raw_events(entry: CorpusEntry) -> list[dict[str, Any]]:
    return [
        json.loads(block[6:])
        for block in entry.body_text.split("\n\n")
        if block.startswith("data: ") and block != "data: [DONE]"
    ]


# Written out from the recorded files: (prompt, completion, total, cached, reasoning).
EXPECTED: dict[str, dict[str, Any]] = {
    "chat_content_filter_results": {
        "id": "chatcmpl-BAeyRj7gU6aCNSSAskAFbupBWYMIT",
        "model": "gpt-4o-2024-11-20",
        "content": "The capital of France is **Paris**.",
        "finish": "stop",
        "usage": (14, 9, 23, 0, 0),
    },
    "stream_v1_path": {
        "id": "chatcmpl-D2TazvwcOFuGdLjrtBVM6DpKm1VA8",
        "model": "gpt-5-mini-2025-08-07",
        "content": "4242",
        "finish": "stop",
        "usage": (15, 12, 27, 0, 0),
    },
}


def _usage(resp: Any) -> tuple[int, int, int, int | None, int | None]:
    u = resp.usage
    return (
        u.prompt_tokens,
        u.completion_tokens,
        u.total_tokens,
        u.cached_tokens,
        u.reasoning_tokens,
    )


def test_every_corpus_file_is_checked_against_written_values() -> None:
    files = corpus_files("azure_openai")
    if not files:
        _entry("chat_content_filter_results")  # skips (or fails under CI) without the corpus
    assert {p.stem for p in files} == set(EXPECTED)


def test_corpus_chat_with_filter_results() -> None:
    entry = _entry("chat_content_filter_results")
    raw = json.loads(entry.body_text)
    # what the file shows of Azure: a verdict per choice and one for the prompt, none filtered
    assert set(raw["choices"][0]["content_filter_results"]) >= {"hate", "self_harm", "violence"}
    assert raw["prompt_filter_results"][0]["prompt_index"] == 0
    resp = make().parse_response(HTTPResponse(200, entry.response_headers, entry.body_bytes))
    want = EXPECTED["chat_content_filter_results"]
    assert (resp.id, resp.model, resp.provider, resp.created) == (
        want["id"],
        want["model"],
        "azure_openai",
        raw["created"],
    )
    assert resp.system_fingerprint == raw["system_fingerprint"] == "fp_ded0d14823"
    (choice,) = resp.choices
    assert (choice.message.role, choice.message.content, choice.finish_reason) == (
        Role.ASSISTANT,
        want["content"],
        want["finish"],
    )
    assert choice.message.tool_calls is None and choice.message.reasoning_content is None
    assert _usage(resp) == want["usage"]


def test_corpus_stream_skips_the_prompt_annotation() -> None:
    entry = _entry("stream_v1_path")
    events = raw_events(entry)
    assert (
        events[0]["choices"] == []
        and events[0]["id"] == ""
        and "prompt_filter_results" in events[0]
    )
    chunks = decode_pieces(make(), user(), entry.body_bytes)
    assert len(chunks) == len(events) - 1  # the annotation carries nothing a chunk holds
    want = EXPECTED["stream_v1_path"]
    for chunk, raw in zip(chunks, events[1:], strict=True):
        assert (chunk.id, chunk.model, chunk.created) == (raw["id"], raw["model"], raw["created"])
        assert ChatCompletionChunk.model_validate(chunk.model_dump()) == chunk
    assert chunks[0].choices[0].delta.role is Role.ASSISTANT
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == want["content"]
    finishes = [c.choices[0].finish_reason for c in chunks if c.choices]
    assert finishes == [None, None, None, "stop"]
    assert chunks[-1].choices == [] and all(c.usage is None for c in chunks[:-1])
    resp = accumulate(chunks, "azure_openai")
    assert (resp.id, resp.model, resp.content) == (want["id"], want["model"], want["content"])
    assert _usage(resp) == want["usage"]


@settings(max_examples=60, deadline=None)
@given(points=st.lists(st.integers(min_value=0), max_size=60))
def test_corpus_stream_split_anywhere(points: list[int]) -> None:
    entry = _entry("stream_v1_path")
    codec = make()
    whole = decode_pieces(codec, user(), entry.body_bytes)
    assert decode_pieces(codec, user(), *split_at(entry.body_bytes, points)) == whole


def test_corpus_stream_cut_before_done() -> None:
    body = _entry("stream_v1_path").body_bytes
    for cut in (body.index(b"\n\n") + 2, body.index(b"data: [DONE]"), len(body) - 3):
        decoder = make().stream_decoder(user())
        decoder.feed(body[:cut])
        with pytest.raises(StreamError, match=r"before \[DONE\]") as info:
            decoder.close()
        assert info.value.provider == "azure_openai"


@pytest.mark.parametrize("stem", sorted(EXPECTED))
def test_corpus_requests_are_rebuilt_exactly(stem: str) -> None:
    """The request the codec builds is the recorded one: path, query and body."""
    entry = _entry(stem)
    path, _, query = entry.request_path.partition("?")
    extra: dict[str, Any] = {"api": "v1"} if path.startswith("/openai/v1/") else {}
    if query:
        extra["api_version"] = query.removeprefix("api-version=")
    req = request_from_openai_body(entry.request_body, "gpt-4o")
    built = make(**extra).build_request(req, stream=entry.is_stream)
    assert built.url == ENDPOINT + entry.request_path
    recorded = {k: v for k, v in entry.request_body.items() if (k, v) != ("stream", False)}
    assert json.loads(built.content or b"") == recorded
    assert built.headers["api-key"] == KEY and "authorization" not in built.headers


# --- URLs ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("base_url", "extra", "url"),
    [
        (
            ENDPOINT,
            {},
            f"{ENDPOINT}/openai/deployments/gpt-4o/chat/completions?api-version=2024-10-21",
        ),
        (
            ENDPOINT + "/",
            {"api_version": "2025-04-01-preview"},
            f"{ENDPOINT}/openai/deployments/gpt-4o/chat/completions?api-version=2025-04-01-preview",
        ),
        (
            ENDPOINT + "/openai",
            {},
            f"{ENDPOINT}/openai/deployments/gpt-4o/chat/completions?api-version=2024-10-21",
        ),
        (ENDPOINT, {"api": "v1"}, f"{ENDPOINT}/openai/v1/chat/completions"),
        (ENDPOINT + "/openai/v1", {}, f"{ENDPOINT}/openai/v1/chat/completions"),
        (ENDPOINT + "/openai/v1/", {"api": "v1"}, f"{ENDPOINT}/openai/v1/chat/completions"),
        (
            ENDPOINT,
            {"api": "v1", "api_version": "preview"},
            f"{ENDPOINT}/openai/v1/chat/completions?api-version=preview",
        ),
        (
            "https://gw.example.com/team-a",
            {},
            "https://gw.example.com/team-a/openai/deployments/gpt-4o/chat/completions?api-version=2024-10-21",
        ),
    ],
)
def test_url_shapes(base_url: str, extra: dict[str, Any], url: str) -> None:
    codec = make(base_url, **extra)
    assert codec.build_request(user(), stream=False).url == url
    assert codec.base_url == url.split("/openai/", 1)[0]  # the endpoint: server.address's host


def test_deployment_names_are_quoted_and_the_model_stays_in_the_body() -> None:
    codec = make()
    req = codec.build_request(user(model="team/chat v2"), stream=True)
    assert req.url.startswith(f"{ENDPOINT}/openai/deployments/team%2Fchat%20v2/chat/completions?")
    body = json.loads(req.content or b"")
    assert body["model"] == "team/chat v2" and body["stream_options"] == {"include_usage": True}
    assert DEFAULT_API_VERSION == "2024-10-21"


def test_embeddings_on_both_paths() -> None:
    request = EmbeddingsRequest(model="embed-small", input=["a", "b"], dimensions=8)
    dated = make().build_embeddings_request(request)
    assert dated.url == (
        f"{ENDPOINT}/openai/deployments/embed-small/embeddings?api-version={DEFAULT_API_VERSION}"
    )
    assert json.loads(dated.content or b"") == {
        "model": "embed-small",
        "input": ["a", "b"],
        "dimensions": 8,
        "encoding_format": "base64",
    }
    v1 = make(api="v1").build_embeddings_request(request)
    assert v1.url == f"{ENDPOINT}/openai/v1/embeddings" and v1.headers["api-key"] == KEY
    reply = {
        "object": "list",
        "model": "text-embedding-3-small",
        "usage": {"prompt_tokens": 2, "total_tokens": 2},
        "data": [{"object": "embedding", "index": i, "embedding": [0.5, i]} for i in (1, 0)],
    }
    result = make().parse_embeddings_response(
        HTTPResponse(200, {}, json.dumps(reply).encode()), request
    )
    assert result.vectors == [[0.5, 0.0], [0.5, 1.0]] and result.provider == "azure_openai"


# --- configuration ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("base_url", "key", "extra", "message"),
    [
        (
            "",
            KEY,
            {},
            r"base_url='https://<resource>\.openai\.azure\.com' or set AZURE_OPENAI_ENDPOINT",
        ),
        (
            ENDPOINT,
            None,
            {},
            r"or set AZURE_OPENAI_API_KEY, or extra=\{'azure_ad_token_provider'",
        ),
        (
            ENDPOINT + "/openai/deployments/gpt-4o",
            KEY,
            {},
            "is a deployment URL; pass the resource endpoint",
        ),
        (
            ENDPOINT + "?api-version=2024-10-21",
            KEY,
            {},
            r"carries a query; .*extra=\{'api_version'",
        ),
        (
            ENDPOINT,
            KEY,
            {"api": "x"},
            r"extra\['api'\] must be 'deployments' .* 'v1' .* or 'responses'",
        ),
        (ENDPOINT + "/openai/v1", KEY, {"api": "deployments"}, "is the v1 path but extra"),
        (
            ENDPOINT,
            KEY,
            {"api_version": ""},
            r"extra\['api_version'\] must be an API version such as '2024-10-21'",
        ),
        (ENDPOINT, KEY, {"api_version": "2024-10-21&x=1"}, r"extra\['api_version'\] must be"),
        (ENDPOINT, KEY, {"azure_ad_token_provider": "not callable"}, "must be a plain"),
        (
            ENDPOINT,
            None,
            {"azure_ad_token_provider": lambda: "t", "headers": {"Authorization": "x"}},
            "sets Authorization",
        ),
    ],
)
def test_bad_configuration_names_what_to_set(
    base_url: str, key: str | None, extra: dict[str, Any], message: str
) -> None:
    with pytest.raises(ConfigurationError, match=message) as info:
        make(base_url, key, **extra)
    assert KEY not in str(info.value)


def test_async_token_provider_is_refused() -> None:
    async def provider() -> str:
        return "token"

    class Caller:
        async def __call__(self) -> str:
            return "token"

    for candidate in (provider, Caller()):
        with pytest.raises(ConfigurationError, match=r"plain \(not async\) callable"):
            make(key=None, azure_ad_token_provider=candidate)


def test_headers_carry_the_key_and_no_openai_headers() -> None:
    headers = dict(
        make(organization="org-1", project="p", headers={"x-ms-useragent": "app/1"})
        .build_request(user(), stream=False)
        .headers
    )
    assert headers == {
        "api-key": KEY,
        "content-type": "application/json",
        "accept": "application/json",
        "user-agent": "metallm/0.1.0",
        "x-ms-useragent": "app/1",
    }


def test_provider_identity_and_registry() -> None:
    codec = make()
    assert isinstance(codec, OpenAIProvider) and isinstance(codec, HTTPProvider)
    assert (codec.name, codec.semconv_name, codec.span_attributes) == (
        "azure_openai",
        "azure.ai.openai",
        None,
    )
    assert codec.secrets() == (KEY,)
    assert repr(codec) == (
        f"AzureOpenAIProvider(name='azure_openai', base_url='{ENDPOINT}', api='deployments', "
        "api_version='2024-10-21')"
    )
    spec = get_spec("azure_openai")
    assert (spec.api_key_env, spec.base_url_env) == (
        ("AZURE_OPENAI_API_KEY",),
        ("AZURE_OPENAI_ENDPOINT",),
    )
    built = spec.create(KEY, ENDPOINT + "/openai/v1", {})
    assert isinstance(built, AzureOpenAIProvider) and built.endpoint.is_v1


# --- errors ----------------------------------------------------------------------------------


def test_azure_error_shapes() -> None:
    unauthorized = {"error": {"code": "401", "message": f"Access denied for key {KEY}."}}
    err = make().parse_error(
        HTTPResponse(401, {"apim-request-id": "r1"}, json.dumps(unauthorized).encode())
    )
    assert type(err) is AuthenticationError and err.code == "401"
    assert KEY not in str(err) and KEY not in repr(err) and KEY not in json.dumps(err.body)
    limited = {"error": {"code": "429", "message": "Requests ... have exceeded token rate limit."}}
    headers = {"retry-after": "7", "x-request-id": "req-9"}
    err = make().parse_error(HTTPResponse(429, headers, json.dumps(limited).encode()))
    assert type(err) is RateLimitError and err.retry_after == 7 and err.request_id == "req-9"


# --- reuse by another codec class (the Responses API, wired by the lead) ---------------------


class ResponsesLike(AzureOpenAICodec, OpenAIProvider):
    """What an Azure Responses codec needs of this package: the mixin and one URL."""

    name = "azure_openai"

    def __init__(self, settings: ProviderSettings) -> None:
        super().__init__(self._init_azure(settings))

    def build_request(self, request: ChatCompletionRequest, *, stream: bool) -> HTTPRequest:
        return self.http_request(
            self.endpoint.url("responses"), {"model": request.model}, stream=stream
        )


@pytest.mark.parametrize(
    ("extra", "url"),
    [
        (
            {"api_version": "2025-04-01-preview"},
            f"{ENDPOINT}/openai/responses?api-version=2025-04-01-preview",
        ),
        ({"api": "v1"}, f"{ENDPOINT}/openai/v1/responses"),
    ],
)
def test_the_azure_half_serves_another_codec(extra: dict[str, Any], url: str) -> None:
    with_key = ResponsesLike(ProviderSettings("azure_openai", KEY, ENDPOINT, extra))
    sent = with_key.build_request(user(), stream=True)
    assert (sent.url, sent.headers["api-key"], sent.headers["accept"]) == (
        url,
        KEY,
        "text/event-stream",
    )
    token = ResponsesLike(
        ProviderSettings(
            "azure_openai", None, ENDPOINT, {**extra, "azure_ad_token_provider": lambda: "t0k3n"}
        )
    )
    assert token.build_request(user(), stream=False).headers["authorization"] == "Bearer t0k3n"
    assert token.semconv_name == "azure.ai.openai" and token.secrets() == ("t0k3n",)

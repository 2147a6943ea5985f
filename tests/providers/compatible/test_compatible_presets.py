"""Each preset's registry data, telemetry name, refusals and translations, codec by codec.

The refusals and translations are the ones each service's reference documents (see
``metallm/providers/compatible/_presets.py``); every one is checked here on the request the
codec builds, and refusals raise before a request exists.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from opentelemetry.semconv._incubating.attributes.gen_ai_attributes import (
    GenAiProviderNameValues,
)

import metallm
from _codec_helpers import accumulate, decode_pieces, split_at
from metallm.embeddings import EmbeddingsRequest
from metallm.errors import ConfigurationError, UnsupportedFeatureError
from metallm.provider import HTTPResponse, get_spec
from metallm.providers.compatible import PRESETS, CompatibleProvider
from metallm.types import (
    ChatCompletionRequest,
    FunctionCall,
    FunctionDefinition,
    ImagePart,
    Message,
    Role,
    TextPart,
    Tool,
    ToolCall,
)

KEY = "sk-preset-SECRET-0123456789abcdef"

REGISTRY: dict[str, tuple[str, str | None]] = {
    "groq": ("https://api.groq.com/openai/v1", "GROQ_API_KEY"),
    "mistral": ("https://api.mistral.ai/v1", "MISTRAL_API_KEY"),
    "deepseek": ("https://api.deepseek.com", "DEEPSEEK_API_KEY"),
    "openrouter": ("https://openrouter.ai/api/v1", "OPENROUTER_API_KEY"),
    "together": ("https://api.together.xyz/v1", "TOGETHER_API_KEY"),
    "fireworks": ("https://api.fireworks.ai/inference/v1", "FIREWORKS_API_KEY"),
    "cerebras": ("https://api.cerebras.ai/v1", "CEREBRAS_API_KEY"),
    "perplexity": ("https://api.perplexity.ai", "PERPLEXITY_API_KEY"),
    "openai_compatible": ("", None),
}
"""Default base URL and key variable, as each service documents them."""

SEMCONV = {
    "groq": "groq",
    "mistral": "mistral_ai",
    "deepseek": "deepseek",
    "perplexity": "perplexity",
    "openrouter": "openrouter",
    "together": "together",
    "fireworks": "fireworks",
    "cerebras": "cerebras",
    "openai_compatible": "openai_compatible",
}
MAX_TOKENS_FIELD = dict.fromkeys(PRESETS, "max_tokens") | {
    "groq": "max_completion_tokens",
    "cerebras": "max_completion_tokens",
}
TOP_K = {"openrouter", "together", "fireworks", "openai_compatible"}


def make(name: str, **extra: Any) -> CompatibleProvider:
    base = REGISTRY[name][0] or "http://127.0.0.1:8000/v1"
    built = get_spec(name).create(api_key=KEY, base_url=base, extra=extra)
    assert isinstance(built, CompatibleProvider)
    return built


def ask(*messages: Message, **fields: Any) -> ChatCompletionRequest:
    return ChatCompletionRequest(
        model="m", messages=list(messages) or [Message(role=Role.USER, content="hi")], **fields
    )


def body(name: str, request: ChatCompletionRequest, *, stream: bool = False, **extra: Any) -> Any:
    sent = make(name, **extra).build_request(request, stream=stream)
    assert sent.content is not None
    return json.loads(sent.content)


def test_registry_data_matches_the_presets_and_provider_names() -> None:
    assert set(REGISTRY) == set(PRESETS)
    names = {p.value for p in metallm.ProviderName}
    assert set(PRESETS) <= names <= set(metallm.provider.available())
    for name, (url, key) in REGISTRY.items():
        spec = get_spec(name)
        assert spec.factory == "metallm.providers.compatible:create"
        assert (spec.default_base_url, spec.api_key_env) == (url, (key,) if key else ())
        assert spec.requires_key is (key is not None)
        assert metallm.ProviderName(name).value == name


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_identity_semconv_name_and_no_openai_attributes(name: str) -> None:
    provider = make(name)
    assert (provider.name, provider.semconv_name) == (name, SEMCONV[name])
    listed = {v.value for v in GenAiProviderNameValues}
    # the conventions' own value where they list the service, else the preset's name
    assert provider.semconv_name in listed or provider.semconv_name == name
    assert provider.span_attributes is None
    assert KEY not in repr(provider) and provider.secrets() == (KEY,)
    assert repr(provider).startswith(f"CompatibleProvider(name='{name}'")


def test_the_listed_services_use_the_conventions_values() -> None:
    listed = {v.value for v in GenAiProviderNameValues}
    assert {"groq", "mistral_ai", "deepseek", "perplexity"} <= listed
    for name in ("openrouter", "together", "fireworks", "cerebras"):
        assert name not in listed  # so the preset's own name is reported


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_max_tokens_field_and_stream_usage(name: str) -> None:
    sent = body(name, ask(max_tokens=77), stream=True)
    assert sent[MAX_TOKENS_FIELD[name]] == 77
    other = "max_tokens" if MAX_TOKENS_FIELD[name] != "max_tokens" else "max_completion_tokens"
    assert other not in sent
    # Mistral's schema has no stream_options (its last chunk carries usage anyway)
    assert ("stream_options" in sent) is (name != "mistral")
    assert body(name, ask(max_tokens=5), max_tokens_field="max_new")["max_new"] == 5


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_top_k_where_documented(name: str) -> None:
    if name in TOP_K:
        assert body(name, ask(top_k=40))["top_k"] == 40
        assert "top_k" not in body(name, ask(top_k=40, extra={"top_k": None}))
    else:
        with pytest.raises(UnsupportedFeatureError, match=f"{name} does not support top_k"):
            make(name).build_request(ask(top_k=40), stream=False)


def _named(role: Role) -> Message:
    if role is Role.TOOL:
        return Message(role=role, content="18C", tool_call_id="call_1", name="weather")
    return Message(role=role, content="hi", name="alice")


REFUSED: list[tuple[str, ChatCompletionRequest, str]] = [
    ("groq", ask(extra={"logprobs": True}), r"extra\['logprobs'\]"),
    ("groq", ask(extra={"logit_bias": {"1": 2}}), r"extra\['logit_bias'\]"),
    ("groq", ask(extra={"top_logprobs": 2}), r"extra\['top_logprobs'\]"),
    ("groq", ask(n=2), "n > 1"),
    ("groq", ask(_named(Role.USER)), r"name on a user message \(messages\[0\]\)"),
    ("groq", ask(_named(Role.SYSTEM)), "name on a system message"),
    ("mistral", ask(user="u-1"), "mistral does not support user"),
    ("mistral", ask(_named(Role.USER)), "name on a user message"),
    (
        "deepseek",
        ask(Message(role=Role.USER, content=[ImagePart.from_url("https://x.test/a.png")])),
        r"images \(messages\[0\].content\[0\]\): it reads text only",
    ),
    (
        "deepseek",
        ask(Message(role=Role.USER, content=[{"type": "image_url", "image_url": {"url": "u"}}])),
        "images",
    ),
    ("perplexity", ask(tools=[Tool(function=FunctionDefinition(name="f"))]), "tools"),
    ("perplexity", ask(tool_choice="auto"), "tool_choice"),
]


@pytest.mark.parametrize(
    ("name", "request_", "what"), REFUSED, ids=[f"{r[0]}-{i}" for i, r in enumerate(REFUSED)]
)
def test_what_the_reference_says_it_rejects_is_refused(
    name: str, request_: ChatCompletionRequest, what: str
) -> None:
    with pytest.raises(UnsupportedFeatureError, match=what) as info:
        make(name).build_request(request_, stream=False)
    assert info.value.provider == name


def test_what_other_services_take_is_sent() -> None:
    """The same fields, where no reference refuses them, go out as given."""
    assert body("groq", ask(n=1))["n"] == 1
    assert body("mistral", ask(_named(Role.TOOL)))["messages"][0]["name"] == "weather"
    assert body("openrouter", ask(_named(Role.USER), n=2))["n"] == 2
    image = Message(role=Role.USER, content=[ImagePart.from_url("https://x.test/a.png")])
    assert body("groq", ask(image))["messages"][0]["content"][0]["type"] == "image_url"
    text = Message(role=Role.USER, content=[TextPart(text="only text")])
    assert body("deepseek", ask(text))["messages"][0]["content"] == [
        {"type": "text", "text": "only text"}
    ]
    assert body("together", ask(user="u", extra={"logprobs": 1}))["logprobs"] == 1


def test_mistral_sends_seed_as_random_seed_and_keeps_explicit_stream_options() -> None:
    sent = body("mistral", ask(seed=7), stream=True)
    assert sent["random_seed"] == 7 and "seed" not in sent and "stream_options" not in sent
    kept = body("mistral", ask(extra={"stream_options": {"include_usage": True}}), stream=True)
    assert kept["stream_options"] == {"include_usage": True}
    assert body("groq", ask(seed=7))["seed"] == 7


def _tool_turns() -> list[Message]:
    call = ToolCall(id="call_1", function=FunctionCall(name="weather", arguments='{"c":"Paris"}'))
    return [
        Message(role=Role.USER, content="Weather in Paris?"),
        Message(
            role=Role.ASSISTANT,
            content=None,
            reasoning_content="I should call the weather tool.",
            tool_calls=[call],
        ),
        Message(role=Role.TOOL, tool_call_id="call_1", content="18C"),
    ]


def test_deepseek_sends_reasoning_back_and_the_others_do_not() -> None:
    """DeepSeek's thinking mode needs an assistant turn's reasoning_content back after tool
    calls (and ignores it otherwise); everyone else's API has no such field."""
    sent = body("deepseek", ask(*_tool_turns()))
    assert sent["messages"][1]["reasoning_content"] == "I should call the weather tool."
    assert "reasoning_content" not in sent["messages"][0]
    assert "reasoning_content" not in sent["messages"][2]
    for name in sorted(set(PRESETS) - {"deepseek"}):
        assert b"I should call" not in (
            make(name).build_request(ask(*_tool_turns()), stream=False).content or b""
        )


def test_openrouter_attribution_headers_come_from_extra() -> None:
    sent = make("openrouter", app_url="https://app.example", app_title="My App").build_request(
        ask(), stream=True
    )
    assert sent.headers["HTTP-Referer"] == "https://app.example"
    assert sent.headers["X-Title"] == "My App"
    plain = make("openrouter").build_request(ask(), stream=False)
    assert "HTTP-Referer" not in plain.headers and "X-Title" not in plain.headers
    assert (
        "X-Title"
        not in make("groq", app_title="ignored").build_request(ask(), stream=False).headers
    )
    for bad in ("", 42, "two\nlines", "caf\u00e9"):
        with pytest.raises(ConfigurationError, match=r"extra\['app_title'\].*X-Title"):
            make("openrouter", app_title=bad)


def test_organization_headers_are_openai_only() -> None:
    sent = make("together", organization="org-1", project="p").build_request(ask(), stream=False)
    assert "OpenAI-Organization" not in sent.headers and "OpenAI-Project" not in sent.headers


# --- Mistral's thinking chunks ----------------------------------------------------------------

THINKING_REPLY = {
    "id": "cmpl-1",
    "object": "chat.completion",
    "created": 1750000000,
    "model": "magistral-medium-latest",
    "choices": [
        {
            "index": 0,
            "message": {
                "role": "assistant",
                "content": [
                    {"type": "thinking", "thinking": [{"type": "text", "text": "Two plus two."}]},
                    {"type": "text", "text": "4"},
                ],
            },
            "finish_reason": "stop",
        }
    ],
    "usage": {"prompt_tokens": 10, "completion_tokens": 20, "total_tokens": 30},
}


def _sse(*events: dict[str, Any]) -> bytes:
    return b"".join(b"data: " + json.dumps(e).encode() + b"\n\n" for e in events) + (
        b"data: [DONE]\n\n"
    )


def _delta(delta: dict[str, Any], finish: str | None = None, **more: Any) -> dict[str, Any]:
    choice = {"index": 0, "delta": delta, "finish_reason": finish}
    return {"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "magistral"} | {
        "choices": [choice],
        **more,
    }


THINKING_STREAM = _sse(
    _delta({"role": "assistant", "content": ""}),
    _delta({"content": [{"type": "thinking", "thinking": [{"type": "text", "text": "Two "}]}]}),
    _delta(
        {"content": [{"type": "thinking", "thinking": [{"type": "text", "text": "plus two."}]}]}
    ),
    _delta({"content": "4"}),
    _delta(
        {"content": ""},
        "stop",
        usage={"prompt_tokens": 10, "completion_tokens": 20, "total_tokens": 30},
    ),
)


def test_mistral_thinking_chunks_become_reasoning_content() -> None:
    reply = HTTPResponse(200, {}, json.dumps(THINKING_REPLY).encode())
    resp = make("mistral").parse_response(reply)
    message = resp.choices[0].message
    assert (message.content, message.reasoning_content) == ("4", "Two plus two.")
    # the same body through a service without thinking chunks keeps only the text
    assert make("groq").parse_response(reply).choices[0].message.reasoning_content is None
    chunks = decode_pieces(make("mistral"), ask(), THINKING_STREAM)
    assert [c.choices[0].delta.reasoning_content for c in chunks] == [
        None,
        "Two ",
        "plus two.",
        None,
        None,
    ]
    assert [c.choices[0].delta.content for c in chunks] == ["", None, None, "4", ""]
    final = accumulate(chunks, "mistral")
    assert (final.content, final.choices[0].message.reasoning_content) == ("4", "Two plus two.")
    assert final.usage is not None and final.usage.total_tokens == 30


@settings(max_examples=50, deadline=None)
@given(points=st.lists(st.integers(min_value=0), max_size=40))
def test_mistral_thinking_stream_split_anywhere(points: list[int]) -> None:
    provider = make("mistral")
    assert decode_pieces(provider, ask(), *split_at(THINKING_STREAM, points)) == decode_pieces(
        provider, ask(), THINKING_STREAM
    )


def test_a_plain_mistral_reply_is_read_as_it_is() -> None:
    plain = dict(THINKING_REPLY)
    plain["choices"] = [
        {"index": 0, "message": {"role": "assistant", "content": "4"}, "finish_reason": "stop"}
    ]
    resp = make("mistral").parse_response(HTTPResponse(200, {}, json.dumps(plain).encode()))
    assert (resp.content, resp.choices[0].message.reasoning_content) == ("4", None)


# --- errors, embeddings, token counting ------------------------------------------------------


def test_structured_error_messages_become_json_text() -> None:
    """Mistral's 422 puts the validation details under ``message``: they read as JSON."""
    detail = {"detail": [{"type": "extra_forbidden", "loc": ["body", "x"], "msg": "Extra"}]}
    body_ = {"object": "error", "message": detail, "type": "invalid_request_error", "code": None}
    err = make("mistral").parse_error(HTTPResponse(422, {}, json.dumps(body_).encode()))
    assert err.message == json.dumps(detail, separators=(",", ":"))
    assert type(err) is metallm.BadRequestError and err.status_code == 422


def test_error_messages_are_redacted() -> None:
    body_ = {
        "error": {
            "code": 401,
            "message": f"bad key {KEY}",
            "metadata": {"provider_name": "X", "raw": f"upstream saw {KEY}"},
        }
    }
    err = make("openrouter").parse_error(HTTPResponse(401, {}, json.dumps(body_).encode()))
    assert type(err) is metallm.AuthenticationError
    assert KEY not in str(err) and KEY not in repr(err) and KEY not in json.dumps(err.body)
    assert "upstream saw [REDACTED]" in err.message


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_embeddings_only_where_offered(name: str) -> None:
    request = EmbeddingsRequest(model="e", input=["a"])
    if name == "openai_compatible":
        sent = make(name).build_embeddings_request(request)
        assert sent.url == "http://127.0.0.1:8000/v1/embeddings"
        return
    with pytest.raises(UnsupportedFeatureError, match=f"{name} does not support embeddings"):
        make(name).build_embeddings_request(request)


def test_tiktoken_only_for_openai_model_names_behind_openrouter() -> None:
    assert make("openrouter").token_encoding("openai/gpt-4o") == "o200k_base"
    assert make("groq").token_encoding("openai/gpt-oss-120b") is None
    assert make("openai_compatible").token_encoding("gpt-4o") is None

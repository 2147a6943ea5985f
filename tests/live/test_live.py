"""Live tests against the real APIs; each skips unless its provider's key is set."""

from __future__ import annotations

import os

import pytest

import metallm

CASES = [
    ("openai", "OPENAI_API_KEY", metallm.models.GPT_4O_MINI),
    ("xai", "XAI_API_KEY", metallm.models.GROK_3_MINI),
    ("anthropic", "ANTHROPIC_API_KEY", metallm.models.CLAUDE_HAIKU_4_5),
    ("gemini", "GEMINI_API_KEY", metallm.models.GEMINI_2_5_FLASH),
]
LOCAL = [
    ("ollama", "OLLAMA_HOST", os.environ.get("METALLM_OLLAMA_MODEL", "llama3.1")),
    (
        "bedrock",
        "AWS_ACCESS_KEY_ID",
        os.environ.get("METALLM_BEDROCK_MODEL", "us.anthropic.claude-haiku-4-5-20251001-v1:0"),
    ),
]


@pytest.mark.parametrize(("provider", "env", "model"), CASES + LOCAL)
def test_live_plain_and_stream(provider: str, env: str, model: str) -> None:
    if not os.environ.get(env):
        pytest.skip(f"{env} not set")
    extra = {"region": os.environ.get("AWS_REGION", "us-east-1")} if provider == "bedrock" else {}
    with metallm.Client(provider=provider, extra=extra) as client:
        msgs = [metallm.Message(role="user", content="Reply with the single word: pong")]
        resp = client.create_chat_completion(model=model, messages=msgs, max_tokens=50)
        assert "pong" in resp.content.lower()
        assert resp.usage is not None and resp.usage.total_tokens > 0
        with client.create_chat_completion_stream(model=model, messages=msgs, max_tokens=50) as s:
            chunks = list(s)
            final = s.final_response()
        assert chunks[-1].usage is not None
        assert "pong" in final.content.lower()


@pytest.mark.parametrize(("provider", "env", "model"), CASES)
def test_live_bad_key_is_authentication_error(provider: str, env: str, model: str) -> None:
    if not os.environ.get(env):
        pytest.skip(f"{env} not set")
    bad = "sk-invalid-key-for-metallm-tests-000"
    with (
        metallm.Client(provider=provider, api_key=bad) as client,
        pytest.raises(
            (metallm.AuthenticationError, metallm.BadRequestError, metallm.PermissionDeniedError)
        ) as info,
    ):
        client.create_chat_completion(
            model=model, messages=[metallm.Message(role="user", content="hi")]
        )
    assert bad not in str(info.value)

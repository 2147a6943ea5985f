"""The command line: ``python -m metallm demo`` and ``chat`` run offline, as ``make demo`` does."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest


def _env() -> dict[str, str]:
    env = dict(os.environ)
    for key in (
        "OPENAI_API_KEY",
        "XAI_API_KEY",
        "ANTHROPIC_API_KEY",
        "GEMINI_API_KEY",
        "GOOGLE_API_KEY",
        "OLLAMA_HOST",
        "AWS_ACCESS_KEY_ID",
    ):
        env.pop(key, None)
    return env


def test_demo_runs_offline_and_shows_each_step() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "metallm", "demo"],
        capture_output=True,
        text=True,
        timeout=60,
        env=_env(),
        check=False,
    )
    assert out.returncode == 0, out.stderr
    text = out.stdout
    for needle in (
        "Offline: FakeLLMServer",
        "1) Plain call",
        "usage:",
        "2) Streamed call",
        "switched LLM providers by changing one word",
        "time to first token",
        "3) Tool call",
        'get_weather({"city": "Paris"})',
        "finish: tool_calls",
        "4) Async call",
        "Hello from asyncio!",
        "Telemetry (what an OTLP collector would receive):",
        "'chat gpt-4o-mini' CLIENT UNSET",
        "gen_ai.request.stream=True",
        "gen_ai.response.finish_reasons=[tool_calls]",
        # eleven chat calls: steps 1 to 4, 6 and four in 8 on gpt-4o-mini, two on Anthropic's
        # wire in step 7 (a token count is no inference call: no span, no metric), and the
        # two attempts of step 9's routed call, metrics recorded per attempt (never for the
        # routed span): OpenAI's failed one (a duration series of its own, with error.type;
        # no usage, no cost) and Anthropic's (the series of step 7); then step 10's five:
        # Azure (its own series; the deployment name has no price), Groq twice on the demo
        # server and once replayed at port 9 (two series, priced), and the Responses API on
        # the gpt-4o-mini series
        "gen_ai.client.operation.duration [s]: 6 series, 18 values",
        "gen_ai.client.token.usage [{token}]: 10 series, 34 values",
        "gen_ai.client.operation.cost [{USD}]: 5 series, 17 values",
        "gen_ai.client.operation.time_to_first_chunk [s]: 1 series, 1 values",
        "5) Embeddings",
        "2 vectors of 8 floats from text-embedding-3-small",
        "'embeddings text-embedding-3-small' CLIENT UNSET",
        "gen_ai.client.embeddings.duration [s]: 1 series, 1 values",
        "6) A document, with a prompt-cache mark on the system prompt",
        "You said: What is new? metallm 0.2: documents",  # OpenAI got the text document
        "cache mark sent: False (OpenAI, xAI, Gemini and Ollama cache on their own)",
        "7) Thinking + a tool call, continued by a new client from SQLite memory",
        "turn 1: 1 signed reasoning block(s) stored",
        "turn 2 (new client, signed blocks sent back): Sunny, 21C.",
        "counted before sending: 24 tokens",
        "finish: stop, usage: 10 in + 12 out = 22 tokens, cost 0.00000870 USD",
        "8) A budget stops spending (checked before each call, charged after)",
        "call 5 refused before any I/O: budget (client) exhausted: spent 0.00002100 USD",
        "9) A routed call: OpenAI answers 503 (and again to its retry), so the router",
        "reply from anthropic claude-sonnet-4-5: Hello from FakeLLMServer! You said: Hello",
        "openai-primary: 1 attempt, 1 failed, breaker closed",
        "anthropic-backup: 1 attempt, 0 failed, breaker closed",
        "10) More wire formats, one word each; and a recorded exchange replayed offline",
        "   azure_openai: Hello from FakeLLMServer! You said: Which wire is this?",
        "   groq: Hello from FakeLLMServer! You said: Which wire is this?",
        "   openai (Responses API): Hello from FakeLLMServer! You said: Which wire is this? [resp_",
        "(the key in it: no);",
        "replayed with no server: the same reply",
        "gen_ai.provider.name=azure.ai.openai",
        "gen_ai.provider.name=groq",
        "' CLIENT ERROR ",  # OpenAI's attempt, after its own retry
        "error.type=503",
        "' INTERNAL UNSET ",  # the routed call, over its two attempts
        "metallm.router.fallbacks [{fallback}]: 1 series, value 1",
    ):
        assert needle in text, needle


@pytest.mark.parametrize(
    ("provider", "otel_name"),
    [
        ("xai", "x_ai"),
        ("anthropic", "anthropic"),
        ("gemini", "gcp.gemini"),
        ("ollama", "ollama"),
        ("bedrock", "aws.bedrock"),
    ],
)
def test_demo_for_each_provider_offline(provider: str, otel_name: str) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "metallm", "demo", "--provider", provider],
        capture_output=True,
        text=True,
        timeout=60,
        env=_env(),
        check=False,
    )
    assert out.returncode == 0, out.stderr
    assert f"{provider} wire format" in out.stdout
    assert "finish: tool_calls" in out.stdout
    assert f"gen_ai.provider.name={otel_name}" in out.stdout
    assert "model \n" not in out.stdout  # every response names its model (Bedrock: the request's)
    if provider == "anthropic":
        assert "anthropic has no embeddings API (Anthropic points to Voyage AI)" in out.stdout
    else:
        assert "2 vectors of 8 floats" in out.stdout


def test_chat_answers_each_turn() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "metallm", "chat"],
        input="first message\nsecond message\n\n",
        capture_output=True,
        text=True,
        timeout=60,
        env=_env(),
        check=False,
    )
    assert out.returncode == 0, out.stderr
    assert "You said: first message" in out.stdout
    assert "You said: second message" in out.stdout

"""What a call costs: ``response.cost`` from the genai-prices data, end to end and exact.

Every case runs over real sockets against FakeLLMServer, sync and async, plain and streamed.
Expected amounts are worked out here by hand from the per-million prices the price data holds
(each test first checks the data still has them, so a price change fails loudly, not wrongly);
the arithmetic is in the test. The fast path's arithmetic is also checked against genai-prices'
own ``calc_price`` for every model of every built-in provider.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterator
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

import pytest
from genai_prices import data_snapshot
from genai_prices import types as gp

import metallm
from _helpers import MODES, complete, stream, user
from metallm import pricing
from metallm._price_data import lookup
from metallm.otel import attributes as A
from metallm.testing import FakeLLMServer, ScriptedReply, ScriptedUsage
from metallm.testing.corpus import corpus_files, load_corpus_entry
from metallm.types import Usage
from test_otel_hook import Telemetry, otel  # noqa: F401  (the in-memory SDK fixture)

M = Decimal(1_000_000)
PRICE_PROVIDERS = ("openai", "anthropic", "google", "x-ai", "aws")


def data_price(provider_id: str, model: str, tier: str | None = None) -> dict[str, Any]:
    """The price data's per-million prices for a model (what the expected figures use)."""
    _, info = data_snapshot.get_snapshot().find_provider_model(model, None, provider_id, None)
    context = {"service_tier": tier} if tier else None
    return dict(vars(info.get_prices(datetime.now(tz=timezone.utc), context)))


def kw(server: FakeLLMServer, provider: str, **extra: Any) -> dict[str, Any]:
    return {
        "provider": provider,
        "base_url": server.base_url(provider),
        "api_key": "sk-cost-SECRET-0123456789",
        "hooks": [],
        **extra,
    }


def req(model: str) -> metallm.ChatCompletionRequest:
    return metallm.ChatCompletionRequest(model=model, messages=[user("hi")])


def both(
    server: FakeLLMServer, mode: str, provider: str, model: str, usage: ScriptedUsage, **extra: Any
) -> tuple[metallm.ChatCompletionResponse, metallm.ChatCompletionResponse]:
    """The same reply, once plain and once streamed."""
    server.enqueue(ScriptedReply(text="Hello there", usage=usage))
    plain = complete(mode, kw(server, provider, **extra), req(model))
    server.enqueue(ScriptedReply(text="Hello there", usage=usage))
    _, streamed = stream(mode, kw(server, provider, **extra), req(model))
    return plain, streamed


@pytest.fixture(scope="module")
def server() -> Iterator[FakeLLMServer]:
    with FakeLLMServer() as s:
        yield s


@pytest.fixture(autouse=True)
def _fresh_cache(server: FakeLLMServer) -> Iterator[None]:
    server.clear()
    pricing.clear_cache()
    yield
    pricing.clear_cache()


# -- each built-in provider, exact to the cent-fraction ----------------------------------------


@pytest.mark.parametrize("mode", MODES)
def test_openai_cached_input_at_its_rate(server: FakeLLMServer, mode: str) -> None:
    p = data_price("openai", "gpt-4o")
    assert (p["input_mtok"], p["cache_read_mtok"], p["output_mtok"]) == (
        Decimal("2.5"),
        Decimal("1.25"),
        Decimal(10),
    )
    usage = ScriptedUsage(1200, 300, cached_tokens=1000, reasoning_tokens=50)
    plain, streamed = both(server, mode, "openai", "gpt-4o", usage)
    expected = metallm.Cost(
        input=200 * Decimal("2.5") / M,  # 1,200 prompt tokens, 1,000 of them cached
        output=300 * Decimal(10) / M,
        cache_read=1000 * Decimal("1.25") / M,
        cache_write=Decimal(0),
        total=(200 * Decimal("2.5") + 300 * Decimal(10) + 1000 * Decimal("1.25")) / M,
    )
    assert plain.cost == expected == streamed.cost
    assert expected.total == Decimal("0.00475")
    assert plain.service_tier == "default"  # the fake server's tier: the standard prices


@pytest.mark.parametrize("mode", MODES)
def test_anthropic_cache_reads_and_writes_and_the_long_prompt_tier(
    server: FakeLLMServer, mode: str
) -> None:
    p = data_price("anthropic", "claude-sonnet-4-5")
    rates = {
        k: (v.base, [(t.start, t.price) for t in v.tiers])
        for k, v in p.items()
        if hasattr(v, "tiers")
    }
    assert rates["input_mtok"] == (Decimal(3), [(200_000, Decimal(6))])
    assert rates["output_mtok"] == (Decimal(15), [(200_000, Decimal("22.5"))])
    assert rates["cache_read_mtok"] == (Decimal("0.3"), [(200_000, Decimal("0.6"))])
    assert rates["cache_write_mtok"] == (Decimal("3.75"), [(200_000, Decimal("7.5"))])
    short = ScriptedUsage(3000, 100, cached_tokens=1000, cache_write_tokens=1500)
    plain, streamed = both(server, mode, "anthropic", "claude-sonnet-4-5", short)
    assert (
        plain.cost
        == streamed.cost
        == metallm.Cost(
            input=500 * Decimal(3) / M,
            output=100 * Decimal(15) / M,
            cache_read=1000 * Decimal("0.3") / M,
            cache_write=1500 * Decimal("3.75") / M,
            total=(500 * 3 + 100 * 15 + 1000 * Decimal("0.3") + 1500 * Decimal("3.75")) / M,
        )
    )
    assert plain.cost is not None and plain.cost.total == Decimal("0.008925")
    # past 200k prompt tokens (cached ones count), every token pays the higher tier
    long = ScriptedUsage(250_000, 1000, cached_tokens=100_000, cache_write_tokens=50_000)
    plain, streamed = both(server, mode, "anthropic", "claude-sonnet-4-5", long)
    total = (
        100_000 * 6 + 1000 * Decimal("22.5") + 100_000 * Decimal("0.6") + 50_000 * Decimal("7.5")
    ) / M
    assert plain.cost is not None and plain.cost == streamed.cost
    assert plain.cost.total == total == Decimal("1.0575")


@pytest.mark.parametrize("mode", MODES)
def test_gemini_reasoning_is_output(server: FakeLLMServer, mode: str) -> None:
    p = data_price("google", "gemini-2.5-flash")
    assert (p["input_mtok"], p["output_mtok"]) == (Decimal("0.3"), Decimal("2.5"))
    usage = ScriptedUsage(40, 900, reasoning_tokens=800)  # 800 of the 900 are thoughts
    plain, streamed = both(server, mode, "gemini", "gemini-2.5-flash", usage)
    assert plain.usage is not None and plain.usage.reasoning_tokens == 800
    assert (
        plain.cost
        == streamed.cost
        == metallm.Cost(
            input=40 * Decimal("0.3") / M,
            output=900 * Decimal("2.5") / M,
            cache_read=Decimal(0),
            cache_write=Decimal(0),
            total=Decimal("0.002262"),
        )
    )


@pytest.mark.parametrize("mode", MODES)
def test_xai_reasoning_is_output(server: FakeLLMServer, mode: str) -> None:
    p = data_price("x-ai", "grok-4")
    assert (p["input_mtok"], p["cache_read_mtok"], p["output_mtok"]) == (
        Decimal(3),
        Decimal("0.75"),
        Decimal(15),
    )
    usage = ScriptedUsage(700, 1500, cached_tokens=600, reasoning_tokens=1200)
    plain, streamed = both(server, mode, "xai", "grok-4", usage)
    assert plain.usage is not None and plain.usage.completion_tokens == 1500
    expected_total = (100 * 3 + 600 * Decimal("0.75") + 1500 * 15) / M
    assert plain.cost is not None and plain.cost == streamed.cost
    assert (plain.cost.output, plain.cost.total) == (1500 * Decimal(15) / M, expected_total)
    assert expected_total == Decimal("0.02325")


@pytest.mark.parametrize("mode", MODES)
def test_ollama_is_never_priced(server: FakeLLMServer, mode: str) -> None:
    plain, streamed = both(server, mode, "ollama", "llama3.2", ScriptedUsage(10, 5))
    assert plain.usage is not None and plain.cost is None and streamed.cost is None


def test_bedrock_model_ids_are_priced_by_the_aws_data() -> None:
    p = data_price("aws", "us.anthropic.claude-sonnet-4-5-20250929-v1:0")
    usage = Usage(prompt_tokens=2000, completion_tokens=100, cached_tokens=1000)
    cost = metallm.pricing.cost_of("bedrock", "us.anthropic.claude-sonnet-4-5-20250929-v1:0", usage)
    expected = (1000 * p["input_mtok"] + 1000 * p["cache_read_mtok"] + 100 * p["output_mtok"]) / M
    assert cost is not None and cost.total == expected == Decimal("0.00528")


def test_the_reported_service_tier_selects_its_prices() -> None:
    priority = data_price("openai", "gpt-4o", "priority")
    assert priority["input_mtok"] == Decimal("4.25")
    usage = Usage(prompt_tokens=1000, completion_tokens=0)
    cost = pricing.cost_of("openai", "gpt-4o", usage, service_tier="priority")
    assert cost is not None and cost.total == 1000 * Decimal("4.25") / M
    standard = pricing.cost_of("openai", "gpt-4o", usage, service_tier="default")
    assert standard is not None and standard.total == 1000 * Decimal("2.5") / M


@pytest.mark.parametrize("mode", MODES)
def test_embeddings_are_priced(server: FakeLLMServer, mode: str) -> None:
    p = data_price("openai", "text-embedding-3-small")
    client_kw = kw(server, "openai")
    if mode == "sync":
        with metallm.Client(**client_kw) as client:
            resp = client.create_embeddings(model="text-embedding-3-small", input=["a b", "c"])
    else:
        import asyncio

        async def go() -> metallm.EmbeddingsResponse:
            async with metallm.AsyncClient(**client_kw) as client:
                return await client.create_embeddings(model="text-embedding-3-small", input="a")

        resp = asyncio.run(go())
    tokens = resp.usage.prompt_tokens
    assert tokens > 0 and resp.cost is not None
    assert resp.cost.total == resp.cost.input == tokens * p["input_mtok"] / M


# -- unknown models, custom prices, bad prices, a broken price source ----------------------------


@pytest.mark.parametrize("mode", MODES)
def test_unknown_model_has_no_cost_attribute_or_metric(
    server: FakeLLMServer,
    otel: Telemetry,  # noqa: F811
    mode: str,
) -> None:
    usage = ScriptedUsage(10, 5)
    for run in (complete, stream):
        server.enqueue(ScriptedReply(text="x", usage=usage))
        result = run(mode, kw(server, "openai", hooks=[otel.hook()]), req("my-finetune-xyz"))
        resp = result if isinstance(result, metallm.ChatCompletionResponse) else result[1]
        assert resp.usage is not None and resp.cost is None
    assert all(A.USAGE_COST not in (s.attributes or {}) for s in otel.finished())
    assert A.METRIC_COST not in otel.points()


@pytest.mark.parametrize("mode", MODES)
def test_cost_on_the_span_and_the_metric(
    server: FakeLLMServer,
    otel: Telemetry,  # noqa: F811
    mode: str,
) -> None:
    usage = ScriptedUsage(1000, 100)
    server.enqueue(ScriptedReply(text="x", usage=usage))
    resp = complete(mode, kw(server, "openai", hooks=[otel.hook()]), req("gpt-4o-mini"))
    server.enqueue(ScriptedReply(text="x", usage=usage))
    _, streamed = stream(mode, kw(server, "openai", hooks=[otel.hook()]), req("gpt-4o-mini"))
    expected = (1000 * Decimal("0.15") + 100 * Decimal("0.6")) / M
    assert resp.cost is not None and resp.cost.total == expected == streamed.cost.total  # type: ignore[union-attr]
    assert [s.attributes[A.USAGE_COST] for s in otel.finished()] == [float(expected)] * 2  # type: ignore[index]
    [(attrs, point, unit)] = otel.points()[A.METRIC_COST]
    assert unit == "{USD}" and point.count == 2 and point.sum == pytest.approx(2 * float(expected))
    assert tuple(point.explicit_bounds) == A.COST_BUCKETS
    assert attrs == {
        A.OPERATION_NAME: "chat",
        A.PROVIDER_NAME: "openai",
        A.REQUEST_MODEL: "gpt-4o-mini",
        A.RESPONSE_MODEL: "gpt-4o-mini",
        A.SERVER_ADDRESS: "127.0.0.1",
        A.SERVER_PORT: server.port,
    }


@pytest.mark.parametrize("mode", MODES)
def test_custom_price_wins_over_the_data(server: FakeLLMServer, mode: str) -> None:
    prices = {"gpt-4o": metallm.ModelPrice(input="1", output=2, cache_read=Decimal("0.5"))}
    usage = ScriptedUsage(1000, 10, cached_tokens=400)
    plain, streamed = both(server, mode, "openai", "gpt-4o", usage, prices=prices)
    expected = metallm.Cost(
        input=600 * Decimal(1) / M,
        output=10 * Decimal(2) / M,
        cache_read=400 * Decimal("0.5") / M,
        cache_write=Decimal(0),
        total=Decimal("0.00082"),
        source="custom",
    )
    assert plain.cost == streamed.cost == expected
    config = metallm.ClientConfig(prices={"my-model": metallm.ModelPrice(3, 4, currency="EUR")})
    server.enqueue(ScriptedReply(text="x", usage=ScriptedUsage(10, 10)))
    eur = complete(mode, {**kw(server, "openai"), "prices": config.prices}, req("my-model"))
    assert eur.cost is not None and (eur.cost.total, eur.cost.currency) == (
        Decimal("0.00007"),
        "EUR",
    )


@pytest.mark.parametrize(
    "bad",
    [
        {"input": -1, "output": 1},
        {"input": "cheap", "output": 1},
        {"input": 1, "output": float("nan")},
        {"input": 1, "output": True},
        {"input": 1, "output": 1, "cache_read": [1]},
        {"input": 1, "output": 1, "currency": "dollars"},
    ],
)
def test_bad_prices_are_configuration_errors(bad: dict[str, Any]) -> None:
    with pytest.raises(metallm.ConfigurationError, match="ModelPrice"):
        metallm.ModelPrice(**bad)


@pytest.mark.parametrize(
    "prices", [{"gpt-4o": {"input": 1}}, [("gpt-4o", 1)], {"": metallm.ModelPrice(1, 1)}]
)
def test_bad_price_tables_fail_at_construction(prices: Any) -> None:
    with pytest.raises(metallm.ConfigurationError, match="prices"):
        metallm.Client(provider="openai", api_key="sk-x", prices=prices, hooks=[])


@pytest.mark.parametrize("mode", MODES)
def test_a_broken_price_source_warns_once_and_the_call_succeeds(
    server: FakeLLMServer, mode: str, monkeypatch: pytest.MonkeyPatch, caplog: Any
) -> None:
    from metallm import _price_data

    monkeypatch.setattr(_price_data, "_module", [])
    monkeypatch.setitem(sys.modules, "genai_prices", None)  # the import fails
    logger = logging.getLogger("test.pricing.broken")
    with caplog.at_level(logging.WARNING, logger=logger.name):
        for _ in range(3):
            server.enqueue(ScriptedReply(text="ok", usage=ScriptedUsage(10, 5)))
            resp = complete(mode, kw(server, "openai", logger=logger), req("gpt-4o"))
            assert resp.content == "ok" and resp.cost is None
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "price data" in warnings[0].getMessage()


# -- the arithmetic against genai-prices' own, and the corpus ----------------------------------


def _all_models() -> list[Any]:
    snapshot = data_snapshot.get_snapshot()
    return [
        pytest.param(p.id, m.id, id=f"{p.id}/{m.id}")
        for p in snapshot.providers
        if p.id in PRICE_PROVIDERS
        for m in p.models
    ]


USAGES = [
    Usage(prompt_tokens=1000, completion_tokens=500, cached_tokens=300, cache_write_tokens=200),
    Usage(
        prompt_tokens=300_000,
        completion_tokens=5000,
        cached_tokens=100_000,
        cache_write_tokens=50_000,
        reasoning_tokens=4000,
    ),
    Usage(prompt_tokens=7, completion_tokens=3, reasoning_tokens=1),
]


@pytest.mark.parametrize(("provider_id", "model"), _all_models())
def test_fast_arithmetic_equals_genai_prices_calc_price(provider_id: str, model: str) -> None:
    snapshot = data_snapshot.get_snapshot()
    try:
        snapshot.find_provider_model(model, None, provider_id, None)
    except LookupError:
        pytest.skip("the data's own id does not match itself (genai-prices finds it by alias)")
    for tier in (None, "priority", "flex"):
        rates = lookup(provider_id, model, tier)
        assert rates is not None
        for usage in USAGES:
            theirs = snapshot.calc(
                gp.Usage(
                    input_tokens=usage.prompt_tokens,
                    output_tokens=usage.completion_tokens,
                    cache_read_tokens=usage.cached_tokens,
                    cache_write_tokens=usage.cache_write_tokens,
                    output_reasoning_tokens=usage.reasoning_tokens,
                ),
                model,
                provider_id,
                None,
                None,
                {"service_tier": tier} if tier else None,
            )
            ours = pricing.price(rates, usage)
            assert ours is not None
            assert ours.total == theirs.total_price
            assert ours.output == theirs.output_price
            assert ours.input + ours.cache_read + ours.cache_write == theirs.input_price


# Recorded models the price data does not know, and why (anything else must get a cost).
UNPRICED = {
    "ollama": "local models have no price (Ollama is never priced)",
}
_CREDENTIALS = {
    "bedrock": {
        "aws_access_key_id": "AKIDEXAMPLE",
        "aws_secret_access_key": "x",
        "region": "us-east-1",
    }
}


def _inputs(body: dict[str, Any]) -> int:
    """How many texts a recorded embeddings request sent (each wire names them its own way)."""
    for key in ("input", "requests", "instances", "texts"):
        if key in body:
            value = body[key]
            return len(value) if isinstance(value, list) else 1
    return 1  # Vertex embedContent ``content``, Titan ``inputText``: one text


def _corpus() -> list[Any]:
    out = []
    for provider in ("openai", "anthropic", "gemini", "xai", "bedrock", "ollama"):
        for path in corpus_files(provider):
            entry = load_corpus_entry(path)
            if entry.status < 400 and entry.kind in ("chat", "stream", "embeddings"):
                out.append(pytest.param(entry, id=f"{provider}/{path.stem}"))
    return out or [pytest.param(None, id="no-corpus")]


@pytest.mark.parametrize("entry", _corpus())
def test_every_corpus_exchange_with_usage_gets_a_cost_or_a_documented_none(entry: Any) -> None:
    if entry is None:
        pytest.skip("corpus not found (set METALLM_CORPUS)")
    from metallm.provider import HTTPResponse, get_spec

    provider = entry.provider
    if provider == "ollama":  # its OpenAI-compatible recording is not the native wire
        assert pricing.Pricer("ollama").cost("llama3.2", "llama3.2", Usage(prompt_tokens=1)) is None
        return
    codec = get_spec(provider).create("sk-x", None, _CREDENTIALS.get(provider, {}))
    reply = HTTPResponse(200, entry.response_headers, entry.body_bytes)
    body = entry.request_body if isinstance(entry.request_body, dict) else {}
    model = str(body.get("model") or _model_from_path(entry.request_path) or "")
    if entry.kind == "embeddings":
        inputs = ["x"] * _inputs(body)
        request: Any = metallm.EmbeddingsRequest(model=model or "m", input=inputs)
        response: Any = codec.parse_embeddings_response(reply, request)
        usage = response.usage
    elif entry.kind == "stream":
        from _codec_helpers import accumulate, decode_pieces

        chat = metallm.ChatCompletionRequest(model=model or "m", messages=[user("x")])
        response = accumulate(decode_pieces(codec, chat, entry.body_bytes), provider)
        usage = response.usage
    else:
        response = codec.parse_response(reply)
        usage = response.usage
    if usage is None or not (usage.prompt_tokens or getattr(usage, "completion_tokens", 0)):
        pytest.skip("no usage recorded")
    name = response.model or model
    cost = pricing.Pricer(provider).cost(
        name, model, usage, getattr(response, "service_tier", None)
    )
    key = provider if provider in UNPRICED else f"{provider}/{entry.path.stem}"
    if key in UNPRICED:
        assert cost is None, f"{key} is priced now: drop it from UNPRICED"
        return
    assert cost is not None, f"{provider} model {name!r} ({model!r}) has no price: document why"
    assert cost.total > 0 and cost.currency == "USD"
    assert json.dumps(str(cost.total))


def _model_from_path(path: str) -> str | None:
    """Gemini and Bedrock put the model in the path (``models/<m>:`` / ``model/<m>/``)."""
    from urllib.parse import unquote

    for marker in ("/models/", "/model/"):
        if marker in path:
            rest = unquote(path.split(marker, 1)[1])
            return rest.split(":")[0].split("/")[0]
    return None

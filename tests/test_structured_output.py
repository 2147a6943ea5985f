"""``parse`` on every provider through FakeLLMServer (real sockets), sync and async.

Each case checks the typed result and the request body: the schema must travel as the provider
expects it (OpenAI/xAI ``response_format`` strict, Anthropic ``output_config`` or a forced tool,
Gemini ``responseJsonSchema``, Ollama ``format``, Bedrock ``toolChoice.tool``).
"""

from __future__ import annotations

from typing import Any

import pytest

import metallm
from _helpers import MODES
from _structured_helpers import (
    OBJECT_ROOT,
    ORDER,
    PROVIDERS,
    Item,
    Order,
    client_kwargs,
    messages,
    model_for,
    parse,
    reply,
)
from metallm.testing import FakeLLMServer, ScriptedReply, ScriptedToolCall


def _schema_sent(provider: str, body: dict[str, Any], name: str) -> dict[str, Any]:
    """The schema the request carried, asserting it is where the provider reads it."""
    if provider in ("openai", "xai"):
        fmt = body["response_format"]
        assert fmt["type"] == "json_schema"
        assert fmt["json_schema"]["name"] == name and fmt["json_schema"]["strict"] is True
        schema: dict[str, Any] = fmt["json_schema"]["schema"]
    elif provider == "anthropic":
        assert body["output_config"]["format"]["type"] == "json_schema"
        assert "tools" not in body and "tool_choice" not in body
        schema = body["output_config"]["format"]["schema"]
    elif provider == "gemini":
        config = body["generationConfig"]
        assert config["responseMimeType"] == "application/json"
        schema = config["responseJsonSchema"]
    elif provider == "ollama":
        schema = body["format"]
    else:
        assert body["toolConfig"]["toolChoice"] == {"tool": {"name": name}}
        spec = body["toolConfig"]["tools"][-1]["toolSpec"]
        assert spec["name"] == name
        schema = spec["inputSchema"]["json"]
    return schema


def _strict(schema: dict[str, Any]) -> None:
    """Every object of a strict schema requires all its properties and allows no others."""
    for node in [schema, *schema.get("$defs", {}).values()]:
        if node.get("type") == "object":
            assert node["additionalProperties"] is False
            assert node["required"] == list(node["properties"])
    assert "default" not in str(schema)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("provider", PROVIDERS)
def test_parse_nested_model(mode: str, provider: str) -> None:
    with FakeLLMServer() as server:
        server.enqueue(reply(provider, ORDER))
        kw = client_kwargs(server, provider)
        result = parse(mode, kw, Order, model=model_for(provider), messages=messages())
        body = server.last_request.json
    assert isinstance(result, metallm.ParsedResponse)
    assert result.parsed == Order.model_validate(ORDER)
    assert isinstance(result.parsed.items[0], Item)
    assert result.attempts == 1 and result.responses == [result.response]
    assert result.response.usage is not None
    schema = _schema_sent(provider, body, "Order")
    assert set(schema["properties"]) == {"customer", "items", "note"}
    assert "Item" in schema["$defs"]
    if provider in ("openai", "xai", "anthropic"):
        _strict(schema)
        assert schema["required"] == ["customer", "items", "note"]
    else:  # pydantic's own schema: the defaulted field stays optional
        assert schema["required"] == ["customer", "items"]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("provider", PROVIDERS)
def test_parse_a_list(mode: str, provider: str) -> None:
    items = ORDER["items"]
    wrapped = provider in OBJECT_ROOT
    with FakeLLMServer() as server:
        server.enqueue(reply(provider, {"value": items} if wrapped else items, name="list_Item"))
        kw = client_kwargs(server, provider)
        result = parse(mode, kw, list[Item], model=model_for(provider), messages=messages())
        body = server.last_request.json
    assert result.parsed == [Item(name="tea", qty=2), Item(name="cake", qty=1)]
    schema = _schema_sent(provider, body, "list_Item")
    if wrapped:
        assert schema["type"] == "object" and schema["required"] == ["value"]
        assert schema["properties"]["value"]["type"] == "array"
        assert schema["additionalProperties"] is False
    else:
        assert schema["type"] == "array"


@pytest.mark.parametrize("mode", MODES)
def test_anthropic_older_models_get_forced_tool_use(mode: str) -> None:
    with FakeLLMServer() as server:
        call = ScriptedToolCall(name="Order", arguments=ORDER, id="toolu_1")
        server.enqueue(ScriptedReply(tool_calls=[call]))
        kw = client_kwargs(server, "anthropic")
        result = parse(mode, kw, Order, model="claude-3-5-haiku-20241022", messages=messages())
        body = server.last_request.json
    assert result.parsed == Order.model_validate(ORDER)
    assert body["tool_choice"] == {"type": "tool", "name": "Order"}
    tool = body["tools"][-1]
    assert tool["name"] == "Order" and tool["description"] == "An order with its items."
    _strict(tool["input_schema"])
    assert "output_config" not in body


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("provider", PROVIDERS)
def test_validation_retry_then_success(mode: str, provider: str) -> None:
    bad = {"customer": "Ann", "items": [{"name": "tea", "qty": "lots"}]}
    with FakeLLMServer() as server:
        server.enqueue(reply(provider, bad), reply(provider, ORDER))
        kw = client_kwargs(server, provider)
        result = parse(
            mode,
            kw,
            Order,
            model=model_for(provider),
            messages=messages(),
            max_validation_retries=1,
        )
        requests = server.requests
    assert result.parsed == Order.model_validate(ORDER)
    assert result.attempts == 2 and result.response is result.responses[1]
    assert len(requests) == 2
    sent = requests[1].json
    text = str(sent)
    assert "items.0.qty" in text and "Reply again with only the corrected JSON" in text
    assert '"lots"' in text  # the invalid reply went back as the assistant's turn


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("provider", ["openai", "anthropic", "bedrock"])
def test_retries_exhausted_raise_with_every_attempt(mode: str, provider: str) -> None:
    bad = {"customer": "Ann"}
    with FakeLLMServer() as server:
        server.enqueue(reply(provider, bad), reply(provider, bad))
        kw = client_kwargs(server, provider)
        with pytest.raises(metallm.StructuredOutputError) as caught:
            parse(
                mode,
                kw,
                Order,
                model=model_for(provider),
                messages=messages(),
                max_validation_retries=1,
            )
        assert len(server.requests) == 2
    error = caught.value
    assert not isinstance(error, metallm.RefusalError)
    assert len(error.responses) == 2
    assert all(isinstance(r, metallm.ChatCompletionResponse) for r in error.responses)
    assert '"customer"' in error.raw
    assert [e["loc"] for e in error.errors] == [("items",)]
    assert "after 2 attempt(s)" in str(error) and "items: Field required" in str(error)


@pytest.mark.parametrize("mode", MODES)
def test_no_retries_means_one_call(mode: str) -> None:
    with FakeLLMServer() as server:
        server.enqueue(ScriptedReply(text="not json at all"), ScriptedReply(text="{}"))
        kw = client_kwargs(server, "openai")
        with pytest.raises(metallm.StructuredOutputError) as caught:
            parse(mode, kw, Order, model="m-1", messages=messages(), max_validation_retries=0)
        assert len(server.requests) == 1
    assert caught.value.raw == "not json at all"
    assert caught.value.errors[0]["type"] == "json_invalid"


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("provider", ["openai", "xai", "anthropic", "gemini", "bedrock"])
def test_content_filter_finish_is_a_refusal(mode: str, provider: str) -> None:
    with FakeLLMServer() as server:
        refusal = ScriptedReply(text="I can't help with that.", finish_reason="content_filter")
        server.enqueue(refusal)
        kw = client_kwargs(server, provider)
        with pytest.raises(metallm.RefusalError) as caught:
            parse(mode, kw, Order, model=model_for(provider), messages=messages())
        assert len(server.requests) == 1  # a refusal is not re-asked
    assert isinstance(caught.value, metallm.StructuredOutputError)
    assert len(caught.value.responses) == 1
    if provider != "gemini":  # a SAFETY block carries no text on Gemini's wire
        assert caught.value.refusal == "I can't help with that."


@pytest.mark.parametrize("mode", MODES)
def test_openai_refusal_field(mode: str) -> None:
    body = (
        b'{"id":"chatcmpl-1","object":"chat.completion","created":1,"model":"gpt-4o",'
        b'"choices":[{"index":0,"message":{"role":"assistant","content":null,'
        b'"refusal":"I cannot assist with that request."},"finish_reason":"stop"}],'
        b'"usage":{"prompt_tokens":5,"completion_tokens":7,"total_tokens":12}}'
    )
    with FakeLLMServer() as server:
        server.enqueue(ScriptedReply.raw(headers={"content-type": "application/json"}, body=body))
        kw = client_kwargs(server, "openai")
        with pytest.raises(metallm.RefusalError) as caught:
            parse(mode, kw, Order, model="gpt-4o", messages=messages())
    assert caught.value.refusal == "I cannot assist with that request."
    assert "I cannot assist" in str(caught.value)


def test_forced_output_tools_join_the_callers_own_tools() -> None:
    from metallm.providers.anthropic._request import build_body
    from metallm.providers.bedrock._request import build_body as converse_body

    tool = metallm.Tool(
        function=metallm.FunctionDefinition(name="lookup", parameters={"type": "object"})
    )
    schema = {"type": "object", "properties": {"a": {"type": "integer"}}}
    fmt = {"type": "json_schema", "json_schema": {"name": "Answer", "schema": schema}}
    request = metallm.ChatCompletionRequest(
        model="claude-3-haiku-20240307",
        messages=[metallm.Message(role="user", content="hi")],
        tools=[tool],
        response_format=fmt,
    )
    body = build_body(request, provider="anthropic", stream=False)
    assert [t["name"] for t in body["tools"]] == ["lookup", "Answer"]
    assert body["tool_choice"] == {"type": "tool", "name": "Answer"}
    converse = converse_body(request, provider="bedrock")
    names = [t["toolSpec"]["name"] for t in converse["toolConfig"]["tools"]]
    assert names == ["lookup", "Answer"]
    assert converse["toolConfig"]["toolChoice"] == {"tool": {"name": "Answer"}}
    # no JSON mode without a schema on either: json_object is still refused
    plain = request.model_copy(update={"response_format": {"type": "json_object"}})
    with pytest.raises(metallm.UnsupportedFeatureError):
        build_body(plain, provider="anthropic", stream=False)
    with pytest.raises(metallm.UnsupportedFeatureError):
        converse_body(plain, provider="bedrock")

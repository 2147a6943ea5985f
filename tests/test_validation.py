"""Bad input is rejected before any I/O, with a typed ValueError saying what to fix."""

from __future__ import annotations

from typing import Any

import pytest

import metallm
from metallm.testing.fake_provider import FakeProvider


@pytest.mark.parametrize(
    ("messages", "needle"),
    [
        ([], "messages is empty"),
        ([{"role": "wizard", "content": "x"}], "role"),
        ([{"role": "tool", "content": "42"}], "without tool_call_id"),
        (
            [
                {"role": "user", "content": "x"},
                {"role": "assistant", "tool_calls": [{"id": "c1", "function": {"name": "f"}}]},
                {"role": "tool", "content": "42", "tool_call_id": "c2"},
            ],
            "matches no earlier",
        ),
        ([{"role": "user", "content": "x", "tool_call_id": "c1"}], "tool results use role"),
    ],
)
def test_bad_conversations(messages: list[dict[str, Any]], needle: str) -> None:
    fp = FakeProvider()
    client = metallm.Client(custom_provider=fp)
    with pytest.raises(metallm.InvalidRequestError, match=needle) as info:
        client.create_chat_completion(model="m", messages=messages)
    assert isinstance(info.value, ValueError)
    assert fp.requests == []  # nothing was sent


def test_bad_field_values_name_the_field() -> None:
    client = metallm.Client(custom_provider=FakeProvider())
    with pytest.raises(metallm.InvalidRequestError, match="temperature"):
        client.create_chat_completion(
            model="m", messages=[{"role": "user", "content": "x"}], temperature=-1
        )
    with pytest.raises(metallm.InvalidRequestError, match="model"):
        client.create_chat_completion(messages=[{"role": "user", "content": "x"}])
    with pytest.raises(metallm.InvalidRequestError, match="expected a ChatCompletionRequest"):
        client.create_chat_completion(42)  # type: ignore[arg-type]


def test_request_forms_are_equivalent() -> None:
    fp = FakeProvider(["a", "b", "c"])
    client = metallm.Client(custom_provider=fp)
    msgs = [metallm.Message(role="user", content="hi")]
    req = metallm.ChatCompletionRequest(model="m", messages=msgs, max_tokens=5)
    client.create_chat_completion(req)
    client.create_chat_completion(
        {"model": "m", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 5}
    )
    client.create_chat_completion(model="m", messages=msgs, max_tokens=5)
    assert fp.requests[0] == fp.requests[1] == fp.requests[2]
    client2 = metallm.Client(custom_provider=fp)
    client2.create_chat_completion(req, max_tokens=9)
    assert fp.requests[-1].max_tokens == 9 and req.max_tokens == 5


@pytest.mark.parametrize(
    ("kwargs", "needle"),
    [
        ({"temprature": 0.5}, r"unknown field 'temprature' .*did you mean 'temperature'\?"),
        (
            {"messages": [{"role": "user", "contnet": "hi"}]},
            r"unknown field 'messages\[0\]\.contnet' of Message; did you mean 'content'\?",
        ),
        (
            {"messages": [{"role": "user", "content": [{"type": "text", "txt": "hi"}]}]},
            r"'messages\[0\]\.content\[0\]\.txt' of TextPart; did you mean 'text'\?",
        ),
        (
            {"tools": [{"function": {"name": "f", "paramters": {}}}]},
            r"'tools\[0\]\.function\.paramters' of FunctionDefinition; did you mean 'parameters'",
        ),
        ({"messages": [{"role": "user", "content": None}]}, r"messages\[0\] \(user\) has no"),
    ],
)
def test_unknown_fields_and_empty_user_messages_are_refused_before_io(
    kwargs: dict[str, Any], needle: str
) -> None:
    fp = FakeProvider()
    client = metallm.Client(custom_provider=fp)
    request = {"model": "m", "messages": [{"role": "user", "content": "hi"}], **kwargs}
    for form in ({"request": request}, {"kwargs": request}):
        with pytest.raises(metallm.InvalidRequestError, match=needle):
            if "request" in form:
                client.create_chat_completion(form["request"])
            else:
                client.create_chat_completion(**form["kwargs"])
    assert fp.requests == []


def test_provider_specific_fields_go_through_extra_and_raw_formats_stay_free() -> None:
    fp = FakeProvider(["ok"])
    client = metallm.Client(custom_provider=fp)
    client.create_chat_completion(
        model="m",
        messages=[{"role": "user", "content": "hi"}],
        response_format={"type": "json_object", "vendor_flag": True},
        extra={"logprobs": True},
    )
    sent = fp.requests[0]
    assert sent.extra == {"logprobs": True}
    assert sent.response_format == {"type": "json_object", "vendor_flag": True}


def test_user_written_objects_are_checked_while_wire_data_stays_lenient() -> None:
    with pytest.raises(metallm.InvalidRequestError, match="did you mean 'content'"):
        metallm.Message(role="user", contnet="hi")
    # a provider's reply grows fields: parsing it with model_validate keeps working
    reply = metallm.ChatCompletionResponse.model_validate(
        {
            "id": "r",
            "model": "m",
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": "hi", "refusal": None},
                    "finish_reason": "stop",
                    "logprobs": None,
                }
            ],
        }
    )
    assert reply.choices[0].message.content == "hi"

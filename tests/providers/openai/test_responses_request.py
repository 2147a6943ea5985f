"""The Responses API request the codec builds: against every recorded request, and rule by rule.

For each file of ``corpus/openai_responses`` the unified request that says what the recorded
body says is rebuilt, and the body the codec builds from it must equal the recorded one, up to
the two differences metallm makes on purpose (listed in :func:`expected_body`).
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from _codec_helpers import entry_id, require_entry
from metallm.errors import InvalidRequestError, UnsupportedFeatureError
from metallm.provider import HTTPResponse, ProviderSettings
from metallm.providers.openai import OpenAIResponsesProvider, create
from metallm.testing.corpus import CorpusEntry, corpus_files, load_corpus_entry
from metallm.types import (
    AudioPart,
    ChatCompletionRequest,
    DocumentPart,
    FunctionCall,
    FunctionDefinition,
    ImagePart,
    Message,
    ReasoningPart,
    ResponseFormat,
    Role,
    TextPart,
    Tool,
    ToolCall,
)

KEY = "sk-test-responses-SECRET-0123456789"
FOLDER = "openai_responses"


def make() -> OpenAIResponsesProvider:
    codec = create(
        ProviderSettings("openai", KEY, "https://api.openai.com/v1", {"api": "responses"})
    )
    assert isinstance(codec, OpenAIResponsesProvider)
    return codec


def body_of(request: ChatCompletionRequest, *, stream: bool = False) -> dict[str, Any]:
    sent = make().build_request(request, stream=stream)
    return json.loads(sent.content or b"")  # type: ignore[no-any-return]


def request(*messages: Message, model: str = "gpt-4o", **fields: Any) -> ChatCompletionRequest:
    return ChatCompletionRequest(model=model, messages=list(messages), **fields)


def user(text: str = "hi") -> Message:
    return Message(role=Role.USER, content=text)


# --- every recorded request ------------------------------------------------------------------


def unified(recorded: dict[str, Any]) -> ChatCompletionRequest:
    """The unified request that means what the recorded Responses body means."""
    messages: list[Message] = []
    for item in recorded["input"]:
        kind = item.get("type", "message")
        if kind == "function_call":
            call = ToolCall(
                id=item["call_id"],
                function=FunctionCall(name=item["name"], arguments=item["arguments"]),
            )
            if messages and messages[-1].role is Role.ASSISTANT:
                messages[-1].tool_calls = [*(messages[-1].tool_calls or []), call]
            else:
                messages.append(Message(role=Role.ASSISTANT, tool_calls=[call]))
        elif kind == "function_call_output":
            messages.append(
                Message(role=Role.TOOL, tool_call_id=item["call_id"], content=item["output"])
            )
        else:
            messages.append(Message(role=item["role"], content=item["content"]))
    tools = [
        Tool(
            function=FunctionDefinition(
                name=t["name"], description=t.get("description"), parameters=t["parameters"]
            )
        )
        for t in recorded.get("tools", [])
    ]
    reasoning = recorded.get("reasoning") or {}
    extra: dict[str, Any] = {}
    if "store" not in recorded:
        extra["store"] = None  # the recording left it to the server: leave it out too
    if reasoning.get("summary") not in (None, "auto"):
        extra["reasoning"] = reasoning  # a summary other than the one metallm asks for
    return ChatCompletionRequest(
        model=recorded["model"],
        messages=messages,
        tools=tools or None,
        reasoning_effort=reasoning.get("effort"),
        max_tokens=recorded.get("max_output_tokens"),
        extra=extra,
    )


def expected_body(recorded: dict[str, Any]) -> dict[str, Any]:
    """The recorded body with metallm's two deliberate differences applied.

    1. A tool without ``strict`` is sent with ``"strict": false``: the Responses API makes an
       unmarked tool strict, Chat Completions does not, and the unified tool means the same
       on both (the recordings' servers echoed those tools back as ``strict: true``).
    2. ``reasoning_effort`` asks for reasoning summaries (``"summary": "auto"``), which is
       what ``reasoning_content`` reads; and a plain call does not send ``"stream": false``.
    """
    want = copy.deepcopy(recorded)
    for tool in want.get("tools", []):
        tool.setdefault("strict", False)
    reasoning = want.get("reasoning")
    if isinstance(reasoning, dict) and "summary" not in reasoning:
        reasoning["summary"] = "auto"
    if want.get("stream") is False:
        del want["stream"]
    return want


def _entries() -> list[CorpusEntry | None]:
    return [load_corpus_entry(p) for p in corpus_files(FOLDER)] or [None]


@pytest.mark.parametrize("entry", _entries(), ids=entry_id)
def test_the_recorded_request_is_rebuilt_from_its_unified_form(entry: CorpusEntry | None) -> None:
    entry = require_entry(entry, FOLDER)
    recorded = entry.request_body
    sent = make().build_request(unified(recorded), stream=entry.is_stream)
    assert sent.url.endswith(entry.request_path)
    assert json.loads(sent.content or b"") == expected_body(recorded)
    assert sent.headers["content-type"] == entry.request_headers["content-type"]


def test_a_returned_turn_goes_back_with_its_encrypted_reasoning_first() -> None:
    """The recorded reasoning-and-call reply, appended to the history with the tool's result,
    makes the next request send the reasoning item exactly as it came, before the call."""
    path = next(
        (p for p in corpus_files(FOLDER) if p.stem == "chat_function_call_reasoning_encrypted"),
        None,
    )
    entry = require_entry(load_corpus_entry(path) if path else None, FOLDER)
    first = unified(entry.request_body)
    reply = make().parse_response(HTTPResponse(200, entry.response_headers, entry.body_bytes))
    turn = reply.choices[0].message
    call = (turn.tool_calls or [])[0]
    follow = first.model_copy(
        update={
            "messages": [
                *first.messages,
                turn,
                Message(role=Role.TOOL, tool_call_id=call.id, content="1,234,567"),
            ]
        }
    )
    items = body_of(follow)["input"]
    output = json.loads(entry.body_text)["output"]
    assert items[1:] == [
        output[0],  # the reasoning item, byte for byte (id, encrypted_content, summary)
        {
            "type": "function_call",
            "call_id": call.id,
            "name": "lookup_population",
            "arguments": '{"country":"Pundora"}',
        },
        {"type": "function_call_output", "call_id": call.id, "output": "1,234,567"},
    ]
    assert output[0]["encrypted_content"].startswith("gAAAAAB")


# --- the rules, one by one ------------------------------------------------------------------


def test_messages_become_input_items_in_order() -> None:
    png = "iVBORw0KGgo="
    pdf = "JVBERi0xLjQK"
    body = body_of(
        request(
            Message(role=Role.SYSTEM, content="Be brief."),
            Message(
                role=Role.USER,
                name="alice",  # no speaker names on the Responses API: not sent
                content=[
                    TextPart(text="Look:"),
                    ImagePart.from_url("https://example.com/a.png", detail="high"),
                    ImagePart.from_base64(png),
                    DocumentPart.from_base64(pdf, name="report.pdf"),
                    DocumentPart.from_base64(pdf),
                    DocumentPart.from_text("plain notes"),
                    DocumentPart.from_url("https://example.com/q4.pdf"),
                ],
            ),
            Message(
                role=Role.ASSISTANT,
                content="Checking.",
                tool_calls=[
                    ToolCall(id="c1", function=FunctionCall(name="f", arguments='{"x":1}'))
                ],
            ),
            Message(
                role=Role.TOOL,
                tool_call_id="c1",
                content=[TextPart(text="result"), ImagePart.from_base64(png)],
            ),
            Message(role=Role.SYSTEM, content="Now answer."),
            Message(role=Role.ASSISTANT, content=[TextPart(text="Part "), TextPart(text="two")]),
        )
    )
    assert body["input"] == [
        {"role": "system", "content": "Be brief."},
        {
            "role": "user",
            "content": [
                {"type": "input_text", "text": "Look:"},
                {"type": "input_image", "image_url": "https://example.com/a.png", "detail": "high"},
                {
                    "type": "input_image",
                    "image_url": f"data:image/png;base64,{png}",
                    "detail": "auto",
                },
                {
                    "type": "input_file",
                    "filename": "report.pdf",
                    "file_data": f"data:application/pdf;base64,{pdf}",
                },
                {
                    "type": "input_file",
                    "filename": "document.pdf",
                    "file_data": f"data:application/pdf;base64,{pdf}",
                },
                {"type": "input_text", "text": "plain notes"},
                {"type": "input_file", "file_url": "https://example.com/q4.pdf"},
            ],
        },
        {"role": "assistant", "content": "Checking."},
        {"type": "function_call", "call_id": "c1", "name": "f", "arguments": '{"x":1}'},
        {
            "type": "function_call_output",
            "call_id": "c1",
            "output": [
                {"type": "input_text", "text": "result"},
                {
                    "type": "input_image",
                    "image_url": f"data:image/png;base64,{png}",
                    "detail": "auto",
                },
            ],
        },
        {"role": "system", "content": "Now answer."},
        {"role": "assistant", "content": "Part two"},
    ]
    assert body["store"] is False and "stream" not in body and "include" not in body


def test_what_the_responses_api_cannot_take_is_refused_before_any_io() -> None:
    audio = Message(role=Role.USER, content=[AudioPart.from_base64("UklGRg==", "wav")])
    with pytest.raises(
        UnsupportedFeatureError, match=r"audio input \(messages\[0\]\.content\[0\]\)"
    ):
        body_of(request(audio))
    picture = Message(
        role=Role.ASSISTANT, content=[ImagePart.from_url("https://example.com/a.png")]
    )
    with pytest.raises(UnsupportedFeatureError, match=r"non-text parts in an assistant message"):
        body_of(request(user(), picture))
    for field, value in (
        ("stop", ["\n"]),
        ("seed", 7),
        ("frequency_penalty", 0.5),
        ("presence_penalty", 0.1),
        ("top_k", 3),
        ("n", 2),
    ):
        with pytest.raises(UnsupportedFeatureError) as info:
            body_of(request(user(), **{field: value}))
        shown = "n > 1" if field == "n" else field
        assert str(info.value) == (
            f"openai does not support {shown} on the Responses API "
            "(extra={'api': 'chat_completions'} sends it)"
        )
    assert "n" not in body_of(request(user(), n=1))


def test_tools_are_flat_and_not_strict_unless_asked() -> None:
    tools = [
        Tool(
            function=FunctionDefinition(
                name="loose",
                description="d",
                parameters={"type": "object", "properties": {"a": {"type": "string"}}},
            )
        ),
        Tool(
            function=FunctionDefinition(
                name="tight", parameters={"type": "object", "properties": {}}, strict=True
            )
        ),
        Tool(function=FunctionDefinition(name="bare")),
    ]
    body = body_of(
        request(
            user(), tools=tools, tool_choice={"type": "function", "function": {"name": "tight"}}
        )
    )
    assert body["tools"] == [
        {
            "type": "function",
            "name": "loose",
            "description": "d",
            "parameters": {"type": "object", "properties": {"a": {"type": "string"}}},
            "strict": False,
        },
        {
            "type": "function",
            "name": "tight",
            "parameters": {"type": "object", "properties": {}},
            "strict": True,
        },
        {
            "type": "function",
            "name": "bare",
            "parameters": {"type": "object", "properties": {}},
            "strict": False,
        },
    ]
    assert body["tool_choice"] == {"type": "function", "name": "tight"}
    for choice in (
        "auto",
        "none",
        "required",
        {"type": "function", "name": "loose"},
        {"type": "web_search_preview"},
    ):
        assert body_of(request(user(), tools=tools, tool_choice=choice))["tool_choice"] == choice


@pytest.mark.parametrize(
    ("given", "sent"),
    [
        (ResponseFormat(type="json_object"), {"type": "json_object"}),
        (ResponseFormat(type="text"), {"type": "text"}),
        (
            ResponseFormat(
                type="json_schema",
                json_schema={"name": "W", "schema": {"type": "object"}, "strict": True},
            ),
            {"type": "json_schema", "name": "W", "schema": {"type": "object"}, "strict": True},
        ),
        (
            {"type": "json_schema", "json_schema": {"name": "W", "schema": {"type": "object"}}},
            {"type": "json_schema", "name": "W", "schema": {"type": "object"}},
        ),
        (
            {
                "type": "json_schema",
                "name": "W",
                "schema": {},
                "description": "as the API spells it",
            },
            {
                "type": "json_schema",
                "name": "W",
                "schema": {},
                "description": "as the API spells it",
            },
        ),
    ],
)
def test_response_format_becomes_text_format(given: Any, sent: dict[str, Any]) -> None:
    assert body_of(request(user(), response_format=given))["text"] == {"format": sent}


def test_a_json_schema_format_without_a_schema_is_refused() -> None:
    with pytest.raises(InvalidRequestError, match="needs json_schema="):
        body_of(request(user(), response_format=ResponseFormat(type="json_schema")))


@pytest.mark.parametrize(
    ("model", "effort", "include"),
    [
        ("gpt-4o", None, False),
        ("gpt-4.1-mini", None, False),
        ("gpt-5-chat-latest", None, False),
        ("gpt-5", None, True),
        ("gpt-5.5-2026-04-23", None, True),
        ("o3-mini", None, True),
        ("o4-mini", None, True),
        ("openai/o1", None, True),
        ("my-fine-tune", "low", True),  # asking for reasoning says it is a reasoning model
    ],
)
def test_encrypted_reasoning_is_asked_of_reasoning_models(
    model: str, effort: str | None, include: bool
) -> None:
    body = body_of(request(user(), model=model, reasoning_effort=effort))
    assert body.get("include") == (["reasoning.encrypted_content"] if include else None)
    assert body.get("reasoning") == ({"effort": effort, "summary": "auto"} if effort else None)


def test_scalars_and_extra() -> None:
    body = body_of(
        request(
            user(),
            model="gpt-5",
            max_tokens=64,
            temperature=0.2,
            top_p=0.9,
            user="u-1",
            metadata={"k": "v"},
            reasoning_effort="high",
            extra={
                "store": True,
                "include": None,
                "instructions": "Be kind.",
                "parallel_tool_calls": False,
            },
        ),
        stream=True,
    )
    assert body == {
        "model": "gpt-5",
        "input": [{"role": "user", "content": "hi"}],
        "store": True,
        "max_output_tokens": 64,
        "temperature": 0.2,
        "top_p": 0.9,
        "user": "u-1",
        "metadata": {"k": "v"},
        "reasoning": {"effort": "high", "summary": "auto"},
        "stream": True,
        "instructions": "Be kind.",
        "parallel_tool_calls": False,
    }


ITEM = {
    "type": "reasoning",
    "id": "rs_1",
    "encrypted_content": "gAAAA-enc",
    "summary": [{"type": "summary_text", "text": "Hm."}],
}


def test_reasoning_items_go_back_before_the_turn_and_foreign_data_stays_home() -> None:
    call = ToolCall(id="c1", function=FunctionCall(name="f", arguments="{}"))
    turn = Message(
        role=Role.ASSISTANT,
        content="Let me look.",
        tool_calls=[call],
        reasoning=[
            ReasoningPart(text="Hm.", encrypted="gAAAA-enc", provider="openai"),
            ReasoningPart(text="signed elsewhere", signature="sig", provider="anthropic"),
        ],
        provider_data={
            "openai": {"reasoning": [ITEM], "phase": "commentary"},
            "gemini": {"signatures": {"c1": "s"}},
        },
    )
    items = body_of(
        request(user(), turn, Message(role=Role.TOOL, tool_call_id="c1", content="42"))
    )["input"]
    assert items == [
        {"role": "user", "content": "hi"},
        ITEM,
        {"role": "assistant", "content": "Let me look.", "phase": "commentary"},
        {"type": "function_call", "call_id": "c1", "name": "f", "arguments": "{}"},
        {"type": "function_call_output", "call_id": "c1", "output": "42"},
    ]
    foreign = turn.model_copy(update={"provider_data": {"azure_openai": {"reasoning": [ITEM]}}})
    assert (
        ITEM
        not in body_of(
            request(user(), foreign, Message(role=Role.TOOL, tool_call_id="c1", content="42"))
        )["input"]
    )


@pytest.mark.parametrize(
    ("data", "where"),
    [
        ({"reasoning": ITEM}, r"messages\[1\]\.provider_data\.openai\.reasoning must be a list"),
        (
            {"reasoning": ["rs_1"]},
            r"messages\[1\]\.provider_data\.openai\.reasoning\[0\] is not a reasoning item",
        ),
        ({"reasoning": [ITEM, {"type": "message"}]}, r"reasoning\[1\] is not a reasoning item"),
        ({"phase": 2}, r"messages\[1\]\.provider_data\.openai\.phase must be a string"),
    ],
)
def test_unreadable_reasoning_data_is_refused_naming_it(data: dict[str, Any], where: str) -> None:
    turn = Message(role=Role.ASSISTANT, content="x", provider_data={"openai": data})
    with pytest.raises(InvalidRequestError, match=where):
        body_of(request(user(), turn))

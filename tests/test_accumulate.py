"""ChunkAccumulator and finalize_response on hand-built chunks (no provider, no I/O).

Mirrors ``src/metallm/_accumulate.py``: text and reasoning joined per choice, roles, several
choices, tool-call fragments merged by index, the finish-reason and usage rules, the
whole-response normalisation (``tool_calls`` finish, ``total_tokens``) and the first-chunk
metadata.
"""

from __future__ import annotations

import pytest

from metallm._accumulate import ChunkAccumulator, finalize_response
from metallm.types import (
    ChatCompletionChunk,
    ChatCompletionResponse,
    Choice,
    ChunkChoice,
    Delta,
    FunctionCall,
    FunctionCallDelta,
    Message,
    Role,
    ToolCall,
    ToolCallDelta,
    Usage,
)


def part(
    index: int = 0,
    content: str | None = None,
    *,
    reasoning: str | None = None,
    role: Role | None = None,
    tools: list[ToolCallDelta] | None = None,
    finish: str | None = None,
) -> ChunkChoice:
    delta = Delta(role=role, content=content, reasoning_content=reasoning, tool_calls=tools)
    return ChunkChoice(index=index, delta=delta, finish_reason=finish)


def frag(
    index: int, id: str | None = None, name: str | None = None, args: str | None = None
) -> ToolCallDelta:
    return ToolCallDelta(index=index, id=id, function=FunctionCallDelta(name=name, arguments=args))


def chunk(*choices: ChunkChoice, **fields: object) -> ChatCompletionChunk:
    return ChatCompletionChunk(choices=list(choices), **fields)


def usage(prompt: int, completion: int, total: int | None = None) -> Usage:
    total = prompt + completion if total is None else total
    return Usage(prompt_tokens=prompt, completion_tokens=completion, total_tokens=total)


def accumulate(*chunks: ChatCompletionChunk, provider: str = "") -> ChatCompletionResponse:
    acc = ChunkAccumulator(provider)
    for c in chunks:
        acc.add(c)
    return acc.response()


def test_text_is_joined_per_choice() -> None:
    resp = accumulate(
        chunk(part(content="Hel"), id="c1"), chunk(part(content="lo")), chunk(part(content="!"))
    )
    assert [c.message.content for c in resp.choices] == ["Hello!"]
    assert resp.content == "Hello!"
    assert resp.object == "chat.completion"


def test_reasoning_is_kept_apart_from_content() -> None:
    resp = accumulate(
        chunk(part(reasoning="think ")),
        chunk(part(reasoning="hard")),
        chunk(part(content="answer")),
    )
    message = resp.choices[0].message
    assert message.reasoning_content == "think hard"
    assert message.content == "answer"


def test_no_reasoning_means_none() -> None:
    assert accumulate(chunk(part(content="x"))).choices[0].message.reasoning_content is None


def test_role_comes_from_the_first_delta() -> None:
    resp = accumulate(
        chunk(part(role=Role.ASSISTANT, content="")),
        chunk(part(content="a")),
        chunk(part(content="b", finish="stop")),
    )
    assert resp.choices[0].message.role is Role.ASSISTANT
    # no delta named a role: the reply is the assistant's
    assert accumulate(chunk(part(content="x"))).choices[0].message.role is Role.ASSISTANT


def test_several_choices_interleaved() -> None:
    resp = accumulate(
        chunk(part(1, "B1"), part(0, "A1")),
        chunk(part(0, "A2")),
        chunk(part(1, "B2", finish="length")),
        chunk(part(0, finish="stop")),
    )
    assert [c.index for c in resp.choices] == [0, 1]
    assert [c.message.content for c in resp.choices] == ["A1A2", "B1B2"]
    assert [c.finish_reason for c in resp.choices] == ["stop", "length"]


def test_tool_call_fragments_are_merged_by_index() -> None:
    resp = accumulate(
        chunk(part(role=Role.ASSISTANT, tools=[frag(0, "call_1", "get_weather", "")])),
        chunk(part(tools=[frag(0, args='{"city"')])),
        chunk(part(tools=[frag(0, args=': "Paris"}')])),
        chunk(part(finish="tool_calls")),
    )
    message = resp.choices[0].message
    assert message.tool_calls == [
        ToolCall(
            id="call_1", function=FunctionCall(name="get_weather", arguments='{"city": "Paris"}')
        )
    ]
    assert message.content is None
    assert resp.choices[0].finish_reason == "tool_calls"


def test_interleaved_parallel_tool_calls() -> None:
    resp = accumulate(
        chunk(part(tools=[frag(0, "a", "first", '{"x"'), frag(1, "b", "second", '{"y"')])),
        chunk(part(tools=[frag(1, args=": 2}")])),
        chunk(part(tools=[frag(0, args=": 1}")])),
    )
    calls = resp.choices[0].message.tool_calls or []
    assert [(t.id, t.function.name, t.function.arguments) for t in calls] == [
        ("a", "first", '{"x": 1}'),
        ("b", "second", '{"y": 2}'),
    ]


def test_tool_call_fragments_out_of_order_by_index() -> None:
    resp = accumulate(
        chunk(part(tools=[frag(1, "b", "later", "{}")])),
        chunk(part(tools=[frag(0, "a", "earlier", '{"k":')])),
        chunk(part(tools=[frag(0, args=" true}")])),
    )
    calls = resp.choices[0].message.tool_calls or []
    assert [(t.id, t.function.name, t.function.arguments) for t in calls] == [
        ("a", "earlier", '{"k": true}'),
        ("b", "later", "{}"),
    ]


def test_tool_call_id_and_name_come_from_the_first_fragment() -> None:
    # The module docstring: "the first fragment brings the id and name, later ones append
    # argument text". Some servers repeat an id (or send a fresh one) on later fragments.
    resp = accumulate(
        chunk(part(tools=[frag(0, "call_first", "lookup", '{"q":')])),
        chunk(part(tools=[frag(0, "call_later", "other", ' "x"}')])),
    )
    (call,) = resp.choices[0].message.tool_calls or []
    assert call.function.name == "lookup"
    assert call.function.arguments == '{"q": "x"}'
    assert call.id == "call_first"


def test_tool_call_without_id_or_arguments_gets_stable_defaults() -> None:
    acc = ChunkAccumulator()
    acc.add(chunk(part(tools=[frag(0, "given", "a", "{}"), frag(1, name="b")])))
    first, second = acc.response().choices[0].message.tool_calls or []
    assert first.id == "given"
    assert second.id == "call_0_1"  # the decoders' convention: call_<choice>_<tool>
    assert second.function.arguments == "{}"
    assert [t.id for t in acc.response().choices[0].message.tool_calls or []] == [
        "given",
        "call_0_1",
    ]


@pytest.mark.parametrize("said", ["stop", "length", None])
def test_a_choice_with_tool_calls_finishes_tool_calls(said: str | None) -> None:
    resp = accumulate(
        chunk(part(0, tools=[frag(0, "t", "f", "{}")]), part(1, "plain")),
        chunk(part(0, finish=said), part(1, finish="stop")),
    )
    assert [c.finish_reason for c in resp.choices] == ["tool_calls", "stop"]


def test_text_before_tool_calls_is_kept() -> None:
    resp = accumulate(
        chunk(part(content="Let me check.")), chunk(part(tools=[frag(0, "t", "f", "{}")]))
    )
    assert resp.choices[0].message.content == "Let me check."
    assert resp.choices[0].finish_reason == "tool_calls"


def test_a_choice_without_content_or_tools_has_empty_text() -> None:
    resp = accumulate(chunk(part(role=Role.ASSISTANT)), chunk(part(finish="stop")))
    assert resp.choices[0].message.content == ""
    assert resp.choices[0].message.tool_calls is None


def test_finish_reason_last_value_wins() -> None:
    resp = accumulate(
        chunk(part(content="a", finish="length")),
        chunk(part(finish="stop")),
        chunk(part(content="")),  # a later chunk without a finish reason keeps it
    )
    assert resp.choices[0].finish_reason == "stop"


def test_finish_reasons_in_index_order() -> None:
    acc = ChunkAccumulator()
    acc.add(chunk(part(2, "c", finish="length"), part(0, "a", finish="stop"), part(1, "b")))
    assert acc.finish_reasons() == ["stop", None, "length"]
    assert acc.finish_reasons(missing="error") == ["stop", "error", "length"]


def test_the_last_usage_carrying_chunk_wins() -> None:
    # xAI sends a running usage in every chunk; OpenAI one at the end; some send a partial
    # usage first. Whatever came last is the call's usage.
    resp = accumulate(
        chunk(part(content="a"), usage=usage(10, 1)),
        chunk(part(content="b"), usage=usage(10, 2)),
        chunk(part(content="c")),
        chunk(usage=usage(12, 3)),
        chunk(part(finish="stop")),
    )
    assert resp.usage is not None
    assert (resp.usage.prompt_tokens, resp.usage.completion_tokens) == (12, 3)
    assert resp.usage.total_tokens == 15


def test_usage_details_come_with_the_last_usage() -> None:
    last = Usage(prompt_tokens=7, completion_tokens=5, cached_tokens=4, reasoning_tokens=2)
    resp = accumulate(chunk(usage=Usage(prompt_tokens=7, cached_tokens=1)), chunk(usage=last))
    assert resp.usage is not None
    assert (resp.usage.cached_tokens, resp.usage.reasoning_tokens) == (4, 2)


def test_no_usage_anywhere_means_none() -> None:
    assert accumulate(chunk(part(content="x"))).usage is None


def test_total_tokens_is_prompt_plus_completion() -> None:
    resp = accumulate(chunk(part(content="x"), usage=usage(5, 3, total=99)))
    assert resp.usage is not None and resp.usage.total_tokens == 8


def test_finalize_response_applies_the_rules_to_a_plain_response() -> None:
    call = ToolCall(id="t1", function=FunctionCall(name="f", arguments="{}"))
    resp = ChatCompletionResponse(
        choices=[
            Choice(
                message=Message(role=Role.ASSISTANT, content="", tool_calls=[call]),
                finish_reason="stop",
            ),
            Choice(
                index=1, message=Message(role=Role.ASSISTANT, content="hi"), finish_reason="stop"
            ),
        ],
        usage=usage(4, 6, total=0),
    )
    assert finalize_response(resp) is resp
    assert resp.choices[0].finish_reason == "tool_calls"
    assert resp.choices[0].message.content is None
    assert resp.choices[1].finish_reason == "stop"
    assert resp.choices[1].message.content == "hi"
    assert resp.usage is not None and resp.usage.total_tokens == 10
    assert finalize_response(ChatCompletionResponse()).usage is None


def test_id_model_created_come_from_the_first_chunk_that_has_them() -> None:
    resp = accumulate(
        chunk(part(content="a")),
        chunk(part(content="b"), id="chatcmpl-1", created=1700000000),
        chunk(part(content="c"), id="chatcmpl-2", model="gpt-x-2024", created=1700000009),
        chunk(part(content="d"), model="gpt-x-other"),
        provider="openai",
    )
    assert (resp.id, resp.model, resp.created) == ("chatcmpl-1", "gpt-x-2024", 1700000000)
    assert resp.provider == "openai"


def test_system_fingerprint_is_carried() -> None:
    resp = accumulate(chunk(part(content="a")), chunk(part(content="b"), system_fingerprint="fp_1"))
    assert resp.system_fingerprint == "fp_1"


def test_an_empty_stream_accumulates_to_no_choices() -> None:
    resp = ChunkAccumulator("xai").response()
    assert resp.choices == []
    assert resp.usage is None
    assert (resp.id, resp.model, resp.created, resp.provider) == ("", "", 0, "xai")
    assert ChunkAccumulator().finish_reasons() == []


def test_a_response_midway_does_not_disturb_the_rest() -> None:
    acc = ChunkAccumulator()
    acc.add(chunk(part(content="ab", tools=[frag(0, "t", "f", '{"a":')])))
    early = acc.response()
    acc.add(chunk(part(content="cd", tools=[frag(0, args=" 1}")], finish="stop")))
    late = acc.response()
    assert early.content == "ab"
    assert (early.choices[0].message.tool_calls or [])[0].function.arguments == '{"a":'
    assert late.content == "abcd"
    assert (late.choices[0].message.tool_calls or [])[0].function.arguments == '{"a": 1}'


def test_a_stream_accumulates_to_the_equal_plain_response() -> None:
    streamed = accumulate(
        chunk(part(role=Role.ASSISTANT, content=""), id="r1", model="m", created=5),
        chunk(part(reasoning="hmm")),
        chunk(part(content="Sure", tools=[frag(0, "t1", "f", '{"a": 1}')])),
        chunk(part(finish="stop")),
        chunk(usage=usage(3, 4)),
        provider="p",
    )
    call = ToolCall(id="t1", function=FunctionCall(name="f", arguments='{"a": 1}'))
    message = Message(
        role=Role.ASSISTANT, content="Sure", tool_calls=[call], reasoning_content="hmm"
    )
    plain = finalize_response(
        ChatCompletionResponse(
            id="r1",
            created=5,
            model="m",
            provider="p",
            choices=[Choice(message=message, finish_reason="stop")],
            usage=usage(3, 4),
        )
    )
    assert streamed == plain


def test_finalising_leaves_the_chunks_already_delivered_untouched() -> None:
    last = chunk(usage=usage(3, 4, total=99))  # a provider's own (inconsistent) total
    resp = accumulate(chunk(part(0, content="hi")), last)
    assert resp.usage is not None and resp.usage.total_tokens == 7
    assert last.usage is not None and last.usage.total_tokens == 99  # what the user read
    assert resp.usage is not last.usage


def test_the_chunk_ending_a_choice_with_tool_calls_itself_says_tool_calls() -> None:
    ending = chunk(part(0, finish="stop"))
    accumulate(chunk(part(0, tools=[frag(0, id="c1", name="f", args="{}")])), ending)
    assert ending.choices[0].finish_reason == "tool_calls"
    plain_end = chunk(part(0, finish="stop"))
    accumulate(chunk(part(0, content="hi")), plain_end)
    assert plain_end.choices[0].finish_reason == "stop"


# --- the rules the chunk checks (tests/_chunk_rules.py) rely on, one by one -----------------


def test_usage_of_two_candidates_finishing_apart_is_the_last_one() -> None:
    # Gemini with two candidates: each finishing event brings a larger running usage.
    acc = ChunkAccumulator()
    acc.add(chunk(part(0, "a"), part(1, "b")))
    acc.add(chunk(part(1, finish="stop"), usage=usage(9, 14)))
    acc.add(chunk(part(0, "c", finish="stop"), usage=usage(9, 21)))
    assert acc.usage is not None and acc.usage.completion_tokens == 21
    resp = acc.response()
    assert resp.usage is not None
    assert (resp.usage.prompt_tokens, resp.usage.completion_tokens) == (9, 21)


def test_a_later_chunk_without_usage_does_not_erase_it() -> None:
    acc = ChunkAccumulator()
    acc.add(chunk(part(content="a"), usage=usage(4, 1)))
    acc.add(chunk(part(content="b"), usage=usage(4, 2)))
    for _ in range(3):
        acc.add(chunk(part(content="")))
    acc.add(chunk(part(finish="stop")))
    resp = acc.response()
    assert resp.usage is not None
    assert (resp.usage.prompt_tokens, resp.usage.completion_tokens, resp.usage.total_tokens) == (
        4,
        2,
        6,
    )


def test_parallel_calls_of_two_choices_interleaved_and_out_of_order() -> None:
    resp = accumulate(
        chunk(part(1, tools=[frag(1, "b1", "time", '{"tz"')]), part(0, role=Role.ASSISTANT)),
        chunk(part(0, tools=[frag(0, "a0", "weather", "")]), part(1, tools=[frag(0, "b0", "now")])),
        chunk(part(1, tools=[frag(0, args="{}"), frag(1, args=': "UTC"}')])),
        chunk(part(0, tools=[frag(1, "a1", "news", '{"q": 1}'), frag(0, args='{"city":')])),
        chunk(part(0, tools=[frag(0, args=' "Oslo"}')])),
        chunk(part(1, finish="tool_calls"), part(0, finish="tool_calls")),
    )
    got = [
        [(t.id, t.function.name, t.function.arguments) for t in c.message.tool_calls or []]
        for c in resp.choices
    ]
    assert got == [
        [("a0", "weather", '{"city": "Oslo"}'), ("a1", "news", '{"q": 1}')],
        [("b0", "now", "{}"), ("b1", "time", '{"tz": "UTC"}')],
    ]
    assert [c.finish_reason for c in resp.choices] == ["tool_calls", "tool_calls"]


def test_two_choices_interleaved_keep_their_own_text_tools_and_finish() -> None:
    plain_end = part(0, finish="stop")
    tool_end = part(1, finish="stop")
    resp = accumulate(
        chunk(part(0, "Sun", role=Role.ASSISTANT), part(1, role=Role.ASSISTANT)),
        chunk(part(1, tools=[frag(0, "t", "weather", "{}")]), part(0, "ny")),
        chunk(plain_end, tool_end),
    )
    assert [(c.index, c.message.content, c.finish_reason) for c in resp.choices] == [
        (0, "Sunny", "stop"),
        (1, None, "tool_calls"),
    ]
    assert resp.choices[0].message.tool_calls is None
    # the chunk the user read: only the choice that called tools is corrected
    assert (plain_end.finish_reason, tool_end.finish_reason) == ("stop", "tool_calls")


@pytest.mark.parametrize("said", ["stop", "length", "content_filter"])
def test_the_chunk_ending_a_tool_choice_is_corrected_whatever_was_said(said: str) -> None:
    ending = part(0, finish=said)
    resp = accumulate(chunk(part(0, tools=[frag(0, "c1", "f", "{}")])), chunk(ending))
    assert ending.finish_reason == "tool_calls"
    assert resp.choices[0].finish_reason == "tool_calls"


def test_last_value_rules_for_the_stream_fields() -> None:
    # id, model and created: the first non-empty value; system_fingerprint: the last one.
    resp = accumulate(
        chunk(part(content="a"), id="", model="", created=0, system_fingerprint=None),
        chunk(part(content="b"), id="r-1", model="m-1", created=7, system_fingerprint="fp_1"),
        chunk(part(content="c"), id="r-2", model="m-2", created=9, system_fingerprint="fp_2"),
        chunk(part(content="d"), id="", model="", created=0, system_fingerprint=""),
        chunk(part(finish="stop"), system_fingerprint=None),
    )
    assert (resp.id, resp.model, resp.created) == ("r-1", "m-1", 7)
    assert resp.system_fingerprint == "fp_2"


def test_a_role_given_is_kept_until_another_is_given() -> None:
    acc = ChunkAccumulator()
    acc.add(chunk(part(0, "", role=Role.ASSISTANT), part(1, "x")))
    acc.add(chunk(part(0, "a"), part(1, "y")))
    acc.add(chunk(part(0, finish="stop"), part(1, finish="stop")))
    assert [c.message.role for c in acc.response().choices] == [Role.ASSISTANT, Role.ASSISTANT]
    later = accumulate(chunk(part(role=Role.USER)), chunk(part(content="b", role=Role.ASSISTANT)))
    assert later.choices[0].message.role is Role.ASSISTANT  # the last role given wins


def test_a_call_keeps_the_first_id_and_name_it_was_given() -> None:
    # A head without an id (the decoders synthesise one, but a custom provider may not): the
    # first fragment that brings an id sets it; later ids and names never replace them, and
    # an empty name on a later fragment does not erase the first.
    resp = accumulate(
        chunk(part(tools=[frag(0, name="lookup", args="")])),
        chunk(part(tools=[frag(0, "call_late", args='{"q":')])),
        chunk(part(tools=[frag(0, "call_later", "", ' "x"}')])),
        chunk(part(tools=[frag(0, name="renamed")])),
    )
    (call,) = resp.choices[0].message.tool_calls or []
    assert (call.id, call.function.name, call.function.arguments) == (
        "call_late",
        "lookup",
        '{"q": "x"}',
    )

"""The stream rule checker (``_chunk_rules.check_stream``) itself: a good stream passes, and
each rule rejects its own violation, so a green ``test_stream_chunks`` means the rules held
rather than that the checker looked away."""

from __future__ import annotations

from typing import Any

import pytest

import metallm
from _chunk_rules import check_stream
from metallm._accumulate import ChunkAccumulator


def _good() -> list[metallm.ChatCompletionChunk]:
    def c(delta: dict[str, Any], finish: str | None = None, **fields: Any) -> Any:
        choice = {"index": 0, "delta": delta, "finish_reason": finish}
        return metallm.ChatCompletionChunk.model_validate(
            {"id": "r", "model": "m", "choices": [choice], **fields}
        )

    head = {"index": 0, "id": "c1", "type": "function", "function": {"name": "f", "arguments": "{"}}
    return [
        c({"role": "assistant", "content": "Hi"}),
        c({"tool_calls": [head]}),
        c({"tool_calls": [{"index": 0, "function": {"arguments": "}"}}]}),
        c({}, "tool_calls"),
        metallm.ChatCompletionChunk.model_validate(
            {"id": "r", "choices": [], "usage": {"prompt_tokens": 3, "completion_tokens": 2}}
        ),
    ]


def _fold(chunks: list[metallm.ChatCompletionChunk]) -> metallm.ChatCompletionResponse:
    acc = ChunkAccumulator("p")
    for chunk in chunks:
        acc.add(chunk.model_copy(deep=True))  # the fold must not correct what is checked
    return acc.response()


def _tool(chunks: list[metallm.ChatCompletionChunk], position: int) -> Any:
    return (chunks[position].choices[0].delta.tool_calls or [])[0]


def _break(rule: str, chunks: list[metallm.ChatCompletionChunk]) -> None:
    first, usage_chunk = chunks[0].choices[0], chunks[4]
    if rule == "no role first":
        first.delta.role = None
    elif rule == "tool index by block":
        _tool(chunks, 1).index = 1
        _tool(chunks, 2).index = 1
    elif rule == "id repeated":
        _tool(chunks, 2).id = "c1"
    elif rule == "name repeated":
        fn = _tool(chunks, 2).function
        fn.name = "f"
    elif rule == "no name on head":
        _tool(chunks, 1).function.name = None
    elif rule == "finish twice":
        chunks[2].choices[0].finish_reason = "tool_calls"
    elif rule == "finish before the choice's last chunk":
        chunks[3].choices[0].delta.content = "late"
        chunks[2].choices[0].finish_reason, chunks[3].choices[0].finish_reason = "tool_calls", None
    elif rule == "tool choice finishes stop":
        chunks[3].choices[0].finish_reason = "stop"
    elif rule == "usage on a middle chunk":
        chunks[1].usage = usage_chunk.usage
    elif rule == "no usage at the end":
        chunks[3].usage, usage_chunk.usage = usage_chunk.usage, None
    else:
        raise AssertionError(rule)


BROKEN = [
    "no role first",
    "tool index by block",
    "id repeated",
    "name repeated",
    "no name on head",
    "finish twice",
    "finish before the choice's last chunk",
    "tool choice finishes stop",
    "usage on a middle chunk",
    "no usage at the end",
]


def test_the_checker_accepts_a_good_stream() -> None:
    chunks = _good()
    check_stream(chunks, _fold(chunks), usage_at="last")


@pytest.mark.parametrize("rule", BROKEN)
def test_the_checker_rejects_each_broken_rule(rule: str) -> None:
    chunks = _good()
    _break(rule, chunks)
    with pytest.raises(AssertionError):
        check_stream(chunks, _fold(chunks), usage_at="last")


def test_the_checker_rejects_a_final_response_that_disagrees_with_the_chunks() -> None:
    chunks = _good()
    first_usage = _fold(chunks)
    assert first_usage.usage is not None
    first_usage.usage.completion_tokens = 1  # as if an earlier usage had been kept
    with pytest.raises(AssertionError, match="last usage seen"):
        check_stream(chunks, first_usage, usage_at="last")
    wrong_text = _fold(chunks)
    wrong_text.choices[0].message.content = "Hi!"
    with pytest.raises(AssertionError, match="joined deltas"):
        check_stream(chunks, wrong_text, usage_at="last")

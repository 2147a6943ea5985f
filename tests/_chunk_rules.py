"""The rules every stream's chunks obey, checked on the chunks a user reads.

Comparing accumulated responses alone lets faults through that show only in the chunks
themselves (tool calls numbered by content block, a finish reason on the wrong chunk) or that
two folds share (the first usage kept instead of the last). :func:`check_stream` states the
contract once, for every provider:

- the first delta of each choice carries the role ``assistant`` (and no later one another);
- a choice's tool-call deltas use the indices 0..n-1, each new one the next in order of first
  appearance; the first delta of a call brings its id and function name, later deltas bring
  argument text only;
- each choice's finish reason comes exactly once, on that choice's last chunk (a later
  usage-only chunk that leaves the choice out is fine), and is ``tool_calls`` exactly when the
  choice made tool calls;
- usage sits where the provider puts it (``usage_at``) and the stream's last chunk carries it;
  ``final_response().usage`` is the last usage seen (``total_tokens`` normalised);
- ``final_response()`` is what the chunks add up to, folded here independently of
  :class:`metallm._accumulate.ChunkAccumulator`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from metallm.types import ChatCompletionChunk, ChatCompletionResponse, ChunkChoice, Role, Usage

__all__ = ["FINISH_REASONS", "UsageAt", "check_stream"]

UsageAt = Literal["last", "every", "from_finish", "none"]
"""Where a provider's stream carries usage: only on its last chunk (OpenAI with
``include_usage``, Anthropic's ``message_delta``, Gemini with one candidate, Ollama's done
line, Bedrock's ``metadata``); on every chunk (xAI's running usage); on every chunk from the
first one that finishes a choice (Gemini with several candidates: its running usage is sent
once a candidate has finished); or nowhere."""

FINISH_REASONS = {"stop", "length", "tool_calls", "content_filter", "error"}


@dataclass
class _Call:
    id: str
    name: str
    arguments: list[str] = field(default_factory=list)


@dataclass
class _Choice:
    """What one choice's chunks say, read straight off them."""

    positions: list[int] = field(default_factory=list)
    content: list[str] = field(default_factory=list)
    reasoning: list[str] = field(default_factory=list)
    calls: dict[int, _Call] = field(default_factory=dict)
    order: list[int] = field(default_factory=list)
    finishes: list[tuple[int, str]] = field(default_factory=list)


def check_stream(
    chunks: list[ChatCompletionChunk],
    final: ChatCompletionResponse,
    *,
    usage_at: UsageAt,
    finish_sent: bool = True,
) -> None:
    """Assert every chunk rule (see the module docstring) on ``chunks`` and ``final``.

    ``finish_sent=False`` is for a recorded server that sends no finish reason at all: then no
    chunk may invent one, and ``final_response()`` has only the normalised ``tool_calls``.
    """
    assert chunks, "the stream yielded no chunk"
    choices: dict[int, _Choice] = {}
    for position, chunk in enumerate(chunks):
        indices = [cc.index for cc in chunk.choices]
        assert len(set(indices)) == len(indices), f"chunk {position}: a choice twice {indices}"
        for cc in chunk.choices:
            _read_choice(choices.setdefault(cc.index, _Choice()), position, cc)
    assert choices, "no chunk carried a choice"
    for index, seen in choices.items():
        if finish_sent:
            _check_finish(index, seen)
        else:
            assert not seen.finishes, f"choice {index}: finish reasons {seen.finishes}"
    _check_usage(chunks, final, usage_at)
    _check_final(chunks, choices, final)


def _read_choice(seen: _Choice, position: int, cc: ChunkChoice) -> None:
    where = f"choice {cc.index}, chunk {position}"
    delta = cc.delta
    if not seen.positions:
        assert delta.role is Role.ASSISTANT, f"{where}: the first delta has role {delta.role!r}"
    else:
        assert delta.role in (None, Role.ASSISTANT), f"{where}: a later role {delta.role!r}"
    seen.positions.append(position)
    if delta.content:
        seen.content.append(delta.content)
    if delta.reasoning_content:
        seen.reasoning.append(delta.reasoning_content)
    for td in delta.tool_calls or ():
        fn = td.function
        name = fn.name if fn is not None else None
        arguments = fn.arguments if fn is not None else None
        call = seen.calls.get(td.index)
        if call is None:
            assert td.index == len(seen.order), (
                f"{where}: tool call index {td.index} after {seen.order} (want {len(seen.order)})"
            )
            assert td.id, f"{where}: tool call {td.index} has no id on its first delta"
            assert name, f"{where}: tool call {td.index} has no name on its first delta"
            call = seen.calls[td.index] = _Call(td.id, name)
            seen.order.append(td.index)
        else:
            assert not td.id, f"{where}: tool call {td.index} repeats an id ({td.id!r})"
            assert not name, f"{where}: tool call {td.index} repeats a name ({name!r})"
        if arguments:
            call.arguments.append(arguments)
    if cc.finish_reason is not None:
        seen.finishes.append((position, cc.finish_reason))


def _check_finish(index: int, seen: _Choice) -> None:
    assert len(seen.finishes) == 1, f"choice {index}: finish reasons {seen.finishes}"
    ((position, reason),) = seen.finishes
    assert position == seen.positions[-1], (
        f"choice {index}: finished on chunk {position}, but its last chunk is {seen.positions[-1]}"
    )
    assert reason in FINISH_REASONS, f"choice {index}: finish reason {reason!r}"
    if seen.calls:
        assert reason == "tool_calls", f"choice {index} made tool calls but finished {reason!r}"
    else:
        assert reason != "tool_calls", f"choice {index} finished tool_calls without a tool call"


def _check_usage(
    chunks: list[ChatCompletionChunk], final: ChatCompletionResponse, usage_at: UsageAt
) -> None:
    carrying = [i for i, c in enumerate(chunks) if c.usage is not None]
    if usage_at == "none":
        assert not carrying, f"usage on chunks {carrying} of a stream that has none"
        assert final.usage is None
        return
    last = len(chunks) - 1
    assert carrying and carrying[-1] == last, f"usage on chunks {carrying}, not the last ({last})"
    if usage_at == "last":
        assert carrying == [last], f"usage on chunks {carrying}, expected only the last ({last})"
    elif usage_at == "every":
        assert carrying == list(range(len(chunks))), f"usage only on chunks {carrying}"
    else:
        finished = [i for i, c in enumerate(chunks) if any(cc.finish_reason for cc in c.choices)]
        assert finished, "usage from the first finish on, but no chunk finishes a choice"
        assert carrying == list(range(finished[0], len(chunks))), (
            f"usage on chunks {carrying}, expected from the first finish ({finished[0]}) on"
        )
    seen = chunks[last].usage
    assert isinstance(seen, Usage)
    assert final.usage is not None, "the stream carried usage but final_response() has none"
    assert final.usage.model_dump(exclude={"total_tokens"}) == seen.model_dump(
        exclude={"total_tokens"}
    ), f"final usage {final.usage!r} is not the last usage seen {seen!r}"
    assert final.usage.total_tokens == final.usage.prompt_tokens + final.usage.completion_tokens


def _first(values: list[str]) -> str:
    return next((v for v in values if v), "")


def _check_final(
    chunks: list[ChatCompletionChunk], choices: dict[int, _Choice], final: ChatCompletionResponse
) -> None:
    assert final.id == _first([c.id for c in chunks])
    assert final.model == _first([c.model for c in chunks])
    assert final.created == next((c.created for c in chunks if c.created), 0)
    fingerprints = [c.system_fingerprint for c in chunks if c.system_fingerprint]
    assert final.system_fingerprint == (fingerprints[-1] if fingerprints else None)
    assert [c.index for c in final.choices] == sorted(choices)
    for got in final.choices:
        seen = choices[got.index]
        message = got.message
        calls = [
            (seen.calls[i].id, seen.calls[i].name, "".join(seen.calls[i].arguments) or "{}")
            for i in seen.order
        ]
        assert [
            (t.id, t.function.name, t.function.arguments) for t in message.tool_calls or ()
        ] == calls, f"choice {got.index}: tool calls disagree with the chunks"
        text = "".join(seen.content)
        assert message.content == (None if calls and not text else text), (
            f"choice {got.index}: content {message.content!r} is not the joined deltas {text!r}"
        )
        assert message.reasoning_content == ("".join(seen.reasoning) or None)
        assert message.role is Role.ASSISTANT
        said = seen.finishes[0][1] if seen.finishes else ("tool_calls" if calls else None)
        assert got.finish_reason == said, f"choice {got.index}: final finish {got.finish_reason!r}"

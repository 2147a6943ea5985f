"""Folding streamed chunks into one :class:`ChatCompletionResponse`: the only place that does.

Streams and plain calls must end as equal responses, so the normalisation rules that apply to a
whole response (a choice with tool calls finishes ``tool_calls``; ``total_tokens`` is prompt plus
completion) live here in :func:`finalize_response`, which the plain-call path applies too.
Tool-call fragments are merged per choice by their ``index``: the first fragment brings the id
and name, later ones append argument text, and parallel calls may arrive interleaved. The
chunk that ends a choice which carried tool calls is itself corrected to ``tool_calls`` as it
is folded in (a stream is accumulated before each chunk reaches the user), so the chunks and
``final_response()`` never disagree, whatever the provider sent.

Reasoning fragments are merged per choice by their ``index`` too (text and signature fragments
concatenate, as Anthropic streams a signature after its thinking) into the signed
:class:`~metallm.ReasoningPart` list the next turn sends back, stamped with the provider that
issued them; ``provider_data`` fragments merge key by key (nested dicts merged, any other value
replaced by the later one).
"""

from __future__ import annotations

from typing import Any

from .types import (
    ChatCompletionChunk,
    ChatCompletionResponse,
    Choice,
    FinishReason,
    FunctionCall,
    Message,
    ReasoningPart,
    Role,
    ToolCall,
    Usage,
)

__all__ = ["ChunkAccumulator", "finalize_response", "merge_provider_data"]


class _ToolCallParts:
    __slots__ = ("arguments", "id", "name")

    def __init__(self) -> None:
        self.id: str | None = None
        self.name: str = ""
        self.arguments: list[str] = []


class _ReasoningParts:
    __slots__ = ("encrypted", "signature", "text")

    def __init__(self) -> None:
        self.text: list[str] = []
        self.signature: list[str] = []
        self.encrypted: str | None = None


class _ChoiceParts:
    __slots__ = (
        "blocks",
        "content",
        "finish_reason",
        "provider_data",
        "reasoning",
        "role",
        "tools",
    )

    def __init__(self) -> None:
        self.role: Role = Role.ASSISTANT
        self.content: list[str] = []
        self.reasoning: list[str] = []
        self.tools: dict[int, _ToolCallParts] = {}
        self.blocks: dict[int, _ReasoningParts] = {}
        self.provider_data: dict[str, Any] | None = None
        self.finish_reason: FinishReason | None = None


def merge_provider_data(into: dict[str, Any], fragment: dict[str, Any]) -> None:
    """Merge ``fragment`` into ``into``: nested dicts key by key, other values replaced."""
    for key, value in fragment.items():
        current = into.get(key)
        if isinstance(current, dict) and isinstance(value, dict):
            merged = dict(current)
            merge_provider_data(merged, value)
            into[key] = merged
        else:
            into[key] = value


class ChunkAccumulator:
    """Collects chunks as they pass and builds the response they add up to.

    ``add`` is on the per-chunk hot path, so it only appends to lists; joining happens once in
    :meth:`response`. ``issuer`` is the codec name reasoning parts are stamped with (the
    client's provider name by default).
    """

    __slots__ = (
        "_choices",
        "created",
        "id",
        "issuer",
        "model",
        "provider",
        "service_tier",
        "system_fingerprint",
        "usage",
    )

    def __init__(self, provider: str = "", issuer: str | None = None) -> None:
        self.provider = provider
        self.issuer = provider if issuer is None else issuer
        self.id = ""
        self.model = ""
        self.created = 0
        self.system_fingerprint: str | None = None
        self.service_tier: str | None = None
        self.usage: Usage | None = None
        self._choices: dict[int, _ChoiceParts] = {}

    def add(self, chunk: ChatCompletionChunk) -> None:
        """Fold one chunk in."""
        if chunk.id and not self.id:
            self.id = chunk.id
        if chunk.model and not self.model:
            self.model = chunk.model
        if chunk.created and not self.created:
            self.created = chunk.created
        if chunk.system_fingerprint:
            self.system_fingerprint = chunk.system_fingerprint
        if chunk.service_tier:
            self.service_tier = chunk.service_tier
        if chunk.usage is not None:
            self.usage = chunk.usage
        for cc in chunk.choices:
            parts = self._choices.get(cc.index)
            if parts is None:
                parts = self._choices[cc.index] = _ChoiceParts()
            delta = cc.delta
            if delta.content:
                parts.content.append(delta.content)
            if delta.reasoning_content:
                parts.reasoning.append(delta.reasoning_content)
            if delta.role is not None:
                parts.role = delta.role
            if delta.tool_calls:
                for td in delta.tool_calls:
                    tool = parts.tools.get(td.index)
                    if tool is None:
                        tool = parts.tools[td.index] = _ToolCallParts()
                    if td.id and tool.id is None:  # the first fragment brings the id
                        tool.id = td.id
                    fn = td.function
                    if fn is not None:
                        if fn.name and not tool.name:
                            tool.name = fn.name
                        if fn.arguments:
                            tool.arguments.append(fn.arguments)
            if delta.reasoning:
                for rd in delta.reasoning:
                    block = parts.blocks.get(rd.index)
                    if block is None:
                        block = parts.blocks[rd.index] = _ReasoningParts()
                    if rd.text:
                        block.text.append(rd.text)
                    if rd.signature:
                        block.signature.append(rd.signature)
                    if rd.encrypted:
                        block.encrypted = rd.encrypted
            if delta.provider_data:
                if parts.provider_data is None:
                    parts.provider_data = {}
                merge_provider_data(parts.provider_data, delta.provider_data)
            if cc.finish_reason is not None:
                if parts.tools and cc.finish_reason != "tool_calls":
                    cc.finish_reason = "tool_calls"  # the chunk the user reads says so too
                parts.finish_reason = cc.finish_reason

    def finish_reasons(self, missing: FinishReason | None = None) -> list[FinishReason | None]:
        """Each choice's finish reason in index order; ``missing`` for those that never got one."""
        return [self._choices[i].finish_reason or missing for i in sorted(self._choices)]

    def response(self) -> ChatCompletionResponse:
        """The response the chunks seen so far add up to, normalised."""
        choices = []
        for index in sorted(self._choices):
            parts = self._choices[index]
            tool_calls = [
                ToolCall.model_construct(
                    id=t.id or f"call_{index}_{ti}",
                    type="function",
                    function=FunctionCall.model_construct(
                        name=t.name, arguments="".join(t.arguments) or "{}"
                    ),
                )
                for ti, t in sorted(parts.tools.items())
            ]
            message = Message.model_construct(
                role=parts.role,
                content="".join(parts.content) if parts.content or not tool_calls else None,
                name=None,
                tool_calls=tool_calls or None,
                tool_call_id=None,
                reasoning_content="".join(parts.reasoning) if parts.reasoning else None,
                reasoning=[
                    ReasoningPart.model_construct(
                        type="reasoning",
                        text="".join(b.text),
                        signature="".join(b.signature) or None,
                        encrypted=b.encrypted,
                        provider=self.issuer,
                    )
                    for _, b in sorted(parts.blocks.items())
                ]
                or None,
                provider_data=parts.provider_data,
                cache_control=None,
            )
            choices.append(
                Choice.model_construct(
                    index=index, message=message, finish_reason=parts.finish_reason
                )
            )
        return finalize_response(
            ChatCompletionResponse.model_construct(
                id=self.id,
                object="chat.completion",
                created=self.created,
                model=self.model,
                provider=self.provider,
                choices=choices,
                # a copy: finalising must not change a chunk the user already received
                usage=self.usage.model_copy() if self.usage is not None else None,
                system_fingerprint=self.system_fingerprint,
                service_tier=self.service_tier,
            )
        )


def finalize_response(response: ChatCompletionResponse) -> ChatCompletionResponse:
    """Apply the whole-response normalisation rules in place and return the response."""
    for choice in response.choices:
        if choice.message.tool_calls:
            choice.finish_reason = "tool_calls"
            if choice.message.content == "":
                choice.message.content = None  # as a stream of only tool calls accumulates
    usage = response.usage
    if usage is not None:
        usage.total_tokens = usage.prompt_tokens + usage.completion_tokens
    return response

"""``LLMCallInfo``: what a hook knows about one call, and the record of each sub-request.

The exchange fills it; hooks only read it (and keep their own scratch state in ``state``).
Everything a telemetry backend needs that depends on the provider (the semconv provider name,
whether system prompts travel apart from the history, its own span attributes) arrives here
from the provider itself, so hooks never need to know a provider by name.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from ..types import ChatCompletionRequest, ChatCompletionResponse

__all__ = ["LLMCallInfo", "Operation", "RouteInfo", "StreamEndReason", "SubRequest", "clock"]

StreamEndReason = Literal["complete", "closed", "error", "garbage_collected"]

Operation = Literal["chat", "embeddings"]
"""The operation of a call: its ``gen_ai.operation.name``."""

ProviderAttributes = Callable[
    [ChatCompletionRequest, ChatCompletionResponse | None], Mapping[str, str | bool | int | float]
]
"""A provider's ``span_attributes(request, response or None)`` function (the codec kit's
``metallm.provider.SpanAttributes``)."""

_ids = itertools.count(1)


def _no_secrets(text: str) -> str:
    return text


def clock() -> tuple[float, float]:
    """Now, as ``(epoch seconds, perf_counter)``: a call's start, taken as the user called.

    A public method reads it before it checks its input, so the call's span and duration
    cover what the caller times, first-call work (building validators) included.
    """
    return time.time(), time.perf_counter()


@dataclass(frozen=True)
class SubRequest:
    """One of several requests a call was split into (a long embeddings input list).

    ``index`` is its position, ``inputs`` how many inputs it carried, ``start_ns``/``end_ns``
    wall-clock nanoseconds, ``input_tokens`` what the provider counted (None on failure) and
    ``error`` why it failed, if it did.
    """

    index: int
    inputs: int
    start_ns: int
    end_ns: int
    input_tokens: int | None = None
    error: BaseException | None = None


@dataclass
class RouteInfo:
    """A routed call (:class:`~metallm.Router`), as the hooks see it on the info of the call
    that stands for it: the outer call, or the one attempt when a single target was eligible.

    ``strategy`` is the router's, ``tried`` the names of the targets attempted so far (in
    order), ``target`` the name of the one that answered (None until one has), ``attempts``
    how many attempts were made, ``eligible`` how many targets could serve the call.
    """

    strategy: str
    eligible: int
    tried: list[str] = field(default_factory=list)
    target: str | None = None
    attempts: int = 0


@dataclass
class LLMCallInfo:
    """What a hook knows about one call; ``state`` is free scratch space for hooks.

    ``operation`` is ``chat`` or ``embeddings`` (the request and response types follow it).
    ``provider_name`` is metallm's name of the provider, ``semconv_name`` its
    ``gen_ai.provider.name`` value (Gemini on Vertex AI: ``gcp.vertex_ai``; empty means the
    same as ``provider_name``), and
    ``system_instructions_apart`` says whether the provider takes system prompts apart from the
    history (so content capture reports them as ``gen_ai.system_instructions``).
    ``span_attributes`` is the provider's own span-attribute function (None for most), which
    a tracing hook calls once after a chat call to put provider-specific attributes on the
    span only (OpenAI's ``openai.response.system_fingerprint``, ...).
    ``start_time`` is wall-clock epoch seconds, ``start_perf`` the ``perf_counter`` reading at
    the same moment (for durations). ``retries`` counts retries made so far. For streams the
    client measures ``time_to_first_chunk`` (seconds from the start of the call) and
    ``chunk_gaps`` (seconds before each later chunk), so hooks read them instead of timing
    every chunk themselves. ``sub_requests`` lists the requests a split call was sent as (empty
    when it was sent as one). ``capture_content`` is the client's message-content setting
    (None: the hook's own or the environment's). ``redact`` scrubs the client's secrets from a
    text, for hooks that export message content or error texts. ``parent`` is the outer call
    this call is one attempt of (a ``parse`` whose re-asks are each a call): the outer call's
    own info, shown to the hooks' ``before_outer``/``after_outer`` (:mod:`metallm.hooks`), so a
    tracing hook parents this call's span under the outer one; None for a call on its own.
    A call a router made carries the ``target`` name it went to and its ``attempt`` number
    (1 for the first target tried); ``route`` is set on the info that stands for a whole
    routed call (:class:`RouteInfo`).
    """

    call_id: str
    provider_name: str
    model: str
    start_time: float
    start_perf: float
    streaming: bool = False
    is_async: bool = False
    server_address: str = ""
    server_port: int = 0
    conversation_id: str | None = None
    retries: int = 0
    end_reason: StreamEndReason | None = None
    time_to_first_chunk: float | None = None
    chunk_gaps: list[float] = field(default_factory=list, repr=False)
    capture_content: str | None = None
    redact: Callable[[str], str] = field(default=_no_secrets, repr=False)
    state: dict[Any, Any] = field(default_factory=dict, repr=False)
    operation: Operation = "chat"
    semconv_name: str = ""
    system_instructions_apart: bool = False
    sub_requests: list[SubRequest] = field(default_factory=list, repr=False)
    span_attributes: ProviderAttributes | None = field(default=None, repr=False)
    parent: LLMCallInfo | None = field(default=None, repr=False)
    target: str | None = None
    attempt: int = 0
    route: RouteInfo | None = field(default=None, repr=False)

    @classmethod
    def start(
        cls,
        provider_name: str,
        model: str,
        *,
        streaming: bool,
        is_async: bool,
        server_address: str = "",
        server_port: int = 0,
        conversation_id: str | None = None,
        capture_content: str | None = None,
        redact: Callable[[str], str] = _no_secrets,
        operation: Operation = "chat",
        semconv_name: str = "",
        system_instructions_apart: bool = False,
        started: tuple[float, float] | None = None,
        span_attributes: ProviderAttributes | None = None,
        parent: LLMCallInfo | None = None,
    ) -> LLMCallInfo:
        """Info for a call starting now (or at ``started``, a :func:`clock` reading), with a
        process-unique ``call_id``."""
        wall, perf = started or clock()
        return cls(
            f"call-{next(_ids)}",
            provider_name,
            model,
            wall,
            perf,
            streaming,
            is_async,
            server_address,
            server_port,
            conversation_id,
            capture_content=capture_content,
            redact=redact,
            operation=operation,
            semconv_name=semconv_name or provider_name,
            system_instructions_apart=system_instructions_apart,
            span_attributes=span_attributes,
            parent=parent,
        )

    @property
    def elapsed(self) -> float:
        """Seconds since the call started."""
        return time.perf_counter() - self.start_perf

"""The parse flow: an outer call running chat attempts (re-asks) from the client's one pump.

:func:`prepare` checks the input and shapes the schema before any I/O: the response model
(:func:`~metallm.structured._schema.output_schema`), ``max_validation_retries`` (an int >= 0),
and that the request does not already ask for its own ``response_format``. :func:`parse_flow` is
a generator of the exchange's actions, so ``Client`` drives it with ``run`` and ``AsyncClient``
with ``arun``: nothing is written twice. It opens an outer call (:mod:`metallm._outer_call`: one
INTERNAL span for the parse in the OTel hook), runs ``Exchange.complete`` with that call as the
parent (one CLIENT span, its own HTTP retries and metrics, per attempt), validates the reply, and
on a validation failure tells the hooks (a ``validation_retry`` event) and re-asks with the
invalid reply and the errors appended (:func:`~metallm.structured._reply.feedback`), until
``max_validation_retries`` re-asks are spent: then :class:`~metallm.StructuredOutputError`.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from .._actions import Flow
from .._exchange import Exchange
from .._outer_call import begin_outer, end_outer
from ..errors import InvalidRequestError, StructuredOutputError
from ..hooks import clock
from ..types import ChatCompletionRequest, ChatCompletionResponse
from ._reply import feedback, reply_text
from ._result import ParsedResponse
from ._schema import Shaped, output_schema

__all__ = ["parse_flow", "prepare"]


def prepare(
    exchange: Exchange, response_model: Any, request: ChatCompletionRequest, retries: int = 0
) -> tuple[ChatCompletionRequest, Shaped]:
    """The request asking for the model's schema, and the shape its replies validate with."""
    if type(retries) is not int or retries < 0:
        raise InvalidRequestError(f"max_validation_retries must be an int >= 0, got {retries!r}")
    if request.response_format is not None:
        raise InvalidRequestError(
            "parse sets response_format from response_model; leave response_format unset"
        )
    provider = exchange.provider
    shape = output_schema(response_model).shaped(
        bool(getattr(provider, "json_schema_strict", False)),
        bool(getattr(provider, "json_schema_object_root", True)),
    )
    return request.model_copy(update={"response_format": shape.response_format}), shape


def parse_flow(
    exchange: Exchange,
    response_model: Any,
    request: ChatCompletionRequest,
    retries: int,
    started: tuple[float, float] | None = None,
) -> Flow[ParsedResponse[Any]]:
    """``parse``: attempts until a reply validates, or ``retries`` re-asks are spent."""
    started = started or clock()
    asked, shape = prepare(exchange, response_model, request, retries)
    name = str((shape.response_format.json_schema or {}).get("name", ""))
    outer = begin_outer(exchange, asked, started)
    responses: list[ChatCompletionResponse] = []
    try:
        current = asked
        attempt = 0
        while True:
            response = yield from exchange.complete(current, None, started, outer)
            started = None  # later attempts start when they are sent
            responses.append(response)
            text = reply_text(response, name, responses)
            try:
                value = shape.validate(text)
            except ValidationError as exc:
                errors = exc.errors(include_url=False)
                if attempt >= retries:
                    raise StructuredOutputError(
                        f"the reply did not validate as {_name(response_model)} after "
                        f"{attempt + 1} attempt(s): {_summary(errors)}",
                        raw=text,
                        errors=errors,
                        responses=responses,
                    ) from None
                attempt += 1
                if exchange.hooks:
                    exchange.hooks.on_outer_event(
                        outer,
                        "validation_retry",
                        {"attempt": attempt, "error_count": len(errors)},
                    )
                messages = [*current.messages, *feedback(text, errors)]
                current = current.model_copy(update={"messages": messages})
                continue
            result: ParsedResponse[Any] = ParsedResponse(value, response, responses, text)
            break
    except BaseException as exc:
        end_outer(exchange, outer, asked, responses[-1] if responses else None, exc)
        raise
    end_outer(exchange, outer, asked, response, None)
    return result


def _name(response_model: Any) -> str:
    from ._schema import type_name

    return type_name(response_model)


def _summary(errors: list[Any]) -> str:
    first = errors[0] if errors else {}
    where = ".".join(str(p) for p in first.get("loc", ())) or "(top level)"
    more = f" (+{len(errors) - 1} more)" if len(errors) > 1 else ""
    return f"{where}: {first.get('msg', 'invalid')}{more}"

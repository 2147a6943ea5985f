"""What ``parse`` returns: the typed value and the response(s) it came from."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

from ..types import ChatCompletionResponse

__all__ = ["ParsedResponse"]

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class ParsedResponse(Generic[T]):
    """A validated structured answer.

    ``parsed`` is the response model's instance (or value, for ``list[Item]`` and the like),
    ``response`` the :class:`~metallm.ChatCompletionResponse` it came from (usage, cost, model,
    finish reason), ``responses`` every attempt's response in order (more than one after a
    validation retry: their usage and cost all count), ``raw`` the JSON text that validated.
    """

    parsed: T
    response: ChatCompletionResponse
    responses: list[ChatCompletionResponse]
    raw: str

    @property
    def attempts(self) -> int:
        """How many model calls the answer took (1 + the validation retries)."""
        return len(self.responses)

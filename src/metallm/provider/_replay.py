"""What a codec may send back of an assistant message: its own reasoning and data, never another's.

A conversation can change providers between turns (a fallback, a user switching models), so an
assistant message may hold reasoning blocks signed by Anthropic and then be sent to Gemini. A
signature is only valid for the provider that issued it, and sending it elsewhere gets the
request refused; so every codec reads a message's :attr:`~metallm.Message.reasoning` and
:attr:`~metallm.Message.provider_data` through :func:`sent_back`, which keeps what ``provider``
issued and drops the rest with one debug log line (the turn's text and tool calls still go).
"""

from __future__ import annotations

import logging
from typing import Any

from ..types import Message, ReasoningPart

__all__ = ["sent_back"]

_log = logging.getLogger("metallm")


def sent_back(provider: str, message: Message) -> tuple[list[ReasoningPart], dict[str, Any] | None]:
    """The reasoning parts ``provider`` issued and the data it stored under its name.

    Cheap for the common message, which has neither (two attribute reads).
    """
    parts = message.reasoning
    data = message.provider_data
    if not parts and not data:
        return [], None
    own = [p for p in parts if p.provider == provider] if parts else []
    mine = data.get(provider) if data else None
    foreign = {str(p.provider) for p in parts or () if p.provider != provider}
    foreign.update(k for k in data or () if k != provider)
    if foreign:
        _log.debug(
            "%s: not sending the reasoning signatures or provider data of %s (a signature is "
            "only valid for the provider that issued it)",
            provider,
            ", ".join(sorted(foreign)),
        )
    return own, mine if isinstance(mine, dict) else None

"""Building the ``POST /v1/messages`` body from a unified request.

Anthropic differs from the unified (Chat Completions) shape in ways this module owns:

* system messages leave the conversation for the top-level ``system`` string (joined by a
  blank line when there are several);
* ``max_tokens`` is required: it defaults to the model's catalog output limit capped at 8192
  (4096 for an unknown model), and is raised above the thinking budget when thinking is on;
* tool results (role ``tool``) become ``tool_result`` blocks inside a user turn, consecutive
  results merged into one turn; tool calls become ``tool_use`` blocks whose ``input`` is the
  parsed JSON ``arguments`` object;
* images become ``image`` blocks: ``data:`` URLs as ``base64`` sources, others as ``url``;
* documents become ``document`` blocks (``title`` from the part's name): an inline PDF as a
  ``base64`` source, inline plain text as a ``text`` source holding the decoded text, a PDF
  URL as a ``url`` source; a plain-text URL is refused (Anthropic's URL source is for PDFs),
  and so is audio (the Messages API takes none);
* ``reasoning_effort`` (minimal/low/medium/high) becomes ``thinking`` with a token budget;
* ``cache_control`` (a :class:`~metallm.types.CacheControl` on a message, part or tool) goes on
  the block it marks (``_cache``): a part's on its block, a message's on its last block (a
  string content becomes one text block to carry it), a tool result's on its ``tool_result``
  block, a tool's on its definition; a system message with one turns ``system`` into a list of
  text blocks (the plain string stays when no system message is marked);
* ``tool_choice`` maps ``auto``/``required``(``any``)/``none``/a named function onto
  Anthropic's ``{"type": ...}`` objects; ``stop`` becomes ``stop_sequences``; ``user`` becomes
  ``metadata.user_id``.

A ``json_schema`` ``response_format`` uses Anthropic's structured outputs
(``output_config.format``, generally available, no beta header) on the models that have them
(:func:`supports_structured_output`) and forced tool use (a tool named after the schema,
``tool_choice: {"type": "tool"}``) on the others.

An assistant message's signed thinking (its :attr:`~metallm.Message.reasoning` parts issued
by this provider: ``thinking`` with its ``signature``, ``redacted_thinking`` with its data) is
sent back first, before its text and ``tool_use`` blocks, byte-exact, as the API requires when a
thinking model's tool use continues; reasoning text without a signature is not sent (the API
rejects unsigned thinking), nor is another provider's. Fields Anthropic cannot honour
(``n > 1``, ``seed``, penalties, ``json_object`` ``response_format``, metadata other than
``user_id``)
raise :class:`~metallm.errors.UnsupportedFeatureError` before any I/O. ``request.extra`` is
merged last (a ``None`` value removes a field).
"""

from __future__ import annotations

import json
from typing import Any

from ...errors import InvalidRequestError, UnsupportedFeatureError
from ...models import model_info
from ...provider import json_schema_format, refuse_fields, response_format_type, sent_back
from ...types import (
    AudioPart,
    ChatCompletionRequest,
    ContentPart,
    DocumentPart,
    ImagePart,
    Message,
    Role,
    Tool,
)
from ._cache import (
    MESSAGES,
    TOOLS,
    Placed,
    check,
    is_marked,
    mark,
    mark_last,
    marked_user,
    system_blocks,
)

__all__ = ["THINKING_BUDGETS", "build_body", "default_max_tokens"]

THINKING_BUDGETS = {"minimal": 1024, "low": 1024, "medium": 4096, "high": 16384}
"""``reasoning_effort`` -> ``thinking.budget_tokens``."""

_MAX_DEFAULT = 8192
_UNKNOWN_MODEL_DEFAULT = 4096


def default_max_tokens(model: str) -> int:
    """``max_tokens`` to send when the request has none."""
    info = model_info(model)
    if info is None or info.max_output_tokens <= 0:
        return _UNKNOWN_MODEL_DEFAULT
    return min(info.max_output_tokens, _MAX_DEFAULT)


def _block(
    provider: str, part: ContentPart | dict[str, Any], marks: Placed, i: int, j: int
) -> dict[str, Any]:
    if isinstance(part, dict):
        return dict(part)  # a raw wire-format block, passed through
    block: dict[str, Any]
    if isinstance(part, ImagePart):
        inline = part.inline_data()
        if inline is not None:
            media_type, data = inline
            source = {"type": "base64", "media_type": media_type, "data": data}
            block = {"type": "image", "source": source}
        else:
            block = {"type": "image", "source": {"type": "url", "url": part.image_url.url}}
    elif isinstance(part, DocumentPart):
        block = _document(part, provider)
    elif isinstance(part, AudioPart):
        raise UnsupportedFeatureError(provider, "audio input (AudioPart)")
    else:
        block = {"type": "text", "text": part.text}
    if part.cache_control is not None:  # the same for every part type: new parts need no more
        where = f"messages[{i}].content[{j}]"
        mark(marks, provider, block, part.cache_control, where, MESSAGES)
    return block


def _document(part: DocumentPart, provider: str) -> dict[str, Any]:
    source: dict[str, Any]
    if part.url is not None:
        if part.mime_type != "application/pdf":
            raise UnsupportedFeatureError(provider, f"{part.mime_type} documents by URL")
        source = {"type": "url", "url": part.url}
    elif part.mime_type == "text/plain":
        source = {"type": "text", "media_type": "text/plain", "data": part.text()}
    else:
        source = {"type": "base64", "media_type": part.mime_type, "data": part.data}
    block: dict[str, Any] = {"type": "document", "source": source}
    if part.name:
        block["title"] = part.name
    return block


def _content(
    provider: str, content: str | list[ContentPart] | None, marks: Placed, i: int
) -> str | list[dict[str, Any]]:
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    return [_block(provider, p, marks, i, j) for j, p in enumerate(content)]


def _arguments(provider: str, text: str) -> Any:
    try:
        return json.loads(text) if text.strip() else {}
    except ValueError:
        raise InvalidRequestError(
            f"{provider}: tool call arguments are not JSON: {text[:80]!r}"
        ) from None


def _thinking(provider: str, message: Message) -> list[dict[str, Any]]:
    """The message's signed thinking blocks, as Anthropic issued them."""
    blocks: list[dict[str, Any]] = []
    for part in sent_back(provider, message)[0]:
        if part.encrypted is not None:
            blocks.append({"type": "redacted_thinking", "data": part.encrypted})
        elif part.signature is not None:
            blocks.append({"type": "thinking", "thinking": part.text, "signature": part.signature})
    return blocks


def _assistant(provider: str, message: Message, marks: Placed, i: int) -> dict[str, Any]:
    blocks = _thinking(provider, message)
    content = message.content
    if isinstance(content, str):
        if content:
            blocks.append({"type": "text", "text": content})
    elif content:
        blocks.extend(_block(provider, p, marks, i, j) for j, p in enumerate(content))
    for call in message.tool_calls or ():
        blocks.append(
            {
                "type": "tool_use",
                "id": call.id,
                "name": call.function.name,
                "input": _arguments(provider, call.function.arguments),
            }
        )
    if message.cache_control is not None:
        mark_last(provider, blocks, message, marks, i)
    if not blocks:
        return {"role": "assistant", "content": ""}
    if len(blocks) == 1 and blocks[0]["type"] == "text" and "cache_control" not in blocks[0]:
        return {"role": "assistant", "content": blocks[0]["text"]}
    return {"role": "assistant", "content": blocks}


def _tool_result(provider: str, message: Message, marks: Placed, i: int) -> dict[str, Any]:
    if not message.tool_call_id:
        raise InvalidRequestError(f"{provider}: a tool message needs tool_call_id")
    block = {
        "type": "tool_result",
        "tool_use_id": message.tool_call_id,
        "content": _content(provider, message.content, marks, i),
    }
    if message.cache_control is not None:
        mark(marks, provider, block, message.cache_control, f"messages[{i}]", MESSAGES)
    return block


def _messages(
    provider: str, messages: list[Message], marks: Placed
) -> tuple[str | list[dict[str, Any]] | None, list[dict[str, Any]]]:
    system: list[str] = []
    system_at: list[int] = []
    system_marked = False
    out: list[dict[str, Any]] = []
    for i, message in enumerate(messages):
        role = message.role
        if role is Role.SYSTEM:
            if isinstance(message.content, list) and any(
                isinstance(p, (DocumentPart, AudioPart)) for p in message.content
            ):  # ``system`` is text only: a document there would be lost, so it is refused
                raise UnsupportedFeatureError(provider, "documents or audio in system messages")
            system.append(message.text())
            system_at.append(i)
            if message.cache_control is not None or type(message.content) is list:
                system_marked = system_marked or is_marked(message)
        elif role is Role.TOOL:
            block = _tool_result(provider, message, marks, i)
            last = out[-1] if out else None
            if (
                last is not None
                and last["role"] == "user"
                and isinstance(last["content"], list)
                and last["content"]
                and all(b.get("type") == "tool_result" for b in last["content"])
            ):
                last["content"].append(block)  # consecutive results share one user turn
            else:
                out.append({"role": "user", "content": [block]})
        elif role is Role.ASSISTANT:
            out.append(_assistant(provider, message, marks, i))
        else:
            content = _content(provider, message.content, marks, i)
            if message.cache_control is not None:
                content = marked_user(provider, content, message, marks, i)
            out.append({"role": "user", "content": content})
    if system_marked:
        return system_blocks(provider, messages, system_at, marks), out
    return ("\n\n".join(system) if system else None), out


def _tool(provider: str, tool: Tool, marks: Placed, k: int) -> dict[str, Any]:
    fn = tool.function
    spec = {
        "name": fn.name,
        "description": fn.description or "",
        "input_schema": fn.parameters or {"type": "object", "properties": {}},
    }
    if tool.cache_control is not None:
        mark(marks, provider, spec, tool.cache_control, f"tools[{k}]", TOOLS)
    return spec


def _tool_choice(provider: str, choice: str | dict[str, Any]) -> dict[str, Any]:
    if isinstance(choice, str):
        mapped = {"auto": "auto", "required": "any", "any": "any", "none": "none"}.get(choice)
        if mapped is None:
            raise InvalidRequestError(f"{provider}: unknown tool_choice {choice!r}")
        return {"type": mapped}
    if choice.get("type") == "function":
        fn = choice.get("function")
        name = fn.get("name") if isinstance(fn, dict) else None
        if not isinstance(name, str):
            raise InvalidRequestError(f"{provider}: tool_choice function needs a name")
        return {"type": "tool", "name": name}
    return dict(choice)  # already Anthropic-shaped ({"type": "tool", "name": ...} and the like)


_STRUCTURED_OUTPUT_MODELS = (
    "claude-opus-4-1",
    "claude-opus-4-5",
    "claude-sonnet-4-5",
    "claude-haiku-4-5",
    "claude-opus-4-6",
    "claude-sonnet-4-6",
)
"""Model name prefixes with Anthropic's structured outputs (``output_config.format``), per its
structured-outputs page; any other model gets forced tool use."""


def supports_structured_output(model: str) -> bool:
    """Whether ``model`` takes ``output_config.format`` (a dated or aliased name of a model
    listed in :data:`_STRUCTURED_OUTPUT_MODELS`)."""
    return model.startswith(_STRUCTURED_OUTPUT_MODELS)


def _structured_output(body: dict[str, Any], request: ChatCompletionRequest, provider: str) -> None:
    """A ``json_schema`` response format: ``output_config.format`` (constrained decoding, the
    JSON arrives as the text) on the models that have it, else a tool whose ``input_schema`` is
    the schema, forced with ``tool_choice`` (the core reads the JSON from that tool call).
    Forced tool use cannot be combined with extended thinking, which Anthropic refuses."""
    fmt = json_schema_format(request.response_format, provider)
    if fmt is None:
        return
    if supports_structured_output(request.model):
        config = body.setdefault("output_config", {})
        config["format"] = {"type": "json_schema", "schema": fmt.schema}
        return
    tool = {
        "name": fmt.name,
        "description": fmt.description or "Answer with the structured result.",
        "input_schema": fmt.schema,
    }
    body.setdefault("tools", []).append(tool)
    body["tool_choice"] = {"type": "tool", "name": fmt.name}


def _check_unsupported(provider: str, request: ChatCompletionRequest) -> None:
    if request.n is not None and request.n > 1:
        raise UnsupportedFeatureError(provider, "n")
    refuse_fields(request, provider, "seed", "frequency_penalty", "presence_penalty")
    kind = response_format_type(request.response_format)
    if request.response_format is not None and kind not in ("text", "json_schema"):
        raise UnsupportedFeatureError(provider, "response_format")
    if request.metadata and set(request.metadata) - {"user_id"}:
        raise UnsupportedFeatureError(provider, "metadata")


def build_body(
    request: ChatCompletionRequest,
    *,
    provider: str,
    stream: bool,
) -> dict[str, Any]:
    """The request body as a dict (see the module docstring for the rules)."""
    _check_unsupported(provider, request)
    marks: Placed = []
    system, messages = _messages(provider, request.messages, marks)
    body: dict[str, Any] = {"model": request.model, "messages": messages}
    body["max_tokens"] = (
        request.max_tokens if request.max_tokens is not None else default_max_tokens(request.model)
    )
    if system is not None:
        body["system"] = system
    for name in ("temperature", "top_p", "top_k"):
        value = getattr(request, name)
        if value is not None:
            body[name] = value
    stops = request.stop_sequences()
    if stops:
        body["stop_sequences"] = stops
    metadata = dict(request.metadata or {})
    if request.user is not None:
        metadata["user_id"] = request.user
    if metadata:
        body["metadata"] = metadata
    if request.tools is not None:
        body["tools"] = [_tool(provider, t, marks, k) for k, t in enumerate(request.tools)]
    if marks:
        check(marks, provider)
    if request.tool_choice is not None:
        body["tool_choice"] = _tool_choice(provider, request.tool_choice)
    _structured_output(body, request, provider)
    effort = request.reasoning_effort
    if effort is not None and effort != "none":
        budget = THINKING_BUDGETS.get(effort)
        if budget is None:
            raise UnsupportedFeatureError(provider, "reasoning_effort")
        body["thinking"] = {"type": "enabled", "budget_tokens": budget}
    if stream:
        body["stream"] = True
    for key, value in request.extra.items():
        if value is None:
            body.pop(key, None)
        else:
            body[key] = value
    _fit_thinking_budget(body, "max_tokens" in request.extra)
    return body


def _fit_thinking_budget(body: dict[str, Any], max_from_extra: bool) -> None:
    """Thinking needs ``max_tokens > budget_tokens``: the answer gets its own allowance on top."""
    thinking = body.get("thinking")
    if max_from_extra or not isinstance(thinking, dict) or thinking.get("type") != "enabled":
        return
    budget = thinking.get("budget_tokens")
    max_tokens = body.get("max_tokens")
    if type(budget) is int and type(max_tokens) is int and max_tokens <= budget:
        body["max_tokens"] = budget + max_tokens

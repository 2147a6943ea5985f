"""Building the OpenAI Responses API request body (``POST {base_url}/responses``).

Followed: OpenAI's API reference for "Create a model response" and the request types of the
official ``openai-python`` SDK (``types/responses``: ``EasyInputMessageParam``,
``ResponseInputImageParam``, ``ResponseInputFileParam``, ``ResponseReasoningItemParam``,
``ResponseFunctionToolCallParam``, ``FunctionCallOutput``, ``FunctionToolParam``,
``ResponseFormatTextJSONSchemaConfigParam``), checked against the recorded requests of
``shared/corpus/openai_responses``. The unified request becomes:

* ``messages`` -> ``input`` items, in order. System and user messages are
  ``{"role", "content"}`` items (the API takes ``system`` items anywhere in the input, so a
  system message stays exactly where the history put it; ``instructions`` is left to
  ``extra``); text is a string, parts are ``input_text`` / ``input_image`` / ``input_file``.
  An assistant turn is its reasoning items (sent back from ``provider_data``, see below), its
  text as an assistant item (with the ``phase`` its message came with), then one
  ``function_call`` item per tool call (``call_id``, ``name``, ``arguments``). A tool result
  is a ``function_call_output`` item (``call_id``, ``output``). ``Message.name`` is not sent
  (the API has no speaker names, as Gemini and Anthropic have none).
* Documents: a PDF is an ``input_file`` (``filename``, ``file_data`` as a ``data:`` URL, or
  ``file_url`` for a document by URL); inline plain text is an ``input_text`` part. Audio is
  refused: the Responses API takes no audio input parts.
* ``tools`` -> flat function tools (``{"type": "function", "name", "description",
  "parameters", "strict"}``). The Responses API makes a tool strict when ``strict`` is left
  out (Chat Completions does the opposite), so an unset ``strict`` is sent as ``false``: the
  same unified tool means the same thing on both APIs.
* ``tool_choice`` -> ``"auto"`` / ``"none"`` / ``"required"`` as they are, a Chat-shaped
  ``{"type": "function", "function": {"name"}}`` as the flat ``{"type": "function", "name"}``.
* ``response_format`` -> ``text.format`` (``json_schema``'s name, schema, strict and
  description sit beside ``type`` there, not nested).
* ``reasoning_effort`` -> ``reasoning: {"effort", "summary": "auto"}``: reasoning summaries
  are what ``reasoning_content`` reads.
* ``max_tokens`` -> ``max_output_tokens``; ``temperature``, ``top_p``, ``user``,
  ``metadata`` as they are.
* ``store: false`` (stateless, like Chat Completions) and, for reasoning models (the o-series
  and ``gpt-5`` except ``gpt-5-chat``, or any request with ``reasoning_effort``),
  ``include: ["reasoning.encrypted_content"]``, so each reasoning item comes back encrypted and
  the next turn can send it back; other models refuse that ``include`` with a 400.
* ``request.extra`` is merged last, overriding (``{"store": True}``, ``{"include": None}``,
  ``{"instructions": ...}``, ``{"parallel_tool_calls": False}``, built-in tools...).

Refused before any I/O (:class:`~metallm.UnsupportedFeatureError`), as the Responses API has no
such field: ``stop``, ``seed``, ``frequency_penalty``, ``presence_penalty``, ``top_k`` and
``n > 1``.

Reasoning items go back exactly as they came: the parsers keep each returned item under
``provider_data[<codec name>]["reasoning"]`` (its ``id``, ``encrypted_content`` and
``summary``) and the message's ``phase`` under ``["phase"]``, read here through
:func:`metallm.provider.sent_back`, so another provider's data is never sent, and an item that
is not a JSON object is an :class:`~metallm.InvalidRequestError` naming it
(``messages[2].provider_data.openai.reasoning[0]``).
"""

from __future__ import annotations

from typing import Any

from ...errors import InvalidRequestError, UnsupportedFeatureError
from ...provider import merge_extra, refuse_fields, sent_back
from ...types import (
    AudioPart,
    ChatCompletionRequest,
    ContentPart,
    DocumentPart,
    ImagePart,
    Message,
    ResponseFormat,
    Role,
    TextPart,
    Tool,
    ToolCall,
)

__all__ = [
    "ENCRYPTED_REASONING",
    "PHASE",
    "REASONING_ITEMS",
    "build_responses_body",
    "reasoning_model",
]

REASONING_ITEMS = "reasoning"
"""``provider_data[<codec name>]`` key: the reasoning items of the turn, as the API returned
them (a list of ``{"type": "reasoning", "id", "encrypted_content", "summary", ...}``)."""
PHASE = "phase"
"""``provider_data[<codec name>]`` key: the ``phase`` of the turn's message (``commentary`` for
a preamble before tool calls, ``final_answer``), which newer models want back on it."""
ENCRYPTED_REASONING = "reasoning.encrypted_content"
"""The ``include`` value that makes a stateless (``store: false``) reply carry its reasoning."""

_REFUSED = ("top_k", "stop", "seed", "frequency_penalty", "presence_penalty")
_REASONING_PREFIXES = ("o1", "o3", "o4", "gpt-5", "codex-")


def reasoning_model(model: str) -> bool:
    """Whether ``model`` is an OpenAI reasoning model (its reasoning items can come back
    encrypted): the o-series and ``gpt-5`` and later, except the ``-chat`` variants."""
    name = model.removeprefix("openai/").lower()
    if "-chat" in name:
        return False
    return name.startswith(_REASONING_PREFIXES)


def _refused(provider: str, field: str) -> UnsupportedFeatureError:
    return UnsupportedFeatureError(
        provider, f"{field} on the Responses API (extra={{'api': 'chat_completions'}} sends it)"
    )


def _part(part: ContentPart | dict[str, Any], provider: str, where: str) -> dict[str, Any]:
    """One input content part (``input_text``, ``input_image``, ``input_file``)."""
    if isinstance(part, TextPart):
        return {"type": "input_text", "text": part.text}
    if isinstance(part, ImagePart):
        return {
            "type": "input_image",
            "image_url": part.image_url.url,
            "detail": part.image_url.detail or "auto",  # the API requires the field
        }
    if isinstance(part, DocumentPart):
        if part.data is None:
            return {"type": "input_file", "file_url": part.url}
        if part.mime_type == "text/plain":
            return {"type": "input_text", "text": part.text()}
        return {
            "type": "input_file",
            "filename": part.name or "document.pdf",
            "file_data": f"data:{part.mime_type};base64,{part.data}",
        }
    if isinstance(part, AudioPart):
        raise UnsupportedFeatureError(
            provider, f"audio input ({where}) on the Responses API, which takes no audio parts"
        )
    return dict(part)  # a raw wire-format part, passed through


def _content(message: Message, provider: str, where: str) -> str | list[dict[str, Any]]:
    content = message.content
    if isinstance(content, list):
        return [_part(p, provider, f"{where}.content[{j}]") for j, p in enumerate(content)]
    return content or ""


def _assistant_text(message: Message, provider: str, where: str) -> str:
    content = message.content
    if not isinstance(content, list):
        return content or ""
    texts = []
    for j, part in enumerate(content):
        if not isinstance(part, TextPart):
            raise UnsupportedFeatureError(
                provider, f"non-text parts in an assistant message ({where}.content[{j}])"
            )
        texts.append(part.text)
    return "".join(texts)


def _replay(message: Message, provider: str, where: str) -> tuple[list[dict[str, Any]], Any]:
    """The reasoning items and the message ``phase`` this codec kept for the turn, checked."""
    _, mine = sent_back(provider, message)
    if not mine:
        return [], None
    items = mine.get(REASONING_ITEMS, [])
    path = f"{where}.provider_data.{provider}"
    if not isinstance(items, list):
        raise InvalidRequestError(
            f"{path}.{REASONING_ITEMS} must be a list of reasoning items (JSON objects)"
        )
    for j, item in enumerate(items):
        if not isinstance(item, dict) or item.get("type") != "reasoning":
            raise InvalidRequestError(
                f"{path}.{REASONING_ITEMS}[{j}] is not a reasoning item (a JSON object with "
                "type 'reasoning', as the Responses API returned it)"
            )
    phase = mine.get(PHASE)
    if phase is not None and not isinstance(phase, str):
        raise InvalidRequestError(f"{path}.{PHASE} must be a string ('commentary', ...)")
    return list(items), phase


def _function_call(call: ToolCall) -> dict[str, Any]:
    return {
        "type": "function_call",
        "call_id": call.id,
        "name": call.function.name,
        "arguments": call.function.arguments,
    }


def _items(messages: list[Message], provider: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for i, message in enumerate(messages):
        where = f"messages[{i}]"
        role = message.role
        if role is Role.ASSISTANT:
            items: list[dict[str, Any]] = []
            phase: Any = None
            if message.reasoning or message.provider_data:
                items, phase = _replay(message, provider, where)
                out.extend(items)
            text = _assistant_text(message, provider, where)
            if text or not message.tool_calls:
                turn: dict[str, Any] = {"role": "assistant", "content": text}
                if phase is not None:
                    turn["phase"] = phase
                out.append(turn)
            for call in message.tool_calls or ():
                out.append(_function_call(call))
        elif role is Role.TOOL:
            out.append(
                {
                    "type": "function_call_output",
                    "call_id": message.tool_call_id,
                    "output": _content(message, provider, where),
                }
            )
        else:
            out.append({"role": str(role), "content": _content(message, provider, where)})
    return out


def _tool(tool: Tool) -> dict[str, Any]:
    fn = tool.function
    out: dict[str, Any] = {"type": "function", "name": fn.name}
    if fn.description is not None:
        out["description"] = fn.description
    out["parameters"] = (
        fn.parameters if fn.parameters is not None else {"type": "object", "properties": {}}
    )
    out["strict"] = bool(fn.strict)  # left out, the Responses API would make it strict
    return out


def _tool_choice(value: str | dict[str, Any]) -> str | dict[str, Any]:
    if isinstance(value, dict) and value.get("type") == "function":
        fn = value.get("function")
        if isinstance(fn, dict) and "name" in fn and "name" not in value:
            return {"type": "function", "name": fn["name"]}  # the Chat Completions shape
    return value


def _text_format(value: ResponseFormat | dict[str, Any]) -> dict[str, Any]:
    if isinstance(value, dict):
        schema = value.get("json_schema")
        if value.get("type") == "json_schema" and isinstance(schema, dict):
            return {"type": "json_schema", **schema}  # the Chat Completions shape, flattened
        return dict(value)
    if value.type == "json_schema":
        if value.json_schema is None:
            raise InvalidRequestError(
                "response_format type 'json_schema' needs json_schema="
                "{'name': ..., 'schema': {...}}"
            )
        return {"type": "json_schema", **value.json_schema}
    return {"type": value.type}


def build_responses_body(
    request: ChatCompletionRequest, *, provider: str, stream: bool
) -> dict[str, Any]:
    """The ``/responses`` request body (see the module docstring for every rule)."""
    refuse_fields_on_responses(request, provider)
    body: dict[str, Any] = {
        "model": request.model,
        "input": _items(request.messages, provider),
        "store": False,
    }
    if request.reasoning_effort is not None or reasoning_model(request.model):
        body["include"] = [ENCRYPTED_REASONING]
    if request.max_tokens is not None:
        body["max_output_tokens"] = request.max_tokens
    if request.temperature is not None:
        body["temperature"] = request.temperature
    if request.top_p is not None:
        body["top_p"] = request.top_p
    if request.user is not None:
        body["user"] = request.user
    if request.metadata is not None:
        body["metadata"] = request.metadata
    if request.tools is not None:
        body["tools"] = [_tool(t) for t in request.tools]
    if request.tool_choice is not None:
        body["tool_choice"] = _tool_choice(request.tool_choice)
    if request.response_format is not None:
        body["text"] = {"format": _text_format(request.response_format)}
    if request.reasoning_effort is not None:
        body["reasoning"] = {"effort": request.reasoning_effort, "summary": "auto"}
    if stream:
        body["stream"] = True
    return merge_extra(body, request.extra)


def refuse_fields_on_responses(request: ChatCompletionRequest, provider: str) -> None:
    """Raise :class:`~metallm.UnsupportedFeatureError` for a field the Responses API lacks."""
    try:
        refuse_fields(request, provider, *_REFUSED)
    except UnsupportedFeatureError as exc:
        raise _refused(provider, exc.feature) from None
    if request.n is not None and request.n != 1:
        raise _refused(provider, "n > 1")

"""The Converse request body, built from a unified request (pure data, no signing).

Owns the mapping of unified messages to Converse content blocks: system messages go to
``system: [{text}]``; user text and base64 images to ``text``/``image`` blocks; assistant
reasoning (the message's signed :attr:`~metallm.Message.reasoning` parts Bedrock issued, first
and byte-exact: Bedrock rejects unsigned thinking, and another provider's signature), text and
tool calls to ``reasoningContent``/``text``/``toolUse`` blocks; tool results to ``toolResult``
blocks in a user turn. Consecutive turns of one role are merged, since Converse wants user and
assistant turns to alternate. Sampling goes to ``inferenceConfig``; ``top_k`` and the thinking
budget derived from ``reasoning_effort`` go to ``additionalModelRequestFields`` (the
Anthropic-on-Bedrock spelling). ``request.extra`` is merged into the body last
(``additionalModelRequestFields`` key by key). What Converse cannot express raises
:class:`~metallm.UnsupportedFeatureError` before any I/O.

Documents become ``document`` blocks (format ``pdf`` or ``txt``; inline bytes as
``source.bytes``, an ``s3://`` URL as ``source.s3Location``; other URLs are refused, Converse
fetches nothing else). Converse requires a ``name`` of 1 to 200 characters drawn from letters,
digits, single spaces, hyphens, parentheses and square brackets, unique in the request: a
part's name is kept when valid, else cleaned (``report.pdf`` -> ``report``, other characters
become hyphens), else ``document-<n>`` (the n-th document of the request); a repeat gets
`` (2)``, `` (3)``. Audio becomes an ``audio`` block (``AudioBlock``: format and
``source.bytes``) for the formats Converse lists.

A ``json_schema`` response format becomes forced tool use: a ``toolSpec`` named after the
schema with it as ``inputSchema.json``, and ``toolChoice: {"tool": {"name": ...}}``; other JSON
modes (``json_object``) are refused, Converse has none.

Prompt caching: a :class:`~metallm.types.CacheControl` becomes a ``{"cachePoint": {"type":
"default"}}`` block right after what it marks (a part's block, a message's last block, a tool
result's ``toolResult``, a tool's ``toolSpec`` in ``toolConfig.tools``, a system message's
text in ``system``), with ``"ttl"`` when one is asked for (``CachePointBlock.ttl`` takes
``"5m"`` or ``"1h"``). How many cache points a request may hold, and in which TTL order,
depends on the model behind Converse, so those limits are left to the service.
"""

from __future__ import annotations

import json
from typing import Any

from metallm.errors import InvalidRequestError, UnsupportedFeatureError
from metallm.provider import json_schema_format, refuse_fields, response_format_type, sent_back
from metallm.types import (
    AudioPart,
    CacheControl,
    ChatCompletionRequest,
    ContentPart,
    DocumentPart,
    ImagePart,
    Message,
    ReasoningPart,
    Role,
    TextPart,
)

__all__ = ["CACHE_TTLS", "THINKING_BUDGETS", "build_body"]

CACHE_TTLS = frozenset({"5m", "1h"})
"""What ``CachePointBlock.ttl`` accepts; without one, Bedrock's default (5 minutes) applies."""

THINKING_BUDGETS = {"minimal": 1024, "low": 2048, "medium": 8192, "high": 24576}
"""``reasoning_effort`` -> Anthropic ``thinking.budget_tokens`` on Bedrock."""

_IMAGE_FORMATS = {
    "image/png": "png",
    "image/jpeg": "jpeg",
    "image/gif": "gif",
    "image/webp": "webp",
}

_DOCUMENT_FORMATS = {"application/pdf": "pdf", "text/plain": "txt"}
_AUDIO_FORMATS = frozenset(
    ("mp3", "opus", "wav", "aac", "flac", "mp4", "ogg", "mkv", "mka", "x-aac", "m4a", "mpeg",
     "mpga", "pcm", "webm")
)  # fmt: skip
"""``AudioBlock.format``'s valid values in the Converse API reference."""


class _DocumentNames:
    """Valid, unique Converse document names for one request (rules in the module docstring)."""

    __slots__ = ("count", "used")

    def __init__(self) -> None:
        self.count = 0
        self.used: set[str] = set()

    def __call__(self, name: str | None) -> str:
        self.count += 1
        stem = name or ""
        if stem.lower().endswith((".pdf", ".txt")):
            stem = stem[:-4]
        out: list[str] = []
        for ch in stem:  # whitespace runs -> one space, runs of other characters -> one hyphen
            if ch.isspace():
                if not out or out[-1] != " ":
                    out.append(" ")
            elif (ch.isascii() and ch.isalnum()) or ch in "-()[]":
                out.append(ch)
            elif not out or out[-1] != "\x00":
                out.append("\x00")  # a run of replaced characters, marked until the join
        clean = "".join(out).replace("\x00", "-")[:200].strip()
        base = clean if clean.strip("-") else f"document-{self.count}"
        unique, n = base, 1
        while unique in self.used:
            n += 1
            unique = f"{base[: 200 - len(str(n)) - 3]} ({n})"
        self.used.add(unique)
        return unique


def build_body(request: ChatCompletionRequest, *, provider: str) -> dict[str, Any]:
    """The Converse JSON body for ``request``; unsupported fields raise first."""
    _check_unsupported(request, provider)
    system: list[dict[str, Any]] = []
    turns: list[dict[str, Any]] = []
    names = _DocumentNames()
    for i, message in enumerate(request.messages):
        if message.role == Role.SYSTEM:
            system.extend(_content(message, provider, i, names, text_only=True))
            continue
        role, blocks = _blocks(message, provider, i, names)
        if turns and turns[-1]["role"] == role:
            turns[-1]["content"].extend(blocks)
        else:
            turns.append({"role": role, "content": blocks})
    body: dict[str, Any] = {"messages": turns}
    if system:
        body["system"] = system
    config: dict[str, Any] = {}
    if request.max_tokens is not None:
        config["maxTokens"] = request.max_tokens
    if request.temperature is not None:
        config["temperature"] = request.temperature
    if request.top_p is not None:
        config["topP"] = request.top_p
    if request.stop is not None:
        config["stopSequences"] = [request.stop] if isinstance(request.stop, str) else request.stop
    body["inferenceConfig"] = config
    if request.tools:
        tools: list[dict[str, Any]] = []
        for k, tool in enumerate(request.tools):
            tools.append(_tool_spec(tool.function))
            if tool.cache_control is not None:
                tools.append(_cache_point(tool.cache_control, f"tools[{k}]", provider))
        tool_config: dict[str, Any] = {"tools": tools}
        if request.tool_choice is not None:
            tool_config["toolChoice"] = _tool_choice(request.tool_choice, provider)
        body["toolConfig"] = tool_config
    elif request.tool_choice is not None:
        raise InvalidRequestError(f"{provider}: tool_choice needs tools")
    _forced_output_tool(body, request, provider)
    fields: dict[str, Any] = {}
    if request.top_k is not None:
        fields["top_k"] = request.top_k
    if request.reasoning_effort is not None:
        budget = THINKING_BUDGETS.get(str(request.reasoning_effort))
        if budget is None:
            raise UnsupportedFeatureError(
                provider, f"reasoning_effort={request.reasoning_effort!r}"
            )
        fields["thinking"] = {"type": "enabled", "budget_tokens": budget}
    if fields:
        body["additionalModelRequestFields"] = fields
    if request.metadata:
        body["requestMetadata"] = dict(request.metadata)
    for key, value in request.extra.items():
        if key == "additionalModelRequestFields" and isinstance(value, dict):
            body.setdefault(key, {}).update(value)
        else:
            body[key] = value
    return body


def _forced_output_tool(
    body: dict[str, Any], request: ChatCompletionRequest, provider: str
) -> None:
    """A ``json_schema`` response format as forced tool use: Converse has no JSON mode, but a
    tool whose ``inputSchema`` is the schema, chosen by ``toolChoice.tool``, makes the model
    answer with a conforming object (the core reads it from that tool call)."""
    fmt = json_schema_format(request.response_format, provider)
    if fmt is None:
        return
    spec: dict[str, Any] = {"name": fmt.name, "inputSchema": {"json": fmt.schema}}
    spec["description"] = fmt.description or "Answer with the structured result."
    tool_config = body.setdefault("toolConfig", {"tools": []})
    tool_config["tools"].append({"toolSpec": spec})
    tool_config["toolChoice"] = {"tool": {"name": fmt.name}}


def _check_unsupported(request: ChatCompletionRequest, provider: str) -> None:
    if request.n is not None and request.n != 1:
        raise UnsupportedFeatureError(provider, "n > 1")
    refuse_fields(request, provider, "seed", "frequency_penalty", "presence_penalty", "user")
    kind = response_format_type(request.response_format)
    if request.response_format is not None and kind not in ("text", "json_schema"):
        raise UnsupportedFeatureError(provider, f"response_format={kind!r}")


def _texts(message: Message, provider: str) -> list[str]:
    content = message.content
    if content is None:
        return []
    if isinstance(content, str):
        return [content] if content else []
    out: list[str] = []
    for part in content:
        if not isinstance(part, TextPart):
            raise UnsupportedFeatureError(provider, f"{part.type} parts in {message.role.value}")
        out.append(part.text)
    return out


def _cache_point(cache: CacheControl, where: str, provider: str) -> dict[str, Any]:
    """The ``cachePoint`` block that ends the cached prefix at ``where``."""
    point: dict[str, Any] = {"type": "default"}
    if cache.ttl is not None:
        if cache.ttl not in CACHE_TTLS:
            raise InvalidRequestError(
                f"{provider}: {where}.cache_control.ttl {cache.ttl!r} is not offered; "
                "Bedrock cache points last '5m' or '1h'"
            )
        point["ttl"] = cache.ttl
    return {"cachePoint": point}


def _marked(blocks: list[dict[str, Any]], message: Message, provider: str, i: int) -> None:
    """A message's cache point goes after its last block, where its prefix ends."""
    if message.cache_control is None:
        return
    if not blocks:
        raise InvalidRequestError(
            f"{provider}: messages[{i}].cache_control is set but the message has no content "
            "to carry it"
        )
    blocks.append(_cache_point(message.cache_control, f"messages[{i}]", provider))


def _content(
    message: Message, provider: str, i: int, names: _DocumentNames, *, text_only: bool = False
) -> list[dict[str, Any]]:
    """A message's blocks, its own cache point last."""
    blocks = _parts(message, provider, i, names, text_only)
    if message.cache_control is not None:
        _marked(blocks, message, provider, i)
    return blocks


def _parts(
    message: Message, provider: str, i: int, names: _DocumentNames, text_only: bool = False
) -> list[dict[str, Any]]:
    """A message's content as blocks, with the cache points its parts ask for."""
    content = message.content
    if content is None or isinstance(content, str):
        return [{"text": t} for t in _texts(message, provider)]
    blocks: list[dict[str, Any]] = []
    for j, part in enumerate(content):
        if text_only and not isinstance(part, TextPart):
            raise UnsupportedFeatureError(provider, f"{part.type} parts in {message.role.value}")
        blocks.append(_block(part, provider, names))
        if part.cache_control is not None:  # the same for every part type: new parts need no more
            where = f"messages[{i}].content[{j}]"
            blocks.append(_cache_point(part.cache_control, where, provider))
    return blocks


def _block(part: ContentPart, provider: str, names: _DocumentNames) -> dict[str, Any]:
    """One content block on the wire (the one place a per-part key would be added)."""
    if isinstance(part, ImagePart):
        inline = part.inline_data()
        if inline is None:
            raise UnsupportedFeatureError(provider, "image URLs (send base64 data: images)")
        mime, data = inline
        fmt = _IMAGE_FORMATS.get(mime.lower())
        if fmt is None:
            raise UnsupportedFeatureError(provider, f"image type {mime!r}")
        return {"image": {"format": fmt, "source": {"bytes": data}}}
    if isinstance(part, DocumentPart):
        source: dict[str, Any]
        if part.data is not None:
            source = {"bytes": part.data}
        elif (part.url or "").startswith("s3://"):
            source = {"s3Location": {"uri": part.url}}
        else:
            raise UnsupportedFeatureError(provider, "document URLs other than s3://")
        fmt = _DOCUMENT_FORMATS[part.mime_type]
        return {"document": {"format": fmt, "name": names(part.name), "source": source}}
    if isinstance(part, AudioPart):
        audio = part.input_audio
        if audio.format not in _AUDIO_FORMATS:
            raise UnsupportedFeatureError(provider, f"audio format {audio.format!r}")
        return {"audio": {"format": audio.format, "source": {"bytes": audio.data}}}
    return {"text": part.text}


def _tool_result_cache(message: Message, provider: str, i: int) -> dict[str, Any] | None:
    """The one cache point after a ``toolResult``: its content is a single block, so the
    message's mark and its parts' marks all end the prefix at the same place."""
    marks: list[tuple[str, CacheControl]] = []
    if message.cache_control is not None:
        marks.append((f"messages[{i}]", message.cache_control))
    if isinstance(message.content, list):
        marks.extend(
            (f"messages[{i}].content[{j}]", p.cache_control)
            for j, p in enumerate(message.content)
            if p.cache_control is not None
        )
    if not marks:
        return None
    where, cache = marks[0]
    for other, mark in marks[1:]:
        if mark.ttl != cache.ttl:
            raise InvalidRequestError(
                f"{provider}: {other}.cache_control.ttl {mark.ttl!r} differs from "
                f"{where}.cache_control.ttl {cache.ttl!r}; a tool result holds one cache point"
            )
    return _cache_point(cache, where, provider)


def _blocks(
    message: Message, provider: str, i: int, names: _DocumentNames
) -> tuple[str, list[dict[str, Any]]]:
    if message.name is not None:
        raise UnsupportedFeatureError(provider, "message name")
    if message.role == Role.USER:
        return "user", _content(message, provider, i, names)
    if message.role == Role.TOOL:
        if not message.tool_call_id:
            raise InvalidRequestError(f"{provider}: a tool message needs tool_call_id")
        text = "".join(_texts(message, provider))
        result: dict[str, Any] = {
            "toolUseId": message.tool_call_id,
            "content": [_tool_result_content(text)],
        }
        turn: list[dict[str, Any]] = [{"toolResult": result}]
        point = _tool_result_cache(message, provider, i)
        if point is not None:
            turn.append(point)
        return "user", turn
    blocks = [_reasoning(p) for p in sent_back(provider, message)[0] if p.signature or p.encrypted]
    blocks.extend(_parts(message, provider, i, names))
    for call in message.tool_calls or ():
        try:
            args = json.loads(call.function.arguments or "{}")
        except ValueError:
            raise InvalidRequestError(
                f"{provider}: tool call {call.id} arguments are not JSON"
            ) from None
        use = {"toolUseId": call.id, "name": call.function.name, "input": args}
        blocks.append({"toolUse": use})
    _marked(blocks, message, provider, i)
    return "assistant", blocks


def _reasoning(part: ReasoningPart) -> dict[str, Any]:
    """A ``reasoningContent`` block as Bedrock issued it."""
    if part.encrypted is not None:
        return {"reasoningContent": {"redactedContent": part.encrypted}}
    thought = {"text": part.text, "signature": part.signature}
    return {"reasoningContent": {"reasoningText": thought}}


def _tool_result_content(text: str) -> dict[str, Any]:
    """``{"json": obj}`` for a JSON object or array result, else ``{"text": ...}``."""
    stripped = text.lstrip()
    if stripped[:1] in ("{", "["):
        try:
            return {"json": json.loads(text)}
        except ValueError:
            pass
    return {"text": text}


def _tool_spec(function: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {"name": function.name}
    if function.description:
        spec["description"] = function.description
    schema = function.parameters or {"type": "object", "properties": {}}
    spec["inputSchema"] = {"json": schema}
    return {"toolSpec": spec}


def _tool_choice(choice: str | dict[str, Any], provider: str) -> dict[str, Any]:
    if choice == "auto":
        return {"auto": {}}
    if choice == "required":
        return {"any": {}}
    if isinstance(choice, dict):
        function = choice.get("function")
        name = function.get("name") if isinstance(function, dict) else None
        if isinstance(name, str) and name:
            return {"tool": {"name": name}}
    raise UnsupportedFeatureError(provider, f"tool_choice={choice!r}")

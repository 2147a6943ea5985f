"""Building the Gemini ``generateContent`` request body from a unified request.

The mapping (Gemini API reference, ``models.generateContent``):

* system messages become ``systemInstruction`` (``{"parts": [{"text": ...}]}``); user turns
  keep role ``user``, assistant turns become role ``model``, and tool results go back as
  ``functionResponse`` parts of a ``user`` turn. Consecutive turns of the same role are merged
  into one, since Gemini wants the roles to alternate.
* A tool result's function ``name`` is looked up from the earlier assistant tool call with the
  same id (a result whose id matches no earlier call is an ``InvalidRequestError``); its
  ``response`` is the tool content parsed as a JSON object when it is one, else
  ``{"result": text}``.
* Assistant tool calls become ``functionCall`` parts with ``args`` parsed from the JSON text.
  ``reasoning_content`` is not sent back (Gemini cannot take thought text as input).
  Each ``thoughtSignature`` the reply carried (kept in the message's ``provider_data``, see
  ``_response``) goes back on the part it came with: a call's on its ``functionCall`` part,
  any other on the turn's text. Gemini 3 models reject a replayed turn whose first call has no
  signature (HTTP 400); when the real one is unknown (a conversation written by hand or begun
  on another provider) that part carries Google's documented
  ``skip_thought_signature_validator`` sentinel instead.
* Images: ``data:`` URLs become ``inlineData {mimeType, data}``; ``http(s)`` URLs become
  ``fileData {fileUri, mimeType}`` with the type guessed from the file name (an unknown type is
  an ``UnsupportedFeatureError``, as is ``detail`` other than ``auto``).
* Documents: inline data becomes ``inlineData {mimeType, data}``, a URL (``https://``, a Files
  API URI, ``gs://``) ``fileData {fileUri, mimeType}``; the part's name is not sent (a Gemini
  part has none). Audio becomes ``inlineData`` with the MIME type of its format, for the
  formats Gemini documents (WAV, MP3, AIFF, AAC, OGG, FLAC); others are refused.
* Sampling fields go to ``generationConfig``; ``n`` is ``candidateCount``; ``json_object`` is
  ``responseMimeType: application/json`` and ``json_schema`` adds ``responseJsonSchema``;
  ``reasoning_effort`` becomes ``thinkingConfig {thinkingBudget, includeThoughts: true}``.
* ``tools`` become one ``{"functionDeclarations": [...]}`` entry; ``tool_choice`` becomes
  ``toolConfig.functionCallingConfig`` (``AUTO``/``ANY``/``NONE``, ``allowedFunctionNames``).
* ``Message.name`` is not sent (Gemini has no speaker names).
* ``user``, ``metadata`` and ``strict`` tools have no Gemini equivalent and raise
  ``UnsupportedFeatureError``.
* ``extra`` is merged last: ``generationConfig`` (a dict) and ``thinkingConfig`` merge into
  ``generationConfig``; any other key is set at the top level (``safetySettings``,
  ``cachedContent``, ...); a ``None`` value removes the key.
"""

from __future__ import annotations

import json
import mimetypes
import re
from typing import Any

from ...errors import InvalidRequestError, UnsupportedFeatureError
from ...provider import refuse_fields, sent_back
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
)
from ._response import SIGNATURES, TEXT_SIGNATURE

__all__ = ["SKIP_SIGNATURE", "THINKING_BUDGETS", "build_body"]

SKIP_SIGNATURE = "skip_thought_signature_validator"
"""Google's documented stand-in ``thoughtSignature`` for replayed calls that lost theirs."""
_GEMINI_3 = re.compile(r"gemini-3[.-]")

THINKING_BUDGETS: dict[str, int] = {"minimal": 512, "low": 1024, "medium": 8192, "high": 24576}
"""``reasoning_effort`` -> ``thinkingBudget`` (tokens); within every Gemini 2.5 model's range."""

_CONFIG_FIELDS = (
    ("max_tokens", "maxOutputTokens"),
    ("temperature", "temperature"),
    ("top_p", "topP"),
    ("top_k", "topK"),
    ("seed", "seed"),
    ("n", "candidateCount"),
    ("presence_penalty", "presencePenalty"),
    ("frequency_penalty", "frequencyPenalty"),
)
_CHOICES = {"auto": "AUTO", "none": "NONE", "required": "ANY", "any": "ANY"}


def _image(part: ImagePart, provider: str) -> dict[str, Any]:
    if part.image_url.detail not in (None, "auto"):
        raise UnsupportedFeatureError(provider, "image_url.detail")
    inline = part.inline_data()
    if inline is not None:
        return {"inlineData": {"mimeType": inline[0], "data": inline[1]}}
    url = part.image_url.url
    if not url.startswith(("https://", "http://", "gs://")):
        raise InvalidRequestError(f"{provider}: image URL must be https://, gs:// or data:")
    mime, _ = mimetypes.guess_type(url.split("?", 1)[0])
    if mime is None:
        raise UnsupportedFeatureError(provider, "image URL without a known file type")
    return {"fileData": {"fileUri": url, "mimeType": mime}}


def _content_parts(message: Message, provider: str) -> list[dict[str, Any]]:
    content = message.content
    if content is None:
        return []
    if isinstance(content, str):
        return [{"text": content}] if content else []
    return [_part(part, provider) for part in content]


_AUDIO_FORMATS = frozenset(("wav", "mp3", "aiff", "aac", "ogg", "flac"))
"""The audio formats Gemini's audio-understanding guide lists."""


def _part(part: ContentPart | dict[str, Any], provider: str) -> dict[str, Any]:
    """One part on the wire (the one place a per-part key would be added)."""
    if isinstance(part, TextPart):
        return {"text": part.text}
    if isinstance(part, ImagePart):
        return _image(part, provider)
    if isinstance(part, DocumentPart):
        if part.data is not None:
            return {"inlineData": {"mimeType": part.mime_type, "data": part.data}}
        url = part.url or ""
        if not url.startswith(("https://", "http://", "gs://")):
            raise UnsupportedFeatureError(provider, "document URLs other than https:// or gs://")
        return {"fileData": {"fileUri": url, "mimeType": part.mime_type}}
    if isinstance(part, AudioPart):
        audio = part.input_audio
        if audio.format not in _AUDIO_FORMATS:
            known = ", ".join(sorted(_AUDIO_FORMATS))
            raise UnsupportedFeatureError(provider, f"audio format {audio.format!r} ({known})")
        return {"inlineData": {"mimeType": part.mime_type(), "data": audio.data}}
    return dict(part)  # a raw Gemini part, passed through


def _args(arguments: str, name: str) -> dict[str, Any]:
    try:
        value = json.loads(arguments or "{}")
    except ValueError:
        raise InvalidRequestError(f"tool call {name!r}: arguments are not JSON text") from None
    if not isinstance(value, dict):
        raise InvalidRequestError(f"tool call {name!r}: arguments must be a JSON object")
    return value


def _tool_response(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except ValueError:
        value = None
    return value if isinstance(value, dict) else {"result": text}


def _assistant_parts(
    message: Message, provider: str, gemini_3: bool, names: dict[str, str]
) -> list[dict[str, Any]]:
    """A model turn's parts, each with the ``thoughtSignature`` it came with."""
    own = sent_back(provider, message)[1] or {}
    calls = own.get(SIGNATURES)
    known: dict[str, Any] = calls if isinstance(calls, dict) else {}
    text_signature = own.get(TEXT_SIGNATURE)
    parts = _content_parts(message, provider)
    if isinstance(text_signature, str):
        texts = [p for p in parts if "text" in p]
        if texts:
            texts[-1]["thoughtSignature"] = text_signature
        elif not message.tool_calls:  # it came on an empty text part: send that part back
            parts.append({"text": "", "thoughtSignature": text_signature})
    for n, call in enumerate(message.tool_calls or ()):
        names[call.id] = call.function.name
        fc = {"name": call.function.name, "args": _args(call.function.arguments, call.id)}
        part: dict[str, Any] = {"functionCall": fc}
        signature = known.get(call.id)
        if isinstance(signature, str):
            part["thoughtSignature"] = signature
        elif n == 0 and gemini_3:
            part["thoughtSignature"] = SKIP_SIGNATURE
        parts.append(part)
    return parts


def _contents(
    request: ChatCompletionRequest, provider: str
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    system: list[dict[str, Any]] = []
    contents: list[dict[str, Any]] = []
    names: dict[str, str] = {}  # tool call id -> function name, from earlier assistant turns
    signed = _GEMINI_3.search(request.model) is not None
    for message in request.messages:
        role = message.role
        if role is Role.SYSTEM:
            system.extend(_content_parts(message, provider))
            continue
        if role is Role.TOOL:
            call_id = message.tool_call_id
            if call_id is None or call_id not in names:
                raise InvalidRequestError(
                    f"tool result with tool_call_id={call_id!r} matches no earlier assistant"
                    " tool call; Gemini needs the function name from that call"
                )
            response = _tool_response(message.text())
            parts = [{"functionResponse": {"name": names[call_id], "response": response}}]
            wire_role = "user"
        elif role is Role.ASSISTANT:
            parts = _assistant_parts(message, provider, signed, names)
            wire_role = "model"
        else:
            parts = _content_parts(message, provider)
            wire_role = "user"
        if not parts:
            continue
        if contents and contents[-1]["role"] == wire_role:
            contents[-1]["parts"].extend(parts)
        else:
            contents.append({"role": wire_role, "parts": parts})
    return system, contents


def _response_format(value: ResponseFormat | dict[str, Any], config: dict[str, Any]) -> None:
    fmt = value if isinstance(value, ResponseFormat) else ResponseFormat.model_validate(value)
    if fmt.type == "text":
        return
    config["responseMimeType"] = "application/json"
    if fmt.type == "json_schema":
        if fmt.json_schema is None:
            raise InvalidRequestError(
                "response_format type 'json_schema' needs"
                " json_schema={'name': ..., 'schema': {...}}"
            )
        schema = fmt.json_schema.get("schema", fmt.json_schema)
        config["responseJsonSchema"] = schema


def _tool_config(choice: str | dict[str, Any], provider: str) -> dict[str, Any]:
    if isinstance(choice, str):
        mode = _CHOICES.get(choice)
        if mode is None:
            raise UnsupportedFeatureError(provider, f"tool_choice={choice!r}")
        return {"functionCallingConfig": {"mode": mode}}
    fn = choice.get("function")
    name = fn.get("name") if isinstance(fn, dict) else None
    if choice.get("type") != "function" or not isinstance(name, str):
        raise InvalidRequestError(
            "tool_choice must be 'auto', 'none', 'required' or"
            " {'type': 'function', 'function': {'name': ...}}"
        )
    return {"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": [name]}}


def build_body(request: ChatCompletionRequest, *, provider: str) -> dict[str, Any]:
    """The request body as a dict (see the module docstring for the rules)."""
    refuse_fields(request, provider, "user", "metadata")
    system, contents = _contents(request, provider)
    body: dict[str, Any] = {"contents": contents}
    if system:
        body["systemInstruction"] = {"parts": system}
    if request.tools:
        declarations = []
        for tool in request.tools:
            fn = tool.function
            if fn.strict:
                raise UnsupportedFeatureError(provider, "tools[].function.strict")
            decl: dict[str, Any] = {"name": fn.name}
            if fn.description is not None:
                decl["description"] = fn.description
            if fn.parameters is not None:
                decl["parameters"] = fn.parameters
            declarations.append(decl)
        body["tools"] = [{"functionDeclarations": declarations}]
    if request.tool_choice is not None:
        body["toolConfig"] = _tool_config(request.tool_choice, provider)
    config: dict[str, Any] = {}
    for field, wire in _CONFIG_FIELDS:
        value = getattr(request, field)
        if value is not None:
            config[wire] = value
    stops = request.stop_sequences()
    if stops:
        config["stopSequences"] = stops
    if request.response_format is not None:
        _response_format(request.response_format, config)
    if request.reasoning_effort is not None:
        budget = THINKING_BUDGETS.get(str(request.reasoning_effort))
        if budget is None:
            raise UnsupportedFeatureError(
                provider, f"reasoning_effort={request.reasoning_effort!r}"
            )
        config["thinkingConfig"] = {"thinkingBudget": budget, "includeThoughts": True}
    for key, value in request.extra.items():
        if key in ("generationConfig", "thinkingConfig") and isinstance(value, dict):
            target = config if key == "generationConfig" else config.setdefault(key, {})
            for sub, subvalue in value.items():
                if subvalue is None:
                    target.pop(sub, None)
                else:
                    target[sub] = subvalue
        elif value is None:
            body.pop(key, None)
            config.pop(key, None)
        else:
            body[key] = value
    if config:
        body["generationConfig"] = config
    return body

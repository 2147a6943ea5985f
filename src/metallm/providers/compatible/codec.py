"""One codec for every named OpenAI-compatible service, shaped by the service's preset.

:class:`CompatibleProvider` is :class:`~metallm.providers.openai.OpenAIProvider` (the same
request builder, parsers and stream decoder, nothing copied) parameterised by a
:class:`~metallm.providers.compatible.Preset`: the name, telemetry name, max-tokens field and
media parts it takes, and the few translations each service's reference documents, applied
around the shared builder:

* refusals first, before any I/O (:class:`~metallm.UnsupportedFeatureError`): request fields
  and ``extra`` body fields the service rejects, ``n > 1`` where one choice is all it returns,
  ``name`` on the roles that may not carry it, image parts where content is text only;
* ``top_k`` sent as is where documented (OpenAI itself has none, so its builder refuses it);
* ``seed`` under the service's field name (Mistral's ``random_seed``), no
  ``stream_options`` where the service rejects it (Mistral reports usage on its last chunk
  anyway), an assistant turn's ``reasoning_content`` sent back where required (DeepSeek);
* headers from client settings (OpenRouter's attribution headers from ``extra``);
* reasoning sent as ``thinking`` content chunks read into ``reasoning_content`` (Mistral);
* error messages that say more: OpenRouter's upstream ``error.metadata.raw`` is appended
  (its ``message`` alone is "Provider returned error"), and a structured ``message`` (Mistral's
  validation details) becomes JSON text instead of a Python repr.

No ``openai.*`` span attributes are reported, for the reason given in
:mod:`metallm.providers.xai`: those claim an OpenAI backend served the call.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from ...embeddings import EmbeddingsRequest
from ...errors import APIError, ConfigurationError, UnsupportedFeatureError
from ...provider import (
    HTTPRequest,
    HTTPResponse,
    ProviderSettings,
    error_from_response,
    refuse_fields,
)
from ...types import ChatCompletionRequest, ImagePart, Role
from ..openai._request import build_body
from ..openai.codec import OpenAIProvider
from ._presets import Preset, preset_for
from ._thinking import ThinkingStreamDecoder, parse_thinking_completion

__all__ = ["CompatibleProvider", "create"]


class CompatibleProvider(OpenAIProvider):
    """A named OpenAI-compatible service (``settings.name``: a key of
    :data:`~metallm.providers.compatible.PRESETS`) as a sans-IO codec.

    ``settings.base_url`` is required (the registry fills in the preset's default);
    ``settings.extra`` takes ``headers`` and ``max_tokens_field`` as for OpenAI, plus the
    preset's header settings (OpenRouter: ``app_url``, ``app_title``).
    """

    name = "openai_compatible"
    sends_openai_headers = False
    span_attributes = None  # no openai.* attributes (see the module docstring)

    def __init__(self, settings: ProviderSettings) -> None:
        try:
            preset = preset_for(settings.name)
        except KeyError as exc:
            raise ConfigurationError(str(exc.args[0])) from None
        if not settings.base_url:
            raise ConfigurationError(f"provider {preset.name!r} needs base_url=...")
        self._preset = preset
        self.name = preset.name
        self.max_tokens_field = preset.max_tokens_field
        self.accepts_files = preset.files
        self.accepts_audio = preset.audio
        if preset.thinking_chunks:
            self.completion_parser = parse_thinking_completion
            self.decoder_class = ThinkingStreamDecoder
        super().__init__(settings)
        self._checks_messages = preset.named_roles is not None or not preset.images

    @property
    def preset(self) -> Preset:
        """The service's record."""
        return self._preset

    @property
    def semconv_name(self) -> str:
        """The conventions' name for the service (``mistral_ai``, ...), else the preset's."""
        return self._preset.semconv_name

    def _openai_headers(self, extra: Mapping[str, Any]) -> dict[str, str]:
        """The preset's headers from client settings; a bad value is a ConfigurationError
        at construction (a header must be printable ASCII on one line)."""
        headers: dict[str, str] = {}
        for key, header in self._preset.headers_from_extra:
            value = extra.get(key)
            if value is None:
                continue
            if not isinstance(value, str) or not value or not all(" " <= c < "\x7f" for c in value):
                raise ConfigurationError(
                    f"{self.name}: extra[{key!r}] must be a non-empty printable ASCII string "
                    f"(it is sent as the {header} header)"
                )
            headers[header] = value
        return headers

    def _refuse(self, request: ChatCompletionRequest) -> None:
        """Raise for what the service rejects (see the module docstring), before any I/O."""
        preset = self._preset
        if preset.refuses:
            refuse_fields(request, self.name, *preset.refuses)
        if preset.refuses_extra and request.extra:
            for key in preset.refuses_extra:
                if request.extra.get(key) is not None:
                    raise UnsupportedFeatureError(self.name, f"extra[{key!r}]")
        if preset.single_choice and request.n not in (None, 1):
            raise UnsupportedFeatureError(self.name, "n > 1 (it returns one choice)")
        if not self._checks_messages:
            return
        roles = preset.named_roles
        for i, message in enumerate(request.messages):
            role = str(message.role)
            if message.name is not None and roles is not None and role not in roles:
                raise UnsupportedFeatureError(
                    self.name, f"name on a {role} message (messages[{i}])"
                )
            if not preset.images and isinstance(message.content, list):
                for j, part in enumerate(message.content):
                    if isinstance(part, ImagePart) or (
                        isinstance(part, dict) and part.get("type") == "image_url"
                    ):
                        raise UnsupportedFeatureError(
                            self.name, f"images (messages[{i}].content[{j}]): it reads text only"
                        )

    def build_request(self, request: ChatCompletionRequest, *, stream: bool) -> HTTPRequest:
        """The HTTP request for ``request``, refused or translated per the preset."""
        preset = self._preset
        self._refuse(request)
        top_k = request.top_k
        if top_k is not None and preset.takes_top_k:
            request = request.model_copy(update={"top_k": None})  # the shared builder refuses it
        body = build_body(
            request,
            provider=self.name,
            max_tokens_field=self._max_tokens_field,
            stream=stream,
            media=self._media,
        )
        extra = request.extra
        if top_k is not None and preset.takes_top_k and "top_k" not in extra:
            body["top_k"] = top_k
        if request.seed is not None and preset.seed_field != "seed" and "seed" not in extra:
            body[preset.seed_field] = body.pop("seed")
        if stream and not preset.stream_usage_option and "stream_options" not in extra:
            del body["stream_options"]
        if preset.reasoning_back:
            _reasoning_back(request, body)
        return self.http_request(self._url, body, stream=stream)

    def parse_error(self, response: HTTPResponse) -> APIError:
        """The typed error, its message completed from the body where the service puts the
        useful part elsewhere (see the module docstring)."""
        error = super().parse_error(response)
        message = _fuller_message(error.body)
        if message is None:
            return error
        return error_from_response(self.name, response, secrets=self.secrets(), message=message)

    def build_embeddings_request(self, request: EmbeddingsRequest) -> HTTPRequest:
        """``POST {base_url}/embeddings`` where the preset offers it; else refused."""
        if not self._preset.embeddings:
            raise UnsupportedFeatureError(self.name, "embeddings")
        return super().build_embeddings_request(request)

    def token_encoding(self, model: str) -> str | None:
        """tiktoken's encoding where the preset's model names are OpenAI's; else None (the
        request is estimated)."""
        return super().token_encoding(model) if self._preset.tiktoken else None


def _reasoning_back(request: ChatCompletionRequest, body: dict[str, Any]) -> None:
    """Put each assistant turn's ``reasoning_content`` back on its wire message."""
    wire = body.get("messages")
    if not isinstance(wire, list) or len(wire) != len(request.messages):
        return  # replaced through extra: left as given
    for out, message in zip(wire, request.messages, strict=True):
        if message.reasoning_content and message.role is Role.ASSISTANT:
            out["reasoning_content"] = message.reasoning_content


def _fuller_message(body: Any) -> str | None:
    """A better error message than the body's ``message``, or None to keep it."""
    if not isinstance(body, dict):
        return None
    err = body.get("error", body)
    if not isinstance(err, dict):
        return None
    message = err.get("message")
    metadata = err.get("metadata")
    raw = metadata.get("raw") if isinstance(metadata, dict) else None
    if isinstance(raw, str) and raw:
        upstream = metadata.get("provider_name") if isinstance(metadata, dict) else None
        where = f"{upstream}: " if isinstance(upstream, str) and upstream else ""
        return f"{message} ({where}{raw})" if isinstance(message, str) else f"{where}{raw}"
    if isinstance(message, (dict, list)):
        return json.dumps(message, separators=(",", ":"), ensure_ascii=False)
    return None


def create(settings: ProviderSettings) -> CompatibleProvider:
    """Registry factory (``metallm.providers.compatible:create``) of every preset."""
    return CompatibleProvider(settings)

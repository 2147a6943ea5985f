"""Structured output for codecs: the JSON schema a request asks the reply to follow.

``client.parse`` (``metallm.structured``) asks for typed output provider-neutrally, as a
``response_format`` of type ``json_schema`` (``{"name", "schema", "strict", "description"}``),
and each codec translates it to its provider's strongest mechanism: OpenAI and xAI send it as
it is, Gemini as ``responseJsonSchema``, Ollama as ``format``, Anthropic as ``output_config``
or a forced tool, Bedrock as a forced tool. Two codec attributes tell the core how to shape
the schema before it gets there (:class:`~metallm.provider.HTTPCodec`):

- ``json_schema_strict``: the provider enforces schemas in a strict subset (every property
  required, ``additionalProperties: false``, no ``$ref``), so the core sends a schema made
  strict-compatible, or refuses a type that cannot be;
- ``json_schema_object_root``: the provider needs an object at the top (a tool's input, a
  strict schema), so a ``list[Item]`` or a ``Literal`` is wrapped in ``{"value": ...}`` and
  unwrapped after validation.

A codec that answers through a forced tool (:func:`forced_tool`) names the tool after the
schema; the core reads the JSON from that tool call's arguments (or, failing that, the text).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import UnsupportedFeatureError
from ..types import ResponseFormat

__all__ = ["JsonSchemaFormat", "json_schema_format"]


@dataclass(frozen=True)
class JsonSchemaFormat:
    """A ``json_schema`` response format, read: ``name`` (also the forced tool's name),
    ``schema`` (the JSON schema), ``strict`` (None: not said) and ``description``."""

    name: str
    schema: dict[str, Any]
    strict: bool | None = None
    description: str | None = None


def json_schema_format(
    value: ResponseFormat | Mapping[str, Any] | None, provider: str
) -> JsonSchemaFormat | None:
    """The ``json_schema`` format of a request (None for any other type or none).

    A ``json_schema`` without a ``schema`` object is refused with
    :class:`~metallm.UnsupportedFeatureError` (before any I/O): a provider cannot follow a
    schema it was not given.
    """
    if value is None:
        return None
    kind: Any
    spec: Any
    if isinstance(value, ResponseFormat):
        kind, spec = value.type, value.json_schema
    else:
        kind, spec = value.get("type"), value.get("json_schema")
    if kind != "json_schema":
        return None
    schema = spec.get("schema") if isinstance(spec, Mapping) else None
    if not isinstance(schema, dict):
        raise UnsupportedFeatureError(provider, "response_format json_schema without a schema")
    assert isinstance(spec, Mapping)
    name = spec.get("name")
    strict = spec.get("strict")
    description = spec.get("description")
    return JsonSchemaFormat(
        name if isinstance(name, str) and name else "response",
        schema,
        strict if isinstance(strict, bool) else None,
        description if isinstance(description, str) else None,
    )

"""A response model's JSON schema, shaped for a provider, and its validators.

``response_model`` is anything a pydantic :class:`~pydantic.TypeAdapter` takes: a model, a
dataclass, a ``TypedDict``, ``list[Item]``, a ``Literal``, a union. Its schema comes from
pydantic, once per type (:func:`output_schema` caches it, so a repeated ``parse`` pays a dict
look-up), then is shaped once per provider kind (:meth:`OutputSchema.shaped`):

- strict (``json_schema_strict`` codecs: OpenAI, xAI, Anthropic): every object's properties all
  ``required`` and ``additionalProperties: false``, no ``default`` keywords, and a ``$ref`` with
  sibling keywords inlined (strict mode allows a ``$ref`` only on its own). A type that cannot be
  described so (a ``dict[str, X]``, whose keys are open, or ``Any``) is an
  :class:`~metallm.InvalidRequestError` naming it, before any I/O. Fields with defaults become
  required on the wire; the model then sends them and validation still accepts them.
- object root (every codec but Gemini and Ollama): a top level that is not an object is wrapped
  in ``{"value": ...}``, validated by a wrapper model and unwrapped.
"""

from __future__ import annotations

import contextlib
import copy
import re
from dataclasses import dataclass, field
from typing import Any, Final, Literal

from pydantic import TypeAdapter, ValidationError, create_model
from pydantic.errors import PydanticUserError

from ..errors import InvalidRequestError
from ..types import ResponseFormat

__all__ = ["OutputSchema", "Shaped", "output_schema", "type_name"]

_PARTIAL: Final[Literal["trailing-strings"]] = "trailing-strings"
"""pydantic's partial-JSON mode: an unfinished trailing string is kept as far as it came."""


def type_name(response_model: Any) -> str:
    """A readable name of a response model, for errors (``Order``, ``list[Item]``)."""
    name = getattr(response_model, "__name__", None)
    if isinstance(name, str) and not getattr(response_model, "__args__", None):
        return name
    return re.sub(r"\b[\w.]+\.(?=\w)", "", repr(response_model))  # module paths dropped


def _wire_name(response_model: Any) -> str:
    """The schema name providers see (``Order``, ``list_Item``): ``[a-zA-Z0-9_-]``, at most
    64 characters."""
    name = re.sub(r"[^a-zA-Z0-9_-]+", "_", type_name(response_model)).strip("_")
    return (name or "response")[:64]


@dataclass(eq=False)
class Shaped:
    """A schema shaped for one provider kind, and the validators of its replies.

    ``response_format`` is built once and shared by every request (nothing mutates it).
    ``wrapped``: replies are ``{"value": ...}`` and :meth:`validate` unwraps them.
    """

    response_format: ResponseFormat
    wrapped: bool
    _adapter: TypeAdapter[Any]

    def validate(self, text: str) -> Any:
        """The reply's value, fully validated (raises :class:`pydantic.ValidationError`)."""
        value = self._adapter.validate_json(_unfenced(text))
        return value.value if self.wrapped else value

    def partial(self, text: str) -> Any:
        """The value of an unfinished reply, validated as far as it came (None: not yet)."""
        try:
            value = self._adapter.validate_json(text, experimental_allow_partial=_PARTIAL)
        except ValidationError:
            return None
        return value.value if self.wrapped else value


@dataclass(eq=False)
class OutputSchema:
    """A response model, its pydantic adapter and schema, and its shapes (built on demand)."""

    model: Any
    adapter: TypeAdapter[Any]
    name: str
    schema: dict[str, Any]
    _shapes: dict[tuple[bool, bool], Shaped] = field(default_factory=dict)

    def shaped(self, strict: bool, object_root: bool) -> Shaped:
        """This schema as a provider of that kind takes it (cached)."""
        key = (strict, object_root)
        shape = self._shapes.get(key)
        if shape is None:
            shape = self._shapes[key] = self._shape(strict, object_root)
        return shape

    def _shape(self, strict: bool, object_root: bool) -> Shaped:
        schema = _hoisted(copy.deepcopy(self.schema))
        adapter = self.adapter
        wrapped = object_root and not _is_object(schema)
        if wrapped:
            defs = schema.pop("$defs", None)
            schema = {
                "type": "object",
                "properties": {"value": schema},
                "required": ["value"],
                "additionalProperties": False,
            }
            if defs:
                schema["$defs"] = defs
            wrapper = create_model(f"{self.name}_value", value=(self.model, ...))
            adapter = TypeAdapter(wrapper)
        if strict:
            schema = _strict(schema, schema.get("$defs", {}), type_name(self.model))
        spec: dict[str, Any] = {"name": self.name, "schema": schema}
        if strict:
            spec["strict"] = True
        description = self.schema.get("description")
        if isinstance(description, str):
            spec["description"] = description
        fmt = ResponseFormat(type="json_schema", json_schema=spec)
        return Shaped(fmt, wrapped, adapter)


_CACHE: dict[Any, OutputSchema] = {}


def output_schema(response_model: Any) -> OutputSchema:
    """The :class:`OutputSchema` of a response model (built once per type).

    A type pydantic cannot validate or describe is an :class:`~metallm.InvalidRequestError`
    naming it, raised before any I/O.
    """
    try:
        cached = _CACHE.get(response_model)
    except TypeError:  # an unhashable annotation: build it each time
        cached = None
    if cached is not None:
        return cached
    name = type_name(response_model)
    try:
        adapter: TypeAdapter[Any] = TypeAdapter(response_model)
        schema = adapter.json_schema()
    except (PydanticUserError, TypeError, ValueError) as exc:
        raise InvalidRequestError(
            f"response_model {name} has no JSON schema pydantic can build: {exc}"
        ) from None
    built = OutputSchema(response_model, adapter, _wire_name(response_model), schema)
    with contextlib.suppress(TypeError):  # unhashable: not cached
        _CACHE[response_model] = built
    return built


def _hoisted(schema: dict[str, Any]) -> dict[str, Any]:
    """A top level that is only a ``$ref`` (a recursive model) as the definition it names,
    ``$defs`` kept for the recursion: providers want the root's type at the root."""
    ref = schema.get("$ref")
    if isinstance(ref, str) and set(schema) <= {"$ref", "$defs"}:
        target = schema.get("$defs", {}).get(ref.rsplit("/", 1)[-1])
        if isinstance(target, dict):
            return {**target, "$defs": schema["$defs"]}
    return schema


def _is_object(schema: dict[str, Any]) -> bool:
    return schema.get("type") == "object"


_TYPED = frozenset(("type", "$ref", "anyOf", "oneOf", "allOf", "enum", "const", "properties"))
"""Keywords that constrain a schema's type: a schema with none of them accepts anything."""
_SCHEMA_MAPS = ("properties", "$defs")
_SCHEMA_LISTS = ("anyOf", "oneOf", "allOf", "prefixItems")


def _strict(node: dict[str, Any], defs: dict[str, Any], name: str) -> dict[str, Any]:
    """The schema ``node`` in the strict subset (see the module docstring), recursively; only
    schema positions are visited (``discriminator``, ``examples`` and the like are copied)."""
    if _TYPED.isdisjoint(node):
        raise InvalidRequestError(
            f"response_model {name} cannot be made strict: it has a field of any type (Any)"
        )
    ref = node.get("$ref")
    if isinstance(ref, str) and len(node) > 1 and "$defs" not in node:
        target = defs.get(ref.rsplit("/", 1)[-1], {})
        merged = {**target, **{k: v for k, v in node.items() if k != "$ref"}}
        return _strict(merged, defs, name)
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key == "default":
            continue
        if key in _SCHEMA_MAPS:
            out[key] = {k: _strict(v, defs, name) for k, v in value.items()}
        elif key in _SCHEMA_LISTS:
            out[key] = [_strict(v, defs, name) for v in value]
        elif key in ("items", "additionalProperties") and isinstance(value, dict):
            out[key] = _strict(value, defs, name)
        else:
            out[key] = value
    if out.get("type") == "object" or "properties" in out:
        extra = out.get("additionalProperties")
        if extra not in (None, False) and not out.get("properties"):
            raise InvalidRequestError(
                f"response_model {name} cannot be made strict: a mapping with open keys "
                "(dict[str, ...]) has no fixed properties; use a model with named fields"
            )
        properties = out.setdefault("properties", {})
        out["required"] = list(properties)
        out["additionalProperties"] = False
    return out


_FENCE = re.compile(r"^\s*```[a-zA-Z]*\s*\n(.*)\n\s*```\s*$", re.DOTALL)


def _unfenced(text: str) -> str:
    """The JSON of a reply a model wrapped in a Markdown code fence (else the text)."""
    if text.startswith("```") or text.lstrip().startswith("```"):
        match = _FENCE.match(text)
        if match:
            return match.group(1)
    return text

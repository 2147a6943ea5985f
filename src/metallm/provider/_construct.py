"""Building already-checked pydantic models at the cost of a dict: the codecs' hot path.

Public as :func:`metallm.provider.construct` / :func:`metallm.provider.constructor`, part of
the codec kit, since every codec (built-in or not) builds its chunks and responses this way.

``Model.model_construct(**fields)`` skips validation but still walks every field to fill
defaults, which costs about as much as ``json.loads`` of a whole stream chunk. A codec that
builds a model from values it has already checked can do better: :func:`construct` sets the
instance state directly (``__dict__``, the fields-set, no extra, no private state), which is
exactly what ``model_construct`` produces when *every* field is given. Callers must therefore
pass every field of the model, each with the right type; the codec tests
(``tests/providers/openai/test_openai_codec.py``) check the result against ``model_construct``
and against validated models.

If a future pydantic stores instance state differently, :func:`construct` falls back to
``model_construct``, so it is never wrong, only slower.
"""

from __future__ import annotations

from collections.abc import Callable
from types import GetSetDescriptorType, MemberDescriptorType
from typing import Any, TypeVar

from pydantic import BaseModel

__all__ = ["construct", "constructor"]

_M = TypeVar("_M", bound=BaseModel)

_STATE = ("__pydantic_fields_set__", "__pydantic_extra__", "__pydantic_private__")
_slots: dict[str, Any] = dict(BaseModel.__dict__)
_FAST = isinstance(_slots.get("__dict__"), GetSetDescriptorType) and all(
    isinstance(_slots.get(name), MemberDescriptorType) for name in _STATE
)

_new = object.__new__


if _FAST:
    _set_dict = _slots["__dict__"].__set__
    _set_fields_set = _slots["__pydantic_fields_set__"].__set__
    _set_extra = _slots["__pydantic_extra__"].__set__
    _set_private = _slots["__pydantic_private__"].__set__

    def construct(cls: type[_M], fields: dict[str, Any]) -> _M:
        """``cls.model_construct(**fields)`` without its per-field walk; give every field.

        ``fields`` becomes the instance's ``__dict__`` (do not reuse it). Only for models
        without private attributes or extra fields, which is every model of
        :mod:`metallm.types`.
        """
        model = _new(cls)
        _set_dict(model, fields)
        _set_fields_set(model, set(fields))
        _set_extra(model, None)
        _set_private(model, None)
        return model

    def constructor(cls: type[_M]) -> Callable[[dict[str, Any]], _M]:
        """:func:`construct` bound to one class: the fastest form, for per-chunk models.

        Every instance shares one fields-set: since every field is always given, the set is
        the same for all of them, and pydantic only ever adds names already in it.
        """
        every_field = set(cls.model_fields)

        def build(fields: dict[str, Any]) -> _M:
            model = _new(cls)
            _set_dict(model, fields)
            _set_fields_set(model, every_field)
            _set_extra(model, None)
            _set_private(model, None)
            return model

        return build

else:  # pragma: no cover - depends on the installed pydantic

    def construct(cls: type[_M], fields: dict[str, Any]) -> _M:
        """``cls.model_construct(**fields)`` (the fallback when pydantic's layout changed)."""
        return cls.model_construct(**fields)

    def constructor(cls: type[_M]) -> Callable[[dict[str, Any]], _M]:
        """:func:`construct` bound to one class."""
        return lambda fields: cls.model_construct(**fields)

"""The base of every user-written type: strict about unknown fields, lenient with wire data.

Users build requests from keyword arguments, dicts and objects; a misspelt field
(``temprature=``, a message's ``contnet``) must fail naming the closest known one instead of
being dropped, while replies parsed with ``model_validate`` stay lenient (wire formats grow
fields). :class:`_Input` and :func:`reject_unknown_fields` own that rule for
:mod:`metallm.types`, which re-exports them.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, get_args, get_origin

from pydantic import BaseModel, ConfigDict

from .errors import InvalidRequestError

__all__ = ["reject_unknown_fields", "validation_summary"]


class _Model(BaseModel):
    model_config = ConfigDict(populate_by_name=True, defer_build=True)


class _Input(_Model):
    """A type users write: an unknown field is an :class:`~metallm.InvalidRequestError` naming
    the closest known one (``temprature=``, a message's ``contnet``), never silently dropped.

    The check runs when a user builds the object (``Message(...)``) and, through
    :func:`reject_unknown_fields`, on the dicts and keyword arguments a request is made of;
    ``model_validate`` of a provider's reply stays lenient (wire formats grow fields).
    """

    def __init__(self, /, **data: Any) -> None:
        reject_unknown_fields(type(self), data)
        super().__init__(**data)

    # Pydantic calls a model's own ``__init__`` for nested values too unless it is marked as
    # its base one; marked, nested wire data (``Response.model_validate(reply)``) stays lenient
    # while ``Message(...)`` written by a user is checked (tests/test_validation.py pins both).
    __init__.__pydantic_base_init__ = True  # type: ignore[attr-defined]


_SHAPES: dict[type[_Input], tuple[frozenset[str], dict[str, tuple[type[_Input], ...]]]] = {}


def _shape(cls: type[_Input]) -> tuple[frozenset[str], dict[str, tuple[type[_Input], ...]]]:
    """A type's field names, and the fields holding input types (none that take a free-form
    dict: ``response_format={...}`` may be a raw wire-format value). Computed once per type."""
    shape = _SHAPES.get(cls)
    if shape is None:
        nested: dict[str, tuple[type[_Input], ...]] = {}
        for name, info in cls.model_fields.items():
            found: list[type[_Input]] = []
            stack = [info.annotation]
            while stack:
                annotation = stack.pop()
                if get_origin(annotation) is dict or annotation is dict:
                    found = []
                    break
                if isinstance(annotation, type) and issubclass(annotation, _Input):
                    found.append(annotation)
                else:
                    stack.extend(get_args(annotation))
            if found:
                nested[name] = tuple(found)
        shape = _SHAPES[cls] = (frozenset(cls.model_fields), nested)
    return shape


def _pick(candidates: tuple[type[_Input], ...], item: dict[str, Any]) -> type[_Input] | None:
    if len(candidates) == 1:
        return candidates[0]
    for candidate in candidates:  # content parts: told apart by their "type"
        field = candidate.model_fields.get("type")
        if field is not None and field.default == item.get("type"):
            return candidate
    return None


def reject_unknown_fields(cls: type[_Input], data: dict[str, Any], where: str = "") -> None:
    """Raise :class:`~metallm.InvalidRequestError` for the first unknown key in ``data``
    (nested messages, parts and tools included), naming the closest known field.

    On the hot path (every call made with keyword arguments) this is a set comparison per
    dict: the slow naming work runs only once something is unknown.
    """
    known, nested = _shape(cls)
    if not known.issuperset(data):
        import difflib  # only once a field is unknown: ``import metallm`` skips difflib

        key = next(k for k in data if k not in known)
        close = difflib.get_close_matches(str(key), list(cls.model_fields), n=1, cutoff=0.6)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise InvalidRequestError(
            f"unknown field {where + str(key)!r} of {cls.__name__}{hint} (known: "
            f"{', '.join(cls.model_fields)}; provider-specific fields go in extra=)"
        )
    for key, value in data.items():  # the keys given: usually fewer than the nested fields
        candidates = nested.get(key)
        if candidates is None:
            continue
        if type(value) is dict:
            target = _pick(candidates, value)
            if target is not None:
                reject_unknown_fields(target, value, f"{where}{key}.")
        elif type(value) is list:
            for i, item in enumerate(value):
                if type(item) is dict and (target := _pick(candidates, item)) is not None:
                    reject_unknown_fields(target, item, f"{where}{key}[{i}].")


def validation_summary(exc: Any, known: Iterable[str] = ()) -> str:
    """A readable one-line summary of a pydantic ``ValidationError`` (its first five errors).

    An unknown field names the ``known`` ones and where provider-specific fields go.
    """
    parts = []
    for err in exc.errors()[:5]:
        where = ".".join(str(p) for p in err.get("loc", ())) or "request"
        if err.get("type") == "extra_forbidden":
            names = ", ".join(known)
            parts.append(
                f"unknown field {where!r} (known: {names}; provider-specific fields go in extra=)"
            )
        else:
            parts.append(f"{where}: {err.get('msg', 'invalid')}")
    more = exc.error_count() - len(parts)
    return "; ".join(parts) + (f" (+{more} more)" if more > 0 else "")

"""Tool definitions derived from plain functions: the ``@metallm.tool`` decorator.

A :class:`FunctionTool` is a function plus what the model needs to call it: a name, a
description (the docstring's text before its ``Args:``/``Returns:`` sections) and the JSON schema
of its parameters, built by pydantic from the signature and type hints (a model of the
parameters, as ``validate_call`` builds one), with each parameter's ``Args:`` line as its
description. The same pydantic model validates and converts the model's arguments before the
call, so a tool receives the types its signature promises (``Literal`` checked, ``int`` from
``"3"`` refused in strict places pydantic refuses it, nested models built).

Everything that can be wrong with a tool is found here, when it is defined, before any I/O:
``*args``/``**kwargs`` (the model passes named JSON values only), an annotation pydantic cannot
describe, a name the providers refuse. Each is a :class:`~metallm.ConfigurationError` naming the
tool.
"""

from __future__ import annotations

import contextlib
import inspect
import re
import typing
import weakref
from collections.abc import Callable, Iterable
from typing import Any, overload

import pydantic

from ..errors import ConfigurationError, InvalidRequestError
from ..types import FunctionDefinition, Tool

__all__ = ["FunctionTool", "as_tools", "tool"]

_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")  # the strictest of the providers' rules (OpenAI)
_SECTION = re.compile(r"^\s*(Args|Arguments|Parameters|Returns|Raises|Yields|Examples?):\s*$")
_ARG_LINE = re.compile(r"^\s*\*{0,2}(\w+)\s*(?:\([^)]*\))?\s*:\s*(.*)$")


class FunctionTool:
    """A function the loop can run, with the definition the model is shown.

    Calling the object calls the function, so a decorated function still works as before.
    ``timeout`` (seconds, None: none) bounds one execution; a tool that overruns becomes a
    ``timeout`` tool error (a sync function's thread cannot be stopped: it runs on, its result
    discarded).
    """

    __slots__ = (
        "__weakref__",
        "definition",
        "description",
        "fn",
        "is_async",
        "model",
        "name",
        "parameters",
        "positional",
        "timeout",
    )

    def __init__(
        self,
        fn: Callable[..., Any],
        *,
        name: str | None = None,
        description: str | None = None,
        timeout: float | None = None,
    ) -> None:
        if not callable(fn):
            raise ConfigurationError(f"a tool must be a function, got {type(fn).__name__}")
        self.fn = fn
        raw = name or getattr(fn, "__name__", "")
        if not isinstance(raw, str) or not _NAME.match(raw):
            raise ConfigurationError(
                f"tool name {raw!r} must be 1 to 64 letters, digits, '_' or '-'"
            )
        self.name: str = raw
        if timeout is not None and (not isinstance(timeout, int | float) or timeout <= 0):
            raise ConfigurationError(f"tool {self.name!r}: timeout must be a positive number")
        self.timeout = float(timeout) if timeout is not None else None
        self.is_async = inspect.iscoroutinefunction(fn) or inspect.iscoroutinefunction(
            getattr(fn, "__call__", None)  # noqa: B004 - an async callable object
        )
        doc = inspect.getdoc(fn) or ""
        text, arg_docs = _split_doc(doc)
        self.description = description if description is not None else text
        self.model, self.positional = _parameters_model(self.name, fn, arg_docs)
        try:
            schema = self.model.model_json_schema()
        except Exception as exc:  # pydantic could build a validator, not a JSON schema
            raise ConfigurationError(
                f"tool {self.name!r}: its parameters cannot be described as JSON schema: {exc}"
            ) from exc
        schema.pop("title", None)
        self.parameters: dict[str, Any] = schema
        self.definition = Tool(
            function=FunctionDefinition(
                name=self.name, description=self.description or None, parameters=schema
            )
        )

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.fn(*args, **kwargs)

    def __repr__(self) -> str:
        return f"FunctionTool({self.name!r})"

    def arguments(self, text: str) -> tuple[tuple[Any, ...], dict[str, Any]]:
        """The model's JSON ``text`` validated and converted: ``(args, kwargs)`` for the call.

        Raises pydantic's ``ValidationError`` (the loop turns it into a tool error)."""
        validated = self.model.model_validate_json(text.strip() or "{}")
        values = {name: getattr(validated, name) for name in type(validated).model_fields}
        if not self.positional:
            return (), values
        return tuple(values.pop(name) for name in self.positional), values


def _split_doc(doc: str) -> tuple[str, dict[str, str]]:
    """A Google-style docstring as (its text before the sections, each argument's line)."""
    text: list[str] = []
    args: dict[str, str] = {}
    section: str | None = None
    current: str | None = None
    for line in doc.splitlines():
        match = _SECTION.match(line)
        if match:
            section = match.group(1)
            current = None
            continue
        if section is None:
            text.append(line)
        elif section in ("Args", "Arguments", "Parameters"):
            arg = _ARG_LINE.match(line)
            if arg and not line.startswith((" " * 8, "\t\t")):
                current = arg.group(1)
                args[current] = arg.group(2).strip()
            elif current and line.strip():
                args[current] = f"{args[current]} {line.strip()}".strip()
    return "\n".join(text).strip(), args


def _parameters_model(
    name: str, fn: Callable[..., Any], docs: dict[str, str]
) -> tuple[type[pydantic.BaseModel], tuple[str, ...]]:
    """A pydantic model of ``fn``'s parameters, and the names passed positionally."""
    try:
        signature = inspect.signature(fn)
    except (TypeError, ValueError) as exc:
        raise ConfigurationError(f"tool {name!r}: its signature cannot be read: {exc}") from exc
    try:
        hints = typing.get_type_hints(fn, include_extras=True)
    except Exception as exc:
        raise ConfigurationError(
            f"tool {name!r}: its type hints cannot be resolved: {exc}"
        ) from exc
    fields: dict[str, Any] = {}
    positional: list[str] = []
    for param in signature.parameters.values():
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            raise ConfigurationError(
                f"tool {name!r}: *{param.name} cannot be described to a model "
                "(use named parameters)"
            )
        if param.kind is param.POSITIONAL_ONLY:
            positional.append(param.name)
        annotation = hints.get(param.name, Any)
        default = ... if param.default is param.empty else param.default
        fields[param.name] = (
            annotation,
            pydantic.Field(default, description=docs.get(param.name) or None),
        )
    try:
        model = pydantic.create_model(
            f"{name}_arguments",
            __config__=pydantic.ConfigDict(extra="forbid", arbitrary_types_allowed=False),
            **fields,
        )
    except Exception as exc:
        raise ConfigurationError(
            f"tool {name!r}: a parameter's annotation is not supported: {exc}"
        ) from exc
    return model, tuple(positional)


@overload
def tool(fn: Callable[..., Any], /) -> FunctionTool: ...


@overload
def tool(
    *, name: str | None = None, description: str | None = None, timeout: float | None = None
) -> Callable[[Callable[..., Any]], FunctionTool]: ...


def tool(
    fn: Callable[..., Any] | None = None,
    /,
    *,
    name: str | None = None,
    description: str | None = None,
    timeout: float | None = None,
) -> FunctionTool | Callable[[Callable[..., Any]], FunctionTool]:
    """Make a function a tool: ``@metallm.tool`` or ``@metallm.tool(timeout=5)``.

    The definition is derived once, here, so a broken signature fails at import time rather
    than at the first model call."""
    if fn is not None:
        return FunctionTool(fn, name=name, description=description, timeout=timeout)

    def decorate(function: Callable[..., Any]) -> FunctionTool:
        return FunctionTool(function, name=name, description=description, timeout=timeout)

    return decorate


_derived: weakref.WeakKeyDictionary[Any, FunctionTool] = weakref.WeakKeyDictionary()
"""Plain functions passed to ``run_tools`` more than once are described once."""


def as_tools(tools: Iterable[FunctionTool | Callable[..., Any]]) -> dict[str, FunctionTool]:
    """``tools`` as tools by name: plain functions described, names unique (else an error)."""
    if isinstance(tools, FunctionTool) or callable(tools):
        raise InvalidRequestError("tools must be a list of functions or tools")
    out: dict[str, FunctionTool] = {}
    for item in tools:
        if isinstance(item, FunctionTool):
            described = item
        else:
            try:
                described = _derived.get(item) or FunctionTool(item)
            except TypeError:  # not weak-referenceable: describe it each time
                described = FunctionTool(item)
            else:
                with contextlib.suppress(TypeError):  # not weak-referenceable: not cached
                    _derived[item] = described
        if described.name in out:
            raise ConfigurationError(f"two tools are named {described.name!r}")
        out[described.name] = described
    if not out:
        raise InvalidRequestError("run_tools needs at least one tool")
    return out

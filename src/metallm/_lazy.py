"""Public names a package imports at their first use (a module ``__getattr__`` and ``__dir__``).

``import metallm`` must stay cheap (DESIGN.md section 9: at most 1.5x ``import httpx,
pydantic, opentelemetry.trace``), yet the tool loop, structured output, conversation memory,
pricing and routing each pull modules (and stdlib such as ``asyncio``) that a plain chat call
never runs. A package lists such names in a table, name -> submodule, and installs the pair of
functions :func:`lazy_attributes` returns::

    if not TYPE_CHECKING:  # type checkers read the package's TYPE_CHECKING imports
        __getattr__, __dir__ = lazy_attributes(__name__, _LAZY, globals())

Python calls a module's ``__getattr__`` only for names it does not have, so after its first
use a name is an ordinary global of the package and costs nothing more; ``__dir__`` lists the
lazy names with the loaded ones. Type checkers see the names through the package's own
``if TYPE_CHECKING:`` imports, exactly as they are, and no ``__getattr__`` (so a misspelt
name is still an error for them, not an ``object``).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["lazy_attributes"]


def lazy_attributes(
    package: str, table: Mapping[str, str], namespace: dict[str, Any]
) -> tuple[Callable[[str], object], Callable[[], list[str]]]:
    """The ``__getattr__`` and ``__dir__`` of ``package``, whose ``table`` maps each lazy name
    to the submodule (relative to ``package``) that defines it, or a submodule's name to
    itself (``"models": "models"``: the submodule is the value); ``namespace`` is the
    package's ``globals()``, where a resolved name is kept."""

    def __getattr__(name: str) -> object:
        module = table.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value: object = importlib.import_module(f"{package}.{module}")
        if module != name:  # a name the submodule defines (else: the submodule itself)
            value = getattr(value, name)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted({*namespace, *table})

    return __getattr__, __dir__

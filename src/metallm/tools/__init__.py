"""Tools metallm runs for the model: ``@metallm.tool`` and the ``run_tools`` loop.

- :func:`tool` / :class:`FunctionTool`: a function described to the model (name, docstring,
  JSON schema of its parameters, derived by pydantic) and its arguments validated before a call;
- :class:`ToolRunResult`, :class:`ToolStep`, :class:`ToolCallRecord`: what ``run_tools``
  returns;
- the loop itself (:mod:`metallm.tools._flow`) and how a step's tools run
  (:mod:`metallm.tools._execute`), behind the clients' ``run_tools`` methods
  (:mod:`metallm.tools.client_methods`).
"""

from typing import TYPE_CHECKING

from .._lazy import lazy_attributes

if TYPE_CHECKING:
    from ._define import FunctionTool, tool
    from ._result import ToolCallRecord, ToolRunResult, ToolStep

__all__ = ["FunctionTool", "ToolCallRecord", "ToolRunResult", "ToolStep", "tool"]

_LAZY = {
    "FunctionTool": "_define",
    "ToolCallRecord": "_result",
    "ToolRunResult": "_result",
    "ToolStep": "_result",
    "tool": "_define",
}
"""Every public name is imported at its first use: the clients' ``run_tools`` methods live in
:mod:`metallm.tools.client_methods`, which ``import metallm`` loads, and loading this package
for it must not build the tool types (about 3 ms) nor the loop's ``asyncio`` and thread pool."""

if not TYPE_CHECKING:  # type checkers read the imports above (a typo stays an error)
    __getattr__, __dir__ = lazy_attributes(__name__, _LAZY, globals())

"""Tools metallm runs for the model: ``@metallm.tool`` and the ``run_tools`` loop.

- :func:`tool` / :class:`FunctionTool`: a function described to the model (name, docstring,
  JSON schema of its parameters, derived by pydantic) and its arguments validated before a call;
- :class:`ToolRunResult`, :class:`ToolStep`, :class:`ToolCallRecord`: what ``run_tools``
  returns;
- the loop itself (:mod:`metallm.tools._flow`) and how a step's tools run
  (:mod:`metallm.tools._execute`), behind the clients' ``run_tools`` methods
  (:mod:`metallm.tools.client_methods`).
"""

from ._define import FunctionTool, tool
from ._result import ToolCallRecord, ToolRunResult, ToolStep

__all__ = ["FunctionTool", "ToolCallRecord", "ToolRunResult", "ToolStep", "tool"]

"""Structured output: typed answers from every provider (``client.parse`` / ``parse_stream``).

- :mod:`._schema`: the response model's JSON schema (from pydantic, cached per type), shaped per
  provider kind (strict-compatible, object root) and its full and partial validators;
- :mod:`._flow`: the parse flow over the exchange (an outer call, one chat call per attempt,
  validation re-asks), driven by either client's pump;
- :mod:`._reply`: reading a reply's JSON (text or the forced tool call), refusals, re-asks;
- :mod:`._stream`: :class:`ParseStream` / :class:`AsyncParseStream`, partial objects as they
  stream;
- :mod:`._result`: :class:`ParsedResponse`, what ``parse`` returns.
"""

from ._flow import parse_flow, prepare
from ._result import ParsedResponse
from ._stream import AsyncParseStream, ParseStream

__all__ = ["AsyncParseStream", "ParseStream", "ParsedResponse", "parse_flow", "prepare"]

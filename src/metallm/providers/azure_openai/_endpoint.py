"""Where an Azure OpenAI request goes: the resource endpoint, the URL shape and the API version.

Azure OpenAI serves the same operations under two URL shapes (Microsoft's REST reference,
https://learn.microsoft.com/azure/ai-foundry/openai/reference, and its API lifecycle page,
https://learn.microsoft.com/azure/ai-foundry/openai/api-version-lifecycle):

* the **deployment path** ``{endpoint}/openai/deployments/{deployment}/{operation}
  ?api-version={version}``, versioned by date. The default version is ``2024-10-21``, which
  the reference names "the latest GA release of the Azure OpenAI data plane inference
  specification" (the lifecycle page: "currently the latest GA API release");
* the **v1 path** ``{endpoint}/openai/v1/{operation}``, generally available since August 2025
  and unversioned ("``api-version`` is no longer a required parameter"): the deployment goes
  in the body's ``model`` only. An ``api_version`` given explicitly (``preview``, for the v1
  preview features) is still sent as ``?api-version=``.

``extra["api"] == "responses"`` speaks the Responses API instead of Chat Completions, at
``{endpoint}/openai/v1/responses`` (or the dated ``{endpoint}/openai/responses?api-version=``
when an ``api_version`` is given and the base URL is not the v1 path).

The rule: the v1 path when ``extra["api"] == "v1"`` or the base URL ends in ``/openai/v1``;
the deployment path otherwise (``extra["api"] == "deployments"`` says so explicitly, and then
a ``/openai/v1`` base URL is a contradiction). The base URL is the resource endpoint,
``https://<resource>.openai.azure.com`` (any host works: ``*.cognitiveservices.azure.com``,
``*.services.ai.azure.com``, an API Management gateway with a path prefix); a trailing
``/openai`` is tolerated. A deployment URL, a query string (``?api-version=`` belongs in
``extra``) or a bad ``api``/``api_version`` is a :class:`~metallm.ConfigurationError` at
construction, naming what to pass instead.

:meth:`AzureEndpoint.url` builds any operation's URL, so another codec class (the Responses
API) reuses it: ``url("responses")``, with no deployment, is the dated
``{endpoint}/openai/responses?api-version=...`` or the v1 ``{endpoint}/openai/v1/responses``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote, urlsplit

from ...errors import ConfigurationError, InvalidRequestError

__all__ = ["API_SHAPES", "DEFAULT_API_VERSION", "ENDPOINT_ENV", "AzureEndpoint"]

DEFAULT_API_VERSION = "2024-10-21"
"""The latest GA version of the dated (deployment-path) inference API, per Azure's reference."""
API_SHAPES = ("deployments", "v1", "responses")
"""The values of ``extra["api"]``: Chat Completions on the dated deployment path (default) or
on the v1 path, or the Responses API (on the v1 path; on the dated ``/openai/responses`` path
when an ``api_version`` is given)."""
ENDPOINT_ENV = "AZURE_OPENAI_ENDPOINT"
"""The variable the endpoint is read from when ``base_url`` is not given."""

_VERSION = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
_MAX_URLS = 256


class AzureEndpoint:
    """One resource's URLs: its endpoint ``root``, the shape (``api``) and ``api_version``.

    Built once per codec; :meth:`url` is called per request and caches each deployment's URL
    (a handful per client), so a call costs a dict lookup.
    """

    __slots__ = ("_base", "_query", "_urls", "api", "api_version", "provider", "responses", "root")

    def __init__(self, base_url: str, extra: Mapping[str, Any], provider: str = "azure_openai"):
        self.provider = provider
        if not base_url:
            raise ConfigurationError(
                f"{provider} needs the resource endpoint: pass "
                f"base_url='https://<resource>.openai.azure.com' or set {ENDPOINT_ENV}"
            )
        parts = urlsplit(base_url)
        if parts.query or parts.fragment:
            raise ConfigurationError(
                f"{provider}: base_url {base_url!r} carries a query; pass the endpoint alone "
                "and the version as extra={'api_version': ...}"
            )
        path = parts.path.rstrip("/")
        lowered = path.lower()
        if "/openai/deployments" in lowered:
            raise ConfigurationError(
                f"{provider}: base_url {base_url!r} is a deployment URL; pass the resource "
                "endpoint (https://<resource>.openai.azure.com) and the deployment name as model"
            )
        v1_url = lowered.endswith("/openai/v1")
        if v1_url:
            path = path[: -len("/openai/v1")]
        elif lowered.endswith("/openai"):
            path = path[: -len("/openai")]
        self.root = f"{parts.scheme}://{parts.netloc}{path}"
        asked = extra.get("api")
        self.responses = asked == "responses"  # the Responses API rather than Chat Completions
        if self.responses:  # v1 unless a dated version asks for the dated path
            asked = "deployments" if extra.get("api_version") and not v1_url else "v1"
        self.api = self._shape(asked, v1_url, base_url)
        self.api_version = self._version(extra.get("api_version"))
        self._query = f"?api-version={self.api_version}" if self.api_version else ""
        self._base = f"{self.root}/openai/v1" if self.api == "v1" else f"{self.root}/openai"
        self._urls: dict[tuple[str, str | None], str] = {}

    def _shape(self, asked: Any, v1_url: bool, base_url: str) -> str:
        if asked is None:
            return "v1" if v1_url else "deployments"
        if asked not in API_SHAPES:
            raise ConfigurationError(
                f"{self.provider}: extra['api'] must be 'deployments' (the dated deployment "
                f"path, the default), 'v1' (the /openai/v1 path) or 'responses' (the Responses "
                f"API), not {asked!r}"
            )
        if v1_url and asked != "v1":
            raise ConfigurationError(
                f"{self.provider}: base_url {base_url!r} is the v1 path but extra['api'] is "
                f"{asked!r}; pass the resource endpoint for the deployment path"
            )
        return str(asked)

    def _version(self, asked: Any) -> str | None:
        if asked is None:
            return None if self.api == "v1" else DEFAULT_API_VERSION
        if not isinstance(asked, str) or not _VERSION.fullmatch(asked):
            raise ConfigurationError(
                f"{self.provider}: extra['api_version'] must be an API version such as "
                f"{DEFAULT_API_VERSION!r} (the default) or '2025-04-01-preview', not {asked!r}"
            )
        return asked

    @property
    def is_v1(self) -> bool:
        """Whether requests go to the v1 path (the deployment then travels in the body)."""
        return self.api == "v1"

    def url(self, operation: str, deployment: str | None = None) -> str:
        """The URL of ``operation`` (``chat/completions``, ``embeddings``, ``responses``).

        On the deployment path ``deployment`` (the request's model) goes into the path; an
        empty one is an :class:`~metallm.InvalidRequestError` before any I/O. ``None`` means
        an operation Azure serves without a deployment in the path.
        """
        key = (operation, deployment)
        url = self._urls.get(key)
        if url is not None:
            return url
        if self.api == "v1" or deployment is None:
            url = f"{self._base}/{operation}{self._query}"
        elif not deployment:
            raise InvalidRequestError(
                f"{self.provider}: model is the deployment name and must not be empty"
            )
        else:
            name = quote(deployment, safe="")
            url = f"{self._base}/deployments/{name}/{operation}{self._query}"
        if len(self._urls) >= _MAX_URLS:
            self._urls.clear()
        self._urls[key] = url
        return url

    def describe(self) -> dict[str, object]:
        """What a ``repr`` shows of the endpoint (no secret is part of it)."""
        api = "responses" if self.responses else self.api
        return {"api": api, "api_version": self.api_version}

"""OpenAI's own span attributes: the ``openai.*`` names of the GenAI conventions' OpenAI page.

The official OpenAI instrumentation (``opentelemetry-instrumentation-openai-v2``) records the
service tier asked for, the one that served the call and the system fingerprint on the span;
they are high-cardinality or provider-specific, so never on metrics. metallm's telemetry
package names no provider, so the names and the function reading them live here, and reach
the span through the codec's ``span_attributes`` (see :class:`metallm.provider.HTTPCodec`).
The strings equal ``opentelemetry.semconv._incubating.attributes.openai_attributes``'s
constants (a test checks it); providers may not import ``opentelemetry`` themselves.
"""

from __future__ import annotations

from ...types import ChatCompletionRequest, ChatCompletionResponse

__all__ = [
    "REQUEST_SERVICE_TIER",
    "RESPONSE_SERVICE_TIER",
    "RESPONSE_SYSTEM_FINGERPRINT",
    "openai_span_attributes",
]

REQUEST_SERVICE_TIER = "openai.request.service_tier"
"""The tier asked for, sent as ``extra={"service_tier": ...}`` (``auto``, ``default``, ``flex``,
``priority``)."""
RESPONSE_SERVICE_TIER = "openai.response.service_tier"
"""The tier that served the call, from the reply (or a stream's chunks)."""
RESPONSE_SYSTEM_FINGERPRINT = "openai.response.system_fingerprint"
"""The backend configuration that served the call, from the reply (or a stream's chunks)."""


def openai_span_attributes(
    request: ChatCompletionRequest, response: ChatCompletionResponse | None
) -> dict[str, str | bool | int | float]:
    """The ``openai.*`` attributes of one call; empty values are left out.

    ``response`` is None when the call failed: the tier asked for is still worth seeing then.
    """
    attrs: dict[str, str | bool | int | float] = {}
    asked = request.extra.get("service_tier") if request.extra else None
    if isinstance(asked, str) and asked:
        attrs[REQUEST_SERVICE_TIER] = asked
    if response is not None:
        if response.service_tier:
            attrs[RESPONSE_SERVICE_TIER] = response.service_tier
        if response.system_fingerprint:
            attrs[RESPONSE_SYSTEM_FINGERPRINT] = response.system_fingerprint
    return attrs

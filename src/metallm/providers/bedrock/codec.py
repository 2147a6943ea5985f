"""The Bedrock Converse provider: a SigV4-signing, sans-IO codec on the public interface only.

:class:`BedrockProvider` implements :class:`metallm.provider.HTTPProvider` for
``POST {endpoint}/model/{modelId}/converse`` and ``/converse-stream``. It imports nothing
private from metallm (only ``metallm.provider``, ``metallm.types`` and ``metallm.errors``, the
codec kit's :class:`~metallm.provider.HTTPCodec` and
:class:`~metallm.provider.EventDecoder` included): it is the proof that a third party can write
a provider with the public API. botocore is imported when
the provider is constructed, for SigV4 (``botocore.auth.SigV4Auth``, service ``bedrock``) and
credentials (explicit keys, else botocore's default chain: environment, profile, SSO,
instance role...), and by the stream decoder for event-stream framing.

Each request is signed when built: the ``authorization``, ``x-amz-date`` (and
``x-amz-security-token``) headers go in :class:`~metallm.provider.HTTPRequest`, so a retry
re-sends the same signature (valid for 5 minutes). The secret key and session token are the
provider's :meth:`secrets`, redacted from every error; neither appears in ``repr``.

Thinking signatures: Bedrock (Anthropic models) only accepts reasoning sent back with the
signature it issued. The parsers keep each ``reasoningContent`` block on the message itself
(:attr:`~metallm.Message.reasoning`, stamped ``bedrock``), so it travels with the conversation
(memory, other processes) and goes back byte-exact; the codec remembers nothing between calls.
"""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import quote

from metallm.embeddings import EmbeddingsRequest
from metallm.errors import APIError, ConfigurationError
from metallm.provider import (
    HTTPCodec,
    HTTPRequest,
    HTTPResponse,
    ProviderSettings,
    error_from_response,
)
from metallm.types import ChatCompletionRequest

from ._embeddings import TITAN_LIMIT, batch_limit, build_embeddings_body, parse_embeddings_reply
from ._request import build_body
from ._response import parse_converse
from ._stream import EXCEPTION_STATUS, BedrockStreamDecoder
from ._tokens import build_count_body, is_unsupported, parse_count_reply

__all__ = ["DEFAULT_ENDPOINT", "BedrockProvider", "create"]

DEFAULT_ENDPOINT = "https://bedrock-runtime.{region}.amazonaws.com"
_SERVICE = "bedrock"


class BedrockProvider(HTTPCodec):
    """Bedrock Converse as a sans-IO codec; inject with ``Client(custom_provider=...)``.

    ``region`` (else ``AWS_REGION``/``AWS_DEFAULT_REGION``, else the botocore profile's region)
    picks the endpoint ``https://bedrock-runtime.{region}.amazonaws.com``; ``endpoint_url``
    overrides it (VPC endpoints, a fake server). Credentials are the explicit keys when given,
    else botocore's default chain (resolved here, refreshed per request when they expire).
    """

    name = "bedrock"
    semconv_name = "aws.bedrock"
    system_instructions_apart = True
    user_agent = ""  # the signed headers are exactly content-type and accept
    stream_accept = "application/vnd.amazon.eventstream"

    def __init__(
        self,
        region: str | None = None,
        *,
        aws_access_key_id: str | None = None,
        aws_secret_access_key: str | None = None,
        aws_session_token: str | None = None,
        endpoint_url: str | None = None,
        profile: str | None = None,
    ) -> None:
        import botocore.session  # type: ignore[import-untyped]
        from botocore.auth import SigV4Auth  # type: ignore[import-untyped]
        from botocore.awsrequest import AWSRequest  # type: ignore[import-untyped]
        from botocore.credentials import Credentials  # type: ignore[import-untyped]
        from botocore.exceptions import BotoCoreError  # type: ignore[import-untyped]

        self._sigv4 = SigV4Auth
        self._aws_request = AWSRequest
        if aws_access_key_id or aws_secret_access_key:
            if not (aws_access_key_id and aws_secret_access_key):
                raise ConfigurationError(
                    "bedrock: pass both aws_access_key_id and aws_secret_access_key"
                )
            self._credentials: Any = Credentials(
                aws_access_key_id, aws_secret_access_key, aws_session_token
            )
        region = region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
        if not aws_access_key_id or not region:
            try:
                session = botocore.session.Session(profile=profile)
                if not aws_access_key_id:
                    self._credentials = session.get_credentials()
                region = region or session.get_config_variable("region")
            except BotoCoreError as exc:  # unknown profile, bad config file, ...
                raise ConfigurationError(f"bedrock: {type(exc).__name__}: {exc}") from None
            if self._credentials is None:
                raise ConfigurationError(
                    "bedrock: no AWS credentials found: pass aws_access_key_id and"
                    " aws_secret_access_key, or configure the AWS default chain"
                    " (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE, ...)"
                )
        if not region:
            raise ConfigurationError("bedrock: no region: pass region=... or set AWS_REGION")
        self._region = str(region)
        super().__init__(None, endpoint_url or DEFAULT_ENDPOINT.format(region=self._region))

    @property
    def region(self) -> str:
        """The AWS region requests are signed for."""
        return self._region

    def secrets(self) -> tuple[str, ...]:
        """The secret access key and session token (the access key id is not secret)."""
        creds = self._credentials
        return tuple(s for s in (creds.secret_key, creds.token) if s)

    def repr_fields(self) -> dict[str, object]:
        """The region and endpoint (never a credential)."""
        return {"region": self._region, "base_url": self.base_url}

    def build_request(self, request: ChatCompletionRequest, *, stream: bool) -> HTTPRequest:
        """The signed HTTP request for ``request``; unsupported fields raise before any I/O."""
        body = build_body(request, provider=self.name)
        content = self.encode(body)
        action = "converse-stream" if stream else "converse"
        url = f"{self.base_url}/model/{quote(request.model, safe='')}/{action}"
        headers = self.headers(stream=stream)
        return HTTPRequest("POST", url, self.sign("POST", url, headers, content), content)

    def sign(self, method: str, url: str, headers: dict[str, str], body: bytes) -> dict[str, str]:
        """``headers`` plus the SigV4 ones (``authorization``, ``x-amz-date``, ...)."""
        frozen = self._credentials.get_frozen_credentials()
        aws = self._aws_request(method=method, url=url, data=body, headers=dict(headers))
        self._sigv4(frozen, _SERVICE, self._region).add_auth(aws)
        return {k.lower(): str(v) for k, v in aws.headers.items()}

    completion_parser = staticmethod(parse_converse)

    def stream_decoder(self, request: ChatCompletionRequest) -> BedrockStreamDecoder:
        """A fresh incremental event-stream decoder for one streamed reply."""
        return BedrockStreamDecoder(self.name, request.model, self.secrets())

    def parse_error(self, response: HTTPResponse) -> APIError:
        """The typed error: ``{"message"}`` body, type from ``x-amzn-errortype``."""
        header = response.headers.get("x-amzn-errortype") or ""
        etype = header.split(":", 1)[0] or None
        error = error_from_response(self.name, response, secrets=self.secrets(), type=etype)
        code = EXCEPTION_STATUS.get((etype or "").lower())
        if type(error) is APIError and code is not None:  # a status the table does not know
            error = error_from_response(
                self.name,
                HTTPResponse(code, response.headers, response.content),
                secrets=self.secrets(),
                type=etype,
            )
            error.status_code = response.status_code
        return error

    # -- token counting: CountTokens ``POST {endpoint}/model/{modelId}/count-tokens`` -----------

    def build_count_tokens_request(self, request: ChatCompletionRequest) -> HTTPRequest:
        """The signed CountTokens request (``{"input": {"converse": ...}}``, see ``_tokens``)."""
        content = self.encode(build_count_body(request, provider=self.name))
        url = f"{self.base_url}/model/{quote(request.model, safe='')}/count-tokens"
        headers = self.headers(stream=False)
        return HTTPRequest("POST", url, self.sign("POST", url, headers, content), content)

    count_tokens_parser = staticmethod(parse_count_reply)

    def count_tokens_unsupported(self, error: APIError) -> bool:
        """A model CountTokens cannot count: the client falls back to its estimate."""
        return is_unsupported(error)

    # -- embeddings: InvokeModel ``POST {endpoint}/model/{modelId}/invoke`` (``_embeddings``) ---

    @property
    def max_embeddings_inputs(self) -> int:
        """1, the limit every supported model meets (Titan takes one text per request); see
        :meth:`embeddings_batch_limit` for the per-model figure (Cohere: 96)."""
        return TITAN_LIMIT

    def embeddings_batch_limit(self, request: EmbeddingsRequest) -> int:
        """Inputs per request for ``request.model``: Titan 1, Cohere 96."""
        return batch_limit(request.model)

    def build_embeddings_request(self, request: EmbeddingsRequest) -> HTTPRequest:
        """One batch as a signed InvokeModel request; unsupported models raise before I/O."""
        body = build_embeddings_body(request, provider=self.name)
        content = self.encode(body)
        url = f"{self.base_url}/model/{quote(request.model, safe='')}/invoke"
        headers = {"content-type": "application/json", "accept": "application/json"}
        return HTTPRequest("POST", url, self.sign("POST", url, headers, content), content)

    embeddings_parser = staticmethod(parse_embeddings_reply)


def create(settings: ProviderSettings) -> BedrockProvider:
    """Registry factory (``metallm.providers.bedrock:create``).

    ``settings.extra`` may hold ``region``, ``aws_access_key_id``, ``aws_secret_access_key``,
    ``aws_session_token`` and ``profile``; ``settings.base_url`` is the endpoint
    (empty: the regional default). ``settings.api_key`` is not used (SigV4, not a key).
    """
    extra = settings.extra

    def opt(key: str) -> str | None:
        value = extra.get(key)
        if value is not None and not isinstance(value, str):
            raise ConfigurationError(f"bedrock: extra[{key!r}] must be a string")
        return value

    return BedrockProvider(
        opt("region"),
        aws_access_key_id=opt("aws_access_key_id"),
        aws_secret_access_key=opt("aws_secret_access_key"),
        aws_session_token=opt("aws_session_token"),
        endpoint_url=settings.base_url or None,
        profile=opt("profile"),
    )

"""``Client`` and ``AsyncClient``: configuration -> provider -> hooks -> I/O.

Both share construction (:class:`_ClientCore`) and the call flow (:mod:`metallm._flow`); they
differ only in the pump: ``await`` and ``async for``. A built-in or registered provider is a
sans-IO codec driven over the client's own transport, with retries and hooks around each call;
a ``custom_provider`` implementing :class:`~metallm.provider.Provider` (or its async twin)
brings its own I/O and still gets retries, hooks and accumulation. The conversation-memory
methods come from :mod:`metallm.memory.client_methods`.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import httpx

from ._accumulate import finalize_response
from ._flow import Call, CallFlow, ahttp_chunks, http_chunks
from ._transport import AsyncStreamHandle, AsyncTransport, StreamHandle, SyncTransport
from ._validate import coerce_request
from .config import ClientConfig
from .errors import ConfigurationError, MetaLLMError
from .hooks import HookChain
from .logs import default_logger
from .memory import ConversationMemory, InMemoryStore
from .memory.client_methods import AsyncMemoryMethods, MemoryMethods
from .provider import (
    AsyncProvider,
    HTTPProvider,
    Provider,
    get_spec,
    server_address_port,
)
from .streams import AsyncChatCompletionStream, AsyncOnComplete, ChatCompletionStream, OnComplete
from .types import ChatCompletionRequest, ChatCompletionResponse

__all__ = ["AsyncClient", "Client"]

RequestLike = ChatCompletionRequest | Mapping[str, Any] | None


def default_hooks() -> list[object]:
    """The hooks a client gets when ``hooks`` is not given: the shared OpenTelemetry hook."""
    from .otel import default_hook

    return [default_hook()]


_CAPTURE_MODES = ("NO_CONTENT", "SPAN_ONLY", "EVENT_ONLY", "SPAN_AND_EVENT")


def capture_mode(value: str | bool | None) -> str | None:
    """The client's ``capture_content`` as a mode name (None: leave it to the hook/env)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "SPAN_ONLY" if value else "NO_CONTENT"
    mode = value.strip().upper()
    if mode not in _CAPTURE_MODES:
        raise ConfigurationError(
            f"capture_content={value!r} is not one of {', '.join(_CAPTURE_MODES)} (or a bool)"
        )
    return mode


async def _sleep(seconds: float) -> None:
    import anyio  # imported on first retry only: works under asyncio and trio alike

    await anyio.sleep(seconds)


class _ClientCore:
    """What both clients share: config resolution, the provider, the flow."""

    def __init__(self, config: ClientConfig | None, kwargs: dict[str, Any]) -> None:
        if config is not None and kwargs:
            config = ClientConfig(**{**config.__dict__, **kwargs})
        self.config = config or ClientConfig(**kwargs)
        cfg = self.config
        self.logger = cfg.logger or default_logger()
        provider: Any = cfg.custom_provider
        if provider is None:
            if not cfg.provider:
                raise ConfigurationError("pass provider='openai' (or another) or custom_provider=")
            provider = get_spec(str(cfg.provider)).create(cfg.api_key, cfg.base_url, cfg.extra)
        self.provider: Any = provider
        self.codec: HTTPProvider | None = provider if isinstance(provider, HTTPProvider) else None
        name = getattr(provider, "name", None) or type(provider).__name__
        secrets: tuple[str, ...] = tuple(s for s in (cfg.api_key,) if s)
        server = ("", 0)
        if self.codec is not None:
            secrets += tuple(self.codec.secrets())
            server = server_address_port(self.codec.base_url)
        self.secrets = secrets
        capture = capture_mode(cfg.capture_content)
        hooks = HookChain(default_hooks() if cfg.hooks is None else cfg.hooks, self.logger)
        self.flow = CallFlow(
            str(name), hooks, cfg.retry_policy(), self.logger, secrets, server, capture
        )

    @property
    def provider_name(self) -> str:
        """The provider's name (``openai``, ``xai``, or a custom provider's own)."""
        return self.flow.provider_name

    def _repr(self) -> str:
        base_url = getattr(self.codec, "base_url", None)
        return f"{type(self).__name__}(provider={self.provider_name!r}, base_url={base_url!r})"


class Client(_ClientCore, MemoryMethods):
    """The synchronous client. ``Client(provider="openai")`` or ``Client(ClientConfig(...))``."""

    def __init__(self, config: ClientConfig | None = None, /, **kwargs: Any) -> None:
        super().__init__(config, kwargs)
        self.memory = ConversationMemory(
            self.config.memory or InMemoryStore(), self.config.memory_config
        )
        self._transport: SyncTransport | None = None
        if self.codec is not None:
            http_client = self.config.http_client
            if http_client is not None and not isinstance(http_client, httpx.Client):
                raise ConfigurationError("Client needs an httpx.Client as http_client")
            self._transport = SyncTransport(
                self.provider_name,
                self.secrets,
                self.config.httpx_timeout(),
                http_client,
            )
        elif not isinstance(self.provider, Provider):
            raise ConfigurationError(
                f"custom_provider {type(self.provider).__name__} implements neither HTTPProvider "
                "nor Provider (create_chat_completion, create_chat_completion_stream, close)"
            )

    def __repr__(self) -> str:
        return self._repr()

    def create_chat_completion(
        self, request: RequestLike = None, /, **kwargs: Any
    ) -> ChatCompletionResponse:
        """Send a request and return the whole response (retrying per the policy)."""
        return self._run_complete(coerce_request(request, kwargs), None)

    def _run_complete(
        self, req: ChatCompletionRequest, conv_id: str | None
    ) -> ChatCompletionResponse:
        call = self.flow.begin(req, streaming=False, is_async=False, conversation_id=conv_id)
        try:
            result = self._complete(call, req)
        except BaseException as exc:
            call.fail(exc)
            raise
        return call.succeed(result)

    def _retrying(self, call: Call, send: Callable[[], Any], codec: HTTPProvider | None) -> Any:
        """Run ``send`` until it succeeds or the policy gives up; return its outcome."""
        attempt = 0
        while True:
            attempt += 1
            outcome: Any
            try:
                with call.attempt():
                    outcome = send()
            except MetaLLMError as exc:
                outcome = exc
            delay = call.check(attempt, outcome, codec)
            if delay is None:
                return outcome
            time.sleep(delay)

    def _complete(self, call: Call, req: ChatCompletionRequest) -> ChatCompletionResponse:
        codec, transport = self.codec, self._transport
        if codec is not None and transport is not None:
            http_req = codec.build_request(req, stream=False)
            return call.parse(
                codec, self._retrying(call, lambda: transport.request(http_req), codec)
            )
        result: ChatCompletionResponse = self._retrying(
            call, lambda: self.provider.create_chat_completion(req), None
        )
        return finalize_response(result)

    def create_chat_completion_stream(
        self, request: RequestLike = None, /, **kwargs: Any
    ) -> ChatCompletionStream:
        """Open a stream; iterate it for chunks. Errors before the first byte are retried."""
        return self._run_stream(coerce_request(request, kwargs), None, None)

    def _run_stream(
        self, req: ChatCompletionRequest, conv_id: str | None, on_complete: OnComplete | None
    ) -> ChatCompletionStream:
        call = self.flow.begin(req, streaming=True, is_async=False, conversation_id=conv_id)
        try:
            return self._open_stream(call, req, on_complete)
        except BaseException as exc:
            call.fail(exc)
            raise

    def _open_stream(
        self, call: Call, req: ChatCompletionRequest, on_complete: OnComplete | None
    ) -> ChatCompletionStream:
        codec, transport = self.codec, self._transport
        if codec is not None and transport is not None:
            http_req = codec.build_request(req, stream=True)
            handle: StreamHandle = self._retrying(call, lambda: transport.stream(http_req), codec)
            chunks = http_chunks(handle, codec.stream_decoder(req))
            return ChatCompletionStream(chunks, handle.close, call, on_complete)
        source = self._retrying(
            call, lambda: self.provider.create_chat_completion_stream(req), None
        )
        close = getattr(source, "close", None)
        return ChatCompletionStream(iter(source), close, call, on_complete)

    def close(self) -> None:
        """Release connections (and close a custom provider)."""
        if self._transport is not None:
            self._transport.close()
        elif callable(close := getattr(self.provider, "close", None)):
            close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class AsyncClient(_ClientCore, AsyncMemoryMethods):
    """The asynchronous client; the same API with ``await`` (and ``async with``)."""

    def __init__(self, config: ClientConfig | None = None, /, **kwargs: Any) -> None:
        super().__init__(config, kwargs)
        self.memory = ConversationMemory(
            self.config.memory or InMemoryStore(), self.config.memory_config, is_async=True
        )
        self._transport: AsyncTransport | None = None
        if self.codec is not None:
            http_client = self.config.http_client
            if http_client is not None and not isinstance(http_client, httpx.AsyncClient):
                raise ConfigurationError("AsyncClient needs an httpx.AsyncClient as http_client")
            self._transport = AsyncTransport(
                self.provider_name,
                self.secrets,
                self.config.httpx_timeout(),
                http_client,
            )
        elif not isinstance(self.provider, AsyncProvider):
            raise ConfigurationError(
                f"custom_provider {type(self.provider).__name__} does not implement AsyncProvider "
                "(acreate_chat_completion, acreate_chat_completion_stream, aclose); use Client"
            )

    def __repr__(self) -> str:
        return self._repr()

    async def create_chat_completion(
        self, request: RequestLike = None, /, **kwargs: Any
    ) -> ChatCompletionResponse:
        """Send a request and return the whole response (retrying per the policy)."""
        return await self._run_complete(coerce_request(request, kwargs), None)

    async def _run_complete(
        self, req: ChatCompletionRequest, conversation_id: str | None
    ) -> ChatCompletionResponse:
        call = self.flow.begin(req, streaming=False, is_async=True, conversation_id=conversation_id)
        try:
            result = await self._complete(call, req)
        except BaseException as exc:
            call.fail(exc)
            raise
        return call.succeed(result)

    async def _retrying(
        self, call: Call, send: Callable[[], Awaitable[Any]], codec: HTTPProvider | None
    ) -> Any:
        """Await ``send()`` until it succeeds or the policy gives up; return its outcome."""
        attempt = 0
        while True:
            attempt += 1
            outcome: Any
            try:
                with call.attempt():
                    outcome = await send()
            except MetaLLMError as exc:
                outcome = exc
            delay = call.check(attempt, outcome, codec)
            if delay is None:
                return outcome
            await _sleep(delay)

    async def _complete(self, call: Call, req: ChatCompletionRequest) -> ChatCompletionResponse:
        codec, transport = self.codec, self._transport
        if codec is not None and transport is not None:
            http_req = codec.build_request(req, stream=False)
            outcome = await self._retrying(call, lambda: transport.request(http_req), codec)
            return call.parse(codec, outcome)
        result: ChatCompletionResponse = await self._retrying(
            call, lambda: self.provider.acreate_chat_completion(req), None
        )
        return finalize_response(result)

    async def create_chat_completion_stream(
        self, request: RequestLike = None, /, **kwargs: Any
    ) -> AsyncChatCompletionStream:
        """Open a stream; ``async for`` it for chunks. Errors before the first byte are retried."""
        return await self._run_stream(coerce_request(request, kwargs), None, None)

    async def _run_stream(
        self,
        req: ChatCompletionRequest,
        conversation_id: str | None,
        on_complete: AsyncOnComplete | None,
    ) -> AsyncChatCompletionStream:
        call = self.flow.begin(req, streaming=True, is_async=True, conversation_id=conversation_id)
        try:
            return await self._open_stream(call, req, on_complete)
        except BaseException as exc:
            call.fail(exc)
            raise

    async def _open_stream(
        self,
        call: Call,
        req: ChatCompletionRequest,
        on_complete: AsyncOnComplete | None,
    ) -> AsyncChatCompletionStream:
        codec, transport = self.codec, self._transport
        if codec is not None and transport is not None:
            http_req = codec.build_request(req, stream=True)
            handle: AsyncStreamHandle = await self._retrying(
                call, lambda: transport.stream(http_req), codec
            )
            chunks = ahttp_chunks(handle, codec.stream_decoder(req))
            return AsyncChatCompletionStream(chunks, handle.close, call, on_complete)
        source = await self._retrying(
            call, lambda: self.provider.acreate_chat_completion_stream(req), None
        )
        aclose = getattr(source, "aclose", None)
        return AsyncChatCompletionStream(source.__aiter__(), aclose, call, on_complete)

    async def aclose(self) -> None:
        """Release connections (and close a custom provider)."""
        if self._transport is not None:
            await self._transport.aclose()
        elif callable(aclose := getattr(self.provider, "aclose", None)):
            await aclose()

    close = aclose

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

"""``Client`` and ``AsyncClient``: configuration -> provider -> exchange -> pump.

Both share construction (:class:`_ClientCore`) and every decision of a call, which lives in the
sans-IO exchange (:mod:`metallm._exchange`); each public method only checks its input, asks the
exchange for the operation's generator and drives it with the client's pump
(:func:`metallm._pump.run` or, awaited, :func:`metallm._pump.arun`). A built-in or registered
provider is a sans-IO codec driven over the client's own transport, with retries and hooks
around each call; a ``custom_provider`` implementing :class:`~metallm.provider.Provider` (or its
async twin) brings its own I/O and still gets retries, hooks and accumulation. The
conversation-memory methods come from :mod:`metallm.memory.client_methods`, the tool loop
(``run_tools``) from :mod:`metallm.tools.client_methods`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, overload

from ._exchange import Exchange
from ._pump import arun, run
from ._spending import Spending
from ._transport import AsyncTransport, SyncTransport
from ._validate import coerce_request
from .config import ClientConfig
from .embeddings import EmbeddingsRequest, EmbeddingsResponse, coerce_embeddings_request
from .errors import ConfigurationError
from .hooks import HookChain, clock
from .logs import default_logger
from .memory import ConversationMemory, InMemoryStore
from .memory.client_methods import AsyncMemoryMethods, MemoryMethods
from .pricing import check_prices
from .provider import (
    AsyncProvider,
    HTTPProvider,
    Provider,
    get_spec,
    server_address_port,
)
from .streams import AsyncChatCompletionStream, ChatCompletionStream
from .structured import AsyncParseStream, ParsedResponse, ParseStream, parse_flow, prepare
from .tokens import TokenCount
from .tools.client_methods import AsyncToolMethods, ToolMethods
from .types import ChatCompletionRequest, ChatCompletionResponse

__all__ = ["AsyncClient", "Client"]

RequestLike = ChatCompletionRequest | Mapping[str, Any] | None
EmbeddingsLike = EmbeddingsRequest | Mapping[str, Any] | None
T = TypeVar("T")


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


_NOT_A_PROVIDER = {
    False: "custom_provider {} implements neither HTTPProvider nor Provider "
    "(create_chat_completion, create_chat_completion_stream, close)",
    True: "custom_provider {} does not implement AsyncProvider "
    "(acreate_chat_completion, acreate_chat_completion_stream, aclose); use Client",
}


class _ClientCore:
    """What both clients share: config resolution, the provider, transport and exchange.

    The two clients differ in four class attributes (their transport, the provider protocol a
    custom provider must implement, the message when it does not, and ``_is_async``) and in
    their pumps.
    """

    _exchange: Exchange
    _is_async: bool
    _transport_class: Any
    _provider_protocol: Any

    def __init__(self, config: ClientConfig | None = None, /, **kwargs: Any) -> None:
        """``Client(provider="openai", ...)`` or ``Client(ClientConfig(...))`` (or both)."""
        if config is not None and kwargs:
            config = ClientConfig(**{**config.__dict__, **kwargs})
        self.config = config or ClientConfig(**kwargs)
        cfg = self.config
        self.logger = cfg.logger or default_logger()
        self._prices = check_prices(cfg.prices)  # before any I/O or provider set-up
        provider: Any = cfg.custom_provider
        if provider is None:
            if not cfg.provider:
                raise ConfigurationError("pass provider='openai' (or another) or custom_provider=")
            provider = get_spec(str(cfg.provider)).create(cfg.api_key, cfg.base_url, cfg.extra)
        self.provider: Any = provider
        self.codec: HTTPProvider | None = provider if isinstance(provider, HTTPProvider) else None
        self._name = str(getattr(provider, "name", None) or type(provider).__name__)
        secrets: tuple[str, ...] = tuple(s for s in (cfg.api_key,) if s)
        if self.codec is not None:
            secrets += tuple(self.codec.secrets())
        self.secrets = secrets
        self.memory = ConversationMemory(
            cfg.memory or InMemoryStore(), cfg.memory_config, is_async=self._is_async
        )
        self._transport: Any = None
        if self.codec is not None:
            http_client = cfg.http_client
            kind = self._transport_class._client_class
            if http_client is not None and not isinstance(http_client, kind):
                raise ConfigurationError(
                    f"{type(self).__name__} needs an httpx.{kind.__name__} as http_client"
                )
            self._transport = self._transport_class(
                self._name, secrets, cfg.httpx_timeout(), http_client
            )
        elif not isinstance(provider, self._provider_protocol):
            raise ConfigurationError(
                _NOT_A_PROVIDER[self._is_async].format(type(provider).__name__)
            )
        self._start_exchange()

    def _start_exchange(self) -> None:
        cfg = self.config
        server = server_address_port(self.codec.base_url) if self.codec is not None else ("", 0)
        self._exchange = Exchange(
            self.provider,
            self._transport,
            provider_name=self._name,
            hooks=HookChain(default_hooks() if cfg.hooks is None else cfg.hooks, self.logger),
            policy=cfg.retry_policy(),
            logger=self.logger,
            secrets=self.secrets,
            server=server,
            capture_content=capture_mode(cfg.capture_content),
            is_async=self._is_async,
            spending=None if cfg.budget is None else Spending(cfg.budget, self._is_async),
            preflight=bool(cfg.preflight_context_check),
            prices=self._prices,
        )

    @property
    def provider_name(self) -> str:
        """The provider's name (``openai``, ``xai``, or a custom provider's own)."""
        return self._name

    def __repr__(self) -> str:
        base_url = getattr(self.codec, "base_url", None)
        return f"{type(self).__name__}(provider={self.provider_name!r}, base_url={base_url!r})"


class Client(_ClientCore, MemoryMethods, ToolMethods):
    """The synchronous client. ``Client(provider="openai")`` or ``Client(ClientConfig(...))``."""

    _is_async = False
    _transport_class = SyncTransport
    _provider_protocol = Provider

    def create_chat_completion(
        self, request: RequestLike = None, /, **kwargs: Any
    ) -> ChatCompletionResponse:
        """Send a request and return the whole response (retrying per the policy)."""
        started = clock()
        return run(self._exchange.complete(coerce_request(request, kwargs), None, started))

    def create_chat_completion_stream(
        self, request: RequestLike = None, /, **kwargs: Any
    ) -> ChatCompletionStream:
        """Open a stream; iterate it for chunks. Errors before the first byte are retried."""
        started = clock()
        opened = run(self._exchange.open_stream(coerce_request(request, kwargs), None, started))
        return ChatCompletionStream(opened)

    @overload
    def parse(
        self,
        response_model: type[T],
        request: RequestLike = None,
        /,
        *,
        max_validation_retries: int = 1,
        **kwargs: Any,
    ) -> ParsedResponse[T]: ...
    @overload
    def parse(
        self,
        response_model: Any,
        request: RequestLike = None,
        /,
        *,
        max_validation_retries: int = 1,
        **kwargs: Any,
    ) -> ParsedResponse[Any]: ...
    def parse(
        self,
        response_model: Any,
        request: RequestLike = None,
        /,
        *,
        max_validation_retries: int = 1,
        **kwargs: Any,
    ) -> ParsedResponse[Any]:
        """A typed answer: ``.parsed`` is a ``response_model`` value, validated (re-asking up
        to ``max_validation_retries`` times with the errors); see README "Structured output"."""
        started = clock()
        request_ = coerce_request(request, kwargs)
        flow = parse_flow(self._exchange, response_model, request_, max_validation_retries, started)
        return run(flow)

    @overload
    def parse_stream(
        self, response_model: type[T], request: RequestLike = None, /, **kwargs: Any
    ) -> ParseStream[T]: ...
    @overload
    def parse_stream(
        self, response_model: Any, request: RequestLike = None, /, **kwargs: Any
    ) -> ParseStream[Any]: ...
    def parse_stream(
        self, response_model: Any, request: RequestLike = None, /, **kwargs: Any
    ) -> ParseStream[Any]:
        """Stream a typed answer: iterate for validated partial objects, ``final()`` for the
        whole, fully validated."""
        started = clock()
        asked, shape = prepare(self._exchange, response_model, coerce_request(request, kwargs))
        opened = run(self._exchange.open_stream(asked, None, started))
        return ParseStream(ChatCompletionStream(opened), shape)

    def create_embeddings(
        self, request: EmbeddingsLike = None, /, **kwargs: Any
    ) -> EmbeddingsResponse:
        """Embed one text or a list of texts; long lists are split and merged in order."""
        started = clock()
        return run(self._exchange.embeddings(coerce_embeddings_request(request, kwargs), started))

    def count_tokens(self, request: RequestLike = None, /, **kwargs: Any) -> TokenCount:
        """The input tokens the request would use (the provider's endpoint, tiktoken, or the
        documented estimate with ``exact=False``); input is checked as for a chat call."""
        return run(self._exchange.count_tokens(coerce_request(request, kwargs)))

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


class AsyncClient(_ClientCore, AsyncMemoryMethods, AsyncToolMethods):
    """The asynchronous client; the same API with ``await`` (and ``async with``)."""

    _is_async = True
    _transport_class = AsyncTransport
    _provider_protocol = AsyncProvider

    async def create_chat_completion(
        self, request: RequestLike = None, /, **kwargs: Any
    ) -> ChatCompletionResponse:
        """Send a request and return the whole response (retrying per the policy)."""
        started = clock()
        return await arun(self._exchange.complete(coerce_request(request, kwargs), None, started))

    async def create_chat_completion_stream(
        self, request: RequestLike = None, /, **kwargs: Any
    ) -> AsyncChatCompletionStream:
        """Open a stream; ``async for`` it for chunks. Errors before the first byte are retried."""
        started = clock()
        flow = self._exchange.open_stream(coerce_request(request, kwargs), None, started)
        return AsyncChatCompletionStream(await arun(flow))

    @overload
    async def parse(
        self,
        response_model: type[T],
        request: RequestLike = None,
        /,
        *,
        max_validation_retries: int = 1,
        **kwargs: Any,
    ) -> ParsedResponse[T]: ...
    @overload
    async def parse(
        self,
        response_model: Any,
        request: RequestLike = None,
        /,
        *,
        max_validation_retries: int = 1,
        **kwargs: Any,
    ) -> ParsedResponse[Any]: ...
    async def parse(
        self,
        response_model: Any,
        request: RequestLike = None,
        /,
        *,
        max_validation_retries: int = 1,
        **kwargs: Any,
    ) -> ParsedResponse[Any]:
        """A typed answer (see :meth:`Client.parse`)."""
        started = clock()
        request_ = coerce_request(request, kwargs)
        flow = parse_flow(self._exchange, response_model, request_, max_validation_retries, started)
        return await arun(flow)

    @overload
    async def parse_stream(
        self, response_model: type[T], request: RequestLike = None, /, **kwargs: Any
    ) -> AsyncParseStream[T]: ...
    @overload
    async def parse_stream(
        self, response_model: Any, request: RequestLike = None, /, **kwargs: Any
    ) -> AsyncParseStream[Any]: ...
    async def parse_stream(
        self, response_model: Any, request: RequestLike = None, /, **kwargs: Any
    ) -> AsyncParseStream[Any]:
        """Stream a typed answer (see :meth:`Client.parse_stream`)."""
        started = clock()
        asked, shape = prepare(self._exchange, response_model, coerce_request(request, kwargs))
        opened = await arun(self._exchange.open_stream(asked, None, started))
        return AsyncParseStream(AsyncChatCompletionStream(opened), shape)

    async def create_embeddings(
        self, request: EmbeddingsLike = None, /, **kwargs: Any
    ) -> EmbeddingsResponse:
        """Embed one text or a list of texts; long lists are split and sent concurrently."""
        started = clock()
        flow = self._exchange.embeddings(coerce_embeddings_request(request, kwargs), started)
        return await arun(flow)

    async def count_tokens(self, request: RequestLike = None, /, **kwargs: Any) -> TokenCount:
        """The input tokens the request would use (the provider's endpoint, tiktoken, or the
        documented estimate with ``exact=False``); input is checked as for a chat call."""
        return await arun(self._exchange.count_tokens(coerce_request(request, kwargs)))

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

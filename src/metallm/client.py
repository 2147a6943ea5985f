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

Construction imports the memory, budget and pricing-check modules only for a client configured
with them (``memory=``/``memory_config=``, ``budget=``, ``prices=``); a plain client builds its
default memory at its first use (:attr:`_ClientCore.memory`), so ``import metallm`` and a plain
client load none of them.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from ._call_methods import AsyncCallMethods, CallMethods
from ._exchange import Exchange
from ._pump import arun, run
from ._transport import AsyncTransport, SyncTransport
from .config import ClientConfig
from .errors import ConfigurationError
from .hooks import HookChain
from .logs import default_logger
from .memory.client_methods import AsyncMemoryMethods, MemoryMethods
from .provider import (
    AsyncProvider,
    HTTPProvider,
    Provider,
    get_spec,
    server_address_port,
)
from .streams import AsyncChatCompletionStream, AsyncOnComplete, ChatCompletionStream, OnComplete
from .tools.client_methods import AsyncToolMethods, ToolMethods
from .types import ChatCompletionRequest

if TYPE_CHECKING:
    from .memory.manager import ConversationMemory

__all__ = ["AsyncClient", "Client"]

_MEMORY_LOCK = threading.Lock()
"""Guards the first build of a client's default memory (two threads must share one store)."""


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


def _tapped_class(plain: Any, recorder: object) -> Any:
    """The transport class of a client built with ``recorder=`` (checked before any I/O)."""
    from ._transport_tap import Tap, transport_class  # only clients that record load it

    if not isinstance(recorder, Tap):
        raise ConfigurationError(
            f"recorder must be a metallm.testing.Recorder (got {type(recorder).__name__})"
        )
    return transport_class(plain)


def _spending(budget: object, is_async: bool) -> Any:
    """A client's budget as its exchange runs it (the budget machinery loads only here)."""
    from ._spending import Spending

    return Spending(budget, is_async)


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
    _memory: ConversationMemory | None = None

    def __init__(self, config: ClientConfig | None = None, /, **kwargs: Any) -> None:
        """``Client(provider="openai", ...)`` or ``Client(ClientConfig(...))`` (or both)."""
        if config is not None and kwargs:
            config = ClientConfig(**{**config.__dict__, **kwargs})
        self.config = config or ClientConfig(**kwargs)
        cfg = self.config
        self.logger = cfg.logger or default_logger()
        self._prices: dict[str, Any] = {}
        if cfg.prices is not None:  # checked before any I/O or provider set-up
            from .pricing import check_prices

            self._prices = check_prices(cfg.prices)
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
        if cfg.memory is not None or cfg.memory_config is not None:
            self._memory = self._build_memory()  # a given store is checked now, before any I/O
        self._transport: Any = None
        if self.codec is not None:
            http_client = cfg.http_client
            kind = self._transport_class._client_class
            if http_client is not None and not isinstance(http_client, kind):
                raise ConfigurationError(
                    f"{type(self).__name__} needs an httpx.{kind.__name__} as http_client"
                )
            transport_class = self._transport_class
            if cfg.recorder is not None:
                transport_class = _tapped_class(transport_class, cfg.recorder)
            self._transport = transport_class(
                self._name, secrets, cfg.httpx_timeout(), http_client, cfg.recorder
            )
        elif not isinstance(provider, self._provider_protocol):
            raise ConfigurationError(
                _NOT_A_PROVIDER[self._is_async].format(type(provider).__name__)
            )
        elif cfg.recorder is not None:
            raise ConfigurationError(
                f"recorder= records HTTP exchanges, but custom_provider {type(provider).__name__}"
                " brings its own I/O: record the HTTP client it uses, or leave recorder unset"
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
            spending=None if cfg.budget is None else _spending(cfg.budget, self._is_async),
            preflight=bool(cfg.preflight_context_check),
            prices=self._prices,
        )

    def _build_memory(self) -> ConversationMemory:
        from .memory.inmemory import InMemoryStore
        from .memory.manager import ConversationMemory

        cfg = self.config
        store = cfg.memory or InMemoryStore()
        return ConversationMemory(store, cfg.memory_config, is_async=self._is_async)

    @property
    def memory(self) -> ConversationMemory:
        """The client's conversation memory (its ``memory`` store and ``memory_config``).

        A client given neither builds its default ``InMemoryStore`` here, at the first use:
        most clients never keep a conversation, and the memory modules are then never loaded.
        """
        memory = self._memory
        if memory is None:
            with _MEMORY_LOCK:
                memory = self._memory
                if memory is None:
                    memory = self._memory = self._build_memory()
        return memory

    @memory.setter
    def memory(self, memory: ConversationMemory) -> None:
        """Replace the memory, as assigning the plain attribute it used to be did."""
        self._memory = memory

    @property
    def provider_name(self) -> str:
        """The provider's name (``openai``, ``xai``, or a custom provider's own)."""
        return self._name

    def __repr__(self) -> str:
        base_url = getattr(self.codec, "base_url", None)
        return f"{type(self).__name__}(provider={self.provider_name!r}, base_url={base_url!r})"


class Client(_ClientCore, CallMethods, MemoryMethods, ToolMethods):
    """The synchronous client. ``Client(provider="openai")`` or ``Client(ClientConfig(...))``."""

    _is_async = False
    _transport_class = SyncTransport
    _provider_protocol = Provider

    def _open_stream(
        self,
        request: ChatCompletionRequest,
        conversation_id: str | None,
        on_complete: OnComplete | None,
        started: tuple[float, float] | None = None,
    ) -> ChatCompletionStream:
        """Open a stream on this client's exchange (retried until its first byte)."""
        opened = run(self._exchange.open_stream(request, conversation_id, started))
        return ChatCompletionStream(opened, on_complete)

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


class AsyncClient(_ClientCore, AsyncCallMethods, AsyncMemoryMethods, AsyncToolMethods):
    """The asynchronous client; the same API with ``await`` (and ``async with``)."""

    _is_async = True
    _transport_class = AsyncTransport
    _provider_protocol = AsyncProvider

    async def _open_stream(
        self,
        request: ChatCompletionRequest,
        conversation_id: str | None,
        on_complete: AsyncOnComplete | None,
        started: tuple[float, float] | None = None,
    ) -> AsyncChatCompletionStream:
        """Open a stream on this client's exchange (retried until its first byte)."""
        opened = await arun(self._exchange.open_stream(request, conversation_id, started))
        return AsyncChatCompletionStream(opened, on_complete)

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

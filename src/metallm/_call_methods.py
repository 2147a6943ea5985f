"""The call methods ``Client`` and ``Router`` share (and their async twins), mixed into both.

Each public method checks its input, asks ``self._exchange`` for the operation's flow and
drives it with the class's pump. A client's exchange runs one provider
(:mod:`metallm._exchange`); a router's routes across its targets
(:mod:`metallm.router._flow`), with the same operations and signatures, so the methods are
written once (a router's exchange is typed as a client's here: it has every operation a
client's has). Streams differ in how they are opened: each class brings ``_open_stream``.

Structured output (:mod:`metallm.structured`) is imported by ``parse`` and ``parse_stream``
when first called, not with this module: ``import metallm`` loads this module and a plain
chat call never parses (the import statement costs well under a microsecond per parse call).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, overload

from ._pump import arun, run
from ._validate import coerce_request
from .embeddings import EmbeddingsRequest, EmbeddingsResponse, coerce_embeddings_request
from .hooks import clock
from .streams import (
    AsyncChatCompletionStream,
    AsyncStreamOpener,
    ChatCompletionStream,
    StreamOpener,
)
from .tokens import TokenCount
from .types import ChatCompletionRequest, ChatCompletionResponse

if TYPE_CHECKING:
    from ._exchange import Exchange
    from .structured import AsyncParseStream, ParsedResponse, ParseStream

__all__ = ["AsyncCallMethods", "CallMethods", "EmbeddingsLike", "RequestLike"]

RequestLike = ChatCompletionRequest | Mapping[str, Any] | None
EmbeddingsLike = EmbeddingsRequest | Mapping[str, Any] | None
T = TypeVar("T")


class CallMethods(StreamOpener):
    """The call methods of the synchronous ``Client`` and ``Router``."""

    _exchange: Exchange
    _default_model: str | None = None
    """The model a request without one gets (None: it must name one; a router: "")."""

    def create_chat_completion(
        self, request: RequestLike = None, /, **kwargs: Any
    ) -> ChatCompletionResponse:
        """Send a request and return the whole response (retrying per the policy)."""
        started = clock()
        return run(
            self._exchange.complete(
                coerce_request(request, kwargs, self._default_model), None, started
            )
        )

    def create_chat_completion_stream(
        self, request: RequestLike = None, /, **kwargs: Any
    ) -> ChatCompletionStream:
        """Open a stream; iterate it for chunks. Errors before the first byte are retried."""
        started = clock()
        return self._open_stream(
            coerce_request(request, kwargs, self._default_model), None, None, started
        )

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
        from .structured import parse_flow

        started = clock()
        request_ = coerce_request(request, kwargs, self._default_model)
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
        from .structured import ParseStream, prepare

        started = clock()
        asked, shape = prepare(
            self._exchange, response_model, coerce_request(request, kwargs, self._default_model)
        )
        return ParseStream(self._open_stream(asked, None, None, started), shape)

    def create_embeddings(
        self, request: EmbeddingsLike = None, /, **kwargs: Any
    ) -> EmbeddingsResponse:
        """Embed one text or a list of texts; long lists are split and merged in order."""
        started = clock()
        return run(self._exchange.embeddings(coerce_embeddings_request(request, kwargs), started))

    def count_tokens(self, request: RequestLike = None, /, **kwargs: Any) -> TokenCount:
        """The input tokens the request would use (the provider's endpoint, tiktoken, or the
        documented estimate with ``exact=False``); input is checked as for a chat call."""
        return run(
            self._exchange.count_tokens(coerce_request(request, kwargs, self._default_model))
        )


class AsyncCallMethods(AsyncStreamOpener):
    """The call methods of the asynchronous ``AsyncClient`` and ``AsyncRouter``."""

    _exchange: Exchange
    _default_model: str | None = None
    """The model a request without one gets (None: it must name one; a router: "")."""

    async def create_chat_completion(
        self, request: RequestLike = None, /, **kwargs: Any
    ) -> ChatCompletionResponse:
        """Send a request and return the whole response (retrying per the policy)."""
        started = clock()
        return await arun(
            self._exchange.complete(
                coerce_request(request, kwargs, self._default_model), None, started
            )
        )

    async def create_chat_completion_stream(
        self, request: RequestLike = None, /, **kwargs: Any
    ) -> AsyncChatCompletionStream:
        """Open a stream; ``async for`` it for chunks. Errors before the first byte are retried."""
        started = clock()
        return await self._open_stream(
            coerce_request(request, kwargs, self._default_model), None, None, started
        )

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
        from .structured import parse_flow

        started = clock()
        request_ = coerce_request(request, kwargs, self._default_model)
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
        from .structured import AsyncParseStream, prepare

        started = clock()
        asked, shape = prepare(
            self._exchange, response_model, coerce_request(request, kwargs, self._default_model)
        )
        stream = await self._open_stream(asked, None, None, started)
        return AsyncParseStream(stream, shape)

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
        return await arun(
            self._exchange.count_tokens(coerce_request(request, kwargs, self._default_model))
        )
